/*
 * fileio.c - small-file reading and durable writes shared by keys, registry
 * and payload store.  Durability (temp file, fsync, rename, fsync of the
 * directory) is what makes "stored" mean stored across a power cut.
 */
#define _XOPEN_SOURCE 700 /* nftw (with _DEFAULT_SOURCE from the build) */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

eds_status eds_read_file(const char *path, size_t max, char **out, size_t *len)
{
	return eds_read_file_mode(path, max, out, len, NULL);
}

eds_status eds_read_file_mode(const char *path, size_t max, char **out, size_t *len, unsigned *mode)
{
	struct stat st;
	if (path == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "read file: NULL argument");
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused as not regular below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return eds_fail(errno == ENOENT ? EDS_E_NOT_FOUND : EDS_E_IO, "%s: %s", path,
		                strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return eds_fail(EDS_E_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return eds_fail(EDS_E_LIMIT, "%s: %lld bytes, limit is %zu", path,
		                (long long)st.st_size, max);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return eds_fail(EDS_E_NOMEM, "%s: out of memory", path);
	}
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + n, (size_t)st.st_size - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (n != (size_t)st.st_size) {
		free(buf);
		return eds_fail(EDS_E_IO, "%s: short read", path);
	}
	buf[n] = '\0';
	*out = buf;
	if (mode != NULL)
		*mode = (unsigned)st.st_mode & 07777u;
	if (len != NULL)
		*len = n;
	return EDS_OK;
}

static eds_status write_all(int fd, const void *data, size_t len, const char *path)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return EDS_OK;
}

eds_status eds_write_all(int fd, const void *data, size_t len, const char *path)
{
	return write_all(fd, data, len, path);
}

eds_status eds_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", dir, strerror(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc != 0)
		return eds_fail(EDS_E_IO, "fsync %s: %s", dir, strerror(e));
	return EDS_OK;
}

typedef struct mem_source {
	const void *data;
	size_t len;
} mem_source;

static eds_status write_mem(int fd, void *ctx, const char *tmp_path)
{
	const mem_source *m = ctx;
	return write_all(fd, m->data, m->len, tmp_path);
}

eds_status eds_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	mem_source m = {data, len};
	if (path == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "write file: NULL argument");
	return eds_write_file_atomic_fn(path, mode, write_mem, &m);
}

eds_status eds_write_file_atomic_fn(const char *path, unsigned mode, eds_write_fn fill, void *ctx)
{
	char tmp[PATH_MAX];
	if (path == NULL || fill == NULL)
		return eds_fail(EDS_E_ARG, "write file: NULL argument");
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return eds_fail(EDS_E_LIMIT, "%s: path too long", path);
	int fd = mkstemp(tmp);
	if (fd < 0) /* the name asked for: the temporary one is ours, not the user's */
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	eds_status st = EDS_OK;
	if (fchmod(fd, (mode_t)mode) != 0)
		st = eds_fail(EDS_E_IO, "%s: %s", tmp, strerror(errno));
	if (st == EDS_OK)
		st = fill(fd, ctx, tmp);
	if (st == EDS_OK && fsync(fd) != 0)
		st = eds_fail(EDS_E_IO, "fsync %s: %s", tmp, strerror(errno));
	close(fd);
	if (st == EDS_OK && rename(tmp, path) != 0)
		st = eds_fail(EDS_E_IO, "rename to %s: %s", path, strerror(errno));
	if (st != EDS_OK) {
		unlink(tmp);
		return st;
	}
	return eds_fsync_dir_of(path);
}

eds_status eds_write_file_new(const char *path, const void *data, size_t len, unsigned mode)
{
	if (path == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "write file: NULL argument");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return eds_fail(errno == EEXIST ? EDS_E_EXISTS : EDS_E_IO, "%s: %s", path,
		                errno == EEXIST ? "already exists, refusing to overwrite it"
		                                : strerror(errno));
	/* The umask may have removed bits from mode; the caller asked for exactly mode. */
	eds_status st = EDS_OK;
	if (fchmod(fd, (mode_t)mode) != 0)
		st = eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	if (st == EDS_OK)
		st = write_all(fd, data, len, path);
	if (st == EDS_OK && fsync(fd) != 0)
		st = eds_fail(EDS_E_IO, "fsync %s: %s", path, strerror(errno));
	if (close(fd) != 0 && st == EDS_OK)
		st = eds_fail(EDS_E_IO, "close %s: %s", path, strerror(errno));
	if (st != EDS_OK) {
		unlink(path);
		return st;
	}
	return eds_fsync_dir_of(path);
}

eds_status eds_lock_exclusive(const char *path, int oflags, const char *what, const char *why,
                              int *fd)
{
	*fd = open(path, oflags | O_CLOEXEC, 0600);
	if (*fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return EDS_OK;
	int err = errno;
	close(*fd);
	*fd = -1;
	if (err == EWOULDBLOCK)
		return eds_fail(EDS_E_EXISTS, "%s in use by another process (%s)", what, why);
	return eds_fail(EDS_E_IO, "%s: lock: %s", path, strerror(err));
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

int eds_remove_tree(const char *dir)
{
	/* FTW_PHYS: a symlink inside is removed, never followed out of dir. */
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
