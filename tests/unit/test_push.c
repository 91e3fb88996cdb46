/*
 * test_push.c - eds_push_chain against an ingest server started in this
 * process for each test (a throw-away ledger on 127.0.0.1, port 0, so no
 * test depends on what another pushed): the progress
 * callback (after each acknowledged batch, done never decreasing, the last
 * done equal to the file size) and the refusal fields of eds_push_summary
 * (a bad signature, an unknown device); eds_push_send_again, the rule of
 * what both pushers send again after a wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/http_client.h"
#include "edgesentry/http_server.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"
#include "edgesentry/netpolicy.h"
#include "net/push_loop.h"
#include "test_support.h"

#define PER_DEVICE 30

static eds_ledger *ledger;
static eds_ingest *ingest;
static eds_netpolicy *policy;
static eds_server *server;
static char url[64];
static eds_secret_key sk, other;

static void key(eds_secret_key *k, uint8_t b)
{
	uint8_t seed[32];
	memset(seed, b, sizeof seed);
	assert_int_equal(eds_secret_key_from_seed(k, seed), EDS_OK);
}

static int start_with(void **state, const eds_server_options *so)
{
	eds_ledger_options lo = {.durable = 0};
	eds_public_key pk;
	test_dir_setup(state);
	key(&sk, 7);
	key(&other, 8);
	eds_secret_key_public(&sk, &pk);
	assert_int_equal(eds_ledger_open(&ledger, test_dir_path("L"), &lo), EDS_OK);
	assert_int_equal(eds_ledger_device_add(ledger, "dev-a", &pk), EDS_OK);
	assert_int_equal(eds_ledger_device_add(ledger, "dev-b", &pk), EDS_OK);
	assert_int_equal(eds_ingest_new(&ingest, ledger, NULL), EDS_OK);
	assert_int_equal(eds_netpolicy_new(&policy), EDS_OK);
	assert_int_equal(eds_netpolicy_add(policy, "127.0.0.1"), EDS_OK);
	assert_int_equal(eds_server_start(&server, ingest, policy, so), EDS_OK);
	snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)eds_server_port(server));
	assert_int_equal(eds_server_port(NULL), 0);
	return 0;
}

static int start(void **state)
{
	eds_server_options so = {.listen = "127.0.0.1:0"};
	return start_with(state, &so);
}

/* A server that takes 8 records of a device at once (then 50 a second) and
 * batches of at most 16 items. */
static int start_limited(void **state)
{
	eds_server_options so = {
	    .listen = "127.0.0.1:0", .device_rate = 50, .device_burst = 8, .max_batch = 16};
	return start_with(state, &so);
}

static int stop(void **state)
{
	eds_server_stop(server, 1000);
	eds_ingest_free(ingest);
	eds_ledger_close(ledger);
	eds_netpolicy_free(policy);
	return test_dir_teardown(state);
}

/* The payload of device id's record seq: "<id> <seq><tag>". */
static int payload_of(char *buf, size_t cap, const char *id, uint64_t seq, const char *tag)
{
	return snprintf(buf, cap, "%s %llu%s", id, (unsigned long long)seq, tag);
}

/* Append device id's record seq (prev: the previous record's hash, NULL
 * for 1) with the payload of tag, signed with k, to f; prev gets this
 * record's hash. */
static void put_tagged(FILE *f, const char *id, uint64_t seq, uint8_t prev[EDS_HASH_LEN],
                       const eds_secret_key *k, const char *tag)
{
	char payload[48], ref[48], json[EDS_RECORD_JSON_MAX];
	eds_record r;
	int n = payload_of(payload, sizeof payload, id, seq, tag);
	snprintf(ref, sizeof ref, "%s/%llu.txt", id, (unsigned long long)seq);
	assert_int_equal(eds_record_init(&r, id, seq, 1700000000000ULL + seq,
	                                 (const uint8_t *)payload, (size_t)n,
	                                 seq == 1 ? NULL : prev, ref),
	                 EDS_OK);
	assert_int_equal(eds_record_sign(&r, k), EDS_OK);
	assert_int_equal(eds_record_compute_hash(&r, prev), EDS_OK);
	assert_int_equal(eds_record_to_json(&r, json, sizeof json, NULL), EDS_OK);
	fprintf(f, "%s\n", json);
}

static void put(FILE *f, const char *id, uint64_t seq, uint8_t prev[EDS_HASH_LEN],
                const eds_secret_key *k)
{
	put_tagged(f, id, seq, prev, k, "");
}

/* Device id's records 1..n with the payloads of tag into the file name;
 * with store, their payloads into the payload store P too. */
static void chain_file(const char *name, const char *id, uint64_t n, const char *tag, int store)
{
	char payload[48], dir[4096];
	uint8_t h[EDS_HASH_LEN], ph[EDS_HASH_LEN];
	snprintf(dir, sizeof dir, "%s", test_dir_path("P"));
	FILE *f = fopen(test_dir_path(name), "w");
	assert_non_null(f);
	for (uint64_t i = 1; i <= n; i++) {
		put_tagged(f, id, i, h, &sk, tag);
		int len = payload_of(payload, sizeof payload, id, i, tag);
		if (store)
			assert_int_equal(
			    eds_payload_put(dir, (const uint8_t *)payload, (size_t)len, ph),
			    EDS_OK);
	}
	fclose(f);
}

typedef struct calls {
	size_t n;
	uint64_t done, total, records, stored;
	int went_back; /* done, records or stored decreased, or total changed */
} calls;

static void on_progress(void *ctx, uint64_t done, uint64_t total, const eds_push_summary *s)
{
	calls *c = ctx;
	uint64_t stored = s->accepted + s->duplicates;
	if (c->n > 0 &&
	    (done < c->done || total != c->total || s->records < c->records || stored < c->stored))
		c->went_back = 1;
	c->n++;
	c->done = done;
	c->total = total;
	c->records = s->records;
	c->stored = stored;
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static eds_status push(const char *path, size_t batch, calls *c, eds_push_summary *s)
{
	eds_push_options o = {
	    .url = url, .batch = batch, .progress = on_progress, .progress_ctx = c};
	memset(c, 0, sizeof *c);
	return eds_push_chain(path, &o, s);
}

static void test_progress(void **state)
{
	(void)state;
	uint8_t ha[EDS_HASH_LEN], hb[EDS_HASH_LEN];
	const char *path = test_dir_path("chain.jsonl");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (uint64_t i = 1; i <= PER_DEVICE; i++) {
		put(f, "dev-a", i, ha, &sk);
		put(f, "dev-b", i, hb, &sk);
	}
	fclose(f);
	eds_push_summary s;
	calls c;
	assert_int_equal(push(path, 7, &c, &s), EDS_OK);
	assert_int_equal(s.accepted, 2 * PER_DEVICE);
	assert_int_equal(s.batches, (2 * PER_DEVICE + 6) / 7);
	assert_int_equal(s.devices, 2);
	assert_int_equal(s.payloads, 0);
	assert_false(eds_push_refused(&s));
	/* once per batch (the last one's call is the final call) */
	assert_int_equal(c.n, s.batches);
	assert_false(c.went_back);
	assert_int_equal(c.total, file_size(path));
	assert_int_equal(c.done, c.total);
	assert_int_equal(c.records, 2 * PER_DEVICE);
	assert_int_equal(c.stored, 2 * PER_DEVICE);

	/* nothing to send: one call at the end, done == total */
	assert_int_equal(push(path, 7, &c, &s), EDS_OK);
	assert_int_equal(s.skipped, 2 * PER_DEVICE);
	assert_int_equal(s.batches, 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.done, file_size(path));
	assert_int_equal(c.total, c.done);
}

static void test_refused(void **state)
{
	(void)state;
	uint8_t h[EDS_HASH_LEN];
	eds_push_summary s;
	calls c;
	/* dev-a's first two records: 1 fine, 2 signed with another key */
	FILE *f = fopen(test_dir_path("more.jsonl"), "w");
	assert_non_null(f);
	put(f, "dev-a", 1, h, &sk);
	put(f, "dev-a", 2, h, &other);
	fclose(f);
	assert_int_equal(push(test_dir_path("more.jsonl"), 1, &c, &s), EDS_E_SIGNATURE);
	assert_true(eds_push_refused(&s));
	assert_string_equal(s.refused_device_id, "dev-a");
	assert_int_equal(s.refused_sequence, 2);
	assert_string_equal(s.refused_reason, "bad_signature");
	assert_int_equal(s.accepted, 1);
	assert_int_equal(c.n, 1); /* the batch of record 1, nothing after the refusal */

	/* a device the server does not know */
	f = fopen(test_dir_path("nobody.jsonl"), "w");
	assert_non_null(f);
	put(f, "nobody", 1, h, &sk);
	fclose(f);
	assert_int_equal(push(test_dir_path("nobody.jsonl"), 0, &c, &s), EDS_E_UNKNOWN_DEVICE);
	assert_true(eds_push_refused(&s));
	assert_string_equal(s.refused_device_id, "nobody");
	assert_int_equal(s.refused_sequence, 1);
	assert_string_equal(s.refused_reason, "unknown_device");
	assert_int_equal(c.n, 0);

	/* a payload store that is not a directory: nothing is sent */
	eds_push_options po = {.url = url, .payload_dir = test_dir_path("more.jsonl")};
	assert_int_equal(eds_push_chain(test_dir_path("more.jsonl"), &po, &s), EDS_E_ARG);
	assert_int_equal(s.batches + s.requests, 0);

	/* not a refusal: nobody listens */
	eds_push_options o = {.url = "http://127.0.0.1:1"};
	assert_int_equal(eds_push_chain(test_dir_path("nobody.jsonl"), &o, &s), EDS_E_IO);
	assert_false(eds_push_refused(&s));
	assert_string_equal(s.refused_reason, "");
	assert_false(eds_push_refused(NULL));
}

/* A batch whose first item is refused: the later items of another device
 * are stored by the server and must be counted. */
static void test_refused_counts_rest(void **state)
{
	(void)state;
	uint8_t ha[EDS_HASH_LEN], hb[EDS_HASH_LEN];
	eds_push_summary s;
	calls c;
	FILE *f = fopen(test_dir_path("mixed.jsonl"), "w");
	assert_non_null(f);
	put(f, "dev-a", 1, ha, &other);
	for (uint64_t i = 1; i <= 4; i++)
		put(f, "dev-b", i, hb, &sk);
	fclose(f);
	assert_int_equal(push(test_dir_path("mixed.jsonl"), 0, &c, &s), EDS_E_SIGNATURE);
	assert_true(eds_push_refused(&s));
	assert_string_equal(s.refused_device_id, "dev-a");
	assert_int_equal(s.refused_sequence, 1);
	assert_int_equal(s.batches, 1);
	assert_int_equal(s.accepted, 4);
	assert_int_equal(s.duplicates, 0);
}

/* put_payloads: the payloads of records already on the server are PUT;
 * 404 (the server has no record needing it) counts apart, no error. */
static void test_put_payloads(void **state)
{
	(void)state;
	char dir[4096], path[4096];
	eds_push_summary s;
	calls c;
	snprintf(dir, sizeof dir, "%s", test_dir_path("P"));
	chain_file("a.jsonl", "dev-a", 3, "", 1);
	chain_file("fork.jsonl", "dev-a", 2, " forked", 1);
	snprintf(path, sizeof path, "%s", test_dir_path("a.jsonl"));
	assert_int_equal(push(path, 0, &c, &s), EDS_OK); /* records only: payloads pending */
	assert_int_equal(s.accepted, 3);

	eds_push_options o = {.url = url, .payload_dir = dir, .put_payloads = 1};
	assert_int_equal(eds_push_chain(path, &o, &s), EDS_OK);
	assert_int_equal(s.skipped, 3);
	assert_int_equal(s.payloads, 3);
	assert_int_equal(s.payloads_unknown, 0);
	assert_int_equal(s.requests, 1 + 3);                    /* the head, 3 PUTs */
	assert_int_equal(eds_push_chain(path, &o, &s), EDS_OK); /* 200 already stored */
	assert_int_equal(s.payloads, 3);

	o.put_payloads = 0; /* skipped records get no PUT */
	assert_int_equal(eds_push_chain(path, &o, &s), EDS_OK);
	assert_int_equal(s.payloads + s.requests, 0 + 1);

	o.put_payloads = 1; /* a fork of the server's chain: no record needs its payloads */
	snprintf(path, sizeof path, "%s", test_dir_path("fork.jsonl"));
	assert_int_equal(eds_push_chain(path, &o, &s), EDS_OK);
	assert_int_equal(s.skipped, 2);
	assert_int_equal(s.payloads, 0);
	assert_int_equal(s.payloads_unknown, 2);
}

/* Two devices interleaved, 20 records each with payloads, in one batch of
 * 40 to the limited server: halved twice on 413 (parts of 10, the later
 * items waiting behind), each part partly answered rate_limited, and later
 * items of a limited device refused as gaps.  The push waits and sends
 * only what was not stored: all 40 end up stored, each counted once. */
static void test_waits_out_limits(void **state)
{
	(void)state;
	char dir[4096], path[4096];
	uint8_t ha[EDS_HASH_LEN], hb[EDS_HASH_LEN], ph[EDS_HASH_LEN], h[EDS_HASH_LEN];
	snprintf(dir, sizeof dir, "%s", test_dir_path("P"));
	snprintf(path, sizeof path, "%s", test_dir_path("ab.jsonl"));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (uint64_t i = 1; i <= 20; i++) {
		char payload[48];
		put(f, "dev-a", i, ha, &sk);
		put(f, "dev-b", i, hb, &sk);
		for (int d = 0; d < 2; d++) {
			int n = payload_of(payload, sizeof payload, d ? "dev-b" : "dev-a", i, "");
			assert_int_equal(eds_payload_put(dir, (uint8_t *)payload, (size_t)n, ph),
			                 EDS_OK);
		}
	}
	fclose(f);
	eds_push_summary s;
	eds_push_options o = {.url = url, .payload_dir = dir, .batch = 40, .retries = -1};
	assert_int_equal(eds_push_chain(path, &o, &s), EDS_E_IO); /* never wait: as before */
	assert_false(eds_push_refused(&s));
	assert_int_equal(s.waits, 0);
	/* 8 of each device in the first part, and what the buckets refilled since */
	uint64_t first = s.accepted;
	assert_true(first >= 16 && first < 40);

	o.retries = 0; /* the default */
	assert_int_equal(eds_push_chain(path, &o, &s), EDS_OK);
	assert_false(eds_push_refused(&s));
	assert_int_equal(s.skipped, first);
	assert_int_equal(s.accepted, 40 - first);
	assert_int_equal(s.duplicates, 0);
	assert_int_equal(s.payloads, 40 - first);
	assert_true(s.waits >= 1);
	assert_true(s.waited_ms >= 1000 * s.waits);
	for (int d = 0; d < 2; d++) {
		uint64_t seq = 0;
		assert_int_equal(eds_ingest_head(ingest, d ? "dev-b" : "dev-a", &seq, h), EDS_OK);
		assert_int_equal(seq, 20);
	}
}

/* What both pushers send again: a record the server could not take now, and
 * the later records of its device, whatever the server said of them. */
static void test_send_again(void **state)
{
	(void)state;
	eds_record r[4] = {0};
	const char *dev[] = {"a", "b", "a", "a"};
	for (int i = 0; i < 4; i++)
		snprintf(r[i].device_id, sizeof r[i].device_id, "%s", dev[i]);
	unsigned char again[4] = {0};
	assert_false(eds_push_send_again(r, again, 0, NULL));
	assert_false(eds_push_send_again(r, again, 0, "fork"));
	assert_true(eds_push_send_again(r, again, 0, "rate_limited"));
	assert_true(eds_push_send_again(r, again, 0, "storage_unavailable"));
	again[0] = 1;
	assert_false(eds_push_send_again(r, again, 1, "sequence_gap")); /* another device */
	assert_false(eds_push_send_again(r, again, 1, ""));
	assert_true(eds_push_send_again(r, again, 2, "sequence_gap")); /* behind a's first */
	assert_true(eds_push_send_again(r, again, 3, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_progress, start, stop),
	    cmocka_unit_test_setup_teardown(test_refused, start, stop),
	    cmocka_unit_test_setup_teardown(test_refused_counts_rest, start, stop),
	    cmocka_unit_test_setup_teardown(test_put_payloads, start, stop),
	    cmocka_unit_test_setup_teardown(test_waits_out_limits, start_limited, stop),
	    cmocka_unit_test(test_send_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
