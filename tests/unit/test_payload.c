/*
 * test_payload.c - the payload directory (FORMAT.md section 3): paths,
 * storing from memory and from files (round trip, dedup, repair of a
 * damaged file), and checking (missing vs size vs hash mismatch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/edgesentry.h"
#include "test_support.h"

static void test_path(void **state)
{
	(void)state;
	uint8_t h[32];
	char buf[256];
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(eds_payload_path(buf, sizeof buf, "/srv/p", h), EDS_OK);
	assert_string_equal(buf,
	                    "/srv/p/a0/a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe"
	                    "bf");
	assert_int_equal(eds_payload_path(buf, sizeof buf, "/srv/p//", h), EDS_OK);
	assert_string_equal(buf,
	                    "/srv/p/a0/a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe"
	                    "bf");
	size_t need = strlen("/srv/p/a0/") + 62 + 1;
	assert_int_equal(eds_payload_path(buf, need, "/srv/p", h), EDS_OK);
	assert_int_equal(eds_payload_path(buf, need - 1, "/srv/p", h), EDS_E_LIMIT);
	assert_int_equal(eds_payload_path(buf, sizeof buf, "", h), EDS_E_ARG);
	assert_int_equal(eds_payload_path(buf, sizeof buf, NULL, h), EDS_E_ARG);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_put_check(void **state)
{
	(void)state;
	char root[4096], path[4200];
	uint8_t h[32], want[32];
	struct stat sb;
	static const char data[] = "lift-01 inspection 1: load test 630 kg, brakes ok\n";
	/* The root is created when absent (its parent must exist). */
	snprintf(root, sizeof root, "%s/payloads", test_dir);
	eds_blake3(want, data, strlen(data));
	assert_int_equal(eds_payload_check(root, want, strlen(data)), EDS_E_NOT_FOUND);
	assert_non_null(strstr(eds_last_error(), "missing"));
	assert_int_equal(eds_payload_put(root, (const uint8_t *)data, strlen(data), h), EDS_OK);
	assert_memory_equal(h, want, 32);
	snprintf(path, sizeof path,
	         "%s/bc/241675579ac45b71af3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c0", root);
	size_t len;
	char *got = test_read_file(path, &len);
	assert_int_equal(len, strlen(data));
	assert_memory_equal(got, data, len);
	free(got);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644 & ~(unsigned)0022);
	assert_int_equal(eds_payload_check(root, h, strlen(data)), EDS_OK);

	/* An identical file is kept as it is (same inode, not rewritten). */
	ino_t ino = sb.st_ino;
	assert_int_equal(eds_payload_put(root, (const uint8_t *)data, strlen(data), NULL), EDS_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_ino, ino);

	/* Size differs, then hash differs: each reported as such. */
	assert_int_equal(eds_payload_check(root, h, strlen(data) + 1), EDS_E_PAYLOAD_MISMATCH);
	assert_non_null(strstr(eds_last_error(), "size differs"));
	write_file(path, "LIFT-01 inspection 1: load test 630 kg, brakes ok\n", strlen(data));
	assert_int_equal(eds_payload_check(root, h, strlen(data)), EDS_E_PAYLOAD_MISMATCH);
	assert_non_null(strstr(eds_last_error(), "hash differs"));
	/* Storing again repairs the damaged file. */
	assert_int_equal(eds_payload_put(root, (const uint8_t *)data, strlen(data), NULL), EDS_OK);
	assert_int_equal(eds_payload_check(root, h, strlen(data)), EDS_OK);

	/* The empty payload is a payload too. */
	assert_int_equal(eds_payload_put(root, NULL, 0, h), EDS_OK);
	assert_int_equal(eds_payload_check(root, h, 0), EDS_OK);
	assert_int_equal(eds_payload_put(root, NULL, 1, h), EDS_E_ARG);

	/* No temporary files are left behind. */
	snprintf(path, sizeof path, "ls -a '%s'/bc | grep -q tmp", root);
	assert_int_not_equal(system(path), 0);

	/* A root that cannot be created. */
	snprintf(root, sizeof root, "%s/no/such/dir", test_dir);
	assert_int_equal(eds_payload_put(root, (const uint8_t *)"x", 1, h), EDS_E_IO);
	/* A path that is a file where a directory should be. */
	snprintf(root, sizeof root, "%s/plain", test_dir);
	write_file(root, "x", 1);
	assert_int_equal(eds_payload_put(root, (const uint8_t *)"x", 1, h), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "not a directory"));
}

static void test_put_file(void **state)
{
	(void)state;
	char root[4096], src[4096], path[4200];
	uint8_t h[32], want[32];
	uint64_t size = 0;
	/* Several chunks plus an odd tail, so the copy loop runs more than once. */
	size_t n = 3 * 32768 + 123;
	uint8_t *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 8));
	snprintf(root, sizeof root, "%s/store", test_dir);
	snprintf(src, sizeof src, "%s/reading.bin", test_dir);
	write_file(src, data, n);
	eds_blake3(want, data, n);
	assert_int_equal(eds_payload_put_file(root, src, h, &size), EDS_OK);
	assert_memory_equal(h, want, 32);
	assert_int_equal(size, n);
	assert_int_equal(eds_payload_check(root, h, n), EDS_OK);
	assert_int_equal(eds_payload_path(path, sizeof path, root, h), EDS_OK);
	size_t len;
	char *got = test_read_file(path, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	free(got);
	/* Again: kept. */
	assert_int_equal(eds_payload_put_file(root, src, NULL, NULL), EDS_OK);
	/* Damaged: replaced. */
	write_file(path, "short", 5);
	assert_int_equal(eds_payload_check(root, h, n), EDS_E_PAYLOAD_MISMATCH);
	assert_int_equal(eds_payload_put_file(root, src, NULL, NULL), EDS_OK);
	assert_int_equal(eds_payload_check(root, h, n), EDS_OK);
	free(data);

	snprintf(src, sizeof src, "%s/absent.bin", test_dir);
	assert_int_equal(eds_payload_put_file(root, src, h, &size), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "absent.bin"));
	assert_int_equal(eds_payload_put_file(root, test_dir, h, &size), EDS_E_IO);
	assert_int_equal(eds_payload_put_file(NULL, src, h, &size), EDS_E_ARG);
}

static int setup(void **state)
{
	umask(022);
	return test_dir_setup(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path),
	    cmocka_unit_test(test_put_check),
	    cmocka_unit_test(test_put_file),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, setup, test_dir_teardown);
}
