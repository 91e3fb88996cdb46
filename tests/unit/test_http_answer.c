/*
 * test_http_answer.c - the ingest answers written without jansson
 * (eds_http_results_text, src/net/http_body.c) against jansson's printing of
 * the same answers (json_dumps(eds_http_results_json(...), JSON_COMPACT)),
 * which is what the server sent before: for every outcome, single and
 * batch, and messages with every character JSON must escape, non-ASCII
 * text, the longest message, and messages jansson refuses (not UTF-8),
 * for which the direct writer must step aside; and the same for the
 * decision log line (eds_http_log_text).  fuzz/fuzz_http_body.c compares
 * the two on the answers to generated bodies.
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

#include "../../src/net/http_internal.h"
#include "edgesentry/edgesentry.h"

static eds_ingest_result result(eds_ingest_outcome o, const char *message)
{
	eds_ingest_result r;
	memset(&r, 0, sizeof r);
	r.outcome = o;
	for (size_t i = 0; i < EDS_HASH_LEN; i++)
		r.record_hash[i] = (uint8_t)(0xa5 ^ (i * 7));
	snprintf(r.message, sizeof r.message, "%s", message);
	return r;
}

/* b (written directly) holds exactly what jansson prints for o; o is freed. */
static void assert_dumps_as(json_t *o, const eds_textbuf *b)
{
	assert_non_null(o);
	char *want = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(want);
	assert_false(b->oom);
	assert_non_null(b->p);
	assert_int_equal(strlen(b->p), b->n);
	assert_string_equal(b->p, want);
	free(want);
}

/* The direct text equals jansson's; returns it (free it). */
static char *assert_same_text(const eds_ingest_result *res, size_t n, int is_batch)
{
	eds_textbuf b = {0};
	assert_int_equal(eds_http_results_text(&b, res, n, is_batch), 0);
	assert_dumps_as(eds_http_results_json(res, n, is_batch), &b);
	return b.p;
}

static void test_every_outcome(void **state)
{
	(void)state;
	eds_ingest_result all[EDS_INGEST_OUTCOME_COUNT + 1];
	for (int o = 0; o <= EDS_INGEST_OUTCOME_COUNT; o++) {
		/* One past the last outcome: eds_ingest_code's "error". */
		all[o] = result((eds_ingest_outcome)o, "Record 3 of device lift-01 was refused.");
		free(assert_same_text(&all[o], 1, 0));
		free(assert_same_text(&all[o], 1, 1));
	}
	free(assert_same_text(all, EDS_INGEST_OUTCOME_COUNT + 1, 1));
}

/* FORMAT.md 4's shapes, spelled out: both writers could otherwise be wrong alike. */
static void test_format_shapes(void **state)
{
	(void)state;
	eds_ingest_result r[2] = {result(EDS_INGEST_ACCEPTED, ""),
	                          result(EDS_INGEST_SEQUENCE_GAP, "Expected sequence 4.")};
	char hex[2 * EDS_HASH_LEN + 1], want[256];
	eds_hex_encode(hex, r[0].record_hash, EDS_HASH_LEN);
	char *text = assert_same_text(r, 2, 1);
	snprintf(want, sizeof want,
	         "{\"results\":[{\"status\":\"accepted\",\"record_hash\":\"%s\"},"
	         "{\"status\":\"rejected\",\"error\":\"sequence_gap\",\"message\":"
	         "\"Expected sequence 4.\"}]}",
	         hex);
	assert_string_equal(text, want);
	free(text);
	r[0].outcome = EDS_INGEST_STORED;
	text = assert_same_text(r, 1, 0);
	assert_string_equal(text, "{\"status\":\"stored\"}");
	free(text);
}

static void test_escapes(void **state)
{
	(void)state;
	char every[128];
	for (int c = 1; c < 128; c++)
		every[c - 1] = (char)c; /* every control character, '"', '\\', '/', DEL */
	every[127] = '\0';
	const char *messages[] = {
	    every,
	    "record: object_ref \"a\\b\"/c is not allowed.",
	    "tab\there, newline\nthere, cr\r, bs\b, ff\f, nul-ish \x01\x1f end\\",
	    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \xef\xbf\xbf",
	    "",
	};
	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
		eds_ingest_result r = result(EDS_INGEST_MALFORMED, messages[i]);
		free(assert_same_text(&r, 1, 0));
		free(assert_same_text(&r, 1, 1));
	}
	/* The longest message, all quotes: every byte doubles. */
	eds_ingest_result r = result(EDS_INGEST_MALFORMED, "");
	memset(r.message, '"', sizeof r.message - 1);
	r.message[sizeof r.message - 1] = '\0';
	free(assert_same_text(&r, 1, 0));
}

/* A message jansson refuses: the direct writer leaves b untouched and says so. */
static void test_not_utf8_steps_aside(void **state)
{
	(void)state;
	const char *bad[] = {"cut \xc3", "lone \x80", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
	                     "\xf4\x90\x80\x80 above U+10FFFF"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		eds_ingest_result r[2] = {result(EDS_INGEST_ACCEPTED, ""),
		                          result(EDS_INGEST_BAD_SIGNATURE, bad[i])};
		json_t *o = eds_http_result_json(&r[1]);
		assert_null(o); /* what the server then answers is unchanged */
		eds_textbuf b = {0};
		assert_int_equal(eds_http_results_text(&b, r, 2, 1), -1);
		assert_int_equal(eds_http_results_text(&b, &r[1], 1, 0), -1);
		assert_null(b.p);
		assert_int_equal(b.n, 0);
	}
	/* An accepted result's message is not part of its answer, whatever it holds. */
	eds_ingest_result ok = result(EDS_INGEST_DUPLICATE, "\xff");
	free(assert_same_text(&ok, 1, 0));
}

static void test_large_batch(void **state)
{
	(void)state;
	enum { N = 1000 };
	eds_ingest_result *r = malloc(N * sizeof *r);
	assert_non_null(r);
	for (size_t i = 0; i < N; i++) {
		char msg[64];
		snprintf(msg, sizeof msg, "Item %zu: \"why\"\n", i);
		r[i] = result((eds_ingest_outcome)(i % EDS_INGEST_OUTCOME_COUNT), msg);
	}
	free(assert_same_text(r, N, 1));
	free(r);
}

/* The decision log line: the direct text equals jansson's printing. */
static void assert_same_log(const eds_ledger_event *ev, const char *hex, const char *msg)
{
	eds_textbuf b = {0};
	assert_int_equal(eds_http_log_text(&b, ev, hex, msg), 0);
	assert_dumps_as(eds_http_log_json(ev, hex, msg), &b);
	free(b.p);
}

static void test_log_line(void **state)
{
	(void)state;
	eds_ledger_event ev;
	memset(&ev, 0, sizeof ev);
	ev.time_ms = UINT64_C(1764300000123);
	ev.sequence = UINT64_C(9007199254740993); /* above 2^53: printed exactly */
	snprintf(ev.source, sizeof ev.source, "[::ffff:10.1.2.3]:50123");
	snprintf(ev.device_id, sizeof ev.device_id, "lift-01");
	snprintf(ev.decision, sizeof ev.decision, "rejected");
	snprintf(ev.reason, sizeof ev.reason, "bad_signature");
	char hex[2 * EDS_HASH_LEN + 1];
	memset(hex, 'a', sizeof hex - 1);
	hex[sizeof hex - 1] = '\0';
	assert_same_log(&ev, hex, "The signature does not verify.");
	assert_same_log(&ev, "", "");
	assert_same_log(
	    &ev, hex, "quote \" back \\ tab \t nl \n ctl \x01\x1f del \x7f \xc3\xa9 \xe2\x82\xac");
	memset(&ev, 0, sizeof ev); /* malformed input: no device, no sequence */
	snprintf(ev.decision, sizeof ev.decision, "rejected");
	assert_same_log(&ev, "", "The body is not valid JSON.");
	/* Not UTF-8: the direct writer steps aside and leaves the buffer alone. */
	eds_textbuf b = {0};
	assert_int_equal(eds_http_log_text(&b, &ev, "", "bad \xff byte"), -1);
	assert_null(b.p);
	snprintf(ev.device_id, sizeof ev.device_id, "\xc3");
	assert_int_equal(eds_http_log_text(&b, &ev, "", "fine"), -1);
	assert_null(b.p);
}

int main(void)
{
	if (eds_init() != EDS_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_outcome), cmocka_unit_test(test_format_shapes),
	    cmocka_unit_test(test_escapes),       cmocka_unit_test(test_not_utf8_steps_aside),
	    cmocka_unit_test(test_large_batch),   cmocka_unit_test(test_log_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
