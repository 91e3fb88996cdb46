/*
 * test_chain_batch.c - eds_chain_verifier_add_batch gives exactly what
 * feeding the same records one by one with eds_chain_verifier_add gives
 * (failures with index, sequence, reason and message; totals; device
 * states), on interleaved multi-device chains corrupted at random positions
 * (fixed seed) in every way a chain can break, for several thread counts
 * and batch sizes that cut the input anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_internal.h"
#include "edgesentry/chain.h"
#include "edgesentry/key.h"
#include "edgesentry/record.h"

#define DEVICES    4
#define PER_DEVICE 60
#define TOTAL      (DEVICES * PER_DEVICE)

static eds_secret_key keys[DEVICES];
static eds_public_key pub;
static eds_record clean[TOTAL];

static uint64_t rng = 0x9E3779B97F4A7C15u;
static size_t failures_seen;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Devices interleaved round-robin; device 0's key signs everything, except
 * device 3 which uses its own key (so its signatures fail under pub). */
static int make_chains(void **state)
{
	(void)state;
	uint8_t seed[32], heads[DEVICES][EDS_HASH_LEN];
	for (int d = 0; d < DEVICES; d++) {
		memset(seed, 0x30 + d, sizeof seed);
		if (eds_secret_key_from_seed(&keys[d], seed) != EDS_OK)
			return -1;
	}
	eds_secret_key_public(&keys[0], &pub);
	for (size_t i = 0; i < TOTAL; i++) {
		int d = (int)(i % DEVICES);
		uint64_t seq = i / DEVICES + 1;
		char id[32], payload[32];
		snprintf(id, sizeof id, "dev-%d", d);
		int n = snprintf(payload, sizeof payload, "p%zu", i);
		eds_record *r = &clean[i];
		if (eds_record_init(r, id, seq, 1000 + i, (const uint8_t *)payload, (size_t)n,
		                    seq == 1 ? NULL : heads[d], "ref") != EDS_OK ||
		    eds_record_sign(r, &keys[d == 3 ? 3 : 0]) != EDS_OK ||
		    eds_record_compute_hash(r, heads[d]) != EDS_OK)
			return -1;
	}
	return 0;
}

/* One random corruption of recs[0 .. *n). */
static void corrupt(eds_record *recs, size_t *n)
{
	size_t i = (size_t)(next_rand() % *n), j = (size_t)(next_rand() % *n);
	switch (next_rand() % 7) {
	case 0: recs[i].signature[next_rand() % EDS_SIGNATURE_LEN] ^= 1; break;
	case 1: recs[i].prev_hash[3] ^= 0x80; break;
	case 2: recs[i].sequence += 1 + next_rand() % 3; break;
	case 3: { /* swap two records */
		eds_record t = recs[i];
		recs[i] = recs[j];
		recs[j] = t;
		break;
	}
	case 4: /* delete */
		memmove(&recs[i], &recs[i + 1], (*n - i - 1) * sizeof *recs);
		(*n)--;
		break;
	case 5: /* duplicate right after itself (a retry), or elsewhere (a replay) */
		if (*n < TOTAL + 8) {
			memmove(&recs[i + 1], &recs[i], (*n - i) * sizeof *recs);
			(*n)++;
			if (next_rand() % 2)
				recs[i + 1] = recs[j];
		}
		break;
	default: recs[i].device_id[0] = '\0'; break; /* invalid field */
	}
}

static void assert_same(eds_chain_verifier *a, eds_chain_verifier *b)
{
	eds_chain_summary sa, sb;
	const eds_chain_failure *fa, *fb;
	eds_chain_verifier_summary(a, &sa);
	eds_chain_verifier_summary(b, &sb);
	assert_memory_equal(&sa, &sb, sizeof sa);
	size_t n = eds_chain_verifier_failures(a, &fa);
	assert_int_equal(eds_chain_verifier_failures(b, &fb), n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(fa[i].device_id, fb[i].device_id);
		assert_int_equal(fa[i].index, fb[i].index);
		assert_int_equal(fa[i].sequence, fb[i].sequence);
		assert_int_equal(fa[i].reason, fb[i].reason);
		assert_string_equal(fa[i].message, fb[i].message);
	}
	size_t nd = eds_chain_verifier_device_count(a);
	assert_int_equal(eds_chain_verifier_device_count(b), nd);
	for (size_t i = 0; i < nd; i++) {
		eds_chain_device da, db;
		assert_int_equal(eds_chain_verifier_device(a, i, &da), EDS_OK);
		assert_int_equal(eds_chain_verifier_device(b, i, &db), EDS_OK);
		assert_memory_equal(&da, &db, sizeof da);
	}
}

/* Feed recs one by one into a fresh verifier, in batches into another, and
 * in batches with the hashes computed beforehand (as the file reader gives
 * them) into a third. */
static void compare(const eds_record *recs, size_t n, unsigned threads, size_t batch)
{
	static uint8_t hashes[TOTAL + 8][EDS_HASH_LEN];
	eds_chain_options opts = {.public_key = &pub, .threads = 1};
	eds_chain_verifier *one, *many, *hashed;
	assert_int_equal(eds_chain_verifier_new(&one, &opts), EDS_OK);
	opts.threads = threads;
	assert_int_equal(eds_chain_verifier_new(&many, &opts), EDS_OK);
	assert_int_equal(eds_chain_verifier_new(&hashed, &opts), EDS_OK);
	for (size_t i = 0; i < n; i++) {
		eds_chain_verifier_add(one, &recs[i]);
		/* an invalid record has no hash; the verifier fails it before using one */
		if (eds_record_compute_hash(&recs[i], hashes[i]) != EDS_OK)
			memset(hashes[i], 0xEE, EDS_HASH_LEN);
	}
	for (size_t i = 0; i < n; i += batch) {
		size_t k = n - i < batch ? n - i : batch;
		assert_int_equal(eds_chain_verifier_add_batch(many, &recs[i], k), EDS_OK);
		assert_int_equal(
		    eds_chain_verifier_add_batch_hashed(
		        hashed, &recs[i], (const uint8_t(*)[EDS_HASH_LEN]) & hashes[i], k),
		    EDS_OK);
	}
	assert_same(one, many);
	assert_same(one, hashed);
	failures_seen += eds_chain_verifier_failures(one, NULL);
	eds_chain_verifier_free(one);
	eds_chain_verifier_free(many);
	eds_chain_verifier_free(hashed);
}

static void test_clean_chain(void **state)
{
	(void)state;
	compare(clean, TOTAL, 2, 64);
	compare(clean, TOTAL, 0, TOTAL);
}

static void test_random_corruptions(void **state)
{
	(void)state;
	failures_seen = 0;
	static const unsigned threads[] = {1, 2, 3};
	static const size_t batches[] = {1, 7, 64, TOTAL};
	static eds_record recs[TOTAL + 8];
	for (int trial = 0; trial < 12; trial++) {
		size_t n = TOTAL;
		memcpy(recs, clean, sizeof clean);
		for (int k = 0; k <= trial % 5; k++)
			corrupt(recs, &n);
		compare(recs, n, threads[trial % 3], batches[trial % 4]);
	}
	/* device 3's foreign key fails every trial; the corruptions add more */
	assert_true(failures_seen > 12 + 6);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	eds_chain_verifier *v;
	assert_int_equal(eds_chain_verifier_new(&v, NULL), EDS_OK);
	assert_int_equal(eds_chain_verifier_add_batch(NULL, clean, 1), EDS_E_ARG);
	assert_int_equal(eds_chain_verifier_add_batch(v, NULL, 1), EDS_E_ARG);
	assert_int_equal(eds_chain_verifier_add_batch(v, NULL, 0), EDS_OK);
	assert_int_equal(eds_chain_verifier_add_batch(v, clean, EDS_CHAIN_BATCH_MAX + 1),
	                 EDS_E_ARG);
	/* without a key: links only, still the same as one by one */
	assert_int_equal(eds_chain_verifier_add_batch(v, clean, TOTAL), EDS_OK);
	eds_chain_summary s;
	eds_chain_verifier_summary(v, &s);
	assert_int_equal(s.records, TOTAL);
	assert_int_equal(s.devices_failed, 0);
	assert_int_equal(s.signatures_checked, 0);
	eds_chain_verifier_free(v);
}

/* Every refusal code of the ingest API maps back to the status it came from;
 * anything else, NULL included, to the caller's fallback. */
static void test_reason_status(void **state)
{
	(void)state;
	const eds_status refusals[] = {EDS_E_FORK,          EDS_E_SIGNATURE, EDS_E_SEQUENCE,
	                               EDS_E_PREV_HASH,     EDS_E_REVOKED,   EDS_E_PAYLOAD_MISMATCH,
	                               EDS_E_UNKNOWN_DEVICE};
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		assert_int_equal(
		    eds_chain_reason_status(eds_chain_reason_code(refusals[i]), EDS_E_IO),
		    refusals[i]);
	assert_string_equal(eds_chain_reason_code(EDS_E_SEQUENCE), "sequence_gap");
	assert_int_equal(eds_chain_reason_status("sequence_gap", EDS_E_IO), EDS_E_SEQUENCE);
	assert_int_equal(eds_chain_reason_status("rate_limited", EDS_E_IO), EDS_E_IO);
	assert_int_equal(eds_chain_reason_status("", EDS_E_FIELD), EDS_E_FIELD);
	assert_int_equal(eds_chain_reason_status(NULL, EDS_E_FIELD), EDS_E_FIELD);
	/* codes a verifier reports but a server never refuses with */
	assert_int_equal(eds_chain_reason_status("payload_missing", EDS_E_IO), EDS_E_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean_chain),
	    cmocka_unit_test(test_random_corruptions),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_reason_status),
	};
	return cmocka_run_group_tests(tests, make_chains, NULL);
}
