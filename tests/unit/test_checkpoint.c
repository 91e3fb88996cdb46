/*
 * test_checkpoint.c - signed operation-log heads (edgesentry/checkpoint.h):
 * the worked example of docs/format.md 10, whose message and signature were
 * computed with openssl (printf | xxd, `openssl pkeyutl -sign -rawin`), not
 * with this library; the JSON round trip; every field a signature covers;
 * and the strict reader, one rule at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/checkpoint.h"
#include "edgesentry/encoding.h"
#include "edgesentry/error.h"
#include "test_support.h"

/* docs/format.md 10: oplog_id 7, head 00 01 .. 1f, time_ms 1764412902123. */
#define EX_MESSAGE                                                                                 \
	"4544532d434845434b504f494e542d310000000000000007000102030405060708090a0b0c0d0e0f1011"     \
	"12131415161718191a1b1c1d1e1f0000019acf344aeb"
/* openssl pkeyutl -sign with the key of seed 01 * 32 over EX_MESSAGE. */
#define EX_SIGNATURE                                                                               \
	"8f708aee2858fbf9c4464f4408eaaddfb192c37f8dbe406fafbb25afaa05a2ed1f2ae4cfde5f21bfcf74"     \
	"8abb3c3ed1e9641191d5575f93541c027c4662e9740a"
#define EX_PUBLIC "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"

static void example(eds_checkpoint *cp, eds_secret_key *sk)
{
	uint8_t seed[32];
	memset(seed, 1, sizeof seed);
	assert_int_equal(eds_secret_key_from_seed(sk, seed), EDS_OK);
	memset(cp, 0, sizeof *cp);
	cp->oplog_id = 7;
	for (int i = 0; i < EDS_HASH_LEN; i++)
		cp->oplog_head[i] = (uint8_t)i;
	cp->time_ms = 1764412902123ull;
}

static void assert_hex(const uint8_t *bin, size_t len, const char *want)
{
	char got[2 * 128 + 1];
	assert_true(len <= 128);
	eds_hex_encode(got, bin, len);
	assert_string_equal(got, want);
}

static void worked_example(void **state)
{
	(void)state;
	eds_checkpoint cp;
	eds_secret_key sk;
	uint8_t msg[EDS_CHECKPOINT_MESSAGE_LEN];
	example(&cp, &sk);
	eds_checkpoint_message(&cp, msg);
	assert_hex(msg, sizeof msg, EX_MESSAGE);
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_OK);
	assert_hex(cp.signature, sizeof cp.signature, EX_SIGNATURE);
	assert_hex(cp.public_key.bytes, sizeof cp.public_key.bytes, EX_PUBLIC);
	assert_int_equal(eds_checkpoint_verify(&cp, &cp.public_key), EDS_OK);
	assert_true(test_format_doc_has(EX_MESSAGE));
	assert_true(test_format_doc_has(EX_SIGNATURE));
	eds_secret_key_wipe(&sk);
}

/* Every field is covered: a change to any one fails the signature. */
static void every_field_signed(void **state)
{
	(void)state;
	eds_checkpoint cp, changed;
	eds_secret_key sk;
	example(&cp, &sk);
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_OK);
	for (int field = 0; field < 4; field++) {
		changed = cp;
		if (field == 0)
			changed.oplog_id++;
		else if (field == 1)
			changed.oplog_head[31] ^= 1;
		else if (field == 2)
			changed.time_ms++;
		else
			changed.signature[0] ^= 1;
		assert_int_equal(eds_checkpoint_verify(&changed, &cp.public_key), EDS_E_SIGNATURE);
	}
	eds_public_key other = cp.public_key;
	other.bytes[0] ^= 1;
	assert_int_equal(eds_checkpoint_verify(&cp, &other), EDS_E_KEY);
	assert_non_null(strstr(eds_last_error(), "signed by another key"));
	/* The key named in the checkpoint is not trusted for being there. */
	changed = cp;
	changed.public_key = other;
	assert_int_equal(eds_checkpoint_verify(&changed, &other), EDS_E_SIGNATURE);
	eds_secret_key_wipe(&sk);
}

static void sign_refuses_bad_values(void **state)
{
	(void)state;
	eds_checkpoint cp;
	eds_secret_key sk;
	example(&cp, &sk);
	cp.oplog_id = EDS_INT_MAX + 1;
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_E_FIELD);
	example(&cp, &sk);
	cp.time_ms = EDS_INT_MAX + 1;
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_E_FIELD);
	example(&cp, &sk);
	cp.oplog_id = 0; /* an empty log has a zero head */
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_E_FIELD);
	memset(cp.oplog_head, 0, sizeof cp.oplog_head);
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_OK);
	cp.oplog_id = 1; /* and only an empty log */
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_E_FIELD);
	assert_int_equal(eds_checkpoint_sign(NULL, &sk), EDS_E_ARG);
	assert_int_equal(eds_checkpoint_sign(&cp, NULL), EDS_E_ARG);
	assert_int_equal(eds_checkpoint_verify(NULL, &cp.public_key), EDS_E_ARG);
	eds_secret_key_wipe(&sk);
}

static void json_round_trip(void **state)
{
	(void)state;
	eds_checkpoint cp, back;
	eds_secret_key sk;
	char *json = NULL;
	example(&cp, &sk);
	assert_int_equal(eds_checkpoint_sign(&cp, &sk), EDS_OK);
	assert_int_equal(eds_checkpoint_to_json(&cp, &json), EDS_OK);
	assert_string_equal(json, "{\"format\":\"EDS-CHECKPOINT-1\",\"oplog_id\":7,\"oplog_head\":"
	                          "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"
	                          "1e1f\",\"time_ms\":1764412902123,\"public_key\":\"" EX_PUBLIC
	                          "\",\"signature\":\"" EX_SIGNATURE "\"}");
	assert_int_equal(eds_checkpoint_from_json(&back, json, strlen(json)), EDS_OK);
	assert_memory_equal(&back, &cp, sizeof cp);
	assert_int_equal(eds_checkpoint_verify(&back, &cp.public_key), EDS_OK);
	free(json);
	assert_int_equal(eds_checkpoint_to_json(NULL, &json), EDS_E_ARG);
	assert_null(json);
	eds_secret_key_wipe(&sk);
}

typedef struct {
	const char *json;
	eds_status status;
	const char *phrase;
} bad_case;

#define HEAD "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\""
#define REST "\"time_ms\":1,\"public_key\":\"" EX_PUBLIC "\",\"signature\":\"" EX_SIGNATURE "\""
#define CP(id, head)                                                                               \
	"{\"format\":\"EDS-CHECKPOINT-1\",\"oplog_id\":" id ",\"oplog_head\":" head "," REST "}"

static const bad_case bad[] = {
    {"", EDS_E_MALFORMED, "checkpoint: JSON column"},
    {"[]", EDS_E_MALFORMED, "checkpoint: must be a JSON object"},
    {"{\"format\":\"EDS-CHECKPOINT-1\"}", EDS_E_MALFORMED, "checkpoint.oplog_id: required"},
    {"{\"format\":\"EDS-CHECKPOINT-1\",\"format\":\"EDS-CHECKPOINT-1\",\"oplog_id\":7,"
     "\"oplog_head\":" HEAD "," REST "}",
     EDS_E_MALFORMED, "duplicate"},
    {"{\"format\":\"EDS-CHECKPOINT-1\",\"oplog_id\":7,\"oplog_head\":" HEAD "," REST ",\"x\":1}",
     EDS_E_MALFORMED, "checkpoint: unknown member"},
    {"{\"format\":\"EDS-CHECKPOINT-0\",\"oplog_id\":7,\"oplog_head\":" HEAD "," REST "}",
     EDS_E_FIELD, "checkpoint.format: must be"},
    {"{\"format\":1,\"oplog_id\":7,\"oplog_head\":" HEAD "," REST "}", EDS_E_FIELD,
     "checkpoint.format"},
    {CP("-1", HEAD), EDS_E_FIELD, "checkpoint.oplog_id: must be 0 .. 2^53-1"},
    {CP("9007199254740992", HEAD), EDS_E_FIELD, "checkpoint.oplog_id: must be 0 .. 2^53-1"},
    {CP("7.0", HEAD), EDS_E_MALFORMED, "checkpoint.oplog_id: required, an integer"},
    {CP("7", "\"00\""), EDS_E_FIELD, "checkpoint.oplog_head: must be 64 hex digits"},
    {CP("7", "\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\""), EDS_E_FIELD,
     "checkpoint.oplog_head: must be 64 hex digits"},
    {CP("7", "null"), EDS_E_MALFORMED, "checkpoint.oplog_head: required, a string"},
    {CP("0", HEAD), EDS_E_FIELD, "checkpoint.oplog_head: must be zero exactly when"},
    {"{\"format\":\"EDS-CHECKPOINT-1\",\"oplog_id\":7,\"oplog_head\":" HEAD
     ",\"time_ms\":1,\"public_key\":\"0100000000000000000000000000000000000000000000000000000000"
     "000000\",\"signature\":\"" EX_SIGNATURE "\"}",
     EDS_E_KEY, "checkpoint.public_key: not a valid Ed25519 point"},
    {"{\"format\":\"EDS-CHECKPOINT-1\",\"oplog_id\":7,\"oplog_head\":" HEAD
     ",\"time_ms\":1,\"public_key\":\"" EX_PUBLIC "\",\"signature\":\"00\"}",
     EDS_E_FIELD, "checkpoint.signature: must be 128 hex digits"},
};

static void strict_reader(void **state)
{
	(void)state;
	eds_checkpoint cp;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		eds_status st = eds_checkpoint_from_json(&cp, bad[i].json, strlen(bad[i].json));
		if (st != bad[i].status || strstr(eds_last_error(), bad[i].phrase) == NULL)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, st, eds_last_error(),
			         bad[i].status, bad[i].phrase);
	}
	/* Upper-case hex is read; the well-formed example is (signature aside) fine. */
	const char *ok =
	    CP("7", "\"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\"");
	assert_int_equal(eds_checkpoint_from_json(&cp, ok, strlen(ok)), EDS_OK);
	assert_int_equal(cp.oplog_head[10], 10);
	char big[EDS_CHECKPOINT_JSON_MAX + 2];
	memset(big, ' ', sizeof big);
	assert_int_equal(eds_checkpoint_from_json(&cp, big, sizeof big), EDS_E_LIMIT);
	assert_int_equal(eds_checkpoint_from_json(NULL, ok, strlen(ok)), EDS_E_ARG);
	assert_int_equal(eds_checkpoint_from_json(&cp, NULL, 0), EDS_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(worked_example),          cmocka_unit_test(every_field_signed),
	    cmocka_unit_test(sign_refuses_bad_values), cmocka_unit_test(json_round_trip),
	    cmocka_unit_test(strict_reader),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
