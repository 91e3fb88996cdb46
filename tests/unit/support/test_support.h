/*
 * test_support.h - helpers shared by the cmocka unit tests.
 *
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h> and <cmocka.h>.
 */
#ifndef EDS_TEST_SUPPORT_H
#define EDS_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/** Exit status ctest reads as "skipped". */
#define EDS_TEST_SKIP 77

/**
 * Path of a file in the shared vectors folder ($EDS_VECTORS, else
 * ../shared/vectors).  When the folder is absent the program prints the
 * reason and exits with EDS_TEST_SKIP, so a missing folder is never a pass.
 */
const char *test_vector_path(const char *name);

/** Read a whole file (aborts the test program on failure); free() the result. */
char *test_read_file(const char *path, size_t *len);

/** Decode hex (aborts on bad input); free() the result.  *len gets the byte count. */
uint8_t *test_hex(const char *hex, size_t *len);

/**
 * Whether docs/format.md holds hex (the file may wrap it across lines), so
 * a worked example there cannot drift from what the code makes.
 */
int test_format_doc_has(const char *hex);

/** A new empty temporary directory (removed by test_rmtree). */
char *test_tmpdir(void);
void test_rmtree(const char *dir);

/**
 * A scratch folder as a cmocka fixture: test_dir_setup makes test_dir (a
 * test_tmpdir), test_dir_teardown removes it with everything in it.  Use
 * them as group or per-test setup/teardown.
 */
extern char *test_dir;
int test_dir_setup(void **state);
int test_dir_teardown(void **state);

/** test_dir/name, in a static buffer overwritten by the next call. */
const char *test_dir_path(const char *name);

#endif
