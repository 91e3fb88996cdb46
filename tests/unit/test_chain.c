/*
 * test_chain.c - chain verification (FORMAT.md 1.3): every failure kind with
 * its exact index, sequence and reason, retries, forks, registry rotation and
 * revocation, payload checks, and many interleaved devices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edgesentry/edgesentry.h"
#include "test_support.h"

/* One simulated device: its key and chain head. */
typedef struct sim {
	char id[32];
	eds_secret_key sk;
	uint64_t seq;
	uint8_t head[EDS_HASH_LEN];
} sim;

static void sim_init(sim *d, const char *id, uint8_t seed_byte)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof seed);
	memset(d, 0, sizeof *d);
	snprintf(d->id, sizeof d->id, "%s", id);
	assert_int_equal(eds_secret_key_from_seed(&d->sk, seed), EDS_OK);
}

/* The device's next record (signed with sk, or left unsigned when sk is NULL). */
static void sim_next_with(sim *d, eds_record *r, const eds_secret_key *sk)
{
	char payload[64], ref[64];
	int n =
	    snprintf(payload, sizeof payload, "{\"reading\":%llu}", (unsigned long long)d->seq + 1);
	snprintf(ref, sizeof ref, "%s/%llu.json", d->id, (unsigned long long)d->seq + 1);
	assert_int_equal(eds_record_init(r, d->id, d->seq + 1, 1700000000000ULL + d->seq * 1000,
	                                 (const uint8_t *)payload, (size_t)n,
	                                 d->seq == 0 ? NULL : d->head, ref),
	                 EDS_OK);
	if (sk != NULL)
		assert_int_equal(eds_record_sign(r, sk), EDS_OK);
	assert_int_equal(eds_record_compute_hash(r, d->head), EDS_OK);
	d->seq++;
}

static void sim_next(sim *d, eds_record *r)
{
	sim_next_with(d, r, &d->sk);
}

/* Re-sign a record after editing it (an attacker with the device key). */
static void resign(eds_record *r, const eds_secret_key *sk)
{
	assert_int_equal(eds_record_sign(r, sk), EDS_OK);
}

#define MAXREC 64

/* Three devices, round-robin, n records each, all signed with one key. */
typedef struct fixture {
	sim dev[3];
	eds_record rec[MAXREC];
	size_t count;
} fixture;

static fixture *fixture_new(size_t per_device, int same_key)
{
	static const char *ids[3] = {"lift-01", "lift-02", "escalator-7"};
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	for (int i = 0; i < 3; i++)
		sim_init(&f->dev[i], ids[i], same_key ? 7 : (uint8_t)(10 + i));
	for (size_t k = 0; k < per_device; k++)
		for (int i = 0; i < 3; i++)
			sim_next(&f->dev[i], &f->rec[f->count++]);
	return f;
}

/* A new verifier fed rec[0..n). */
static eds_chain_verifier *feed(const eds_record *rec, size_t n, const eds_chain_options *o)
{
	eds_chain_verifier *v;
	assert_int_equal(eds_chain_verifier_new(&v, o), EDS_OK);
	for (size_t i = 0; i < n; i++)
		(void)eds_chain_verifier_add(v, &rec[i]);
	return v;
}

/* The verifier recorded exactly one failure, with these fields. */
static void expect_one_failure(const eds_chain_verifier *v, const char *device, uint64_t index,
                               uint64_t sequence, eds_status reason, const char *msg_part)
{
	const eds_chain_failure *f;
	assert_int_equal(eds_chain_verifier_failures(v, &f), 1);
	assert_string_equal(f[0].device_id, device);
	assert_int_equal(f[0].index, index);
	assert_int_equal(f[0].sequence, sequence);
	assert_int_equal(f[0].reason, reason);
	if (strstr(f[0].message, msg_part) == NULL)
		fail_msg("message '%s' lacks '%s'", f[0].message, msg_part);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(s.devices_failed, 1);
}

static void test_valid_interleaved(void **state)
{
	(void)state;
	fixture *f = fixture_new(10, 1);
	eds_public_key pk;
	eds_secret_key_public(&f->dev[0].sk, &pk);
	eds_chain_options o = {.public_key = &pk};
	eds_chain_verifier *v;
	assert_int_equal(eds_chain_verifier_new(&v, &o), EDS_OK);
	for (size_t i = 0; i < f->count; i++)
		assert_int_equal(eds_chain_verifier_add(v, &f->rec[i]), EDS_OK);

	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(s.records, 30);
	assert_int_equal(s.devices, 3);
	assert_int_equal(s.devices_failed, 0);
	assert_int_equal(s.signatures_checked, 30);
	assert_int_equal(s.payloads_checked, 0);
	assert_int_equal(s.duplicates, 0);
	assert_int_equal(eds_chain_verifier_failures(v, NULL), 0);
	assert_int_equal(eds_chain_verifier_device_count(v), 3);
	for (size_t i = 0; i < 3; i++) {
		eds_chain_device d;
		assert_int_equal(eds_chain_verifier_device(v, i, &d), EDS_OK);
		assert_string_equal(d.device_id, f->dev[i].id);
		assert_int_equal(d.records, 10);
		assert_int_equal(d.last_sequence, 10);
		assert_memory_equal(d.head, f->dev[i].head, EDS_HASH_LEN);
		assert_false(d.failed);
	}
	eds_chain_device d;
	assert_int_equal(eds_chain_verifier_device(v, 3, &d), EDS_E_ARG);
	eds_chain_verifier_free(v);
	free(f);
}

static void test_links_only_without_key(void **state)
{
	(void)state;
	fixture *f = fixture_new(4, 0);
	eds_chain_verifier *v = feed(f->rec, f->count, NULL);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(s.records, 12);
	assert_int_equal(s.devices_failed, 0);
	assert_int_equal(s.signatures_checked, 0);
	eds_chain_verifier_free(v);
	free(f);
}

static void test_first_record_not_one(void **state)
{
	(void)state;
	fixture *f = fixture_new(3, 0);
	/* lift-02's first record (index 1) is dropped: its chain starts at 2. */
	memmove(&f->rec[1], &f->rec[2], (f->count - 2) * sizeof f->rec[0]);
	eds_chain_verifier *v = feed(f->rec, f->count - 1, NULL);
	expect_one_failure(v, "lift-02", 3, 2, EDS_E_SEQUENCE,
	                   "chain starts at sequence 2, expected 1");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_gap(void **state)
{
	(void)state;
	fixture *f = fixture_new(5, 0);
	/* Drop escalator-7's sequence 3 (index 8); its sequence 4 is at old index 11. */
	memmove(&f->rec[8], &f->rec[9], (f->count - 9) * sizeof f->rec[0]);
	eds_chain_verifier *v = feed(f->rec, f->count - 1, NULL);
	expect_one_failure(v, "escalator-7", 10, 4, EDS_E_SEQUENCE,
	                   "sequence gap: expected 3 after record #5 (sequence 2), got 4");
	assert_string_equal(eds_chain_reason_code(EDS_E_SEQUENCE), "sequence_gap");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_reorder(void **state)
{
	(void)state;
	fixture *f = fixture_new(5, 0);
	/* Swap lift-01's sequences 2 and 3 (indexes 3 and 6). */
	eds_record tmp = f->rec[3];
	f->rec[3] = f->rec[6];
	f->rec[6] = tmp;
	eds_chain_verifier *v = feed(f->rec, f->count, NULL);
	expect_one_failure(v, "lift-01", 3, 3, EDS_E_SEQUENCE, "expected 2 after record #0");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_behind_head(void **state)
{
	(void)state;
	fixture *f = fixture_new(4, 0);
	f->rec[f->count++] = f->rec[4]; /* lift-02 sequence 2 again, after its 4 */
	eds_chain_verifier *v = feed(f->rec, f->count, NULL);
	expect_one_failure(v, "lift-02", 12, 2, EDS_E_SEQUENCE,
	                   "sequence 2 is behind the chain head (record #10, sequence 4)");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_prev_hash(void **state)
{
	(void)state;
	fixture *f = fixture_new(5, 0);
	/* lift-02 sequence 4 (index 10), validly signed, linking to the wrong hash. */
	f->rec[10].prev_hash[0] ^= 1;
	resign(&f->rec[10], &f->dev[1].sk);
	eds_chain_verifier *v = feed(f->rec, f->count, NULL);
	expect_one_failure(v, "lift-02", 10, 4, EDS_E_PREV_HASH,
	                   "prev_hash does not link to record #7 (sequence 3)");
	assert_string_equal(eds_chain_reason_code(EDS_E_PREV_HASH), "prev_hash_mismatch");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_fork(void **state)
{
	(void)state;
	fixture *f = fixture_new(3, 0);
	/* A second, different lift-01 sequence 3 linked to the same parent. */
	eds_record other = f->rec[6];
	other.timestamp_ms += 1;
	resign(&other, &f->dev[0].sk);
	f->rec[f->count++] = other;
	eds_chain_verifier *v = feed(f->rec, f->count, NULL);
	expect_one_failure(v, "lift-01", 9, 3, EDS_E_FORK,
	                   "sequence 3 is already used by record #6");
	assert_string_equal(eds_chain_reason_code(EDS_E_FORK), "fork");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_exact_duplicate_is_retry(void **state)
{
	(void)state;
	fixture *f = fixture_new(3, 1);
	sim *lift1 = &f->dev[0];
	/* lift-01's last record (index 6) sent twice, then the chain goes on. */
	f->rec[f->count++] = f->rec[6];
	f->rec[f->count++] = f->rec[6];
	sim_next(lift1, &f->rec[f->count++]);
	eds_public_key pk;
	eds_secret_key_public(&lift1->sk, &pk);
	eds_chain_options o = {.public_key = &pk};
	eds_chain_verifier *v = feed(f->rec, f->count, &o);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(eds_chain_verifier_failures(v, NULL), 0);
	assert_int_equal(s.records, 12);
	assert_int_equal(s.duplicates, 2);
	assert_int_equal(s.signatures_checked, 10);
	eds_chain_device d;
	assert_int_equal(eds_chain_verifier_device(v, 0, &d), EDS_OK);
	assert_int_equal(d.last_sequence, 4);
	assert_memory_equal(d.head, lift1->head, EDS_HASH_LEN);
	eds_chain_verifier_free(v);
	free(f);
}

static void test_bad_signatures(void **state)
{
	(void)state;
	fixture *f = fixture_new(4, 1);
	eds_public_key pk;
	eds_secret_key_public(&f->dev[0].sk, &pk);
	eds_chain_options o = {.public_key = &pk};
	/* lift-01 sequence 2: an edited reading size without a new signature. */
	f->rec[3].payload_size += 1;
	/* escalator-7 sequence 3: re-signed by a key that is not the device's. */
	sim thief;
	sim_init(&thief, "thief", 99);
	resign(&f->rec[8], &thief.sk);
	eds_chain_verifier *v = feed(f->rec, f->count, &o);
	const eds_chain_failure *fl;
	assert_int_equal(eds_chain_verifier_failures(v, &fl), 2);
	assert_string_equal(fl[0].device_id, "lift-01");
	assert_int_equal(fl[0].index, 3);
	assert_int_equal(fl[0].sequence, 2);
	assert_int_equal(fl[0].reason, EDS_E_SIGNATURE);
	assert_non_null(
	    strstr(fl[0].message, "signature does not verify with the given public key"));
	assert_string_equal(fl[1].device_id, "escalator-7");
	assert_int_equal(fl[1].index, 8);
	assert_int_equal(fl[1].sequence, 3);
	assert_int_equal(fl[1].reason, EDS_E_SIGNATURE);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(s.devices_failed, 2);
	/* lift-01 1, lift-02 4, escalator-7 2; the rest failed or were skipped. */
	assert_int_equal(s.signatures_checked, 7);
	assert_string_equal(eds_chain_reason_code(EDS_E_SIGNATURE), "bad_signature");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_invalid_field_and_add_result(void **state)
{
	(void)state;
	fixture *f = fixture_new(2, 0);
	eds_chain_verifier *v;
	assert_int_equal(eds_chain_verifier_new(&v, NULL), EDS_OK);
	assert_int_equal(eds_chain_verifier_add(v, &f->rec[0]), EDS_OK);
	eds_record bad = f->rec[3]; /* lift-01 sequence 2 */
	bad.object_ref[0] = '\n';
	assert_int_equal(eds_chain_verifier_add(v, &bad), EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), "object_ref"));
	/* The failed device is no longer checked; others go on. */
	eds_record worse = f->rec[3];
	worse.sequence = 40;
	assert_int_equal(eds_chain_verifier_add(v, &worse), EDS_OK);
	assert_int_equal(eds_chain_verifier_add(v, &f->rec[1]), EDS_OK);
	expect_one_failure(v, "lift-01", 1, 2, EDS_E_FIELD, "object_ref: contains a control");
	eds_chain_device d;
	assert_int_equal(eds_chain_verifier_device(v, 0, &d), EDS_OK);
	assert_int_equal(d.records, 3);
	assert_int_equal(d.last_sequence, 1);
	assert_true(d.failed);
	assert_string_equal(eds_chain_reason_code(EDS_E_FIELD), "invalid_field");
	eds_chain_verifier_free(v);
	free(f);
}

static void test_arguments(void **state)
{
	(void)state;
	eds_chain_verifier *v = NULL;
	assert_int_equal(eds_chain_verifier_new(NULL, NULL), EDS_E_ARG);
	assert_int_equal(eds_chain_verifier_new(&v, NULL), EDS_OK);
	assert_int_equal(eds_chain_verifier_add(v, NULL), EDS_E_ARG);
	assert_int_equal(eds_chain_verifier_add(NULL, NULL), EDS_E_ARG);
	assert_int_equal(eds_chain_verifier_device_count(v), 0);
	eds_chain_verifier_free(v);
	eds_chain_verifier_free(NULL);
	assert_string_equal(eds_chain_reason_code(EDS_E_NOMEM), "error");
}

/* ---- registry: rotation, revocation, unknown devices ------------------------- */

static eds_registry *registry_of(const sim *old_key, const sim *new_key, const char *revoked)
{
	eds_public_key a, b;
	char ha[65], hb[65], json[1024];
	eds_secret_key_public(&old_key->sk, &a);
	eds_secret_key_public(&new_key->sk, &b);
	eds_public_key_to_hex(&a, ha);
	eds_public_key_to_hex(&b, hb);
	snprintf(json, sizeof json,
	         "{\"devices\":[{\"device_id\":\"lift-01\",\"keys\":["
	         "{\"public_key\":\"%s\",\"from_sequence\":1},"
	         "{\"public_key\":\"%s\",\"from_sequence\":4}],"
	         "\"revoked_from_sequence\":%s}]}",
	         ha, hb, revoked);
	eds_registry *reg = NULL;
	assert_int_equal(eds_registry_parse(&reg, json, strlen(json)), EDS_OK);
	return reg;
}

/* lift-01 signs 1..3 with its first key and 4..n with the rotated one. */
static size_t rotated_chain(eds_record *rec, size_t n, sim *k1, sim *k2)
{
	sim_init(k1, "lift-01", 1);
	sim_init(k2, "lift-01", 2);
	for (size_t i = 0; i < n; i++)
		sim_next_with(k1, &rec[i], i < 3 ? &k1->sk : &k2->sk);
	return n;
}

static void test_registry_rotation(void **state)
{
	(void)state;
	eds_record rec[8];
	sim k1, k2;
	size_t n = rotated_chain(rec, 6, &k1, &k2);
	eds_registry *reg = registry_of(&k1, &k2, "null");
	eds_chain_options o = {.registry = reg};
	eds_chain_verifier *v = feed(rec, n, &o);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(eds_chain_verifier_failures(v, NULL), 0);
	assert_int_equal(s.signatures_checked, 6);
	eds_chain_verifier_free(v);

	/* Sequence 3 signed with the new key is refused: keys cover ranges. */
	resign(&rec[2], &k2.sk);
	v = feed(rec, 3, &o);
	expect_one_failure(v, "lift-01", 2, 3, EDS_E_SIGNATURE, "registry key");
	eds_chain_verifier_free(v);
	eds_registry_free(reg);
}

static void test_registry_revoked_and_unknown(void **state)
{
	(void)state;
	eds_record rec[8];
	sim k1, k2, other;
	size_t n = rotated_chain(rec, 6, &k1, &k2);
	eds_registry *reg = registry_of(&k1, &k2, "5");
	sim_init(&other, "lift-99", 3);
	sim_next(&other, &rec[n++]);
	eds_chain_options o = {.registry = reg};
	eds_chain_verifier *v = feed(rec, n, &o);
	const eds_chain_failure *fl;
	assert_int_equal(eds_chain_verifier_failures(v, &fl), 2);
	assert_string_equal(fl[0].device_id, "lift-01");
	assert_int_equal(fl[0].index, 4);
	assert_int_equal(fl[0].sequence, 5);
	assert_int_equal(fl[0].reason, EDS_E_REVOKED);
	assert_string_equal(fl[1].device_id, "lift-99");
	assert_int_equal(fl[1].index, 6);
	assert_int_equal(fl[1].reason, EDS_E_UNKNOWN_DEVICE);
	assert_string_equal(fl[1].message, "device is not in the key registry");
	assert_string_equal(eds_chain_reason_code(fl[0].reason), "revoked_device");
	assert_string_equal(eds_chain_reason_code(fl[1].reason), "unknown_device");
	eds_chain_verifier_free(v);

	eds_public_key pk;
	eds_secret_key_public(&k1.sk, &pk);
	eds_chain_options both = {.public_key = &pk, .registry = reg};
	assert_int_equal(eds_chain_verifier_new(&v, &both), EDS_E_ARG);
	assert_null(v);
	eds_registry_free(reg);
}

/* ---- payloads ---------------------------------------------------------------- */

static void test_payloads(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char path[4200];
	sim d;
	eds_record rec[4];
	sim_init(&d, "lift-01", 4);
	for (int i = 0; i < 4; i++) {
		char payload[64];
		int n = snprintf(payload, sizeof payload, "{\"reading\":%d}", i + 1);
		sim_next(&d, &rec[i]);
		uint8_t h[32];
		assert_int_equal(eds_payload_put(dir, (const uint8_t *)payload, (size_t)n, h),
		                 EDS_OK);
		assert_memory_equal(h, rec[i].payload_hash, 32);
	}
	eds_chain_options o = {.payload_dir = dir};
	eds_chain_verifier *v = feed(rec, 4, &o);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(eds_chain_verifier_failures(v, NULL), 0);
	assert_int_equal(s.payloads_checked, 4);
	eds_chain_verifier_free(v);

	/* One byte of payload 2 changed on disk. */
	assert_int_equal(eds_payload_path(path, sizeof path, dir, rec[1].payload_hash), EDS_OK);
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fputc('X', fp), 'X');
	assert_int_equal(fclose(fp), 0);
	v = feed(rec, 4, &o);
	expect_one_failure(v, "lift-01", 1, 2, EDS_E_PAYLOAD_MISMATCH, "");
	eds_chain_verifier_free(v);

	/* Payload 2 missing. */
	assert_int_equal(remove(path), 0);
	v = feed(rec, 4, &o);
	expect_one_failure(v, "lift-01", 1, 2, EDS_E_NOT_FOUND, "is missing from the payload");
	eds_chain_verifier_free(v);
	assert_string_equal(eds_chain_reason_code(EDS_E_NOT_FOUND), "payload_missing");
	assert_string_equal(eds_chain_reason_code(EDS_E_PAYLOAD_MISMATCH), "payload_mismatch");
	test_rmtree(dir);
	free(dir);
}

/* ---- scale ------------------------------------------------------------------ */

/*
 * 100,000 unsigned records over 1,000 devices, generated on the fly (the
 * test itself keeps only each device's head): links and sequences only.
 */
static void test_many_devices(void **state)
{
	(void)state;
	enum { DEVICES = 1000, RECORDS = 100000 };
	sim *devs = calloc(DEVICES, sizeof *devs);
	assert_non_null(devs);
	for (int i = 0; i < DEVICES; i++)
		snprintf(devs[i].id, sizeof devs[i].id, "sensor-%04d", i);
	eds_chain_verifier *v;
	assert_int_equal(eds_chain_verifier_new(&v, NULL), EDS_OK);
	eds_record r;
	uint32_t x = 12345;
	for (int k = 0; k < RECORDS; k++) {
		x = x * 1103515245u + 12345u; /* devices in a scrambled order */
		sim_next_with(&devs[(x >> 8) % DEVICES], &r, NULL);
		assert_int_equal(eds_chain_verifier_add(v, &r), EDS_OK);
	}
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(s.records, RECORDS);
	assert_int_equal(s.devices, DEVICES);
	assert_int_equal(s.devices_failed, 0);
	uint64_t total = 0;
	for (size_t i = 0; i < DEVICES; i++) {
		eds_chain_device d;
		assert_int_equal(eds_chain_verifier_device(v, i, &d), EDS_OK);
		sim *src = NULL;
		for (int j = 0; j < DEVICES && src == NULL; j++)
			if (strcmp(devs[j].id, d.device_id) == 0)
				src = &devs[j];
		assert_non_null(src);
		assert_int_equal(d.last_sequence, src->seq);
		assert_memory_equal(d.head, src->head, EDS_HASH_LEN);
		total += d.records;
	}
	assert_int_equal(total, RECORDS);
	eds_chain_verifier_free(v);
	free(devs);
}

int main(void)
{
	if (eds_init() != EDS_OK)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_interleaved),
	    cmocka_unit_test(test_links_only_without_key),
	    cmocka_unit_test(test_first_record_not_one),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_reorder),
	    cmocka_unit_test(test_behind_head),
	    cmocka_unit_test(test_prev_hash),
	    cmocka_unit_test(test_fork),
	    cmocka_unit_test(test_exact_duplicate_is_retry),
	    cmocka_unit_test(test_bad_signatures),
	    cmocka_unit_test(test_invalid_field_and_add_result),
	    cmocka_unit_test(test_arguments),
	    cmocka_unit_test(test_registry_rotation),
	    cmocka_unit_test(test_registry_revoked_and_unknown),
	    cmocka_unit_test(test_payloads),
	    cmocka_unit_test(test_many_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
