/*
 * test_payload_stage.c - eds_payload_stage keeps one directory fd per payload
 * root: staging into several roots in one process, a root removed or moved
 * away and made anew at the same path, more roots than the cache holds,
 * odd files under a payload's name, and threads staging the same payloads;
 * eds_payload_stage_copy (backup, export) copies only what hashes to its name.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "store/ledger_internal.h"
#include "test_support.h"

typedef struct payload {
	uint8_t data[256];
	uint8_t hash[32];
} payload;

static void make_payload(payload *p, unsigned n)
{
	memset(p->data, (int)(n & 0xff), sizeof p->data);
	memcpy(p->data, &n, sizeof n);
	eds_blake3(p->hash, p->data, sizeof p->data);
}

/* Stage p into root and check that root holds it. */
static void stage_ok(const char *root, const payload *p)
{
	assert_int_equal(eds_payload_stage(root, p->hash, p->data, sizeof p->data), EDS_OK);
	assert_int_equal(eds_payload_check(root, p->hash, sizeof p->data), EDS_OK);
}

enum { ROOT_MAX = 4096 };

/* A new root test_dir/name with payload n staged into it as *p; *q is payload n + 1, not staged. */
static void start(char root[ROOT_MAX], const char *name, payload *p, payload *q, unsigned n)
{
	snprintf(root, ROOT_MAX, "%s", test_dir_path(name));
	assert_int_equal(mkdir(root, 0755), 0);
	make_payload(p, n);
	make_payload(q, n + 1);
	stage_ok(root, p);
}

static void test_two_roots(void **state)
{
	(void)state;
	char a[ROOT_MAX], b[ROOT_MAX];
	payload p, unused;
	start(a, "a", &p, &unused, 1);
	snprintf(b, sizeof b, "%s", test_dir_path("b"));
	assert_int_equal(mkdir(b, 0755), 0);
	assert_int_equal(eds_payload_check(b, p.hash, sizeof p.data), EDS_E_NOT_FOUND);
	stage_ok(b, &p);
	stage_ok(a, &p); /* already there: kept */
	assert_int_equal(eds_payload_sync(a), EDS_OK);
	assert_int_equal(eds_payload_sync(b), EDS_OK);
}

/* A file of another size and a FIFO under the name are replaced (the FIFO without blocking). */
static void test_odd_files_replaced(void **state)
{
	(void)state;
	char root[ROOT_MAX], path[ROOT_MAX + 100], sub[ROOT_MAX + 100];
	payload p, q;
	start(root, "r", &p, &q, 2);
	assert_int_equal(eds_payload_path(path, sizeof path, root, p.hash), EDS_OK);
	assert_int_equal(truncate(path, 100), 0);
	stage_ok(root, &p);
	assert_int_equal(eds_payload_path(path, sizeof path, root, q.hash), EDS_OK);
	snprintf(sub, sizeof sub, "%.*s", (int)(strrchr(path, '/') - path), path);
	assert_true(mkdir(sub, 0755) == 0 || access(sub, F_OK) == 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	stage_ok(root, &q);
}

/* Removed with everything in it and made again: staging goes to the new directory. */
static void test_root_removed_and_made_again(void **state)
{
	(void)state;
	char root[ROOT_MAX];
	payload p, q;
	start(root, "gone", &p, &q, 4);
	test_rmtree(root);
	assert_int_equal(mkdir(root, 0755), 0);
	stage_ok(root, &q);
	stage_ok(root, &p);
	assert_int_equal(eds_payload_sync(root), EDS_OK);
}

/*
 * Moved away and made again: a payload staged meanwhile went to the old
 * directory, so the sync of that batch fails; the next batch goes to the new one.
 */
static void test_root_replaced(void **state)
{
	(void)state;
	char root[ROOT_MAX], old[ROOT_MAX + 8];
	payload p, q;
	start(root, "moved", &p, &q, 6);
	snprintf(old, sizeof old, "%s.old", root);
	assert_int_equal(rename(root, old), 0);
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(eds_payload_stage(root, q.hash, q.data, sizeof q.data), EDS_OK);
	assert_int_equal(eds_payload_sync(root), EDS_E_IO);
	stage_ok(root, &q);
	assert_int_equal(eds_payload_sync(root), EDS_OK);
}

/* More roots than the cache holds: the rest are opened per call. */
static void test_many_roots(void **state)
{
	(void)state;
	char root[ROOT_MAX];
	payload p;
	for (unsigned i = 0; i < 40; i++) {
		make_payload(&p, 100 + i);
		snprintf(root, sizeof root, "%s/many%u", test_dir, i);
		assert_int_equal(mkdir(root, 0755), 0);
		stage_ok(root, &p);
		stage_ok(root, &p);
	}
}

enum { THREADS = 4, SHARED = 64 };
static payload shared[SHARED];
static char shared_root[ROOT_MAX];

static void *stage_shared(void *arg)
{
	(void)arg;
	for (int i = 0; i < SHARED; i++)
		if (eds_payload_stage(shared_root, shared[i].hash, shared[i].data,
		                      sizeof shared[i].data) != EDS_OK)
			return (void *)1;
	return NULL;
}

/* Threads staging the same payloads at once: each ends up stored once, complete. */
static void test_threads(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	snprintf(shared_root, sizeof shared_root, "%s", test_dir_path("shared"));
	assert_int_equal(mkdir(shared_root, 0755), 0);
	for (int i = 0; i < SHARED; i++)
		make_payload(&shared[i], 1000u + (unsigned)i);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stage_shared, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rc;
		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	for (int i = 0; i < SHARED; i++)
		assert_int_equal(eds_payload_check(shared_root, shared[i].hash, 256), EDS_OK);
}

/* path of root's file for hash, in a static buffer. */
static const char *file_in(const char *root, const uint8_t *hash)
{
	static char path[ROOT_MAX + 100];
	assert_int_equal(eds_payload_path(path, sizeof path, root, hash), EDS_OK);
	return path;
}

/* Copies are checked first: missing, damaged or longer files are not copied. */
static void test_copy_checks_the_source(void **state)
{
	(void)state;
	char a[ROOT_MAX], b[ROOT_MAX];
	payload p, q, r, unused;
	start(a, "src", &p, &q, 8);
	snprintf(b, sizeof b, "%s", test_dir_path("dst"));
	assert_int_equal(mkdir(b, 0755), 0);
	assert_int_equal(eds_payload_stage_copy(a, b, p.hash, sizeof p.data), EDS_OK);
	assert_int_equal(eds_payload_check(b, p.hash, sizeof p.data), EDS_OK);
	assert_int_equal(eds_payload_stage_copy(a, b, p.hash, sizeof p.data), EDS_OK); /* kept */
	assert_int_equal(eds_payload_stage_copy(a, b, q.hash, sizeof q.data), EDS_E_NOT_FOUND);
	make_payload(&r, 10);
	stage_ok(a, &r);
	FILE *f = fopen(file_in(a, r.hash), "r+b");
	assert_non_null(f);
	fputc('X' ^ r.data[0], f); /* never the byte that was there */
	fclose(f);
	assert_int_equal(eds_payload_stage_copy(a, b, r.hash, sizeof r.data),
	                 EDS_E_PAYLOAD_MISMATCH);
	assert_int_equal(eds_payload_check(b, r.hash, sizeof r.data), EDS_E_NOT_FOUND);
	start(a, "src2", &q, &unused, 12);
	assert_int_equal(eds_payload_stage_copy(a, b, q.hash, sizeof q.data - 1),
	                 EDS_E_PAYLOAD_MISMATCH); /* the file is longer than the record says */
	assert_int_equal(eds_payload_sync(b), EDS_OK);
}

/* Regular files anywhere under dir. */
static int files_under(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[ROOT_MAX + 300];
		struct stat sb;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		n += S_ISDIR(sb.st_mode) ? files_under(path) : 1;
	}
	closedir(d);
	return n;
}

/* Over 64 MiB a payload is streamed (one pass), and checked just the same. */
static void test_copy_streams_big_payloads(void **state)
{
	(void)state;
	char a[ROOT_MAX], b[ROOT_MAX];
	size_t n = ((size_t)64 << 20) + 1;
	uint8_t *big = malloc(n), hash[32];
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 13));
	eds_blake3(hash, big, n);
	snprintf(a, sizeof a, "%s", test_dir_path("bigsrc"));
	snprintf(b, sizeof b, "%s", test_dir_path("bigdst"));
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	assert_int_equal(eds_payload_stage(a, hash, big, n), EDS_OK);
	free(big);
	assert_int_equal(eds_payload_stage_copy(a, b, hash, n), EDS_OK);
	assert_int_equal(eds_payload_check(b, hash, n), EDS_OK);
	test_rmtree(b);
	assert_int_equal(mkdir(b, 0755), 0);
	FILE *f = fopen(file_in(a, hash), "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)(n / 2), SEEK_SET), 0);
	int c = fgetc(f);
	assert_int_equal(fseek(f, (long)(n / 2), SEEK_SET), 0);
	fputc(c ^ 1, f);
	fclose(f);
	assert_int_equal(eds_payload_stage_copy(a, b, hash, n), EDS_E_PAYLOAD_MISMATCH);
	assert_int_equal(eds_payload_check(b, hash, n), EDS_E_NOT_FOUND);
	/* one byte longer than the record says: refused before a byte is copied */
	f = fopen(file_in(a, hash), "ab");
	assert_non_null(f);
	fputc(0, f);
	fclose(f);
	assert_int_equal(eds_payload_stage_copy(a, b, hash, n), EDS_E_PAYLOAD_MISMATCH);
	assert_int_equal(unlink(file_in(a, hash)), 0);
	assert_int_equal(eds_payload_stage_copy(a, b, hash, n), EDS_E_NOT_FOUND);
	/* the copies that failed left no file behind, not even a temporary one */
	assert_int_equal(files_under(b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_roots, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_odd_files_replaced, test_dir_setup,
	                                    test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_root_removed_and_made_again, test_dir_setup,
	                                    test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_root_replaced, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_many_roots, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_threads, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_copy_checks_the_source, test_dir_setup,
	                                    test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_copy_streams_big_payloads, test_dir_setup,
	                                    test_dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
