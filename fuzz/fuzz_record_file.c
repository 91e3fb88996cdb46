/*
 * fuzz_record_file.c - libFuzzer target for the streaming record file
 * reader (JSON Lines and the hand-written array scanner).
 *
 * The input is written to a temporary file and read to the end.  Checks:
 * no crash, leak or UB; the reader always finishes (EDS_DONE or one error,
 * after which it refuses to continue); offsets never pass the file size;
 * every error detail is one printable line starting with "PATH:LINE: ".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgesentry/error.h"
#include "edgesentry/record_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_input(void)
{
	unlink(path);
}

static void check_detail(void)
{
	const char *p = eds_last_error();
	size_t n = strlen(path);
	if (strncmp(p, path, n) != 0 || p[n] != ':')
		abort();
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

static void write_input(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	eds_record_reader *rd;
	eds_record r;
	eds_status st;
	if (path[0] == '\0') {
		if (eds_init() != EDS_OK)
			abort();
		snprintf(path, sizeof path, "/tmp/eds-fuzz-record-file-%ld", (long)getpid());
		atexit(remove_input);
	}
	write_input(data, size);
	if (eds_record_reader_open(&rd, path) != EDS_OK)
		abort();
	uint64_t n = 0;
	while ((st = eds_record_reader_next(rd, &r)) == EDS_OK) {
		if (eds_record_reader_index(rd) != n++ || eds_record_validate(&r) != EDS_OK)
			abort();
	}
	if (eds_record_reader_offset(rd) > size || eds_record_reader_size(rd) != size)
		abort();
	if (st != EDS_DONE) {
		check_detail();
		if (eds_record_reader_next(rd, &r) != EDS_E_ARG)
			abort();
	}
	eds_record_reader_close(rd);
	return 0;
}
