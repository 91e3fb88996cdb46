/*
 * fuzz_hex.c - eds_hex_decode on arbitrary text: never reads or writes out
 * of bounds, accepts exactly the well-formed input, and what it accepts
 * encodes back to the same text (lowercased).
 */
#include <ctype.h>
#include <stdlib.h>

#include "edgesentry/encoding.h"

#define MAX_BYTES 256

static int is_hex(uint8_t c)
{
	return isxdigit(c) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t bin[MAX_BYTES];
	char back[2 * MAX_BYTES + 1];
	/* Odd sizes ask for size/2 bytes from size characters: must be refused. */
	size_t len = size / 2;
	if (len > MAX_BYTES)
		return 0;
	int well_formed = size % 2 == 0;
	for (size_t i = 0; i < size && well_formed; i++)
		well_formed = is_hex(data[i]);

	eds_status st = eds_hex_decode(bin, len, (const char *)data, size);
	if ((st == EDS_OK) != well_formed)
		abort();
	if (st != EDS_OK && st != EDS_E_MALFORMED)
		abort();
	if (st == EDS_OK) {
		eds_hex_encode(back, bin, len);
		for (size_t i = 0; i < size; i++)
			if (back[i] != (char)tolower(data[i]))
				abort();
	}
	return 0;
}
