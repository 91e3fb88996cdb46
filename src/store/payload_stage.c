/*
 * payload_stage.c - the group-commit half of the payload store.
 *
 * eds_payload_put makes each file durable on its own (two fsyncs, about a
 * millisecond each here).  The ingest writer instead stages every payload of
 * a batch (temporary name, rename, no fsync) and then makes them all durable
 * with one syncfs() of the payload file system before the ledger
 * transaction that refers to them commits.  syncfs writes back all dirty
 * data and metadata of that file system, renames and new directories
 * included, and reports write-back errors (Linux >= 5.8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "internal.h"

static eds_status subdir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%s: %s", dir, strerror(errno));
	return EDS_OK;
}

eds_status eds_payload_stage(const char *root, const uint8_t hash[EDS_HASH_LEN],
                             const uint8_t *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	static unsigned long counter;
	if (root == NULL || hash == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "payload stage: NULL argument");
	eds_status st = eds_payload_path(path, sizeof path, root, hash);
	if (st != EDS_OK)
		return st;
	/* Content-addressed: a correct file under the name is already this payload. */
	if (eds_payload_check(root, hash, len) == EDS_OK)
		return EDS_OK;
	if ((st = subdir(path)) != EDS_OK)
		return st;
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lu", path, (long)getpid(),
	         __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", tmp, strerror(errno));
	st = eds_write_all(fd, data, len, tmp);
	if (close(fd) != 0 && st == EDS_OK)
		st = eds_fail(EDS_E_IO, "%s: %s", tmp, strerror(errno));
	if (st == EDS_OK && rename(tmp, path) != 0)
		st = eds_fail(EDS_E_IO, "%s: rename: %s", path, strerror(errno));
	if (st != EDS_OK)
		unlink(tmp);
	return st;
}

eds_status eds_payload_sync(const char *root)
{
	if (root == NULL)
		return eds_fail(EDS_E_ARG, "payload sync: NULL argument");
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", root, strerror(errno));
	int rc = syncfs(fd);
	int e = errno;
	close(fd);
	return rc == 0 ? EDS_OK : eds_fail(EDS_E_IO, "%s: syncfs: %s", root, strerror(e));
}
