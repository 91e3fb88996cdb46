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

#include "edgesentry/blake3.h"

typedef uint32x4_t vneon;

B3_INLINE vneon vadd(vneon a, vneon b)
{
	return vaddq_u32(a, b);
}

B3_INLINE vneon vxor(vneon a, vneon b)
{
	return veorq_u32(a, b);
}

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

#define LANES          4
#define VEC_T          vneon
#define V_SET1(x)      vdupq_n_u32((uint32_t)(x))
#define V_LOADU(p)     loadu(p)
#define V_STOREU(p, v) storeu((p), (v))

/* 4x4 transpose of 32-bit words: v[i] word j <-> v[j] word i. */
B3_INLINE void transpose(vneon v[4])
{
	uint32x4x2_t t01 = vtrnq_u32(v[0], v[1]), t23 = vtrnq_u32(v[2], v[3]);
	v[0] = vcombine_u32(vget_low_u32(t01.val[0]), vget_low_u32(t23.val[0]));
	v[1] = vcombine_u32(vget_low_u32(t01.val[1]), vget_low_u32(t23.val[1]));
	v[2] = vcombine_u32(vget_high_u32(t01.val[0]), vget_high_u32(t23.val[0]));
	v[3] = vcombine_u32(vget_high_u32(t01.val[1]), vget_high_u32(t23.val[1]));
}

static bool supported(void)
{
	return true;
}

#define B3_NAME              "neon"
#define B3_OPS               eds_blake3_neon_ops
#define B3_COMPRESS_IN_PLACE eds_blake3_portable_compress_in_place
#define B3_COMPRESS_XOF      eds_blake3_portable_compress_xof
#include "blake3_simd_many.h"
#endif
