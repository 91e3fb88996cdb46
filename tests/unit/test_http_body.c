/*
 * test_http_body.c - the two readers of a POST /api/v1/records body
 * (src/net/http_body.c): the fast one for the exact form our clients write
 * and the jansson one for everything else.  Each body below is read by
 * both; the test checks which bodies the fast reader takes (the clients'
 * forms) and which it must leave to jansson (near misses), and that
 * whenever it takes one, every answer the server can see is the same as
 * jansson's: status, message, items, outcomes, messages, records, payloads.
 * fuzz/fuzz_http_body.c checks the same on generated bodies.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/net/ingest_body.h"
#include "edgesentry/edgesentry.h"

#define MAX_ITEMS 1000
#define BODY_CAP  (2 * 1024 * 1024)

static const uint8_t PAYLOAD[] = "inspection report: cable tension nominal";
/* PAYLOAD in base64 (base64 -w0). */
#define PAYLOAD_B64 "aW5zcGVjdGlvbiByZXBvcnQ6IGNhYmxlIHRlbnNpb24gbm9taW5hbA=="

/* Record seq of a test chain (unsigned: parsing does not verify signatures). */
static eds_record make_record(uint64_t seq, const char *object_ref)
{
	eds_record r;
	uint8_t prev[EDS_HASH_LEN] = {0};
	if (seq > 1)
		memset(prev, 0x5a, sizeof prev);
	assert_int_equal(eds_record_init(&r, "lift-01", seq, 1700000000000 + seq, PAYLOAD,
	                                 sizeof PAYLOAD - 1, prev, object_ref),
	                 EDS_OK);
	memset(r.signature, 0x11, sizeof r.signature);
	return r;
}

/* The canonical JSON text of record seq. */
static const char *record_json(uint64_t seq)
{
	static char buf[EDS_RECORD_JSON_MAX];
	eds_record r = make_record(seq, "lift-01/inspection.bin");
	assert_int_equal(eds_record_to_json(&r, buf, sizeof buf, NULL), EDS_OK);
	return buf;
}

/* A body as our clients write it: item i has the payload when with[i] is
 * 'p', none for '-', "" for 'e'; a batch when batch is nonzero. */
static char *client_body(const char *with, int batch)
{
	char *b = malloc(BODY_CAP);
	size_t n = 0, count = strlen(with);
	assert_non_null(b);
	n += (size_t)snprintf(b + n, BODY_CAP - n, "%s", batch ? "{\"items\":[" : "");
	for (size_t i = 0; i < count; i++) {
		n += (size_t)snprintf(b + n, BODY_CAP - n, "%s{\"record\":%s", i ? "," : "",
		                      record_json(i + 1));
		if (with[i] == 'p')
			n += (size_t)snprintf(b + n, BODY_CAP - n,
			                      ",\"payload\":\"" PAYLOAD_B64 "\"");
		else if (with[i] == 'e')
			n += (size_t)snprintf(b + n, BODY_CAP - n, ",\"payload\":\"\"");
		n += (size_t)snprintf(b + n, BODY_CAP - n, "}");
	}
	snprintf(b + n, BODY_CAP - n, "%s", batch ? "]}" : "");
	return b;
}

/* Replace the first occurrence of from in body by to (body has room). */
static char *edit(char *body, const char *from, const char *to)
{
	char *at = strstr(body, from);
	assert_non_null(at);
	memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	memcpy(at, to, strlen(to));
	return body;
}

static void assert_same_items(const eds_http_batch *f, const eds_http_batch *j)
{
	assert_int_equal(f->n, j->n);
	assert_int_equal(f->is_batch, j->is_batch);
	for (size_t i = 0; i < f->n; i++) {
		assert_int_equal(f->results[i].outcome, j->results[i].outcome);
		assert_string_equal(f->results[i].message, j->results[i].message);
		assert_memory_equal(&f->items[i].record, &j->items[i].record,
		                    sizeof f->items[i].record);
		assert_int_equal(f->items[i].payload == NULL, j->items[i].payload == NULL);
		assert_int_equal(f->items[i].payload_len, j->items[i].payload_len);
		if (f->items[i].payload != NULL && f->items[i].payload_len > 0)
			assert_memory_equal(f->items[i].payload, j->items[i].payload,
			                    f->items[i].payload_len);
	}
}

/*
 * Read body with both readers; assert whether the fast one takes it and
 * that the answers agree.  Returns the status, with the jansson reader's
 * batch in *out (free it) and its message in msg.
 */
static eds_status read_both(const char *body, size_t len, size_t max, int want_fast,
                            eds_http_batch *out, char *msg, size_t cap)
{
	char fmsg[192] = "";
	eds_http_batch f;
	eds_status fst = EDS_OK;
	int fast = eds_body_parse_fast(body, len, max, &f, fmsg, sizeof fmsg, &fst);
	msg[0] = '\0';
	eds_status st = eds_body_parse_jansson(body, len, max, out, msg, cap);
	assert_int_equal(fast, want_fast);
	if (!fast) {
		assert_int_equal(f.n, 0);
		assert_null(f.items);
		return st;
	}
	assert_int_equal(fst, st);
	assert_string_equal(fmsg, msg);
	assert_same_items(&f, out);
	eds_http_batch_free(&f);
	/* And the entry point the server calls gives the same again. */
	eds_http_batch s;
	char smsg[192] = "";
	assert_int_equal(eds_http_parse_records(body, len, max, &s, smsg, sizeof smsg), st);
	assert_string_equal(smsg, msg);
	assert_same_items(&s, out);
	eds_http_batch_free(&s);
	return st;
}

static eds_status read_text(const char *body, int want_fast, eds_http_batch *out)
{
	char msg[192];
	return read_both(body, strlen(body), MAX_ITEMS, want_fast, out, msg, sizeof msg);
}

static void test_client_forms_take_fast_path(void **state)
{
	(void)state;
	const char *forms[] = {"p", "-", "e", "p-ep", "----------"};
	for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
		for (int batch = 0; batch <= 1; batch++) {
			if (!batch && strlen(forms[k]) > 1)
				continue;
			char *body = client_body(forms[k], batch);
			eds_http_batch b;
			assert_int_equal(read_text(body, 1, &b), EDS_OK);
			assert_int_equal(b.n, strlen(forms[k]));
			for (size_t i = 0; i < b.n; i++) {
				eds_record want = make_record(i + 1, "lift-01/inspection.bin");
				assert_int_equal(b.results[i].outcome, EDS_INGEST_ACCEPTED);
				assert_memory_equal(&b.items[i].record, &want, sizeof want);
				assert_int_equal(b.items[i].payload != NULL, forms[k][i] != '-');
			}
			if (forms[k][0] == 'p') {
				assert_int_equal(b.items[0].payload_len, sizeof PAYLOAD - 1);
				assert_memory_equal(b.items[0].payload, PAYLOAD,
				                    sizeof PAYLOAD - 1);
			}
			eds_http_batch_free(&b);
			free(body);
		}
	}
}

/* Bad records and payloads inside the fast form: same outcomes and sentences. */
static void test_fast_path_item_errors(void **state)
{
	(void)state;
	eds_http_batch b;
	char *body = client_body("pp-", 1);
	edit(body, "\"payload_size\":40", "\"payload_size\":42"); /* stated hash now wrong */
	edit(strstr(body, "},{") + 1, "bm9taW5hbA==\"", "bm9taW5hbA\"");
	assert_int_equal(read_text(body, 1, &b), EDS_OK);
	assert_int_equal(b.results[0].outcome, EDS_INGEST_MALFORMED);
	assert_non_null(strstr(b.results[0].message, "record: record_hash"));
	assert_int_equal(b.results[1].outcome, EDS_INGEST_MALFORMED);
	assert_string_equal(b.results[1].message, "payload: not valid base64.");
	assert_int_equal(b.results[2].outcome, EDS_INGEST_ACCEPTED);
	eds_http_batch_free(&b);
	free(body);

	body = client_body("p", 0); /* one item: its problem is the body's */
	edit(body, "\"sequence\":1,", "\"sequence\":2,");
	assert_int_equal(read_text(body, 1, &b), EDS_E_MALFORMED);
	assert_int_equal(b.n, 0);
	free(body);
}

static void test_limits(void **state)
{
	(void)state;
	char msg[192];
	eds_http_batch b;
	char many[MAX_ITEMS + 2];
	memset(many, '-', sizeof many - 1);
	many[MAX_ITEMS + 1] = '\0';
	char *body = client_body(many, 1); /* 1001 items: refused by the jansson path */
	assert_int_equal(read_both(body, strlen(body), MAX_ITEMS, 0, &b, msg, sizeof msg),
	                 EDS_E_LIMIT);
	assert_string_equal(msg, "The batch has more items than allowed.");
	free(body);
	many[MAX_ITEMS] = '\0';
	body = client_body(many, 1); /* exactly the limit: fast */
	assert_int_equal(read_both(body, strlen(body), MAX_ITEMS, 1, &b, msg, sizeof msg), EDS_OK);
	assert_int_equal(b.n, MAX_ITEMS);
	eds_http_batch_free(&b);
	assert_int_equal(read_both(body, strlen(body), 0, 0, &b, msg, sizeof msg), EDS_E_LIMIT);
	free(body);
}

typedef struct near_miss {
	const char *from, *to;
	eds_status st;
} near_miss;

/* Each edit of a client body leaves the fast form; jansson answers as always. */
static void test_near_misses_fall_back(void **state)
{
	(void)state;
	static const near_miss misses[] = {
	    {"{\"record\":", "{ \"record\":", EDS_OK},
	    {"\"sequence\":1", "\"sequence\": 1", EDS_OK},
	    {"]}", "]}\n", EDS_OK},
	    {"{\"format\":\"ESR1\",", "{", EDS_OK}, /* other key order, below */
	    {"inspection.bin", "inspection\\/x.bin", EDS_OK},
	    {"lift-01/", "lift-01\\u002f", EDS_OK},
	    {"\"payload\":\"aW5z", "\"payload\":\"\\u0061W5z", EDS_OK},
	    {"\"payload\":\"aW5z", "\"payload\":\"a!5z", EDS_OK},
	    {"\"payload\":\"aW5z", "\"payload\":\"a W5z", EDS_OK},
	    {"\"payload\":\"", "\"payload\":7,\"x\":\"", EDS_OK},
	    {"}]}", ",\"x\":{\"record\":[]}}]}", EDS_OK},
	    {"]}", "],\"more\":{\"record\":1}}", EDS_E_MALFORMED},
	    {"]}", "]}]}", EDS_E_MALFORMED},
	    {"]}", "]} x", EDS_E_MALFORMED},
	    {"{\"items\":[", "{\"items\":[{\"record\":{}},", EDS_OK},
	    {"\"record_hash\":", "\"record_hash\":\"00\",\"record_hash\":", EDS_E_MALFORMED},
	    {"\"sequence\":1", "\"sequence\":01", EDS_E_MALFORMED},
	    {"\"sequence\":1", "\"sequence\":1.0", EDS_OK},
	    {"\"ESR1\"", "\"ESR\\u0031\"", EDS_OK},
	    {"{\"items\":[", "{\"items\":[],\"items\":[", EDS_E_MALFORMED},
	};
	for (size_t k = 0; k < sizeof misses / sizeof misses[0]; k++) {
		char *body = client_body("p-e", 1);
		edit(body, misses[k].from, misses[k].to);
		if (k == 3) /* format moved to the end of the first record */
			edit(body, "}", ",\"format\":\"ESR1\"}");
		eds_http_batch b;
		assert_int_equal(read_text(body, 0, &b), misses[k].st);
		eds_http_batch_free(&b);
		free(body);
	}
}

/* A record without record_hash or with a NUL in a string: not canonical. */
static void test_noncanonical_records_fall_back(void **state)
{
	(void)state;
	char *body = client_body("p", 0);
	char *rh = strstr(body, ",\"record_hash\"");
	memmove(rh, rh + 81, strlen(rh + 81) + 1); /* drop the 81-byte member */
	eds_http_batch b;
	assert_int_equal(read_text(body, 0, &b), EDS_OK);
	assert_int_equal(b.results[0].outcome, EDS_INGEST_ACCEPTED);
	eds_http_batch_free(&b);
	free(body);

	body = client_body("p", 0);
	char msg[192];
	size_t len = strlen(body);
	body[strstr(body, "lift-01/") - body + 4] = '\0'; /* "lift\0..." in object_ref */
	assert_int_equal(read_both(body, len, MAX_ITEMS, 0, &b, msg, sizeof msg), EDS_E_MALFORMED);
	free(body);
}

/* Every cut of a client body is either the whole body or not in the fast form. */
static void test_truncated_bodies(void **state)
{
	(void)state;
	char *body = client_body("p-", 1);
	size_t len = strlen(body);
	char msg[192];
	for (size_t cut = 0; cut < len; cut++) {
		eds_http_batch b;
		assert_int_equal(read_both(body, cut, MAX_ITEMS, 0, &b, msg, sizeof msg),
		                 EDS_E_MALFORMED);
	}
	free(body);
}

/* A \u0000 escape is refused with the rule, not jansson's flag name. */
static void test_nul_escape_message(void **state)
{
	(void)state;
	const char body[] = "{\"record\":{\"device_id\":\"a\\u0000b\"}}";
	eds_http_batch b;
	char msg[192];
	assert_int_equal(read_both(body, sizeof body - 1, MAX_ITEMS, 0, &b, msg, sizeof msg),
	                 EDS_E_MALFORMED);
	assert_non_null(strstr(msg, "a \\u0000 escape is not allowed"));
	assert_null(strstr(msg, "JSON_ALLOW_NUL"));
}

/* The canonical base64 decoder: what it takes, sodium takes and decodes alike; the rest it
 * leaves to sodium (RFC 4648 section 10 vectors, then spellings that are not canonical). */
static void test_base64_canonical(void **state)
{
	(void)state;
	static const char *const good[] = {
	    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "+/+/", PAYLOAD_B64};
	static const char *const other[] = {"Zh==",  "Zm9=",     "Zg",    "Zg=",
	                                    "Zg===", "Z===",     "====",  "Zm9v\n",
	                                    "-_==",  "Zg==Zg==", "Zm 9v", "Zm9v===="};
	uint8_t a[64], b[64];
	size_t alen, blen;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		size_t n = strlen(good[i]);
		assert_int_equal(eds_base64_decode_canonical(a, good[i], n, &alen), 1);
		assert_int_equal(sodium_base642bin(b, sizeof b, good[i], n, NULL, &blen, NULL,
		                                   sodium_base64_VARIANT_ORIGINAL),
		                 0);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
	}
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		assert_int_equal(eds_base64_decode_canonical(a, other[i], strlen(other[i]), &alen),
		                 0);
}

int main(void)
{
	if (eds_init() != EDS_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_forms_take_fast_path),
	    cmocka_unit_test(test_fast_path_item_errors),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_near_misses_fall_back),
	    cmocka_unit_test(test_noncanonical_records_fall_back),
	    cmocka_unit_test(test_truncated_bodies),
	    cmocka_unit_test(test_nul_escape_message),
	    cmocka_unit_test(test_base64_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
