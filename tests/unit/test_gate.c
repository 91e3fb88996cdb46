/*
 * test_gate.c - the integrity gate and the ingest service in-process: every
 * outcome of FORMAT.md 4 that the gate decides, pending payloads, resuming
 * chains from the ledger after a restart, keys changed by another process,
 * and 8 threads submitting interleaved devices with group commit.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"
#include "ingest_fixture.h"
#include "test_support.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int setup(void **state)
{
	static const uint8_t seed[32] = {1, 2, 3};
	eds_ingest_options o = {.max_batch = 64};
	ingest_fx *f = ingest_fx_new(seed, 'p');
	ingest_fx_start(f, &o);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	ingest_fx_free(*state);
	return 0;
}

static void test_codes(void **state)
{
	(void)state;
	assert_string_equal(eds_ingest_code(EDS_INGEST_FORK), "fork");
	assert_int_equal(eds_ingest_http_status(EDS_INGEST_FORK), 409);
	assert_string_equal(eds_ingest_code(EDS_INGEST_PREV_HASH), "prev_hash_mismatch");
	assert_int_equal(eds_ingest_http_status(EDS_INGEST_ACCEPTED), 201);
	assert_int_equal(eds_ingest_http_status(EDS_INGEST_DUPLICATE), 200);
	assert_int_equal(eds_ingest_http_status(EDS_INGEST_RATE_LIMITED), 429);
	assert_int_equal(eds_ingest_http_status(EDS_INGEST_STORAGE), 503);
	assert_string_equal(eds_ingest_code(EDS_INGEST_IDENTITY), "identity_mismatch");
	assert_int_equal(eds_ingest_http_status(EDS_INGEST_BAD_SIGNATURE), 422);
	for (int o = 0; o < EDS_INGEST_OUTCOME_COUNT; o++)
		assert_true(eds_ingest_http_status((eds_ingest_outcome)o) >= 200);
}

static void test_chain_rules(void **state)
{
	ingest_fx *f = *state;
	eds_ingest_item a, b, c;
	uint8_t h1[32], h2[32];
	ingest_fx_make(&a, &f->sk, "d1", 1, NULL, f->payload, sizeof f->payload);
	assert_int_equal(ingest_fx_submit1(f, &a, NULL, h1), EDS_INGEST_ACCEPTED);
	assert_int_equal(eds_payload_check(eds_ledger_payload_dir(f->l), a.record.payload_hash, 64),
	                 EDS_OK);
	assert_int_equal(ingest_fx_submit1(f, &a, NULL, h2), EDS_INGEST_DUPLICATE);
	assert_memory_equal(h1, h2, 32);
	/* Same sequence, different content: a fork. */
	ingest_fx_make(&b, &f->sk, "d1", 1, NULL, f->payload, 10);
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_FORK);
	ingest_fx_make(&b, &f->sk, "d1", 3, h1, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_SEQUENCE_GAP);
	ingest_fx_make(&b, &f->sk, "d1", 2, f->payload + 1, NULL, 0); /* wrong prev_hash */
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_PREV_HASH);
	ingest_fx_make(&b, &f->sk, "d1", 2, h1, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, h2), EDS_INGEST_ACCEPTED);
	/* A retry of an older record is still a duplicate (looked up in the ledger). */
	assert_int_equal(ingest_fx_submit1(f, &a, NULL, NULL), EDS_INGEST_DUPLICATE);
	ingest_fx_make(&c, &f->sk, "d1", 3, h2, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &c, "d1", NULL), EDS_INGEST_ACCEPTED);

	uint64_t seq;
	uint8_t head[32];
	assert_int_equal(eds_ingest_head(f->s, "d1", &seq, head), EDS_OK);
	assert_int_equal(seq, 3);
	assert_int_equal(eds_ingest_head(f->s, "nobody", &seq, head), EDS_E_NOT_FOUND);
	eds_ingest_stats st;
	eds_ingest_stats_get(f->s, &st);
	assert_int_equal(st.outcomes[EDS_INGEST_ACCEPTED], 3);
	assert_int_equal(st.outcomes[EDS_INGEST_DUPLICATE], 2);
	assert_int_equal(st.outcomes[EDS_INGEST_FORK], 1);
	assert_true(st.commits >= 1);
	/* NULL is harmless where there is no status to return it in */
	eds_ingest_stats_get(NULL, &st);
	eds_ingest_stats_get(f->s, NULL);
	eds_ingest_set_log(NULL, NULL, NULL);
	assert_int_equal(eds_ingest_healthy(NULL), 0);
	assert_int_equal(eds_ledger_durable(NULL), 0);
}

/* Whether the payload file of it's record is in the ledger's payload directory. */
static int has_file(ingest_fx *f, const eds_ingest_item *it)
{
	eds_status st = eds_payload_check(eds_ledger_payload_dir(f->l), it->record.payload_hash,
	                                  it->record.payload_size);
	assert_true(st == EDS_OK || st == EDS_E_NOT_FOUND);
	return st == EDS_OK;
}

/*
 * A record the writer refuses after its payload was staged (fork, gap,
 * prev_hash) leaves no file behind, unless a stored record has the same
 * payload: a device cannot fill the disk with refused payloads.
 */
static void test_refused_leave_no_payload_file(void **state)
{
	ingest_fx *f = *state;
	uint8_t other[3][64], h1[32];
	eds_ingest_item a, b;
	for (int i = 0; i < 3; i++)
		memset(other[i], 'A' + i, 64);
	ingest_fx_make(&a, &f->sk, "d1", 1, NULL, f->payload, sizeof f->payload);
	assert_int_equal(ingest_fx_submit1(f, &a, NULL, h1), EDS_INGEST_ACCEPTED);
	ingest_fx_make(&b, &f->sk, "d1", 1, NULL, other[0], 64);
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_FORK);
	assert_false(has_file(f, &b));
	ingest_fx_make(&b, &f->sk, "d1", 3, h1, other[1], 64);
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_SEQUENCE_GAP);
	assert_false(has_file(f, &b));
	ingest_fx_make(&b, &f->sk, "d1", 2, f->payload, other[2], 64); /* wrong prev_hash */
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_PREV_HASH);
	assert_false(has_file(f, &b));
	/* A refused record with a stored record's payload keeps the file. */
	ingest_fx_make(&b, &f->sk, "d1", 1, NULL, f->payload, sizeof f->payload);
	b.record.timestamp_ms++;
	assert_int_equal(eds_record_sign(&b.record, &f->sk), EDS_OK);
	assert_int_equal(ingest_fx_submit1(f, &b, NULL, NULL), EDS_INGEST_FORK);
	assert_true(has_file(f, &a));
	/* One batch: record 2 stored, then a fork of it with the same payload. */
	eds_ingest_item two[2];
	eds_ingest_result res[2];
	ingest_fx_make(&two[0], &f->sk, "d1", 2, h1, other[2], 64);
	ingest_fx_make(&two[1], &f->sk, "d1", 2, h1, other[2], 64);
	two[1].record.timestamp_ms++;
	assert_int_equal(eds_record_sign(&two[1].record, &f->sk), EDS_OK);
	eds_ingest_context ctx = {"127.0.0.1", NULL};
	assert_int_equal(eds_ingest_submit(f->s, &ctx, two, 2, res), EDS_OK);
	assert_int_equal(res[0].outcome, EDS_INGEST_ACCEPTED);
	assert_int_equal(res[1].outcome, EDS_INGEST_FORK);
	assert_true(has_file(f, &two[0]));
	/* ... and the fork first, the record after it in the next batch. */
	ingest_fx_make(&two[0], &f->sk, "d1", 2, h1, other[1], 64); /* fork of the stored 2 */
	assert_int_equal(ingest_fx_submit1(f, &two[0], NULL, NULL), EDS_INGEST_FORK);
	assert_false(has_file(f, &two[0]));
}

static void test_request_side_rejections(void **state)
{
	ingest_fx *f = *state;
	eds_ingest_item it;
	eds_secret_key other;
	uint8_t seed[32] = {9};
	assert_int_equal(eds_secret_key_from_seed(&other, seed), EDS_OK);

	ingest_fx_make(&it, &f->sk, "ghost", 1, NULL, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_UNKNOWN_DEVICE);
	ingest_fx_make(&it, &other, "d1", 1, NULL, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_BAD_SIGNATURE);
	ingest_fx_make(&it, &f->sk, "d1", 1, NULL, f->payload, sizeof f->payload);
	it.payload_len = 63;
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_PAYLOAD_MISMATCH);
	uint8_t wrong[64];
	memset(wrong, 'q', sizeof wrong);
	it.payload = wrong;
	it.payload_len = 64;
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_PAYLOAD_MISMATCH);
	ingest_fx_make(&it, &f->sk, "d1", 1, NULL, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, "d2", NULL), EDS_INGEST_IDENTITY);
	/* Far future is refused; a timestamp from the distant past is fine (buffered). */
	it.record.timestamp_ms = now_ms() + 600000;
	assert_int_equal(eds_record_sign(&it.record, &f->sk), EDS_OK);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_TIMESTAMP_SKEW);
	it.record.timestamp_ms = now_ms() + 60000;
	assert_int_equal(eds_record_sign(&it.record, &f->sk), EDS_OK);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_ACCEPTED);

	/* Every rejection was written to the operation log. */
	eds_ingest_item next;
	uint8_t h[32];
	assert_int_equal(eds_record_compute_hash(&it.record, h), EDS_OK);
	ingest_fx_make(&next, &f->sk, "d1", 2, h, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &next, NULL, NULL), EDS_INGEST_ACCEPTED);
	eds_ledger_stats ls;
	assert_int_equal(eds_ledger_stats_get(f->l, &ls), EDS_OK);
	assert_int_equal(ls.events, 8);
	assert_int_equal(eds_ingest_ledger_stats(f->s, &ls), EDS_OK);
	assert_int_equal(ls.events, 8);
	assert_int_equal(eds_ingest_ledger_stats(NULL, &ls), EDS_E_ARG);
	assert_int_equal(eds_ingest_ledger_stats(f->s, NULL), EDS_E_ARG);

	/* Revocation through another handle (another process) is picked up. */
	eds_ledger *l2;
	assert_int_equal(eds_ledger_open(&l2, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_device_revoke(l2, "d1", 0), EDS_OK);
	eds_ledger_close(l2);
	assert_int_equal(eds_record_compute_hash(&next.record, h), EDS_OK);
	ingest_fx_make(&it, &f->sk, "d1", 3, h, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_REVOKED_DEVICE);
	eds_secret_key_wipe(&other);
}

static void test_key_rotation_and_new_device(void **state)
{
	ingest_fx *f = *state;
	eds_secret_key k2;
	eds_public_key p2;
	uint8_t seed[32] = {5}, h[32];
	assert_int_equal(eds_secret_key_from_seed(&k2, seed), EDS_OK);
	eds_secret_key_public(&k2, &p2);
	eds_ingest_item it;
	ingest_fx_make(&it, &f->sk, "d1", 1, NULL, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, h), EDS_INGEST_ACCEPTED);

	eds_ledger *l2;
	assert_int_equal(eds_ledger_open(&l2, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_device_rotate(l2, "d1", &p2, 0), EDS_OK);
	assert_int_equal(eds_ledger_device_add(l2, "late", &p2), EDS_OK);
	eds_ledger_close(l2);

	/* The old key no longer verifies sequence 2; the new one does. */
	ingest_fx_make(&it, &f->sk, "d1", 2, h, NULL, 0);
	eds_ingest_outcome o = ingest_fx_submit1(f, &it, NULL, NULL);
	/* The request side may still hold the old key; the writer re-checks. */
	if (o != EDS_INGEST_BAD_SIGNATURE) {
		ingest_fx_make(&it, &f->sk, "d1", 2, h, NULL, 0);
		o = ingest_fx_submit1(f, &it, NULL, NULL);
	}
	assert_int_equal(o, EDS_INGEST_BAD_SIGNATURE);
	ingest_fx_make(&it, &k2, "d1", 2, h, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_ACCEPTED);
	ingest_fx_make(&it, &k2, "late", 1, NULL, NULL, 0);
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_ACCEPTED);
	eds_secret_key_wipe(&k2);
}

static void test_pending_payload(void **state)
{
	ingest_fx *f = *state;
	eds_ingest_item it;
	eds_ingest_result res;
	ingest_fx_make(&it, &f->sk, "d1", 1, NULL, f->payload, sizeof f->payload);
	it.payload = NULL; /* record first, payload later */
	it.payload_len = 0;
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_ACCEPTED);
	const uint8_t *h = it.record.payload_hash;
	uint8_t unknown[32] = {1};
	assert_int_equal(eds_ingest_put_payload(f->s, NULL, unknown, f->payload, 64, &res), EDS_OK);
	assert_int_equal(res.outcome, EDS_INGEST_UNKNOWN_PAYLOAD);
	assert_int_equal(eds_ingest_put_payload(f->s, NULL, h, f->payload, 63, &res), EDS_OK);
	assert_int_equal(res.outcome, EDS_INGEST_PAYLOAD_MISMATCH);
	uint64_t size;
	int stored;
	assert_int_equal(eds_ledger_payload_lookup(f->l, h, &size, &stored), EDS_OK);
	assert_false(stored);
	assert_int_equal(eds_ingest_put_payload(f->s, NULL, h, f->payload, 64, &res), EDS_OK);
	assert_int_equal(res.outcome, EDS_INGEST_STORED);
	assert_int_equal(eds_ledger_payload_lookup(f->l, h, &size, &stored), EDS_OK);
	assert_true(stored);
	assert_int_equal(eds_payload_check(eds_ledger_payload_dir(f->l), h, 64), EDS_OK);
	assert_int_equal(eds_ingest_put_payload(f->s, NULL, h, f->payload, 64, &res), EDS_OK);
	assert_int_equal(res.outcome, EDS_INGEST_ALREADY_STORED);

	/* A later record with the same payload, sent without it, is pending until its
	 * PUT, which must then clear it: the file being there already for record 1
	 * used to answer already_stored and leave record 2 pending for ever. */
	uint8_t prev[32];
	eds_ledger_stats ls;
	assert_int_equal(eds_record_compute_hash(&it.record, prev), EDS_OK);
	ingest_fx_make(&it, &f->sk, "d1", 2, prev, f->payload, sizeof f->payload);
	it.payload = NULL;
	it.payload_len = 0;
	assert_int_equal(ingest_fx_submit1(f, &it, NULL, NULL), EDS_INGEST_ACCEPTED);
	assert_int_equal(eds_ledger_stats_get(f->l, &ls), EDS_OK);
	assert_int_equal(ls.pending_payloads, 1);
	assert_int_equal(eds_ingest_put_payload(f->s, NULL, h, f->payload, 64, &res), EDS_OK);
	assert_int_equal(res.outcome, EDS_INGEST_STORED);
	assert_int_equal(eds_ledger_stats_get(f->l, &ls), EDS_OK);
	assert_int_equal(ls.pending_payloads, 0);
	assert_int_equal(eds_ingest_put_payload(f->s, NULL, h, f->payload, 64, &res), EDS_OK);
	assert_int_equal(res.outcome, EDS_INGEST_ALREADY_STORED);
}

static void test_batch_in_order_and_restart(void **state)
{
	ingest_fx *f = *state;
	eds_ingest_item items[5];
	eds_ingest_result res[5];
	uint8_t prev[32];
	for (int i = 0; i < 5; i++) {
		ingest_fx_make(&items[i], &f->sk, "d1", (uint64_t)i + 1, i ? prev : NULL,
		               f->payload, (size_t)i);
		assert_int_equal(eds_record_compute_hash(&items[i].record, prev), EDS_OK);
	}
	items[3].record.signature[0] ^= 1; /* item 4 fails, so item 5 is a gap */
	assert_int_equal(eds_ingest_submit(f->s, NULL, items, 5, res), EDS_OK);
	assert_int_equal(res[0].outcome, EDS_INGEST_ACCEPTED);
	assert_int_equal(res[2].outcome, EDS_INGEST_ACCEPTED);
	assert_int_equal(res[3].outcome, EDS_INGEST_BAD_SIGNATURE);
	assert_int_equal(res[4].outcome, EDS_INGEST_SEQUENCE_GAP);

	/* A restarted service continues the chain where the ledger left it. */
	ingest_fx_stop(f);
	ingest_fx_start(f, NULL);
	uint64_t seq;
	uint8_t head[32];
	assert_int_equal(eds_ingest_head(f->s, "d1", &seq, head), EDS_OK);
	assert_int_equal(seq, 3);
	assert_memory_equal(head, res[2].record_hash, 32);
	items[3].record.signature[0] ^= 1;
	assert_int_equal(eds_ingest_submit(f->s, NULL, items + 3, 2, res), EDS_OK);
	assert_int_equal(res[0].outcome, EDS_INGEST_ACCEPTED);
	assert_int_equal(res[1].outcome, EDS_INGEST_ACCEPTED);
}

/*
 * One service per ledger: a second one, through another handle as another
 * process would open it, is refused before its recovery could drop the
 * first one's payload journal; the claim goes with eds_ingest_free.
 */
static void test_one_service_per_ledger(void **state)
{
	ingest_fx *f = *state;
	eds_ledger *l2 = NULL;
	eds_ingest *s2 = NULL;
	assert_int_equal(eds_ledger_open(&l2, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ingest_new(&s2, l2, NULL), EDS_E_EXISTS);
	assert_non_null(strstr(eds_last_error(), "in use by another process"));
	assert_null(s2);
	assert_int_equal(eds_ingest_new(&s2, f->l, NULL), EDS_E_EXISTS); /* same handle */
	assert_int_equal(eds_ledger_claim(l2), EDS_E_EXISTS);
	eds_ingest_free(f->s);
	f->s = NULL;
	assert_int_equal(eds_ingest_new(&s2, l2, NULL), EDS_OK);
	assert_int_equal(eds_ledger_claim(f->l), EDS_E_EXISTS);
	eds_ingest_free(s2);
	assert_int_equal(eds_ledger_claim(f->l), EDS_OK);
	eds_ledger_release(f->l);
	eds_ledger_release(f->l); /* no claim: nothing happens */
	eds_ledger_close(l2);
}

/*
 * A back end with no devices whose journal can be made unreadable, so the
 * flusher's eds_ledger_sync fails: /healthz (eds_ingest_healthy) must say
 * so while it fails, and recover once a flush succeeds again.
 */
static atomic_int fake_flush_fails;

static void fake_close(void *impl)
{
	(void)impl;
}

static eds_status fake_foreach(void *impl, eds_ledger_device_fn fn, void *ctx)
{
	(void)impl, (void)fn, (void)ctx;
	return EDS_OK;
}

static eds_status fake_commit(void *impl, const eds_ledger_batch *b)
{
	(void)impl, (void)b;
	return EDS_OK;
}

static eds_status fake_mark(void *impl, uint64_t *mark)
{
	(void)impl;
	*mark = 1;
	return atomic_load(&fake_flush_fails) ? EDS_E_IO : EDS_OK;
}

static eds_status fake_drop(void *impl, uint64_t mark)
{
	(void)impl, (void)mark;
	return EDS_OK;
}

static eds_status fake_changed(void *impl, int *changed)
{
	(void)impl;
	*changed = 0;
	return EDS_OK;
}

static eds_status fake_stats(void *impl, eds_ledger_stats *out)
{
	(void)impl;
	memset(out, 0, sizeof *out);
	return EDS_OK;
}

/* Wait up to 5 s for eds_ingest_healthy to become want. */
static int healthy_becomes(eds_ingest *s, int want)
{
	for (int i = 0; i < 500; i++) {
		if (!eds_ingest_healthy(s) == !want)
			return 1;
		usleep(10000);
	}
	return 0;
}

static void test_failed_flush_unhealthy(void **state)
{
	(void)state;
	static const eds_ledger_ops ops = {.name = "fake",
	                                   .close = fake_close,
	                                   .device_foreach = fake_foreach,
	                                   .commit = fake_commit,
	                                   .commit_journaled = fake_commit,
	                                   .journal_mark = fake_mark,
	                                   .journal_drop = fake_drop,
	                                   .changed = fake_changed,
	                                   .stats = fake_stats};
	static int impl;
	char *dir = test_tmpdir();
	eds_ledger *l = NULL;
	eds_ingest *s = NULL;
	atomic_store(&fake_flush_fails, 1);
	assert_int_equal(eds_ledger_wrap(&l, &ops, &impl, dir, 1), EDS_OK);
	eds_ingest_options o = {.payload_flush_ms = 5};
	assert_int_equal(eds_ingest_new(&s, l, &o), EDS_OK);
	assert_true(healthy_becomes(s, 0));
	eds_ingest_stats st;
	eds_ingest_stats_get(s, &st);
	assert_true(st.payload_flush_failures > 0);
	atomic_store(&fake_flush_fails, 0);
	assert_true(healthy_becomes(s, 1));
	eds_ingest_free(s);
	eds_ledger_close(l);
	test_rmtree(dir);
	free(dir);
}

#define THREADS    8
#define DEVICES    16
#define PER_DEVICE 40

typedef struct worker {
	ingest_fx *f;
	int t;
	int failures;
} worker;

/* Submit it alone; a failure unless the outcome is want. */
static void submit_expect(worker *w, const eds_ingest_item *it, eds_ingest_outcome want,
                          uint8_t *hash)
{
	eds_ingest_result res;
	if (eds_ingest_submit(w->f->s, NULL, it, 1, &res) != EDS_OK || res.outcome != want)
		w->failures++;
	if (hash != NULL)
		memcpy(hash, res.record_hash, 32);
}

/*
 * Thread t sends devices t and t+8 alternately, each record as its own
 * request, then a fork of it that brings the payload thread t+1 is sending
 * with its record at about the same time: refused payloads race with
 * stored ones of the same hash, and must never take their files.
 */
static void *worker_main(void *arg)
{
	worker *w = arg;
	uint8_t prev[2][32];
	for (int i = 0; i < PER_DEVICE; i++) {
		for (int k = 0; k < 2; k++) {
			char id[16], mine[32], next[32];
			snprintf(id, sizeof id, "c%d", w->t + k * THREADS);
			snprintf(mine, sizeof mine, "%d/%d/%d", w->t, k, i);
			snprintf(next, sizeof next, "%d/%d/%d", (w->t + 1) % THREADS, k, i);
			eds_ingest_item it, fork;
			const uint8_t *before = i ? prev[k] : NULL;
			ingest_fx_make(&it, &w->f->sk, id, (uint64_t)i + 1, before,
			               (const uint8_t *)mine, strlen(mine));
			ingest_fx_make(&fork, &w->f->sk, id, (uint64_t)i + 1, before,
			               (const uint8_t *)next, strlen(next));
			submit_expect(w, &it, EDS_INGEST_ACCEPTED, prev[k]);
			submit_expect(w, &fork, EDS_INGEST_FORK, NULL);
		}
	}
	return NULL;
}

typedef struct walk {
	uint64_t n;
	eds_public_key pk;
	const char *payload_dir;
} walk;

/* Each stored record verifies and its payload file is there. */
static eds_status check_record(void *ctx, const eds_ledger_record *r)
{
	walk *w = ctx;
	w->n++;
	eds_status st = eds_record_verify(&r->record, &w->pk);
	return st == EDS_OK ? eds_payload_check(w->payload_dir, r->record.payload_hash,
	                                        r->record.payload_size)
	                    : st;
}

static void test_concurrent_group_commit(void **state)
{
	ingest_fx *f = *state;
	for (int d = 0; d < DEVICES; d++) {
		char id[16];
		snprintf(id, sizeof id, "c%d", d);
		assert_int_equal(eds_ledger_device_add(f->l, id, &f->pk), EDS_OK);
	}
	pthread_t th[THREADS];
	worker w[THREADS];
	for (int t = 0; t < THREADS; t++) {
		w[t] = (worker){f, t, 0};
		assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(w[t].failures, 0);
	}
	eds_ledger_stats ls;
	assert_int_equal(eds_ledger_stats_get(f->l, &ls), EDS_OK);
	assert_int_equal(ls.records, DEVICES * PER_DEVICE);
	walk c = {0, f->pk, eds_ledger_payload_dir(f->l)};
	assert_int_equal(eds_ledger_record_foreach(f->l, check_record, &c), EDS_OK);
	assert_int_equal(c.n, DEVICES * PER_DEVICE);
	eds_ingest_stats st;
	eds_ingest_stats_get(f->s, &st);
	assert_int_equal(st.batch_records, DEVICES * PER_DEVICE);
	assert_int_equal(st.outcomes[EDS_INGEST_FORK], DEVICES * PER_DEVICE);
	assert_true(st.commits <= DEVICES * PER_DEVICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codes),
	    cmocka_unit_test_setup_teardown(test_chain_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_leave_no_payload_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_side_rejections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_rotation_and_new_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_payload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_in_order_and_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_service_per_ledger, setup, teardown),
	    cmocka_unit_test(test_failed_flush_unhealthy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
