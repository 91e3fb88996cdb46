/*
 * test_ledger_fds.c - opening and closing ledgers, read-write with a payload
 * staged into each (which keeps its payload directory's fd) or read-only,
 * hundreds of times leaves no fd behind; threads staging into one payload
 * root while another thread forgets it never work on a closed fd.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edgesentry/blake3.h"
#include "edgesentry/edgesentry.h"
#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "test_support.h"

enum { ROUNDS = 220 };

/* Open fds of this process (those of /proc/self/fd, less opendir's own). */
static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

static void stage_one(const char *root, uint32_t i)
{
	uint8_t data[8] = {(uint8_t)i, (uint8_t)(i >> 8), 1, 2, 3, 4, 5, 6}, hash[EDS_HASH_LEN];
	eds_blake3(hash, data, sizeof data);
	assert_int_equal(eds_payload_stage(root, hash, data, sizeof data), EDS_OK);
	assert_int_equal(eds_payload_check(root, hash, sizeof data), EDS_OK);
}

/* A new ledger per round, each with a payload staged: every root's fd goes at close. */
static void test_many_ledgers_leave_no_fd(void **state)
{
	(void)state;
	int before = open_fds();
	for (uint32_t i = 0; i < ROUNDS; i++) {
		char *dir = test_tmpdir();
		eds_ledger *l;
		assert_int_equal(eds_ledger_open(&l, dir, NULL), EDS_OK);
		stage_one(eds_ledger_payload_dir(l), i);
		eds_ledger_close(l);
		eds_ledger_options ro = {.durable = 1, .read_only = 1};
		assert_int_equal(eds_ledger_open(&l, dir, &ro), EDS_OK);
		eds_ledger_stats ls;
		assert_int_equal(eds_ledger_stats_get(l, &ls), EDS_OK);
		eds_ledger_close(l);
		test_rmtree(dir);
		free(dir);
	}
	assert_int_equal(open_fds(), before);
}

/* One ledger opened and closed again and again, staging each time. */
static void test_one_ledger_reopened(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	int before = open_fds();
	for (uint32_t i = 0; i < ROUNDS; i++) {
		eds_ledger *l;
		assert_int_equal(eds_ledger_open(&l, dir, NULL), EDS_OK);
		stage_one(eds_ledger_payload_dir(l), i);
		eds_ledger_close(l);
	}
	assert_int_equal(open_fds(), before);
	test_rmtree(dir);
	free(dir);
}

typedef struct stager {
	const char *root;
	uint32_t base;
} stager;

static void *stage_many(void *arg)
{
	const stager *s = arg;
	for (uint32_t i = 0; i < 300; i++) {
		uint8_t data[8] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)s->base, 9},
		        hash[EDS_HASH_LEN];
		eds_blake3(hash, data, sizeof data);
		if (eds_payload_stage(s->root, hash, data, sizeof data) != EDS_OK ||
		    eds_payload_check(s->root, hash, sizeof data) != EDS_OK)
			return (void *)1;
	}
	return NULL;
}

/* Forgetting a root while other threads stage into it: every stage still succeeds. */
static void test_forget_while_staging(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	int before = open_fds();
	pthread_t t[3];
	stager s[3];
	for (int k = 0; k < 3; k++) {
		s[k] = (stager){dir, (uint32_t)k};
		assert_int_equal(pthread_create(&t[k], NULL, stage_many, &s[k]), 0);
	}
	for (int k = 0; k < 2000; k++)
		eds_payload_stage_forget(dir);
	for (int k = 0; k < 3; k++) {
		void *rc;
		assert_int_equal(pthread_join(t[k], &rc), 0);
		assert_null(rc);
	}
	eds_payload_stage_forget(dir);
	assert_int_equal(open_fds(), before);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	if (eds_init() != EDS_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_ledgers_leave_no_fd),
	    cmocka_unit_test(test_one_ledger_reopened),
	    cmocka_unit_test(test_forget_while_staging),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
