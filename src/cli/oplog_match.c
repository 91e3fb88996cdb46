/*
 * oplog_match.c - see oplog_match.h.  Both lists are sorted by device and
 * sequence and walked together; the groups of one device and sequence are
 * small (one record, one accepted event), so each pair is compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "oplog_match.h"

eds_status oplog_keys_add(oplog_keys *k, const char *device_id, uint64_t sequence,
                          const uint8_t hash[EDS_HASH_LEN], uint64_t event_id)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 1024;
		oplog_key *v = realloc(k->v, cap * sizeof *v);
		if (v == NULL)
			return eds_fail(EDS_E_NOMEM, "out of memory for %zu records and events",
			                cap);
		k->v = v;
		k->cap = cap;
	}
	oplog_key *key = &k->v[k->n++];
	memset(key, 0, sizeof *key);
	snprintf(key->device_id, sizeof key->device_id, "%s", device_id);
	key->sequence = sequence;
	memcpy(key->hash, hash, EDS_HASH_LEN);
	key->event_id = event_id;
	return EDS_OK;
}

/* Devices, then sequences, compared; 0: the same place. */
static int place_cmp(const oplog_key *x, const oplog_key *y)
{
	int c = strcmp(x->device_id, y->device_id);
	return c != 0 ? c : (x->sequence > y->sequence) - (x->sequence < y->sequence);
}

static int by_place(const void *a, const void *b)
{
	const oplog_key *x = a, *y = b;
	int c = place_cmp(x, y);
	return c != 0 ? c : (x->event_id > y->event_id) - (x->event_id < y->event_id);
}

static int by_event(const void *a, const void *b)
{
	uint64_t x = ((const oplog_key *)a)->event_id, y = ((const oplog_key *)b)->event_id;
	return (x > y) - (x < y);
}

/* The end of the group of keys at v[i] with v[i]'s device and sequence. */
static size_t group_end(const oplog_keys *k, size_t i)
{
	size_t j = i + 1;
	while (j < k->n && k->v[j].sequence == k->v[i].sequence &&
	       strcmp(k->v[j].device_id, k->v[i].device_id) == 0)
		j++;
	return j;
}

/* Mark the records and events of one place that match each other. */
static void match_group(oplog_key *r, size_t nr, oplog_key *e, size_t ne)
{
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < ne; j++)
			if (eds_is_zero(e[j].hash, EDS_HASH_LEN) ||
			    memcmp(e[j].hash, r[i].hash, EDS_HASH_LEN) == 0)
				r[i].matched = e[j].matched = true;
}

static eds_status report(const oplog_key *key, eds_ledger_mismatch_kind kind, bool other,
                         eds_ledger_mismatch_fn fn, void *ctx)
{
	eds_ledger_mismatch m = {.kind = kind,
	                         .sequence = key->sequence,
	                         .event_id = key->event_id,
	                         .other_stored = other};
	memcpy(m.device_id, key->device_id, sizeof m.device_id);
	memcpy(m.record_hash, key->hash, EDS_HASH_LEN);
	return fn(ctx, &m);
}

eds_status oplog_keys_match(oplog_keys *records, oplog_keys *events, eds_ledger_mismatch_fn fn,
                            void *ctx)
{
	if (records->n > 1)
		qsort(records->v, records->n, sizeof *records->v, by_place);
	if (events->n > 1)
		qsort(events->v, events->n, sizeof *events->v, by_place);
	for (size_t i = 0, j = 0; i < records->n && j < events->n;) {
		int c = place_cmp(&records->v[i], &events->v[j]);
		size_t ri = group_end(records, i), ej = group_end(events, j);
		if (c == 0) {
			match_group(&records->v[i], ri - i, &events->v[j], ej - j);
			for (size_t x = j; x < ej; x++)
				events->v[x].other = true; /* a record is there, maybe another */
		}
		if (c <= 0)
			i = ri;
		if (c >= 0)
			j = ej;
	}
	eds_status st = EDS_OK;
	for (size_t x = 0; x < records->n && st == EDS_OK; x++)
		if (!records->v[x].matched)
			st = report(&records->v[x], EDS_LEDGER_RECORD_NOT_LOGGED, false, fn, ctx);
	if (events->n > 1)
		qsort(events->v, events->n, sizeof *events->v, by_event);
	for (size_t x = 0; x < events->n && st == EDS_OK; x++)
		if (!events->v[x].matched)
			st = report(&events->v[x], EDS_LEDGER_LOGGED_RECORD_MISSING,
			            events->v[x].other, fn, ctx);
	return st;
}

void oplog_keys_free(oplog_keys *k)
{
	free(k->v);
	memset(k, 0, sizeof *k);
}
