/*
 * blake3_portable.c - the BLAKE3 compression function in portable C, written
 * from section 2.2 of the BLAKE3 specification.  The reference for every
 * other back end: it runs everywhere and degree 1 keeps it simple.
 */
#include <string.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"

const uint32_t eds_blake3_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                   0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

/* Message word order for each of the seven rounds: round r uses the
 * permutation applied r times, precomputed so no words are shuffled. */
const uint8_t eds_blake3_schedule[7][16] = {
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

#define ROUND_T         uint32_t
#define ROUND_ADD(a, b) ((a) + (b))
#define ROUND_XOR(a, b) ((a) ^ (b))
#define ROUND_ROT16(x)  rotr32((x), 16)
#define ROUND_ROT12(x)  rotr32((x), 12)
#define ROUND_ROT8(x)   rotr32((x), 8)
#define ROUND_ROT7(x)   rotr32((x), 7)
#include "blake3_round.h"

B3_INLINE void compress_rounds(uint32_t s[16], const uint32_t cv[8], const uint8_t block[64],
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
	round_step(s, m, 0);
	round_step(s, m, 1);
	round_step(s, m, 2);
	round_step(s, m, 3);
	round_step(s, m, 4);
	round_step(s, m, 5);
	round_step(s, m, 6);
}

void eds_blake3_portable_compress_in_place(uint32_t cv[8], const uint8_t block[64],
                                           uint8_t block_len, uint64_t counter, uint8_t flags)
{
	uint32_t s[16];
	compress_rounds(s, cv, block, block_len, counter, flags);
	for (int i = 0; i < 8; i++)
		cv[i] = s[i] ^ s[i + 8];
}

void eds_blake3_portable_compress_xof(const uint32_t cv[8], const uint8_t block[64],
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

static void hash_chunks(const uint8_t *in, size_t n, const uint32_t key[8], uint64_t counter,
                        uint8_t flags, uint8_t *out)
{
	enum { BLOCKS = EDS_BLAKE3_CHUNK_LEN / EDS_BLAKE3_BLOCK_LEN };
	for (size_t c = 0; c < n; c++) {
		uint32_t cv[8];
		memcpy(cv, key, sizeof cv);
		for (int b = 0; b < BLOCKS; b++) {
			uint8_t f = flags;
			if (b == 0)
				f |= B3_CHUNK_START;
			if (b == BLOCKS - 1)
				f |= B3_CHUNK_END;
			eds_blake3_portable_compress_in_place(cv, in, EDS_BLAKE3_BLOCK_LEN,
			                                      counter + c, f);
			in += EDS_BLAKE3_BLOCK_LEN;
		}
		for (int i = 0; i < 8; i++)
			store32(out + 32 * c + 4 * i, cv[i]);
	}
}

static void hash_parents(const uint8_t *in, size_t n, const uint32_t key[8], uint8_t flags,
                         uint8_t *out)
{
	/* Parent i is written after reading it, below any later parent's input. */
	for (size_t i = 0; i < n; i++) {
		uint32_t cv[8];
		memcpy(cv, key, sizeof cv);
		eds_blake3_portable_compress_in_place(cv, in + 64 * i, EDS_BLAKE3_BLOCK_LEN, 0,
		                                      flags | B3_PARENT);
		for (int w = 0; w < 8; w++)
			store32(out + 32 * i + 4 * w, cv[w]);
	}
}

static bool always_supported(void)
{
	return true;
}

const eds_blake3_ops eds_blake3_portable_ops = {
    .name = "portable",
    .degree = 1,
    .supported = always_supported,
    .compress_in_place = eds_blake3_portable_compress_in_place,
    .compress_xof = eds_blake3_portable_compress_xof,
    .hash_chunks = hash_chunks,
    .hash_parents = hash_parents,
};
