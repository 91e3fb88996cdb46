/*
 * internal.h - helpers shared by the library's own files; not installed.
 */
#ifndef EDS_CORE_INTERNAL_H
#define EDS_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

#if defined(__GNUC__) || defined(__clang__)
#define EDS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EDS_PRINTF(f, a)
#endif

/**
 * v as 8 bytes, most significant first, at p: the byte order of every
 * signed or hashed encoding of the project (ESR1 header, update manifests,
 * the operation-log chain).
 */
static inline void eds_put_u64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/**
 * Whether p[0..n) is all zero bytes: how the formats write "no hash" (a
 * first record's prev_hash, an unknown record_hash, an empty log's head).
 * No early exit, so it takes the same time for any content.
 */
static inline bool eds_is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/**
 * Record a failure detail for eds_last_error() and return status, so a
 * failing path reads `return eds_fail(EDS_E_FIELD, "record.sequence: ...")`.
 */
eds_status eds_fail(eds_status status, const char *fmt, ...) EDS_PRINTF(2, 3);

/**
 * Prefix the current detail with "prefix: " (e.g. a file name and line) and
 * return status unchanged.
 */
eds_status eds_fail_prefix(eds_status status, const char *fmt, ...) EDS_PRINTF(2, 3);

/**
 * Check a device id against FORMAT.md 1.1: 1..EDS_DEVICE_ID_MAX bytes of
 * A-Z a-z 0-9 . _ : -, and not "." or "..".  Errors: EDS_E_FIELD.
 */
eds_status eds_device_id_check(const char *id, size_t len);

struct json_t;

/**
 * Whether JSON object o has exactly the n members names (what names it in
 * messages, e.g. "checkpoint"): a missing one is "WHAT.NAME: required", any
 * other member "WHAT: unknown member (it has exactly: A, B, ...)".  For
 * readers of fixed-shape objects.  Errors: EDS_E_MALFORMED.
 */
eds_status eds_json_exact_members(struct json_t *o, const char *what, const char *const *names,
                                  size_t n);

/** Read a whole (small) file into a new NUL-terminated buffer of at most max bytes. */
eds_status eds_read_file(const char *path, size_t max, char **out, size_t *len);

/**
 * eds_read_file that also gives the permission bits (st_mode & 07777) of the
 * file it read, taken from the same open file (no stat-then-open race).
 */
eds_status eds_read_file_mode(const char *path, size_t max, char **out, size_t *len,
                              unsigned *mode);

/**
 * Write data to a new file: created with O_EXCL (an existing file or symlink
 * is never replaced: EDS_E_EXISTS), chmod to exactly mode, fsynced, then the
 * directory fsynced.  A partly written file is removed.
 */
eds_status eds_write_file_new(const char *path, const void *data, size_t len, unsigned mode);

/** Write data to path atomically: temp file in the same directory, fsync, rename, fsync dir. */
eds_status eds_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/*
 * Whether open file fd (path names it in messages) is a regular file of
 * size bytes whose BLAKE3 is hash: the check of eds_payload_check for a
 * file already open.  Errors: EDS_E_IO (not a regular file, read error),
 * EDS_E_PAYLOAD_MISMATCH (size or hash).
 */
eds_status eds_payload_check_fd(int fd, const char *path, const uint8_t hash[32], uint64_t size);

/*
 * Copy the file src_path into the payload root as the payload hash of size
 * bytes, in one pass (hashed while copied, durable on return as
 * eds_payload_put_file; an identical file already there is kept).  A
 * source that is not those bytes leaves nothing under the name: EDS_E_NOT_FOUND
 * (missing), EDS_E_PAYLOAD_MISMATCH (not a regular file, another size or
 * hash, unreadable).  Other errors (EDS_E_IO, EDS_E_LIMIT) are root's.
 */
eds_status eds_payload_put_file_as(const char *root, const char *src_path, const uint8_t hash[32],
                                   uint64_t size);

/**
 * Open path (oflags as for open(2); O_CLOEXEC is added) and take an
 * exclusive flock on it without waiting, for "one process at a time"
 * resources.  The lock lives as long as *fd stays open and dies with the
 * process, so kill -9 leaves nothing stale.  what names the resource and
 * why the rule, in the message when another open file holds the lock.
 * Errors: EDS_E_EXISTS (held elsewhere: "<what> in use by another process
 * (<why>)"), EDS_E_IO.
 */
eds_status eds_lock_exclusive(const char *path, int oflags, const char *what, const char *why,
                              int *fd);

/** fsync the directory containing path (or the directory itself when is_dir). */
eds_status eds_fsync_dir_of(const char *path);

/**
 * Room for need elements of elem bytes in the array *v of capacity *cap
 * (in elements): doubled from 16 (or from *cap) until it fits, *v and *cap
 * updated.  On failure *v is unchanged.  Errors: EDS_E_NOMEM ("WHAT: out
 * of memory").
 */
eds_status eds_grow(void **v, size_t *cap, size_t need, size_t elem, const char *what);

/** Remove dir with everything in it (symlinks removed, not followed); 0, or -1 with errno. */
int eds_remove_tree(const char *dir);

#ifdef __clang_analyzer__
/*
 * The analyzer sees one file at a time and cannot know that eds_fail returns
 * its (negative) status, so it explores "failed, yet returned EDS_OK" paths
 * and reports out-parameters as uninitialised: make the value visible to it.
 * (Defined after the declarations, which the macros would otherwise rename.)
 */
#define eds_fail(status, ...)        (eds_fail((status), __VA_ARGS__), (status))
#define eds_fail_prefix(status, ...) (eds_fail_prefix((status), __VA_ARGS__), (status))
#endif

/**
 * True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF).
 */
int eds_utf8_valid(const char *s, size_t len);

/** True when s[0..len) contains a C0 control character or DEL (U+0000..U+001F, U+007F). */
int eds_has_control(const char *s, size_t len);

/**
 * Make the text s one printable line in place, for messages that quote
 * outside text (paths, keys, flag values, parser excerpts) and are printed
 * as one line or put into JSON: a trailing UTF-8 sequence cut short by a
 * size limit (snprintf) is dropped whole, then control bytes and bytes
 * that are not well-formed UTF-8 become '?'.
 */
void eds_one_line(char *s);

/** Write all of data[0..len) to fd, retrying short writes; path names fd in errors. */
eds_status eds_write_all(int fd, const void *data, size_t len, const char *path);

/** Writes a new file's contents to fd (tmp_path names it in errors). */
typedef eds_status (*eds_write_fn)(int fd, void *ctx, const char *tmp_path);

/**
 * eds_write_file_atomic with the contents produced by fill (e.g. streamed
 * from another file): temp file, fill, fsync, rename, fsync dir.  When fill
 * fails the temp file is removed and path is untouched.
 */
eds_status eds_write_file_atomic_fn(const char *path, unsigned mode, eds_write_fn fill, void *ctx);

#endif
