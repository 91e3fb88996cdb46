/*
 * blake3_simd_many.h - the transposed "LANES inputs at once" kernel, shared
 * by the SSE4.1 (4 lanes), AVX2 (8 lanes) and NEON (4 lanes) back ends.
 * Each state word is a vector whose lane i belongs to input i (BLAKE3
 * paper, section 5.3), so G is plain vector arithmetic with no shuffles;
 * only loading the message and storing the CVs transpose.
 *
 * The includer defines LANES, VEC_T, V_ADD, V_XOR, V_ROT16/12/8/7, V_SET1,
 * V_LOADU and load_msg / store_cvs, then HASH_MANY_NAME.
 */

B3_INLINE void g_lanes(VEC_T *v, int a, int b, int c, int d, VEC_T x, VEC_T y)
{
	v[a] = V_ADD(V_ADD(v[a], v[b]), x);
	v[d] = V_ROT16(V_XOR(v[d], v[a]));
	v[c] = V_ADD(v[c], v[d]);
	v[b] = V_ROT12(V_XOR(v[b], v[c]));
	v[a] = V_ADD(V_ADD(v[a], v[b]), y);
	v[d] = V_ROT8(V_XOR(v[d], v[a]));
	v[c] = V_ADD(v[c], v[d]);
	v[b] = V_ROT7(V_XOR(v[b], v[c]));
}

B3_INLINE void round_lanes(VEC_T v[16], const VEC_T m[16], int r)
{
	const uint8_t *o = eds_blake3_schedule[r];
	g_lanes(v, 0, 4, 8, 12, m[o[0]], m[o[1]]);
	g_lanes(v, 1, 5, 9, 13, m[o[2]], m[o[3]]);
	g_lanes(v, 2, 6, 10, 14, m[o[4]], m[o[5]]);
	g_lanes(v, 3, 7, 11, 15, m[o[6]], m[o[7]]);
	g_lanes(v, 0, 5, 10, 15, m[o[8]], m[o[9]]);
	g_lanes(v, 1, 6, 11, 12, m[o[10]], m[o[11]]);
	g_lanes(v, 2, 7, 8, 13, m[o[12]], m[o[13]]);
	g_lanes(v, 3, 4, 9, 14, m[o[14]], m[o[15]]);
}

static void HASH_MANY_NAME(const uint8_t *const *in, size_t blocks, const uint32_t key[8],
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
			round_lanes(v, m, r);
		for (int i = 0; i < 8; i++)
			h[i] = V_XOR(v[i], v[i + 8]);
	}
	store_cvs(h, out);
}
