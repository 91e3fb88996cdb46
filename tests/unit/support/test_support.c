/*
 * test_support.c - see test_support.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/encoding.h"
#include "test_support.h"

const char *test_vector_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("EDS_VECTORS");
	struct stat st;

	if (dir == NULL || dir[0] == '\0')
		dir = "../shared/vectors";
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("SKIPPED: test vectors folder %s is absent\n", dir);
		exit(EDS_TEST_SKIP);
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		abort();
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *bigger = realloc(buf, 2 * cap + 1);
			if (bigger == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf == NULL)
		abort();
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

uint8_t *test_hex(const char *hex, size_t *len)
{
	size_t hl = strlen(hex);
	uint8_t *out = malloc(hl / 2 + 1);
	if (out == NULL || hl % 2 != 0 || eds_hex_decode(out, hl / 2, hex, hl) != 0) {
		fprintf(stderr, "bad hex in test data: %.40s\n", hex);
		abort();
	}
	*len = hl / 2;
	return out;
}

char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/eds-test-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		abort();
	return strdup(tmpl);
}

void test_rmtree(const char *dir)
{
	char cmd[4200];
	if (dir == NULL || strncmp(dir, "/tmp/", 5) != 0)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

char *test_dir;

int test_dir_setup(void **state)
{
	(void)state;
	test_dir = test_tmpdir();
	return 0;
}

int test_dir_teardown(void **state)
{
	(void)state;
	test_rmtree(test_dir);
	free(test_dir);
	test_dir = NULL;
	return 0;
}

const char *test_dir_path(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/%s", test_dir, name);
	return path;
}

int test_format_doc_has(const char *hex)
{
	char path[4096];
	const char *src = getenv("EDS_SOURCE_DIR");
	if (src != NULL) {
		snprintf(path, sizeof path, "%s/docs/format.md", src);
	} else { /* run by hand: this file's tree */
		snprintf(path, sizeof path, "%s", __FILE__);
		char *cut = strstr(path, "tests/unit/support/test_support.c");
		if (cut == NULL)
			return 0;
		snprintf(cut, sizeof path - (size_t)(cut - path), "docs/format.md");
	}
	char *doc = test_read_file(path, NULL);
	size_t k = 0;
	for (size_t i = 0; doc[i] != '\0'; i++)
		if (doc[i] != '\n')
			doc[k++] = doc[i];
	doc[k] = '\0';
	int found = strstr(doc, hex) != NULL;
	free(doc);
	return found;
}
