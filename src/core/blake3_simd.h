/*
 * blake3_simd.h - the part of the SIMD back ends' glue that does not depend
 * on the vector type: running a "hash LANES inputs at once" kernel on any
 * number of inputs (blake3_simd_many.h builds hash_chunks / hash_parents on
 * it).  Included only through blake3_simd_many.h.
 */
#ifndef EDS_CORE_BLAKE3_SIMD_H
#define EDS_CORE_BLAKE3_SIMD_H

#include "blake3_impl.h"
#include "edgesentry/blake3.h"

/* The builtin, not <string.h>: the NEON file is compile-tested for ARM
 * here without an ARM C library (tests/cli/test_blake3_neon.sh). */
#define B3_MEMCPY __builtin_memcpy

/* Hash exactly lanes inputs in[i] of `blocks` blocks each: input i uses
 * counter + i when inc_counter, flags_start on its first block and
 * flags_end on its last; CV i goes to out + 32*i. */
typedef void (*eds_blake3_many_fn)(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
                                   uint64_t counter, bool inc_counter, uint8_t flags,
                                   uint8_t flags_start, uint8_t flags_end, uint8_t *out);
typedef void (*eds_blake3_compress_fn)(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                       uint64_t counter, uint8_t flags);

/*
 * n (1 .. lanes) inputs of `stride` bytes from in.  A short batch still runs
 * the full-width kernel with the missing lanes repeating input 0 (their
 * output is dropped): one wide pass costs less than two single blocks.
 */
static inline void eds_blake3_simd_batch(eds_blake3_many_fn many, size_t lanes,
                                         eds_blake3_compress_fn one, const uint8_t *in,
                                         size_t stride, size_t n, size_t blocks,
                                         const uint32_t key[8], uint64_t counter, bool inc_counter,
                                         uint8_t flags, uint8_t start, uint8_t end, uint8_t *out)
{
	const uint8_t *ptrs[EDS_BLAKE3_MAX_DEGREE];
	uint8_t tmp[EDS_BLAKE3_MAX_DEGREE * 32];
	if (n == 1) {
		uint32_t cv[8];
		B3_MEMCPY(cv, key, sizeof cv);
		for (size_t b = 0; b < blocks; b++)
			one(cv, in + 64 * b, 64, counter,
			    (uint8_t)(flags | (b == 0 ? start : 0) | (b == blocks - 1 ? end : 0)));
		B3_MEMCPY(out, cv, 32); /* little-endian words are the output bytes */
		return;
	}
	for (size_t i = 0; i < lanes; i++)
		ptrs[i] = in + stride * (i < n ? i : 0);
	many(ptrs, blocks, key, counter, inc_counter, flags, start, end, n == lanes ? out : tmp);
	if (n < lanes)
		B3_MEMCPY(out, tmp, 32 * n);
}

#endif
