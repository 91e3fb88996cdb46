/*
 * ledger_internal.h - helpers shared by the ledger front end and its back
 * ends; not installed.
 */
#ifndef EDS_STORE_LEDGER_INTERNAL_H
#define EDS_STORE_LEDGER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "edgesentry/ledger.h"

/** Check a device id against FORMAT.md 1.1.  Errors: EDS_E_ARG, EDS_E_FIELD. */
eds_status eds_ledger_check_id(const char *device_id);

/**
 * Create a payload root (FORMAT.md 3) when absent and the 256 two-hex
 * subdirectories it lacks, and fsync root once, so staging a payload never creates a
 * directory.  Errors: EDS_E_IO, EDS_E_LIMIT.
 */
eds_status eds_payload_stage_dirs(const char *root);

/*
 * Write one page to an unnamed file in root and sync it: whether the
 * payload directory's file system takes writes (space, not read-only, no
 * I/O error).  Nothing is left behind.  EDS_E_IO names the failure.
 */
eds_status eds_payload_probe(const char *root);

/**
 * Copy the payload hash of size bytes from the payload root src_root to
 * dst_root, staged like eds_payload_stage (durable after
 * eds_payload_sync(dst_root); payloads over 64 MiB are streamed and
 * durable on return).  The source is checked against hash and size first
 * and nothing is left under its name when it fails: EDS_E_NOT_FOUND (missing),
 * EDS_E_PAYLOAD_MISMATCH (damaged, not a regular file, or unreadable).
 * Other errors (EDS_E_IO, EDS_E_NOMEM) are the destination's or fatal.
 */
eds_status eds_payload_stage_copy(const char *src_root, const char *dst_root,
                                  const uint8_t hash[EDS_HASH_LEN], uint64_t size);

/**
 * The payload file of lr, for a copy of a ledger (backup, export): nothing
 * when lr's payload is not stored (n->pending++), else copied from src_root
 * to dst_root with eds_payload_stage_copy (n->payloads++).  EDS_DONE: stored,
 * but the file under src_root is missing or damaged and was not copied (the
 * caller counts it).  Other errors as eds_payload_stage_copy's.
 */
eds_status eds_ledger_copy_payload(const char *src_root, const char *dst_root,
                                   const eds_ledger_record *lr, eds_ledger_backup_stats *n);

/**
 * The back end's backup (ops->backup) of l's database to the new file
 * db_path.  Errors: EDS_E_UNSUPPORTED (a back end without one), others as
 * the back end's.
 */
eds_status eds_ledger_backup_db(eds_ledger *l, const char *db_path);

/**
 * Refuse every write on l from now on (EDS_E_UNSUPPORTED "ledger opened
 * read-only"): set by a back end opened with eds_ledger_options.read_only.
 */
void eds_ledger_set_read_only(eds_ledger *l);

/** Wall-clock time in Unix milliseconds (receive times, log events). */
static inline uint64_t eds_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/** Most bytes of one operation-log event as a JSON line (without its
 * newline): the longest event log --json writes takes about 900. */
#define EDS_LEDGER_EVENT_JSON_MAX 4096

/** A hash as JSON: its hex, or null when it is all zero (unknown, or no chain). */
json_t *eds_ledger_hash_json(const uint8_t h[EDS_HASH_LEN]);

/**
 * One operation-log event as `eds ledger log --json` writes it: {id,
 * time_ms, source, device_id, sequence, decision, reason, record_hash,
 * chain_hash}, unknown device, sequence or hash (and the chain of a ledger
 * without one) null.  NULL when out of memory or a text is not UTF-8.
 */
json_t *eds_ledger_event_json(uint64_t id, const eds_ledger_event *ev);

/**
 * Read one line of that form back, strictly: at most
 * EDS_LEDGER_EVENT_JSON_MAX bytes, exactly those nine members, none twice;
 * id 1 .. 2^53-1, time_ms 0 .. 2^53-1, sequence null or 1 .. 2^53-1;
 * source (at most EDS_SOURCE_MAX - 1 bytes) and decision (at most 15) text,
 * device_id (at most EDS_DEVICE_ID_MAX) and reason (at most 31) text or
 * null, record_hash and chain_hash 64 hex digits or null (null: zero).
 * *chained is whether chain_hash was given.  Errors (with a one-line
 * detail naming the member): EDS_E_LIMIT, EDS_E_MALFORMED, EDS_E_FIELD.
 */
eds_status eds_ledger_event_from_json(const char *json, size_t len, uint64_t *id,
                                      eds_ledger_event *ev, bool *chained);

/** Most bytes of one line of an export's pending.jsonl (without its newline). */
#define EDS_LEDGER_PENDING_JSON_MAX 512

/** A record still waiting for its payload, as an export's pending.jsonl lists it. */
typedef struct eds_ledger_pending {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t sequence;
	uint8_t payload_hash[EDS_HASH_LEN];
} eds_ledger_pending;

/**
 * Record r as one line of pending.jsonl, {"device_id", "sequence",
 * "payload_hash" (hex)}, into buf (no newline, NUL-terminated), its length
 * in *len.  r's fields are those of a stored record (valid id).  Errors:
 * EDS_E_LIMIT (cap too small).
 */
eds_status eds_ledger_pending_to_json(const eds_record *r, char *buf, size_t cap, size_t *len);

/**
 * Read one pending.jsonl line back, strictly: at most
 * EDS_LEDGER_PENDING_JSON_MAX bytes, exactly those three members, none
 * twice, device_id a valid device id, sequence 1 .. 2^53-1, payload_hash 64
 * hex digits.  Errors (a one-line detail naming the member): EDS_E_ARG,
 * EDS_E_LIMIT, EDS_E_MALFORMED, EDS_E_FIELD.
 */
eds_status eds_ledger_pending_from_json(const char *json, size_t len, eds_ledger_pending *out);

#endif
