/*
 * fuzz_util.h - checks and scratch files shared by the fuzz harnesses.
 *
 * Header-only (static functions) because fuzz/CMakeLists.txt builds each
 * fuzz_*.c into its own binary; only the harnesses that need a scratch file
 * call the file helpers.
 */
#ifndef EDS_FUZZ_UTIL_H
#define EDS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgesentry/error.h"

/*
 * The CLI and the server print eds_last_error() as is on one line, so a
 * refusal must leave a non-empty detail without control characters.
 */
static inline void fuzz_check_detail(void)
{
	const char *p = eds_last_error();
	if (*p == '\0')
		abort();
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

/* fuzz_check_detail for every status but the successful ones. */
static inline void fuzz_check_status(eds_status st)
{
	if (st != EDS_OK && st != EDS_DONE)
		fuzz_check_detail();
}

/* A NUL-terminated copy of the input (aborts when out of memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * A private scratch folder for the harnesses of file readers, made on first
 * use and removed with the files written into it when the process exits.
 */
#define FUZZ_SCRATCH_FILES 4
static char fuzz_scratch[64];
static char fuzz_scratch_files[FUZZ_SCRATCH_FILES][128];

static inline void fuzz_scratch_remove(void)
{
	for (int i = 0; i < FUZZ_SCRATCH_FILES; i++)
		if (fuzz_scratch_files[i][0] != '\0')
			unlink(fuzz_scratch_files[i]);
	rmdir(fuzz_scratch);
}

static inline const char *fuzz_scratch_dir(void)
{
	if (fuzz_scratch[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		snprintf(fuzz_scratch, sizeof fuzz_scratch, "%s/eds-fuzz-XXXXXX",
		         tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
		if (mkdtemp(fuzz_scratch) == NULL)
			abort();
		atexit(fuzz_scratch_remove);
	}
	return fuzz_scratch;
}

/*
 * Write the input as the scratch file name (one of at most
 * FUZZ_SCRATCH_FILES names per process); its path goes to path.
 */
static inline void fuzz_write_scratch(const char *name, const uint8_t *data, size_t size,
                                      char path[128])
{
	snprintf(path, 128, "%s/%s", fuzz_scratch_dir(), name);
	int i = 0;
	while (i < FUZZ_SCRATCH_FILES && fuzz_scratch_files[i][0] != '\0' &&
	       strcmp(fuzz_scratch_files[i], path) != 0)
		i++;
	if (i == FUZZ_SCRATCH_FILES)
		abort();
	memcpy(fuzz_scratch_files[i], path, 128);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

#endif
