/*
 * test_record.c - ESR1 binary core: field rules, signed header encoding and
 * decoding (round trip and every decode error), signing, verification, the
 * record hash (checked against an independent BLAKE3 of SH || signature),
 * and the worked vector printed in docs/format.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/edgesentry.h"
#include "test_support.h"

static const uint8_t seed01[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                   1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static void make_record(eds_record *r, uint64_t seq, const uint8_t *prev)
{
	static const char payload[] = "hello";
	assert_int_equal(eds_record_init(r, "lift-01", seq, 1700000000000ULL,
	                                 (const uint8_t *)payload, 5, prev, "lift-01/x.bin"),
	                 EDS_OK);
}

static void expect_field_error(const eds_record *r, const char *field)
{
	assert_int_equal(eds_record_validate(r), EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), field));
}

static void test_validate_rules(void **state)
{
	(void)state;
	eds_record r;
	uint8_t prev[32];
	memset(prev, 7, sizeof prev);
	make_record(&r, 1, NULL);
	assert_int_equal(eds_record_validate(&r), EDS_OK);

	eds_record bad = r;
	bad.sequence = 0;
	expect_field_error(&bad, "sequence");
	bad.sequence = EDS_INT_MAX + 1;
	expect_field_error(&bad, "sequence");
	bad = r;
	bad.timestamp_ms = EDS_INT_MAX + 1;
	expect_field_error(&bad, "timestamp_ms");
	bad = r;
	bad.payload_size = UINT64_MAX;
	expect_field_error(&bad, "payload_size");
	bad = r;
	memcpy(bad.prev_hash, prev, 32);
	expect_field_error(&bad, "prev_hash");
	bad = r;
	strcpy(bad.device_id, "");
	expect_field_error(&bad, "device_id");
	strcpy(bad.device_id, ".");
	expect_field_error(&bad, "device_id");
	strcpy(bad.device_id, "..");
	expect_field_error(&bad, "device_id");
	strcpy(bad.device_id, "lift 01");
	expect_field_error(&bad, "device_id");
	strcpy(bad.device_id, "lift/01");
	expect_field_error(&bad, "device_id");
	strcpy(bad.device_id, "...");
	assert_int_equal(eds_record_validate(&bad), EDS_OK);
	memset(bad.device_id, 'a', sizeof bad.device_id);
	expect_field_error(&bad, "device_id");
	bad = r;
	strcpy(bad.object_ref, "a\tb");
	expect_field_error(&bad, "object_ref");
	strcpy(bad.object_ref, "a\x7f");
	expect_field_error(&bad, "object_ref");
	strcpy(bad.object_ref, "caf\xc3");
	expect_field_error(&bad, "object_ref");
	strcpy(bad.object_ref, "\xed\xa0\x80"); /* a UTF-16 surrogate */
	expect_field_error(&bad, "object_ref");
	strcpy(bad.object_ref, "caf\xc3\xa9/\xf0\x9f\x9b\x97");
	assert_int_equal(eds_record_validate(&bad), EDS_OK);
	strcpy(bad.object_ref, "");
	assert_int_equal(eds_record_validate(&bad), EDS_OK);
	memset(bad.object_ref, 'a', sizeof bad.object_ref);
	expect_field_error(&bad, "object_ref");

	make_record(&r, 2, prev);
	assert_int_equal(eds_record_validate(&r), EDS_OK);
	assert_int_equal(eds_record_validate(NULL), EDS_E_ARG);
}

static void test_init(void **state)
{
	(void)state;
	eds_record r;
	uint8_t h[32];
	char longid[200];
	eds_blake3(h, "hello", 5);
	make_record(&r, 1, NULL);
	assert_memory_equal(r.payload_hash, h, 32);
	assert_int_equal(r.payload_size, 5);
	assert_string_equal(r.device_id, "lift-01");
	assert_string_equal(r.object_ref, "lift-01/x.bin");

	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_int_equal(eds_record_init(&r, longid, 1, 0, NULL, 0, NULL, ""), EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), "device_id"));
	assert_int_equal(eds_record_init(&r, "d", 1, 0, NULL, 3, NULL, ""), EDS_E_ARG);
	assert_int_equal(eds_record_init(&r, "d", 0, 0, NULL, 0, NULL, ""), EDS_E_FIELD);

	eds_record r2;
	assert_int_equal(eds_record_init_hashed(&r2, "lift-01", 1, 1700000000000ULL, h, 5, NULL,
	                                        "lift-01/x.bin"),
	                 EDS_OK);
	make_record(&r, 1, NULL);
	assert_memory_equal(&r, &r2, sizeof r);
}

/* Independent construction of SH from FORMAT.md 1.2, to check the encoder. */
static size_t manual_header(const eds_record *r, uint8_t *out)
{
	size_t n = 0, id = strlen(r->device_id), ref = strlen(r->object_ref);
	memcpy(out, "ESR1", 4);
	n = 4;
	out[n++] = (uint8_t)id;
	memcpy(out + n, r->device_id, id);
	n += id;
	const uint64_t ints[3] = {r->sequence, r->timestamp_ms, r->payload_size};
	for (int k = 0; k < 3; k++)
		for (int b = 7; b >= 0; b--)
			out[n++] = (uint8_t)(ints[k] >> (8 * b));
	memcpy(out + n, r->payload_hash, 32);
	memcpy(out + n + 32, r->prev_hash, 32);
	n += 64;
	out[n++] = (uint8_t)(ref >> 8);
	out[n++] = (uint8_t)ref;
	memcpy(out + n, r->object_ref, ref);
	return n + ref;
}

static void test_header_round_trip(void **state)
{
	(void)state;
	eds_record r, back;
	uint8_t sh[EDS_HEADER_MAX], manual[EDS_HEADER_MAX], prev[32];
	size_t len;
	memset(prev, 0xab, sizeof prev);
	make_record(&r, 0x0102030405060708ULL & EDS_INT_MAX, prev);
	r.timestamp_ms = EDS_INT_MAX;
	r.payload_size = 0;
	assert_int_equal(eds_record_header_encode(&r, sh, sizeof sh, &len), EDS_OK);
	assert_int_equal(len, manual_header(&r, manual));
	assert_memory_equal(sh, manual, len);
	assert_int_equal(len, 4 + 1 + 7 + 24 + 64 + 2 + 13);
	assert_int_equal(eds_record_header_decode(&back, sh, len), EDS_OK);
	memset(r.signature, 0, sizeof r.signature);
	assert_memory_equal(&back, &r, sizeof r);

	/* Largest header: both strings at their maximum. */
	memset(r.device_id, 'D', EDS_DEVICE_ID_MAX);
	r.device_id[EDS_DEVICE_ID_MAX] = '\0';
	memset(r.object_ref, 'o', EDS_OBJECT_REF_MAX);
	r.object_ref[EDS_OBJECT_REF_MAX] = '\0';
	assert_int_equal(eds_record_header_encode(&r, sh, sizeof sh, &len), EDS_OK);
	assert_int_equal(len, EDS_HEADER_MAX);
	assert_int_equal(eds_record_header_decode(&back, sh, len), EDS_OK);
	assert_memory_equal(&back, &r, sizeof r);
	assert_int_equal(eds_record_header_encode(&r, sh, EDS_HEADER_MAX - 1, &len), EDS_E_LIMIT);
	assert_int_equal(eds_record_header_encode(&r, NULL, 0, &len), EDS_E_ARG);
}

/* A header with an id of id_len 'a's, sequence 1 and an object_ref of ref_len 'o's. */
static size_t build_header(uint8_t *out, size_t id_len, size_t ref_len)
{
	size_t n = 0;
	memcpy(out, "ESR1", 4);
	n = 4;
	out[n++] = (uint8_t)id_len;
	memset(out + n, 'a', id_len);
	n += id_len;
	memset(out + n, 0, 24 + 64);
	out[n + 7] = 1;
	n += 24 + 64;
	out[n++] = (uint8_t)(ref_len >> 8);
	out[n++] = (uint8_t)ref_len;
	memset(out + n, 'o', ref_len);
	return n + ref_len;
}

static void expect_decode(const uint8_t *in, size_t len, eds_status want, const char *text)
{
	eds_record r;
	assert_int_equal(eds_record_header_decode(&r, in, len), want);
	assert_non_null(strstr(eds_last_error(), text));
}

static void test_header_decode_errors(void **state)
{
	(void)state;
	eds_record r;
	uint8_t sh[EDS_HEADER_MAX + 4], bad[EDS_HEADER_MAX + 4];
	size_t len;
	make_record(&r, 1, NULL);
	assert_int_equal(eds_record_header_encode(&r, sh, sizeof sh, &len), EDS_OK);

	expect_decode(sh, 0, EDS_E_MALFORMED, "ESR1");
	expect_decode(sh, 3, EDS_E_MALFORMED, "ESR1");
	expect_decode(sh, 4, EDS_E_MALFORMED, "truncated");
	for (size_t cut = 5; cut < len; cut++) {
		assert_int_equal(eds_record_header_decode(&r, sh, cut), EDS_E_MALFORMED);
	}
	memcpy(bad, sh, len);
	bad[3] = '2';
	expect_decode(bad, len, EDS_E_MALFORMED, "ESR1");
	memcpy(bad, sh, len);
	bad[len] = 0;
	expect_decode(bad, len + 1, EDS_E_MALFORMED, "object_ref length");
	/* Device id length 0. */
	memcpy(bad, sh, len);
	bad[4] = 0;
	memmove(bad + 5, sh + 5 + 7, len - 12);
	expect_decode(bad, len - 7, EDS_E_FIELD, "device_id");
	/* A forbidden character inside the device id. */
	memcpy(bad, sh, len);
	bad[5 + 4] = '/';
	expect_decode(bad, len, EDS_E_FIELD, "device_id");
	bad[5 + 4] = '\0';
	expect_decode(bad, len, EDS_E_FIELD, "device_id");
	/* sequence 0 (bytes 12..19 hold the sequence for a 7-byte device id). */
	memcpy(bad, sh, len);
	memset(bad + 12, 0, 8);
	expect_decode(bad, len, EDS_E_FIELD, "sequence");
	memcpy(bad, sh, len);
	memset(bad + 20, 0xff, 8);
	expect_decode(bad, len, EDS_E_FIELD, "timestamp_ms");
	memcpy(bad, sh, len);
	memset(bad + 28, 0xff, 8);
	expect_decode(bad, len, EDS_E_FIELD, "payload_size");
	/* prev_hash nonzero at sequence 1. */
	memcpy(bad, sh, len);
	bad[36 + 32] = 1;
	expect_decode(bad, len, EDS_E_FIELD, "prev_hash");
	/* Control character and NUL inside object_ref (starts at 36 + 64 + 2). */
	memcpy(bad, sh, len);
	bad[102] = '\n';
	expect_decode(bad, len, EDS_E_FIELD, "object_ref");
	bad[102] = '\0';
	expect_decode(bad, len, EDS_E_FIELD, "object_ref");
	bad[102] = (char)0xff;
	expect_decode(bad, len, EDS_E_FIELD, "object_ref");
	/* Length fields beyond the limits, with all their bytes present. */
	uint8_t *big = malloc(EDS_HEADER_MAX + 512);
	assert_non_null(big);
	len = build_header(big, 129, 1024);
	expect_decode(big, len, EDS_E_FIELD, "device_id");
	len = build_header(big, 128, 1025);
	expect_decode(big, len, EDS_E_FIELD, "object_ref");
	len = build_header(big, 128, 1024);
	assert_int_equal(len, EDS_HEADER_MAX);
	assert_int_equal(eds_record_header_decode(&r, big, len), EDS_OK);
	free(big);
	assert_int_equal(eds_record_header_decode(NULL, sh, len), EDS_E_ARG);
}

static void test_sign_verify_hash(void **state)
{
	(void)state;
	eds_secret_key sk, other;
	eds_public_key pk, other_pk;
	eds_record r, t;
	uint8_t sh[EDS_HEADER_MAX], buf[EDS_HEADER_MAX + 64], h1[32], h2[32];
	size_t len;
	uint8_t seed2[32];
	memset(seed2, 2, sizeof seed2);
	assert_int_equal(eds_secret_key_from_seed(&sk, seed01), EDS_OK);
	assert_int_equal(eds_secret_key_from_seed(&other, seed2), EDS_OK);
	eds_secret_key_public(&sk, &pk);
	eds_secret_key_public(&other, &other_pk);
	make_record(&r, 1, NULL);
	assert_int_equal(eds_record_sign(&r, &sk), EDS_OK);
	assert_int_equal(eds_record_verify(&r, &pk), EDS_OK);
	assert_int_equal(eds_record_verify(&r, &other_pk), EDS_E_SIGNATURE);
	assert_non_null(strstr(eds_last_error(), "signature"));

	/* Every signed field is covered: changing any one breaks the signature. */
	t = r;
	t.sequence = 2;
	memset(t.prev_hash, 1, 32);
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);
	t = r;
	t.timestamp_ms++;
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);
	t = r;
	t.payload_size++;
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);
	t = r;
	t.payload_hash[31] ^= 1;
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);
	t = r;
	strcpy(t.device_id, "lift-02");
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);
	t = r;
	strcpy(t.object_ref, "lift-01/y.bin");
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);
	t = r;
	t.signature[0] ^= 0x80;
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_SIGNATURE);

	/* The signature is plain Ed25519 over SH (checked with the raw primitive). */
	assert_int_equal(eds_record_header_encode(&r, sh, sizeof sh, &len), EDS_OK);
	assert_int_equal(eds_ed25519_verify(r.signature, sh, len, pk.bytes), EDS_OK);

	/* record_hash = BLAKE3(SH || signature). */
	memcpy(buf, sh, len);
	memcpy(buf + len, r.signature, 64);
	eds_blake3(h1, buf, len + 64);
	assert_int_equal(eds_record_compute_hash(&r, h2), EDS_OK);
	assert_memory_equal(h1, h2, 32);
	t = r;
	t.signature[63] ^= 1;
	assert_int_equal(eds_record_compute_hash(&t, h2), EDS_OK);
	assert_memory_not_equal(h1, h2, 32);

	t = r;
	t.sequence = 0;
	assert_int_equal(eds_record_sign(&t, &sk), EDS_E_FIELD);
	assert_int_equal(eds_record_verify(&t, &pk), EDS_E_FIELD);
	assert_int_equal(eds_record_compute_hash(&t, h2), EDS_E_FIELD);
	assert_int_equal(eds_record_sign(NULL, &sk), EDS_E_ARG);
	eds_secret_key_wipe(&sk);
	eds_secret_key_wipe(&other);
}

/*
 * The worked vector of docs/format.md: every value below must be what our
 * code computes AND must appear verbatim in the document.
 */
static const char vector_payload[] = "lift-01 inspection 1: load test 630 kg, brakes ok\n";
static const char *const vector_expected[] = {
    /* public key */
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
    /* record 1: payload hash */
    "bc241675579ac45b71af3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c0",
    /* record 1: signed header */
    "45535231076c6966742d303100000000000000010000018bcfe568000000000000000032bc24"
    "1675579ac45b71af3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c00000000000000000"
    "00000000000000000000000000000000000000000000000000186c6966742d30312f696e7370"
    "656374696f6e2d312e62696e",
    /* record 1: signature */
    "759f65123e2e1482ce5a9c6b7f934c19057c6647593ddb7f56b12e4c7b846762d79b2e2a5945"
    "6e399ab5be6fe5db8345f96c0d3fcfe8d54966681bf2bd957801",
    /* record 1: record hash */
    "8ed58a85272bb6ad23d5c3b091cd1201f7874b2110294dcb61f6405d734c19f0",
    /* record 1: JSON */
    "{\"format\":\"ESR1\",\"device_id\":\"lift-01\",\"sequence\":1,\"timestamp_ms"
    "\":1700000000000,\"payload_size\":50,\"payload_hash\":\"bc241675579ac45b71af"
    "3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c0\",\"prev_hash\":\"0000000000000"
    "000000000000000000000000000000000000000000000000000\",\"object_ref\":\"lift-"
    "01/inspection-1.bin\",\"signature\":\"759f65123e2e1482ce5a9c6b7f934c19057c66"
    "47593ddb7f56b12e4c7b846762d79b2e2a59456e399ab5be6fe5db8345f96c0d3fcfe8d54966"
    "681bf2bd957801\",\"record_hash\":\"8ed58a85272bb6ad23d5c3b091cd1201f7874b211"
    "0294dcb61f6405d734c19f0\"}",
    /* record 2: signed header */
    "45535231076c6966742d303100000000000000020000018bcfe652600000000000000032bc24"
    "1675579ac45b71af3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c08ed58a85272bb6ad"
    "23d5c3b091cd1201f7874b2110294dcb61f6405d734c19f000186c6966742d30312f696e7370"
    "656374696f6e2d322e62696e",
    /* record 2: signature */
    "cd6b6668293b681f25aea8c886568c09255e0eda20c9daf87c386f7f6b38330fc853ff131730"
    "fa51edb5c6d3e06b371b16b7d8f26a7aa31f256e15a5d2d3bb06",
    /* record 2: record hash */
    "a4a6b63cb35c514ed2e593b2b71dd34622b20e76fe8d97344af9cbe4f7d448ff",
    /* record 2: JSON */
    "{\"format\":\"ESR1\",\"device_id\":\"lift-01\",\"sequence\":2,\"timestamp_ms"
    "\":1700000060000,\"payload_size\":50,\"payload_hash\":\"bc241675579ac45b71af"
    "3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c0\",\"prev_hash\":\"8ed58a85272bb"
    "6ad23d5c3b091cd1201f7874b2110294dcb61f6405d734c19f0\",\"object_ref\":\"lift-"
    "01/inspection-2.bin\",\"signature\":\"cd6b6668293b681f25aea8c886568c09255e0e"
    "da20c9daf87c386f7f6b38330fc853ff131730fa51edb5c6d3e06b371b16b7d8f26a7aa31f25"
    "6e15a5d2d3bb06\",\"record_hash\":\"a4a6b63cb35c514ed2e593b2b71dd34622b20e76f"
    "e8d97344af9cbe4f7d448ff\"}",
};
enum { V_PK, V_PH, V_SH1, V_SIG1, V_HASH1, V_JSON1, V_SH2, V_SIG2, V_HASH2, V_JSON2, V_N };

static void vector_record(eds_record *r, uint64_t seq, uint64_t ts, const uint8_t *prev,
                          const char *ref, const eds_secret_key *sk)
{
	assert_int_equal(eds_record_init(r, "lift-01", seq, ts, (const uint8_t *)vector_payload,
	                                 strlen(vector_payload), prev, ref),
	                 EDS_OK);
	assert_int_equal(eds_record_sign(r, sk), EDS_OK);
}

static void vector_values(char *out[V_N])
{
	eds_secret_key sk;
	eds_public_key pk;
	eds_record r1, r2;
	uint8_t sh[EDS_HEADER_MAX], h1[32], h2[32];
	size_t len;
	for (int i = 0; i < V_N; i++)
		out[i] = calloc(1, 2 * EDS_HEADER_MAX + EDS_RECORD_JSON_MAX);
	assert_int_equal(eds_secret_key_from_seed(&sk, seed01), EDS_OK);
	eds_secret_key_public(&sk, &pk);
	eds_public_key_to_hex(&pk, out[V_PK]);
	vector_record(&r1, 1, 1700000000000ULL, NULL, "lift-01/inspection-1.bin", &sk);
	assert_int_equal(eds_record_compute_hash(&r1, h1), EDS_OK);
	vector_record(&r2, 2, 1700000060000ULL, h1, "lift-01/inspection-2.bin", &sk);
	assert_int_equal(eds_record_compute_hash(&r2, h2), EDS_OK);
	eds_hex_encode(out[V_PH], r1.payload_hash, 32);

	assert_int_equal(eds_record_header_encode(&r1, sh, sizeof sh, &len), EDS_OK);
	eds_hex_encode(out[V_SH1], sh, len);
	eds_hex_encode(out[V_SIG1], r1.signature, 64);
	eds_hex_encode(out[V_HASH1], h1, 32);
	assert_int_equal(eds_record_to_json(&r1, out[V_JSON1], EDS_RECORD_JSON_MAX, NULL), EDS_OK);

	assert_int_equal(eds_record_header_encode(&r2, sh, sizeof sh, &len), EDS_OK);
	eds_hex_encode(out[V_SH2], sh, len);
	eds_hex_encode(out[V_SIG2], r2.signature, 64);
	eds_hex_encode(out[V_HASH2], h2, 32);
	assert_int_equal(eds_record_to_json(&r2, out[V_JSON2], EDS_RECORD_JSON_MAX, NULL), EDS_OK);
	eds_secret_key_wipe(&sk);
}

/* docs/format.md of this source tree (ctest sets EDS_SOURCE_DIR; by hand, use __FILE__). */
static void doc_path(char *path, size_t cap)
{
	const char *src = getenv("EDS_SOURCE_DIR");
	if (src != NULL) {
		snprintf(path, cap, "%s/docs/format.md", src);
		return;
	}
	snprintf(path, cap, "%s", __FILE__);
	char *cut = strstr(path, "tests/unit/test_record.c");
	assert_non_null(cut);
	snprintf(cut, cap - (size_t)(cut - path), "docs/format.md");
}

/* How many values do not appear in the document (which may wrap them across lines). */
static int missing_in_doc(char *const values[V_N])
{
	char path[4096];
	int missing = 0;
	doc_path(path, sizeof path);
	char *doc = test_read_file(path, NULL);
	size_t k = 0;
	for (size_t i = 0; doc[i] != '\0'; i++)
		if (doc[i] != '\n' && doc[i] != ' ')
			doc[k++] = doc[i];
	doc[k] = '\0';
	for (int i = 0; i < V_N; i++) {
		if (strstr(doc, values[i]) == NULL) {
			printf("docs/format.md lacks vector value %d: %s\n", i, values[i]);
			missing++;
		}
	}
	free(doc);
	return missing;
}

static void test_docs_vector(void **state)
{
	(void)state;
	char *got[V_N];
	int mismatches = 0;
	vector_values(got);
	for (int i = 0; i < V_N; i++) {
		if (strcmp(got[i], vector_expected[i]) != 0) {
			printf("vector value %d: computed %s\n", i, got[i]);
			mismatches++;
		}
	}
	mismatches += missing_in_doc(got);
	for (int i = 0; i < V_N; i++)
		free(got[i]);
	assert_int_equal(mismatches, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate_rules),    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_header_round_trip), cmocka_unit_test(test_header_decode_errors),
	    cmocka_unit_test(test_sign_verify_hash),  cmocka_unit_test(test_docs_vector),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
