/*
 * oplog_pending.c - see oplog_pending.h.  The list stays sorted by place
 * (device, sequence) for the accepted events; an array of pointers into it (pending_ref)
 * sorted by payload hash serves the payload events, and is sorted again by
 * line for the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "oplog_pending.h"

/* An event's place (key) against an entry's (elem, in the list). */
static int place_cmp(const void *key, const void *elem)
{
	const eds_ledger_event *ev = key;
	const eds_ledger_pending *e = &((const pending_entry *)elem)->rec;
	int c = strcmp(ev->device_id, e->device_id);
	return c != 0 ? c : (ev->sequence > e->sequence) - (ev->sequence < e->sequence);
}

/* A payload hash (key) against an entry's (elem, in order). */
static int hash_cmp(const void *key, const void *elem)
{
	return memcmp(key, ((const pending_ref *)elem)->e->rec.payload_hash, EDS_HASH_LEN);
}

static int by_hash(const void *a, const void *b)
{
	return hash_cmp(((const pending_ref *)a)->e->rec.payload_hash, b);
}

static int by_line(const void *a, const void *b)
{
	uint32_t x = ((const pending_ref *)a)->e->line;
	uint32_t y = ((const pending_ref *)b)->e->line;
	return (x > y) - (x < y);
}

/* The first of the n elements (sorted as cmp compares) not below key: bsearch
 * finds any of the equal ones, and every one of them is wanted. */
static size_t lower_bound(const void *base, size_t n, size_t size, const void *key,
                          int (*cmp)(const void *, const void *))
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp(key, (const char *)base + mid * size) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

eds_status oplog_pending_load(oplog_pending *p, const char *path)
{
	p->path = path;
	eds_status st = pending_list_load(&p->list, path);
	if (st != EDS_OK)
		return st;
	size_t n = p->list.n;
	p->accepted = calloc(n + 1, sizeof *p->accepted);
	p->stored = calloc(n + 1, sizeof *p->stored);
	p->order = malloc((n + 1) * sizeof *p->order);
	if (p->accepted == NULL || p->stored == NULL || p->order == NULL) {
		oplog_pending_free(p);
		return eds_fail(EDS_E_NOMEM, "out of memory for %zu pending records", n);
	}
	for (size_t i = 0; i < n; i++)
		p->order[i].e = &p->list.v[i];
	if (n > 1)
		qsort(p->order, n, sizeof *p->order, by_hash);
	return EDS_OK;
}

/* An accepted event: the entries of its place are waiting from here on. */
static void accepted(oplog_pending *p, uint64_t id, const eds_ledger_event *ev)
{
	const pending_list *l = &p->list;
	for (size_t i = lower_bound(l->v, l->n, sizeof *l->v, ev, place_cmp);
	     i < l->n && place_cmp(ev, &l->v[i]) == 0; i++) {
		p->accepted[i] = id;
		p->stored[i] = 0; /* only a payload event after the newest accept counts */
	}
}

/* A payload event: its PUT stored the payload of every record waiting for it
 * (one UPDATE in the commit that logged the event). */
static void stored(oplog_pending *p, uint64_t id, const uint8_t hash[EDS_HASH_LEN])
{
	size_t n = p->list.n;
	for (size_t i = lower_bound(p->order, n, sizeof *p->order, hash, hash_cmp);
	     i < n && hash_cmp(hash, &p->order[i]) == 0; i++) {
		size_t e = (size_t)(p->order[i].e - p->list.v);
		if (p->accepted[e] != 0 && p->stored[e] == 0)
			p->stored[e] = id;
	}
}

void oplog_pending_event(oplog_pending *p, uint64_t id, const eds_ledger_event *ev)
{
	if (strcmp(ev->decision, "accepted") == 0)
		accepted(p, id, ev);
	else if (strcmp(ev->decision, "payload") == 0)
		stored(p, id, ev->record_hash);
}

/* Entry x's failure, if any, into msg: its reason, or NULL. */
static const char *contradiction(const oplog_pending *p, size_t x, char *msg, size_t cap)
{
	unsigned line = p->list.v[x].line;
	if (p->accepted[x] == 0) {
		snprintf(
		    msg, cap,
		    "%s:%u lists this record as pending, but no \"accepted\" event in the "
		    "operation log names its device and sequence (not a record of this log, or "
		    "its event deleted)",
		    p->path, line);
		return REASON_PENDING_NOT_LOGGED;
	}
	if (p->stored[x] == 0)
		return NULL;
	snprintf(msg, cap,
	         "%s:%u lists this record's payload as pending, but operation log event %llu "
	         "stored it (a \"payload\" event with its payload_hash) after event %llu "
	         "accepted the record (the list is wrong, or edited)",
	         p->path, line, (unsigned long long)p->stored[x],
	         (unsigned long long)p->accepted[x]);
	return REASON_PENDING_STORED;
}

void oplog_pending_report(oplog_pending *p, oplog_pending_fn fn, void *ctx)
{
	char msg[4600];
	if (p->list.n > 1)
		qsort(p->order, p->list.n, sizeof *p->order, by_line);
	for (size_t i = 0; i < p->list.n; i++) {
		const pending_entry *e = p->order[i].e;
		const char *reason = contradiction(p, (size_t)(e - p->list.v), msg, sizeof msg);
		if (reason != NULL)
			fn(ctx, e, reason, msg);
	}
}

void oplog_pending_free(oplog_pending *p)
{
	pending_list_free(&p->list);
	free(p->accepted);
	free(p->stored);
	free(p->order);
	memset(p, 0, sizeof *p);
}
