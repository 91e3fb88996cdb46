/*
 * blake3_simd_many.h - everything a SIMD back end of BLAKE3 shares, included
 * once at the end of blake3_sse41.c (4 lanes), blake3_avx2.c (8 lanes) and
 * blake3_neon.c (4 lanes), which supply only their vector primitives.
 *
 * The kernel hashes LANES inputs at once, transposed: each state word is a
 * vector whose lane i belongs to input i (BLAKE3 paper, section 5.3), so
 * the rounds (blake3_round.h) are plain vector arithmetic with no shuffles;
 * only loading the message and storing the CVs transpose.  Around it: the
 * back end's hash_chunks / hash_parents and its ops table.
 *
 * The includer defines LANES, VEC_T, the inline functions vadd, vxor and
 * rot16/12/8/7 (right rotations of each 32-bit lane), V_SET1, V_LOADU and
 * V_STOREU; with 4 lanes a 4x4 word transpose(), with other
 * widths its own load_msg() and store_cvs(); a static supported(); and
 * B3_NAME (string), B3_OPS (the table's name), B3_COMPRESS_IN_PLACE and
 * B3_COMPRESS_XOF (its single-block compression).
 */
#include "blake3_simd.h"

#define ROUND_T     VEC_T
#define ROUND_ADD   vadd
#define ROUND_XOR   vxor
#define ROUND_ROT16 rot16
#define ROUND_ROT12 rot12
#define ROUND_ROT8  rot8
#define ROUND_ROT7  rot7
#include "blake3_round.h"

#if LANES == 4
/* m[j] lane i = word j of the 64-byte block at in[i] + off. */
B3_INLINE void load_msg(VEC_T m[16], const uint8_t *const in[LANES], size_t off)
{
	for (int q = 0; q < 4; q++) {
		for (int i = 0; i < LANES; i++)
			m[4 * q + i] = V_LOADU(in[i] + off + 16 * q);
		transpose(&m[4 * q]);
	}
}

/* out + 32*i receives lane i of h[0..8). */
B3_INLINE void store_cvs(VEC_T h[8], uint8_t *out)
{
	transpose(&h[0]);
	transpose(&h[4]);
	for (int i = 0; i < LANES; i++) {
		V_STOREU(out + 32 * i, h[i]);
		V_STOREU(out + 32 * i + 16, h[4 + i]);
	}
}
#endif

static void hash_many(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
                      uint64_t counter, bool inc_counter, uint8_t flags, uint8_t flags_start,
                      uint8_t flags_end, uint8_t *out)
{
	uint32_t lo[LANES], hi[LANES];
	VEC_T h[8], v[16], m[16];
	for (int i = 0; i < LANES; i++) {
		uint64_t c = counter + (inc_counter ? (uint64_t)i : 0);
		lo[i] = (uint32_t)c;
		hi[i] = (uint32_t)(c >> 32);
	}
	for (int i = 0; i < 8; i++)
		h[i] = V_SET1(key[i]);
	for (size_t b = 0; b < blocks; b++) {
		uint8_t f = (uint8_t)(flags | (b == 0 ? flags_start : 0) |
		                      (b == blocks - 1 ? flags_end : 0));
		load_msg(m, in, 64 * b);
		for (int i = 0; i < 8; i++)
			v[i] = h[i];
		for (int i = 0; i < 4; i++)
			v[8 + i] = V_SET1(eds_blake3_iv[i]);
		v[12] = V_LOADU(lo);
		v[13] = V_LOADU(hi);
		v[14] = V_SET1(EDS_BLAKE3_BLOCK_LEN);
		v[15] = V_SET1(f);
		for (int r = 0; r < 7; r++)
			round_step(v, m, r);
		for (int i = 0; i < 8; i++)
			h[i] = vxor(v[i], v[i + 8]);
	}
	store_cvs(h, out);
}

static void hash_chunks(const uint8_t *in, size_t n, const uint32_t key[8], uint64_t counter,
                        uint8_t flags, uint8_t *out)
{
	eds_blake3_simd_batch(hash_many, LANES, B3_COMPRESS_IN_PLACE, in, EDS_BLAKE3_CHUNK_LEN, n,
	                      EDS_BLAKE3_CHUNK_LEN / EDS_BLAKE3_BLOCK_LEN, key, counter, true,
	                      flags, B3_CHUNK_START, B3_CHUNK_END, out);
}

static void hash_parents(const uint8_t *in, size_t n, const uint32_t key[8], uint8_t flags,
                         uint8_t *out)
{
	eds_blake3_simd_batch(hash_many, LANES, B3_COMPRESS_IN_PLACE, in, EDS_BLAKE3_BLOCK_LEN, n,
	                      1, key, 0, false, (uint8_t)(flags | B3_PARENT), 0, 0, out);
}

const eds_blake3_ops B3_OPS = {
    .name = B3_NAME,
    .degree = LANES,
    .supported = supported,
    .compress_in_place = B3_COMPRESS_IN_PLACE,
    .compress_xof = B3_COMPRESS_XOF,
    .hash_chunks = hash_chunks,
    .hash_parents = hash_parents,
};
