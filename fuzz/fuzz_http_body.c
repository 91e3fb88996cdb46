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
 *
 * The body has two readers (http_body.c): a fast one for our clients' exact
 * form and jansson for everything else.  Whenever the fast one takes a body,
 * the jansson one must give the same answer in every way the server can
 * see: status, message, last error, item count, and per item the outcome,
 * message, record fields and payload bytes.  The kept corpus starts from
 * bodies in that form so that the fuzzer explores around it.
 *
 * The payload's base64 is decoded directly when it is canonical, else by
 * sodium: what the direct decoder takes, sodium must decode alike.
 *
 * The answers to these results (and to a refused body) are written without
 * jansson (eds_http_results_text); they must be the very bytes jansson
 * prints, or the direct writer must step aside where jansson refuses.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void check_same_item(const eds_http_batch *a, const eds_http_batch *b, size_t i)
{
	const eds_ingest_item *x = &a->items[i], *y = &b->items[i];
	if (a->results[i].outcome != b->results[i].outcome ||
	    strcmp(a->results[i].message, b->results[i].message) != 0 ||
	    memcmp(&x->record, &y->record, sizeof x->record) != 0 ||
	    (x->payload == NULL) != (y->payload == NULL) || x->payload_len != y->payload_len ||
	    (x->payload != NULL && memcmp(x->payload, y->payload, x->payload_len) != 0))
		abort();
}

/* When the fast reader takes the body, the jansson reader must agree. */
static void check_fast_path(const uint8_t *data, size_t size)
{
	char fmsg[192] = "", jmsg[192] = "", ferr[512];
	eds_http_batch f, j;
	eds_status fst;
	if (!eds_body_parse_fast((const char *)data, size, MAX_ITEMS, &f, fmsg, sizeof fmsg, &fst))
		return;
	snprintf(ferr, sizeof ferr, "%s", eds_last_error());
	eds_status jst =
	    eds_body_parse_jansson((const char *)data, size, MAX_ITEMS, &j, jmsg, sizeof jmsg);
	if (fst != jst || strcmp(fmsg, jmsg) != 0 || f.n != j.n || f.is_batch != j.is_batch ||
	    (fst != EDS_OK && strcmp(ferr, eds_last_error()) != 0))
		abort();
	for (size_t i = 0; i < f.n; i++)
		check_same_item(&f, &j, i);
	eds_http_batch_free(&f);
	eds_http_batch_free(&j);
}

/* What the canonical base64 decoder takes, sodium takes and decodes alike. */
static void check_base64(const uint8_t *data, size_t size)
{
	uint8_t *a = malloc(size / 4 * 3 + 3), *b = malloc(size / 4 * 3 + 3);
	size_t alen = 0, blen = 0;
	if (a == NULL || b == NULL)
		abort();
	if (eds_base64_decode_canonical(a, (const char *)data, size, &alen) &&
	    (sodium_base642bin(b, size / 4 * 3 + 3, (const char *)data, size, NULL, &blen, NULL,
	                       sodium_base64_VARIANT_ORIGINAL) != 0 ||
	     alen != blen || memcmp(a, b, alen) != 0))
		abort();
	free(a);
	free(b);
}

static void check_answer(const eds_ingest_result *res, size_t n, int is_batch)
{
	json_t *o = eds_http_results_json(res, n, is_batch);
	char *want = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	eds_textbuf t = {0};
	int rc = eds_http_results_text(&t, res, n, is_batch);
	if (rc == 0 ? want == NULL || t.p == NULL || strcmp(t.p, want) != 0
	            : t.p != NULL || want != NULL)
		abort();
	free(t.p);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char msg[192]; /* the server's size (http_server.c) */
	eds_http_batch b;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = 1;
	check_fast_path(data, size);
	check_base64(data, size);
	eds_status st =
	    eds_http_parse_records((const char *)data, size, MAX_ITEMS, &b, msg, sizeof msg);
	if (st != EDS_OK) {
		eds_ingest_result refusal = {.outcome = EDS_INGEST_MALFORMED};
		snprintf(refusal.message, sizeof refusal.message, "%s", msg);
		check_answer(&refusal, 1, 0);
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
	check_answer(b.results, b.n, b.is_batch);
	eds_http_batch_free(&b);
	return 0;
}
