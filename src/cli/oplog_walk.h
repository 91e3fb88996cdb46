/*
 * oplog_walk.h - the walk of an operation log, oldest event first, that
 * `eds ledger verify` (over the ledger) and `eds verify-oplog` (over an
 * export's oplog.jsonl) share: ids in order, each event's link, the heads
 * written down earlier (ledger_checkpoint.h) met on the way, the report of
 * a clean walk, and the words for records that do not match the log.
 */
#ifndef EDS_CLI_OPLOG_WALK_H
#define EDS_CLI_OPLOG_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ledger.h"
#include "ledger_checkpoint.h"

/* Failure reasons of the operation log's chain (--json "reason"). */
#define REASON_OPLOG      "oplog_chain_broken"
#define REASON_KNOWN_HEAD "oplog_head_mismatch"

/* A failure the walk found at event id (device "(oplog)", sequence id). */
typedef void (*oplog_failure_fn)(void *ctx, uint64_t id, const char *reason, const char *message);

/*
 * The walk of an operation log, oldest event first, that `eds ledger
 * verify` and `eds verify-oplog` share: each event's link, and the heads
 * written down earlier met on the way.
 */
typedef struct oplog_walk {
	known_heads *known;    /* --oplog-head and --checkpoint */
	oplog_failure_fn fail; /* each failure, with ctx */
	void *ctx;
	bool chained;               /* the log is hash-chained (ledger schema 4 on) */
	uint8_t head[EDS_HASH_LEN]; /* the newest event's stored chain_hash */
	uint64_t head_id;           /* the newest event's id (0: none) */
	uint64_t events;            /* events whose link was checked */
} oplog_walk;

/*
 * The next event, in the order read: its id must follow the one before
 * (ids run 1, 2, 3 ...: a deleted event whose successors were rehashed
 * keeps every link valid, and this shows it; checked in a log not chained
 * too), and in a chained log its link from the stored hash before it
 * (oplog_chain_broken; an id out of order is named instead of the link),
 * then the heads written down earlier at its id (oplog_head_mismatch).  The
 * walk goes on from the stored hash, so each place changed is named once.
 */
void oplog_walk_event(oplog_walk *w, uint64_t id, const eds_ledger_event *ev);

/* After the walk: the heads written down earlier whose event was not met. */
void oplog_walk_missing(oplog_walk *w);

/*
 * The walk's lines of a report that found no failure, on stdout: "operation
 * log OK: N events chained, head ID:HEX" (the head to write down), or
 * "operation log: not chained (NOT_CHAINED)", then one line per
 * --oplog-head and one for the checkpoint file.
 */
void oplog_walk_report(const oplog_walk *w, const char *not_chained);

/* Failure reasons of the match of records against the log. */
#define REASON_NOT_LOGGED "record_not_logged"
#define REASON_MISSING    "logged_record_missing"

/*
 * The reason and message of one disagreement between records and the
 * log's "accepted" events; holder names where the records are ("the
 * ledger", "the records file").
 */
const char *oplog_mismatch_message(const eds_ledger_mismatch *m, const char *holder, char *msg,
                                   size_t cap);

#endif
