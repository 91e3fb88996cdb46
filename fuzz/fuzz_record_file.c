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

#include "edgesentry/error.h"
#include "edgesentry/record_file.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Details name the file: "PATH: ..." on one printable line. */
static void check_detail(const char *path)
{
	size_t n = strlen(path);
	if (strncmp(eds_last_error(), path, n) != 0 || eds_last_error()[n] != ':')
		abort();
	fuzz_check_detail();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	eds_record_reader *rd;
	eds_record r;
	eds_status st;
	static int ready;
	char path[128];
	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = 1;
	fuzz_write_scratch("records", data, size, path);
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
		check_detail(path);
		if (eds_record_reader_next(rd, &r) != EDS_E_ARG)
			abort();
	}
	eds_record_reader_close(rd);
	return 0;
}
