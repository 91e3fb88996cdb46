/*
 * push_loop.c - see push_loop.h.  Heads are kept in a small array searched
 * from the end: a chain file usually holds one device, or a few that
 * interleave, so the device just used is the likely next one.
 */
#include "push_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

typedef struct head {
	char id[EDS_DEVICE_ID_MAX + 1];
	uint64_t seq;
} head;

typedef struct heads {
	head *v;
	size_t n, cap;
} heads;

void eds_push_backoff_init(eds_backoff *b, int retries)
{
	retries = retries ? retries : EDS_PUSH_RETRIES_DEFAULT;
	eds_backoff_init(b, retries < 0 ? 0 : (unsigned)retries);
}

const char *eds_push_waited(const eds_backoff *b)
{
	return b->waits ? " (still so after waiting)" : "";
}

int eds_push_transient(const char *reason)
{
	return reason != NULL &&
	       (strcmp(reason, "rate_limited") == 0 || strcmp(reason, "storage_unavailable") == 0);
}

int eds_push_send_again(const eds_record *recs, const unsigned char *again, size_t n,
                        const char *reason)
{
	if (eds_push_transient(reason))
		return 1;
	for (size_t j = 0; j < n; j++)
		if (again[j] && strcmp(recs[j].device_id, recs[n].device_id) == 0)
			return 1;
	return 0;
}

void eds_push_note_refusal(eds_push_summary *sum, const char *device_id, uint64_t sequence,
                           const char *reason)
{
	if (sum->refused || eds_push_transient(reason))
		return;
	sum->refused = 1;
	snprintf(sum->refused_device_id, sizeof sum->refused_device_id, "%s", device_id);
	sum->refused_sequence = sequence;
	snprintf(sum->refused_reason, sizeof sum->refused_reason, "%s",
	         reason != NULL && reason[0] != '\0' ? reason : "refused");
}

eds_status eds_push_check_payload_dir(const char *dir, const char *name)
{
	struct stat st;
	if (dir == NULL)
		return EDS_OK;
	if (stat(dir, &st) != 0)
		return eds_fail(EDS_E_ARG, "%s %s: %s", name, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return eds_fail(EDS_E_ARG, "%s %s: not a directory", name, dir);
	return EDS_OK;
}

int eds_push_refused(const eds_push_summary *summary)
{
	return summary != NULL && summary->refused != 0;
}

/* The tracked head of id, asking the server the first time. */
static eds_status head_of(const eds_push_loop *l, heads *hs, const char *id, head **out,
                          uint64_t *devices)
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
	++*devices;
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

/* Progress reports: after each acknowledged batch, and at the end. */
typedef struct reporter {
	const eds_push_loop *l;
	eds_record_reader *rd;
	const eds_push_summary *sum;
	uint64_t acked, done;
	int called;
} reporter;

static void report(reporter *p, int at_end)
{
	if (p->l->progress == NULL) /* called per record: nothing else to do without one */
		return;
	uint64_t acked = p->sum->accepted + p->sum->duplicates;
	uint64_t done = eds_record_reader_offset(p->rd);
	if ((acked == p->acked && !at_end) || (at_end && p->called && done == p->done))
		return;
	p->acked = acked;
	p->done = done;
	p->called = 1;
	p->l->progress(p->l->progress_ctx, done, eds_record_reader_size(p->rd), p->sum);
}

eds_status eds_push_loop_run(const eds_push_loop *l, eds_record_reader *rd, eds_push_summary *sum)
{
	heads hs = {0};
	reporter rep = {.l = l, .rd = rd, .sum = sum};
	eds_record r;
	eds_status st;
	while ((st = eds_record_reader_next(rd, &r)) == EDS_OK) {
		head *h = NULL;
		sum->records++;
		if ((st = head_of(l, &hs, r.device_id, &h, &sum->devices)) != EDS_OK) {
			if (st == EDS_E_UNKNOWN_DEVICE)
				eds_push_note_refusal(sum, r.device_id, r.sequence,
				                      "unknown_device");
			break;
		}
		if (r.sequence <= h->seq) {
			sum->skipped++;
			if (l->skip != NULL && (st = l->skip(l->ctx, &r)) != EDS_OK)
				break;
			continue;
		}
		h->seq = r.sequence;
		if ((st = l->add(l->ctx, &r)) != EDS_OK)
			break;
		report(&rep, 0);
	}
	free(hs.v);
	if (st == EDS_DONE && (st = l->flush(l->ctx)) == EDS_OK)
		report(&rep, 1);
	return st;
}
