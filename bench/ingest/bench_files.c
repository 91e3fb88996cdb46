/*
 * bench_files.c - CPU time per payload file, by each way of creating one:
 * the floor under durable ingest's per-record cost, since every stored
 * payload is a new file (FORMAT.md 3).  N files of 256 bytes are made in
 * the 256 two-hex subdirectories of a fresh root on the file system of
 * DIR, each way in its own root, and the process's user + system time
 * (getrusage) is divided by N.  No fsync: the ingest path flushes files
 * later with one syncfs, which this does not time.
 *
 * usage: bench_files DIR [N]   (default N 20000; DIR must exist)
 * Prints one line per way: name, us CPU per file, of which system, and
 * the ratio to the way eds_payload_stage uses (tmpfile+link).
 */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum way { TMPFILE_LINK, CREATE_EXCL, TEMP_RENAME, LOOKUP_MISS, WAYS };

static const char *const way_name[WAYS] = {
    "O_TMPFILE + write + linkat (eds_payload_stage)",
    "open(O_CREAT|O_EXCL) on the final name + write",
    "temporary name + write + rename (FORMAT.md 3's words)",
    "look-up of a name that is not there (openat -> ENOENT)",
};

static void cpu(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_files: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A fresh root DIR/bench-files-W with its 256 subdirectories; its fd. */
static int make_root(const char *dir, int w)
{
	char root[4096], sub[3];
	snprintf(root, sizeof root, "%s/bench-files-%d-%ld", dir, w, (long)getpid());
	if (mkdir(root, 0755) != 0)
		die(root);
	int fd = open(root, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		die(root);
	for (int i = 0; i < 256; i++) {
		snprintf(sub, sizeof sub, "%02x", i);
		if (mkdirat(fd, sub, 0755) != 0)
			die(sub);
	}
	return fd;
}

static void write_all(int fd, const char *buf, size_t n)
{
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n)
		die("write");
}

/* One file of the way w, named rel ("xx/<62 hex>") under root fd r. */
static void make_one(enum way w, int r, const char *rel, const char *buf, size_t n)
{
	char sub[3] = {rel[0], rel[1], '\0'}, tmp[128];
	int fd;
	switch (w) {
	case TMPFILE_LINK:
		fd = openat(r, sub, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
		write_all(fd, buf, n);
		if (linkat(fd, "", r, rel, AT_EMPTY_PATH) != 0)
			die("linkat");
		close(fd);
		break;
	case CREATE_EXCL:
		fd = openat(r, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		write_all(fd, buf, n);
		close(fd);
		break;
	case TEMP_RENAME:
		snprintf(tmp, sizeof tmp, "%s.tmp", rel);
		fd = openat(r, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		write_all(fd, buf, n);
		close(fd);
		if (renameat(r, tmp, r, rel) != 0)
			die("renameat");
		break;
	default:
		fd = openat(r, rel, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			die("look-up found a file");
		break;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_files DIR [N]\n");
		return 2;
	}
	char *end = NULL;
	long n = argc == 3 ? strtol(argv[2], &end, 10) : 20000;
	if (n < 1 || n > 10000000 || (end != NULL && *end != '\0')) {
		fprintf(stderr, "bench_files: N must be 1..10000000\n");
		return 2;
	}
	char buf[256], rel[80];
	memset(buf, 'p', sizeof buf);
	double per[WAYS];
	for (int w = 0; w < WAYS; w++) {
		int r = make_root(argv[1], w);
		unsigned seed = 1;
		double u0, s0, u1, s1;
		cpu(&u0, &s0);
		for (long i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			snprintf(rel, sizeof rel, "%02x/%08x%054ld", seed >> 24, seed, i);
			make_one((enum way)w, r, rel, buf, sizeof buf);
		}
		cpu(&u1, &s1);
		close(r);
		per[w] = (u1 - u0 + s1 - s0) / (double)n * 1e6;
		printf("%-56s %6.1f us CPU/file (%5.1f system)  %.2f x ours\n", way_name[w], per[w],
		       (s1 - s0) / (double)n * 1e6, per[w] / per[TMPFILE_LINK]);
	}
	printf("roots left in %s/bench-files-* (remove them; deleting inodes right before a run "
	       "slows the next one on ext4 without a journal)\n",
	       argv[1]);
	return 0;
}
