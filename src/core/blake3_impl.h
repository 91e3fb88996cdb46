/*
 * blake3_impl.h - the compression back-end interface of BLAKE3.
 *
 * The streaming logic in blake3.c calls the compression function only
 * through an eds_blake3_ops table, so SIMD back ends (SSE4.1, AVX2, NEON)
 * slot in by adding a table to the list in blake3.c, without touching the
 * tree logic.  A back end's hash_chunks is where SIMD pays: it hashes up
 * to `degree` independent whole chunks at once.
 */
#ifndef EDS_CORE_BLAKE3_IMPL_H
#define EDS_CORE_BLAKE3_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

/* The rounds must be inlined with constant indices for the state to live in
 * registers; -O2's size heuristics otherwise keep them out of line. */
#if defined(__GNUC__) || defined(__clang__)
#define B3_INLINE static inline __attribute__((always_inline))
#else
#define B3_INLINE static inline
#endif

enum {
	B3_CHUNK_START = 1 << 0,
	B3_CHUNK_END = 1 << 1,
	B3_PARENT = 1 << 2,
	B3_ROOT = 1 << 3,
	B3_KEYED_HASH = 1 << 4,
	B3_DERIVE_KEY_CONTEXT = 1 << 5,
	B3_DERIVE_KEY_MATERIAL = 1 << 6,
};

/** Upper bound of any back end's degree (AVX-512 hashes 16 chunks at once). */
#define EDS_BLAKE3_MAX_DEGREE 16

extern const uint32_t eds_blake3_iv[8];

/** Message word order of each of the seven rounds (the permutation applied
 * r times), shared by every back end. */
extern const uint8_t eds_blake3_schedule[7][16];

typedef struct eds_blake3_ops {
	/** Short name reported by eds_blake3_backend(): "portable", "sse41", ... */
	const char *name;
	/** How many chunks hash_chunks processes in parallel (1 when it cannot);
	 * at most EDS_BLAKE3_MAX_DEGREE. */
	size_t degree;
	/** Whether this CPU can run the back end (checked once, at selection). */
	bool (*supported)(void);
	/** Compress one 64-byte block into cv (the chaining-value update).
	 * Bytes of block past block_len must be zero. */
	void (*compress_in_place)(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
	                          uint64_t counter, uint8_t flags);
	/** Compress one block and write the full 64-byte output (root / XOF). */
	void (*compress_xof)(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
	                     uint64_t counter, uint8_t flags, uint8_t out[64]);
	/**
	 * Hash n (1 <= n <= degree) whole, non-root chunks in[0 .. n*1024),
	 * chunk i with counter + i, writing chunk i's chaining value to
	 * out[32*i .. 32*i+32) (little-endian words).
	 */
	void (*hash_chunks)(const uint8_t *in, size_t n, const uint32_t key[8], uint64_t counter,
	                    uint8_t flags, uint8_t *out);
	/**
	 * Compress n (1 <= n <= degree) non-root parent blocks in[64*i ..
	 * 64*i+64) (left CV then right CV) with key, writing parent i's CV to
	 * out[32*i ..).  out may equal in: the tree is reduced in place.
	 */
	void (*hash_parents)(const uint8_t *in, size_t n, const uint32_t key[8], uint8_t flags,
	                     uint8_t *out);
} eds_blake3_ops;

extern const eds_blake3_ops eds_blake3_portable_ops;
/* The scalar single-block compression.  It is also the AVX2 back end's: one
 * block has only four independent G columns, and as a chain of dependent
 * vector steps (the SSE4.1 rows) it measured about 1.7x slower than the
 * scalar code, whose four columns overlap, on this project's AVX2 machine
 * (docs/performance.md). */
void eds_blake3_portable_compress_in_place(uint32_t cv[8], const uint8_t block[64],
                                           uint8_t block_len, uint64_t counter, uint8_t flags);
void eds_blake3_portable_compress_xof(const uint32_t cv[8], const uint8_t block[64],
                                      uint8_t block_len, uint64_t counter, uint8_t flags,
                                      uint8_t out[64]);
#if defined(__x86_64__) || defined(__i386__)
extern const eds_blake3_ops eds_blake3_sse41_ops;
extern const eds_blake3_ops eds_blake3_avx2_ops;
/* AVX2 reuses the SSE4.1 single-block compression (one block has only four
 * independent G columns, too few for eight lanes). */
void eds_blake3_sse41_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                        uint64_t counter, uint8_t flags);
void eds_blake3_sse41_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                   uint64_t counter, uint8_t flags, uint8_t out[64]);
#endif
/* NEON: every AArch64 CPU has it; the kernel assumes little-endian words. */
#if defined(__ARM_NEON) && defined(__aarch64__) && !defined(__ARM_BIG_ENDIAN)
#define EDS_BLAKE3_NEON 1
extern const eds_blake3_ops eds_blake3_neon_ops;
#endif

/** The back end in use: the first supported one in preference order. */
const eds_blake3_ops *eds_blake3_active_ops(void);

/**
 * Use ops from now on; NULL returns to the automatic choice.  For tests and
 * benchmarks comparing back ends; the caller makes sure the CPU supports
 * ops.  Safe while other threads hash: every back end computes the same
 * function, so a hasher may even switch back ends between calls.
 */
void eds_blake3_set_ops(const eds_blake3_ops *ops);

/** The i-th compiled-in back end (preferred first), NULL past the last. */
const eds_blake3_ops *eds_blake3_backend_at(size_t i);

/* ---- subtrees, for multi-threaded hashing (blake3_parallel.c) ---- */

struct eds_blake3_hasher;

/** CV of the non-root subtree of n chunks (a power of two) at chunk counter. */
void eds_blake3_subtree_cv(const eds_blake3_ops *ops, const uint8_t *in, uint64_t n,
                           const uint32_t key[8], uint64_t counter, uint8_t flags, uint8_t out[32]);

/**
 * Absorb in[0 .. len) up to the next multiple of n chunks (n a power of
 * two) and return the bytes taken.  When input is left (the return value
 * is below len), the hasher then stands exactly on that boundary with no
 * open chunk, ready for eds_blake3_push_subtree.
 */
size_t eds_blake3_update_to_boundary(struct eds_blake3_hasher *h, const uint8_t *in, size_t len,
                                     uint64_t n);

/** Append the CV of the next n chunks (a power of two; the hasher on a
 * multiple of n chunks and more input to follow). */
void eds_blake3_push_subtree(struct eds_blake3_hasher *h, const uint8_t cv[32], uint64_t n);

/** Bytes absorbed so far. */
uint64_t eds_blake3_absorbed(const struct eds_blake3_hasher *h);

/*
 * Hash the rest of regular file fd (file_size bytes, from its fstat; name
 * for messages) into h: a large file in 1 MiB reads hashed as wide
 * subtrees on up to threads threads, a small one read through.  *size
 * (may be NULL): bytes hashed.  Errors: EDS_E_IO.
 */
eds_status eds_blake3_update_regular_fd(struct eds_blake3_hasher *h, int fd, const char *name,
                                        uint64_t file_size, unsigned threads, uint64_t *size);

#endif
