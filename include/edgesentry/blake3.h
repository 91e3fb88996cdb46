/*
 * edgesentry/blake3.h - the BLAKE3 hash, written from the BLAKE3 specification.
 *
 * Modes: hash, keyed hash, derive-key; output of any length (XOF).
 * The hasher is a plain struct so firmware can keep it on the stack; its
 * fields are private.  A hasher is not thread-safe; distinct hashers are.
 * Hashing never allocates and never fails for valid arguments.
 */
#ifndef EDGESENTRY_BLAKE3_H
#define EDGESENTRY_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDS_BLAKE3_OUT_LEN   32
#define EDS_BLAKE3_KEY_LEN   32
#define EDS_BLAKE3_BLOCK_LEN 64
#define EDS_BLAKE3_CHUNK_LEN 1024
#define EDS_BLAKE3_MAX_DEPTH 54

/** Streaming state.  Private fields: use only through the functions. */
typedef struct eds_blake3_hasher {
	uint32_t key[8];
	uint32_t cv[8]; /* chaining value of the current chunk */
	uint64_t chunk_counter;
	uint8_t buf[EDS_BLAKE3_BLOCK_LEN];
	uint8_t buf_len;
	uint8_t blocks_compressed;
	uint8_t flags;
	uint8_t cv_stack_len;
	/* one slot above the deepest tree (2^64 bytes): a new CV is put on
	 * top before it merges with those below */
	uint8_t cv_stack[(EDS_BLAKE3_MAX_DEPTH + 1) * EDS_BLAKE3_OUT_LEN];
} eds_blake3_hasher;

/** Start a plain hash. */
void eds_blake3_init(eds_blake3_hasher *h);

/** Start a keyed hash (MAC) with a 32-byte key. */
void eds_blake3_init_keyed(eds_blake3_hasher *h, const uint8_t key[EDS_BLAKE3_KEY_LEN]);

/** Start derive-key mode with a context string (NUL-terminated). */
void eds_blake3_init_derive_key(eds_blake3_hasher *h, const char *context);

/** Start derive-key mode with a context of ctx_len raw bytes. */
void eds_blake3_init_derive_key_raw(eds_blake3_hasher *h, const void *ctx, size_t ctx_len);

/** Absorb len bytes.  May be called any number of times with any sizes. */
void eds_blake3_update(eds_blake3_hasher *h, const void *in, size_t len);

/**
 * Write out_len bytes of output (any length; 32 is the default hash).
 * Does not modify the hasher: more input may follow and finalize may be
 * called again.
 */
void eds_blake3_finalize(const eds_blake3_hasher *h, uint8_t *out, size_t out_len);

/** Like eds_blake3_finalize but starting at byte offset seek of the XOF. */
void eds_blake3_finalize_seek(const eds_blake3_hasher *h, uint64_t seek, uint8_t *out,
                              size_t out_len);

/** One-shot 32-byte hash of in[0..len). */
void eds_blake3(uint8_t out[EDS_BLAKE3_OUT_LEN], const void *in, size_t len);

/**
 * Absorb everything readable from fd until end of file (a pipe, a socket
 * or a file).  name is only used in the error detail.  When size is not
 * NULL it receives the byte count on success.  On error the hasher holds
 * the bytes read so far.  Reads through a 16 KiB stack buffer.
 * Errors: EDS_E_ARG, EDS_E_IO (detail names name).
 */
eds_status eds_blake3_update_fd(eds_blake3_hasher *h, int fd, const char *name, uint64_t *size);

/**
 * Absorb the whole file at path in constant memory.  size as for
 * eds_blake3_update_fd.  Errors: EDS_E_ARG, EDS_E_IO (detail names path;
 * a directory is EISDIR).
 */
eds_status eds_blake3_update_file(eds_blake3_hasher *h, const char *path, uint64_t *size);

/**
 * Hash a whole file in constant memory (a 1 MiB heap buffer for a regular
 * file over 2 MiB, read on the calling thread).  Errors: EDS_E_ARG, EDS_E_IO
 * (detail names the path).  When size is not NULL it receives the byte count.
 */
eds_status eds_blake3_file(uint8_t out[EDS_BLAKE3_OUT_LEN], const char *path, uint64_t *size);

/**
 * eds_blake3_update for large inputs on `threads` threads (0: one per
 * online CPU; 1: plain eds_blake3_update).  BLAKE3's tree makes aligned
 * 1 MiB subtrees independent, so they are hashed in parallel and joined in
 * order: the hasher ends exactly as after eds_blake3_update.  Inputs under
 * about 3 MiB run on the caller alone.  Starts (and ends) its threads per
 * call.  Errors: EDS_E_ARG, EDS_E_NOMEM, EDS_E_IO (threads could not start);
 * on error the hasher is unusable.
 */
eds_status eds_blake3_update_parallel(eds_blake3_hasher *h, const void *in, size_t len,
                                      unsigned threads);

/**
 * eds_blake3_update_file on `threads` threads (0: one per online CPU): a
 * regular file over 2 MiB is read with pread in 1 MiB subtrees by each
 * thread (64 MiB per round, one 1 MiB buffer per thread range) into
 * a hasher that has absorbed nothing yet (threads 1: by the caller alone,
 * still in 1 MiB reads, faster than eds_blake3_update_file's 16 KiB);
 * anything else (a pipe, a small file, a hasher with input) is read as
 * eds_blake3_update_file does.  The file is hashed up to the size it had when opened.  size as
 * there.  Errors: EDS_E_ARG, EDS_E_NOMEM, EDS_E_IO (detail names path; a
 * file that shrinks while hashed is an error).
 */
eds_status eds_blake3_update_file_parallel(eds_blake3_hasher *h, const char *path, unsigned threads,
                                           uint64_t *size);

/** Name of the compression back end in use ("portable", later "sse41", "avx2"). */
const char *eds_blake3_backend(void);

#ifdef __cplusplus
}
#endif
#endif
