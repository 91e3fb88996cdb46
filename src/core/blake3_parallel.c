/*
 * blake3_parallel.c - BLAKE3 of large inputs on several threads.
 *
 * The BLAKE3 tree makes every aligned subtree of 2^k chunks independent
 * (spec section 5.1): the input is cut into PIECE-chunk subtrees whose CVs
 * the pool computes in parallel, a window at a time (so memory stays
 * bounded for any size), and this thread pushes them in order onto the
 * hasher's CV stack, exactly as the one-thread update would have merged
 * them.  The result is therefore the one-thread hash, bit for bit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"
#include "internal.h"
#include "work_pool.h"

/* 1 MiB subtrees: large enough that a thread's pread and hand-off cost
 * little, small enough to spread a few MiB over two cores. */
#define PIECE_CHUNKS 1024u
#define PIECE_BYTES  ((size_t)PIECE_CHUNKS * EDS_BLAKE3_CHUNK_LEN)
/* Pieces per window: 64 MiB of input in flight, 2 KiB of CVs; a window
 * keeps each thread busy for tens of milliseconds, so the pause between
 * windows costs little. */
#define WINDOW 64u

typedef struct job {
	const eds_blake3_hasher *h; /* key, flags */
	const eds_blake3_ops *ops;
	uint64_t first_chunk; /* chunk counter of piece 0 of the window */
	const uint8_t *mem;   /* in-memory input of the window, or NULL: read fd */
	int fd;
	uint64_t file_off; /* file offset of piece 0 of the window */
	const char *name;
	uint8_t cvs[WINDOW * 32];
	pthread_mutex_t mu;
	eds_status st; /* first read error, its detail in `detail` */
	char detail[256];
} job;

static void job_error(job *j, eds_status st, const char *what)
{
	pthread_mutex_lock(&j->mu);
	if (j->st == EDS_OK) {
		j->st = st;
		snprintf(j->detail, sizeof j->detail, "%s: %s", j->name, what);
	}
	pthread_mutex_unlock(&j->mu);
}

static bool read_piece(job *j, uint8_t *buf, uint64_t off)
{
	size_t got = 0;
	while (got < PIECE_BYTES) {
		ssize_t n = pread(j->fd, buf + got, PIECE_BYTES - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				job_error(j, EDS_E_IO, "file shrank while being hashed");
			else
				job_error(j, EDS_E_IO, strerror(errno));
			return false;
		}
		got += (size_t)n;
	}
	return true;
}

static void hash_pieces(void *ctx, size_t begin, size_t end)
{
	job *j = ctx;
	uint8_t *buf = NULL;
	if (j->mem == NULL && (buf = malloc(PIECE_BYTES)) == NULL) {
		job_error(j, EDS_E_NOMEM, "out of memory for a read buffer");
		return;
	}
	for (size_t i = begin; i < end; i++) {
		const uint8_t *in = j->mem != NULL ? j->mem + i * PIECE_BYTES : buf;
		if (buf != NULL && !read_piece(j, buf, j->file_off + i * PIECE_BYTES))
			break;
		eds_blake3_subtree_cv(j->ops, in, PIECE_CHUNKS, j->h->key,
		                      j->first_chunk + i * PIECE_CHUNKS, j->h->flags,
		                      j->cvs + 32 * i);
	}
	free(buf);
}

/* Hash n whole pieces (n <= WINDOW) described by j and push their CVs. */
static eds_status run_window(eds_pool *pool, job *j, eds_blake3_hasher *h, size_t n)
{
	size_t per = n / (4 * eds_pool_threads(pool)); /* a few ranges per thread */
	j->first_chunk = eds_blake3_absorbed(h) / EDS_BLAKE3_CHUNK_LEN;
	eds_pool_run(pool, hash_pieces, j, n, per > 0 ? per : 1);
	if (j->st != EDS_OK)
		return eds_fail(j->st, "%s", j->detail);
	for (size_t i = 0; i < n; i++)
		eds_blake3_push_subtree(h, j->cvs + 32 * i, PIECE_CHUNKS);
	return EDS_OK;
}

static eds_status job_start(job **out, eds_pool **pool, unsigned threads,
                            const eds_blake3_hasher *h, const char *name)
{
	job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return eds_fail(EDS_E_NOMEM, "blake3: out of memory");
	eds_status st = eds_pool_new(pool, threads);
	if (st != EDS_OK) {
		free(j);
		return st;
	}
	pthread_mutex_init(&j->mu, NULL);
	j->h = h;
	j->ops = eds_blake3_active_ops();
	j->name = name;
	j->fd = -1;
	*out = j;
	return EDS_OK;
}

static void job_end(job *j, eds_pool *pool)
{
	eds_pool_free(pool);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

eds_status eds_blake3_update_parallel(eds_blake3_hasher *h, const void *in, size_t len,
                                      unsigned threads)
{
	const uint8_t *p = in;
	job *j = NULL;
	eds_pool *pool = NULL;
	if (h == NULL || (in == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "blake3: NULL argument");
	size_t head = eds_blake3_update_to_boundary(h, p, len, PIECE_CHUNKS);
	p += head;
	len -= head;
	/* whole pieces, leaving at least one byte: the last chunk may be the root */
	size_t pieces = len > 0 ? (len - 1) / PIECE_BYTES : 0;
	if (pieces < 2 || threads == 1) {
		eds_blake3_update(h, p, len);
		return EDS_OK;
	}
	eds_status st = job_start(&j, &pool, threads, h, "memory");
	if (st != EDS_OK)
		return st;
	for (size_t done = 0; st == EDS_OK && done < pieces;) {
		size_t n = pieces - done < WINDOW ? pieces - done : WINDOW;
		j->mem = p + done * PIECE_BYTES;
		st = run_window(pool, j, h, n);
		done += n;
	}
	job_end(j, pool);
	if (st == EDS_OK)
		eds_blake3_update(h, p + pieces * PIECE_BYTES, len - pieces * PIECE_BYTES);
	return st;
}

/* The bytes of fd from off to its end, read with pread into the hasher. */
static eds_status update_tail(eds_blake3_hasher *h, int fd, const char *name, uint64_t off,
                              uint64_t end)
{
	uint8_t buf[16384];
	while (off < end) {
		size_t want = end - off < sizeof buf ? (size_t)(end - off) : sizeof buf;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return eds_fail(EDS_E_IO, "%s: %s", name, strerror(errno));
		if (n == 0)
			return eds_fail(EDS_E_IO, "%s: file shrank while being hashed", name);
		eds_blake3_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return EDS_OK;
}

static eds_status hash_fd_pieces(eds_blake3_hasher *h, int fd, const char *name, uint64_t size,
                                 unsigned threads)
{
	job *j = NULL;
	eds_pool *pool = NULL;
	/* the same cut as in memory: a fresh hasher is on a piece boundary */
	uint64_t pieces = (size - 1) / PIECE_BYTES;
	eds_status st = job_start(&j, &pool, threads, h, name);
	if (st != EDS_OK)
		return st;
	j->fd = fd;
	for (uint64_t done = 0; st == EDS_OK && done < pieces;) {
		size_t n = pieces - done < WINDOW ? (size_t)(pieces - done) : WINDOW;
		j->file_off = done * PIECE_BYTES;
		st = run_window(pool, j, h, n);
		done += n;
	}
	job_end(j, pool);
	return st == EDS_OK ? update_tail(h, fd, name, pieces * PIECE_BYTES, size) : st;
}

eds_status eds_blake3_update_file_parallel(eds_blake3_hasher *h, const char *path, unsigned threads,
                                           uint64_t *size)
{
	struct stat sb;
	if (h == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "blake3: NULL argument");
	/* Subtrees need a hasher on a piece boundary; only a fresh one surely is.
	 * One thread takes the piece path too: 1 MiB reads hashed as wide
	 * subtrees beat 16 KiB reads (bench: 0.87 -> see docs/performance.md). */
	if (eds_blake3_absorbed(h) != 0)
		return eds_blake3_update_file(h, path, size);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	eds_status st;
	if (fstat(fd, &sb) != 0)
		st = eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		st = eds_blake3_update_fd(h, fd, path, size); /* pipes */
	else
		st = eds_blake3_update_regular_fd(h, fd, path, (uint64_t)sb.st_size, threads, size);
	close(fd);
	return st;
}

eds_status eds_blake3_update_regular_fd(eds_blake3_hasher *h, int fd, const char *name,
                                        uint64_t file_size, unsigned threads, uint64_t *size)
{
	eds_status st;
	if (file_size <= 2 * PIECE_BYTES || eds_blake3_absorbed(h) != 0)
		return eds_blake3_update_fd(h, fd, name, size); /* small files */
	if ((st = hash_fd_pieces(h, fd, name, file_size, threads)) == EDS_OK && size != NULL)
		*size = file_size;
	return st;
}
