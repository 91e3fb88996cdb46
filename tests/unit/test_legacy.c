/*
 * test_legacy.c - edgesentry-rs legacy records against the shared vectors
 * (edgesentry_rs_legacy.json): postcard bytes, record hashes, payload-hash
 * signatures, the lift-inspection chain; tampered chains; strict JSON and
 * the streaming chain-file reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka needs the three headers above first. */
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/legacy.h"
#include "test_support.h"

static json_t *vectors;

static const char *vstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	assert_non_null(s);
	return s;
}

static uint64_t vint(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

static void assert_hex(const uint8_t *bin, size_t n, const char *hex)
{
	char buf[2 * EDS_LEGACY_POSTCARD_MAX + 1];
	assert_true(n <= EDS_LEGACY_POSTCARD_MAX);
	eds_hex_encode(buf, bin, n);
	assert_string_equal(buf, hex);
}

static void vector_key(eds_secret_key *sk, eds_public_key *pk)
{
	size_t n;
	uint8_t *seed = test_hex(vstr(vectors, "seed_hex"), &n);
	assert_int_equal(n, 32);
	assert_int_equal(eds_secret_key_from_seed(sk, seed), EDS_OK);
	free(seed);
	eds_secret_key_public(sk, pk);
}

/* The lift-inspection chain of the vectors, built and signed here. */
static void vector_chain(eds_legacy_record recs[3])
{
	eds_secret_key sk;
	eds_public_key pk;
	const json_t *chain = json_object_get(vectors, "lift_inspection_chain");
	const json_t *list = json_object_get(chain, "records");
	uint8_t prev[32] = {0};
	vector_key(&sk, &pk);
	assert_int_equal(json_array_size(list), 3);
	for (size_t i = 0; i < 3; i++) {
		const json_t *v = json_array_get(list, i);
		const char *payload = vstr(v, "payload_utf8");
		assert_int_equal(
		    eds_legacy_record_init(&recs[i], vstr(chain, "device_id"), vint(v, "sequence"),
		                           vint(v, "timestamp_ms"), (const uint8_t *)payload,
		                           strlen(payload), prev, vstr(v, "object_ref")),
		    EDS_OK);
		assert_hex(recs[i].payload_hash, 32, vstr(v, "payload_hash"));
		assert_int_equal(eds_legacy_record_sign(&recs[i], &sk), EDS_OK);
		assert_hex(recs[i].signature, 64, vstr(v, "signature"));
		assert_int_equal(eds_legacy_record_compute_hash(&recs[i], prev), EDS_OK);
		assert_hex(prev, 32, vstr(v, "record_hash"));
	}
	eds_secret_key_wipe(&sk);
}

static void test_single_vector(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	eds_legacy_record r, back;
	uint8_t buf[EDS_LEGACY_POSTCARD_MAX], hash[32];
	size_t len;
	char pk_hex[65];
	const json_t *v = json_object_get(vectors, "single");
	const char *payload = vstr(v, "payload_utf8");

	vector_key(&sk, &pk);
	eds_public_key_to_hex(&pk, pk_hex);
	assert_string_equal(pk_hex, vstr(vectors, "public_key_hex"));
	assert_int_equal(eds_legacy_record_init(&r, vstr(v, "device_id"), vint(v, "sequence"),
	                                        vint(v, "timestamp_ms"), (const uint8_t *)payload,
	                                        strlen(payload), NULL, vstr(v, "object_ref")),
	                 EDS_OK);
	assert_hex(r.prev_record_hash, 32, vstr(v, "prev_record_hash"));
	assert_hex(r.payload_hash, 32, vstr(v, "payload_hash"));
	assert_int_equal(eds_legacy_record_sign(&r, &sk), EDS_OK);
	assert_hex(r.signature, 64, vstr(v, "signature"));
	assert_int_equal(eds_legacy_record_verify(&r, &pk), EDS_OK);

	assert_int_equal(eds_legacy_postcard_encode(&r, buf, sizeof buf, &len), EDS_OK);
	assert_hex(buf, len, vstr(v, "postcard_hex"));
	assert_int_equal(eds_legacy_record_compute_hash(&r, hash), EDS_OK);
	assert_hex(hash, 32, vstr(v, "record_hash"));
	/* An exact buffer suffices, one byte less does not. */
	assert_int_equal(eds_legacy_postcard_encode(&r, buf, len, &len), EDS_OK);
	assert_int_equal(eds_legacy_postcard_encode(&r, buf, len - 1, &len), EDS_E_LIMIT);

	assert_int_equal(eds_legacy_postcard_encode(&r, buf, sizeof buf, &len), EDS_OK);
	assert_int_equal(eds_legacy_postcard_decode(&back, buf, len), EDS_OK);
	assert_memory_equal(&back, &r, sizeof r);
	eds_secret_key_wipe(&sk);
}

/* Only the payload hash is signed: changing anything else keeps the signature valid. */
static void test_signature_covers_only_payload_hash(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	eds_legacy_record recs[3];
	vector_key(&sk, &pk);
	vector_chain(recs);
	eds_legacy_record r = recs[1];
	r.sequence = 999;
	r.timestamp_ms = 1;
	strcpy(r.device_id, "other-device");
	strcpy(r.object_ref, "elsewhere");
	memset(r.prev_record_hash, 0x55, 32);
	assert_int_equal(eds_legacy_record_verify(&r, &pk), EDS_OK);
	r.payload_hash[0] ^= 1;
	assert_int_equal(eds_legacy_record_verify(&r, &pk), EDS_E_SIGNATURE);
	r = recs[1];
	r.signature[63] ^= 0x80;
	assert_int_equal(eds_legacy_record_verify(&r, &pk), EDS_E_SIGNATURE);
	eds_secret_key_wipe(&sk);
}

/* Feed recs[order[i]]; return the first failure (index via *at) or EDS_OK. */
static eds_status run_chain(const eds_legacy_record *recs, const int *order, size_t n,
                            const eds_public_key *pk, uint64_t *at, eds_legacy_chain *out)
{
	eds_legacy_chain_options opts = {pk, NULL};
	eds_legacy_chain c;
	eds_status first = EDS_OK;
	eds_legacy_chain_init(&c, &opts);
	*at = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		eds_status st = eds_legacy_chain_add(&c, &recs[order[i]]);
		if (st != EDS_OK && first == EDS_OK) {
			first = st;
			*at = i;
		}
	}
	if (out != NULL)
		*out = c;
	return first;
}

static void test_chain_vector(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk;
	eds_legacy_record recs[3];
	eds_legacy_chain c;
	uint64_t at;
	const int order[] = {0, 1, 2};
	uint8_t hash[32];
	vector_key(&sk, &pk);
	vector_chain(recs);
	assert_int_equal(run_chain(recs, order, 3, &pk, &at, &c), EDS_OK);
	assert_int_equal(c.records, 3);
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.signatures_checked, 3);
	assert_int_equal(c.last_sequence, 3);
	assert_int_equal(eds_legacy_record_compute_hash(&recs[2], hash), EDS_OK);
	assert_memory_equal(c.head, hash, 32);
	/* Without a key only the chain rule runs. */
	assert_int_equal(run_chain(recs, order, 3, NULL, &at, &c), EDS_OK);
	assert_int_equal(c.signatures_checked, 0);
	eds_secret_key_wipe(&sk);
}

static void test_tampered_chains(void **state)
{
	(void)state;
	eds_secret_key sk;
	eds_public_key pk, other;
	eds_legacy_record recs[3], t[3];
	eds_legacy_chain c;
	uint64_t at;
	const int straight[] = {0, 1, 2}, reordered[] = {0, 2, 1}, dropped[] = {0, 2};
	vector_key(&sk, &pk);
	vector_chain(recs);

	/* One changed byte in any hashed field of record 1 breaks record 2's link. */
	for (int field = 0; field < 6; field++) {
		memcpy(t, recs, sizeof t);
		switch (field) {
		case 0: t[1].device_id[0] ^= 1; break;
		case 1: t[1].timestamp_ms ^= 1; break;
		case 2: t[1].payload_hash[5] ^= 1; break;
		case 3: t[1].signature[7] ^= 1; break;
		case 4: t[1].object_ref[3] ^= 1; break;
		default: t[1].prev_record_hash[31] ^= 1; break;
		}
		eds_status st = run_chain(t, straight, 3, NULL, &at, &c);
		assert_int_equal(st, EDS_E_PREV_HASH);
		assert_int_equal(at, field == 5 ? 1 : 2);
		/* A changed prev_record_hash fails its own link and changes the hash
		 * the next record links to. */
		assert_int_equal(c.failed, field == 5 ? 2 : 1);
	}
	/* With the key, a changed payload hash or signature fails at the record itself. */
	memcpy(t, recs, sizeof t);
	t[1].signature[7] ^= 1;
	assert_int_equal(run_chain(t, straight, 3, &pk, &at, &c), EDS_E_SIGNATURE);
	assert_int_equal(at, 1);
	assert_int_equal(c.failed, 2); /* record 1 (signature) and record 2 (link) */
	/* Record 2 stops at its broken link, so only record 0's signature counts. */
	assert_int_equal(c.signatures_checked, 1);

	/* Links are checked before sequences, as edgesentry-rs does. */
	assert_int_equal(run_chain(recs, reordered, 3, NULL, &at, &c), EDS_E_PREV_HASH);
	assert_int_equal(at, 1);
	assert_int_equal(c.failed, 2);
	assert_int_equal(run_chain(recs, dropped, 2, NULL, &at, &c), EDS_E_PREV_HASH);
	assert_int_equal(at, 1);
	/* A record re-sequenced but correctly linked fails on its sequence. */
	memcpy(t, recs, sizeof t);
	t[2].sequence = 4;
	assert_int_equal(run_chain(t, straight, 3, NULL, &at, &c), EDS_E_SEQUENCE);
	assert_int_equal(at, 2);
	assert_non_null(strstr(eds_last_error(), "sequence 4 does not follow 2"));
	/* A chain that starts mid-way has a non-zero first link. */
	assert_int_equal(run_chain(recs, straight + 1, 2, NULL, &at, &c), EDS_E_PREV_HASH);
	assert_int_equal(at, 0);
	/* The wrong key fails every signature. */
	uint8_t seed2[32];
	eds_secret_key sk2;
	memset(seed2, 2, sizeof seed2);
	assert_int_equal(eds_secret_key_from_seed(&sk2, seed2), EDS_OK);
	eds_secret_key_public(&sk2, &other);
	eds_secret_key_wipe(&sk2);
	assert_int_equal(run_chain(recs, straight, 3, &other, &at, &c), EDS_E_SIGNATURE);
	assert_int_equal(c.failed, 3);
	eds_secret_key_wipe(&sk);
}

static void test_sequence_overflow(void **state)
{
	(void)state;
	eds_legacy_record a, b;
	eds_legacy_chain c;
	uint8_t h[32];
	assert_int_equal(eds_legacy_record_init(&a, "d", UINT64_MAX, 0, NULL, 0, NULL, ""), EDS_OK);
	assert_int_equal(eds_legacy_record_compute_hash(&a, h), EDS_OK);
	assert_int_equal(eds_legacy_record_init(&b, "d", 0, 0, NULL, 0, h, ""), EDS_OK);
	eds_legacy_chain_init(&c, NULL);
	assert_int_equal(eds_legacy_chain_add(&c, &a), EDS_OK);
	assert_int_equal(eds_legacy_chain_add(&c, &b), EDS_E_SEQUENCE);
	assert_int_equal(c.failed, 1);
	assert_non_null(strstr(eds_last_error(), "does not follow 18446744073709551615"));
}

static void test_postcard_varints(void **state)
{
	(void)state;
	const uint64_t values[] = {0, 1, 127, 128, 16383, 16384, (1ULL << 63), UINT64_MAX};
	eds_legacy_record r, back;
	uint8_t buf[EDS_LEGACY_POSTCARD_MAX];
	size_t len;
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		assert_int_equal(
		    eds_legacy_record_init(&r, "", values[i], values[i], NULL, 0, NULL, ""),
		    EDS_OK);
		assert_int_equal(eds_legacy_postcard_encode(&r, buf, sizeof buf, &len), EDS_OK);
		assert_int_equal(eds_legacy_postcard_decode(&back, buf, len), EDS_OK);
		assert_int_equal(back.sequence, values[i]);
		assert_int_equal(back.timestamp_ms, values[i]);
	}
	/* u64::MAX is nine 0xff bytes then 0x01, right after the empty device_id. */
	static const uint8_t max[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
	                              0xff, 0xff, 0xff, 0xff, 0x01};
	assert_memory_equal(buf, max, sizeof max);
}

static void test_postcard_decode_errors(void **state)
{
	(void)state;
	eds_legacy_record r;
	size_t len;
	const char *hex = vstr(json_object_get(vectors, "single"), "postcard_hex");
	uint8_t *good = test_hex(hex, &len);
	uint8_t bad[EDS_LEGACY_POSTCARD_MAX + 16];

	for (size_t n = 0; n < len; n++)
		assert_int_equal(eds_legacy_postcard_decode(&r, good, n), EDS_E_MALFORMED);
	memcpy(bad, good, len);
	bad[len] = 0;
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, len + 1), EDS_E_MALFORMED);
	assert_non_null(strstr(eds_last_error(), "trailing"));
	/* Signature length prefix must be 64 (0x40); it sits after 1+7+1+6+32 bytes. */
	const size_t sig_at = 1 + 7 + 1 + 6 + 32;
	assert_int_equal(good[sig_at], 0x40);
	memcpy(bad, good, len);
	bad[sig_at] = 0x3f;
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, len), EDS_E_MALFORMED);
	/* An overlong varint (sequence 1 as 0x81 0x00) is refused. */
	bad[0] = 0x01;
	bad[1] = 'd';
	bad[2] = 0x81;
	bad[3] = 0x00;
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, len), EDS_E_MALFORMED);
	assert_non_null(strstr(eds_last_error(), "overlong"));
	/* A varint above u64::MAX. */
	memset(bad + 2, 0xff, 9);
	bad[11] = 0x02;
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, 20), EDS_E_MALFORMED);
	assert_non_null(strstr(eds_last_error(), "exceeds u64"));
	/* Invalid UTF-8 or NUL inside device_id. */
	memcpy(bad, good, len);
	bad[1] = (uint8_t)0xff;
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, len), EDS_E_FIELD);
	bad[1] = 0;
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, len), EDS_E_FIELD);
	/* A string length over the limit. */
	bad[0] = 0x81;
	bad[1] = 0x10; /* 2049 */
	assert_int_equal(eds_legacy_postcard_decode(&r, bad, len), EDS_E_FIELD);
	assert_int_equal(eds_legacy_postcard_decode(NULL, good, len), EDS_E_ARG);
	free(good);
}

static void test_validate_and_init(void **state)
{
	(void)state;
	eds_legacy_record r;
	char big[EDS_LEGACY_OBJECT_REF_MAX + 2];
	assert_int_equal(eds_legacy_record_init(&r, "d", 1, 0, NULL, 0, NULL, ""), EDS_OK);
	r.device_id[0] = (char)0xc0; /* overlong lead byte */
	assert_int_equal(eds_legacy_record_validate(&r), EDS_E_FIELD);
	memset(r.device_id, 'a', sizeof r.device_id); /* no terminator */
	assert_int_equal(eds_legacy_record_validate(&r), EDS_E_FIELD);
	assert_int_equal(eds_legacy_record_validate(NULL), EDS_E_ARG);

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(eds_legacy_record_init(&r, "d", 1, 0, NULL, 0, NULL, big), EDS_E_FIELD);
	big[EDS_LEGACY_OBJECT_REF_MAX] = '\0';
	assert_int_equal(eds_legacy_record_init(&r, "d", 1, 0, NULL, 0, NULL, big), EDS_OK);
	big[EDS_LEGACY_DEVICE_ID_MAX + 1] = '\0';
	assert_int_equal(eds_legacy_record_init(&r, big, 1, 0, NULL, 0, NULL, ""), EDS_E_FIELD);
	assert_int_equal(eds_legacy_record_init(&r, "d", 1, 0, NULL, 5, NULL, ""), EDS_E_ARG);
	assert_int_equal(eds_legacy_record_init(&r, NULL, 1, 0, NULL, 0, NULL, ""), EDS_E_ARG);
	assert_int_equal(eds_legacy_record_sign(&r, NULL), EDS_E_ARG);
	assert_int_equal(eds_legacy_record_verify(NULL, NULL), EDS_E_ARG);
}

static void test_json_round_trip(void **state)
{
	(void)state;
	eds_legacy_record recs[3], back;
	char buf[8192];
	size_t len;
	vector_chain(recs);
	assert_int_equal(eds_legacy_record_to_json(&recs[0], buf, sizeof buf, &len), EDS_OK);
	assert_int_equal(strlen(buf), len);
	assert_true(strncmp(buf, "{\"device_id\":\"lift-01\",\"sequence\":1,", 36) == 0);
	assert_non_null(strstr(buf, "\"prev_record_hash\":[0,0,0,"));
	assert_int_equal(eds_legacy_record_from_json(&back, buf, len), EDS_OK);
	assert_memory_equal(&back, &recs[0], sizeof back);
	assert_int_equal(eds_legacy_record_to_json(&recs[0], buf, len, &len), EDS_E_LIMIT);
}

/* Replace the first occurrence of from in json by to, then parse it. */
static eds_status parse_edited(const eds_legacy_record *r, const char *from, const char *to)
{
	char buf[8192], out[9000];
	eds_legacy_record back;
	assert_int_equal(eds_legacy_record_to_json(r, buf, sizeof buf, NULL), EDS_OK);
	const char *at = strstr(buf, from);
	assert_non_null(at);
	snprintf(out, sizeof out, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	return eds_legacy_record_from_json(&back, out, strlen(out));
}

static void test_json_strict(void **state)
{
	(void)state;
	eds_legacy_record recs[3], r;
	vector_chain(recs);
	const eds_legacy_record *g = &recs[0];

	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":1,\"extra\":0"),
	                 EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), "unknown key"));
	/* Input echoed in a detail is escaped: one printable line. */
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":1,\"a\\nb\\u0007\":0"),
	                 EDS_E_FIELD);
	assert_string_equal(eds_last_error(), "unknown key \"a\\nb\\u0007\"");
	assert_int_equal(eds_legacy_record_from_json(&r, "{\"k\":\x01\x02}", 9), EDS_E_MALFORMED);
	for (const char *p = eds_last_error(); *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":1,\"sequence\":1"),
	                 EDS_E_MALFORMED);
	assert_int_equal(parse_edited(g, "\"sequence\":1,", ""), EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), "sequence: missing"));
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":-1"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":1.0"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":\"1\""), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":9223372036854775807"),
	                 EDS_OK);
	assert_int_equal(parse_edited(g, "\"sequence\":1", "\"sequence\":18446744073709551615"),
	                 EDS_E_MALFORMED);
	assert_int_equal(parse_edited(g, "[0,0,0,", "[0,0,"), EDS_E_FIELD); /* 31 bytes */
	assert_non_null(strstr(eds_last_error(), "prev_record_hash"));
	assert_int_equal(parse_edited(g, "[0,0,0,", "[0,0,0,0,"), EDS_E_FIELD); /* 33 */
	assert_int_equal(parse_edited(g, "[0,0,0,", "[256,0,"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "[0,0,0,", "[-1,0,"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "[0,0,0,", "[0.5,0,"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "[0,0,0,", "[null,0,"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "\"lift-01\"", "7"), EDS_E_FIELD);
	assert_int_equal(parse_edited(g, "\"lift-01\"", "\"a\\u0000b\""), EDS_E_MALFORMED);
	assert_int_equal(parse_edited(g, "\"lift-01\"", "\"caf\\u00e9 \\ud83d\\ude00\""), EDS_OK);
	assert_int_equal(eds_legacy_record_from_json(&r, "[]", 2), EDS_E_MALFORMED);
	assert_int_equal(eds_legacy_record_from_json(&r, "{", 1), EDS_E_MALFORMED);
	assert_int_equal(eds_legacy_record_from_json(&r, "{}", EDS_LEGACY_JSON_MAX + 1),
	                 EDS_E_LIMIT);
	assert_int_equal(eds_legacy_record_from_json(NULL, "{}", 2), EDS_E_ARG);
}

static void test_json_long_strings(void **state)
{
	(void)state;
	eds_legacy_record recs[3];
	char *id = malloc(EDS_LEGACY_DEVICE_ID_MAX + 4);
	vector_chain(recs);
	id[0] = '"';
	memset(id + 1, 'x', EDS_LEGACY_DEVICE_ID_MAX + 1);
	strcpy(id + EDS_LEGACY_DEVICE_ID_MAX + 2, "\"");
	assert_int_equal(parse_edited(&recs[0], "\"lift-01\"", id), EDS_E_FIELD);
	strcpy(id + EDS_LEGACY_DEVICE_ID_MAX + 1, "\"");
	assert_int_equal(parse_edited(&recs[0], "\"lift-01\"", id), EDS_OK);
	free(id);
}

/* ---- chain files ----------------------------------------------------------- */

static char *tmpdir;

static char *write_file(const char *name, const char *text)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}

/* A chain file as serde_json's pretty printer lays it out (2-space indent). */
static char *pretty_chain(const eds_legacy_record *recs, size_t n)
{
	json_t *arr = json_array();
	char buf[8192];
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(eds_legacy_record_to_json(&recs[i], buf, sizeof buf, NULL),
		                 EDS_OK);
		assert_int_equal(json_array_append_new(arr, json_loads(buf, 0, NULL)), 0);
	}
	char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	assert_non_null(text);
	return text;
}

static char read_error[600];

/* Read a whole file; return the first non-OK status other than DONE, count records. */
static eds_status read_all(const char *path, size_t *count, eds_legacy_record *last)
{
	eds_legacy_reader *rd;
	eds_legacy_record r;
	eds_status st = eds_legacy_reader_open(&rd, path);
	*count = 0;
	if (st != EDS_OK)
		return st;
	while ((st = eds_legacy_reader_next(rd, &r)) == EDS_OK) {
		assert_int_equal(eds_legacy_reader_index(rd), *count);
		(*count)++;
		if (last != NULL)
			*last = r;
	}
	if (st != EDS_DONE) {
		snprintf(read_error, sizeof read_error, "%s", eds_last_error());
		assert_int_equal(eds_legacy_reader_next(rd, &r), EDS_E_ARG); /* stays failed */
	}
	eds_legacy_reader_close(rd);
	return st == EDS_DONE ? EDS_OK : st;
}

static void test_reader(void **state)
{
	(void)state;
	eds_legacy_record recs[3], last;
	eds_legacy_reader *rd;
	size_t n;
	vector_chain(recs);
	char *text = pretty_chain(recs, 3);
	const char *path = write_file("chain.json", text);
	assert_int_equal(read_all(path, &n, &last), EDS_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(&last, &recs[2], sizeof last);
	assert_int_equal(eds_legacy_reader_open(&rd, path), EDS_OK);
	assert_int_equal(eds_legacy_reader_size(rd), strlen(text));
	while (eds_legacy_reader_next(rd, &last) == EDS_OK)
		;
	assert_int_equal(eds_legacy_reader_offset(rd), strlen(text));
	eds_legacy_reader_close(rd);
	/* As eds_record_reader_*: NULL answers 0 (these used to dereference it). */
	assert_int_equal(eds_legacy_reader_index(NULL), 0);
	assert_int_equal(eds_legacy_reader_line(NULL), 0);
	assert_int_equal(eds_legacy_reader_offset(NULL), 0);
	assert_int_equal(eds_legacy_reader_size(NULL), 0);

	/* Line numbers: the second record starts on the line of its '{'. */
	assert_int_equal(eds_legacy_reader_open(&rd, path), EDS_OK);
	assert_int_equal(eds_legacy_reader_next(rd, &last), EDS_OK);
	assert_int_equal(eds_legacy_reader_line(rd), 2);
	assert_int_equal(eds_legacy_reader_next(rd, &last), EDS_OK);
	assert_true(eds_legacy_reader_line(rd) > 100);
	eds_legacy_reader_close(rd);
	free(text);

	assert_int_equal(read_all(write_file("e.json", " [ ]\n"), &n, NULL), EDS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(read_all("/nonexistent/chain.json", &n, NULL), EDS_E_NOT_FOUND);
	assert_int_equal(read_all(tmpdir, &n, NULL), EDS_E_IO);
	assert_int_equal(eds_legacy_reader_open(NULL, "x"), EDS_E_ARG);
	eds_legacy_reader_close(NULL);
}

static void test_reader_strings_with_brackets(void **state)
{
	(void)state;
	eds_legacy_record recs[3], last;
	size_t n;
	vector_chain(recs);
	strcpy(recs[1].object_ref, "a}]\"\\{[\\\"}");
	char *text = pretty_chain(recs, 3);
	assert_int_equal(read_all(write_file("b.json", text), &n, &last), EDS_OK);
	assert_int_equal(n, 3);
	free(text);
	text = pretty_chain(recs + 1, 1);
	assert_int_equal(read_all(write_file("b1.json", text), &n, &last), EDS_OK);
	assert_string_equal(last.object_ref, recs[1].object_ref);
	free(text);
}

static void test_chain_payload_dir(void **state)
{
	(void)state;
	eds_legacy_record recs[3];
	eds_legacy_chain c;
	eds_public_key pk;
	eds_secret_key sk;
	char dir[4200], path[4400];
	const json_t *list =
	    json_object_get(json_object_get(vectors, "lift_inspection_chain"), "records");
	vector_key(&sk, &pk);
	eds_secret_key_wipe(&sk);
	vector_chain(recs);
	snprintf(dir, sizeof dir, "%s/payloads", tmpdir);
	for (size_t i = 0; i < 3; i++) {
		const char *p = vstr(json_array_get(list, i), "payload_utf8");
		assert_int_equal(eds_payload_put(dir, (const uint8_t *)p, strlen(p), NULL), EDS_OK);
	}
	eds_legacy_chain_options opts = {&pk, dir};
	eds_legacy_chain_init(&c, &opts);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(eds_legacy_chain_add(&c, &recs[i]), EDS_OK);
	assert_int_equal(c.payloads_checked, 3);
	assert_int_equal(c.signatures_checked, 3);

	/* Record 1's payload changed on disk, record 2's removed. */
	assert_int_equal(eds_payload_path(path, sizeof path, dir, recs[1].payload_hash), EDS_OK);
	FILE *f = fopen(path, "ab");
	assert_non_null(f);
	fputs("!", f);
	fclose(f);
	assert_int_equal(eds_payload_path(path, sizeof path, dir, recs[2].payload_hash), EDS_OK);
	assert_int_equal(remove(path), 0);
	eds_legacy_chain_init(&c, &opts);
	assert_int_equal(eds_legacy_chain_add(&c, &recs[0]), EDS_OK);
	assert_int_equal(eds_legacy_chain_add(&c, &recs[1]), EDS_E_PAYLOAD_MISMATCH);
	assert_non_null(strstr(eds_last_error(), "hash differs"));
	assert_int_equal(eds_legacy_chain_add(&c, &recs[2]), EDS_E_NOT_FOUND);
	assert_int_equal(c.failed, 2);
	assert_int_equal(c.records, 3);
	assert_int_equal(c.payloads_checked, 1);
}

static void test_reader_errors(void **state)
{
	(void)state;
	eds_legacy_record recs[3];
	char buf[8192], text[20000];
	size_t n;
	vector_chain(recs);
	assert_int_equal(eds_legacy_record_to_json(&recs[0], buf, sizeof buf, NULL), EDS_OK);

	/* '@' stands for one valid record. */
	static const char *const shapes[] = {
	    "@",              /* not an array */
	    "[@,]",           /* trailing comma */
	    "[@ @]",          /* missing comma */
	    "[@] x",          /* data after the array */
	    "[@",             /* truncated after a record */
	    "[@,",            /* truncated after a comma */
	    "[1]",            /* element not an object */
	    "\xef\xbb\xbf[]", /* byte-order mark */
	    "",               /* empty file */
	};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		size_t at = 0;
		for (const char *p = shapes[i]; *p != '\0'; p++) {
			if (*p == '@') {
				strcpy(text + at, buf);
				at += strlen(buf);
			} else {
				text[at++] = *p;
			}
		}
		text[at] = '\0';
		assert_int_equal(read_all(write_file("bad.json", text), &n, NULL), EDS_E_MALFORMED);
	}
	/* Truncated inside a record, and an error detail with file and line. */
	snprintf(text, sizeof text, "[\n%s,\n%.100s", buf, buf);
	const char *path = write_file("cut.json", text);
	assert_int_equal(read_all(path, &n, NULL), EDS_E_MALFORMED);
	assert_int_equal(n, 1);
	assert_non_null(strstr(read_error, "cut.json:3: "));
	/* A field error names the line of its record. */
	snprintf(text, sizeof text, "[\n%s,\n\n{\"device_id\":1}]", buf);
	assert_int_equal(read_all(write_file("f.json", text), &n, NULL), EDS_E_FIELD);
	assert_non_null(strstr(read_error, "f.json:4: "));
	/* One element larger than the limit (padding whitespace) is refused. */
	char *huge = malloc(EDS_LEGACY_JSON_MAX + 100);
	huge[0] = '[';
	huge[1] = '{';
	memset(huge + 2, ' ', EDS_LEGACY_JSON_MAX);
	strcpy(huge + 2 + EDS_LEGACY_JSON_MAX, "}]");
	assert_int_equal(read_all(write_file("huge.json", huge), &n, NULL), EDS_E_LIMIT);
	free(huge);
}

static int setup(void **state)
{
	(void)state;
	json_error_t err;
	if (eds_init() != EDS_OK)
		return -1;
	vectors = json_load_file(test_vector_path("edgesentry_rs_legacy.json"), 0, &err);
	tmpdir = test_tmpdir();
	return vectors == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	test_rmtree(tmpdir);
	free(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_vector),
	    cmocka_unit_test(test_signature_covers_only_payload_hash),
	    cmocka_unit_test(test_chain_vector),
	    cmocka_unit_test(test_tampered_chains),
	    cmocka_unit_test(test_sequence_overflow),
	    cmocka_unit_test(test_postcard_varints),
	    cmocka_unit_test(test_postcard_decode_errors),
	    cmocka_unit_test(test_validate_and_init),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_json_strict),
	    cmocka_unit_test(test_json_long_strings),
	    cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_reader_strings_with_brackets),
	    cmocka_unit_test(test_chain_payload_dir),
	    cmocka_unit_test(test_reader_errors),
	};
	/* Resolve the vectors path first so a missing folder skips (exit 77). */
	test_vector_path("edgesentry_rs_legacy.json");
	return cmocka_run_group_tests(tests, setup, teardown);
}
