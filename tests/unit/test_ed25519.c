/*
 * test_ed25519.c - Ed25519 against Wycheproof, RFC 8032 and the
 * edgesentry-rs reference key.
 *
 * Wycheproof treatment (vectors/wycheproof_ed25519_test.json, 151 cases):
 * - "valid" (88 cases) must give EDS_OK and "invalid" (63) EDS_E_SIGNATURE.
 * - 12 invalid cases carry a signature that is not 64 bytes long.
 *   eds_ed25519_verify takes a fixed 64-byte signature, so such a signature
 *   cannot even be passed to it: the caller's length check (every reader
 *   decodes exactly 128 hex characters) rejects it.  They are counted as
 *   rejected without a call, and the count is asserted.
 * - "acceptable" cases (results a verifier may go either way on): this
 *   file has none, and the test asserts that.  Were some added, libsodium's
 *   strict answer would be taken as ours, and the assertion would make
 *   someone record that decision here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/ed25519.h"
#include "edgesentry/key.h"
#include "test_support.h"

typedef struct {
	size_t valid, invalid, acceptable, short_or_long, groups;
} counts;

static void hex_to(uint8_t *out, size_t len, const char *hex)
{
	size_t n;
	uint8_t *bin = test_hex(hex, &n);
	assert_int_equal(n, len);
	memcpy(out, bin, len);
	free(bin);
}

static void run_case(const uint8_t pk[32], json_t *t, counts *c)
{
	const char *result = json_string_value(json_object_get(t, "result"));
	size_t msg_len, sig_len;
	uint8_t *msg = test_hex(json_string_value(json_object_get(t, "msg")), &msg_len);
	uint8_t *sig = test_hex(json_string_value(json_object_get(t, "sig")), &sig_len);
	int id = (int)json_integer_value(json_object_get(t, "tcId"));
	eds_status st = EDS_E_SIGNATURE;

	if (sig_len == EDS_ED25519_SIG_LEN)
		st = eds_ed25519_verify(sig, msg, msg_len, pk);
	else
		c->short_or_long++;
	if (strcmp(result, "valid") == 0) {
		c->valid++;
		if (st != EDS_OK)
			fail_msg("tcId %d: valid signature refused (%d)", id, st);
	} else if (strcmp(result, "invalid") == 0) {
		c->invalid++;
		if (st != EDS_E_SIGNATURE)
			fail_msg("tcId %d: invalid signature gave %d", id, st);
	} else {
		c->acceptable++;
		assert_true(st == EDS_OK || st == EDS_E_SIGNATURE);
	}
	free(msg);
	free(sig);
}

/* The group's key in its raw, PEM and hex forms must all agree with ours. */
static void check_group_key(json_t *g, uint8_t pk[32])
{
	const char *pk_hex =
	    json_string_value(json_object_get(json_object_get(g, "publicKey"), "pk"));
	const char *pem = json_string_value(json_object_get(g, "publicKeyPem"));
	eds_public_key from_pem;
	char ours[128];

	hex_to(pk, 32, pk_hex);
	assert_int_equal(eds_public_key_from_pem(&from_pem, pem, strlen(pem)), EDS_OK);
	assert_memory_equal(from_pem.bytes, pk, 32);
	assert_int_equal(eds_public_key_to_pem(&from_pem, ours, sizeof ours, NULL), EDS_OK);
	assert_string_equal(ours, pem);
}

static void wycheproof_all_cases(void **state)
{
	(void)state;
	json_error_t err;
	json_t *root = json_load_file(test_vector_path("wycheproof_ed25519_test.json"), 0, &err);
	counts c = {0, 0, 0, 0, 0};
	size_t i, j;
	json_t *g, *t;

	assert_non_null(root);
	json_array_foreach(json_object_get(root, "testGroups"), i, g)
	{
		uint8_t pk[32];
		check_group_key(g, pk);
		c.groups++;
		json_array_foreach(json_object_get(g, "tests"), j, t) run_case(pk, t, &c);
	}
	assert_int_equal(c.valid + c.invalid + c.acceptable,
	                 json_integer_value(json_object_get(root, "numberOfTests")));
	assert_int_equal(c.valid, 88);
	assert_int_equal(c.invalid, 63);
	assert_int_equal(c.acceptable, 0);
	assert_int_equal(c.short_or_long, 12);
	assert_int_equal(c.groups, 78);
	json_decref(root);
}

/* The key every edgesentry-rs test uses (COMPAT.md, legacy vectors). */
static void seed_01_public_key(void **state)
{
	(void)state;
	uint8_t seed[32], pk[32], sk[64], want[32];
	memset(seed, 0x01, sizeof seed);
	hex_to(want, 32, "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
	assert_int_equal(eds_ed25519_keypair_seed(pk, sk, seed), EDS_OK);
	assert_memory_equal(pk, want, 32);
	assert_memory_equal(sk, seed, 32);
	assert_memory_equal(sk + 32, want, 32);
}

/* RFC 8032 section 7.1, TEST 1: signing is deterministic, so the exact bytes are known. */
static void rfc8032_test_1(void **state)
{
	(void)state;
	uint8_t seed[32], pk[32], sk[64], sig[64], want_pk[32], want_sig[64];
	hex_to(seed, 32, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	hex_to(want_pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	hex_to(want_sig, 64,
	       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
	       "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	assert_int_equal(eds_ed25519_keypair_seed(pk, sk, seed), EDS_OK);
	assert_memory_equal(pk, want_pk, 32);
	assert_int_equal(eds_ed25519_sign(sig, NULL, 0, sk), EDS_OK);
	assert_memory_equal(sig, want_sig, 64);
	assert_int_equal(eds_ed25519_verify(sig, NULL, 0, pk), EDS_OK);
}

static void sign_verify_round_trip(void **state)
{
	(void)state;
	uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64];
	uint8_t msg[] = "lift-01 door check ok";
	assert_int_equal(eds_ed25519_keypair_random(pk, sk), EDS_OK);
	assert_int_equal(eds_ed25519_keypair_random(pk2, sk2), EDS_OK);
	assert_int_equal(eds_ed25519_sign(sig, msg, sizeof msg, sk), EDS_OK);
	assert_int_equal(eds_ed25519_verify(sig, msg, sizeof msg, pk), EDS_OK);
	assert_int_equal(eds_ed25519_verify(sig, msg, sizeof msg, pk2), EDS_E_SIGNATURE);
	msg[0] ^= 1;
	assert_int_equal(eds_ed25519_verify(sig, msg, sizeof msg, pk), EDS_E_SIGNATURE);
	msg[0] ^= 1;
	sig[63] ^= 0x80;
	assert_int_equal(eds_ed25519_verify(sig, msg, sizeof msg, pk), EDS_E_SIGNATURE);
}

static void public_key_checks(void **state)
{
	(void)state;
	uint8_t pk[32], sk[64], identity[32] = {1};
	eds_public_key k;
	assert_int_equal(eds_ed25519_keypair_random(pk, sk), EDS_OK);
	assert_int_equal(eds_ed25519_public_key_check(pk), EDS_OK);
	/* The neutral element (y = 1) has order 1: any signature "verifies" for it. */
	assert_int_equal(eds_ed25519_public_key_check(identity), EDS_E_KEY);
	assert_int_equal(eds_public_key_from_hex(&k,
	                                         "01000000000000000000000000000000"
	                                         "00000000000000000000000000000000",
	                                         64),
	                 EDS_E_KEY);
}

static void null_arguments(void **state)
{
	(void)state;
	uint8_t pk[32] = {0}, sk[64] = {0}, sig[64] = {0}, seed[32] = {0};
	assert_int_equal(eds_ed25519_keypair_seed(NULL, sk, seed), EDS_E_ARG);
	assert_int_equal(eds_ed25519_keypair_seed(pk, sk, NULL), EDS_E_ARG);
	assert_int_equal(eds_ed25519_sign(sig, NULL, 1, sk), EDS_E_ARG);
	assert_int_equal(eds_ed25519_verify(sig, NULL, 1, pk), EDS_E_ARG);
	assert_int_equal(eds_ed25519_verify(NULL, sig, 1, pk), EDS_E_ARG);
	assert_int_equal(eds_ed25519_public_key_check(NULL), EDS_E_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seed_01_public_key),
	    cmocka_unit_test(rfc8032_test_1),
	    cmocka_unit_test(sign_verify_round_trip),
	    cmocka_unit_test(public_key_checks),
	    cmocka_unit_test(null_arguments),
	    /* Last: it exits 77 (skipped) when the vectors folder is absent. */
	    cmocka_unit_test(wycheproof_all_cases),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
