/*
 * blake3_portable.c - the BLAKE3 compression function in portable C, written
 * from section 2.2 of the BLAKE3 specification.
 */
#include <string.h>

#include "blake3_impl.h"

const uint32_t eds_blake3_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                   0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

/* Message word order for each of the seven rounds: round r uses the
 * permutation applied r times, precomputed so no words are shuffled. */
static const uint8_t schedule[7][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
	{3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
	{10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
	{12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
	{9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
	{11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static inline uint32_t rotr32(uint32_t w, unsigned c)
{
	return (w >> c) | (w << (32 - c));
}

static inline uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store32(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

static inline void g(uint32_t *s, int a, int b, int c, int d, uint32_t x, uint32_t y)
{
	s[a] = s[a] + s[b] + x;
	s[d] = rotr32(s[d] ^ s[a], 16);
	s[c] = s[c] + s[d];
	s[b] = rotr32(s[b] ^ s[c], 12);
	s[a] = s[a] + s[b] + y;
	s[d] = rotr32(s[d] ^ s[a], 8);
	s[c] = s[c] + s[d];
	s[b] = rotr32(s[b] ^ s[c], 7);
}

static void compress_rounds(uint32_t s[16], const uint32_t cv[8], const uint8_t block[64],
                            uint8_t block_len, uint64_t counter, uint8_t flags)
{
	uint32_t m[16];
	for (int i = 0; i < 16; i++)
		m[i] = load32(block + 4 * i);
	memcpy(s, cv, 8 * sizeof s[0]);
	memcpy(s + 8, eds_blake3_iv, 4 * sizeof s[0]);
	s[12] = (uint32_t)counter;
	s[13] = (uint32_t)(counter >> 32);
	s[14] = block_len;
	s[15] = flags;
	for (int r = 0; r < 7; r++) {
		const uint8_t *o = schedule[r];
		g(s, 0, 4, 8, 12, m[o[0]], m[o[1]]);
		g(s, 1, 5, 9, 13, m[o[2]], m[o[3]]);
		g(s, 2, 6, 10, 14, m[o[4]], m[o[5]]);
		g(s, 3, 7, 11, 15, m[o[6]], m[o[7]]);
		g(s, 0, 5, 10, 15, m[o[8]], m[o[9]]);
		g(s, 1, 6, 11, 12, m[o[10]], m[o[11]]);
		g(s, 2, 7, 8, 13, m[o[12]], m[o[13]]);
		g(s, 3, 4, 9, 14, m[o[14]], m[o[15]]);
	}
}

void eds_blake3_compress_in_place_portable(uint32_t cv[8], const uint8_t block[64],
                                           uint8_t block_len, uint64_t counter,
                                           uint8_t flags)
{
	uint32_t s[16];
	compress_rounds(s, cv, block, block_len, counter, flags);
	for (int i = 0; i < 8; i++)
		cv[i] = s[i] ^ s[i + 8];
}

void eds_blake3_compress_xof_portable(const uint32_t cv[8], const uint8_t block[64],
                                      uint8_t block_len, uint64_t counter, uint8_t flags,
                                      uint8_t out[64])
{
	uint32_t s[16];
	compress_rounds(s, cv, block, block_len, counter, flags);
	for (int i = 0; i < 8; i++) {
		store32(out + 4 * i, s[i] ^ s[i + 8]);
		store32(out + 4 * (i + 8), s[i + 8] ^ cv[i]);
	}
}
