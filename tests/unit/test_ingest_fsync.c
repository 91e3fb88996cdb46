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
#include "ingest_fixture.h"
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

/* Payloads are flushed, and a failed ledger probed, every 50 ms. */
static const eds_ingest_options opts = {.payload_flush_ms = 50};

static int setup(void **state)
{
	static const uint8_t seed[32] = {9, 9, 9};
	ingest_fx *f = ingest_fx_new(seed, 'q');
	/* The service opens the ledger itself, as at the restart in the test. */
	ingest_fx_stop(f);
	ingest_fx_start(f, &opts);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	atomic_store(&fail_wal, 0);
	ingest_fx_free(*state);
	return 0;
}

static void test_failed_wal_flush(void **state)
{
	ingest_fx *f = *state;
	eds_ingest_item r1, r2, r3;
	uint8_t h1[32], h2[32];
	ingest_fx_make(&r1, &f->sk, "d1", 1, NULL, f->payload, sizeof f->payload);
	assert_int_equal(ingest_fx_submit1(f, &r1, NULL, h1), EDS_INGEST_ACCEPTED);
	ingest_fx_make(&r2, &f->sk, "d1", 2, h1, f->payload, sizeof f->payload);
	atomic_store(&fail_wal, 1);
	assert_int_equal(ingest_fx_submit1(f, &r2, NULL, NULL), EDS_INGEST_STORAGE);
	assert_true(atomic_load(&failed) > 0); /* the commit's own flush failed */
	assert_int_equal(ingest_fx_head(f, "d1"), 1);
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
	assert_int_equal(ingest_fx_submit1(f, &r2, NULL, h2), EDS_INGEST_ACCEPTED);
	ingest_fx_make(&r3, &f->sk, "d1", 3, h2, f->payload, sizeof f->payload);
	assert_int_equal(ingest_fx_submit1(f, &r3, NULL, NULL), EDS_INGEST_ACCEPTED);
	assert_int_equal(ingest_fx_head(f, "d1"), 3);
	ingest_fx_stop(f);
	ingest_fx_start(f, &opts);
	assert_int_equal(ingest_fx_head(f, "d1"), 3);
	assert_int_equal(ingest_fx_submit1(f, &r3, NULL, NULL), EDS_INGEST_DUPLICATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_failed_wal_flush, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
