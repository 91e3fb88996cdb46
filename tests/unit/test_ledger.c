/*
 * test_ledger.c - the SQLite ledger: device registry and key history, atomic
 * batch commits that move heads only forward by one, payload bookkeeping,
 * persistence across close/open, and change detection across handles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/ledger.h"
#include "test_support.h"

typedef struct fx {
	char *dir;
	eds_ledger *l;
	eds_secret_key sk;
	eds_public_key pk;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(eds_init(), EDS_OK);
	f->dir = test_tmpdir();
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	uint8_t seed[32] = {7};
	assert_int_equal(eds_secret_key_from_seed(&f->sk, seed), EDS_OK);
	eds_secret_key_public(&f->sk, &f->pk);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	eds_ledger_close(f->l);
	test_rmtree(f->dir);
	free(f->dir);
	eds_secret_key_wipe(&f->sk);
	free(f);
	return 0;
}

/* A signed record seq of device id linked to prev, as the gate would store it. */
static void make(fx *f, eds_ledger_record *lr, const char *id, uint64_t seq, const uint8_t *prev)
{
	memset(lr, 0, sizeof *lr);
	char payload[32];
	snprintf(payload, sizeof payload, "reading %llu", (unsigned long long)seq);
	assert_int_equal(eds_record_init(&lr->record, id, seq, 1700000000000ULL + seq,
	                                 (const uint8_t *)payload, strlen(payload), prev, "obj"),
	                 EDS_OK);
	assert_int_equal(eds_record_sign(&lr->record, &f->sk), EDS_OK);
	assert_int_equal(eds_record_compute_hash(&lr->record, lr->record_hash), EDS_OK);
	lr->received_ms = 42;
	strcpy(lr->source, "127.0.0.1");
	lr->payload_stored = 1;
}

static eds_status commit_records(fx *f, const eds_ledger_record *r, size_t n)
{
	eds_ledger_batch b = {.records = r, .record_count = n};
	return eds_ledger_commit(f->l, &b);
}

static void test_device_registry(void **state)
{
	fx *f = *state;
	eds_ledger_device *d = malloc(sizeof *d);
	assert_non_null(d);
	assert_int_equal(eds_ledger_device_add(f->l, "lift-01", &f->pk), EDS_OK);
	assert_int_equal(eds_ledger_device_add(f->l, "lift-01", &f->pk), EDS_E_EXISTS);
	assert_int_equal(eds_ledger_device_add(f->l, "bad id", &f->pk), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_add(f->l, "..", &f->pk), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_get(f->l, "nobody", d), EDS_E_NOT_FOUND);
	assert_int_equal(eds_ledger_device_get(f->l, "lift-01", d), EDS_OK);
	assert_int_equal(d->key_count, 1);
	assert_int_equal(d->head_sequence, 0);
	assert_int_equal(d->keys[0].from_sequence, 1);
	assert_memory_equal(d->keys[0].public_key.bytes, f->pk.bytes, 32);

	/* Keys cover ascending ranges; a new key must start after the last one. */
	eds_public_key pk2 = {{1, 2, 3}};
	assert_int_equal(eds_ledger_device_rotate(f->l, "lift-01", &pk2, 1), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_rotate(f->l, "lift-01", &pk2, 0), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_rotate(f->l, "lift-01", &pk2, 10), EDS_OK);
	assert_int_equal(eds_ledger_device_rotate(f->l, "lift-01", &pk2, 10), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_rotate(f->l, "ghost", &pk2, 10), EDS_E_NOT_FOUND);
	assert_int_equal(eds_ledger_device_get(f->l, "lift-01", d), EDS_OK);
	assert_int_equal(d->key_count, 2);
	eds_public_key got;
	assert_int_equal(eds_ledger_device_key(d, 9, &got), EDS_OK);
	assert_memory_equal(got.bytes, f->pk.bytes, 32);
	assert_int_equal(eds_ledger_device_key(d, 10, &got), EDS_OK);
	assert_memory_equal(got.bytes, pk2.bytes, 32);

	/* Revocation only ever moves earlier. */
	assert_int_equal(eds_ledger_device_revoke(f->l, "lift-01", 20), EDS_OK);
	assert_int_equal(eds_ledger_device_revoke(f->l, "lift-01", 30), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_revoke(f->l, "lift-01", 15), EDS_OK);
	assert_int_equal(eds_ledger_device_get(f->l, "lift-01", d), EDS_OK);
	assert_int_equal(eds_ledger_device_key(d, 15, &got), EDS_E_REVOKED);
	assert_int_equal(eds_ledger_device_key(d, 14, &got), EDS_OK);
	assert_int_equal(eds_ledger_device_rotate(f->l, "lift-01", &pk2, 16), EDS_E_REVOKED);
	free(d);
}

static void test_commit_moves_heads_atomically(void **state)
{
	fx *f = *state;
	eds_ledger_record r[4], got;
	assert_int_equal(eds_ledger_device_add(f->l, "a", &f->pk), EDS_OK);
	make(f, &r[0], "a", 1, NULL);
	make(f, &r[1], "a", 2, r[0].record_hash);
	make(f, &r[2], "a", 3, r[1].record_hash);
	assert_int_equal(commit_records(f, r, 2), EDS_OK);
	assert_int_equal(eds_ledger_record_get(f->l, "a", 2, &got), EDS_OK);
	assert_memory_equal(&got.record, &r[1].record, sizeof got.record);
	assert_memory_equal(got.record_hash, r[1].record_hash, 32);
	assert_string_equal(got.source, "127.0.0.1");
	assert_int_equal(got.received_ms, 42);

	/* A batch whose second record skips a sequence writes nothing at all. */
	make(f, &r[3], "a", 5, r[2].record_hash);
	eds_ledger_record bad[2] = {r[2], r[3]};
	assert_int_equal(commit_records(f, bad, 2), EDS_E_SEQUENCE);
	assert_int_equal(eds_ledger_record_get(f->l, "a", 3, &got), EDS_E_NOT_FOUND);
	/* An already stored sequence is refused, as is an unregistered device. */
	assert_int_equal(commit_records(f, &r[1], 1), EDS_E_EXISTS);
	eds_ledger_record other;
	make(f, &other, "b", 1, NULL);
	assert_int_equal(commit_records(f, &other, 1), EDS_E_SEQUENCE);

	eds_ledger_device d;
	assert_int_equal(eds_ledger_device_get(f->l, "a", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 2);
	assert_memory_equal(d.head_hash, r[1].record_hash, 32);

	/* Rotation and revocation default to "after the head"; stored records keep their key. */
	eds_public_key pk2 = {{4}};
	assert_int_equal(eds_ledger_device_rotate(f->l, "a", &pk2, 2), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_rotate(f->l, "a", &pk2, 0), EDS_OK);
	assert_int_equal(eds_ledger_device_revoke(f->l, "a", 0), EDS_OK);
	assert_int_equal(eds_ledger_device_get(f->l, "a", &d), EDS_OK);
	assert_int_equal(d.keys[1].from_sequence, 3);
	assert_int_equal(d.revoked_from_sequence, 3);
}

static void test_payloads_and_events(void **state)
{
	fx *f = *state;
	eds_ledger_record r;
	assert_int_equal(eds_ledger_device_add(f->l, "p", &f->pk), EDS_OK);
	make(f, &r, "p", 1, NULL);
	r.payload_stored = 0;
	eds_ledger_event ev = {.time_ms = 5, .sequence = 1, .decision = "accepted"};
	strcpy(ev.device_id, "p");
	eds_ledger_batch b = {.records = &r, .record_count = 1, .events = &ev, .event_count = 1};
	assert_int_equal(eds_ledger_commit(f->l, &b), EDS_OK);

	uint64_t size = 0;
	int stored = 1;
	assert_int_equal(eds_ledger_payload_lookup(f->l, r.record.payload_hash, &size, &stored),
	                 EDS_OK);
	assert_int_equal(size, r.record.payload_size);
	assert_false(stored);
	uint8_t other[32] = {9};
	assert_int_equal(eds_ledger_payload_lookup(f->l, other, &size, &stored), EDS_E_NOT_FOUND);

	eds_ledger_stats s;
	assert_int_equal(eds_ledger_stats_get(f->l, &s), EDS_OK);
	assert_int_equal(s.devices, 1);
	assert_int_equal(s.records, 1);
	assert_int_equal(s.pending_payloads, 1);
	assert_int_equal(s.events, 1);
	assert_true(s.bytes > 0);

	eds_ledger_batch b2 = {.stored_payloads = r.record.payload_hash, .stored_payload_count = 1};
	assert_int_equal(eds_ledger_commit(f->l, &b2), EDS_OK);
	assert_int_equal(eds_ledger_payload_lookup(f->l, r.record.payload_hash, &size, &stored),
	                 EDS_OK);
	assert_true(stored);
	assert_int_equal(eds_ledger_stats_get(f->l, &s), EDS_OK);
	assert_int_equal(s.pending_payloads, 0);
}

static eds_status count_fn(void *ctx, const eds_ledger_record *r)
{
	uint64_t *n = ctx;
	(*n)++;
	return r->record.sequence == *n ? EDS_OK : EDS_E_SEQUENCE;
}

static void test_persistence_and_change_detection(void **state)
{
	fx *f = *state;
	eds_ledger_record r[3];
	assert_int_equal(eds_ledger_device_add(f->l, "x", &f->pk), EDS_OK);
	make(f, &r[0], "x", 1, NULL);
	make(f, &r[1], "x", 2, r[0].record_hash);
	assert_int_equal(commit_records(f, r, 2), EDS_OK);

	eds_ledger *other;
	assert_int_equal(eds_ledger_open(&other, f->dir, NULL), EDS_OK);
	int changed = 0;
	assert_int_equal(eds_ledger_changed(f->l, &changed), EDS_OK); /* first call: baseline */
	assert_int_equal(eds_ledger_changed(f->l, &changed), EDS_OK);
	assert_false(changed);
	assert_int_equal(eds_ledger_device_add(other, "y", &f->pk), EDS_OK);
	assert_int_equal(eds_ledger_changed(f->l, &changed), EDS_OK);
	assert_true(changed);
	eds_ledger_close(other);

	eds_ledger_close(f->l);
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	eds_ledger_device d;
	assert_int_equal(eds_ledger_device_get(f->l, "x", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 2);
	assert_memory_equal(d.head_hash, r[1].record_hash, 32);
	uint64_t n = 0;
	assert_int_equal(eds_ledger_record_foreach(f->l, count_fn, &n), EDS_OK);
	assert_int_equal(n, 2);
	make(f, &r[2], "x", 3, r[1].record_hash);
	assert_int_equal(commit_records(f, &r[2], 1), EDS_OK);
}

static void test_open_refuses_a_file_as_directory(void **state)
{
	fx *f = *state;
	char path[4096];
	snprintf(path, sizeof path, "%s/ledger.sqlite", f->dir);
	eds_ledger *l = NULL;
	assert_int_equal(eds_ledger_open(&l, path, NULL), EDS_E_IO);
	assert_null(l);
	assert_non_null(strstr(eds_last_error(), "ledger.sqlite"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_device_registry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_moves_heads_atomically, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_payloads_and_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_persistence_and_change_detection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refuses_a_file_as_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
