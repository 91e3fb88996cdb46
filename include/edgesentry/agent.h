/*
 * edgesentry/agent.h - the device agent: sign readings into the device's
 * chain, keep every signed record in a durable queue until a server has
 * confirmed it, and forward the queue in order (docs/agent.md).
 *
 * Crash safety: eds_agent_record commits the new chain head and the queued
 * record (with its payload) in ONE store transaction before it returns, so
 * after a power cut either both exist or neither; a sequence is never
 * signed twice with different content and no signed record is missing
 * from the queue.
 *
 * Thread safety: one eds_agent may be used from several threads (calls
 * are serialised by an internal mutex); the forwarder thread started by
 * eds_agent_forward_start shares it.
 */
#ifndef EDGESENTRY_AGENT_H
#define EDGESENTRY_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "edgesentry/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- signer: where signatures come from (key file now, HSM later) ---- */

typedef struct eds_signer_ops {
	/** Sign msg (the record's signed header) into sig. */
	eds_status (*sign)(void *ctx, const uint8_t *msg, size_t len,
	                   uint8_t sig[EDS_SIGNATURE_LEN]);
	/** The matching public key. */
	void (*public_key)(void *ctx, eds_public_key *pk);
	/** Release ctx (and wipe any secret it holds). */
	void (*destroy)(void *ctx);
} eds_signer_ops;

/** A signer: an operation table and its context.  A value type. */
typedef struct eds_signer {
	const eds_signer_ops *ops;
	void *ctx;
} eds_signer;

/** A signer holding a copy of sk in memory (wiped by eds_signer_close). */
eds_status eds_signer_from_key(eds_signer *out, const eds_secret_key *sk);

/** A signer for a secret key file (eds_secret_key_load rules apply). */
eds_status eds_signer_from_key_file(eds_signer *out, const char *path);

/** Release a signer (safe on a zeroed struct). */
void eds_signer_close(eds_signer *s);

/* ---- the agent ---- */

typedef enum eds_agent_store_kind {
	EDS_AGENT_STORE_SQLITE = 0, /**< state_dir/agent.db, SQLite WAL */
	EDS_AGENT_STORE_MEMORY = 1  /**< RAM only: lost on exit (tests, RAM-only devices) */
} eds_agent_store_kind;

typedef enum eds_agent_overflow {
	/** A record that does not fit is refused (EDS_E_LIMIT); nothing is signed. */
	EDS_AGENT_OVERFLOW_REJECT = 0,
	/** Oldest queued payloads are dropped (their records stay) and a signed
	 *  "payloads dropped" notice record lists them; record count stays hard. */
	EDS_AGENT_OVERFLOW_SHED_PAYLOADS = 1
} eds_agent_overflow;

typedef struct eds_agent_options {
	const char *device_id;       /**< required */
	eds_agent_store_kind store;  /**< default SQLITE */
	uint64_t max_records;        /**< queue bound in records (default 1,000,000) */
	uint64_t max_bytes;          /**< bound on record JSON + payload bytes (default 256 MiB) */
	eds_agent_overflow overflow; /**< default REJECT */
	/** 0 or 1: fsync every record before eds_agent_record returns (SQLite
	 *  synchronous=FULL).  N > 1: group fsync, at the latest every N records
	 *  and always before records are forwarded; a power cut (not a process
	 *  crash) may then lose up to N-1 unsent records, never fork the chain. */
	unsigned sync_every;
} eds_agent_options;

/** Set the defaults above (device_id NULL). */
void eds_agent_options_init(eds_agent_options *o);

typedef struct eds_agent eds_agent;

/**
 * Open (creating when absent) the agent state in state_dir (ignored for
 * the memory store, may be NULL then).  The signer is used for every record
 * and released by eds_agent_close (ownership moves to the agent on success
 * only).  Refuses state written for another device or key (EDS_E_KEY).
 * Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_IO, EDS_E_KEY, EDS_E_NOMEM.
 */
eds_status eds_agent_open(eds_agent **out, const char *state_dir, eds_signer *signer,
                          const eds_agent_options *opts);

/** Stop the forwarder (if running), close the store, release the signer. */
void eds_agent_close(eds_agent *a);

/**
 * Sign the next record over payload[0..len) with object_ref and queue it;
 * durable (per sync_every) before returning.  *out (optional) receives the
 * signed record.  Errors: EDS_E_ARG, EDS_E_FIELD (object_ref),
 * EDS_E_LIMIT (queue full under REJECT, or record bound under SHED),
 * EDS_E_IO (store), EDS_E_NOMEM.
 */
eds_status eds_agent_record(eds_agent *a, const uint8_t *payload, size_t len,
                            const char *object_ref, eds_record *out);

typedef struct eds_agent_status {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t head_sequence;          /**< last signed sequence (0: none) */
	uint8_t head_hash[EDS_HASH_LEN]; /**< its record_hash */
	uint64_t queued_records;         /**< records not yet confirmed */
	uint64_t queued_bytes;           /**< their record JSON + payload bytes */
	uint64_t oldest_sequence;        /**< oldest unsent (0: queue empty) */
	uint64_t oldest_timestamp_ms;    /**< its timestamp */
	uint64_t pending_payloads;       /**< records delivered, payload not yet */
	uint64_t dropped_payloads;       /**< payloads shed since the state was made */
	uint64_t notices;                /**< "payloads dropped" notices signed */
	bool server_head_known;          /**< the forwarder has asked the server */
	uint64_t server_sequence;        /**< the server's last known head */
	uint64_t delivered_records;      /**< confirmed by the server since open */
	eds_status last_error;           /**< last forwarding error (EDS_OK: none) */
	char last_error_text[256];       /**< its detail */
} eds_agent_status;

/** Snapshot of an open agent.  Errors: EDS_E_ARG. */
eds_status eds_agent_get_status(eds_agent *a, eds_agent_status *st);

/**
 * Read the status of a SQLite state directory without opening an agent
 * (read-only; works while an agent runs).  Errors: EDS_E_ARG,
 * EDS_E_NOT_FOUND (no state there), EDS_E_IO.
 */
eds_status eds_agent_status_read(const char *state_dir, eds_agent_status *st);

/* ---- forwarding: a transport interface (HTTP now, MQTT later) ---- */

typedef enum eds_delivery {
	EDS_DELIVERY_STORED = 0,     /**< "accepted" or "duplicate": durably on the server */
	EDS_DELIVERY_NOT_STORED = 1, /**< 503, timeout, network: retry later */
	EDS_DELIVERY_REFUSED = 2     /**< refused by policy (fork, bad signature...): stop */
} eds_delivery;

typedef struct eds_transport_item {
	const eds_record *record;
	const uint8_t *payload; /**< NULL: send the record without its payload */
	size_t payload_len;
} eds_transport_item;

typedef struct eds_transport_result {
	eds_delivery delivery;
	char error[48]; /**< server error code when refused or not stored, e.g. "fork" */
} eds_transport_result;

typedef struct eds_transport_ops {
	/** The server's head for device_id (sequence 0: none yet). */
	eds_status (*get_head)(void *ctx, const char *device_id, uint64_t *sequence,
	                       uint8_t hash[EDS_HASH_LEN]);
	/** Send items in order; fill one result per item.  A transport failure
	 *  (no answer) returns an error and counts as NOT_STORED for all. */
	eds_status (*send)(void *ctx, const eds_transport_item *items, size_t n,
	                   eds_transport_result *results);
	/** Upload a payload of a record the server already holds. */
	eds_status (*put_payload)(void *ctx, const uint8_t hash[EDS_HASH_LEN],
	                          const uint8_t *payload, size_t len);
	void (*destroy)(void *ctx);
} eds_transport_ops;

typedef struct eds_transport {
	const eds_transport_ops *ops;
	void *ctx;
} eds_transport;

typedef struct eds_http_transport_options {
	const char *url;     /**< server base URL, http:// or https:// */
	unsigned timeout_ms; /**< per request (default 10000) */
	const char *cacert;  /**< CA file for HTTPS, or NULL for the system store */
	const char *cert;    /**< client certificate PEM (mTLS), or NULL */
	const char *key;     /**< its key, or NULL */
} eds_http_transport_options;

/** The HTTP(S) transport (FORMAT.md section 4, libcurl).  Errors: EDS_E_ARG, EDS_E_NOMEM. */
eds_status eds_transport_http(eds_transport *out, const eds_http_transport_options *o);

/** Release a transport (safe on a zeroed struct). */
void eds_transport_close(eds_transport *t);

typedef struct eds_forward_options {
	bool headers_first;      /**< records first, payloads after via PUT */
	size_t batch;            /**< records per request, 1..1000 (default 100) */
	size_t batch_bytes;      /**< payload bytes per request (default 512 KiB) */
	unsigned backoff_min_ms; /**< first retry delay (default 200) */
	unsigned backoff_max_ms; /**< cap (default 30000); jitter: 50..100 % of the delay */
	unsigned idle_ms;        /**< poll interval when the queue is empty (default 200) */
} eds_forward_options;

/** Fill o with the defaults documented on each field (nothing else set).  NULL is ignored. */
void eds_forward_options_init(eds_forward_options *o);

/**
 * One forwarding step on the calling thread: learn the server head when
 * unknown, then deliver one batch (and, headers-first, pending payloads).
 * *moved (optional) receives how many records or payloads left the queue.
 * EDS_DONE when the queue is empty.  Errors: the transport's, EDS_E_IO for
 * NOT_STORED answers, the refusal (EDS_E_FORK, EDS_E_SEQUENCE...) otherwise;
 * after an error the server head is asked again next time.
 */
eds_status eds_agent_forward_once(eds_agent *a, eds_transport *t, const eds_forward_options *o,
                                  uint64_t *moved);

/**
 * Run eds_agent_forward_once on a background thread with exponential
 * backoff and jitter after errors.  The transport moves to the agent.
 * Errors: EDS_E_ARG, EDS_E_EXISTS (already running), EDS_E_INTERNAL.
 */
eds_status eds_agent_forward_start(eds_agent *a, eds_transport *t, const eds_forward_options *o);

/** Stop the background forwarder (waits for the step in flight). */
void eds_agent_forward_stop(eds_agent *a);

/**
 * Wait until the queue is empty or timeout_ms passes (forwarder running).
 * EDS_OK when empty, EDS_E_IO on timeout (detail says how many remain).
 */
eds_status eds_agent_flush(eds_agent *a, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
