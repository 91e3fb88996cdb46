/*
 * edgesentry/ingest.h - the ingest service: the integrity gate in front of
 * a ledger, with group commit.  Transport-neutral: the HTTP server (and
 * later MQTT) parse requests, then hand records here.
 *
 * A record is accepted only when it is exactly the next record of a
 * registered device's chain.  Checks that need no shared state (identity,
 * timestamp skew, key, signature, payload hash and size) run in the calling
 * thread, in parallel with other callers; the chain checks (sequence,
 * prev_hash, duplicate, fork) run in the single writer thread against the
 * in-memory chain heads, which are resumed from the ledger at start.  The
 * writer commits everything queued in one transaction (group commit), and
 * eds_ingest_submit returns only after that transaction - and the bytes of
 * every payload it stores - is durable.  The payload files themselves are
 * made durable by a flusher thread shortly after (payload_flush_ms); until
 * then the ledger keeps their bytes too and restores a lost file at start
 * (eds_ledger_commit_journaled).
 *
 * An eds_ingest is thread-safe: any number of threads may submit at once.
 */
#ifndef EDGESENTRY_INGEST_H
#define EDGESENTRY_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/ledger.h"
#include "edgesentry/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Every outcome of the ingest API (FORMAT.md 4), with its HTTP status. */
typedef enum eds_ingest_outcome {
	EDS_INGEST_ACCEPTED = 0,     /**< 201 accepted */
	EDS_INGEST_DUPLICATE,        /**< 200 duplicate */
	EDS_INGEST_STORED,           /**< 201 payload stored */
	EDS_INGEST_ALREADY_STORED,   /**< 200 payload already stored */
	EDS_INGEST_MALFORMED,        /**< 400 malformed */
	EDS_INGEST_FORBIDDEN_SOURCE, /**< 403 forbidden_source */
	EDS_INGEST_UNKNOWN_PAYLOAD,  /**< 404 unknown_payload */
	EDS_INGEST_TOO_LARGE,        /**< 413 too_large */
	EDS_INGEST_RATE_LIMITED,     /**< 429 rate_limited */
	EDS_INGEST_UNKNOWN_DEVICE,   /**< 422 unknown_device */
	EDS_INGEST_REVOKED_DEVICE,   /**< 422 revoked_device */
	EDS_INGEST_BAD_SIGNATURE,    /**< 422 bad_signature */
	EDS_INGEST_PAYLOAD_MISMATCH, /**< 422 payload_mismatch */
	EDS_INGEST_SEQUENCE_GAP,     /**< 422 sequence_gap */
	EDS_INGEST_PREV_HASH,        /**< 422 prev_hash_mismatch */
	EDS_INGEST_FORK,             /**< 409 fork */
	EDS_INGEST_TIMESTAMP_SKEW,   /**< 422 timestamp_skew */
	EDS_INGEST_IDENTITY,         /**< 422 identity_mismatch */
	EDS_INGEST_STORAGE,          /**< 503 storage_unavailable */
	EDS_INGEST_OUTCOME_COUNT
} eds_ingest_outcome;

/** The API's code for an outcome ("accepted", "fork", "too_large", ...). Never NULL. */
const char *eds_ingest_code(eds_ingest_outcome o);

/** The HTTP status of an outcome. */
int eds_ingest_http_status(eds_ingest_outcome o);

/** Nonzero for outcomes that are not errors (accepted, duplicate, stored). */
int eds_ingest_ok(eds_ingest_outcome o);

typedef struct eds_ingest_options {
	size_t max_batch;     /**< most records per transaction; 0: 1024 */
	unsigned max_wait_us; /**< how long the writer waits to fill a batch; 0: no wait */
	uint64_t max_skew_ms; /**< allowed timestamp lead over our clock; 0: 300000 */
	/**
	 * Durable ledgers: how often the flusher thread makes the payload files
	 * durable (their bytes wait in the ledger's journal meanwhile, so this
	 * never delays an answer); 0: 1000.  Shorter: less to check after a
	 * crash; longer: fewer flushes competing with commits.
	 */
	unsigned payload_flush_ms;
} eds_ingest_options;

/** One record to ingest (already parsed with eds_record_from_json). */
typedef struct eds_ingest_item {
	eds_record record;
	const uint8_t *payload; /**< raw payload, or NULL when it will come by PUT */
	size_t payload_len;
} eds_ingest_item;

/** Where a request came from. */
typedef struct eds_ingest_context {
	const char *source;   /**< peer address text (logged and stored); may be NULL */
	const char *identity; /**< device id proven by a client certificate, or NULL */
} eds_ingest_context;

typedef struct eds_ingest_result {
	eds_ingest_outcome outcome;
	uint8_t record_hash[EDS_HASH_LEN]; /**< valid for accepted/duplicate (else zero) */
	char message[192];                 /**< one human sentence for rejections */
} eds_ingest_result;

/** Counters for metrics (monotonic since eds_ingest_new). */
typedef struct eds_ingest_stats {
	uint64_t outcomes[EDS_INGEST_OUTCOME_COUNT];
	uint64_t commits;
	/** Batch sizes: bucket i counts commits of <= 2^i records (last: larger). */
	uint64_t batch_buckets[12];
	uint64_t batch_records;
	uint64_t payload_flushes;        /**< flushes of the payload files that succeeded */
	uint64_t payload_flush_failures; /**< and that failed (tried again; nothing lost) */
	uint64_t payloads_restored;      /**< at start: files written again from the journal */
	uint64_t payloads_demoted;       /**< at start: records back to payload pending */
	/** Times a probe found the ledger writable again after a failed commit. */
	uint64_t storage_recoveries;
} eds_ingest_stats;

/** Called once per decision (from the deciding thread); must not block long. */
typedef void (*eds_ingest_log_fn)(void *ctx, const eds_ledger_event *ev, const char *message);

typedef struct eds_ingest eds_ingest;

/**
 * Start a service on an open ledger (borrowed; must outlive the service):
 * claims it (eds_ledger_claim, released by eds_ingest_free), restores
 * payload files a crash lost (eds_ledger_recover; counted in the stats),
 * loads every device and chain head, then starts the writer thread and, on
 * a durable ledger, the flusher.  opts may be NULL.  Errors: EDS_E_ARG,
 * EDS_E_NOMEM, EDS_E_IO, EDS_E_EXISTS (another service has the ledger, in
 * this process or another), EDS_E_INTERNAL (no thread).
 */
eds_status eds_ingest_new(eds_ingest **out, eds_ledger *ledger, const eds_ingest_options *opts);

/** Set the decision log callback (before the first submit).  NULL s is ignored. */
void eds_ingest_set_log(eds_ingest *s, eds_ingest_log_fn fn, void *ctx);

/**
 * Ingest n records in order; results[i] gets item i's outcome.  Returns
 * after every accepted record is durable.  Rejections are results, not
 * errors.  Errors: EDS_E_ARG, EDS_E_NOMEM, EDS_E_INTERNAL (service closing).
 */
eds_status eds_ingest_submit(eds_ingest *s, const eds_ingest_context *ctx,
                             const eds_ingest_item *items, size_t n, eds_ingest_result *results);

/**
 * Store a pending payload (PUT /api/v1/payloads/{hash}): STORED,
 * ALREADY_STORED, UNKNOWN_PAYLOAD, PAYLOAD_MISMATCH or STORAGE in *result.
 */
eds_status eds_ingest_put_payload(eds_ingest *s, const eds_ingest_context *ctx,
                                  const uint8_t hash[EDS_HASH_LEN], const uint8_t *data, size_t len,
                                  eds_ingest_result *result);

/**
 * Log a rejection decided before the gate (malformed body, rate limit...):
 * counted, passed to the log callback and, when to_ledger, written to the
 * operation log with the next commit (without waiting for it).
 */
void eds_ingest_reject(eds_ingest *s, const eds_ingest_context *ctx, const char *device_id,
                       uint64_t sequence, eds_ingest_outcome outcome, const char *message,
                       int to_ledger);

/**
 * Committed head of a device: sequence 0 and zero hash when it has no
 * record yet.  Errors: EDS_E_NOT_FOUND (not registered), EDS_E_FIELD.
 */
eds_status eds_ingest_head(eds_ingest *s, const char *device_id, uint64_t *sequence,
                           uint8_t hash[EDS_HASH_LEN]);

/** A snapshot of the counters (nothing is written when s or out is NULL). */
void eds_ingest_stats_get(eds_ingest *s, eds_ingest_stats *out);

/** Statistics of the service's ledger (for metrics).  Errors: EDS_E_ARG (NULL s
 *  or out), the ledger's (eds_ledger_stats_get). */
eds_status eds_ingest_ledger_stats(eds_ingest *s, eds_ledger_stats *out);

/**
 * Nonzero while the last group commit and the last flush of the payload
 * files both succeeded (for /healthz).  After a failed commit, a durable
 * service probes the ledger (eds_ledger_probe) at each flush, at least
 * once a second, and is healthy again once a probe writes, without
 * waiting for a record to commit.  0 for NULL.
 */
int eds_ingest_healthy(eds_ingest *s);

/**
 * Stop: waits for queued work to commit, stops the writer, makes the
 * payload files durable (the flusher's last turn) and frees.  NULL is
 * ignored.
 */
void eds_ingest_free(eds_ingest *s);

#ifdef __cplusplus
}
#endif
#endif
