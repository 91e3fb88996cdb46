/*
 * test_blake3_parallel.c - multi-threaded BLAKE3 (eds_blake3_update_parallel,
 * eds_blake3_update_file_parallel) equals the one-thread hash, with every
 * back end this CPU runs, for sizes around the 1 MiB subtree edges and the
 * 64-subtree window, after a prefix that leaves the hasher mid-chunk, in
 * keyed mode, and with extended output; plus argument errors and a file
 * that cannot be read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3_impl.h"
#include "edgesentry/blake3.h"
#include "test_support.h"

#define MIB     ((size_t)1 << 20)
#define MAX_LEN (66 * MIB + 5)

static uint8_t *data;

static int setup(void **state)
{
	(void)state;
	data = malloc(MAX_LEN);
	if (data == NULL)
		return -1;
	uint32_t x = 12345;
	for (size_t i = 0; i < MAX_LEN; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(data);
	return 0;
}

/* The 64-byte output of prefix + rest hashed one-threaded and on `threads`. */
static void check(size_t prefix, size_t len, unsigned threads, int keyed)
{
	static const uint8_t key[EDS_BLAKE3_KEY_LEN] = {7, 1, 2, 3};
	eds_blake3_hasher a, b;
	uint8_t want[64], got[64];
	if (keyed) {
		eds_blake3_init_keyed(&a, key);
		eds_blake3_init_keyed(&b, key);
	} else {
		eds_blake3_init(&a);
		eds_blake3_init(&b);
	}
	eds_blake3_update(&a, data, prefix + len);
	eds_blake3_update(&b, data, prefix);
	assert_int_equal(eds_blake3_update_parallel(&b, data + prefix, len, threads), EDS_OK);
	eds_blake3_finalize(&a, want, sizeof want);
	eds_blake3_finalize(&b, got, sizeof got);
	if (memcmp(want, got, sizeof want) != 0)
		fail_msg("prefix %zu + %zu bytes on %u threads (keyed %d, %s) differ", prefix, len,
		         threads, keyed, eds_blake3_backend());
}

static void sizes_around_edges(void)
{
	static const size_t sizes[] = {0, 1, 2 * MIB, 3 * MIB - 1, 3 * MIB + 1, 5 * MIB + 1025};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		check(1000, sizes[i], 3, 0);
		check(MIB - 1, sizes[i], 2, 1);
	}
	check(0, 4 * MIB, 2, 0);
	check(0, 4 * MIB, 1, 0);
	check(0, 4 * MIB, 0, 1);
}

static void test_memory_all_backends(void **state)
{
	(void)state;
	const eds_blake3_ops *ops;
	for (size_t i = 0; (ops = eds_blake3_backend_at(i)) != NULL; i++) {
		if (!ops->supported())
			continue;
		eds_blake3_set_ops(ops);
		sizes_around_edges();
	}
	eds_blake3_set_ops(NULL);
}

/* More than one window of 64 subtrees: 66 MiB + 5 bytes, once. */
static void test_memory_windows(void **state)
{
	(void)state;
	check(0, MAX_LEN, 2, 0);
}

static void test_file(void **state)
{
	(void)state;
	static const size_t sizes[] = {1, 2 * MIB, 2 * MIB + 1, 3 * MIB, 9 * MIB + 3};
	char *dir = test_tmpdir();
	char path[512];
	snprintf(path, sizeof path, "%s/data", dir);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, sizes[i], f), sizes[i]);
		assert_int_equal(fclose(f), 0);
		eds_blake3_hasher h;
		uint8_t want[32], got[32];
		uint64_t size = 0;
		eds_blake3(want, data, sizes[i]);
		eds_blake3_init(&h);
		assert_int_equal(eds_blake3_update_file_parallel(&h, path, 2, &size), EDS_OK);
		assert_int_equal(size, sizes[i]);
		eds_blake3_finalize(&h, got, sizeof got);
		assert_memory_equal(want, got, sizeof want);
		/* a hasher with input already: still right (read in one thread) */
		eds_blake3_init(&h);
		eds_blake3_update(&h, "x", 1);
		assert_int_equal(eds_blake3_update_file_parallel(&h, path, 2, NULL), EDS_OK);
	}
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	snprintf(path, sizeof path, "%s/absent", dir);
	assert_int_equal(eds_blake3_update_file_parallel(&h, path, 2, NULL), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "absent"));
	assert_int_equal(eds_blake3_update_file_parallel(&h, dir, 2, NULL), EDS_E_IO);
	assert_int_equal(eds_blake3_update_file_parallel(NULL, path, 2, NULL), EDS_E_ARG);
	assert_int_equal(eds_blake3_update_parallel(NULL, data, 1, 2), EDS_E_ARG);
	assert_int_equal(eds_blake3_update_parallel(&h, NULL, 1, 2), EDS_E_ARG);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory_all_backends),
	    cmocka_unit_test(test_memory_windows),
	    cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
