/*
 * fuzz_record_json.c - libFuzzer target for the record JSON reader.
 *
 * Beyond "no crash, no leak, no UB" it checks that an accepted record is
 * written back and re-read to the identical record and the identical text,
 * that its signed header decodes to the same fields, and that every refusal
 * leaves a one-line printable detail (the CLI prints it as is).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/error.h"
#include "edgesentry/record.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const eds_record *r)
{
	char text[EDS_RECORD_JSON_MAX], again[EDS_RECORD_JSON_MAX];
	size_t len = 0, len2 = 0;
	eds_record back, decoded;
	uint8_t sh[EDS_HEADER_MAX];
	size_t sh_len = 0;
	if (eds_record_to_json(r, text, sizeof text, &len) != EDS_OK ||
	    eds_record_from_json(&back, text, len) != EDS_OK || memcmp(&back, r, sizeof back) != 0)
		abort();
	if (eds_record_to_json(&back, again, sizeof again, &len2) != EDS_OK || len2 != len ||
	    memcmp(text, again, len) != 0)
		abort();
	if (eds_record_header_encode(r, sh, sizeof sh, &sh_len) != EDS_OK ||
	    eds_record_header_decode(&decoded, sh, sh_len) != EDS_OK)
		abort();
	memcpy(decoded.signature, r->signature, sizeof decoded.signature);
	if (memcmp(&decoded, r, sizeof decoded) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	eds_record r;
	if (!ready) {
		if (eds_init() != EDS_OK)
			abort();
		ready = 1;
	}
	if (eds_record_from_json(&r, (const char *)data, size) == EDS_OK)
		round_trip(&r);
	else
		fuzz_check_detail();
	return 0;
}
