/*
 * blake3_avx2.c - BLAKE3 with AVX2: eight chunks or parents at once, the
 * message words transposed so lane i of every vector belongs to input i
 * (BLAKE3 paper, section 5.3).  Single blocks (the root, short inputs) use
 * the scalar compression, which measured faster (blake3_impl.h).
 *
 * Compiled with -mavx2 (CMakeLists.txt); only called after the CPU was
 * checked.
 */
#include "blake3_impl.h"

#if defined(__AVX2__)
#include <immintrin.h>

#include "edgesentry/blake3.h"

typedef __m256i v256;

B3_INLINE v256 vadd(v256 a, v256 b)
{
	return _mm256_add_epi32(a, b);
}

B3_INLINE v256 vxor(v256 a, v256 b)
{
	return _mm256_xor_si256(a, b);
}

B3_INLINE v256 rot16(v256 x)
{
	return _mm256_shuffle_epi8(x, _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1,
	                                              0, 3, 2, 13, 12, 15, 14, 9, 8, 11, 10, 5, 4,
	                                              7, 6, 1, 0, 3, 2));
}

B3_INLINE v256 rot8(v256 x)
{
	return _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0,
	                                              3, 2, 1, 12, 15, 14, 13, 8, 11, 10, 9, 4, 7,
	                                              6, 5, 0, 3, 2, 1));
}

B3_INLINE v256 rot12(v256 x)
{
	return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}

B3_INLINE v256 rot7(v256 x)
{
	return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

#define LANES          8
#define VEC_T          v256
#define V_SET1(x)      _mm256_set1_epi32((int)(x))
#define V_LOADU(p)     _mm256_loadu_si256((const void *)(p))
#define V_STOREU(p, v) _mm256_storeu_si256((void *)(p), (v))

/*
 * 8x8 transpose of 32-bit words: v[i] word j <-> v[j] word i.  Within each
 * 128-bit half the unpacks do a 4x4 transpose; the final permute swaps the
 * off-diagonal 4x4 blocks between vectors.
 */
B3_INLINE void transpose(v256 v[8])
{
	v256 t[8], u[8];
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
		t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (int j = 0; j < 4; j++) {
		v[j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);
		v[4 + j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);
	}
}

B3_INLINE void load_msg(v256 m[16], const uint8_t *const in[LANES], size_t off)
{
	for (int half = 0; half < 2; half++) {
		for (int i = 0; i < LANES; i++)
			m[8 * half + i] = V_LOADU(in[i] + off + 32 * half);
		transpose(&m[8 * half]);
	}
}

B3_INLINE void store_cvs(v256 h[8], uint8_t *out)
{
	transpose(h);
	for (int i = 0; i < LANES; i++)
		V_STOREU(out + 32 * i, h[i]);
}

static bool supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

#define B3_NAME              "avx2"
#define B3_OPS               eds_blake3_avx2_ops
#define B3_COMPRESS_IN_PLACE eds_blake3_portable_compress_in_place
#define B3_COMPRESS_XOF      eds_blake3_portable_compress_xof
#include "blake3_simd_many.h"
#endif
