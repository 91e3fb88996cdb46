/*
 * fuzz_http_body.c - libFuzzer target for the body of POST /api/v1/records:
 * the {"record": ..., "payload": base64} / {"items": [...]} wrapper and the
 * base64 payload decoding (the record object itself is eds_record_from_json,
 * fuzzed by fuzz_record_json).
 *
 * Beyond "no crash, no leak, no UB": the server puts every message below
 * into a JSON response, so each must be non-empty valid UTF-8 on one line;
 * a parsed batch has 1..max items, each ACCEPTED or MALFORMED, and only an
 * ACCEPTED item may carry a payload.
 */
#include <jansson.h>

#include "fuzz_util.h"
#include "net/http_internal.h"

#define MAX_ITEMS 8

static void check_message(const char *msg)
{
	json_t *s = json_string(msg); /* NULL for invalid UTF-8 */
	if (s == NULL || *msg == '\0')
		abort();
	json_decref(s);
	for (; *msg != '\0'; msg++)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char msg[192]; /* the server's size (http_server.c) */
	eds_http_batch b;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = 1;
	eds_status st =
	    eds_http_parse_records((const char *)data, size, MAX_ITEMS, &b, msg, sizeof msg);
	if (st != EDS_OK) {
		check_message(msg);
		fuzz_check_detail();
		if (b.n != 0 || b.items != NULL)
			abort();
		return 0;
	}
	if (b.n == 0 || b.n > MAX_ITEMS || (!b.is_batch && b.n != 1))
		abort();
	for (size_t i = 0; i < b.n; i++) {
		const eds_ingest_result *r = &b.results[i];
		if (r->outcome == EDS_INGEST_MALFORMED)
			check_message(r->message);
		else if (r->outcome != EDS_INGEST_ACCEPTED)
			abort();
		if (b.items[i].payload != NULL && r->outcome != EDS_INGEST_ACCEPTED)
			abort();
	}
	eds_http_batch_free(&b);
	return 0;
}
