/*
 * blake3_round.h - the G function and one round of the BLAKE3 compression
 * (specification, section 2.2), written once for both shapes of the state:
 * one 32-bit word per state word (blake3_portable.c) and one vector per
 * state word whose lane i belongs to input i (blake3_simd_many.h).
 *
 * The includer defines ROUND_T (the type of a state word), ROUND_ADD,
 * ROUND_XOR and ROUND_ROT16/12/8/7 (right rotations), then includes this
 * once per translation unit; it gets g_step() and round_step().  Both are
 * forced inline: called with constant indices, the state lives in
 * registers and the schedule lookups fold away.
 */

B3_INLINE void g_step(ROUND_T *v, int a, int b, int c, int d, ROUND_T x, ROUND_T y)
{
	v[a] = ROUND_ADD(ROUND_ADD(v[a], v[b]), x);
	v[d] = ROUND_ROT16(ROUND_XOR(v[d], v[a]));
	v[c] = ROUND_ADD(v[c], v[d]);
	v[b] = ROUND_ROT12(ROUND_XOR(v[b], v[c]));
	v[a] = ROUND_ADD(ROUND_ADD(v[a], v[b]), y);
	v[d] = ROUND_ROT8(ROUND_XOR(v[d], v[a]));
	v[c] = ROUND_ADD(v[c], v[d]);
	v[b] = ROUND_ROT7(ROUND_XOR(v[b], v[c]));
}

/* Round r: columns, then diagonals, with round r's message word order. */
B3_INLINE void round_step(ROUND_T v[16], const ROUND_T m[16], int r)
{
	const uint8_t *o = eds_blake3_schedule[r];
	g_step(v, 0, 4, 8, 12, m[o[0]], m[o[1]]);
	g_step(v, 1, 5, 9, 13, m[o[2]], m[o[3]]);
	g_step(v, 2, 6, 10, 14, m[o[4]], m[o[5]]);
	g_step(v, 3, 7, 11, 15, m[o[6]], m[o[7]]);
	g_step(v, 0, 5, 10, 15, m[o[8]], m[o[9]]);
	g_step(v, 1, 6, 11, 12, m[o[10]], m[o[11]]);
	g_step(v, 2, 7, 8, 13, m[o[12]], m[o[13]]);
	g_step(v, 3, 4, 9, 14, m[o[14]], m[o[15]]);
}
