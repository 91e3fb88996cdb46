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
#include "progress.h"

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
	bool json;          /* --json: a bad key or FILE also prints {"valid":false,"error"} */
	bool progress;      /* a progress line while FILE's signatures are checked (a TTY) */
	cli_progress bar;
} known_heads;

/* Checkpoint files hold at most this many bytes (some 200,000 checkpoints). */
#define CHECKPOINT_FILE_MAX (64u * 1024u * 1024u)

/*
 * `eds ledger checkpoint`: sign the operation log's head with the secret
 * key at key_path and print the checkpoint, one JSON line, on stdout.
 * Returns an exit code; errors are one line on stderr.
 */
int ledger_checkpoint_run(eds_ledger *l, const char *key_path);

/*
 * The heads a verifier's flags give, ready for the walk: --oplog-head
 * (oplog_head, or NULL), the checkpoints of --checkpoint (checkpoint, with
 * --checkpoint-key checkpoint_key; one without the other is a usage
 * error), sorted.  Returns EDS_EXIT_OK or the usage code (one line on
 * stderr; with k->json, a key or FILE that cannot be used, a fatal error
 * rather than a misuse of the flags, also puts the report's
 * {"valid":false,"error":...} on stdout).
 */
int known_heads_from_flags(known_heads *k, const char *oplog_head, const char *checkpoint,
                           const char *checkpoint_key);

/* Where a head came from, as the prefix of a message about it: "checkpoint
 * FILE:LINE (signed TIME): ", or "" for --oplog-head (there is only one). */
void known_head_origin(const known_heads *k, const known_head *h, char *out, size_t cap);

void known_heads_free(known_heads *k);

#endif
