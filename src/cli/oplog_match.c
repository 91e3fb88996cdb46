/*
 * oplog_match.c - see oplog_match.h.  Both lists are sorted by device and
 * sequence and walked together; the groups of one device and sequence are
 * small (one record, one accepted event), so each pair is compared.
 *
 * Devices are numbered as they are met, then renumbered by name before
 * the sort, so the places compare as integers and the records not logged
 * are still reported in device-name order, as the ledger's check does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "oplog_match.h"

/* FNV-1a: device ids are short and chosen by their owners, not by an attacker
 * who could gain anything from collisions beyond a slower check. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037u;
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211u;
	return h;
}

/* The slot of name, or of the free slot where it belongs. */
static uint32_t *find_slot(const oplog_match *m, const char *name)
{
	size_t i = (size_t)name_hash(name) & (m->nslots - 1);
	while (m->slots[i] != 0 && strcmp(m->names[m->slots[i] - 1], name) != 0)
		i = (i + 1) & (m->nslots - 1);
	return &m->slots[i];
}

/* Room for one more name: the names array and a table at most half full. */
static eds_status grow_names(oplog_match *m)
{
	if (m->nnames == UINT32_MAX - 1)
		return eds_fail(EDS_E_LIMIT, "more than %u devices", (unsigned)UINT32_MAX - 1);
	void *v = m->names;
	eds_status st =
	    eds_grow(&v, &m->names_cap, (size_t)m->nnames + 1, sizeof *m->names, "device ids");
	m->names = v;
	if (st != EDS_OK)
		return st;
	if (2 * ((size_t)m->nnames + 1) <= m->nslots)
		return EDS_OK;
	size_t n = m->nslots ? 2 * m->nslots : 64;
	uint32_t *slots = calloc(n, sizeof *slots);
	if (slots == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory for %zu devices", n / 2);
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	for (uint32_t i = 0; i < m->nnames; i++)
		*find_slot(m, m->names[i]) = i + 1;
	return EDS_OK;
}

/* The number of device name, added when new. */
static eds_status intern(oplog_match *m, const char *name, uint32_t *device)
{
	uint32_t *slot = m->nslots ? find_slot(m, name) : NULL;
	if (slot != NULL && *slot != 0) {
		*device = *slot - 1;
		return EDS_OK;
	}
	eds_status st = grow_names(m);
	if (st != EDS_OK)
		return st;
	char *copy = strdup(name);
	if (copy == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory for a device id");
	m->names[m->nnames] = copy;
	*find_slot(m, name) = m->nnames + 1; /* the table may have grown */
	*device = m->nnames++;
	return EDS_OK;
}

static eds_status keys_add(oplog_match *m, oplog_keys *k, const char *device_id, uint64_t sequence,
                           const uint8_t hash[EDS_HASH_LEN], uint64_t event_id)
{
	void *v = k->v;
	eds_status st = eds_grow(&v, &k->cap, k->n + 1, sizeof *k->v, "records and events");
	k->v = v;
	if (st != EDS_OK)
		return st;
	oplog_key *key = &k->v[k->n];
	memset(key, 0, sizeof *key);
	st = intern(m, device_id, &key->device);
	if (st != EDS_OK)
		return st;
	key->sequence = sequence;
	memcpy(key->hash, hash, EDS_HASH_LEN);
	key->event_id = event_id;
	k->n++;
	return EDS_OK;
}

eds_status oplog_match_record(oplog_match *m, const char *device_id, uint64_t sequence,
                              const uint8_t hash[EDS_HASH_LEN])
{
	return keys_add(m, &m->records, device_id, sequence, hash, 0);
}

eds_status oplog_match_event(oplog_match *m, const char *device_id, uint64_t sequence,
                             const uint8_t hash[EDS_HASH_LEN], uint64_t event_id)
{
	return keys_add(m, &m->events, device_id, sequence, hash, event_id);
}

typedef struct named {
	const char *name;
	uint32_t index; /* in the order met */
} named;

static int by_name(const void *a, const void *b)
{
	return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Renumber the devices by name, in the names and in every key. */
static eds_status rank_devices(oplog_match *m)
{
	named *order = malloc(((size_t)m->nnames + 1) * sizeof *order);
	uint32_t *rank = malloc(((size_t)m->nnames + 1) * sizeof *rank);
	if (order == NULL || rank == NULL) {
		free(order);
		free(rank);
		return eds_fail(EDS_E_NOMEM, "out of memory for %u devices", m->nnames);
	}
	for (uint32_t i = 0; i < m->nnames; i++)
		order[i] = (named){m->names[i], i};
	qsort(order, m->nnames, sizeof *order, by_name);
	for (uint32_t r = 0; r < m->nnames; r++) {
		rank[order[r].index] = r;
		m->names[r] = (char *)order[r].name;
	}
	oplog_keys *lists[] = {&m->records, &m->events};
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			lists[l]->v[i].device = rank[lists[l]->v[i].device];
	free(order);
	free(rank);
	/* The table points at the old numbers; a later add builds it again. */
	free(m->slots);
	m->slots = NULL;
	m->nslots = 0;
	return EDS_OK;
}

static int u64_cmp(uint64_t x, uint64_t y)
{
	return (x > y) - (x < y);
}

/* Devices, then sequences, compared; 0: the same place. */
static int place_cmp(const oplog_key *x, const oplog_key *y)
{
	int c = u64_cmp(x->device, y->device);
	return c != 0 ? c : u64_cmp(x->sequence, y->sequence);
}

static int by_place(const void *a, const void *b)
{
	const oplog_key *x = a, *y = b;
	int c = place_cmp(x, y);
	return c != 0 ? c : u64_cmp(x->event_id, y->event_id);
}

static int by_event(const void *a, const void *b)
{
	return u64_cmp(((const oplog_key *)a)->event_id, ((const oplog_key *)b)->event_id);
}

/* The end of the group of keys at v[i] with v[i]'s device and sequence. */
static size_t group_end(const oplog_keys *k, size_t i)
{
	size_t j = i + 1;
	while (j < k->n && place_cmp(&k->v[j], &k->v[i]) == 0)
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

static eds_status report(const oplog_match *m, const oplog_key *key, eds_ledger_mismatch_kind kind,
                         bool other, eds_ledger_mismatch_fn fn, void *ctx)
{
	eds_ledger_mismatch mm = {.kind = kind,
	                          .sequence = key->sequence,
	                          .event_id = key->event_id,
	                          .other_stored = other};
	snprintf(mm.device_id, sizeof mm.device_id, "%s", m->names[key->device]);
	memcpy(mm.record_hash, key->hash, EDS_HASH_LEN);
	return fn(ctx, &mm);
}

/* Walk the two lists, sorted by place, together. */
static void match_places(oplog_keys *records, oplog_keys *events)
{
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
}

eds_status oplog_match_run(oplog_match *m, eds_ledger_mismatch_fn fn, void *ctx)
{
	eds_status st = rank_devices(m);
	if (st != EDS_OK)
		return st;
	oplog_keys *records = &m->records, *events = &m->events;
	if (records->n > 1)
		qsort(records->v, records->n, sizeof *records->v, by_place);
	if (events->n > 1)
		qsort(events->v, events->n, sizeof *events->v, by_place);
	match_places(records, events);
	for (size_t x = 0; x < records->n && st == EDS_OK; x++)
		if (!records->v[x].matched)
			st =
			    report(m, &records->v[x], EDS_LEDGER_RECORD_NOT_LOGGED, false, fn, ctx);
	if (events->n > 1)
		qsort(events->v, events->n, sizeof *events->v, by_event);
	for (size_t x = 0; x < events->n && st == EDS_OK; x++)
		if (!events->v[x].matched)
			st = report(m, &events->v[x], EDS_LEDGER_LOGGED_RECORD_MISSING,
			            events->v[x].other, fn, ctx);
	return st;
}

void oplog_match_free(oplog_match *m)
{
	for (uint32_t i = 0; i < m->nnames; i++)
		free(m->names[i]);
	free(m->names);
	free(m->slots);
	free(m->records.v);
	free(m->events.v);
	memset(m, 0, sizeof *m);
}
