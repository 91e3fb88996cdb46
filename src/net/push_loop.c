/*
 * push_loop.c - see push_loop.h.  Heads are kept in a small array searched
 * from the end: a chain file usually holds one device, or a few that
 * interleave, so the device just used is the likely next one.
 */
#include "push_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct head {
	char id[EDS_DEVICE_ID_MAX + 1];
	uint64_t seq;
} head;

typedef struct heads {
	head *v;
	size_t n, cap;
} heads;

/* The tracked head of id, asking the server the first time. */
static eds_status head_of(const eds_push_loop *l, heads *hs, const char *id, head **out)
{
	for (size_t i = hs->n; i > 0; i--)
		if (strcmp(hs->v[i - 1].id, id) == 0) {
			*out = &hs->v[i - 1];
			return EDS_OK;
		}
	if (l->max_devices != 0 && hs->n == l->max_devices)
		return eds_fail(EDS_E_LIMIT, "more than %zu devices in one chain file",
		                l->max_devices);
	uint64_t seq = 0;
	eds_status st = l->ask_head(l->ctx, id, &seq);
	if (st != EDS_OK)
		return st;
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 16;
		head *v = realloc(hs->v, cap * sizeof *v);
		if (v == NULL)
			return eds_fail(EDS_E_NOMEM, "out of memory");
		hs->v = v;
		hs->cap = cap;
	}
	*out = &hs->v[hs->n++];
	snprintf((*out)->id, sizeof(*out)->id, "%s", id);
	(*out)->seq = seq;
	return EDS_OK;
}

eds_status eds_push_loop_run(const eds_push_loop *l, eds_record_reader *rd, eds_push_summary *sum)
{
	heads hs = {0};
	eds_record r;
	eds_status st;
	while ((st = eds_record_reader_next(rd, &r)) == EDS_OK) {
		head *h = NULL;
		sum->records++;
		if ((st = head_of(l, &hs, r.device_id, &h)) != EDS_OK)
			break;
		if (r.sequence <= h->seq) {
			sum->skipped++;
			continue;
		}
		h->seq = r.sequence;
		if ((st = l->add(l->ctx, &r)) != EDS_OK)
			break;
	}
	free(hs.v);
	return st == EDS_DONE ? l->flush(l->ctx) : st;
}
