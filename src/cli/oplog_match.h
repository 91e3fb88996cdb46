/*
 * oplog_match.h - records against an operation log's "accepted" events,
 * both ways, in memory (eds verify-oplog --records): what
 * eds_ledger_match_events does inside a ledger, for an export's files.
 *
 * An export can hold tens of millions of records, so a key stores its
 * device as a number into one table of the names met (a device's name is
 * kept once, not once per record and once per event): about 56 bytes per
 * record and per event instead of about 190.
 */
#ifndef EDS_CLI_OPLOG_MATCH_H
#define EDS_CLI_OPLOG_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ledger.h"

/* A record (event_id 0) or an accepted event: what they are matched on. */
typedef struct oplog_key {
	uint64_t sequence;
	uint64_t event_id;
	uint8_t hash[EDS_HASH_LEN]; /* an event's zero hash matches any record there */
	uint32_t device;            /* index into the names; their rank once sorted */
	bool matched;
	bool other; /* an event: a record is at its place (maybe another) */
} oplog_key;

typedef struct oplog_keys {
	oplog_key *v;
	size_t n, cap;
} oplog_keys;

/* The records and events to match, and the device names they share. */
typedef struct oplog_match {
	oplog_keys records, events;
	char **names;     /* each device id once, in the order met */
	uint32_t nnames;  /* used entries of names */
	size_t names_cap; /* allocated entries of names */
	uint32_t *slots;  /* open addressing over names: index + 1, 0 when free */
	size_t nslots;    /* a power of two, at least twice nnames */
} oplog_match;

/* Add one record of the records file.  Errors: EDS_E_NOMEM, EDS_E_LIMIT. */
eds_status oplog_match_record(oplog_match *m, const char *device_id, uint64_t sequence,
                              const uint8_t hash[EDS_HASH_LEN]);

/* Add one accepted event.  Errors: EDS_E_NOMEM, EDS_E_LIMIT. */
eds_status oplog_match_event(oplog_match *m, const char *device_id, uint64_t sequence,
                             const uint8_t hash[EDS_HASH_LEN], uint64_t event_id);

/*
 * Match, as eds_ledger_match_events: a record is logged when an accepted
 * event has its device, sequence and record_hash (or a zero one); an event
 * is matched when such a record exists.  fn gets each record not logged
 * (in device, sequence order), then each event not matched (in id order).
 * Sorts both lists.  Errors: EDS_E_NOMEM, or what fn returns.
 */
eds_status oplog_match_run(oplog_match *m, eds_ledger_mismatch_fn fn, void *ctx);

/* Free everything m holds; m is then empty (a zeroed oplog_match). */
void oplog_match_free(oplog_match *m);

#endif
