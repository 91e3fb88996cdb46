/*
 * blake3_impl.h - the compression back-end interface of BLAKE3.
 *
 * The streaming logic in blake3.c is written against these two functions
 * only, so SIMD back ends (SSE4.1, AVX2, NEON) slot in by providing faster
 * versions and a dispatcher, without touching the tree logic.
 */
#ifndef EDS_CORE_BLAKE3_IMPL_H
#define EDS_CORE_BLAKE3_IMPL_H

#include <stdint.h>

enum {
	B3_CHUNK_START = 1 << 0,
	B3_CHUNK_END = 1 << 1,
	B3_PARENT = 1 << 2,
	B3_ROOT = 1 << 3,
	B3_KEYED_HASH = 1 << 4,
	B3_DERIVE_KEY_CONTEXT = 1 << 5,
	B3_DERIVE_KEY_MATERIAL = 1 << 6,
};

extern const uint32_t eds_blake3_iv[8];

/** Compress one 64-byte block into cv (the chaining-value update). */
void eds_blake3_compress_in_place_portable(uint32_t cv[8], const uint8_t block[64],
                                           uint8_t block_len, uint64_t counter,
                                           uint8_t flags);

/** Compress one block and write the full 64-byte output (root / XOF). */
void eds_blake3_compress_xof_portable(const uint32_t cv[8], const uint8_t block[64],
                                      uint8_t block_len, uint64_t counter, uint8_t flags,
                                      uint8_t out[64]);

#endif
