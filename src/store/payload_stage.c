/*
 * payload_stage.c - the group-commit half of the payload store.
 *
 * eds_payload_put makes each file durable on its own (two fsyncs, about a
 * millisecond each here).  The ingest writer instead stages every payload of
 * a group (no fsync) and then makes them all durable with one syncfs() of
 * the ledger's file system, which in the same flush also makes the group's
 * ledger transaction durable (eds_ledger_commit_unsynced, eds_ledger_sync).
 * syncfs writes back all dirty data and metadata of that file system, links
 * and new directories included, and reports write-back errors (Linux >= 5.8).
 *
 * Why that is FORMAT.md 3's guarantee (file fsynced, then its directory):
 * those two fsyncs exist so that, before the ack, the file's bytes and inode
 * and the directory block holding its name are on stable storage.  syncfs
 * returns only after every dirty page and inode of the file system - each
 * staged file, each directory block with a new name - has been written and
 * the device cache flushed, so at that point the same blocks are durable,
 * for all files of the group at once, and the ack waits for it.  The price:
 * syncfs also writes back other programs' dirty data on the same file
 * system (keep the ledger on its own).  One flush does not order files
 * before the transaction; the ledger notes the group's payloads until a
 * flush covered them and checks them at start (eds_ledger_recover).
 *
 * Staging writes the bytes into an anonymous O_TMPFILE inode and links it
 * under its final name only when complete: one directory operation per
 * payload instead of create + rename, and no temporary name that a crash
 * could leave behind.  linkat() goes through /proc/self/fd so no privilege is
 * needed; where O_TMPFILE or /proc is missing, the temporary name + rename of
 * FORMAT.md section 3 is used.  Either way a file appears under its final
 * name only complete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h> /* FS_IOC_GETFLAGS, FS_TOPDIR_FL */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "internal.h"
#include "ledger_internal.h"

/* Length of "<root>/xx" inside a payload path "<root>/xx/<62 hex>". */
static size_t dir_len(const char *path)
{
	return (size_t)(strrchr(path, '/') - path);
}

static eds_status subdir(const char *path)
{
	char dir[PATH_MAX];
	size_t n = dir_len(path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%s: %s", dir, strerror(errno));
	return EDS_OK;
}

/*
 * Mark root as the top of a directory hierarchy (chattr +T) before its
 * subdirectories exist.  ext4's Orlov allocator then spreads the 256
 * subdirectories over little-used block groups instead of packing them next
 * to root's parent, and a payload inode is allocated in its directory's
 * group.  That matters on ext4 without a journal: there, each inode
 * allocation steps one by one over every inode of the group freed in the
 * last minutes (recently_deleted()), and a busy parent such as /var/tmp can
 * hold thousands: perf showed 45 % of all ingest CPU time in that scan.
 * Only a placement hint: other file systems refuse it and nothing changes.
 */
static void mark_top_dir(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	int flags = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
		flags |= FS_TOPDIR_FL;
		(void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
}

eds_status eds_payload_stage_dirs(const char *root)
{
	static const char hex[] = "0123456789abcdef";
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof dir, "%s/xx", root);
	if (n < 0 || (size_t)n >= sizeof dir)
		return eds_fail(EDS_E_LIMIT, "%s: payload path too long", root);
	size_t len = (size_t)n; /* >= 3: "/xx" */
	int made = 0;
	mark_top_dir(root);
	for (int i = 0; i < 256; i++) {
		dir[len - 2] = hex[i >> 4];
		dir[len - 1] = hex[i & 15];
		if (mkdir(dir, 0755) == 0)
			made = 1;
		else if (errno != EEXIST)
			return eds_fail(EDS_E_IO, "%s: %s", dir, strerror(errno));
	}
	/* New entries of root made durable once here, not per payload. */
	return made ? eds_fsync_dir_of(dir) : EDS_OK;
}

/* The classic way: temporary name, write, rename over the final name. */
static eds_status stage_renamed(const char *path, const uint8_t *data, size_t len)
{
	static unsigned long counter;
	char tmp[PATH_MAX + 32];
	eds_status st = subdir(path);
	if (st != EDS_OK)
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

/* Open an anonymous file in path's directory; -1 when that is impossible here. */
static int open_anonymous(const char *path)
{
	char dir[PATH_MAX];
	size_t n = dir_len(path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && mkdir(dir, 0755) == 0)
		fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	return fd;
}

/*
 * Give an anonymous file its name.  linkat(AT_EMPTY_PATH) skips the procfs
 * look-up of /proc/self/fd/N (a few microseconds per payload) but needs
 * CAP_DAC_READ_SEARCH on older kernels; once refused, the /proc way is used.
 */
static int link_anonymous(int fd, const char *path)
{
	static int empty_path_refused;
	if (!__atomic_load_n(&empty_path_refused, __ATOMIC_RELAXED)) {
		int rc = linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH);
		if (rc == 0 || (errno != EPERM && errno != ENOENT && errno != EINVAL))
			return rc;
		__atomic_store_n(&empty_path_refused, 1, __ATOMIC_RELAXED);
	}
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/*
 * Stage through O_TMPFILE.  EDS_DONE: not possible here (no O_TMPFILE, no
 * /proc) or the name is taken by a damaged file; the caller renames instead.
 */
static eds_status stage_linked(const char *root, const uint8_t hash[EDS_HASH_LEN], const char *path,
                               const uint8_t *data, size_t len)
{
	int fd = open_anonymous(path);
	if (fd < 0)
		return EDS_DONE;
	eds_status st = eds_write_all(fd, data, len, path);
	int rc = st == EDS_OK ? link_anonymous(fd, path) : 0;
	int e = errno;
	close(fd); /* an unlinked anonymous inode is freed by the kernel */
	if (st != EDS_OK || rc == 0)
		return st;
	/* Content-addressed: a correct file under the name is already this payload. */
	if (e == EEXIST)
		return eds_payload_check(root, hash, len) == EDS_OK ? EDS_OK : EDS_DONE;
	if (e == ENOENT || e == EXDEV || e == EPERM || e == EOPNOTSUPP)
		return EDS_DONE;
	return eds_fail(EDS_E_IO, "%s: link: %s", path, strerror(e));
}

eds_status eds_payload_stage(const char *root, const uint8_t hash[EDS_HASH_LEN],
                             const uint8_t *data, size_t len)
{
	char path[PATH_MAX];
	if (root == NULL || hash == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "payload stage: NULL argument");
	eds_status st = eds_payload_path(path, sizeof path, root, hash);
	/*
	 * Content-addressed: a correct file under the name is already this
	 * payload.  Looking first (one dentry look-up) also spares creating an
	 * anonymous inode only to free it when linkat finds the name taken: on
	 * ext4 without a journal, every inode freed in the last minutes is
	 * stepped over one by one by each later allocation in its group.
	 */
	if (st == EDS_OK && faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0 &&
	    eds_payload_check(root, hash, len) == EDS_OK)
		return EDS_OK;
	if (st == EDS_OK)
		st = stage_linked(root, hash, path, data, len);
	if (st != EDS_DONE)
		return st;
	if (eds_payload_check(root, hash, len) == EDS_OK)
		return EDS_OK;
	return stage_renamed(path, data, len);
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
