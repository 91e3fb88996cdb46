/*
 * payload_stage.c - the group-commit half of the payload store.
 *
 * eds_payload_put makes each file durable on its own (two fsyncs, about a
 * millisecond each here).  The ingest service instead stages every payload
 * (no fsync) and its flusher thread makes all files staged so far durable
 * with one syncfs() of the payload directory's file system
 * (eds_ledger_sync).  syncfs writes back all dirty data and metadata of that
 * file system, links and new directories included, and reports write-back
 * errors (Linux >= 5.8).
 *
 * Why that is FORMAT.md 3's guarantee (file fsynced, then its directory):
 * those two fsyncs exist so that the file's bytes and inode and the
 * directory block holding its name reach stable storage.  syncfs returns
 * only after every dirty page and inode of the file system - each staged
 * file, each directory block with a new name - has been written and the
 * device cache flushed, so at that point the same blocks are durable, for
 * all files at once.  The answer to a device does not wait for it: the
 * payload's bytes are durable earlier, in the ledger's journal
 * (eds_ledger_commit_journaled), which also restores a file a crash lost
 * before the flush (eds_ledger_recover).  The price of syncfs: it also
 * writes back other programs' dirty data on the same file system (keep the
 * ledger on its own).
 *
 * Staging writes the bytes into an anonymous O_TMPFILE inode and links it
 * under its final name only when complete: one directory operation per
 * payload instead of create + rename, and no temporary name that a crash
 * could leave behind.  linkat() goes through /proc/self/fd so no privilege is
 * needed; where O_TMPFILE or /proc is missing, the temporary name + rename of
 * FORMAT.md section 3 is used.  Either way a file appears under its final
 * name only complete.
 *
 * Every step works relative to a directory fd of root kept open (see
 * root_fds, until eds_payload_stage_forget), with the short name "xx/<62 hex>": the look-up, create
 * and link of each payload then skip walking root's long path, and a payload already stored is
 * found and verified with one open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h> /* FS_IOC_GETFLAGS, FS_TOPDIR_FL */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "internal.h"
#include "ledger_internal.h"

/*
 * Directory fds of the payload roots staged into: every *at() call relative
 * to one skips walking root's (long) path.  A call takes a slot's fd with a
 * use count (get_root) and gives it back (put_root), all under root_lock;
 * eds_payload_stage_forget (eds_ledger_close) drops a root, closing its fd
 * at once or, while calls still use it, when the last one gives it back: so
 * a thread never works on a closed or reused fd number, and opening and
 * closing ledgers does not pile up fds.  A stale fd is pointed at the new
 * directory with dup3, which keeps the number valid for its users.  With
 * every slot taken, the root is opened per call instead.
 */
enum { ROOT_FDS = 16 };
typedef struct root_slot {
	char *root; /* NULL: free */
	int fd;
	unsigned uses; /* calls working with fd now */
	int forgotten; /* closed when uses drops to 0; no longer found */
} root_slot;
static root_slot root_fds[ROOT_FDS];
static pthread_mutex_t root_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_dir(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The live slot of root, or NULL (root_lock held). */
static root_slot *find_slot(const char *root)
{
	for (size_t i = 0; i < ROOT_FDS; i++)
		if (root_fds[i].root != NULL && !root_fds[i].forgotten &&
		    strcmp(root_fds[i].root, root) == 0)
			return &root_fds[i];
	return NULL;
}

static void free_slot(root_slot *r)
{
	close(r->fd);
	free(r->root);
	memset(r, 0, sizeof *r);
}

/* A new slot for root with its fd opened (root_lock held); NULL when none is free. */
static root_slot *new_slot(const char *root)
{
	for (size_t i = 0; i < ROOT_FDS; i++) {
		root_slot *r = &root_fds[i];
		if (r->root != NULL)
			continue;
		if ((r->fd = open_dir(root)) < 0)
			return NULL;
		if ((r->root = strdup(root)) == NULL) {
			close(r->fd);
			return NULL;
		}
		return r;
	}
	return NULL;
}

/*
 * root's directory fd for one call (-1 with errno when it cannot be opened);
 * give it back with put_root(*slot, fd).  *slot NULL: opened for this call.
 */
static int get_root(const char *root, root_slot **slot)
{
	pthread_mutex_lock(&root_lock);
	root_slot *r = find_slot(root);
	if (r == NULL)
		r = new_slot(root);
	if (r != NULL)
		r->uses++;
	pthread_mutex_unlock(&root_lock);
	*slot = r;
	return r != NULL ? r->fd : open_dir(root);
}

static void put_root(root_slot *r, int fd)
{
	if (r == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pthread_mutex_lock(&root_lock);
	if (--r->uses == 0 && r->forgotten)
		free_slot(r);
	pthread_mutex_unlock(&root_lock);
}

void eds_payload_stage_forget(const char *root)
{
	if (root == NULL)
		return;
	pthread_mutex_lock(&root_lock);
	root_slot *r = find_slot(root);
	if (r != NULL && r->uses == 0)
		free_slot(r);
	else if (r != NULL)
		r->forgotten = 1;
	pthread_mutex_unlock(&root_lock);
}

/* Point a slot's fd (in use by the caller) at the directory root names now (it was removed). */
static void refresh_root(const char *root, int fd)
{
	int now = open_dir(root);
	if (now < 0)
		return;
	(void)dup3(now, fd, O_CLOEXEC);
	close(now);
}

/* A removed directory keeps no links: its cached fd must be refreshed. */
static int removed(int fd)
{
	struct stat sb;
	return fstat(fd, &sb) == 0 && sb.st_nlink == 0;
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
	int fd = open_dir(root);
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
	int made = mkdir(root, 0755) == 0;
	if (!made && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%s: %s", root, strerror(errno));
	mark_top_dir(root);
	/* A service opening its ledger starts from the directory root names now. */
	eds_payload_stage_forget(root);
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

/* One payload being staged; names are relative to dirfd, path names it in messages. */
typedef struct stage_job {
	int dirfd;
	const char *path; /* "<root>/xx/<62 hex>" */
	const char *rel;  /* "xx/<62 hex>", the end of path */
	char sub[3];      /* "xx" */
	const uint8_t *hash;
	const uint8_t *data;
	size_t len;
} stage_job;

/*
 * Whether the file named rel already is this payload: EDS_OK yes,
 * EDS_E_NOT_FOUND no such name, EDS_DONE something else holds it (damaged,
 * not a regular file: to be replaced).  One open does the look-up and the
 * check; looking before creating spares making an anonymous inode only to
 * free it when linkat finds the name taken: on ext4 without a journal, every
 * inode freed in the last minutes is stepped over by each later allocation
 * in its group.  The content is hashed rather than compared with the staged
 * bytes, so a correct file is kept whatever a caller passes.  O_NONBLOCK: a
 * FIFO under the name must not block the open.
 */
static eds_status holds(const stage_job *j)
{
	int fd = openat(j->dirfd, j->rel, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? EDS_E_NOT_FOUND : EDS_DONE;
	eds_status st = eds_payload_check_fd(fd, j->path, j->hash, j->len);
	close(fd);
	return st == EDS_OK ? EDS_OK : EDS_DONE;
}

/* The classic way: temporary name, write, rename over the final name. */
static eds_status stage_renamed(const stage_job *j)
{
	static unsigned long counter;
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lu", j->rel, (long)getpid(),
	         __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	if (mkdirat(j->dirfd, j->sub, 0755) != 0 && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%.*s: %s", (int)(j->rel + 2 - j->path), j->path,
		                strerror(errno));
	int fd = openat(j->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s.tmp: %s", j->path, strerror(errno));
	eds_status st = eds_write_all(fd, j->data, j->len, j->path);
	if (close(fd) != 0 && st == EDS_OK)
		st = eds_fail(EDS_E_IO, "%s.tmp: %s", j->path, strerror(errno));
	if (st == EDS_OK && renameat(j->dirfd, tmp, j->dirfd, j->rel) != 0)
		st = eds_fail(EDS_E_IO, "%s: rename: %s", j->path, strerror(errno));
	if (st != EDS_OK)
		unlinkat(j->dirfd, tmp, 0);
	return st;
}

/* Open an anonymous file in the payload's subdirectory; -1 when that is impossible here. */
static int open_anonymous(const stage_job *j)
{
	int fd = openat(j->dirfd, j->sub, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && mkdirat(j->dirfd, j->sub, 0755) == 0)
		fd = openat(j->dirfd, j->sub, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	return fd;
}

/*
 * Give an anonymous file its name.  linkat(AT_EMPTY_PATH) skips the procfs
 * look-up of /proc/self/fd/N (a few microseconds per payload) but needs
 * CAP_DAC_READ_SEARCH on older kernels; once refused, the /proc way is used.
 */
static int link_anonymous(int fd, const stage_job *j)
{
	static int empty_path_refused;
	if (!__atomic_load_n(&empty_path_refused, __ATOMIC_RELAXED)) {
		int rc = linkat(fd, "", j->dirfd, j->rel, AT_EMPTY_PATH);
		if (rc == 0 || (errno != EPERM && errno != ENOENT && errno != EINVAL))
			return rc;
		__atomic_store_n(&empty_path_refused, 1, __ATOMIC_RELAXED);
	}
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, self, j->dirfd, j->rel, AT_SYMLINK_FOLLOW);
}

/*
 * Stage through O_TMPFILE.  EDS_DONE: not possible here (no O_TMPFILE, no
 * /proc, root removed) or the name is taken by a damaged file; the caller
 * renames instead.
 */
static eds_status stage_linked(const stage_job *j)
{
	int fd = open_anonymous(j);
	if (fd < 0)
		return EDS_DONE;
	eds_status st = eds_write_all(fd, j->data, j->len, j->path);
	int rc = st == EDS_OK ? link_anonymous(fd, j) : 0;
	int e = errno;
	close(fd); /* an unlinked anonymous inode is freed by the kernel */
	if (st != EDS_OK || rc == 0)
		return st;
	/* Staged meanwhile by another thread: content-addressed, so that is this payload. */
	if (e == EEXIST)
		return holds(j) == EDS_OK ? EDS_OK : EDS_DONE;
	if (e == ENOENT || e == EXDEV || e == EPERM || e == EOPNOTSUPP)
		return EDS_DONE;
	return eds_fail(EDS_E_IO, "%s: link: %s", j->path, strerror(e));
}

/* Keep an identical file, else stage linked; EDS_DONE: the caller renames. */
static eds_status stage_at(const stage_job *j)
{
	eds_status st = holds(j);
	return st == EDS_E_NOT_FOUND ? stage_linked(j) : st;
}

/*
 * The file of hash under root: its path (for messages) in path, and j set
 * up to work on it relative to root's directory fd (give that back with
 * put_root(*slot, j->dirfd)).
 */
static eds_status open_job(const char *root, const uint8_t hash[EDS_HASH_LEN], char path[PATH_MAX],
                           stage_job *j, root_slot **slot)
{
	eds_status st = eds_payload_path(path, PATH_MAX, root, hash);
	if (st != EDS_OK)
		return st;
	const char *rel = path + strlen(path) - (2 * EDS_HASH_LEN + 1);
	*j = (stage_job){get_root(root, slot), path, rel, {rel[0], rel[1], '\0'}, hash, NULL, 0};
	return j->dirfd >= 0 ? EDS_OK : eds_fail(EDS_E_IO, "%s: %s", root, strerror(errno));
}

eds_status eds_payload_stage(const char *root, const uint8_t hash[EDS_HASH_LEN],
                             const uint8_t *data, size_t len)
{
	char path[PATH_MAX];
	root_slot *slot;
	stage_job j;
	if (root == NULL || hash == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "payload stage: NULL argument");
	eds_status st = open_job(root, hash, path, &j, &slot);
	if (st != EDS_OK)
		return st;
	j.data = data;
	j.len = len;
	st = stage_at(&j);
	if (st == EDS_DONE && slot != NULL && removed(j.dirfd)) {
		refresh_root(root, j.dirfd);
		st = stage_at(&j);
	}
	if (st == EDS_DONE)
		st = stage_renamed(&j);
	put_root(slot, j.dirfd);
	return st;
}

eds_status eds_payload_unstage(const char *root, const uint8_t hash[EDS_HASH_LEN])
{
	char path[PATH_MAX];
	root_slot *slot;
	stage_job j;
	if (root == NULL || hash == NULL)
		return eds_fail(EDS_E_ARG, "payload unstage: NULL argument");
	eds_status st = open_job(root, hash, path, &j, &slot);
	if (st != EDS_OK)
		return st;
	if (unlinkat(j.dirfd, j.rel, 0) != 0 && errno != ENOENT)
		st = eds_fail(EDS_E_IO, "%s: cannot remove: %s", path, strerror(errno));
	put_root(slot, j.dirfd);
	return st;
}

/*
 * Whether root now names another directory than its cached fd (moved away
 * and made anew): payloads staged since went to the old one.  The cache is
 * pointed at the new one for the next batch.
 */
static int replaced(const char *root, int now)
{
	struct stat a, b;
	int moved = 0;
	pthread_mutex_lock(&root_lock);
	root_slot *r = find_slot(root);
	if (r != NULL && fstat(r->fd, &a) == 0 && fstat(now, &b) == 0 &&
	    (a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		(void)dup3(now, r->fd, O_CLOEXEC);
		moved = 1;
	}
	pthread_mutex_unlock(&root_lock);
	return moved;
}

eds_status eds_payload_sync(const char *root)
{
	if (root == NULL)
		return eds_fail(EDS_E_ARG, "payload sync: NULL argument");
	int fd = open_dir(root);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", root, strerror(errno));
	int rc = syncfs(fd);
	int e = errno;
	int moved = rc == 0 && replaced(root, fd);
	close(fd);
	if (moved)
		return eds_fail(EDS_E_IO, "%s: replaced while payloads were staged into it", root);
	return rc == 0 ? EDS_OK : eds_fail(EDS_E_IO, "%s: syncfs: %s", root, strerror(e));
}

/* An unnamed file in root where O_TMPFILE works, else a named one removed at once. */
static int open_probe(const char *root, char *path, size_t cap)
{
	int fd = open(root, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	snprintf(path, cap, "%s/.probe-XXXXXX", root);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

eds_status eds_payload_probe(const char *root)
{
	static const uint8_t page[4096];
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", root);
	int fd = open_probe(root, path, sizeof path);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	eds_status st = eds_write_all(fd, page, sizeof page, path);
	if (st == EDS_OK && fdatasync(fd) != 0)
		st = eds_fail(EDS_E_IO, "%s: fdatasync: %s", path, strerror(errno));
	close(fd);
	return st;
}

/* Payloads up to this size are copied through memory, staged; larger ones streamed. */
#define COPY_IN_MEMORY_MAX ((uint64_t)64 << 20)

/* A source that cannot be read as the payload is a damaged one (its detail kept). */
static eds_status as_damaged(eds_status st)
{
	return st == EDS_E_NOT_FOUND || st == EDS_E_NOMEM ? st : EDS_E_PAYLOAD_MISMATCH;
}

eds_status eds_payload_stage_copy(const char *src_root, const char *dst_root,
                                  const uint8_t hash[EDS_HASH_LEN], uint64_t size)
{
	char src[PATH_MAX];
	if (src_root == NULL || dst_root == NULL || hash == NULL)
		return eds_fail(EDS_E_ARG, "payload copy: NULL argument");
	eds_status st = eds_payload_path(src, sizeof src, src_root, hash);
	if (st != EDS_OK)
		return st;
	/* The big ones go file to file in one pass, checked while copied (each
	 * durable on its own): a check first, then a copy that hashes again to
	 * name the file, read them three times. */
	if (size > COPY_IN_MEMORY_MAX)
		return eds_payload_put_file_as(dst_root, src, hash, size);
	char *data = NULL;
	size_t len = 0;
	uint8_t got[EDS_HASH_LEN];
	/* A file longer than size is refused (EDS_E_LIMIT) before it is read. */
	st = eds_read_file(src, (size_t)size, &data, &len);
	if (st == EDS_OK) {
		eds_blake3(got, data, len);
		if (len != size || memcmp(got, hash, EDS_HASH_LEN) != 0)
			st = eds_fail(EDS_E_PAYLOAD_MISMATCH,
			              "payload %s: %zu bytes that do not hash to its name", src,
			              len);
		else
			st = eds_payload_stage(dst_root, hash, (const uint8_t *)data, len);
	} else {
		st = as_damaged(st);
	}
	free(data);
	return st;
}
