/*
 * pending_list.c - see pending_list.h.  The file is read whole and its
 * entries sorted once, so each look-up is a binary search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pending_list.h"

static int by_record(const void *a, const void *b)
{
	const eds_ledger_pending *x = &((const pending_entry *)a)->rec;
	const eds_ledger_pending *y = &((const pending_entry *)b)->rec;
	int c = strcmp(x->device_id, y->device_id);
	if (c == 0)
		c = (x->sequence > y->sequence) - (x->sequence < y->sequence);
	return c != 0 ? c : memcmp(x->payload_hash, y->payload_hash, EDS_HASH_LEN);
}

static eds_status add(pending_list *p, const eds_ledger_pending *e, size_t line)
{
	void *v = p->v;
	eds_status st = eds_grow(&v, &p->cap, p->n + 1, sizeof *p->v, "pending list");
	p->v = v;
	if (st == EDS_OK)
		p->v[p->n++] = (pending_entry){*e, (uint32_t)line};
	return st;
}

/* Each non-empty line of text[0 .. len), as one entry. */
static eds_status add_lines(pending_list *p, const char *path, const char *text, size_t len)
{
	size_t line = 0;
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		eds_ledger_pending e;
		line++;
		eds_status st =
		    end == at ? EDS_OK : eds_ledger_pending_from_json(text + at, end - at, &e);
		if (st == EDS_OK && end > at)
			st = add(p, &e, line);
		if (st != EDS_OK)
			return eds_fail_prefix(st, "%s:%zu", path, line);
		at = end + 1;
	}
	return EDS_OK;
}

eds_status pending_list_load(pending_list *p, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	eds_status st = eds_read_file(path, PENDING_FILE_MAX, &text, &len);
	if (st == EDS_OK)
		st = add_lines(p, path, text, len);
	free(text);
	if (st != EDS_OK)
		pending_list_free(p); /* the lines before the bad one */
	else if (p->n > 1)
		qsort(p->v, p->n, sizeof *p->v, by_record);
	return st;
}

int pending_list_has(void *ctx, const eds_record *r)
{
	const pending_list *p = ctx;
	pending_entry key;
	memset(&key, 0, sizeof key);
	snprintf(key.rec.device_id, sizeof key.rec.device_id, "%s", r->device_id);
	key.rec.sequence = r->sequence;
	memcpy(key.rec.payload_hash, r->payload_hash, EDS_HASH_LEN);
	return p->n > 0 && bsearch(&key, p->v, p->n, sizeof *p->v, by_record) != NULL;
}

void pending_list_free(pending_list *p)
{
	free(p->v);
	memset(p, 0, sizeof *p);
}
