/*
 * blake3_neon.c - BLAKE3 with ARM NEON: four chunks or parents at once, the
 * message words transposed so lane i of every vector belongs to input i
 * (BLAKE3 paper, section 5.3), sharing the kernel of the SSE4.1 and AVX2
 * back ends (blake3_simd_many.h).  Single blocks use the scalar code.
 *
 * Built only when the compiler targets AArch64 (little-endian), where NEON
 * is always present.  This machine is x86: tests/cli/test_blake3_neon.sh
 * compiles the file for aarch64 with clang; running it needs an ARM host.
 */
#include "blake3_impl.h"

#if defined(EDS_BLAKE3_NEON)
#include <arm_neon.h>

#include "blake3_simd.h"
#include "edgesentry/blake3.h"

#define B3_INLINE static inline __attribute__((always_inline))

typedef uint32x4_t vneon;

B3_INLINE vneon add(vneon a, vneon b)
{
	return vaddq_u32(a, b);
}

B3_INLINE vneon xor (vneon a, vneon b) { return veorq_u32(a, b); }

    /* Rotation by 16 swaps the 16-bit halves of each word. */
    B3_INLINE vneon rot16(vneon x)
{
	return vreinterpretq_u32_u16(vrev32q_u16(vreinterpretq_u16_u32(x)));
}

/* Shift left, then insert the right-shifted bits: two instructions. */
B3_INLINE vneon rot12(vneon x)
{
	return vsriq_n_u32(vshlq_n_u32(x, 20), x, 12);
}

B3_INLINE vneon rot8(vneon x)
{
	return vsriq_n_u32(vshlq_n_u32(x, 24), x, 8);
}

B3_INLINE vneon rot7(vneon x)
{
	return vsriq_n_u32(vshlq_n_u32(x, 25), x, 7);
}

B3_INLINE vneon loadu(const void *p)
{
	return vreinterpretq_u32_u8(vld1q_u8((const uint8_t *)p));
}

B3_INLINE void storeu(void *p, vneon v)
{
	vst1q_u8((uint8_t *)p, vreinterpretq_u8_u32(v));
}

#define LANES      4
#define VEC_T      vneon
#define V_ADD      add
#define V_XOR      xor
#define V_ROT16    rot16
#define V_ROT12    rot12
#define V_ROT8     rot8
#define V_ROT7     rot7
#define V_SET1(x)  vdupq_n_u32((uint32_t)(x))
#define V_LOADU(p) loadu(p)

/* 4x4 transpose of 32-bit words: v[i] word j <-> v[j] word i. */
B3_INLINE void transpose(vneon v[4])
{
	uint32x4x2_t t01 = vtrnq_u32(v[0], v[1]), t23 = vtrnq_u32(v[2], v[3]);
	v[0] = vcombine_u32(vget_low_u32(t01.val[0]), vget_low_u32(t23.val[0]));
	v[1] = vcombine_u32(vget_low_u32(t01.val[1]), vget_low_u32(t23.val[1]));
	v[2] = vcombine_u32(vget_high_u32(t01.val[0]), vget_high_u32(t23.val[0]));
	v[3] = vcombine_u32(vget_high_u32(t01.val[1]), vget_high_u32(t23.val[1]));
}

B3_INLINE void load_msg(vneon m[16], const uint8_t *const in[LANES], size_t off)
{
	for (int q = 0; q < 4; q++) {
		for (int i = 0; i < LANES; i++)
			m[4 * q + i] = loadu(in[i] + off + 16 * q);
		transpose(&m[4 * q]);
	}
}

B3_INLINE void store_cvs(vneon h[8], uint8_t *out)
{
	transpose(&h[0]);
	transpose(&h[4]);
	for (int i = 0; i < LANES; i++) {
		storeu(out + 32 * i, h[i]);
		storeu(out + 32 * i + 16, h[4 + i]);
	}
}

#define HASH_MANY_NAME hash_many4
#include "blake3_simd_many.h"

static bool supported(void)
{
	return true;
}

static void hash_chunks(const uint8_t *in, size_t n, const uint32_t key[8], uint64_t counter,
                        uint8_t flags, uint8_t *out)
{
	eds_blake3_simd_chunks(hash_many4, LANES, eds_blake3_portable_compress_in_place, in, n, key,
	                       counter, flags, out);
}

static void hash_parents(const uint8_t *in, size_t n, const uint32_t key[8], uint8_t flags,
                         uint8_t *out)
{
	eds_blake3_simd_parents(hash_many4, LANES, eds_blake3_portable_compress_in_place, in, n,
	                        key, flags, out);
}

const eds_blake3_ops eds_blake3_neon_ops = {
    .name = "neon",
    .degree = LANES,
    .supported = supported,
    .compress_in_place = eds_blake3_portable_compress_in_place,
    .compress_xof = eds_blake3_portable_compress_xof,
    .hash_chunks = hash_chunks,
    .hash_parents = hash_parents,
};
#endif
