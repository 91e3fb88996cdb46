/*
 * test_update.c - update manifests and trust policies: the worked example
 * of docs/update.md recomputed (canonical bytes built here by hand, hash and
 * signatures pinned), every strict-parsing rule, semantic versions, the
 * verifier's reasons and signature counting, trust rotation, device state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgesentry/edgesentry.h"
#include "test_support.h"

/* docs/update.md worked example: publisher keys from seeds 0x01.. and 0x02.. */
#define EX_HASH  "81695032b7f1a291a88e484bc14c5f937a73e034bc6fd3dd8848ab957bbcd5b4"
#define EX_IMAGE "EdgeSentry example firmware image\n"

static void key_from(eds_secret_key *sk, uint8_t fill)
{
	uint8_t seed[32];
	memset(seed, fill, sizeof seed);
	assert_int_equal(eds_secret_key_from_seed(sk, seed), EDS_OK);
}

static void example(eds_update_manifest *m)
{
	uint8_t h[32];
	eds_blake3(h, EX_IMAGE, strlen(EX_IMAGE));
	assert_int_equal(eds_update_manifest_init(m, "acme/lift-controller", "2.1.0-rc.1+b7", 7,
	                                          strlen(EX_IMAGE), h, 1767225600000ULL,
	                                          1798761600000ULL),
	                 EDS_OK);
	assert_int_equal(eds_update_manifest_add_target(m, "lift-ctl-rev-b"), EDS_OK);
	assert_int_equal(eds_update_manifest_add_target(m, "lift-ctl-rev-c"), EDS_OK);
}

static size_t put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return 8;
}

static size_t put_str(uint8_t *p, const char *s)
{
	p[0] = (uint8_t)strlen(s);
	memcpy(p + 1, s, strlen(s));
	return 1 + strlen(s);
}

/* The canonical bytes, assembled field by field as docs/update.md lists them. */
static void canonical_by_hand(void **state)
{
	(void)state;
	eds_update_manifest m;
	uint8_t want[EDS_UPDATE_CANON_MAX], got[EDS_UPDATE_CANON_MAX], h[32];
	size_t n = 0, len;
	example(&m);
	memcpy(want, "EDSUPD1\0", 8);
	n = 8;
	n += put_str(want + n, "acme/lift-controller");
	n += put_str(want + n, "2.1.0-rc.1+b7");
	n += put_u64(want + n, 7);
	n += put_u64(want + n, strlen(EX_IMAGE));
	eds_blake3(want + n, EX_IMAGE, strlen(EX_IMAGE));
	n += 32;
	n += put_u64(want + n, 1767225600000ULL);
	want[n++] = 1;
	n += put_u64(want + n, 1798761600000ULL);
	want[n++] = 2;
	n += put_str(want + n, "lift-ctl-rev-b");
	n += put_str(want + n, "lift-ctl-rev-c");
	assert_int_equal(eds_update_manifest_encode(&m, got, sizeof got, &len), EDS_OK);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	assert_int_equal(eds_update_manifest_hash(&m, h), EDS_OK);
	uint8_t h2[32];
	eds_blake3(h2, want, n);
	assert_memory_equal(h, h2, 32);
	assert_int_equal(eds_update_manifest_encode(&m, got, n - 1, &len), EDS_E_LIMIT);
	/* NULL anywhere is a status, not a crash (the out buffer used to be written blind) */
	assert_int_equal(eds_update_manifest_hash(&m, NULL), EDS_E_ARG);
	assert_int_equal(eds_update_manifest_hash(NULL, h), EDS_E_ARG);
}

/* The worked example's values, pinned: hash, signatures and JSON text round trip. */
static void worked_example(void **state)
{
	(void)state;
	eds_update_manifest m, back;
	eds_secret_key k1, k2;
	uint8_t h[32];
	char hex[65], json[EDS_UPDATE_JSON_MAX], json2[EDS_UPDATE_JSON_MAX];
	size_t len;
	example(&m);
	key_from(&k1, 1);
	key_from(&k2, 2);
	assert_int_equal(eds_update_manifest_sign(&m, &k1), EDS_OK);
	assert_int_equal(eds_update_manifest_sign(&m, &k2), EDS_OK);
	assert_int_equal(eds_update_manifest_sign(&m, &k1), EDS_E_EXISTS);
	assert_int_equal(eds_update_manifest_hash(&m, h), EDS_OK);
	eds_hex_encode(hex, h, 32);
	assert_string_equal(hex, EX_HASH);
	assert_int_equal(eds_update_manifest_to_json(&m, json, sizeof json, &len), EDS_OK);
	char *doc = NULL;
	size_t dlen;
	char path[4096];
	snprintf(path, sizeof path, "%s/docs/update.md",
	         getenv("EDS_SOURCE_DIR") ? getenv("EDS_SOURCE_DIR") : "..");
	doc = test_read_file(path, &dlen);
	assert_non_null(strstr(doc, json)); /* the documented text is what the code writes */
	free(doc);
	assert_int_equal(eds_update_manifest_from_json(&back, json, len), EDS_OK);
	assert_int_equal(eds_update_manifest_to_json(&back, json2, sizeof json2, NULL), EDS_OK);
	assert_string_equal(json, json2);
	eds_secret_key_wipe(&k1);
	eds_secret_key_wipe(&k2);
}

static void semver(void **state)
{
	(void)state;
	static const char *const good[] = {"0.0.0",
	                                   "1.2.3",
	                                   "10.20.30",
	                                   "1.0.0-alpha",
	                                   "1.0.0-alpha.1",
	                                   "1.0.0-0.3.7",
	                                   "1.0.0-x.7.z.92",
	                                   "1.0.0+20130313144700",
	                                   "1.0.0-beta+exp.sha.5114f85",
	                                   "1.0.0+001",
	                                   "1.0.0-x-y-z.--"};
	static const char *const bad[] = {
	    "",
	    "1",
	    "1.2",
	    "1.2.3.4",
	    "01.2.3",
	    "1.02.3",
	    "1.2.03",
	    "1.2.3-",
	    "1.2.3+",
	    "1.2.3-01",
	    "1.2.3-a..b",
	    "1.2.3-a.",
	    "v1.2.3",
	    "1.2.3 ",
	    "1.2.3-é",
	    "1.2.3+a+b",
	    "1234567890123456.0.0",
	    "1.0.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	eds_update_manifest m;
	uint8_t h[32] = {0};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (eds_update_manifest_init(&m, "p", good[i], 0, 0, h, 0, 0) != EDS_OK)
			fail_msg("refused %s: %s", good[i], eds_last_error());
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (eds_update_manifest_init(&m, "p", bad[i], 0, 0, h, 0, 0) != EDS_E_FIELD)
			fail_msg("accepted %s", bad[i]);
}

static char base_json[EDS_UPDATE_JSON_MAX];

static int setup(void **state)
{
	(void)state;
	eds_update_manifest m;
	eds_secret_key k;
	example(&m);
	key_from(&k, 1);
	if (eds_update_manifest_sign(&m, &k) != EDS_OK ||
	    eds_update_manifest_to_json(&m, base_json, sizeof base_json, NULL) != EDS_OK)
		return -1;
	return 0;
}

/* base_json with the first occurrence of from replaced by to. */
static eds_status parse_edited(const char *from, const char *to)
{
	static char buf[2 * EDS_UPDATE_JSON_MAX];
	eds_update_manifest m;
	const char *at = strstr(base_json, from);
	if (at == NULL)
		fail_msg("'%s' not in the base manifest", from);
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - base_json), base_json, to,
	         at + strlen(from));
	return eds_update_manifest_from_json(&m, buf, strlen(buf));
}

static void expect_edit(const char *from, const char *to, eds_status want, const char *detail)
{
	eds_status got = parse_edited(from, to);
	if (got != want)
		fail_msg("%s -> %s: status %d, want %d (%s)", from, to, got, want,
		         eds_last_error());
	if (detail != NULL && strstr(eds_last_error(), detail) == NULL)
		fail_msg("%s -> %s: detail '%s' lacks '%s'", from, to, eds_last_error(), detail);
}

static void strict_parsing(void **state)
{
	(void)state;
	eds_update_manifest m;
	assert_int_equal(eds_update_manifest_from_json(&m, base_json, strlen(base_json)), EDS_OK);
	expect_edit("\"format\"", "\"extra\": 1, \"format\"", EDS_E_FIELD, "unknown key \"extra\"");
	expect_edit("\"format\"", "\"package\": \"x\", \"format\"", EDS_E_MALFORMED, NULL);
	expect_edit("\"EDSUPD1\"", "\"EDSUPD2\"", EDS_E_UNSUPPORTED, "format");
	expect_edit("\"security_version\": 7", "\"security_version\": 7.0", EDS_E_FIELD,
	            "security_version");
	expect_edit("\"security_version\": 7", "\"security_version\": -1", EDS_E_FIELD,
	            "security_version");
	expect_edit("\"security_version\": 7", "\"security_version\": 9007199254740992",
	            EDS_E_FIELD, "security_version");
	expect_edit("\"security_version\": 7", "\"security_version\": \"7\"", EDS_E_FIELD,
	            "security_version");
	expect_edit("\"security_version\": 7,", "", EDS_E_FIELD, "security_version: missing");
	expect_edit("\"issued_ms\": 1767225600000", "\"issued_ms\": 1798761600000", EDS_E_FIELD,
	            "expires_ms");
	expect_edit("\"image_blake3\": \"", "\"image_blake3\": \"A", EDS_E_FIELD, "image_blake3");
	expect_edit("\"image_blake3\": \"", "\"image_blake3\": \"0", EDS_E_FIELD, "image_blake3");
	expect_edit("\"package\": \"acme", "\"package\": \"ac me", EDS_E_FIELD, "package");
	expect_edit("\"package\": \"acme", "\"package\": \"ac\\u0000me", EDS_E_MALFORMED, NULL);
	expect_edit("\"version\": \"2.1.0", "\"version\": \"02.1.0", EDS_E_FIELD, "version");
	expect_edit("\"lift-ctl-rev-c\"", "\"lift-ctl-rev-b\"", EDS_E_FIELD, "twice");
	expect_edit("\"lift-ctl-rev-b\",", "", EDS_OK, NULL);
	expect_edit("\"lift-ctl-rev-b\",\n    \"lift-ctl-rev-c\"", "", EDS_E_FIELD, "at least one");
	expect_edit("\"lift-ctl-rev-b\"", "\"rev/b\"", EDS_E_FIELD, "targets");
	expect_edit("\"lift-ctl-rev-b\"", "7", EDS_E_FIELD, "targets[0]");
	expect_edit("\"targets\": [",
	            "\"targets\": [\"t1\",\"t2\",\"t3\",\"t4\",\"t5\",\"t6\",\"t7\","
	            "\"t8\",\"t9\",\"t10\",\"t11\",\"t12\",\"t13\",\"t14\",\"t15\",",
	            EDS_E_LIMIT, "targets");
	expect_edit("\"signatures\": [", "\"signatures\": [{}, ", EDS_E_FIELD, "signatures[0]");
	expect_edit("\"public_key\"", "\"extra\": 1, \"public_key\"", EDS_E_FIELD, "unknown key");
	expect_edit("{", "[", EDS_E_MALFORMED, NULL);
	expect_edit("\"format\"", "\"expires_ms\": null, \"format\"", EDS_E_MALFORMED, NULL);
	/* too many signatures */
	char sigs[EDS_UPDATE_JSON_MAX] = "\"signatures\": [";
	for (int i = 0; i < 17; i++)
		strcat(sigs, "{\"public_key\":\""
		             "0000000000000000000000000000000000000000000000000000"
		             "000000000000\",\"signature\":\"00000000000000000000000000000000000000"
		             "000000000000000000000000000000000000000000000000000000000000000000000"
		             "000000000000000000000\"},");
	expect_edit("\"signatures\": [", sigs, EDS_E_LIMIT, "signatures");
	/* oversized text and trailing data */
	char *big = calloc(1, EDS_UPDATE_JSON_MAX + 2);
	memset(big, ' ', EDS_UPDATE_JSON_MAX + 1);
	assert_int_equal(eds_update_manifest_from_json(&m, big, EDS_UPDATE_JSON_MAX + 1),
	                 EDS_E_LIMIT);
	free(big);
	char trail[EDS_UPDATE_JSON_MAX + 8];
	snprintf(trail, sizeof trail, "%s{}", base_json);
	assert_int_equal(eds_update_manifest_from_json(&m, trail, strlen(trail)), EDS_E_MALFORMED);
	assert_int_equal(eds_update_manifest_from_json(NULL, base_json, 1), EDS_E_ARG);
}

/* Trust policies used by the verifier tests: keys of seeds 1..4. */
static eds_secret_key sk[5];
static eds_update_trust trust1;

static void make_trust(void)
{
	eds_public_key pk[3];
	for (int i = 1; i <= 4; i++)
		key_from(&sk[i], (uint8_t)i);
	for (int i = 0; i < 3; i++)
		eds_secret_key_public(&sk[i + 1], &pk[i]);
	assert_int_equal(eds_update_trust_init(&trust1, pk, 3, 2), EDS_OK);
}

static eds_update_result run_verify(const eds_update_manifest *m, const eds_update_policy *p)
{
	eds_update_result r;
	assert_int_equal(eds_update_verify(m, &trust1, p, NULL, &r), EDS_OK);
	return r;
}

static void verifier_reasons(void **state)
{
	(void)state;
	eds_update_manifest m;
	eds_update_policy p = {.hardware_id = "lift-ctl-rev-c",
	                       .min_security_version = 7,
	                       .last_issued_ms = 1767225600000ULL};
	make_trust();
	example(&m);
	assert_int_equal(eds_update_manifest_sign(&m, &sk[1]), EDS_OK);
	eds_update_manifest dup = m;
	dup.signatures[1] = dup.signatures[0];
	dup.n_signatures = 2;
	eds_update_result r = run_verify(&dup, &p);
	assert_int_equal(r.reason, EDS_UPDATE_THRESHOLD);
	assert_int_equal(r.sigs.valid, 1);
	assert_int_equal(r.sigs.duplicate, 1);
	assert_int_equal(eds_update_manifest_sign(&m, &sk[4]), EDS_OK); /* unknown key */
	r = run_verify(&m, &p);
	assert_int_equal(r.reason, EDS_UPDATE_THRESHOLD);
	assert_int_equal(r.sigs.unknown, 1);
	assert_int_equal(eds_update_manifest_sign(&m, &sk[2]), EDS_OK);
	r = run_verify(&m, &p);
	assert_int_equal(r.reason, EDS_UPDATE_ACCEPT);
	assert_int_equal(r.sigs.valid, 2);
	p.hardware_id = "lift-ctl-rev-a";
	assert_int_equal(run_verify(&m, &p).reason, EDS_UPDATE_TARGET);
	p.hardware_id = "lift-ctl-rev-b";
	p.min_security_version = 8;
	assert_int_equal(run_verify(&m, &p).reason, EDS_UPDATE_ROLLBACK);
	p.min_security_version = 7;
	p.last_issued_ms++;
	assert_int_equal(run_verify(&m, &p).reason, EDS_UPDATE_STALE);
	p.last_issued_ms--;
	p.trusted_clock = 1;
	p.now_ms = m.expires_ms;
	assert_int_equal(run_verify(&m, &p).reason, EDS_UPDATE_EXPIRED);
	p.now_ms = m.expires_ms - 1;
	assert_int_equal(run_verify(&m, &p).reason, EDS_UPDATE_ACCEPT);
	m.signatures[0].sig[5] ^= 1;
	r = run_verify(&m, &p);
	assert_int_equal(r.sigs.invalid, 1);
	assert_int_equal(r.reason, EDS_UPDATE_THRESHOLD);
	p.hardware_id = "bad id";
	assert_int_equal(eds_update_verify(&m, &trust1, &p, NULL, &r), EDS_E_FIELD);
	assert_string_equal(eds_update_reason_name(EDS_UPDATE_HASH), "hash");
}

static void image_checks(void **state)
{
	(void)state;
	char *dir = test_tmpdir(), path[4096];
	eds_update_manifest m;
	eds_update_result r;
	eds_update_policy p = {.hardware_id = "lift-ctl-rev-b"};
	make_trust();
	example(&m);
	assert_int_equal(eds_update_manifest_sign(&m, &sk[1]), EDS_OK);
	assert_int_equal(eds_update_manifest_sign(&m, &sk[3]), EDS_OK);
	snprintf(path, sizeof path, "%s/img", dir);
	const char *variants[] = {EX_IMAGE, "EdgeSentry example firmware image\n!",
	                          "EdgeSentry example firmware image",
	                          "EdgeSentry exbmple firmware image\n"};
	eds_update_reason want[] = {EDS_UPDATE_ACCEPT, EDS_UPDATE_SIZE, EDS_UPDATE_SIZE,
	                            EDS_UPDATE_HASH};
	for (int i = 0; i < 4; i++) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		fputs(variants[i], f);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(eds_update_verify(&m, &trust1, &p, path, &r), EDS_OK);
		assert_int_equal(r.reason, want[i]);
		assert_int_equal(r.image_size, strlen(variants[i]));
	}
	uint8_t h[32], sig[64];
	eds_public_key pk;
	eds_blake3(h, "EdgeSentry exbmple firmware image\n", 34);
	eds_ed25519_sign(sig, h, 32, sk[1].bytes);
	eds_secret_key_public(&sk[1], &pk);
	assert_int_equal(eds_update_verify_legacy(path, h, sig, &pk), EDS_OK);
	sig[0] ^= 1;
	assert_int_equal(eds_update_verify_legacy(path, h, sig, &pk), EDS_E_SIGNATURE);
	h[0] ^= 1;
	assert_int_equal(eds_update_verify_legacy(path, h, sig, &pk), EDS_E_HASH_MISMATCH);
	unlink(path);
	assert_int_equal(eds_update_verify(&m, &trust1, &p, path, &r), EDS_E_IO);
	test_rmtree(dir);
	free(dir);
}

static void trust_rotation(void **state)
{
	(void)state;
	eds_update_trust t2, t3, bad;
	eds_public_key pk[3];
	eds_update_sig_count c;
	make_trust();
	for (int i = 0; i < 3; i++)
		eds_secret_key_public(&sk[i + 2], &pk[i]); /* keys 2,3,4: key 1 revoked */
	assert_int_equal(eds_update_trust_init(&t2, pk, 3, 2), EDS_OK);
	assert_int_equal(eds_update_trust_follow(&t2, &trust1), EDS_OK);
	assert_int_equal(t2.serial, 2);
	assert_int_equal(eds_update_trust_check_successor(&trust1, &t2, &c), EDS_E_SIGNATURE);
	assert_int_equal(eds_update_trust_sign(&t2, &sk[4]), EDS_OK); /* not a key of trust1 */
	assert_int_equal(eds_update_trust_sign(&t2, &sk[2]), EDS_OK);
	assert_int_equal(eds_update_trust_check_successor(&trust1, &t2, &c), EDS_E_SIGNATURE);
	assert_int_equal(c.valid, 1);
	assert_int_equal(c.unknown, 1);
	assert_int_equal(eds_update_trust_sign(&t2, &sk[1]), EDS_OK);
	assert_int_equal(eds_update_trust_check_successor(&trust1, &t2, NULL), EDS_OK);
	uint8_t th[32];
	assert_int_equal(eds_update_trust_hash(&t2, NULL), EDS_E_ARG);
	assert_int_equal(eds_update_trust_hash(NULL, th), EDS_E_ARG);
	/* skipping a serial or linking to another policy is refused */
	t3 = t2;
	assert_int_equal(eds_update_trust_follow(&t3, &t2), EDS_OK);
	assert_int_equal(eds_update_trust_check_successor(&trust1, &t3, NULL), EDS_E_SEQUENCE);
	bad = t2;
	bad.previous[0] ^= 1;
	assert_int_equal(eds_update_trust_check_successor(&trust1, &bad, NULL), EDS_E_PREV_HASH);
	/* JSON round trip and field rules */
	char json[EDS_UPDATE_JSON_MAX];
	size_t len;
	assert_int_equal(eds_update_trust_to_json(&t2, json, sizeof json, &len), EDS_OK);
	assert_int_equal(eds_update_trust_from_json(&bad, json, len), EDS_OK);
	assert_int_equal(eds_update_trust_check_successor(&trust1, &bad, NULL), EDS_OK);
	bad = trust1;
	bad.threshold = 4;
	assert_int_equal(eds_update_trust_validate(&bad), EDS_E_FIELD);
	bad.threshold = 0;
	assert_int_equal(eds_update_trust_validate(&bad), EDS_E_FIELD);
	bad = trust1;
	bad.keys[1] = bad.keys[0];
	assert_int_equal(eds_update_trust_validate(&bad), EDS_E_FIELD);
	assert_int_equal(eds_update_trust_sign(&trust1, &sk[1]), EDS_E_FIELD); /* root */
	assert_int_equal(eds_update_trust_from_json(&bad, "{\"format\":\"EDSTRU1\"}", 20),
	                 EDS_E_FIELD);
}

static void device_state(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	eds_update_state s = {0}, back;
	eds_update_trust pinned, t2;
	int changed;
	assert_int_equal(eds_update_state_load(&s, dir), EDS_E_NOT_FOUND);
	strcpy(s.hardware_id, "hw-1");
	s.min_security_version = 9;
	s.last_issued_ms = 100;
	s.has_pending = 1;
	s.pending_security_version = 4; /* older than the floor: never lowers it */
	s.pending_issued_ms = 200;
	assert_int_equal(eds_update_state_save(&s, dir), EDS_OK);
	assert_int_equal(eds_update_state_load(&back, dir), EDS_OK);
	assert_int_equal(back.has_pending, 1);
	assert_int_equal(eds_update_state_commit(&back, dir), EDS_OK);
	assert_int_equal(eds_update_state_load(&back, dir), EDS_OK);
	assert_int_equal(back.min_security_version, 9);
	assert_int_equal(back.last_issued_ms, 200);
	assert_int_equal(back.has_pending, 0);
	assert_int_equal(eds_update_state_commit(&back, dir), EDS_E_NOT_FOUND);
	make_trust();
	assert_int_equal(eds_update_trust_pin(dir, &trust1, &pinned, &changed), EDS_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(eds_update_trust_pin(dir, &trust1, &pinned, &changed), EDS_OK);
	assert_int_equal(changed, 0);
	t2 = trust1;
	assert_int_equal(eds_update_trust_follow(&t2, &trust1), EDS_OK);
	assert_int_equal(eds_update_trust_pin(dir, &t2, &pinned, &changed), EDS_E_SIGNATURE);
	assert_int_equal(eds_update_trust_sign(&t2, &sk[1]), EDS_OK);
	assert_int_equal(eds_update_trust_sign(&t2, &sk[3]), EDS_OK);
	assert_int_equal(eds_update_trust_pin(dir, &t2, &pinned, &changed), EDS_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(pinned.serial, 2);
	assert_int_equal(eds_update_trust_pin(dir, &trust1, &pinned, &changed), EDS_E_SEQUENCE);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(canonical_by_hand),
	    cmocka_unit_test(worked_example),
	    cmocka_unit_test(semver),
	    cmocka_unit_test(strict_parsing),
	    cmocka_unit_test(verifier_reasons),
	    cmocka_unit_test(image_checks),
	    cmocka_unit_test(trust_rotation),
	    cmocka_unit_test(device_state),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
