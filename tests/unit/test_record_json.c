/*
 * test_record_json.c - the JSON form (FORMAT.md 1.4): every reader rule gives
 * its EDS_E_* status and a message naming the field; the writer's output is
 * compact, ordered, lowercase, unescaped UTF-8, and round-trips exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/edgesentry.h"
#include "record_internal.h"
#include "test_support.h"

enum { F_FORMAT, F_DEVICE, F_SEQ, F_TS, F_SIZE, F_PH, F_PREV, F_REF, F_SIG, F_HASH, F_N };
static const char *const keys[F_N] = {
    "format",       "device_id", "sequence",   "timestamp_ms", "payload_size",
    "payload_hash", "prev_hash", "object_ref", "signature",    "record_hash",
};

/* A signed record (sequence 2, so prev_hash is free) and its raw JSON values. */
static eds_record good;
#define RAW_MAX 1100
static char raw[F_N][RAW_MAX];

static void setup_good(void)
{
	uint8_t seed[32], prev[32], hash[32];
	eds_secret_key sk;
	memset(seed, 9, sizeof seed);
	memset(prev, 0x5a, sizeof prev);
	assert_int_equal(eds_secret_key_from_seed(&sk, seed), EDS_OK);
	assert_int_equal(eds_record_init(&good, "cam-7", 2, 1700000000123ULL,
	                                 (const uint8_t *)"abc", 3, prev, "cam-7/2.jpg"),
	                 EDS_OK);
	assert_int_equal(eds_record_sign(&good, &sk), EDS_OK);
	eds_secret_key_wipe(&sk);
	assert_int_equal(eds_record_compute_hash(&good, hash), EDS_OK);

	char hex[129];
	snprintf(raw[F_FORMAT], sizeof raw[0], "\"ESR1\"");
	snprintf(raw[F_DEVICE], sizeof raw[0], "\"%s\"", good.device_id);
	snprintf(raw[F_SEQ], sizeof raw[0], "%llu", (unsigned long long)good.sequence);
	snprintf(raw[F_TS], sizeof raw[0], "%llu", (unsigned long long)good.timestamp_ms);
	snprintf(raw[F_SIZE], sizeof raw[0], "%llu", (unsigned long long)good.payload_size);
	eds_hex_encode(hex, good.payload_hash, 32);
	snprintf(raw[F_PH], sizeof raw[0], "\"%s\"", hex);
	eds_hex_encode(hex, good.prev_hash, 32);
	snprintf(raw[F_PREV], sizeof raw[0], "\"%s\"", hex);
	snprintf(raw[F_REF], sizeof raw[0], "\"%s\"", good.object_ref);
	eds_hex_encode(hex, good.signature, 64);
	snprintf(raw[F_SIG], sizeof raw[0], "\"%s\"", hex);
	eds_hex_encode(hex, hash, 32);
	snprintf(raw[F_HASH], sizeof raw[0], "\"%s\"", hex);
}

/*
 * The good record's JSON with field `which` given the raw JSON text `value`
 * (NULL: key left out); `extra` (may be NULL) is appended as more members.
 */
static char *build(int which, const char *value, const char *extra)
{
	size_t cap = 20000 + (value ? strlen(value) : 0) + (extra ? strlen(extra) : 0);
	char *out = malloc(cap);
	size_t n = 0;
	assert_non_null(out);
	out[n++] = '{';
	for (int i = 0; i < F_N; i++) {
		const char *v = i == which ? value : raw[i];
		if (v == NULL)
			continue;
		n +=
		    (size_t)snprintf(out + n, cap - n, "%s\"%s\":%s", n > 1 ? "," : "", keys[i], v);
	}
	if (extra != NULL)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n > 1 ? "," : "", extra);
	snprintf(out + n, cap - n, "}");
	return out;
}

/* Like build, without the record_hash member (for values that change the hash). */
static char *build_nohash(int which, const char *value)
{
	char *json = build(which, value, NULL);
	char *cut = strstr(json, ",\"record_hash\"");
	assert_non_null(cut);
	strcpy(cut, "}");
	return json;
}

static eds_status parse(const char *json, eds_record *r)
{
	return eds_record_from_json(r, json, strlen(json));
}

/* The document must fail with want and a message containing text. */
static void expect_fail(const char *json, eds_status want, const char *text)
{
	eds_record r;
	eds_status st = parse(json, &r);
	if (st != want || strstr(eds_last_error(), text) == NULL)
		fail_msg("input %.200s: got status %d (%s), want %d with '%s'", json, st,
		         eds_last_error(), want, text);
	assert_null(strchr(eds_last_error(), '\n'));
}

static void expect_field(int which, const char *value, eds_status want, const char *text)
{
	char *json = build(which, value, NULL);
	expect_fail(json, want, text);
	free(json);
}

static void expect_ok(const char *json, eds_record *r)
{
	eds_status st = parse(json, r);
	if (st != EDS_OK)
		fail_msg("input %.200s: %s", json, eds_last_error());
}

static void test_round_trip(void **state)
{
	(void)state;
	char buf[EDS_RECORD_JSON_MAX], again[EDS_RECORD_JSON_MAX];
	size_t len, len2;
	eds_record r;
	char *json = build(-1, NULL, NULL);

	assert_int_equal(eds_record_to_json(&good, buf, sizeof buf, &len), EDS_OK);
	/* Compact, in FORMAT.md order, always with record_hash: exactly our template. */
	assert_string_equal(buf, json);
	assert_int_equal(len, strlen(buf));
	expect_ok(buf, &r);
	assert_memory_equal(&r, &good, sizeof r);
	assert_int_equal(eds_record_to_json(&r, again, sizeof again, &len2), EDS_OK);
	assert_string_equal(again, buf);
	free(json);

	/* Without record_hash, keys shuffled, hex in capitals: the same record. */
	char shuffled[10 * RAW_MAX], upper_sig[RAW_MAX];
	snprintf(upper_sig, sizeof upper_sig, "%s", raw[F_SIG]);
	for (char *p = upper_sig; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(shuffled, sizeof shuffled,
	         "  {\n \"signature\" : %s,\"object_ref\":%s,\"prev_hash\":%s,"
	         "\"payload_hash\":%s,\"payload_size\":%s,\"timestamp_ms\":%s,\"sequence\":%s,"
	         "\"device_id\":%s,\"format\":\"ESR1\"}\n",
	         upper_sig, raw[F_REF], raw[F_PREV], raw[F_PH], raw[F_SIZE], raw[F_TS], raw[F_SEQ],
	         raw[F_DEVICE]);
	expect_ok(shuffled, &r);
	assert_memory_equal(&r, &good, sizeof r);
}

static void test_writer_strings(void **state)
{
	(void)state;
	eds_record r = good, back;
	char buf[EDS_RECORD_JSON_MAX], again[EDS_RECORD_JSON_MAX];
	/* UTF-8 stays UTF-8; only '"' and '\' are escaped; '/' is not. */
	strcpy(r.object_ref, "caf\xc3\xa9/\"q\"\\x/\xe2\x80\xa8/\xf0\x9f\x9b\x97");
	assert_int_equal(eds_record_to_json(&r, buf, sizeof buf, NULL), EDS_OK);
	assert_non_null(strstr(buf, "\"object_ref\":\"caf\xc3\xa9/\\\"q\\\"\\\\x/\xe2\x80\xa8/"
	                            "\xf0\x9f\x9b\x97\""));
	assert_null(strstr(buf, "\\u"));
	expect_ok(buf, &back);
	assert_memory_equal(&back, &r, sizeof r);
	assert_int_equal(eds_record_to_json(&back, again, sizeof again, NULL), EDS_OK);
	assert_string_equal(again, buf);

	/* \u escapes (including a surrogate pair) read as the same bytes. */
	eds_record esc;
	char *json = build_nohash(F_REF, "\"caf\\u00e9/\\\"q\\\"\\\\x/\\u2028/\\ud83d\\uded7\"");
	expect_ok(json, &esc);
	assert_string_equal(esc.object_ref, r.object_ref);
	free(json);

	/* The largest record fits EDS_RECORD_JSON_MAX; a small buffer is EDS_E_LIMIT. */
	memset(r.device_id, 'd', EDS_DEVICE_ID_MAX);
	r.device_id[EDS_DEVICE_ID_MAX] = '\0';
	memset(r.object_ref, '"', EDS_OBJECT_REF_MAX);
	r.object_ref[EDS_OBJECT_REF_MAX] = '\0';
	r.sequence = r.timestamp_ms = r.payload_size = EDS_INT_MAX;
	size_t len;
	assert_int_equal(eds_record_to_json(&r, buf, sizeof buf, &len), EDS_OK);
	expect_ok(buf, &back);
	assert_memory_equal(&back, &r, sizeof r);
	assert_int_equal(eds_record_to_json(&r, buf, len, NULL), EDS_E_LIMIT);
	assert_int_equal(eds_record_to_json(&r, buf, len + 1, NULL), EDS_OK);

	r = good;
	r.sequence = 0;
	assert_int_equal(eds_record_to_json(&r, buf, sizeof buf, NULL), EDS_E_FIELD);
	assert_int_equal(eds_record_to_json(NULL, buf, sizeof buf, NULL), EDS_E_ARG);
	assert_int_equal(eds_record_to_json(&good, NULL, 0, NULL), EDS_E_ARG);
}

static void test_syntax(void **state)
{
	(void)state;
	eds_record r;
	expect_fail("", EDS_E_MALFORMED, "JSON:");
	expect_fail("{", EDS_E_MALFORMED, "JSON:");
	expect_fail("not json", EDS_E_MALFORMED, "JSON:");
	expect_fail("[]", EDS_E_MALFORMED, "must be an object");
	expect_fail("\"ESR1\"", EDS_E_MALFORMED, "JSON:");
	expect_fail("{\"format\":\"ESR1\",}", EDS_E_MALFORMED, "JSON:");
	expect_fail("{\"format\":\"ESR1\"\n\n,x}", EDS_E_MALFORMED, "line 3");
	char *json = build(-1, NULL, NULL);
	size_t n = strlen(json);
	char *more = malloc(2 * n + 2);
	snprintf(more, 2 * n + 2, "%s%s", json, json);
	expect_fail(more, EDS_E_MALFORMED, "after the end of the first JSON value");
	snprintf(more, 2 * n + 2, "%s x", json);
	expect_fail(more, EDS_E_MALFORMED, "after the end");
	/* A raw NUL byte inside the text. */
	memcpy(more, json, n);
	more[10] = '\0';
	assert_int_equal(eds_record_from_json(&r, more, n), EDS_E_MALFORMED);
	free(more);
	free(json);

	/* Duplicate keys, even with equal values; the message shows the key. */
	json = build(-1, NULL, "\"sequence\":2");
	expect_fail(json, EDS_E_MALFORMED, "duplicate object key near '\"sequence\"'");
	free(json);
	/* Raw invalid UTF-8 and a lone surrogate escape. */
	expect_field(F_REF, "\"a\xff\"", EDS_E_MALFORMED, "JSON:");
	expect_field(F_REF, "\"a\xc0\xaf\"", EDS_E_MALFORMED, "JSON:");
	expect_field(F_REF, "\"\\ud800\"", EDS_E_MALFORMED, "JSON:");
	/* NUL escaped in a value or a key. */
	expect_field(F_REF, "\"a\\u0000b\"", EDS_E_MALFORMED, "\\u0000");
	expect_field(F_DEVICE, "\"a\\u0000\"", EDS_E_MALFORMED, "\\u0000");
	json = build(-1, NULL, "\"k\\u0000\":1");
	expect_fail(json, EDS_E_MALFORMED, "\\u0000");
	free(json);
	/* A raw newline inside a string: the message stays on one line. */
	expect_field(F_REF, "\"a\nb\"", EDS_E_MALFORMED, "JSON:");

	/* Deep nesting is refused by the parser (2500 levels fit the size limit). */
	char deep[6000];
	n = (size_t)sprintf(deep, "{\"format\":");
	memset(deep + n, '[', 2500);
	memset(deep + n + 2500, ']', 2500);
	strcpy(deep + n + 5000, "}");
	expect_fail(deep, EDS_E_MALFORMED, "JSON:");

	/* Over EDS_RECORD_JSON_MAX before parsing at all. */
	char *big = malloc(EDS_RECORD_JSON_MAX + 2);
	memset(big, ' ', EDS_RECORD_JSON_MAX + 1);
	big[0] = '{';
	big[EDS_RECORD_JSON_MAX] = '}';
	assert_int_equal(eds_record_from_json(&r, big, EDS_RECORD_JSON_MAX + 1), EDS_E_LIMIT);
	assert_non_null(strstr(eds_last_error(), "8192"));
	free(big);
	assert_int_equal(eds_record_from_json(NULL, "{}", 2), EDS_E_ARG);
	assert_int_equal(eds_record_from_json(&r, NULL, 0), EDS_E_ARG);
}

static void test_keys(void **state)
{
	(void)state;
	char *json = build(-1, NULL, "\"colour\":\"red\"");
	expect_fail(json, EDS_E_FIELD, "unknown key \"colour\"");
	free(json);
	json = build(-1, NULL, "\"Sequence\":1");
	expect_fail(json, EDS_E_FIELD, "unknown key \"Sequence\"");
	free(json);
	/* A key with a control character is shown safely. */
	json = build(-1, NULL, "\"a\\nb\":1");
	expect_fail(json, EDS_E_FIELD, "unknown key \"a?b\"");
	free(json);
	/* Every key but record_hash is required. */
	for (int i = 0; i < F_HASH; i++) {
		char want[64];
		snprintf(want, sizeof want, "%s: missing", keys[i]);
		expect_field(i, NULL, EDS_E_FIELD, want);
	}
	eds_record r;
	json = build(F_HASH, NULL, NULL);
	expect_ok(json, &r);
	assert_memory_equal(&r, &good, sizeof r);
	free(json);
	expect_fail("{}", EDS_E_FIELD, "format: missing");

	expect_field(F_FORMAT, "\"ESR2\"", EDS_E_FIELD, "format: must be \"ESR1\"");
	expect_field(F_FORMAT, "\"esr1\"", EDS_E_FIELD, "format");
	expect_field(F_FORMAT, "1", EDS_E_FIELD, "format");
	expect_field(F_FORMAT, "null", EDS_E_FIELD, "format");
}

static void test_integers(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "\"2\"",
	    "2.0",
	    "2e0",
	    "-1",
	    "true",
	    "null",
	    "[2]",
	    "{}",
	    "9007199254740992",     /* 2^53 */
	    "9223372036854775807",  /* 2^63-1: jansson holds it, we refuse it */
	    "9223372036854775808",  /* 2^63: beyond jansson */
	    "18446744073709551617", /* 2^64+1 */
	    "-9223372036854775809", /* below the most negative */
	    "123456789012345678901234567890",
	    "1e400",
	};
	const int int_fields[] = {F_SEQ, F_TS, F_SIZE};
	for (size_t f = 0; f < 3; f++) {
		char want[80];
		snprintf(want, sizeof want, "%s: must be an integer %d .. 2^53-1",
		         keys[int_fields[f]], int_fields[f] == F_SEQ ? 1 : 0);
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			expect_field(int_fields[f], bad[i], EDS_E_FIELD, want);
	}
	expect_field(F_SEQ, "0", EDS_E_FIELD, "sequence: must be an integer 1 .. 2^53-1, got 0");
	expect_field(F_SEQ, "1.5", EDS_E_FIELD, "got a real number");
	expect_field(F_SEQ, "\"1\"", EDS_E_FIELD, "got a string");
	/* Pretty-printed overflow: the field is still named. */
	expect_field(F_TS, "  \n 99999999999999999999999 ", EDS_E_FIELD, "timestamp_ms:");

	/* The extremes are accepted (without record_hash, which would not match). */
	eds_record r;
	char *json;
	int ok_fields[] = {F_TS, F_SIZE};
	for (int i = 0; i < 2; i++) {
		for (int v = 0; v < 2; v++) {
			json = build_nohash(ok_fields[i], v ? "9007199254740991" : "0");
			expect_ok(json, &r);
			free(json);
		}
	}
	json = build_nohash(F_SEQ, "9007199254740991");
	expect_ok(json, &r);
	assert_int_equal(r.sequence, EDS_INT_MAX);
	free(json);
	/* -0 is the integer 0 in JSON. */
	json = build_nohash(F_TS, "-0");
	expect_ok(json, &r);
	assert_int_equal(r.timestamp_ms, 0);
	free(json);
}

static void test_hex_fields(void **state)
{
	(void)state;
	const int hex_fields[] = {F_PH, F_PREV, F_SIG, F_HASH};
	for (size_t f = 0; f < 4; f++) {
		int which = hex_fields[f];
		size_t hex_len = which == F_SIG ? 128 : 64;
		char v[RAW_MAX], want[64];
		snprintf(want, sizeof want, "%s: must be", keys[which]);
		/* one short, one long, a non-hex digit, wrong types */
		snprintf(v, sizeof v, "\"%.*s\"", (int)hex_len - 1, raw[which] + 1);
		expect_field(which, v, EDS_E_FIELD, want);
		snprintf(v, sizeof v, "\"%.*s0\"", (int)hex_len, raw[which] + 1);
		expect_field(which, v, EDS_E_FIELD, want);
		snprintf(v, sizeof v, "\"g%.*s\"", (int)hex_len - 1, raw[which] + 2);
		expect_field(which, v, EDS_E_FIELD, "non-hex");
		snprintf(v, sizeof v, "\" %.*s\"", (int)hex_len - 1, raw[which] + 2);
		expect_field(which, v, EDS_E_FIELD, want);
		expect_field(which, "\"\"", EDS_E_FIELD, want);
		expect_field(which, "123", EDS_E_FIELD, want);
		expect_field(which, "null", EDS_E_FIELD, want);
	}
	/* Uppercase record_hash is accepted. */
	char v[RAW_MAX];
	eds_record r;
	snprintf(v, sizeof v, "%s", raw[F_HASH]);
	for (char *p = v; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	char *json = build(F_HASH, v, NULL);
	expect_ok(json, &r);
	free(json);
}

static void test_strings(void **state)
{
	(void)state;
	char v[1200];
	expect_field(F_DEVICE, "\"\"", EDS_E_FIELD, "device_id");
	expect_field(F_DEVICE, "\".\"", EDS_E_FIELD, "device_id");
	expect_field(F_DEVICE, "\"..\"", EDS_E_FIELD, "device_id");
	expect_field(F_DEVICE, "\"cam 7\"", EDS_E_FIELD, "device_id");
	expect_field(F_DEVICE, "\"cam/7\"", EDS_E_FIELD, "device_id");
	expect_field(F_DEVICE, "\"caf\xc3\xa9\"", EDS_E_FIELD, "device_id");
	expect_field(F_DEVICE, "7", EDS_E_FIELD, "device_id: must be a string");
	snprintf(v, sizeof v, "\"%0129d\"", 0);
	expect_field(F_DEVICE, v, EDS_E_FIELD, "device_id: must be at most 128 bytes, got 129");
	expect_field(F_REF, "\"a\\u0001\"", EDS_E_FIELD, "object_ref");
	expect_field(F_REF, "\"a\\u007f\"", EDS_E_FIELD, "object_ref");
	expect_field(F_REF, "\"a\\tb\"", EDS_E_FIELD, "object_ref");
	expect_field(F_REF, "[]", EDS_E_FIELD, "object_ref: must be a string");
	snprintf(v, sizeof v, "\"%01025d\"", 0);
	expect_field(F_REF, v, EDS_E_FIELD, "object_ref: must be at most 1024 bytes, got 1025");
	/* 1024 bytes written as 6-byte escapes still count as 1024 bytes. */
	char *esc = malloc(6 * 1025 + 3);
	size_t n = 0;
	esc[n++] = '"';
	for (int i = 0; i < 1024; i++)
		n += (size_t)sprintf(esc + n, "\\u0041");
	strcpy(esc + n, "\"");
	char *json = build_nohash(F_REF, esc);
	eds_record r;
	expect_ok(json, &r);
	assert_int_equal(strlen(r.object_ref), 1024);
	free(json);
	free(esc);
	/* prev_hash must be zero for sequence 1. */
	expect_field(F_SEQ, "1", EDS_E_FIELD, "prev_hash");
}

static void test_record_hash(void **state)
{
	(void)state;
	char v[RAW_MAX];
	snprintf(v, sizeof v, "%s", raw[F_HASH]);
	v[1] = v[1] == '0' ? '1' : '0';
	expect_field(F_HASH, v, EDS_E_HASH_MISMATCH, "record_hash");
	/* Any change to a signed field with the old record_hash is a mismatch. */
	expect_field(F_TS, "1700000000124", EDS_E_HASH_MISMATCH, "record_hash: states");
	expect_field(F_REF, "\"cam-7/3.jpg\"", EDS_E_HASH_MISMATCH, "record_hash");
	/* A bad signature is not the reader's business, but changes the hash. */
	char sig[RAW_MAX];
	snprintf(sig, sizeof sig, "%s", raw[F_SIG]);
	sig[5] = sig[5] == 'a' ? 'b' : 'a';
	expect_field(F_SIG, sig, EDS_E_HASH_MISMATCH, "record_hash");
	char *json = build_nohash(F_SIG, sig);
	eds_record r;
	expect_ok(json, &r);
	eds_public_key pk;
	uint8_t seed[32];
	eds_secret_key sk;
	memset(seed, 9, sizeof seed);
	assert_int_equal(eds_secret_key_from_seed(&sk, seed), EDS_OK);
	eds_secret_key_public(&sk, &pk);
	eds_secret_key_wipe(&sk);
	assert_int_equal(eds_record_verify(&r, &pk), EDS_E_SIGNATURE);
	assert_int_equal(eds_record_verify(&good, &pk), EDS_OK);
	free(json);
}

/* The reader with jansson alone (no canonical-form shortcut). */
static eds_status from_jansson_only(eds_record *r, const char *json, size_t len)
{
	eds_status st;
	json_t *root = eds_json_load_strict(json, len, &st);
	if (root == NULL)
		return st;
	st = eds_record_from_jansson(r, root);
	json_decref(root);
	return st;
}

/* Both readers agree on status, message and record. */
static void assert_same_reading(const char *json, size_t len)
{
	eds_record a, b;
	char msg[512];
	eds_status sa = eds_record_from_json(&a, json, len);
	snprintf(msg, sizeof msg, "%s", eds_last_error());
	eds_status sb = from_jansson_only(&b, json, len);
	if (sa != sb || (sa != EDS_OK && strcmp(msg, eds_last_error()) != 0) ||
	    (sa == EDS_OK && memcmp(&a, &b, sizeof a) != 0))
		fail_msg("readers differ on %.*s: %d '%s' vs %d '%s'", (int)len, json, sa, msg, sb,
		         eds_last_error());
}

/*
 * The canonical form (the writer's output) is read without jansson; any
 * other text goes to jansson.  Differential check on the writer's output
 * with every byte replaced by, and preceded by, each byte that matters to
 * the shortcut (quote, backslash, digit, hex, separator, space, non-ASCII),
 * and with every byte deleted.
 */
static void test_canonical_shortcut(void **state)
{
	(void)state;
	static const char bytes[] = "\"\\,:{} 0179aAfFgz-.e\x7f\x80\xc3";
	char json[EDS_RECORD_JSON_MAX], m[EDS_RECORD_JSON_MAX + 1];
	size_t len;
	eds_record r;
	assert_int_equal(eds_record_to_json(&good, json, sizeof json, &len), EDS_OK);
	assert_int_equal(eds_record_from_json(&r, json, len), EDS_OK);
	assert_memory_equal(&r, &good, sizeof r);
	for (size_t at = 0; at < len; at++) {
		memcpy(m, json, at);
		memcpy(m + at, json + at + 1, len - at - 1);
		assert_same_reading(m, len - 1);
		for (size_t k = 0; k < sizeof bytes - 1; k++) {
			memcpy(m, json, len);
			m[at] = bytes[k];
			assert_same_reading(m, len);
			memcpy(m + at + 1, json + at, len - at);
			assert_same_reading(m, len + 1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_writer_strings),
	    cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_hex_fields),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_record_hash),
	    cmocka_unit_test(test_canonical_shortcut),
	};
	if (eds_init() != EDS_OK)
		return 1;
	setup_good();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
