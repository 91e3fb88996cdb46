/*
 * blake3_sse41.c - BLAKE3 compression with SSE4.1, written from the BLAKE3
 * paper (section 5.3, "SIMD"): one block at a time with the state held as
 * four row vectors (the G steps on columns, then on diagonals after a lane
 * rotation), and four chunks or parents at a time with the message words
 * transposed so lane i of every vector belongs to input i.
 *
 * Compiled with -msse4.1 (CMakeLists.txt); only called after the CPU was
 * checked, so nothing here may run from a constructor.
 */
#include "blake3_impl.h"

#if defined(__SSE4_1__)
#include <immintrin.h>
#include <string.h>

#include "edgesentry/blake3.h"

typedef __m128i v128;

B3_INLINE v128 vadd(v128 a, v128 b)
{
	return _mm_add_epi32(a, b);
}

B3_INLINE v128 vxor(v128 a, v128 b)
{
	return _mm_xor_si128(a, b);
}

/* Rotations by 16 and 8 are byte moves: one shuffle instead of two shifts. */
B3_INLINE v128 rot16(v128 x)
{
	return _mm_shuffle_epi8(x,
	                        _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}

B3_INLINE v128 rot8(v128 x)
{
	return _mm_shuffle_epi8(x,
	                        _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}

B3_INLINE v128 rot12(v128 x)
{
	return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
}

B3_INLINE v128 rot7(v128 x)
{
	return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
}

/* ---- one block: rows ------------------------------------------------------- */

B3_INLINE void g_rows(v128 *a, v128 *b, v128 *c, v128 *d, v128 x, v128 y)
{
	*a = vadd(vadd(*a, *b), x);
	*d = rot16(vxor(*d, *a));
	*c = vadd(*c, *d);
	*b = rot12(vxor(*b, *c));
	*a = vadd(vadd(*a, *b), y);
	*d = rot8(vxor(*d, *a));
	*c = vadd(*c, *d);
	*b = rot7(vxor(*b, *c));
}

/* _mm_shuffle_ps on integer vectors: lanes 0-1 from x, 2-3 from y. */
#define SHUF2(x, y, imm)                                                                           \
	_mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(x), _mm_castsi128_ps(y), (imm)))

/*
 * The message of one round as the four G-step vectors: msg[0] / msg[1] the
 * first / second word of the column steps (words o[0,2,4,6] / o[1,3,5,7] of
 * the round's schedule o), msg[2] / msg[3] those of the diagonal steps.
 * The next round's schedule is this one permuted (spec section 2.2), which
 * maps these vectors to new ones with a few shuffles and no memory access:
 * derived lane by lane from the permutation 2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8.
 */
B3_INLINE void permute_msg(v128 msg[4])
{
	v128 a = msg[0], b = msg[1], c = msg[2], d = msg[3];
	msg[0] = _mm_shuffle_epi32(SHUF2(a, b, _MM_SHUFFLE(3, 1, 2, 1)), _MM_SHUFFLE(1, 3, 2, 0));
	msg[1] = SHUF2(SHUF2(a, c, _MM_SHUFFLE(1, 1, 0, 3)), SHUF2(a, d, _MM_SHUFFLE(2, 2, 0, 0)),
	               _MM_SHUFFLE(2, 0, 2, 0));
	msg[2] = SHUF2(SHUF2(b, c, _MM_SHUFFLE(2, 2, 0, 0)), d, _MM_SHUFFLE(3, 0, 2, 0));
	msg[3] = SHUF2(SHUF2(d, b, _MM_SHUFFLE(2, 2, 1, 1)), c, _MM_SHUFFLE(0, 3, 2, 0));
}

B3_INLINE void round_rows(v128 r[4], const v128 msg[4])
{
	g_rows(&r[0], &r[1], &r[2], &r[3], msg[0], msg[1]);
	/* Diagonals become columns: row k moves k lanes left. */
	r[1] = _mm_shuffle_epi32(r[1], _MM_SHUFFLE(0, 3, 2, 1));
	r[2] = _mm_shuffle_epi32(r[2], _MM_SHUFFLE(1, 0, 3, 2));
	r[3] = _mm_shuffle_epi32(r[3], _MM_SHUFFLE(2, 1, 0, 3));
	g_rows(&r[0], &r[1], &r[2], &r[3], msg[2], msg[3]);
	r[1] = _mm_shuffle_epi32(r[1], _MM_SHUFFLE(2, 1, 0, 3));
	r[2] = _mm_shuffle_epi32(r[2], _MM_SHUFFLE(1, 0, 3, 2));
	r[3] = _mm_shuffle_epi32(r[3], _MM_SHUFFLE(0, 3, 2, 1));
}

B3_INLINE void compress_rows(v128 r[4], const uint32_t cv[8], const uint8_t block[64],
                             uint8_t block_len, uint64_t counter, uint8_t flags)
{
	/* x86 is little-endian: the block's words load as they are. */
	v128 w0 = _mm_loadu_si128((const void *)block),
	     w1 = _mm_loadu_si128((const void *)(block + 16));
	v128 w2 = _mm_loadu_si128((const void *)(block + 32)),
	     w3 = _mm_loadu_si128((const void *)(block + 48));
	v128 msg[4] = {
	    SHUF2(w0, w1, _MM_SHUFFLE(2, 0, 2, 0)), SHUF2(w0, w1, _MM_SHUFFLE(3, 1, 3, 1)),
	    SHUF2(w2, w3, _MM_SHUFFLE(2, 0, 2, 0)), SHUF2(w2, w3, _MM_SHUFFLE(3, 1, 3, 1))};
	r[0] = _mm_loadu_si128((const void *)cv);
	r[1] = _mm_loadu_si128((const void *)(cv + 4));
	r[2] = _mm_loadu_si128((const void *)eds_blake3_iv);
	r[3] = _mm_setr_epi32((int)(uint32_t)counter, (int)(uint32_t)(counter >> 32), block_len,
	                      flags);
	/* Written out: a loop here stays a loop at -O2 and keeps the state in memory. */
	round_rows(r, msg);
	permute_msg(msg);
	round_rows(r, msg);
	permute_msg(msg);
	round_rows(r, msg);
	permute_msg(msg);
	round_rows(r, msg);
	permute_msg(msg);
	round_rows(r, msg);
	permute_msg(msg);
	round_rows(r, msg);
	permute_msg(msg);
	round_rows(r, msg);
}

static void compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                              uint64_t counter, uint8_t flags)
{
	v128 r[4];
	compress_rows(r, cv, block, block_len, counter, flags);
	_mm_storeu_si128((void *)cv, vxor(r[0], r[2]));
	_mm_storeu_si128((void *)(cv + 4), vxor(r[1], r[3]));
}

static void compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                         uint64_t counter, uint8_t flags, uint8_t out[64])
{
	v128 r[4];
	compress_rows(r, cv, block, block_len, counter, flags);
	_mm_storeu_si128((void *)out, vxor(r[0], r[2]));
	_mm_storeu_si128((void *)(out + 16), vxor(r[1], r[3]));
	_mm_storeu_si128((void *)(out + 32), vxor(r[2], _mm_loadu_si128((const void *)cv)));
	_mm_storeu_si128((void *)(out + 48), vxor(r[3], _mm_loadu_si128((const void *)(cv + 4))));
}

/* ---- four inputs: transposed ----------------------------------------------- */

#define LANES          4
#define VEC_T          v128
#define V_SET1(x)      _mm_set1_epi32((int)(x))
#define V_LOADU(p)     _mm_loadu_si128((const void *)(p))
#define V_STOREU(p, v) _mm_storeu_si128((void *)(p), (v))

/* 4x4 transpose of 32-bit words: v[i] word j <-> v[j] word i. */
B3_INLINE void transpose(v128 v[4])
{
	v128 ab_lo = _mm_unpacklo_epi32(v[0], v[1]), ab_hi = _mm_unpackhi_epi32(v[0], v[1]);
	v128 cd_lo = _mm_unpacklo_epi32(v[2], v[3]), cd_hi = _mm_unpackhi_epi32(v[2], v[3]);
	v[0] = _mm_unpacklo_epi64(ab_lo, cd_lo);
	v[1] = _mm_unpackhi_epi64(ab_lo, cd_lo);
	v[2] = _mm_unpacklo_epi64(ab_hi, cd_hi);
	v[3] = _mm_unpackhi_epi64(ab_hi, cd_hi);
}

static bool supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse4.1");
}

#define B3_NAME              "sse41"
#define B3_OPS               eds_blake3_sse41_ops
#define B3_COMPRESS_IN_PLACE compress_in_place
#define B3_COMPRESS_XOF      compress_xof
#include "blake3_simd_many.h"
#endif
