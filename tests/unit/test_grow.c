/*
 * test_grow.c - eds_grow, the doubling array of the backup, the HTTP
 * client's batch and the agent's memory queue: it keeps what the array
 * held, reaches any size asked for, and refuses a size no memory holds
 * (overflowing size_t) without touching the array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edgesentry/edgesentry.h"
#include "internal.h"

static void grows_and_keeps(void **state)
{
	(void)state;
	void *v = NULL;
	size_t cap = 0;
	assert_int_equal(eds_grow(&v, &cap, 1, sizeof(int), "t"), EDS_OK);
	assert_int_equal(cap, 16);
	int *a = v;
	for (int i = 0; i < 16; i++)
		a[i] = i;
	assert_int_equal(eds_grow(&v, &cap, 16, sizeof(int), "t"), EDS_OK); /* fits: no change */
	assert_int_equal(cap, 16);
	assert_int_equal(eds_grow(&v, &cap, 1000, sizeof(int), "t"), EDS_OK);
	assert_int_equal(cap, 1024);
	a = v;
	for (int i = 0; i < 16; i++)
		assert_int_equal(a[i], i);
	free(v);
}

static void refuses_overflow(void **state)
{
	(void)state;
	void *v = NULL;
	size_t cap = 0;
	assert_int_equal(eds_grow(&v, &cap, 4, 8, "t"), EDS_OK);
	void *before = v;
	assert_int_equal(eds_grow(&v, &cap, SIZE_MAX / 4, 8, "lacks"), EDS_E_NOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 16);
	assert_non_null(strstr(eds_last_error(), "lacks: out of memory"));
	assert_int_equal(eds_grow(&v, &cap, SIZE_MAX, 1, "t"), EDS_E_NOMEM);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(grows_and_keeps),
	    cmocka_unit_test(refuses_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
