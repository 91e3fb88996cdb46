/*
 * oplog_pending.h - an export's pending.jsonl against its operation log
 * (eds verify-oplog --pending): the part of the list the log can back.
 *
 * The log records a record's acceptance ("accepted": device, sequence,
 * record_hash) and each PUT that stored a payload ("payload": record_hash
 * holds the payload hash, no device), but not whether a record brought its
 * payload inline, nor whether a retried record ("duplicate") did.  So a
 * listed record must have been accepted, and no payload event with its
 * payload hash may follow that acceptance (such a PUT stores the payload
 * of every record waiting for it); a record stored without its payload but
 * left off the list cannot be told from one that brought it inline.
 *
 * The list is held in memory (it is read whole anyway, at most
 * PENDING_FILE_MAX bytes) and the log streamed past it, so memory grows
 * with the list, not with the log: about 200 bytes a listed record.
 */
#ifndef EDS_CLI_OPLOG_PENDING_H
#define EDS_CLI_OPLOG_PENDING_H

#include <stdint.h>

#include "edgesentry/ledger.h"
#include "pending_list.h"

/* Failure reasons (--json "reason"). */
#define REASON_PENDING_NOT_LOGGED "pending_not_logged"
#define REASON_PENDING_STORED     "pending_payload_stored"

/* An entry of the list, as the arrays sorted otherwise hold it. */
typedef struct pending_ref {
	const pending_entry *e;
} pending_ref;

typedef struct oplog_pending {
	const char *path;   /* the file, as failures name it */
	pending_list list;  /* sorted by device, sequence, payload hash */
	uint64_t *accepted; /* per entry: its place's newest accepted event (0: none) */
	uint64_t *stored;   /* per entry: the first payload event after it (0: none) */
	pending_ref *order; /* the entries by payload hash; by line once reported */
} oplog_pending;

/* A listed record the log contradicts: its entry, the reason and message. */
typedef void (*oplog_pending_fn)(void *ctx, const pending_entry *e, const char *reason,
                                 const char *message);

/*
 * Read path as pending_list_load does (the same errors, a bad line named
 * PATH:LINE) into p, which must be zeroed.  Errors: those, EDS_E_NOMEM.
 */
eds_status oplog_pending_load(oplog_pending *p, const char *path);

/* The next event of the log, in id order. */
void oplog_pending_event(oplog_pending *p, uint64_t id, const eds_ledger_event *ev);

/*
 * After the log: fn gets each listed record no accepted event names
 * (pending_not_logged), or whose payload a later payload event stored
 * (pending_payload_stored), in the file's line order.
 */
void oplog_pending_report(oplog_pending *p, oplog_pending_fn fn, void *ctx);

/* Free everything p holds; p is then zeroed. */
void oplog_pending_free(oplog_pending *p);

#endif
