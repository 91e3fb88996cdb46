/*
 * ledger_checkpoint.h - `eds ledger checkpoint` (sign the operation log's
 * head) and the heads `eds ledger verify` is given to find on the chain:
 * --oplog-head ID:HEX and the signed checkpoints of --checkpoint FILE.
 */
#ifndef EDS_CLI_LEDGER_CHECKPOINT_H
#define EDS_CLI_LEDGER_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ledger.h"

/* A head written down earlier: event id must still have chain_hash hash. */
typedef struct known_head {
	uint64_t id; /* 1 .. 2^53-1 */
	uint8_t hash[EDS_HASH_LEN];
	uint64_t line;    /* its line in the checkpoint file; 0: --oplog-head */
	uint64_t time_ms; /* a checkpoint's signing time */
	bool seen;        /* the walk met event id */
} known_head;

typedef struct known_heads {
	known_head *v; /* sorted by id once loaded (known_heads_sort) */
	size_t n, cap;
	size_t next;        /* the walk's place in v: heads before it are passed */
	const char *file;   /* --checkpoint FILE, for messages; borrowed */
	const char *cmd;    /* the command its messages name; NULL: "ledger" */
	size_t checkpoints; /* heads that came from FILE */
} known_heads;

/* Checkpoint files hold at most this many bytes (some 200,000 checkpoints). */
#define CHECKPOINT_FILE_MAX (64u * 1024u * 1024u)

/*
 * `eds ledger checkpoint`: sign the operation log's head with the secret
 * key at key_path and print the checkpoint, one JSON line, on stdout.
 * Returns an exit code; errors are one line on stderr.
 */
int ledger_checkpoint_run(eds_ledger *l, const char *key_path);

/* Add one head (--oplog-head).  Returns EDS_EXIT_OK or the usage code. */
int known_heads_add(known_heads *k, uint64_t id, const uint8_t hash[EDS_HASH_LEN]);

/* Add --oplog-head ID:HEX, as verify prints the head: ID 1 .. 2^53-1, HEX 64
 * hex digits.  Returns EDS_EXIT_OK or the usage code (one line on stderr). */
int known_heads_parse(known_heads *k, const char *text);

/*
 * Read the checkpoints of file (JSON Lines, as `eds ledger checkpoint`
 * prints them; empty lines skipped), each one's signature checked with the
 * public key key_spec, into k.  A checkpoint of an empty log (oplog_id 0)
 * is checked but holds no head.  Any bad line refuses the whole file: one
 * line on stderr naming FILE:LINE, and the usage exit code.
 */
int known_heads_load(known_heads *k, const char *file, const char *key_spec);

/* Sort by id, so the walk of the log meets the heads in order. */
void known_heads_sort(known_heads *k);

/* Where a head came from, for a message: "--oplog-head" or "FILE:LINE (signed TIME)". */
void known_head_origin(const known_heads *k, const known_head *h, char *out, size_t cap);

void known_heads_free(known_heads *k);

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
 * One event of a chained log: its link from the stored hash before it
 * (oplog_chain_broken; broken, when not NULL, is a failure the caller found
 * at this event instead, e.g. an id out of order), then the heads written
 * down earlier at its id (oplog_head_mismatch).  The walk goes on from the
 * stored hash, so each place changed is named once.
 */
void oplog_walk_event(oplog_walk *w, uint64_t id, const eds_ledger_event *ev, const char *broken);

/*
 * Whether id may follow last_id (0: none yet): ids run 1, 2, 3 ... in a log
 * nobody changed, as each commit takes the next one.  NULL when it may;
 * else the failure, written into buf.  A deleted event whose successors
 * were rehashed keeps the chain's links valid; this is what shows it.
 */
const char *oplog_id_out_of_order(uint64_t last_id, uint64_t id, char *buf, size_t cap);

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
