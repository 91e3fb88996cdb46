/*
 * oplog_walk.c - see oplog_walk.h.
 */
#include <stdio.h>
#include <string.h>

#include "edgesentry/encoding.h"
#include "oplog_walk.h"

/*
 * One link of the operation log: the event's stored chain_hash must be the
 * hash of the event and the stored one before it.  The walk goes on from
 * the stored hash, not the recomputed one, so each place changed is named
 * once (an edited event breaks at itself, a deleted one at the next id)
 * instead of every event after it.
 */
static void check_link(oplog_walk *w, uint64_t id, const eds_ledger_event *ev, const char *broken)
{
	uint8_t want[EDS_HASH_LEN];
	eds_ledger_event_chain(w->head, id, ev, want);
	if (broken != NULL) {
		w->fail(w->ctx, id, REASON_OPLOG, broken);
	} else if (memcmp(want, ev->chain_hash, EDS_HASH_LEN) != 0) {
		char msg[192];
		snprintf(msg, sizeof msg,
		         "operation log event %llu: chain_hash does not follow from the event and "
		         "the one before (an event edited, deleted, inserted or moved here)",
		         (unsigned long long)id);
		w->fail(w->ctx, id, REASON_OPLOG, msg);
	}
	memcpy(w->head, ev->chain_hash, EDS_HASH_LEN);
	w->events++;
}

/* A failure of a head written down earlier, at its id. */
static void known_head_failure(oplog_walk *w, const known_head *h, const char *what)
{
	char origin[4200], msg[4600];
	known_head_origin(w->known, h, origin, sizeof origin);
	snprintf(msg, sizeof msg, "%s%s", origin, what);
	w->fail(w->ctx, h->id, REASON_KNOWN_HEAD, msg);
}

/*
 * Each head written down earlier must still be the chain_hash of its
 * event: as every link up to it is checked too, the log up to it is then
 * the one seen back then, and not cut off before it.  The heads are sorted
 * by id and the walk goes up the ids, so each is looked at once.
 */
static void check_known_heads(oplog_walk *w, uint64_t id, const eds_ledger_event *ev)
{
	known_heads *k = w->known;
	while (k->next < k->n && k->v[k->next].id < id)
		k->next++; /* its event is gone: oplog_walk_missing reports it */
	for (size_t i = k->next; i < k->n && k->v[i].id == id; i++) {
		k->v[i].seen = true;
		if (memcmp(ev->chain_hash, k->v[i].hash, EDS_HASH_LEN) == 0)
			continue;
		char have[2 * EDS_HASH_LEN + 1], what[256];
		eds_hex_encode(have, ev->chain_hash, EDS_HASH_LEN);
		snprintf(
		    what, sizeof what,
		    "operation log event %llu: chain_hash is %s, not the head written down (the "
		    "log up to it was changed, or recomputed)",
		    (unsigned long long)id, have);
		known_head_failure(w, &k->v[i], what);
	}
}

/*
 * Whether id may follow last_id (0: none yet): ids run 1, 2, 3 ... in a log
 * nobody changed, as each commit takes the next one.  NULL when it may;
 * else the failure, written into buf.  A deleted event whose successors
 * were rehashed keeps the chain's links valid; this is what shows it.
 */
static const char *id_out_of_order(uint64_t last_id, uint64_t id, char *buf, size_t cap)
{
	if (id == last_id + 1)
		return NULL;
	if (last_id == 0)
		snprintf(
		    buf, cap,
		    "operation log event %llu comes first: ids run 1, 2, 3 ... (events cut off "
		    "before it)",
		    (unsigned long long)id);
	else
		snprintf(
		    buf, cap,
		    "operation log event %llu follows event %llu: ids run 1, 2, 3 ... (an event "
		    "deleted, repeated or moved here)",
		    (unsigned long long)id, (unsigned long long)last_id);
	return buf;
}

void oplog_walk_event(oplog_walk *w, uint64_t id, const eds_ledger_event *ev)
{
	char broken[192];
	const char *why = id_out_of_order(w->head_id, id, broken, sizeof broken);
	if (w->chained) {
		check_link(w, id, ev, why);
		check_known_heads(w, id, ev);
	} else if (why != NULL) {
		w->fail(w->ctx, id, REASON_OPLOG, why);
	}
	w->head_id = id;
}

void oplog_walk_missing(oplog_walk *w)
{
	char what[256];
	if (!w->chained)
		snprintf(what, sizeof what,
		         "the operation log is not chained (a ledger schema before 4, read as it "
		         "is): no head to compare with");
	for (size_t i = 0; i < w->known->n; i++) {
		const known_head *h = &w->known->v[i];
		if (h->seen)
			continue;
		if (w->chained)
			snprintf(
			    what, sizeof what,
			    "operation log event %llu is missing (the newest is %llu): the log was "
			    "cut off before it, or rewritten",
			    (unsigned long long)h->id, (unsigned long long)w->head_id);
		known_head_failure(w, h, what);
	}
}

void oplog_walk_report(const oplog_walk *w, const char *not_chained)
{
	char hex[2 * EDS_HASH_LEN + 1];
	eds_hex_encode(hex, w->head, EDS_HASH_LEN);
	if (!w->chained)
		printf("operation log: not chained (%s)\n", not_chained);
	else if (w->events == 0)
		printf("operation log OK: no events\n");
	else /* ID:HEX, as --oplog-head takes it */
		printf("operation log OK: %llu events chained, head %llu:%s\n",
		       (unsigned long long)w->events, (unsigned long long)w->head_id, hex);
	const known_heads *k = w->known;
	for (size_t i = 0; i < k->n; i++)
		if (k->v[i].line == 0) /* --oplog-head */
			printf("operation log head %llu written down earlier: still on the chain\n",
			       (unsigned long long)k->v[i].id);
	if (k->file != NULL)
		printf("signed checkpoints (%s): %zu checked, every head still on the chain\n",
		       k->file, k->checkpoints);
}

const char *oplog_mismatch_message(const eds_ledger_mismatch *m, const char *holder, char *msg,
                                   size_t cap)
{
	if (m->kind != EDS_LEDGER_LOGGED_RECORD_MISSING) {
		snprintf(msg, cap,
		         "no \"accepted\" event in the operation log names this record (device, "
		         "sequence and record_hash): stored behind the ingest gate, or its event "
		         "deleted");
		return REASON_NOT_LOGGED;
	}
	snprintf(msg, cap, "operation log event %llu accepted this record, but %s %s",
	         (unsigned long long)m->event_id, holder,
	         m->other_stored ? "holds another record there (its record_hash differs)"
	                         : "does not hold it (deleted, or cut off)");
	return REASON_MISSING;
}
