/*
 * test_ingest_fsync.c - a group commit whose WAL flush fails (an I/O error
 * under fdatasync, not a full disk): the group is refused as
 * storage_unavailable and nothing of it is answered or kept in the heads;
 * the service reports unhealthy, its flusher's probe finds the ledger
 * writable again by itself, the refused record is then accepted (not a
 * duplicate, not a gap), and a restart resumes from the same head.
 *
 * This program defines fdatasync itself, so SQLite (and the library, linked
 * in statically) call this one: it fails the flush of a -wal file with EIO
 * while the test asks it to.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"
#include "test_support.h"

static atomic_int fail_wal; /* fdatasync of a -wal file fails with EIO */
static atomic_int failed;   /* how many did */

static int is_wal(int fd)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 4, "-wal") == 0;
}

int fdatasync(int fd)
{
	if (atomic_load(&fail_wal) && is_wal(fd)) {
		atomic_fetch_add(&failed, 1);
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

typedef struct fx {
	char *dir;
	eds_ledger *l;
	eds_ingest *s;
	eds_secret_key sk;
	uint8_t payload[64];
} fx;

static void start(fx *f)
{
	eds_ingest_options o = {.payload_flush_ms = 50};
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ingest_new(&f->s, f->l, &o), EDS_OK);
}

static void stop(fx *f)
{
	eds_ingest_free(f->s);
	eds_ledger_close(f->l);
	f->s = NULL;
	f->l = NULL;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(eds_init(), EDS_OK);
	f->dir = test_tmpdir();
	uint8_t seed[32] = {9, 9, 9};
	eds_public_key pk;
	assert_int_equal(eds_secret_key_from_seed(&f->sk, seed), EDS_OK);
	eds_secret_key_public(&f->sk, &pk);
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_device_add(f->l, "d1", &pk), EDS_OK);
	eds_ledger_close(f->l);
	memset(f->payload, 'q', sizeof f->payload);
	start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	atomic_store(&fail_wal, 0);
	if (f->s != NULL)
		stop(f);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Record seq of d1, linked to prev (NULL: the first). */
static void make(fx *f, eds_ingest_item *it, uint64_t seq, const uint8_t *prev)
{
	memset(it, 0, sizeof *it);
	assert_int_equal(eds_record_init(&it->record, "d1", seq, 1700000000000ULL + seq, f->payload,
	                                 sizeof f->payload, prev, "obj"),
	                 EDS_OK);
	assert_int_equal(eds_record_sign(&it->record, &f->sk), EDS_OK);
	it->payload = f->payload;
	it->payload_len = sizeof f->payload;
}

static eds_ingest_outcome submit1(fx *f, const eds_ingest_item *it, uint8_t *hash)
{
	eds_ingest_result res;
	eds_ingest_context ctx = {"127.0.0.1", NULL};
	assert_int_equal(eds_ingest_submit(f->s, &ctx, it, 1, &res), EDS_OK);
	if (hash != NULL)
		memcpy(hash, res.record_hash, 32);
	return res.outcome;
}

static uint64_t head(fx *f)
{
	uint64_t seq;
	uint8_t h[32];
	assert_int_equal(eds_ingest_head(f->s, "d1", &seq, h), EDS_OK);
	return seq;
}

static void test_failed_wal_flush(void **state)
{
	fx *f = *state;
	eds_ingest_item r1, r2, r3;
	uint8_t h1[32], h2[32];
	make(f, &r1, 1, NULL);
	assert_int_equal(submit1(f, &r1, h1), EDS_INGEST_ACCEPTED);
	make(f, &r2, 2, h1);
	atomic_store(&fail_wal, 1);
	assert_int_equal(submit1(f, &r2, NULL), EDS_INGEST_STORAGE);
	assert_true(atomic_load(&failed) > 0); /* the commit's own flush failed */
	assert_int_equal(head(f), 1);
	assert_false(eds_ingest_healthy(f->s));
	atomic_store(&fail_wal, 0);
	/* the flusher's probe (every 50 ms here) finds the ledger writable again */
	int healthy = 0;
	for (int i = 0; i < 200 && !healthy; i++) {
		struct timespec t = {0, 25 * 1000000L};
		nanosleep(&t, NULL);
		healthy = eds_ingest_healthy(f->s);
	}
	assert_true(healthy);
	eds_ingest_stats st;
	eds_ingest_stats_get(f->s, &st);
	assert_true(st.storage_recoveries >= 1);
	/* the refused record was not kept: it is accepted now, and the chain goes on */
	assert_int_equal(submit1(f, &r2, h2), EDS_INGEST_ACCEPTED);
	make(f, &r3, 3, h2);
	assert_int_equal(submit1(f, &r3, NULL), EDS_INGEST_ACCEPTED);
	assert_int_equal(head(f), 3);
	stop(f);
	start(f);
	assert_int_equal(head(f), 3);
	assert_int_equal(submit1(f, &r3, NULL), EDS_INGEST_DUPLICATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_failed_wal_flush, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
