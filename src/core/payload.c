/*
 * payload.c - the content-addressed payload directory (FORMAT.md section 3):
 * <root>/<h[0..2]>/<h[2..64]>, h the lowercase hex BLAKE3 of the bytes.
 *
 * Writes go through eds_write_file_atomic(_fn), so a payload file is either
 * absent or complete and durable; new directories are fsynced into their
 * parents for the same reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"
#include "edgesentry/encoding.h"
#include "edgesentry/payload.h"
#include "internal.h"

#define HASH_LEN EDS_BLAKE3_OUT_LEN

eds_status eds_payload_path(char *buf, size_t cap, const char *root, const uint8_t hash[32])
{
	char hex[2 * HASH_LEN + 1];
	if (buf == NULL || root == NULL || hash == NULL || root[0] == '\0')
		return eds_fail(EDS_E_ARG, "payload path: NULL or empty argument");
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	eds_hex_encode(hex, hash, HASH_LEN);
	int n = snprintf(buf, cap, "%.*s/%.2s/%s", (int)rl, root, hex, hex + 2);
	if (n < 0 || (size_t)n >= cap)
		return eds_fail(EDS_E_LIMIT, "payload path: %.*s/...: longer than %zu bytes",
		                (int)rl, root, cap);
	return EDS_OK;
}

/* mkdir dir unless it exists; a new directory is fsynced into its parent. */
static eds_status ensure_dir(const char *dir)
{
	struct stat sb;
	if (mkdir(dir, 0755) == 0)
		return eds_fsync_dir_of(dir);
	int e = errno;
	if (e == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return EDS_OK;
	return eds_fail(EDS_E_IO, "%s: %s", dir, e == EEXIST ? "not a directory" : strerror(e));
}

/* Create <root> and <root>/<h[0..2]> as needed; path is the payload's path. */
static eds_status ensure_dirs(const char *path)
{
	char dir[PATH_MAX];
	/* path is "<root>/xx/<62 hex>": the subdirectory ends 63 bytes before its end. */
	size_t sub_len = strlen(path) - (2 * HASH_LEN - 2) - 1;
	size_t root_len = sub_len - 3;
	if (sub_len >= sizeof dir)
		return eds_fail(EDS_E_LIMIT, "%s: path too long", path);
	memcpy(dir, path, root_len);
	dir[root_len] = '\0';
	eds_status st = ensure_dir(dir);
	if (st != EDS_OK)
		return st;
	memcpy(dir, path, sub_len);
	dir[sub_len] = '\0';
	return ensure_dir(dir);
}

eds_status eds_payload_check_fd(int fd, const char *path, const uint8_t hash[32], uint64_t size)
{
	uint8_t actual[HASH_LEN];
	uint64_t actual_size = 0;
	struct stat sb;
	eds_blake3_hasher h;
	eds_status st;
	if (fstat(fd, &sb) != 0)
		return eds_fail(EDS_E_IO, "payload %s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return eds_fail(EDS_E_IO, "payload %s: not a regular file", path);
	if ((uint64_t)sb.st_size != size)
		return eds_fail(EDS_E_PAYLOAD_MISMATCH,
		                "payload %s: size differs: %llu bytes, the record says %llu", path,
		                (unsigned long long)sb.st_size, (unsigned long long)size);
	eds_blake3_init(&h);
	if ((st = eds_blake3_update_regular_fd(&h, fd, path, size, 1, &actual_size)) != EDS_OK)
		return st;
	eds_blake3_finalize(&h, actual, HASH_LEN);
	if (actual_size != size || memcmp(actual, hash, HASH_LEN) != 0) {
		char want[2 * HASH_LEN + 1], got[2 * HASH_LEN + 1];
		eds_hex_encode(want, hash, HASH_LEN);
		eds_hex_encode(got, actual, HASH_LEN);
		return eds_fail(EDS_E_PAYLOAD_MISMATCH,
		                "payload %s: hash differs: contents hash to %s, expected %s", path,
		                got, want);
	}
	return EDS_OK;
}

eds_status eds_payload_check(const char *root, const uint8_t hash[32], uint64_t size)
{
	char path[PATH_MAX];
	eds_status st = eds_payload_path(path, sizeof path, root, hash);
	if (st != EDS_OK)
		return st;
	/* O_NONBLOCK: a FIFO under the name must not block the open. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return eds_fail(errno == ENOENT ? EDS_E_NOT_FOUND : EDS_E_IO, "payload %s: %s",
		                path, errno == ENOENT ? "missing" : strerror(errno));
	st = eds_payload_check_fd(fd, path, hash, size);
	close(fd);
	return st;
}

/*
 * Prepare storing a payload of known hash and size: fills path and returns
 * EDS_DONE when an identical file is already there (kept, not rewritten).
 * A damaged file under the name is replaced.
 */
static eds_status prepare(const char *root, const uint8_t hash[32], uint64_t size, char *path,
                          size_t cap)
{
	eds_status st = eds_payload_path(path, cap, root, hash);
	if (st != EDS_OK)
		return st;
	if (eds_payload_check(root, hash, size) == EDS_OK)
		return EDS_DONE;
	return ensure_dirs(path);
}

eds_status eds_payload_put(const char *root, const uint8_t *data, size_t len, uint8_t hash_out[32])
{
	char path[PATH_MAX];
	uint8_t hash[HASH_LEN];
	if (root == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "payload put: NULL argument");
	eds_blake3(hash, data, len);
	eds_status st = prepare(root, hash, (uint64_t)len, path, sizeof path);
	if (st == EDS_OK)
		st = eds_write_file_atomic(path, data, len, 0644);
	if (st == EDS_DONE)
		st = EDS_OK;
	if (st == EDS_OK && hash_out != NULL)
		memcpy(hash_out, hash, HASH_LEN);
	return st;
}

typedef struct copy_job {
	const char *src;
	int in;                 /* src, open */
	uint8_t hash[HASH_LEN]; /* what its bytes must hash to */
	uint64_t size;          /* and how many there must be */
	eds_status src_fail;    /* the status of a source that is not those bytes */
	const char *why;        /* and the words */
} copy_job;

static eds_status source_differs(const copy_job *job)
{
	return eds_fail(job->src_fail, "%s: %s", job->src, job->why);
}

/* Open job->src: a regular file of job->size bytes, else nothing is written. */
static eds_status open_source(copy_job *job)
{
	struct stat sb;
	job->in = open(job->src, O_RDONLY | O_CLOEXEC);
	if (job->in < 0) {
		int e = errno;
		return eds_fail(e == ENOENT ? EDS_E_NOT_FOUND : job->src_fail, "%s: %s", job->src,
		                strerror(e));
	}
	if (fstat(job->in, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != job->size) {
		close(job->in);
		job->in = -1;
		return source_differs(job);
	}
	return EDS_OK;
}

/* The copy, hashed on the way: the file is named before its bytes are read. */
static eds_status copy_into(int out, void *ctx, const char *tmp_path)
{
	const copy_job *job = ctx;
	uint8_t buf[32768], hash[HASH_LEN];
	uint64_t total = 0;
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	for (;;) {
		ssize_t n = read(job->in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eds_fail(job->src_fail, "%s: %s", job->src, strerror(errno));
		if (n == 0)
			break;
		eds_blake3_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
		eds_status st = eds_write_all(out, buf, (size_t)n, tmp_path);
		if (st != EDS_OK)
			return st;
	}
	eds_blake3_finalize(&h, hash, HASH_LEN);
	if (total != job->size || memcmp(hash, job->hash, HASH_LEN) != 0)
		return source_differs(job);
	return EDS_OK;
}

/* job->src into root under job->hash, unless an identical file is there. */
static eds_status put_source(const char *root, copy_job *job)
{
	char path[PATH_MAX];
	eds_status st = prepare(root, job->hash, job->size, path, sizeof path);
	if (st == EDS_OK)
		st = open_source(job);
	if (st == EDS_OK) {
		st = eds_write_file_atomic_fn(path, 0644, copy_into, job);
		close(job->in);
	}
	return st == EDS_DONE ? EDS_OK : st;
}

eds_status eds_payload_put_file(const char *root, const char *src_path, uint8_t hash_out[32],
                                uint64_t *size_out)
{
	if (root == NULL || src_path == NULL)
		return eds_fail(EDS_E_ARG, "payload put: NULL argument");
	/* The first pass names the file; the copy must then be those bytes. */
	copy_job job = {src_path, -1, {0}, 0, EDS_E_IO, "changed while it was being copied"};
	eds_status st = eds_blake3_file(job.hash, src_path, &job.size);
	if (st == EDS_OK)
		st = put_source(root, &job);
	if (st == EDS_OK && hash_out != NULL)
		memcpy(hash_out, job.hash, HASH_LEN);
	if (st == EDS_OK && size_out != NULL)
		*size_out = job.size;
	return st;
}

eds_status eds_payload_put_file_as(const char *root, const char *src_path, const uint8_t hash[32],
                                   uint64_t size)
{
	if (root == NULL || src_path == NULL || hash == NULL)
		return eds_fail(EDS_E_ARG, "payload put: NULL argument");
	copy_job job = {src_path,
	                -1,
	                {0},
	                size,
	                EDS_E_PAYLOAD_MISMATCH,
	                "not the payload its name says (size or hash differ)"};
	memcpy(job.hash, hash, HASH_LEN);
	return put_source(root, &job);
}
