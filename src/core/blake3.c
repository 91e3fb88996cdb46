/*
 * blake3.c - BLAKE3 streaming hash: chunk state, the chaining-value stack
 * that builds the binary tree incrementally, root output (XOF), and the
 * choice of compression back end.
 *
 * Follows section 5.1 of the BLAKE3 specification: a completed chunk is
 * only turned into a chaining value when more input arrives, because the
 * last chunk (or the last parent) must be compressed with the ROOT flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"
#include "internal.h"

/* ---- back-end selection ---------------------------------------------------- */

/* Preferred first: SIMD back ends go before the portable one, which every
 * CPU supports and so ends the search. */
static const eds_blake3_ops *const backends[] = {
#if defined(__x86_64__) || defined(__i386__)
    &eds_blake3_avx2_ops,
    &eds_blake3_sse41_ops,
#endif
#if defined(EDS_BLAKE3_NEON)
    &eds_blake3_neon_ops,
#endif
    &eds_blake3_portable_ops,
};
enum { N_BACKENDS = sizeof backends / sizeof backends[0] };

/* NULL until the first hash; a race between two first hashes is harmless
 * because both store the same choice. */
static _Atomic(const eds_blake3_ops *) active_ops;

/* EDS_BLAKE3_BACKEND=NAME forces a back end (for tests and benchmarks);
 * a name that is unknown or that this CPU cannot run is ignored. */
static const eds_blake3_ops *forced_backend(void)
{
	const char *name = getenv("EDS_BLAKE3_BACKEND");
	for (size_t i = 0; name != NULL && i < N_BACKENDS; i++)
		if (strcmp(backends[i]->name, name) == 0 && backends[i]->supported())
			return backends[i];
	return NULL;
}

const eds_blake3_ops *eds_blake3_active_ops(void)
{
	const eds_blake3_ops *ops = atomic_load_explicit(&active_ops, memory_order_acquire);
	if (ops != NULL)
		return ops;
	ops = forced_backend();
	for (size_t i = 0; i < N_BACKENDS && ops == NULL; i++)
		if (backends[i]->supported()) /* NOLINT(clang-analyzer-core.NullDereference): no
		                                 NULL entries */
			ops = backends[i];
	atomic_store_explicit(&active_ops, ops, memory_order_release);
	return ops;
}

void eds_blake3_set_ops(const eds_blake3_ops *ops)
{
	atomic_store_explicit(&active_ops, ops, memory_order_release);
}

const eds_blake3_ops *eds_blake3_backend_at(size_t i)
{
	return i < N_BACKENDS ? backends[i] : NULL;
}

const char *eds_blake3_backend(void)
{
	return eds_blake3_active_ops()->name;
}

/* ---- tree logic -------------------------------------------------------------- */

/* The node whose output is still open: everything needed to compress it
 * either as a chaining value or, at the root, as output blocks. */
typedef struct {
	uint32_t cv[8];
	uint8_t block[EDS_BLAKE3_BLOCK_LEN];
	uint64_t counter;
	uint8_t block_len;
	uint8_t flags;
} output_node;

static void words_from_bytes(uint32_t w[8], const uint8_t b[32])
{
	for (int i = 0; i < 8; i++)
		w[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
		       (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
}

static void bytes_from_words(uint8_t b[32], const uint32_t w[8])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The words' memory is the output: one copy.  GCC turns the loop below
	 * into vector unpacks that cost a tenth of a 64-byte hash. */
	memcpy(b, w, 32);
#else
	for (int i = 0; i < 8; i++) {
		b[4 * i] = (uint8_t)w[i];
		b[4 * i + 1] = (uint8_t)(w[i] >> 8);
		b[4 * i + 2] = (uint8_t)(w[i] >> 16);
		b[4 * i + 3] = (uint8_t)(w[i] >> 24);
	}
#endif
}

/* Only the fields the logic reads before writing are set: clearing the
 * whole ~1.9 KB struct would cost more than hashing a short input. */
static void hasher_init_base(eds_blake3_hasher *h, const uint32_t key[8], uint8_t flags)
{
	memcpy(h->key, key, sizeof h->key);
	memcpy(h->cv, key, sizeof h->cv);
	h->chunk_counter = 0;
	h->buf_len = 0;
	h->blocks_compressed = 0;
	h->flags = flags;
	h->cv_stack_len = 0;
}

static size_t chunk_len(const eds_blake3_hasher *h)
{
	return (size_t)EDS_BLAKE3_BLOCK_LEN * h->blocks_compressed + h->buf_len;
}

static uint8_t chunk_start_flag(const eds_blake3_hasher *h)
{
	return h->blocks_compressed == 0 ? B3_CHUNK_START : 0;
}

/*
 * Absorb up to the rest of the current chunk; return the bytes taken.
 * A full block is compressed only once more input follows (the chunk's
 * last block needs CHUNK_END), so the buffer always keeps 1..64 bytes of a
 * non-empty chunk; whole blocks in the middle are compressed straight from
 * the input without copying.
 */
static size_t chunk_update(eds_blake3_hasher *h, const eds_blake3_ops *ops, const uint8_t *in,
                           size_t len)
{
	size_t room = EDS_BLAKE3_CHUNK_LEN - chunk_len(h);
	size_t taken = len < room ? len : room;
	len = taken;
	if (h->buf_len > 0) {
		size_t fill = EDS_BLAKE3_BLOCK_LEN - h->buf_len;
		if (fill > len)
			fill = len;
		memcpy(h->buf + h->buf_len, in, fill);
		h->buf_len = (uint8_t)(h->buf_len + fill);
		in += fill;
		len -= fill;
		if (len == 0)
			return taken;
		ops->compress_in_place(h->cv, h->buf, EDS_BLAKE3_BLOCK_LEN, h->chunk_counter,
		                       h->flags | chunk_start_flag(h));
		h->blocks_compressed++;
	}
	while (len > EDS_BLAKE3_BLOCK_LEN) {
		ops->compress_in_place(h->cv, in, EDS_BLAKE3_BLOCK_LEN, h->chunk_counter,
		                       h->flags | chunk_start_flag(h));
		h->blocks_compressed++;
		in += EDS_BLAKE3_BLOCK_LEN;
		len -= EDS_BLAKE3_BLOCK_LEN;
	}
	memcpy(h->buf, in, len);
	h->buf_len = (uint8_t)len;
	return taken;
}

static output_node chunk_output(const eds_blake3_hasher *h)
{
	output_node o;
	memcpy(o.cv, h->cv, sizeof o.cv);
	/* The spec pads a short last block with zeros; the buffer past buf_len
	 * holds stale bytes, so the padding is written here, once. */
	memcpy(o.block, h->buf, h->buf_len);
	memset(o.block + h->buf_len, 0, sizeof o.block - h->buf_len);
	o.counter = h->chunk_counter;
	o.block_len = h->buf_len;
	o.flags = h->flags | chunk_start_flag(h) | B3_CHUNK_END;
	return o;
}

static output_node parent_output(const uint8_t block[64], const uint32_t key[8], uint8_t flags)
{
	output_node o;
	memcpy(o.cv, key, sizeof o.cv);
	memcpy(o.block, block, sizeof o.block);
	o.counter = 0;
	o.block_len = EDS_BLAKE3_BLOCK_LEN;
	o.flags = flags | B3_PARENT;
	return o;
}

static void output_cv(const eds_blake3_ops *ops, const output_node *o, uint8_t out[32])
{
	uint32_t cv[8];
	memcpy(cv, o->cv, sizeof cv);
	ops->compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
	bytes_from_words(out, cv);
}

/*
 * Push the CV of a finished, non-root chunk.  After total_chunks chunks the
 * stack holds one CV per 1 bit of total_chunks, so merge once per trailing
 * zero bit.  The new CV goes on top first: each merge's left and right CVs
 * are then already adjacent, forming the parent block in place.
 */
static void push_chunk_cv(eds_blake3_hasher *h, const eds_blake3_ops *ops, const uint8_t cv[32],
                          uint64_t total_chunks)
{
	size_t top = h->cv_stack_len;
	memcpy(h->cv_stack + 32 * top, cv, 32);
	while ((total_chunks & 1) == 0) {
		top--;
		output_node p = parent_output(h->cv_stack + 32 * top, h->key, h->flags);
		output_cv(ops, &p, h->cv_stack + 32 * top);
		total_chunks >>= 1;
	}
	h->cv_stack_len = (uint8_t)(top + 1);
}

/* The current chunk is full and more input follows, so it is not the root. */
static void finish_chunk(eds_blake3_hasher *h, const eds_blake3_ops *ops)
{
	uint8_t cv[32];
	output_node o = chunk_output(h);
	output_cv(ops, &o, cv);
	push_chunk_cv(h, ops, cv, h->chunk_counter + 1);
	memcpy(h->cv, h->key, sizeof h->cv);
	h->chunk_counter++;
	h->buf_len = 0;
	h->blocks_compressed = 0;
}

/* Chunks in the largest subtree hashed at once (its CVs live on the stack). */
#define SUBTREE_MAX 128

/*
 * CV of the non-root subtree of n chunks (a power of two, at most
 * SUBTREE_MAX) starting at chunk counter: its chunks `degree` at a time,
 * then each level of parents `degree` at a time, halving the CV array in
 * place.  Wide parents are why this beats pushing chunk CVs one by one.
 */
static void subtree_cv(const eds_blake3_ops *ops, const uint8_t *in, size_t n,
                       const uint32_t key[8], uint64_t counter, uint8_t flags, uint8_t out[32])
{
	uint8_t cvs[SUBTREE_MAX * 32];
	for (size_t i = 0; i < n; i += ops->degree) {
		size_t k = n - i < ops->degree ? n - i : ops->degree;
		ops->hash_chunks(in + i * EDS_BLAKE3_CHUNK_LEN, k, key, counter + i, flags,
		                 cvs + 32 * i);
	}
	for (; n > 1; n /= 2)
		for (size_t i = 0; i < n / 2; i += ops->degree) {
			size_t k = n / 2 - i < ops->degree ? n / 2 - i : ops->degree;
			ops->hash_parents(cvs + 64 * i, k, key, flags, cvs + 32 * i);
		}
	memcpy(out, cvs, 32);
}

static unsigned log2_of(uint64_t pow2)
{
	unsigned k = 0;
	while (pow2 > 1) {
		pow2 >>= 1;
		k++;
	}
	return k;
}

/* Push the CV of a subtree of n (a power of two) chunks that ends the input so far. */
static void push_subtree_cv(eds_blake3_hasher *h, const eds_blake3_ops *ops, const uint8_t cv[32],
                            uint64_t n)
{
	h->chunk_counter += n;
	/* Counted in subtrees of its size, the stack merges exactly as for chunks,
	 * because the subtree started at a multiple of n. */
	push_chunk_cv(h, ops, cv, h->chunk_counter >> log2_of(n));
}

/*
 * With an empty chunk state and more than a chunk of input, hash the
 * largest whole subtree that starts here (aligned to its size, as the tree
 * requires) straight from the input.  At least one byte is left over: the
 * last chunk may be the root.
 */
static size_t hash_whole_chunks(eds_blake3_hasher *h, const eds_blake3_ops *ops, const uint8_t *in,
                                size_t len)
{
	uint8_t cv[32];
	uint64_t n = 1, fit = (len - 1) / EDS_BLAKE3_CHUNK_LEN;
	while (2 * n <= fit && 2 * n <= SUBTREE_MAX && h->chunk_counter % (2 * n) == 0)
		n *= 2;
	subtree_cv(ops, in, (size_t)n, h->key, h->chunk_counter, h->flags, cv);
	push_subtree_cv(h, ops, cv, n);
	return (size_t)n * EDS_BLAKE3_CHUNK_LEN;
}

/* ---- for blake3_parallel.c (blake3_impl.h) -------------------------------------------- */

void eds_blake3_subtree_cv(const eds_blake3_ops *ops, const uint8_t *in, uint64_t n,
                           const uint32_t key[8], uint64_t counter, uint8_t flags, uint8_t out[32])
{
	if (n <= SUBTREE_MAX) {
		subtree_cv(ops, in, (size_t)n, key, counter, flags, out);
		return;
	}
	/* A bigger subtree: its SUBTREE_MAX-chunk parts through a private CV stack,
	 * which ends with the one CV because n is a power of two. */
	eds_blake3_hasher t;
	hasher_init_base(&t, key, flags);
	for (uint64_t j = 0; j < n / SUBTREE_MAX; j++) {
		uint8_t cv[32];
		subtree_cv(ops, in + j * SUBTREE_MAX * EDS_BLAKE3_CHUNK_LEN, SUBTREE_MAX, key,
		           counter + j * SUBTREE_MAX, flags, cv);
		push_chunk_cv(&t, ops, cv, j + 1);
	}
	memcpy(out, t.cv_stack, 32);
}

void eds_blake3_push_subtree(eds_blake3_hasher *h, const uint8_t cv[32], uint64_t n)
{
	push_subtree_cv(h, eds_blake3_active_ops(), cv, n);
}

size_t eds_blake3_update_to_boundary(eds_blake3_hasher *h, const uint8_t *in, size_t len,
                                     uint64_t n)
{
	uint64_t done = h->chunk_counter * EDS_BLAKE3_CHUNK_LEN + chunk_len(h);
	uint64_t unit = n * EDS_BLAKE3_CHUNK_LEN;
	uint64_t need = (unit - done % unit) % unit;
	size_t take = need < len ? (size_t)need : len;
	eds_blake3_update(h, in, take);
	/* At the boundary a full chunk is still open; more input follows, so
	 * it is not the root and can be closed. */
	if (take < len && chunk_len(h) == EDS_BLAKE3_CHUNK_LEN)
		finish_chunk(h, eds_blake3_active_ops());
	return take;
}

uint64_t eds_blake3_absorbed(const eds_blake3_hasher *h)
{
	return h->chunk_counter * EDS_BLAKE3_CHUNK_LEN + chunk_len(h);
}

/* ---- public API ------------------------------------------------------------------ */

void eds_blake3_init(eds_blake3_hasher *h)
{
	hasher_init_base(h, eds_blake3_iv, 0);
}

void eds_blake3_init_keyed(eds_blake3_hasher *h, const uint8_t key[EDS_BLAKE3_KEY_LEN])
{
	uint32_t words[8];
	words_from_bytes(words, key);
	hasher_init_base(h, words, B3_KEYED_HASH);
}

void eds_blake3_init_derive_key_raw(eds_blake3_hasher *h, const void *ctx, size_t ctx_len)
{
	eds_blake3_hasher ch;
	uint8_t ctx_key[32];
	uint32_t words[8];

	hasher_init_base(&ch, eds_blake3_iv, B3_DERIVE_KEY_CONTEXT);
	eds_blake3_update(&ch, ctx, ctx_len);
	eds_blake3_finalize(&ch, ctx_key, sizeof ctx_key);
	words_from_bytes(words, ctx_key);
	hasher_init_base(h, words, B3_DERIVE_KEY_MATERIAL);
}

void eds_blake3_init_derive_key(eds_blake3_hasher *h, const char *context)
{
	eds_blake3_init_derive_key_raw(h, context, strlen(context));
}

void eds_blake3_update(eds_blake3_hasher *h, const void *in, size_t len)
{
	const eds_blake3_ops *ops = eds_blake3_active_ops();
	const uint8_t *p = in;
	while (len > 0) {
		size_t n;
		if (chunk_len(h) == EDS_BLAKE3_CHUNK_LEN)
			finish_chunk(h, ops);
		if (chunk_len(h) == 0 && len > EDS_BLAKE3_CHUNK_LEN)
			n = hash_whole_chunks(h, ops, p, len);
		else
			n = chunk_update(h, ops, p, len);
		p += n;
		len -= n;
	}
}

void eds_blake3_finalize_seek(const eds_blake3_hasher *h, uint64_t seek, uint8_t *out,
                              size_t out_len)
{
	const eds_blake3_ops *ops = eds_blake3_active_ops();
	output_node o = chunk_output(h);
	for (size_t i = h->cv_stack_len; i > 0; i--) {
		uint8_t block[64];
		memcpy(block, h->cv_stack + 32 * (i - 1), 32);
		output_cv(ops, &o, block + 32);
		o = parent_output(block, h->key, h->flags);
	}

	uint64_t counter = seek / 64;
	size_t offset = (size_t)(seek % 64);
	while (out_len > 0) {
		uint8_t block[64];
		ops->compress_xof(o.cv, o.block, o.block_len, counter, o.flags | B3_ROOT, block);
		size_t take = 64 - offset;
		if (take > out_len)
			take = out_len;
		memcpy(out, block + offset, take);
		out += take;
		out_len -= take;
		offset = 0;
		counter++;
	}
}

void eds_blake3_finalize(const eds_blake3_hasher *h, uint8_t *out, size_t out_len)
{
	eds_blake3_finalize_seek(h, 0, out, out_len);
}

void eds_blake3(uint8_t out[EDS_BLAKE3_OUT_LEN], const void *in, size_t len)
{
	/* One block is the whole tree: its root compression needs no hasher
	 * (setting one up and copying the block twice cost about a third of a
	 * 64-byte hash), and the first 32 output bytes are the new CV. */
	if (len <= EDS_BLAKE3_BLOCK_LEN) {
		uint8_t block[EDS_BLAKE3_BLOCK_LEN];
		uint32_t cv[8];
		const uint8_t *b = in;
		if (len < EDS_BLAKE3_BLOCK_LEN) { /* a full block is read in place */
			memset(block, 0, sizeof block);
			if (len > 0)
				memcpy(block, in, len);
			b = block;
		}
		memcpy(cv, eds_blake3_iv, sizeof cv);
		eds_blake3_active_ops()->compress_in_place(cv, b, (uint8_t)len, 0,
		                                           B3_CHUNK_START | B3_CHUNK_END | B3_ROOT);
		bytes_from_words(out, cv);
		return;
	}
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	eds_blake3_update(&h, in, len);
	eds_blake3_finalize(&h, out, EDS_BLAKE3_OUT_LEN);
}

eds_status eds_blake3_update_fd(eds_blake3_hasher *h, int fd, const char *name, uint64_t *size)
{
	/* 16 KiB: a syscall per 16 chunks costs little next to hashing them,
	 * and keeps the frame small for threads with modest stacks. */
	uint8_t buf[16384];
	uint64_t total = 0;

	if (h == NULL || name == NULL || fd < 0)
		return eds_fail(EDS_E_ARG, "blake3: NULL argument or bad descriptor");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eds_fail(EDS_E_IO, "%s: %s", name, strerror(errno));
		if (n == 0)
			break;
		eds_blake3_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (size != NULL)
		*size = total;
	return EDS_OK;
}

eds_status eds_blake3_update_file(eds_blake3_hasher *h, const char *path, uint64_t *size)
{
	if (h == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "blake3: NULL argument");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	eds_status st = eds_blake3_update_fd(h, fd, path, size);
	close(fd);
	return st;
}

eds_status eds_blake3_file(uint8_t out[EDS_BLAKE3_OUT_LEN], const char *path, uint64_t *size)
{
	eds_blake3_hasher h;

	if (out == NULL)
		return eds_fail(EDS_E_ARG, "blake3: NULL argument");
	eds_blake3_init(&h);
	/* One thread, but large files in 1 MiB reads hashed as wide subtrees. */
	eds_status st = eds_blake3_update_file_parallel(&h, path, 1, size);
	if (st == EDS_OK)
		eds_blake3_finalize(&h, out, EDS_BLAKE3_OUT_LEN);
	return st;
}
