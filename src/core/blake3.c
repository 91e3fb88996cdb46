/*
 * blake3.c - BLAKE3 streaming hash: chunk state, the chaining-value stack
 * that builds the binary tree incrementally, and root output (XOF).
 *
 * Follows section 5.1 of the BLAKE3 specification: a completed chunk is
 * only turned into a chaining value when more input arrives, because the
 * last chunk (or the last parent) must be compressed with the ROOT flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"
#include "internal.h"

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
	for (int i = 0; i < 8; i++) {
		b[4 * i] = (uint8_t)w[i];
		b[4 * i + 1] = (uint8_t)(w[i] >> 8);
		b[4 * i + 2] = (uint8_t)(w[i] >> 16);
		b[4 * i + 3] = (uint8_t)(w[i] >> 24);
	}
}

static void hasher_init_base(eds_blake3_hasher *h, const uint32_t key[8], uint8_t flags)
{
	memset(h, 0, sizeof *h);
	memcpy(h->key, key, sizeof h->key);
	memcpy(h->cv, key, sizeof h->cv);
	h->flags = flags;
}

static void chunk_reset(eds_blake3_hasher *h, uint64_t counter)
{
	memcpy(h->cv, h->key, sizeof h->cv);
	h->chunk_counter = counter;
	h->buf_len = 0;
	h->blocks_compressed = 0;
	memset(h->buf, 0, sizeof h->buf);
}

static size_t chunk_len(const eds_blake3_hasher *h)
{
	return (size_t)EDS_BLAKE3_BLOCK_LEN * h->blocks_compressed + h->buf_len;
}

static uint8_t chunk_start_flag(const eds_blake3_hasher *h)
{
	return h->blocks_compressed == 0 ? B3_CHUNK_START : 0;
}

static void chunk_update(eds_blake3_hasher *h, const uint8_t *in, size_t len)
{
	while (len > 0) {
		if (h->buf_len == EDS_BLAKE3_BLOCK_LEN) {
			eds_blake3_compress_in_place_portable(h->cv, h->buf, EDS_BLAKE3_BLOCK_LEN,
			                                      h->chunk_counter,
			                                      h->flags | chunk_start_flag(h));
			h->blocks_compressed++;
			h->buf_len = 0;
			memset(h->buf, 0, sizeof h->buf);
		}
		size_t take = EDS_BLAKE3_BLOCK_LEN - h->buf_len;
		if (take > len)
			take = len;
		memcpy(h->buf + h->buf_len, in, take);
		h->buf_len = (uint8_t)(h->buf_len + take);
		in += take;
		len -= take;
	}
}

static output_node chunk_output(const eds_blake3_hasher *h)
{
	output_node o;
	memcpy(o.cv, h->cv, sizeof o.cv);
	memcpy(o.block, h->buf, sizeof o.block);
	o.counter = h->chunk_counter;
	o.block_len = h->buf_len;
	o.flags = h->flags | chunk_start_flag(h) | B3_CHUNK_END;
	return o;
}

static output_node parent_output(const uint8_t left[32], const uint8_t right[32],
                                 const uint32_t key[8], uint8_t flags)
{
	output_node o;
	memcpy(o.cv, key, sizeof o.cv);
	memcpy(o.block, left, 32);
	memcpy(o.block + 32, right, 32);
	o.counter = 0;
	o.block_len = EDS_BLAKE3_BLOCK_LEN;
	o.flags = flags | B3_PARENT;
	return o;
}

static void output_cv(const output_node *o, uint8_t out[32])
{
	uint32_t cv[8];
	memcpy(cv, o->cv, sizeof cv);
	eds_blake3_compress_in_place_portable(cv, o->block, o->block_len, o->counter, o->flags);
	bytes_from_words(out, cv);
}

/* Merge completed subtrees: after total_chunks chunks, the stack holds one
 * CV per 1 bit of total_chunks, so merge once per trailing zero bit. */
static void push_chunk_cv(eds_blake3_hasher *h, uint8_t cv[32], uint64_t total_chunks)
{
	while ((total_chunks & 1) == 0) {
		h->cv_stack_len--;
		output_node p = parent_output(h->cv_stack + 32 * h->cv_stack_len, cv, h->key, h->flags);
		output_cv(&p, cv);
		total_chunks >>= 1;
	}
	memcpy(h->cv_stack + 32 * h->cv_stack_len, cv, 32);
	h->cv_stack_len++;
}

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
	const uint8_t *p = in;
	while (len > 0) {
		if (chunk_len(h) == EDS_BLAKE3_CHUNK_LEN) {
			uint8_t cv[32];
			output_node o = chunk_output(h);
			output_cv(&o, cv);
			uint64_t total = h->chunk_counter + 1;
			push_chunk_cv(h, cv, total);
			chunk_reset(h, total);
		}
		size_t take = EDS_BLAKE3_CHUNK_LEN - chunk_len(h);
		if (take > len)
			take = len;
		chunk_update(h, p, take);
		p += take;
		len -= take;
	}
}

void eds_blake3_finalize_seek(const eds_blake3_hasher *h, uint64_t seek, uint8_t *out,
                              size_t out_len)
{
	output_node o = chunk_output(h);
	for (size_t i = h->cv_stack_len; i > 0; i--) {
		uint8_t right[32];
		output_cv(&o, right);
		o = parent_output(h->cv_stack + 32 * (i - 1), right, h->key, h->flags);
	}

	uint64_t counter = seek / 64;
	size_t offset = (size_t)(seek % 64);
	while (out_len > 0) {
		uint8_t block[64];
		eds_blake3_compress_xof_portable(o.cv, o.block, o.block_len, counter,
		                                 o.flags | B3_ROOT, block);
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
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	eds_blake3_update(&h, in, len);
	eds_blake3_finalize(&h, out, EDS_BLAKE3_OUT_LEN);
}

eds_status eds_blake3_file(uint8_t out[EDS_BLAKE3_OUT_LEN], const char *path, uint64_t *size)
{
	uint8_t buf[65536];
	eds_blake3_hasher h;
	uint64_t total = 0;

	if (out == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "blake3: NULL argument");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	eds_blake3_init(&h);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return eds_fail(EDS_E_IO, "%s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		eds_blake3_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	close(fd);
	eds_blake3_finalize(&h, out, EDS_BLAKE3_OUT_LEN);
	if (size != NULL)
		*size = total;
	return EDS_OK;
}

const char *eds_blake3_backend(void)
{
	return "portable";
}
