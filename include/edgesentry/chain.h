/*
 * edgesentry/chain.h - verification of record chains (FORMAT.md 1.3).
 *
 * Records are fed in input order; one input may interleave many devices.
 * Per device the verifier checks that sequences run 1, 2, 3, ... without
 * gaps, that each prev_hash links to the previous record's hash, that the
 * signature verifies (with the single public key or the registry, when
 * given), and, with a payload directory, that each payload file exists with
 * the right size and hash.  Memory is proportional to the number of devices,
 * never to the number of records.  The first failure of each device is kept
 * (later records of a failed device are counted, not checked).
 *
 * Checks per record, in this order: field rules (eds_record_validate);
 * sequence (the first record of a device must be 1, each next one the
 * previous + 1); prev_hash against the previous record_hash; signature;
 * payload file.  A record identical to its device's previous record (same
 * record_hash) is an idempotent retry (FORMAT.md 1.3): it is counted in
 * `duplicates`, neither a failure nor a new chain position.  Only the
 * previous record is remembered, so a record whose sequence is lower than
 * the chain head is reported as EDS_E_SEQUENCE (reordered or replayed),
 * even if it equals an older record.
 *
 * A verifier is not thread-safe; use one per input.
 */
#ifndef EDGESENTRY_CHAIN_H
#define EDGESENTRY_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "edgesentry/record.h"
#include "edgesentry/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Whether record r's payload is pending: accepted without its payload,
 * which has not been uploaded since (FORMAT.md 4), e.g. listed in an
 * export's pending.jsonl.  Nonzero: yes.
 */
typedef int (*eds_chain_pending_fn)(void *ctx, const eds_record *r);

typedef struct eds_chain_options {
	const eds_public_key *public_key; /**< one key for all devices, or NULL */
	const eds_registry *registry;     /**< per-device keys, or NULL */
	const char *payload_dir;          /**< payload store to check, or NULL */
	/** Threads checking the signatures of eds_chain_verifier_add_batch, the
	 * caller's included: 0 = one per online CPU, 1 = the caller only.
	 * eds_chain_verifier_add always runs on the caller alone. */
	unsigned threads;
	/**
	 * With payload_dir: asked about each record whose payload file is
	 * missing; when it answers nonzero the record is counted in
	 * payloads_pending instead of failing (payload_missing).  A file that is
	 * there is checked whatever it answers.  NULL: every missing file fails.
	 * Called on the thread that feeds the records.
	 */
	eds_chain_pending_fn payload_pending;
	void *pending_ctx; /**< passed to payload_pending */
} eds_chain_options;

typedef struct eds_chain_failure {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t index;    /**< 0-based position of the record in the input */
	uint64_t sequence; /**< the record's sequence */
	eds_status reason; /**< EDS_E_SEQUENCE, EDS_E_PREV_HASH, EDS_E_SIGNATURE, ... */
	char message[256]; /**< one human-readable line */
} eds_chain_failure;

typedef struct eds_chain_summary {
	uint64_t records;            /**< records fed */
	uint64_t devices;            /**< distinct devices */
	uint64_t devices_failed;     /**< devices with a failure */
	uint64_t signatures_checked; /**< signatures verified successfully */
	uint64_t payloads_checked;   /**< payload files verified successfully */
	uint64_t duplicates;         /**< exact retries of a device's previous record */
	uint64_t payloads_pending;   /**< files missing for payloads said pending */
} eds_chain_summary;

/** Most distinct devices one verifier tracks (more is EDS_E_LIMIT). */
#define EDS_CHAIN_MAX_DEVICES (1u << 22)

/** Per-device state, as reported after (or during) verification. */
typedef struct eds_chain_device {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t records;           /**< records of this device fed */
	uint64_t last_sequence;     /**< last sequence that verified (0: none) */
	uint8_t head[EDS_HASH_LEN]; /**< record_hash of that record */
	int failed;                 /**< nonzero when a failure was recorded */
} eds_chain_device;

typedef struct eds_chain_verifier eds_chain_verifier;

/**
 * New verifier.  opts may be NULL (links only).  public_key and registry
 * are borrowed and must outlive the verifier; setting both is EDS_E_ARG.
 */
eds_status eds_chain_verifier_new(eds_chain_verifier **out, const eds_chain_options *opts);

/**
 * Feed the next record.  Returns EDS_OK when it validly extends its device's
 * chain (or its device had already failed), else the failure reason, which
 * is also recorded.  EDS_E_NOMEM / EDS_E_LIMIT are fatal for the verifier.
 */
eds_status eds_chain_verifier_add(eds_chain_verifier *v, const eds_record *r);

/** Most records in one eds_chain_verifier_add_batch call. */
#define EDS_CHAIN_BATCH_MAX 65536u

/**
 * Feed records[0 .. n) in order, exactly as n calls of
 * eds_chain_verifier_add would (same failures, indexes, messages and
 * totals), but with the records' signatures (and hashes) checked in
 * parallel by the verifier's threads (eds_chain_options.threads; the pool
 * starts at the first batch).  Per-record verdicts are in the failure
 * list.  Returns EDS_OK, or EDS_E_ARG / EDS_E_NOMEM / EDS_E_LIMIT, fatal
 * for the verifier; EDS_E_IO when threads cannot start.  Memory: one
 * prepared header per record of the largest batch (about 700 bytes each).
 */
eds_status eds_chain_verifier_add_batch(eds_chain_verifier *v, const eds_record *records, size_t n);

/** Totals so far. */
void eds_chain_verifier_summary(const eds_chain_verifier *v, eds_chain_summary *s);

/**
 * Recorded failures (at most one per device) in input order.  *list points
 * into the verifier and is valid until the next call on it.
 */
size_t eds_chain_verifier_failures(const eds_chain_verifier *v, const eds_chain_failure **list);

/** Number of devices seen so far (0 for NULL). */
size_t eds_chain_verifier_device_count(const eds_chain_verifier *v);

/**
 * Copy the state of device i (in first-seen order, i < device_count) into
 * the caller's *out.  Errors: EDS_E_ARG (NULL, or i out of range).
 */
eds_status eds_chain_verifier_device(const eds_chain_verifier *v, size_t i, eds_chain_device *out);

/**
 * Stable short code of a failure reason, for machine-readable output; the
 * names follow the ingest API's error codes (FORMAT.md 4): "invalid_field",
 * "sequence_gap", "prev_hash_mismatch", "fork", "bad_signature",
 * "unknown_device", "revoked_device", "no_key", "payload_mismatch",
 * "payload_missing", "io_error"; "error" for anything else.  Never NULL.
 */
const char *eds_chain_reason_code(eds_status reason);

/** Free.  NULL is ignored. */
void eds_chain_verifier_free(eds_chain_verifier *v);

#ifdef __cplusplus
}
#endif
#endif
