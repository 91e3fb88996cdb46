/*
 * oplog_match.h - records against an operation log's "accepted" events,
 * both ways, in memory (eds verify-oplog --records): what
 * eds_ledger_match_events does inside a ledger, for an export's files.
 */
#ifndef EDS_CLI_OPLOG_MATCH_H
#define EDS_CLI_OPLOG_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ledger.h"

/* A record (event_id 0) or an accepted event: what they are matched on. */
typedef struct oplog_key {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t sequence;
	uint8_t hash[EDS_HASH_LEN]; /* an event's zero hash matches any record there */
	uint64_t event_id;
	bool matched;
	bool other; /* an event: a record is at its place (maybe another) */
} oplog_key;

typedef struct oplog_keys {
	oplog_key *v;
	size_t n, cap;
} oplog_keys;

/* Add one key.  Errors: EDS_E_NOMEM. */
eds_status oplog_keys_add(oplog_keys *k, const char *device_id, uint64_t sequence,
                          const uint8_t hash[EDS_HASH_LEN], uint64_t event_id);

/*
 * Match, as eds_ledger_match_events: a record is logged when an accepted
 * event has its device, sequence and record_hash (or a zero one); an event
 * is matched when such a record exists.  fn gets each record not logged
 * (in device, sequence order), then each event not matched (in id order).
 * Sorts both lists.
 */
eds_status oplog_keys_match(oplog_keys *records, oplog_keys *events, eds_ledger_mismatch_fn fn,
                            void *ctx);

void oplog_keys_free(oplog_keys *k);

#endif
