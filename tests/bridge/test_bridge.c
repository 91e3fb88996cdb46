/*
 * test_bridge.c - the edgesentry-rs C bridge ABI (edgesentry_bridge.h):
 * layout, the legacy vectors, and every documented error path.
 *
 * The program links the shared bridge library AND the native static library,
 * which is itself part of the test: both must coexist in one program.  The
 * native API is used only to cross-check results.
 */
#include "edgesentry_bridge.h" /* first: the header must stand alone */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka needs the three headers above first. */
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/legacy.h"
#include "test_support.h"

/* The Rust #[repr(C)] layout (COMPAT.md), checked where the header is consumed. */
_Static_assert(sizeof(EdsAuditRecord) == 912, "size");
_Static_assert(alignof(EdsAuditRecord) == 8, "alignment");
_Static_assert(offsetof(EdsAuditRecord, sequence) == 0, "sequence");
_Static_assert(offsetof(EdsAuditRecord, timestamp_ms) == 8, "timestamp_ms");
_Static_assert(offsetof(EdsAuditRecord, payload_hash) == 16, "payload_hash");
_Static_assert(offsetof(EdsAuditRecord, signature) == 48, "signature");
_Static_assert(offsetof(EdsAuditRecord, prev_record_hash) == 112, "prev_record_hash");
_Static_assert(offsetof(EdsAuditRecord, device_id) == 144, "device_id");
_Static_assert(offsetof(EdsAuditRecord, object_ref) == 400, "object_ref");
_Static_assert(EDS_OK == 0 && EDS_ERR_NULL_PTR == -1 && EDS_ERR_INVALID_UTF8 == -2 &&
                   EDS_ERR_INVALID_KEY == -3 && EDS_ERR_STRING_TOO_LONG == -4 &&
                   EDS_ERR_CHAIN_INVALID == -5 && EDS_ERR_PANIC == -6 &&
                   EDS_ERR_HASH_MISMATCH == -7 && EDS_ERR_BAD_SIGNATURE == -8,
               "error codes");

/* From both_headers.c, which includes the headers in the other order. */
int both_headers_status_ok(void);

static json_t *vectors;
static uint8_t seed[32], vpub[32];

static const char *vstr(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	assert_non_null(s);
	return s;
}

static void assert_hex(const uint8_t *bin, size_t n, const char *hex)
{
	char buf[129];
	assert_true(n <= 64);
	eds_hex_encode(buf, bin, n);
	assert_string_equal(buf, hex);
}

static void hex_to(uint8_t *out, size_t n, const char *hex)
{
	size_t len;
	uint8_t *b = test_hex(hex, &len);
	assert_int_equal(len, n);
	memcpy(out, b, n);
	free(b);
}

static int32_t sign(const char *dev, uint64_t seq, const char *payload, const uint8_t *prev,
                    const char *ref, EdsAuditRecord *out)
{
	return eds_sign_record(dev, seq, 1700000000000ULL + seq, (const uint8_t *)payload,
	                       strlen(payload), prev, ref, seed, out);
}

/* ---- vectors --------------------------------------------------------------- */

static void test_single_vector(void **state)
{
	(void)state;
	EdsAuditRecord r;
	uint8_t hash[32];
	const json_t *v = json_object_get(vectors, "single");
	const char *payload = vstr(v, "payload_utf8");
	assert_int_equal(
	    eds_sign_record(
	        vstr(v, "device_id"), (uint64_t)json_integer_value(json_object_get(v, "sequence")),
	        (uint64_t)json_integer_value(json_object_get(v, "timestamp_ms")),
	        (const uint8_t *)payload, strlen(payload), NULL, vstr(v, "object_ref"), seed, &r),
	    EDS_OK);
	assert_hex(r.payload_hash, 32, vstr(v, "payload_hash"));
	assert_hex(r.signature, 64, vstr(v, "signature"));
	assert_hex(r.prev_record_hash, 32, vstr(v, "prev_record_hash"));
	assert_string_equal((const char *)r.device_id, vstr(v, "device_id"));
	assert_string_equal((const char *)r.object_ref, vstr(v, "object_ref"));
	assert_int_equal(eds_record_hash(&r, hash), EDS_OK);
	assert_hex(hash, 32, vstr(v, "record_hash"));
	assert_int_equal(eds_verify_record(&r, vpub), 1);
}

/* The lift-inspection chain of the vectors, signed through the bridge. */
static void vector_chain(EdsAuditRecord recs[3])
{
	const json_t *chain = json_object_get(vectors, "lift_inspection_chain");
	const json_t *list = json_object_get(chain, "records");
	uint8_t prev[32] = {0};
	for (size_t i = 0; i < 3; i++) {
		const json_t *v = json_array_get(list, i);
		const char *payload = vstr(v, "payload_utf8");
		assert_int_equal(
		    eds_sign_record(
		        vstr(chain, "device_id"),
		        (uint64_t)json_integer_value(json_object_get(v, "sequence")),
		        (uint64_t)json_integer_value(json_object_get(v, "timestamp_ms")),
		        (const uint8_t *)payload, strlen(payload), i == 0 ? NULL : prev,
		        vstr(v, "object_ref"), seed, &recs[i]),
		    EDS_OK);
		assert_hex(recs[i].signature, 64, vstr(v, "signature"));
		assert_int_equal(eds_record_hash(&recs[i], prev), EDS_OK);
		assert_hex(prev, 32, vstr(v, "record_hash"));
	}
}

static void test_chain_vector(void **state)
{
	(void)state;
	EdsAuditRecord recs[3];
	vector_chain(recs);
	assert_int_equal(eds_verify_chain(recs, 3), EDS_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(eds_verify_record(&recs[i], vpub), 1);
}

/* ---- eds_keygen ------------------------------------------------------------ */

static void test_keygen(void **state)
{
	(void)state;
	uint8_t sk1[32], pk1[32], sk2[32], pk2[32], zero[32] = {0};
	EdsAuditRecord r;
	assert_int_equal(eds_keygen(NULL, pk1), EDS_ERR_NULL_PTR);
	assert_non_null(strstr(eds_last_error_message(), "eds_keygen"));
	assert_int_equal(eds_keygen(sk1, NULL), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_keygen(sk1, pk1), EDS_OK);
	assert_int_equal(eds_keygen(sk2, pk2), EDS_OK);
	assert_memory_not_equal(sk1, sk2, 32);
	assert_memory_not_equal(pk1, pk2, 32);
	assert_memory_not_equal(sk1, zero, 32);
	/* The private key is the seed of the public key. */
	assert_int_equal(eds_sign_record("d", 1, 0, (const uint8_t *)"x", 1, NULL, "", sk1, &r),
	                 EDS_OK);
	assert_int_equal(eds_verify_record(&r, pk1), 1);
	assert_int_equal(eds_verify_record(&r, pk2), 0);
}

/* ---- eds_sign_record ------------------------------------------------------- */

static void test_sign_null_pointers(void **state)
{
	(void)state;
	EdsAuditRecord r;
	const uint8_t *p = (const uint8_t *)"payload";
	assert_int_equal(eds_sign_record(NULL, 1, 0, p, 7, NULL, "o", seed, &r), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_sign_record("d", 1, 0, NULL, 7, NULL, "o", seed, &r),
	                 EDS_ERR_NULL_PTR);
	/* payload NULL is refused even with length 0, as in the Rust bridge. */
	assert_int_equal(eds_sign_record("d", 1, 0, NULL, 0, NULL, "o", seed, &r),
	                 EDS_ERR_NULL_PTR);
	assert_int_equal(eds_sign_record("d", 1, 0, p, 7, NULL, NULL, seed, &r), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_sign_record("d", 1, 0, p, 7, NULL, "o", NULL, &r), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_sign_record("d", 1, 0, p, 7, NULL, "o", seed, NULL), EDS_ERR_NULL_PTR);
	assert_string_equal(eds_last_error_message(),
	                    "eds_sign_record: one or more required pointer arguments is NULL");
	/* An empty payload behind a valid pointer is fine; prev NULL is the zero hash. */
	uint8_t zero[32] = {0}, empty_hash[32];
	assert_int_equal(eds_sign_record("d", 1, 0, p, 0, NULL, "o", seed, &r), EDS_OK);
	assert_memory_equal(r.prev_record_hash, zero, 32);
	eds_blake3(empty_hash, "", 0);
	assert_memory_equal(r.payload_hash, empty_hash, 32);
}

static void test_sign_utf8_and_lengths(void **state)
{
	(void)state;
	EdsAuditRecord r, before;
	char id[300], ref[600];
	const uint8_t *p = (const uint8_t *)"x";
	memset(&before, 0xAA, sizeof before);
	r = before;
	assert_int_equal(eds_sign_record("bad\xff", 1, 0, p, 1, NULL, "o", seed, &r),
	                 EDS_ERR_INVALID_UTF8);
	assert_non_null(strstr(eds_last_error_message(), "device_id"));
	assert_int_equal(eds_sign_record("d", 1, 0, p, 1, NULL, "\xed\xa0\x80", seed, &r),
	                 EDS_ERR_INVALID_UTF8); /* an encoded surrogate */
	assert_non_null(strstr(eds_last_error_message(), "object_ref"));
	assert_memory_equal(&r, &before, sizeof r); /* untouched on error */

	memset(id, 'i', sizeof id);
	memset(ref, 'r', sizeof ref);
	id[255] = '\0';
	ref[511] = '\0';
	assert_int_equal(eds_sign_record(id, 1, 0, p, 1, NULL, ref, seed, &r), EDS_OK);
	assert_int_equal(strlen((const char *)r.device_id), 255);
	assert_int_equal(strlen((const char *)r.object_ref), 511);
	id[255] = 'i';
	id[256] = '\0';
	r = before;
	assert_int_equal(eds_sign_record(id, 1, 0, p, 1, NULL, "o", seed, &r),
	                 EDS_ERR_STRING_TOO_LONG);
	assert_non_null(strstr(eds_last_error_message(), "255"));
	assert_memory_equal(&r, &before, sizeof r);
	ref[511] = 'r';
	ref[512] = '\0';
	assert_int_equal(eds_sign_record("d", 1, 0, p, 1, NULL, ref, seed, &r),
	                 EDS_ERR_STRING_TOO_LONG);
	assert_non_null(strstr(eds_last_error_message(), "511"));
	/* UTF-8 is checked before length, as in the Rust bridge. */
	assert_int_equal(eds_sign_record(id, 1, 0, p, 1, NULL, "\xc3", seed, &r),
	                 EDS_ERR_INVALID_UTF8);
	/* Multi-byte UTF-8 is counted in bytes. */
	assert_int_equal(
	    eds_sign_record("caf\xc3\xa9", 1, 0, p, 1, NULL, "\xf0\x9f\x98\x80", seed, &r), EDS_OK);
}

/* ---- eds_record_hash ------------------------------------------------------- */

static void native_hash(const char *device_id, const EdsAuditRecord *b, uint8_t out[32])
{
	eds_legacy_record n;
	memset(&n, 0, sizeof n);
	strcpy(n.device_id, device_id);
	strcpy(n.object_ref, (const char *)b->object_ref);
	n.sequence = b->sequence;
	n.timestamp_ms = b->timestamp_ms;
	memcpy(n.payload_hash, b->payload_hash, 32);
	memcpy(n.signature, b->signature, 64);
	memcpy(n.prev_record_hash, b->prev_record_hash, 32);
	assert_int_equal(eds_legacy_record_compute_hash(&n, out), EDS_OK);
}

static void test_record_hash(void **state)
{
	(void)state;
	EdsAuditRecord r;
	uint8_t h1[32], h2[32];
	assert_int_equal(sign("dev", 1, "p", NULL, "o", &r), EDS_OK);
	assert_int_equal(eds_record_hash(NULL, h1), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_record_hash(&r, NULL), EDS_ERR_NULL_PTR);
	assert_string_equal(eds_last_error_message(),
	                    "eds_record_hash: record or hash_out is NULL");
	assert_int_equal(eds_record_hash(&r, h1), EDS_OK);
	native_hash("dev", &r, h2);
	assert_memory_equal(h1, h2, 32);
	/* Bytes after the NUL do not count. */
	r.device_id[200] = 'z';
	assert_int_equal(eds_record_hash(&r, h2), EDS_OK);
	assert_memory_equal(h1, h2, 32);
	/* A buffer without NUL is taken whole (256 bytes). */
	char whole[257];
	memset(r.device_id, 'a', sizeof r.device_id);
	memset(whole, 'a', 256);
	whole[256] = '\0';
	assert_int_equal(eds_record_hash(&r, h1), EDS_OK);
	native_hash(whole, &r, h2);
	assert_memory_equal(h1, h2, 32);
}

/* Invalid UTF-8 is hashed as String::from_utf8_lossy repairs it (expected
 * repairs computed with Python's bytes.decode(errors="replace"), which
 * follows the same Unicode "maximal subpart" practice). */
static void test_record_hash_lossy(void **state)
{
	(void)state;
	static const struct {
		const char *raw, *repaired;
	} cases[] = {
	    {"a\xff"
	     "b",
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\xe0\x80", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xf0\x90\x80", "\xef\xbf\xbd"},
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xc3", "\xef\xbf\xbd"},
	    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xf0\x9f\x98\x80ok", "\xf0\x9f\x98\x80ok"},
	    {"\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
	};
	EdsAuditRecord r;
	uint8_t h1[32], h2[32];
	assert_int_equal(sign("x", 1, "p", NULL, "o", &r), EDS_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(r.device_id, 0, sizeof r.device_id);
		strcpy((char *)r.device_id, cases[i].raw);
		assert_int_equal(eds_record_hash(&r, h1), EDS_OK);
		native_hash(cases[i].repaired, &r, h2);
		assert_memory_equal(h1, h2, 32);
	}
	/* The worst case: 256 invalid bytes, no NUL, become 768 bytes. */
	char repaired[3 * 256 + 1] = "";
	memset(r.device_id, 0xff, sizeof r.device_id);
	for (int i = 0; i < 256; i++)
		strcat(repaired, "\xef\xbf\xbd");
	assert_int_equal(eds_record_hash(&r, h1), EDS_OK);
	native_hash(repaired, &r, h2);
	assert_memory_equal(h1, h2, 32);
}

/* ---- eds_verify_record ----------------------------------------------------- */

static void test_verify_record(void **state)
{
	(void)state;
	EdsAuditRecord r;
	uint8_t not_point[32] = {2}, identity[32] = {1};
	assert_int_equal(sign("dev", 1, "p", NULL, "o", &r), EDS_OK);
	assert_int_equal(eds_verify_record(NULL, vpub), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_verify_record(&r, NULL), EDS_ERR_NULL_PTR);
	/* y = 2 gives no curve point: -3.  The identity decodes (small order): 0. */
	assert_int_equal(eds_verify_record(&r, not_point), EDS_ERR_INVALID_KEY);
	assert_string_equal(eds_last_error_message(),
	                    "eds_verify_record: public_key is not a valid Ed25519 point");
	assert_int_equal(eds_verify_record(&r, identity), 0);
	assert_int_equal(eds_verify_record(&r, vpub), 1);
	/* Everything but payload_hash and signature may change: legacy weakness. */
	r.sequence = 77;
	r.device_id[0] = 'X';
	r.prev_record_hash[0] = 9;
	assert_int_equal(eds_verify_record(&r, vpub), 1);
	r.payload_hash[0] ^= 1;
	assert_int_equal(eds_verify_record(&r, vpub), 0);
	r.payload_hash[0] ^= 1;
	r.signature[0] ^= 1;
	assert_int_equal(eds_verify_record(&r, vpub), 0);
	r.signature[0] ^= 1;
	r.signature[63] |= 0xe0; /* S far above the group order: non-canonical */
	assert_int_equal(eds_verify_record(&r, vpub), 0);
}

/* ---- eds_verify_update ----------------------------------------------------- */

static void test_verify_update(void **state)
{
	(void)state;
	EdsAuditRecord r;
	const char *fw = "firmware-v2.0.0-image";
	const uint8_t *p = (const uint8_t *)fw;
	size_t n = strlen(fw);
	uint8_t not_point[32] = {2};
	assert_int_equal(sign("fw-device", 1, fw, NULL, "fw/v1.bin", &r), EDS_OK);
	const uint8_t *h = r.payload_hash, *s = r.signature;

	assert_int_equal(eds_verify_update(p, n, h, s, vpub), EDS_OK);
	assert_int_equal(eds_verify_update(NULL, 0, h, s, vpub), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_verify_update(p, n, NULL, s, vpub), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_verify_update(p, n, h, NULL, vpub), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_verify_update(p, n, h, s, NULL), EDS_ERR_NULL_PTR);
	assert_int_equal(eds_verify_update(p, n, h, s, not_point), EDS_ERR_INVALID_KEY);
	/* The key is checked before the hash, as in the Rust bridge. */
	assert_int_equal(eds_verify_update(p, n - 1, h, s, not_point), EDS_ERR_INVALID_KEY);
	assert_int_equal(eds_verify_update(p, n - 1, h, s, vpub), EDS_ERR_HASH_MISMATCH);
	assert_non_null(strstr(eds_last_error_message(), "BLAKE3"));
	r.signature[10] ^= 1;
	assert_int_equal(eds_verify_update(p, n, h, s, vpub), EDS_ERR_BAD_SIGNATURE);
	/* A key that is a point but not the signer's. */
	uint8_t sk2[32], pk2[32];
	r.signature[10] ^= 1;
	assert_int_equal(eds_keygen(sk2, pk2), EDS_OK);
	assert_int_equal(eds_verify_update(p, n, h, s, pk2), EDS_ERR_BAD_SIGNATURE);
	/* An empty update behind a valid pointer. */
	assert_int_equal(sign("fw", 1, "", NULL, "", &r), EDS_OK);
	assert_int_equal(eds_verify_update(p, 0, r.payload_hash, r.signature, vpub), EDS_OK);
}

/* ---- eds_verify_chain ------------------------------------------------------ */

static void test_verify_chain(void **state)
{
	(void)state;
	EdsAuditRecord recs[3], t[3];
	vector_chain(recs);
	assert_int_equal(eds_verify_chain(NULL, 0), EDS_OK);
	assert_int_equal(eds_verify_chain(recs, 0), EDS_OK);
	assert_int_equal(eds_verify_chain(NULL, 1), EDS_ERR_NULL_PTR);
	assert_string_equal(eds_last_error_message(),
	                    "eds_verify_chain: records is NULL but count is non-zero");
	assert_int_equal(eds_verify_chain(recs, 1), EDS_OK);
	assert_int_equal(eds_verify_chain(recs, 2), EDS_OK);

	/* A changed byte anywhere in record 1 breaks record 2's link. */
	const size_t offsets[] = {0, 8, 16, 48, 112, 144, 400};
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		memcpy(t, recs, sizeof t);
		((uint8_t *)&t[1])[offsets[i]] ^= 1;
		int32_t rc = eds_verify_chain(t, 3);
		assert_int_equal(rc, EDS_ERR_CHAIN_INVALID);
		/* A changed sequence or prev_record_hash fails at record 1 itself. */
		const char *want = offsets[i] == 0 || offsets[i] == 112 ? "index 1" : "index 2";
		assert_non_null(strstr(eds_last_error_message(), want));
	}
	/* Reordered, dropped, and a chain that does not start at genesis. */
	t[0] = recs[0];
	t[1] = recs[2];
	t[2] = recs[1];
	assert_int_equal(eds_verify_chain(t, 3), EDS_ERR_CHAIN_INVALID);
	assert_int_equal(eds_verify_chain(t, 2), EDS_ERR_CHAIN_INVALID);
	assert_string_equal(eds_last_error_message(), "eds_verify_chain: chain verification "
	                                              "failed: invalid previous hash at index 1");
	assert_int_equal(eds_verify_chain(recs + 1, 2), EDS_ERR_CHAIN_INVALID);
	assert_non_null(strstr(eds_last_error_message(), "at index 0"));
	/* A correct link with a wrong sequence. */
	uint8_t prev[32];
	assert_int_equal(eds_record_hash(&recs[0], prev), EDS_OK);
	t[0] = recs[0];
	assert_int_equal(sign("lift-01", 3, "x", prev, "o", &t[1]), EDS_OK);
	assert_int_equal(eds_verify_chain(t, 2), EDS_ERR_CHAIN_INVALID);
	assert_string_equal(eds_last_error_message(),
	                    "eds_verify_chain: chain verification failed: invalid sequence at "
	                    "index 1: expected 2, actual 3");
	/* Signatures are not the chain's business (as in the Rust bridge). */
	memcpy(t, recs, sizeof t);
	t[2].signature[0] ^= 1;
	assert_int_equal(eds_verify_chain(t, 3), EDS_OK);
}

/* ---- eds_last_error_message ------------------------------------------------ */

static void *fresh_thread(void *arg)
{
	const char **seen = arg;
	seen[0] = eds_last_error_message();
	seen[1] = strdup(seen[0]);
	eds_verify_chain(NULL, 5);
	seen[2] = strdup(eds_last_error_message());
	return NULL;
}

static void test_last_error(void **state)
{
	(void)state;
	const char *seen[3];
	pthread_t t;
	uint8_t h[32];
	EdsAuditRecord r;
	assert_int_equal(eds_keygen(NULL, NULL), EDS_ERR_NULL_PTR);
	assert_string_equal(eds_last_error_message(),
	                    "eds_keygen: private_key_out or public_key_out is NULL");
	/* Successes do not clear it. */
	assert_int_equal(sign("d", 1, "p", NULL, "o", &r), EDS_OK);
	assert_int_equal(eds_record_hash(&r, h), EDS_OK);
	assert_int_equal(eds_verify_chain(NULL, 0), EDS_OK);
	assert_string_equal(eds_last_error_message(),
	                    "eds_keygen: private_key_out or public_key_out is NULL");
	/* Another thread starts with "" and does not see or change ours. */
	assert_int_equal(pthread_create(&t, NULL, fresh_thread, seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(seen[0]);
	assert_string_equal(seen[1], "");
	assert_non_null(strstr(seen[2], "eds_verify_chain"));
	free((void *)seen[1]);
	free((void *)seen[2]);
	assert_string_equal(eds_last_error_message(),
	                    "eds_keygen: private_key_out or public_key_out is NULL");
	/* The native API keeps its own, separate detail. */
	assert_int_equal(eds_legacy_record_validate(NULL), EDS_E_ARG);
	assert_string_equal(eds_last_error_message(),
	                    "eds_keygen: private_key_out or public_key_out is NULL");
}

static void test_both_headers(void **state)
{
	(void)state;
	assert_int_equal(both_headers_status_ok(), 0);
}

static int setup(void **state)
{
	(void)state;
	json_error_t err;
	vectors = json_load_file(test_vector_path("edgesentry_rs_legacy.json"), 0, &err);
	if (vectors == NULL)
		return -1;
	hex_to(seed, 32, vstr(vectors, "seed_hex"));
	hex_to(vpub, 32, vstr(vectors, "public_key_hex"));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(vectors);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_vector),
	    cmocka_unit_test(test_chain_vector),
	    cmocka_unit_test(test_keygen),
	    cmocka_unit_test(test_sign_null_pointers),
	    cmocka_unit_test(test_sign_utf8_and_lengths),
	    cmocka_unit_test(test_record_hash),
	    cmocka_unit_test(test_record_hash_lossy),
	    cmocka_unit_test(test_verify_record),
	    cmocka_unit_test(test_verify_update),
	    cmocka_unit_test(test_verify_chain),
	    cmocka_unit_test(test_last_error),
	    cmocka_unit_test(test_both_headers),
	};
	/* A fresh thread's message is "": check this thread before any call. */
	if (eds_last_error_message() == NULL || eds_last_error_message()[0] != '\0')
		return 1;
	test_vector_path("edgesentry_rs_legacy.json");
	return cmocka_run_group_tests(tests, setup, teardown);
}
