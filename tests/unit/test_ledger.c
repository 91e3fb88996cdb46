/*
 * test_ledger.c - the SQLite ledger: device registry and key history, atomic
 * batch commits that move heads only forward by one, payload bookkeeping,
 * persistence across close/open, and change detection across handles.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
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

/* Records 1..n of device id, each linked to the one before, into r[0..n). */
static void make_chain(fx *f, eds_ledger_record *r, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		make(f, &r[i], id, i + 1, i > 0 ? r[i - 1].record_hash : NULL);
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

/* An import source: the devices of list[0..n), then EDS_DONE (or fail_at's error). */
typedef struct import_src {
	const eds_ledger_device *list;
	size_t n, next, fail_at;
} import_src;

static eds_status import_next(void *ctx, eds_ledger_device *d)
{
	import_src *src = ctx;
	if (src->next == src->fail_at)
		return EDS_E_IO; /* as a failing source would */
	if (src->next == src->n)
		return EDS_DONE;
	*d = src->list[src->next++];
	return EDS_OK;
}

static eds_status import_list(fx *f, const eds_ledger_device *list, size_t n,
                              eds_ledger_import_counts *c)
{
	import_src src = {list, n, 0, SIZE_MAX};
	return eds_ledger_device_import(f->l, import_next, &src, c);
}

static void device_with(eds_ledger_device *d, const char *id, const eds_public_key *pk,
                        uint64_t from)
{
	memset(d, 0, sizeof *d);
	snprintf(d->device_id, sizeof d->device_id, "%s", id);
	d->key_count = 1;
	d->keys[0].public_key = *pk;
	d->keys[0].from_sequence = from;
}

static void test_device_import(void **state)
{
	fx *f = *state;
	eds_ledger_device *in = calloc(3, sizeof *in), *got = malloc(sizeof *got);
	assert_true(in != NULL && got != NULL);
	eds_public_key pk2 = {{9, 9}};
	eds_ledger_import_counts c;
	device_with(&in[0], "imp-a", &f->pk, 1);
	device_with(&in[1], "imp-b", &f->pk, 1);
	in[1].keys[1] = (eds_ledger_key){pk2, 5, 0};
	in[1].key_count = 2;
	in[1].revoked_from_sequence = 8;
	assert_int_equal(import_list(f, in, 2, &c), EDS_OK);
	assert_true(c.added == 2 && c.changed == 0 && c.unchanged == 0);
	assert_int_equal(eds_ledger_device_get(f->l, "imp-b", got), EDS_OK);
	assert_int_equal(got->key_count, 2);
	assert_int_equal(got->keys[1].from_sequence, 5);
	assert_memory_equal(got->keys[1].public_key.bytes, pk2.bytes, 32);
	assert_int_equal(got->revoked_from_sequence, 8);
	assert_int_equal(import_list(f, in, 2, NULL), EDS_OK); /* counts may be NULL */
	assert_int_equal(import_list(f, in, 2, &c), EDS_OK);
	assert_true(c.added == 0 && c.changed == 0 && c.unchanged == 2);

	/* A key above the head is added; one at or below it is refused. */
	eds_ledger_record r[3];
	make_chain(f, r, 3, "imp-a");
	assert_int_equal(commit_records(f, r, 3), EDS_OK);
	in[0].keys[1] = (eds_ledger_key){pk2, 3, 0};
	in[0].key_count = 2;
	assert_int_equal(import_list(f, in, 1, &c), EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), "already stored"));
	in[0].keys[1].from_sequence = 4;
	assert_int_equal(import_list(f, in, 2, &c), EDS_OK);
	assert_true(c.added == 0 && c.changed == 1 && c.unchanged == 1);

	/* All or nothing: a good new device before a contradiction is not added. */
	device_with(&in[2], "imp-0", &f->pk, 1);
	in[1].revoked_from_sequence = 0; /* would lift imp-b's revocation */
	eds_ledger_device order[3] = {in[2], in[0], in[1]};
	assert_int_equal(import_list(f, order, 3, &c), EDS_E_EXISTS);
	assert_non_null(strstr(eds_last_error(), "never lifted"));
	assert_true(c.added == 0 && c.changed == 0 && c.unchanged == 0);
	assert_int_equal(eds_ledger_device_get(f->l, "imp-0", got), EDS_E_NOT_FOUND);
	/* ... and so is it when the source itself fails. */
	import_src src = {order, 1, 0, 1};
	assert_int_equal(eds_ledger_device_import(f->l, import_next, &src, &c), EDS_E_IO);
	assert_int_equal(eds_ledger_device_get(f->l, "imp-0", got), EDS_E_NOT_FOUND);
	in[1].revoked_from_sequence = 8;

	/* A different key, a missing key, a raised revocation. */
	in[0].keys[0].public_key = pk2;
	assert_int_equal(import_list(f, in, 1, &c), EDS_E_EXISTS);
	in[0].keys[0].public_key = f->pk;
	in[0].key_count = 1;
	assert_int_equal(import_list(f, in, 1, &c), EDS_E_EXISTS);
	in[0].key_count = 2;
	in[1].revoked_from_sequence = 9;
	assert_int_equal(import_list(f, in, 2, &c), EDS_E_EXISTS);
	in[1].revoked_from_sequence = 8;

	/* The arguments are checked for every back end. */
	device_with(&in[2], "imp-c", &f->pk, 2);
	assert_int_equal(import_list(f, &in[2], 1, &c), EDS_E_FIELD); /* first key after 1 */
	device_with(&in[2], "bad id", &f->pk, 1);
	assert_int_equal(import_list(f, &in[2], 1, &c), EDS_E_FIELD);
	device_with(&in[2], "imp-c", &f->pk, 1);
	in[2].key_count = 0;
	assert_int_equal(import_list(f, &in[2], 1, &c), EDS_E_FIELD);
	in[2].key_count = EDS_LEDGER_MAX_KEYS + 1;
	assert_int_equal(import_list(f, &in[2], 1, &c), EDS_E_LIMIT);
	in[2].key_count = 2;
	in[2].keys[1] = (eds_ledger_key){pk2, 1, 0}; /* not above the previous key */
	assert_int_equal(import_list(f, &in[2], 1, &c), EDS_E_FIELD);
	in[2].key_count = 1;
	in[2].revoked_from_sequence = 1ull << 53;
	assert_int_equal(import_list(f, &in[2], 1, &c), EDS_E_FIELD);
	assert_int_equal(eds_ledger_device_import(f->l, NULL, NULL, &c), EDS_E_ARG);
	assert_int_equal(eds_ledger_device_get(f->l, "imp-c", got), EDS_E_NOT_FOUND);
	free(in);
	free(got);
}

static void test_commit_moves_heads_atomically(void **state)
{
	fx *f = *state;
	eds_ledger_record r[4], got;
	assert_int_equal(eds_ledger_device_add(f->l, "a", &f->pk), EDS_OK);
	make_chain(f, r, 3, "a");
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

/* Events read back: their ids and copies, up to 8; stops with EDS_DONE at stop_at. */
typedef struct events_seen {
	size_t n;
	uint64_t ids[8], stop_at;
	eds_ledger_event ev[8];
} events_seen;

static eds_status collect_event(void *ctx, uint64_t id, const eds_ledger_event *ev)
{
	events_seen *e = ctx;
	if (id == e->stop_at)
		return EDS_DONE;
	assert_true(e->n < 8);
	e->ids[e->n] = id;
	e->ev[e->n++] = *ev;
	return EDS_OK;
}

/*
 * The operation log reads back as written: in id order, every field, the
 * unknown parts (a malformed body's device) empty; after an id, for one
 * device; a callback's status stops the walk; a read-only handle reads it.
 */
static void test_event_log_reads_back(void **state)
{
	fx *f = *state;
	eds_ledger_event ev[3] = {
	    {.time_ms = 5,
	     .source = "10.0.0.1",
	     .device_id = "a",
	     .sequence = 1,
	     .decision = "accepted",
	     .record_hash = {1}},
	    {.time_ms = 6, .source = "::1", .decision = "rejected", .reason = "malformed"},
	    {.time_ms = 7,
	     .source = "10.0.0.2",
	     .device_id = "b",
	     .sequence = 4,
	     .decision = "rejected",
	     .reason = "fork",
	     .record_hash = {2}},
	};
	eds_ledger_batch b = {.events = ev, .event_count = 3};
	assert_int_equal(eds_ledger_commit(f->l, &b), EDS_OK);
	events_seen all = {0};
	assert_int_equal(eds_ledger_event_foreach(f->l, 0, NULL, collect_event, &all), EDS_OK);
	assert_int_equal(all.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(all.ids[i], i + 1);
		assert_int_equal(all.ev[i].time_ms, ev[i].time_ms);
		assert_string_equal(all.ev[i].source, ev[i].source);
		assert_string_equal(all.ev[i].device_id, ev[i].device_id);
		assert_int_equal(all.ev[i].sequence, ev[i].sequence);
		assert_string_equal(all.ev[i].decision, ev[i].decision);
		assert_string_equal(all.ev[i].reason, ev[i].reason);
		assert_memory_equal(all.ev[i].record_hash, ev[i].record_hash, EDS_HASH_LEN);
	}
	events_seen later = {0}, of_b = {0}, stopped = {.stop_at = 2};
	assert_int_equal(eds_ledger_event_foreach(f->l, 1, NULL, collect_event, &later), EDS_OK);
	assert_int_equal(later.n, 2);
	assert_int_equal(later.ids[0], 2);
	assert_int_equal(eds_ledger_event_foreach(f->l, 0, "b", collect_event, &of_b), EDS_OK);
	assert_int_equal(of_b.n, 1);
	assert_int_equal(of_b.ids[0], 3);
	assert_int_equal(eds_ledger_event_foreach(f->l, 0, NULL, collect_event, &stopped),
	                 EDS_DONE);
	assert_int_equal(stopped.n, 1);
	eds_ledger_close(f->l);
	eds_ledger_options lo = {.durable = 1, .read_only = 1};
	assert_int_equal(eds_ledger_open(&f->l, f->dir, &lo), EDS_OK);
	events_seen ro = {0};
	assert_int_equal(eds_ledger_event_foreach(f->l, 0, NULL, collect_event, &ro), EDS_OK);
	assert_int_equal(ro.n, 3);
	assert_int_equal(eds_ledger_event_foreach(f->l, 0, NULL, NULL, &ro), EDS_E_ARG);
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
	make_chain(f, r, 2, "x");
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

/*
 * A look-up must not leave its statement on a row: in WAL mode that keeps the
 * connection's read snapshot open, so a record committed after another process
 * registered a device would meet SQLITE_BUSY_SNAPSHOT (eds serve beside
 * `eds device add`).
 */
static void test_look_up_keeps_no_snapshot(void **state)
{
	fx *f = *state;
	eds_ledger_device *d = malloc(sizeof *d);
	assert_non_null(d);
	assert_int_equal(eds_ledger_device_add(f->l, "x", &f->pk), EDS_OK);
	assert_int_equal(eds_ledger_device_get(f->l, "x", d), EDS_OK);

	eds_ledger *other;
	assert_int_equal(eds_ledger_open(&other, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_device_add(other, "y", &f->pk), EDS_OK);
	eds_ledger_close(other);

	eds_ledger_record r;
	make(f, &r, "x", 1, NULL);
	assert_int_equal(commit_records(f, &r, 1), EDS_OK);
	assert_int_equal(eds_ledger_device_get(f->l, "y", d), EDS_OK);
	free(d);
}

/* The payload make() wrote for lr, in buf. */
static size_t payload_of(const eds_ledger_record *lr, char buf[32])
{
	snprintf(buf, 32, "reading %llu", (unsigned long long)lr->record.sequence);
	return strlen(buf);
}

static eds_status stage_payload_of(fx *f, const eds_ledger_record *lr)
{
	char payload[32];
	size_t n = payload_of(lr, payload);
	return eds_payload_stage(eds_ledger_payload_dir(f->l), lr->record.payload_hash,
	                         (const uint8_t *)payload, n);
}

/* Commit lr alone, journaling its payload bytes when with_bytes. */
static eds_status commit_journaled(fx *f, const eds_ledger_record *lr, int with_bytes)
{
	char payload[32];
	size_t n = payload_of(lr, payload);
	eds_ledger_payload p = {lr->record.payload_hash, (const uint8_t *)payload, n};
	eds_ledger_batch b = {.records = lr, .record_count = 1};
	if (with_bytes) {
		b.payloads = &p;
		b.payload_count = 1;
	}
	return eds_ledger_commit_journaled(f->l, &b);
}

static int stored_flag(fx *f, const eds_ledger_record *lr)
{
	uint64_t size;
	int stored = -1;
	assert_int_equal(eds_ledger_payload_lookup(f->l, lr->record.payload_hash, &size, &stored),
	                 EDS_OK);
	return stored;
}

static char *file_of(fx *f, const eds_ledger_record *lr, char *path, size_t n)
{
	assert_int_equal(
	    eds_payload_path(path, n, eds_ledger_payload_dir(f->l), lr->record.payload_hash),
	    EDS_OK);
	return path;
}

static eds_status check_file_of(fx *f, const eds_ledger_record *lr)
{
	return eds_payload_check(eds_ledger_payload_dir(f->l), lr->record.payload_hash,
	                         lr->record.payload_size);
}

/* Recover after a reopen (a restart); restored and demoted must be as given. */
static void reopen_and_recover(fx *f, size_t restored, size_t demoted)
{
	size_t r = 99, d = 99;
	eds_ledger_close(f->l);
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_recover(f->l, &r, &d), EDS_OK);
	assert_int_equal(r, restored);
	assert_int_equal(d, demoted);
}

/*
 * A journaled commit is durable before its payload files are: a crash
 * before eds_ledger_sync may lose or damage a file, and recovery writes it
 * again from the journal; a hash journaled without bytes goes back to
 * pending; an entry a sync covered is gone.
 */
static void test_journaled_commit_and_recovery(void **state)
{
	fx *f = *state;
	eds_ledger_record r[4];
	char path[4096];
	assert_int_equal(eds_ledger_device_add(f->l, "u", &f->pk), EDS_OK);
	make_chain(f, r, 4, "u");

	assert_int_equal(stage_payload_of(f, &r[0]), EDS_OK);
	assert_int_equal(commit_journaled(f, &r[0], 1), EDS_OK);
	assert_int_equal(eds_ledger_sync(f->l), EDS_OK); /* r0's entry is gone now */
	assert_int_equal(eds_ledger_sync(f->l), EDS_OK); /* nothing journaled: nothing to do */
	assert_int_equal(stage_payload_of(f, &r[1]), EDS_OK);
	assert_int_equal(commit_journaled(f, &r[1], 1), EDS_OK);
	assert_int_equal(commit_journaled(f, &r[2], 0), EDS_OK); /* no bytes, no file */
	assert_int_equal(commit_journaled(f, &r[3], 1), EDS_OK); /* bytes, file never staged */
	assert_true(stored_flag(f, &r[2]) && stored_flag(f, &r[3]));

	/* "Crash": r1's file damaged, r0's removed (its entry is gone: not restored). */
	FILE *fp = fopen(file_of(f, &r[1], path, sizeof path), "wb");
	assert_non_null(fp);
	fputs("torn", fp);
	fclose(fp);
	assert_int_equal(remove(file_of(f, &r[0], path, sizeof path)), 0);
	reopen_and_recover(f, 2, 1);
	assert_int_equal(check_file_of(f, &r[1]), EDS_OK);
	assert_int_equal(check_file_of(f, &r[3]), EDS_OK);
	assert_int_not_equal(check_file_of(f, &r[0]), EDS_OK);
	assert_true(stored_flag(f, &r[0]) && stored_flag(f, &r[1]) && stored_flag(f, &r[3]));
	assert_false(stored_flag(f, &r[2]));
	reopen_and_recover(f, 0, 0); /* the journal is empty */
	eds_ledger_device d;
	assert_int_equal(eds_ledger_device_get(f->l, "u", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 4);
}

/* Journal bytes that no longer hash to their name are not written back. */
static void test_damaged_journal_demotes(void **state)
{
	fx *f = *state;
	eds_ledger_record r;
	assert_int_equal(eds_ledger_device_add(f->l, "v", &f->pk), EDS_OK);
	make(f, &r, "v", 1, NULL);
	eds_ledger_payload p = {r.record.payload_hash, (const uint8_t *)"not the payload", 15};
	eds_ledger_batch b = {.records = &r, .record_count = 1, .payloads = &p, .payload_count = 1};
	assert_int_equal(eds_ledger_commit_journaled(f->l, &b), EDS_OK);
	reopen_and_recover(f, 0, 1);
	assert_false(stored_flag(f, &r));
}

/* Close f's ledger and run sql on its database. */
static void close_and_run(fx *f, const char *sql)
{
	eds_ledger_close(f->l);
	f->l = NULL;
	char db[4096];
	snprintf(db, sizeof db, "%s/ledger.sqlite", f->dir);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* Rewind f's ledger to an older schema with sql (run on a closed ledger), then reopen it. */
static void downgrade(fx *f, const char *sql)
{
	close_and_run(f, sql);
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
}

/* A ledger written by schema 1 (no `unconfirmed` table) is upgraded on open. */
static void test_schema_1_upgraded(void **state)
{
	fx *f = *state;
	eds_ledger_record r;
	assert_int_equal(eds_ledger_device_add(f->l, "old", &f->pk), EDS_OK);
	downgrade(f, "DROP TABLE unconfirmed; PRAGMA user_version = 1");
	make(f, &r, "old", 1, NULL);
	assert_int_equal(commit_journaled(f, &r, 1), EDS_OK);
	reopen_and_recover(f, 1, 0); /* its file was never staged: written from the journal */
	assert_int_equal(check_file_of(f, &r), EDS_OK);
}

/*
 * Schema 2 journaled hashes without bytes: such an entry, left by a crash,
 * still sends a lost file's records back to pending after the upgrade.
 */
static void test_schema_2_upgraded(void **state)
{
	fx *f = *state;
	eds_ledger_record r[2];
	assert_int_equal(eds_ledger_device_add(f->l, "two", &f->pk), EDS_OK);
	make_chain(f, r, 2, "two");
	assert_int_equal(commit_journaled(f, &r[0], 1), EDS_OK); /* bytes dropped below */
	downgrade(f, "CREATE TABLE u2 AS SELECT id, hashes FROM unconfirmed;"
	             "DROP TABLE unconfirmed;"
	             "CREATE TABLE unconfirmed(id INTEGER PRIMARY KEY, hashes BLOB NOT NULL);"
	             "INSERT INTO unconfirmed SELECT * FROM u2; DROP TABLE u2;"
	             "PRAGMA user_version = 2");
	assert_int_equal(commit_journaled(f, &r[1], 1), EDS_OK);
	reopen_and_recover(f, 1, 1);
	assert_false(stored_flag(f, &r[0]));
	assert_true(stored_flag(f, &r[1]));
}

/*
 * A journal row damaged on disk (cut short, or a length past its end) is
 * read within its bounds: nothing is written from it, the record goes back
 * to pending.
 */
static void test_cut_journal_demotes(void **state)
{
	static const char *const damage[] = {
	    "UPDATE unconfirmed SET payloads = substr(payloads, 1, 45)",
	    "UPDATE unconfirmed SET payloads = substr(payloads, 1, 32) || "
	    "x'ffffffffffffff7f' || substr(payloads, 41)",
	    "UPDATE unconfirmed SET payloads = x''"};
	fx *f = *state;
	eds_ledger_record r[3];
	assert_int_equal(eds_ledger_device_add(f->l, "cut", &f->pk), EDS_OK);
	for (int i = 0; i < 3; i++) {
		make(f, &r[i], "cut", (uint64_t)i + 1, i ? r[i - 1].record_hash : NULL);
		assert_int_equal(commit_journaled(f, &r[i], 1), EDS_OK);
		downgrade(f, damage[i]); /* same schema: only the row changes */
		reopen_and_recover(f, 0, 1);
		assert_false(stored_flag(f, &r[i]));
	}
}

/*
 * A payload too big for the journal is flushed as a file before the commit
 * instead: only its hash is journaled (so a file lost anyway would send its
 * record back to pending, not be written from bytes the ledger lacks).
 */
static void test_big_payload_not_journaled(void **state)
{
	fx *f = *state;
	size_t n = EDS_LEDGER_JOURNAL_PAYLOAD_MAX + 1;
	uint8_t *big = calloc(1, n);
	assert_non_null(big);
	eds_ledger_record r;
	assert_int_equal(eds_ledger_device_add(f->l, "big", &f->pk), EDS_OK);
	make(f, &r, "big", 1, NULL); /* the ledger does not check signatures */
	r.record.payload_size = n;
	eds_blake3(r.record.payload_hash, big, n);
	assert_int_equal(
	    eds_payload_stage(eds_ledger_payload_dir(f->l), r.record.payload_hash, big, n), EDS_OK);
	eds_ledger_payload p = {r.record.payload_hash, big, n};
	eds_ledger_batch b = {.records = &r, .record_count = 1, .payloads = &p, .payload_count = 1};
	assert_int_equal(eds_ledger_commit_journaled(f->l, &b), EDS_OK);
	eds_ledger_stats ls;
	assert_int_equal(eds_ledger_stats_get(f->l, &ls), EDS_OK);
	assert_int_equal(ls.journaled_payloads, 1);
	char path[4096];
	assert_int_equal(remove(file_of(f, &r, path, sizeof path)), 0);
	reopen_and_recover(f, 0, 1);
	free(big);
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

/* Count directory entries of dir whose name contains part (leftover temporary files). */
static int count_named(const char *dir, const char *part)
{
	int n = 0;
	DIR *dp = opendir(dir);
	assert_non_null(dp);
	for (struct dirent *e; (e = readdir(dp)) != NULL;)
		n += strstr(e->d_name, part) != NULL;
	closedir(dp);
	return n;
}

static void test_payload_staging(void **state)
{
	fx *f = *state;
	const char *root = eds_ledger_payload_dir(f->l);
	uint8_t data[256], hash[32];
	char path[4200], sub[4200];
	memset(data, 0xa5, sizeof data);
	eds_blake3(hash, data, sizeof data);
	assert_int_equal(eds_payload_path(path, sizeof path, root, hash), EDS_OK);
	/* A missing subdirectory is created on demand. */
	assert_int_equal(eds_payload_stage(root, hash, data, sizeof data), EDS_OK);
	assert_int_equal(eds_payload_check(root, hash, sizeof data), EDS_OK);
	/* Staging it again keeps the identical file (content-addressed). */
	assert_int_equal(eds_payload_stage(root, hash, data, sizeof data), EDS_OK);
	/* A damaged file under the name (same size, other bytes) is replaced. */
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	memset(data, 0, 16);
	fwrite(data, 1, sizeof data, fp);
	fclose(fp);
	memset(data, 0xa5, 16);
	assert_int_not_equal(eds_payload_check(root, hash, sizeof data), EDS_OK);
	assert_int_equal(eds_payload_stage(root, hash, data, sizeof data), EDS_OK);
	assert_int_equal(eds_payload_check(root, hash, sizeof data), EDS_OK);
	assert_int_equal(eds_payload_sync(root), EDS_OK);
	snprintf(sub, sizeof sub, "%.*s", (int)(strrchr(path, '/') - path), path);
	assert_int_equal(count_named(sub, ".tmp"), 0);
	assert_int_equal(count_named(sub, "") - 2, 1); /* just the payload, plus . and .. */
}

/*
 * A probe writes (a WAL frame, a synced page in the payload directory) but
 * changes nothing visible and leaves no file; with the payload directory
 * unusable it fails, naming it.
 */
static void test_probe(void **state)
{
	fx *f = *state;
	eds_ledger_record r[2];
	make_chain(f, r, 2, "dev");
	assert_int_equal(eds_ledger_device_add(f->l, "dev", &f->pk), EDS_OK);
	assert_int_equal(commit_records(f, r, 2), EDS_OK);
	const char *root = eds_ledger_payload_dir(f->l);
	int entries = count_named(root, "");
	char wal[4200];
	snprintf(wal, sizeof wal, "%s/ledger.sqlite-wal", f->dir);
	struct stat before, after;
	assert_int_equal(stat(wal, &before), 0);
	assert_int_equal(eds_ledger_probe(f->l), EDS_OK);
	assert_int_equal(eds_ledger_check_store(f->l), EDS_OK);
	assert_int_equal(stat(wal, &after), 0);
	assert_true(after.st_size > before.st_size); /* a real commit, not an empty one */
	assert_int_equal(count_named(root, ""), entries);
	eds_ledger_stats ls;
	assert_int_equal(eds_ledger_stats_get(f->l, &ls), EDS_OK);
	assert_int_equal(ls.records, 2);
	assert_int_equal(ls.events, 0);
	/* The payload directory replaced by a file: the probe fails and names it. */
	char moved[4200];
	snprintf(moved, sizeof moved, "%s.moved", root);
	assert_int_equal(rename(root, moved), 0);
	FILE *fp = fopen(root, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(eds_ledger_probe(f->l), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "payloads"));
	assert_int_equal(unlink(root), 0);
	assert_int_equal(rename(moved, root), 0);
	assert_int_equal(eds_ledger_probe(f->l), EDS_OK);
}

/* ---- read-only ledgers --------------------------------------------------- */

static eds_status open_read_only(eds_ledger **l, const char *dir)
{
	eds_ledger_options lo = {.durable = 1, .read_only = 1};
	return eds_ledger_open(l, dir, &lo);
}

/* Whether f->dir holds name (e.g. "ledger.sqlite-wal"). */
static int has(fx *f, const char *name)
{
	char path[4096];
	struct stat sb;
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	return stat(path, &sb) == 0;
}

/* Device "ro" with records 1 and 2 in f's ledger, which is then closed (no -wal left). */
static void fill_and_close(fx *f, eds_ledger_record r[2])
{
	assert_int_equal(eds_ledger_device_add(f->l, "ro", &f->pk), EDS_OK);
	make_chain(f, r, 2, "ro");
	assert_int_equal(commit_records(f, r, 2), EDS_OK);
	eds_ledger_close(f->l);
	f->l = NULL;
	assert_false(has(f, "ledger.sqlite-wal"));
}

/* A directory without a ledger is refused and nothing is created in it, nor it. */
static void test_read_only_needs_a_ledger(void **state)
{
	fx *f = *state;
	char dir[4096];
	eds_ledger *l = NULL;
	snprintf(dir, sizeof dir, "%s/absent", f->dir);
	assert_int_equal(open_read_only(&l, dir), EDS_E_NOT_FOUND);
	assert_null(l);
	assert_false(has(f, "absent"));
	snprintf(dir, sizeof dir, "%s/empty", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(open_read_only(&l, dir), EDS_E_NOT_FOUND);
	assert_false(has(f, "empty/payloads"));
	assert_false(has(f, "empty/ledger.sqlite"));
}

/* Every write is refused with EDS_E_UNSUPPORTED, "ledger opened read-only". */
static void expect_refused(eds_status st)
{
	assert_int_equal(st, EDS_E_UNSUPPORTED);
	assert_non_null(strstr(eds_last_error(), "ledger opened read-only"));
}

static void test_read_only_reads_and_refuses_writes(void **state)
{
	fx *f = *state;
	eds_ledger_record r[2], got, more;
	fill_and_close(f, r);
	eds_ledger *l;
	assert_int_equal(open_read_only(&l, f->dir), EDS_OK);
	expect_refused(eds_ledger_device_add(l, "new", &f->pk));
	expect_refused(eds_ledger_device_rotate(l, "ro", &f->pk, 0));
	expect_refused(eds_ledger_device_revoke(l, "ro", 0));
	expect_refused(eds_ledger_device_import(l, import_next, NULL, NULL));
	make(f, &more, "ro", 3, r[1].record_hash);
	eds_ledger_batch b = {.records = &more, .record_count = 1};
	expect_refused(eds_ledger_commit(l, &b));
	expect_refused(eds_ledger_commit_journaled(l, &b));
	expect_refused(eds_ledger_sync(l));
	expect_refused(eds_ledger_recover(l, NULL, NULL));
	expect_refused(eds_ledger_claim(l));
	expect_refused(eds_ledger_probe(l));
	assert_int_equal(eds_ledger_check_store(l), EDS_OK); /* a read: fine read-only */

	eds_ledger_device d;
	assert_int_equal(eds_ledger_device_get(l, "ro", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 2);
	assert_int_equal(eds_ledger_device_get(l, "new", &d), EDS_E_NOT_FOUND);
	assert_int_equal(eds_ledger_record_get(l, "ro", 2, &got), EDS_OK);
	assert_memory_equal(got.record_hash, r[1].record_hash, 32);
	assert_int_equal(eds_ledger_record_get(l, "ro", 3, &got), EDS_E_NOT_FOUND);
	uint64_t n = 0, size;
	assert_int_equal(eds_ledger_record_foreach(l, count_fn, &n), EDS_OK);
	assert_int_equal(n, 2);
	int stored, changed;
	assert_int_equal(eds_ledger_payload_lookup(l, r[0].record.payload_hash, &size, &stored),
	                 EDS_OK);
	eds_ledger_stats ls;
	assert_int_equal(eds_ledger_stats_get(l, &ls), EDS_OK);
	assert_int_equal(ls.records, 2);
	assert_int_equal(eds_ledger_changed(l, &changed), EDS_OK);
	char *json = NULL;
	assert_int_equal(eds_ledger_registry_json(l, &json), EDS_OK);
	assert_non_null(strstr(json, "\"ro\""));
	free(json);
	/* Immutable: no lock, no -shm, no -wal. */
	assert_false(has(f, "ledger.sqlite-wal"));
	assert_false(has(f, "ledger.sqlite-shm"));
	eds_ledger_close(l);
	assert_false(has(f, "ledger.sqlite-wal"));
	assert_false(has(f, "ledger.sqlite-shm"));
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_device_get(f->l, "new", &d), EDS_E_NOT_FOUND);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

/*
 * An immutable open trusts the file not to change: a write to it (another
 * process adding a device) or a file put in its place makes the next read
 * fail with EDS_E_IO instead of answering from stale or torn pages.
 */
static void test_read_only_sees_the_file_change(void **state)
{
	fx *f = *state;
	eds_ledger_record r[2];
	eds_ledger_device d;
	fill_and_close(f, r);
	eds_ledger *l, *w;
	assert_int_equal(open_read_only(&l, f->dir), EDS_OK);
	assert_int_equal(eds_ledger_device_get(l, "ro", &d), EDS_OK);
	sleep_ms(20); /* past the file system's timestamp granularity */
	assert_int_equal(eds_ledger_open(&w, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ledger_device_add(w, "late", &f->pk), EDS_OK);
	eds_ledger_close(w); /* checkpoints into ledger.sqlite */
	assert_int_equal(eds_ledger_device_get(l, "ro", &d), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "changed while read"));
	eds_ledger_close(l);

	/* The same bytes under a new inode are another file too. */
	char db[4096], copy[4096];
	snprintf(db, sizeof db, "%s/ledger.sqlite", f->dir);
	snprintf(copy, sizeof copy, "%s/copy.sqlite", f->dir);
	assert_int_equal(open_read_only(&l, f->dir), EDS_OK);
	uint64_t n = 0;
	assert_int_equal(eds_ledger_record_foreach(l, count_fn, &n), EDS_OK);
	assert_int_equal(link(db, copy), 0);
	size_t len;
	char *bytes = test_read_file(db, &len);
	assert_non_null(bytes);
	assert_int_equal(unlink(db), 0);
	FILE *fp = fopen(db, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(bytes, 1, len, fp), len);
	fclose(fp);
	free(bytes);
	n = 0;
	assert_int_equal(eds_ledger_record_foreach(l, count_fn, &n), EDS_E_IO);
	assert_non_null(strstr(eds_last_error(), "changed while read"));
	eds_ledger_close(l);
}

/*
 * With a -wal (a server has the ledger open) a reader reads one snapshot,
 * so its walks agree with each other, and eds_ledger_changed moves it on to
 * the newest commit.
 */
static void test_read_only_follows_a_live_wal(void **state)
{
	fx *f = *state;
	eds_ledger_record r[3], got;
	assert_int_equal(eds_ledger_device_add(f->l, "live", &f->pk), EDS_OK);
	make_chain(f, r, 3, "live");
	assert_int_equal(commit_records(f, r, 1), EDS_OK);
	assert_true(has(f, "ledger.sqlite-wal"));
	eds_ledger *l;
	assert_int_equal(open_read_only(&l, f->dir), EDS_OK);
	assert_int_equal(eds_ledger_record_get(l, "live", 1, &got), EDS_OK);
	assert_int_equal(eds_ledger_record_get(l, "live", 2, &got), EDS_E_NOT_FOUND);
	int changed;
	assert_int_equal(eds_ledger_changed(l, &changed), EDS_OK); /* baseline */
	assert_int_equal(eds_ledger_changed(l, &changed), EDS_OK);
	assert_false(changed);
	assert_int_equal(commit_records(f, &r[1], 2), EDS_OK);
	eds_ledger_device d;
	assert_int_equal(eds_ledger_device_get(l, "live", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 1); /* the snapshot */
	assert_int_equal(eds_ledger_record_get(l, "live", 3, &got), EDS_E_NOT_FOUND);
	assert_int_equal(eds_ledger_changed(l, &changed), EDS_OK);
	assert_true(changed);
	assert_int_equal(eds_ledger_record_get(l, "live", 3, &got), EDS_OK);
	assert_int_equal(eds_ledger_device_get(l, "live", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 3);
	expect_refused(eds_ledger_device_add(l, "other", &f->pk));
	eds_ledger_close(l);
	/* The writer is unaffected, and the reader left its WAL alone. */
	assert_true(has(f, "ledger.sqlite-wal"));
	assert_int_equal(eds_ledger_device_add(f->l, "after", &f->pk), EDS_OK);
}

static int user_version(fx *f)
{
	char db[4096];
	snprintf(db, sizeof db, "%s/ledger.sqlite", f->dir);
	sqlite3 *h;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* A schema 1 ledger (no journal table) is read as it is, never upgraded. */
static void test_read_only_schema_1_not_upgraded(void **state)
{
	fx *f = *state;
	eds_ledger_record r[2];
	assert_int_equal(eds_ledger_device_add(f->l, "v1", &f->pk), EDS_OK);
	make_chain(f, r, 2, "v1");
	assert_int_equal(commit_records(f, r, 2), EDS_OK);
	close_and_run(f, "DROP TABLE unconfirmed; PRAGMA user_version = 1");
	assert_int_equal(user_version(f), 1);
	eds_ledger *l;
	assert_int_equal(open_read_only(&l, f->dir), EDS_OK);
	eds_ledger_stats ls;
	assert_int_equal(eds_ledger_stats_get(l, &ls), EDS_OK);
	assert_int_equal(ls.records, 2);
	assert_int_equal(ls.journaled_payloads, 0);
	uint64_t n = 0;
	assert_int_equal(eds_ledger_record_foreach(l, count_fn, &n), EDS_OK);
	assert_int_equal(n, 2);
	eds_ledger_close(l);
	assert_int_equal(user_version(f), 1);
}

/* ---- backup ------------------------------------------------------------------ */

/* dir/name in a static buffer. */
static const char *path_in(const char *dir, const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

/* The copy of f's ledger at f->dir/name, opened read-only. */
static eds_ledger *open_copy(fx *f, const char *name)
{
	eds_ledger *l = NULL;
	assert_int_equal(open_read_only(&l, path_in(f->dir, name)), EDS_OK);
	return l;
}

/*
 * A backup taken through a reader beside a live writer holds the reader's
 * snapshot: records and their payload files (a journaled payload the
 * ledger lacks is written from the copy's journal), pending ones pending,
 * nothing committed later, an empty journal; no partial directory stays.
 */
static void test_backup_copies_a_snapshot(void **state)
{
	fx *f = *state;
	eds_ledger_record r[4], late, got;
	eds_ledger_backup_stats b;
	assert_int_equal(eds_ledger_device_add(f->l, "b", &f->pk), EDS_OK);
	make_chain(f, r, 4, "b");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(stage_payload_of(f, &r[i]), EDS_OK);
		assert_int_equal(commit_journaled(f, &r[i], 1), EDS_OK);
	}
	assert_int_equal(commit_journaled(f, &r[2], 1), EDS_OK); /* file never staged */
	r[3].payload_stored = 0;
	assert_int_equal(commit_records(f, &r[3], 1), EDS_OK);
	eds_ledger *reader;
	assert_int_equal(open_read_only(&reader, f->dir), EDS_OK);
	assert_int_equal(eds_ledger_device_add(f->l, "late", &f->pk), EDS_OK);
	make(f, &late, "late", 1, NULL);
	assert_int_equal(commit_records(f, &late, 1), EDS_OK);

	assert_int_equal(eds_ledger_backup(reader, path_in(f->dir, "copy/"), NULL, NULL, &b),
	                 EDS_OK);
	eds_ledger_close(reader);
	assert_int_equal(b.records, 4);
	assert_int_equal(b.payloads, 2);
	assert_int_equal(b.pending, 1);
	assert_int_equal(b.restored, 1);
	assert_int_equal(b.missing, 0);
	assert_int_equal(b.demoted, 0);
	eds_ledger *c = open_copy(f, "copy");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(eds_ledger_record_get(c, "b", (uint64_t)i + 1, &got), EDS_OK);
		assert_memory_equal(got.record_hash, r[i].record_hash, EDS_HASH_LEN);
		assert_int_equal(eds_payload_check(eds_ledger_payload_dir(c),
		                                   r[i].record.payload_hash,
		                                   r[i].record.payload_size),
		                 i < 3 ? EDS_OK : EDS_E_NOT_FOUND);
	}
	eds_ledger_device d;
	assert_int_equal(eds_ledger_device_get(c, "b", &d), EDS_OK);
	assert_int_equal(d.head_sequence, 4);
	assert_int_equal(eds_ledger_device_get(c, "late", &d), EDS_E_NOT_FOUND);
	eds_ledger_stats st;
	assert_int_equal(eds_ledger_stats_get(c, &st), EDS_OK);
	assert_int_equal(st.journaled_payloads, 0);
	assert_int_equal(st.pending_payloads, 1);
	eds_ledger_close(c);
	assert_int_equal(count_named(f->dir, ".partial-"), 0);
}

/*
 * Payload files missing or damaged in the ledger (and not journaled) are
 * counted, not copied; an existing target is refused and left alone.
 */
static void test_backup_counts_what_the_ledger_lacks(void **state)
{
	fx *f = *state;
	eds_ledger_record r[3];
	eds_ledger_backup_stats b;
	char path[4096];
	assert_int_equal(eds_ledger_device_add(f->l, "m", &f->pk), EDS_OK);
	make_chain(f, r, 3, "m");
	for (int i = 0; i < 3; i++)
		assert_int_equal(stage_payload_of(f, &r[i]), EDS_OK);
	assert_int_equal(commit_records(f, r, 3), EDS_OK);
	assert_int_equal(remove(file_of(f, &r[0], path, sizeof path)), 0);
	FILE *fp = fopen(file_of(f, &r[1], path, sizeof path), "wb");
	assert_non_null(fp);
	fputs("torn", fp);
	fclose(fp);
	assert_int_equal(eds_ledger_backup(f->l, path_in(f->dir, "copy"), NULL, NULL, &b), EDS_OK);
	assert_int_equal(b.records, 3);
	assert_int_equal(b.payloads, 1);
	assert_int_equal(b.missing, 2);
	eds_ledger *c = open_copy(f, "copy");
	assert_int_equal(eds_payload_check(eds_ledger_payload_dir(c), r[1].record.payload_hash,
	                                   r[1].record.payload_size),
	                 EDS_E_NOT_FOUND); /* the damaged bytes were not copied */
	eds_ledger_close(c);
	assert_int_equal(eds_ledger_backup(f->l, path_in(f->dir, "copy"), NULL, NULL, &b),
	                 EDS_E_EXISTS);
	assert_int_equal(b.records, 0);
	assert_int_equal(count_named(f->dir, ".partial-"), 0);
	c = open_copy(f, "copy"); /* untouched */
	eds_ledger_close(c);
}

/* ---- operation-log chain -------------------------------------------------------- */

/* The worked example of docs/format.md, "Operation log chain": what is hashed, and the hash. */
static const char chain_input_hex[] =
    "4544532d4f504c4f472d31"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000001"
    "0000019acf344aeb"
    "0f3139322e302e322e373a3530343132"
    "076c6966742d3032"
    "0872656a6563746564"
    "04666f726b"
    "0000000000000007"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char chain_output_hex[] =
    "b854e025de2db902705df2b1dff67a3b0a8edf66008bfed55d4cdd39f2518bd1";

static void test_oplog_chain_vector(void **state)
{
	(void)state;
	eds_ledger_event ev = {.time_ms = 1764412902123ULL,
	                       .source = "192.0.2.7:50412",
	                       .device_id = "lift-02",
	                       .sequence = 7,
	                       .decision = "rejected",
	                       .reason = "fork"};
	for (int i = 0; i < EDS_HASH_LEN; i++)
		ev.record_hash[i] = (uint8_t)i;
	uint8_t prev[EDS_HASH_LEN] = {0}, out[EDS_HASH_LEN], want[EDS_HASH_LEN], in[137];
	eds_ledger_event_chain(prev, 1, &ev, out);
	assert_int_equal(eds_hex_decode(want, sizeof want, chain_output_hex, 64), EDS_OK);
	assert_memory_equal(out, want, EDS_HASH_LEN);
	/* The documented input is what is hashed: BLAKE3 of it is the same output. */
	assert_int_equal(strlen(chain_input_hex), 2 * sizeof in);
	assert_int_equal(eds_hex_decode(in, sizeof in, chain_input_hex, 2 * sizeof in), EDS_OK);
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	eds_blake3_update(&h, in, sizeof in);
	eds_blake3_finalize(&h, out, EDS_HASH_LEN);
	assert_memory_equal(out, want, EDS_HASH_LEN);
	assert_true(test_format_doc_has(chain_input_hex));
	assert_true(test_format_doc_has(chain_output_hex));
}

/* Event i of the tests below: every field differs from its neighbours'. */
static eds_ledger_event chain_event(int i)
{
	eds_ledger_event ev = {.time_ms = 1000 + (uint64_t)i, .sequence = (uint64_t)i};
	snprintf(ev.source, sizeof ev.source, "10.0.0.%d:40%d", i, i);
	snprintf(ev.device_id, sizeof ev.device_id, "dev-%d", i % 3);
	snprintf(ev.decision, sizeof ev.decision, "%s", i % 2 ? "accepted" : "rejected");
	snprintf(ev.reason, sizeof ev.reason, "%s", i % 2 ? "" : "fork");
	memset(ev.record_hash, i, EDS_HASH_LEN);
	return ev;
}

/* Commit events first .. first+n-1 (chain_event) in one batch. */
static eds_status commit_events(eds_ledger *l, int first, size_t n)
{
	eds_ledger_event ev[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		ev[i] = chain_event(first + (int)i);
	eds_ledger_batch b = {.events = ev, .event_count = n};
	return eds_ledger_commit(l, &b);
}

/*
 * l's operation log holds n events, ids 1..n, each one's chain_hash the
 * link a verifier recomputes from it and the one before; stats give the
 * last as the head, copied to head.
 */
static void expect_chain(eds_ledger *l, size_t n, uint8_t head[EDS_HASH_LEN])
{
	events_seen all = {0};
	assert_int_equal(eds_ledger_event_foreach(l, 0, NULL, collect_event, &all), EDS_OK);
	assert_int_equal(all.n, n);
	uint8_t prev[EDS_HASH_LEN] = {0};
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(all.ids[i], i + 1);
		eds_ledger_event_chain(prev, all.ids[i], &all.ev[i], prev);
		assert_memory_equal(all.ev[i].chain_hash, prev, EDS_HASH_LEN);
	}
	eds_ledger_stats st;
	assert_int_equal(eds_ledger_stats_get(l, &st), EDS_OK);
	assert_int_equal(st.oplog_chained, 1);
	assert_memory_equal(st.oplog_head, prev, EDS_HASH_LEN);
	memcpy(head, prev, EDS_HASH_LEN);
}

/*
 * The chain runs on across group commits, journaled ones and a reopen; a
 * commit that rolls back after some of its events were inserted leaves the
 * head where it was, and the next event takes the next id.
 */
static void test_oplog_chained_across_commits(void **state)
{
	fx *f = *state;
	uint8_t head[EDS_HASH_LEN], before[EDS_HASH_LEN];
	assert_int_equal(commit_events(f->l, 1, 3), EDS_OK);
	eds_ledger_event one = chain_event(4);
	eds_ledger_batch b = {.events = &one, .event_count = 1};
	assert_int_equal(eds_ledger_commit_journaled(f->l, &b), EDS_OK);
	expect_chain(f->l, 4, head);
	/* The second event of the next batch is refused by a trigger: all is rolled back. */
	close_and_run(f, "CREATE TRIGGER boom BEFORE INSERT ON oplog WHEN NEW.time_ms = 1006 "
	                 "BEGIN SELECT RAISE(ABORT, 'boom'); END");
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	expect_chain(f->l, 4, before);
	assert_memory_equal(before, head, EDS_HASH_LEN);
	assert_int_not_equal(commit_events(f->l, 5, 2), EDS_OK);
	expect_chain(f->l, 4, before);
	assert_memory_equal(before, head, EDS_HASH_LEN);
	assert_int_equal(commit_events(f->l, 7, 2), EDS_OK);
	expect_chain(f->l, 6, head);
}

/* What eds_ledger_match_events reported, in order. */
typedef struct mismatches {
	size_t n;
	eds_ledger_mismatch m[8];
	size_t stop_at; /* nonzero: return EDS_E_LIMIT at the stop_at-th */
} mismatches;

static eds_status collect_mismatch(void *ctx, const eds_ledger_mismatch *m)
{
	mismatches *ms = ctx;
	assert_true(ms->n < 8);
	ms->m[ms->n++] = *m;
	return ms->n == ms->stop_at ? EDS_E_LIMIT : EDS_OK;
}

/* The event the gate logs with a record: decision, device, sequence, record_hash. */
static eds_ledger_event record_event(const eds_ledger_record *lr, const char *decision)
{
	eds_ledger_event ev = {.time_ms = 5, .sequence = lr->record.sequence};
	snprintf(ev.device_id, sizeof ev.device_id, "%s", lr->record.device_id);
	snprintf(ev.decision, sizeof ev.decision, "%s", decision);
	memcpy(ev.record_hash, lr->record_hash, EDS_HASH_LEN);
	return ev;
}

static eds_status commit_batch(fx *f, const eds_ledger_record *r, size_t nr,
                               const eds_ledger_event *ev, size_t ne)
{
	eds_ledger_batch b = {.records = r, .record_count = nr, .events = ev, .event_count = ne};
	return eds_ledger_commit(f->l, &b);
}

static void expect_mismatch(const eds_ledger_mismatch *m, eds_ledger_mismatch_kind kind,
                            uint64_t seq, const uint8_t *hash, uint64_t event_id, int other)
{
	assert_int_equal(m->kind, kind);
	assert_string_equal(m->device_id, "d");
	assert_int_equal(m->sequence, seq);
	assert_memory_equal(m->record_hash, hash, EDS_HASH_LEN);
	assert_int_equal(m->event_id, event_id);
	assert_int_equal(m->other_stored, other);
}

/*
 * Records against the operation log: records with their "accepted" events
 * match, whatever else is logged (a duplicate retry, a rejection); a record
 * without its event, an accepted event without its record, and one naming
 * another record_hash than the stored one are reported, records first in
 * key order, then events in id order; an accepted event with a zero
 * (unknown) record_hash matches on device and sequence.  A read-only
 * handle sees the same; the callback's status stops the walk.
 */
static void test_records_match_events(void **state)
{
	fx *f = *state;
	eds_ledger_record r[4];
	mismatches ms = {0};
	assert_int_equal(eds_ledger_device_add(f->l, "d", &f->pk), EDS_OK);
	make_chain(f, r, 4, "d");
	eds_ledger_event ev[4] = {record_event(&r[0], "accepted"), record_event(&r[1], "accepted"),
	                          record_event(&r[0], "duplicate"),
	                          record_event(&r[2], "rejected")};
	memset(ev[3].record_hash, 0, EDS_HASH_LEN);
	assert_int_equal(commit_batch(f, r, 2, ev, 4), EDS_OK); /* events 1-4 */
	assert_int_equal(eds_ledger_match_events(f->l, collect_mismatch, &ms), EDS_OK);
	assert_int_equal(ms.n, 0);

	/* Record 3 behind the gate; an accepted 4 never stored; 2 accepted again, another hash. */
	assert_int_equal(commit_batch(f, &r[2], 1, NULL, 0), EDS_OK);
	ev[0] = record_event(&r[3], "accepted");
	ev[1] = record_event(&r[1], "accepted");
	ev[1].record_hash[0] ^= 1;
	assert_int_equal(commit_batch(f, NULL, 0, ev, 2), EDS_OK); /* events 5, 6 */
	assert_int_equal(eds_ledger_match_events(f->l, collect_mismatch, &ms), EDS_OK);
	assert_int_equal(ms.n, 3);
	expect_mismatch(&ms.m[0], EDS_LEDGER_RECORD_NOT_LOGGED, 3, r[2].record_hash, 0, 0);
	expect_mismatch(&ms.m[1], EDS_LEDGER_LOGGED_RECORD_MISSING, 4, r[3].record_hash, 5, 0);
	expect_mismatch(&ms.m[2], EDS_LEDGER_LOGGED_RECORD_MISSING, 2, ev[1].record_hash, 6, 1);

	/* An accepted event of 3 without its hash accounts for the record. */
	ev[0] = record_event(&r[2], "accepted");
	memset(ev[0].record_hash, 0, EDS_HASH_LEN);
	assert_int_equal(commit_batch(f, NULL, 0, ev, 1), EDS_OK); /* event 7 */
	eds_ledger *ro;
	assert_int_equal(open_read_only(&ro, f->dir), EDS_OK);
	ms = (mismatches){.stop_at = 0};
	assert_int_equal(eds_ledger_match_events(ro, collect_mismatch, &ms), EDS_OK);
	assert_int_equal(ms.n, 2);
	expect_mismatch(&ms.m[0], EDS_LEDGER_LOGGED_RECORD_MISSING, 4, r[3].record_hash, 5, 0);
	assert_int_equal(ms.m[1].event_id, 6);
	ms = (mismatches){.stop_at = 1};
	assert_int_equal(eds_ledger_match_events(ro, collect_mismatch, &ms), EDS_E_LIMIT);
	assert_int_equal(ms.n, 1);
	eds_ledger_close(ro);
	assert_int_equal(eds_ledger_match_events(NULL, collect_mismatch, &ms), EDS_E_ARG);
	assert_int_equal(eds_ledger_match_events(f->l, NULL, &ms), EDS_E_ARG);
}

/*
 * A schema 3 ledger (no chain_hash column): read-only it is read as it is,
 * unchained (zero hashes, no head) and not upgraded; opened read-write it
 * is chained to the very hashes the writer would have made.
 */
static void test_oplog_chain_upgraded_from_3(void **state)
{
	fx *f = *state;
	uint8_t written[EDS_HASH_LEN], upgraded[EDS_HASH_LEN], zero[EDS_HASH_LEN] = {0};
	assert_int_equal(commit_events(f->l, 1, 5), EDS_OK);
	expect_chain(f->l, 5, written);
	close_and_run(f, "ALTER TABLE oplog DROP COLUMN chain_hash; PRAGMA user_version = 3");
	eds_ledger *l;
	assert_int_equal(open_read_only(&l, f->dir), EDS_OK);
	events_seen all = {0};
	assert_int_equal(eds_ledger_event_foreach(l, 0, NULL, collect_event, &all), EDS_OK);
	assert_int_equal(all.n, 5);
	assert_memory_equal(all.ev[4].chain_hash, zero, EDS_HASH_LEN);
	eds_ledger_stats st;
	assert_int_equal(eds_ledger_stats_get(l, &st), EDS_OK);
	assert_int_equal(st.oplog_chained, 0);
	assert_memory_equal(st.oplog_head, zero, EDS_HASH_LEN);
	eds_ledger_close(l);
	assert_int_equal(user_version(f), 3);
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(user_version(f), 4);
	expect_chain(f->l, 5, upgraded);
	assert_memory_equal(upgraded, written, EDS_HASH_LEN);
	assert_int_equal(commit_events(f->l, 6, 1), EDS_OK);
	expect_chain(f->l, 6, upgraded);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_device_registry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_moves_heads_atomically, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_payloads_and_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_log_reads_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_persistence_and_change_detection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_look_up_keeps_no_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refuses_a_file_as_directory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_payload_staging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journaled_commit_and_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_journal_demotes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_2_upgraded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_journal_demotes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_payload_not_journaled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_1_upgraded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_needs_a_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_reads_and_refuses_writes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_sees_the_file_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_follows_a_live_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only_schema_1_not_upgraded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backup_copies_a_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backup_counts_what_the_ledger_lacks, setup,
	                                    teardown),
	    cmocka_unit_test(test_oplog_chain_vector),
	    cmocka_unit_test_setup_teardown(test_oplog_chained_across_commits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oplog_chain_upgraded_from_3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_records_match_events, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
