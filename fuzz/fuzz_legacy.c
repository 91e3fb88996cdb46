/*
 * fuzz_legacy.c - libFuzzer target for the edgesentry-rs (legacy) readers:
 * the strict serde_json record parser, the postcard decoder and the
 * streaming chain-file scanner.
 *
 * Beyond "no crash, no leak, no UB" it checks: a record that parses is
 * written back and re-read to the same record; postcard input that decodes
 * re-encodes to exactly the same bytes (one record, one encoding); and every
 * refusal leaves a one-line printable detail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/error.h"
#include "edgesentry/legacy.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_round_trip(const eds_legacy_record *r)
{
	static char buf[2 * EDS_LEGACY_JSON_MAX];
	eds_legacy_record back;
	size_t len = 0;
	if (eds_legacy_record_to_json(r, buf, sizeof buf, &len) != EDS_OK ||
	    eds_legacy_record_from_json(&back, buf, len) != EDS_OK ||
	    memcmp(&back, r, sizeof back) != 0)
		abort();
}

static void postcard_round_trip(const eds_legacy_record *r)
{
	uint8_t buf[EDS_LEGACY_POSTCARD_MAX];
	eds_legacy_record back;
	size_t len = 0;
	if (eds_legacy_postcard_encode(r, buf, sizeof buf, &len) != EDS_OK ||
	    eds_legacy_postcard_decode(&back, buf, len) != EDS_OK ||
	    memcmp(&back, r, sizeof back) != 0)
		abort();
}

static void fuzz_json(const uint8_t *data, size_t size)
{
	eds_legacy_record r;
	eds_status st = eds_legacy_record_from_json(&r, (const char *)data, size);
	fuzz_check_status(st);
	if (st == EDS_OK) {
		json_round_trip(&r);
		postcard_round_trip(&r);
	}
}

static void fuzz_postcard(const uint8_t *data, size_t size)
{
	uint8_t buf[EDS_LEGACY_POSTCARD_MAX];
	eds_legacy_record r;
	size_t len = 0;
	eds_status st = eds_legacy_postcard_decode(&r, data, size);
	fuzz_check_status(st);
	if (st != EDS_OK)
		return;
	if (eds_legacy_postcard_encode(&r, buf, sizeof buf, &len) != EDS_OK || len != size ||
	    memcmp(buf, data, size) != 0)
		abort();
}

static void fuzz_reader(const uint8_t *data, size_t size)
{
	eds_legacy_reader *rd = NULL;
	eds_legacy_record r;
	eds_status st;
	char path[128];
	/* The chain-file reader takes a path. */
	fuzz_write_scratch("chain", data, size, path);
	if (eds_legacy_reader_open(&rd, path) != EDS_OK)
		abort();
	while ((st = eds_legacy_reader_next(rd, &r)) == EDS_OK)
		json_round_trip(&r);
	fuzz_check_status(st);
	if (st == EDS_DONE && eds_legacy_reader_offset(rd) != size)
		abort(); /* DONE only after the whole input */
	eds_legacy_reader_close(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4 * EDS_LEGACY_JSON_MAX)
		return 0;
	fuzz_json(data, size);
	fuzz_postcard(data, size);
	fuzz_reader(data, size);
	return 0;
}
