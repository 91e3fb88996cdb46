/*
 * edgesentry/http_client.h - pushing a chain file to an ingest server
 * (libcurl, one keep-alive connection, HTTPS with optional client
 * certificate).
 */
#ifndef EDGESENTRY_HTTP_CLIENT_H
#define EDGESENTRY_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct eds_push_summary;

/**
 * Progress of a push, called after each batch the server acknowledged and
 * once more at the end of a push that succeeded (calls made from the
 * pushing thread, inside eds_push_chain / eds_mqtt_push_chain).  done:
 * bytes of the chain file handled so far (records sent and acknowledged,
 * or skipped as already on the server), never decreasing; total: the chain
 * file's size in bytes, 0 when unknown (a pipe).  On the last call of a
 * successful push from a regular file done == total.  so_far: the counts
 * up to now (the summary being filled), borrowed for the call only.
 */
typedef void (*eds_push_progress_fn)(void *ctx, uint64_t done, uint64_t total,
                                     const struct eds_push_summary *so_far);

typedef struct eds_push_options {
	const char *url;               /**< server base URL, e.g. https://host:8443 */
	const char *payload_dir;       /**< payload store (a directory), or NULL: records only */
	size_t batch;                  /**< records per request, 1..1000; 0: 100 */
	const char *cacert;            /**< CA file for the server certificate, or NULL */
	const char *cert;              /**< client certificate (PEM), or NULL */
	const char *key;               /**< its private key (PEM), or NULL */
	eds_push_progress_fn progress; /**< NULL: no progress reports */
	void *progress_ctx;            /**< passed to progress, borrowed */
	/**
	 * Nonzero: PUT the payload (from payload_dir, when there) of each record
	 * skipped as already on the server, whose payload the server may still
	 * wait for (pushed earlier without it).  201 and 200 count in
	 * summary->payloads, 404 (no record needs it) in payloads_unknown.
	 */
	int put_payloads;
	/**
	 * Waiting out a server that cannot take records now: a request answered
	 * 429 or 503, or records answered rate_limited or storage_unavailable,
	 * are sent again after the server's Retry-After (at most 60 s) or, when
	 * it names none, after 1, 2, 4 ... 30 s.  The push gives up after this
	 * many waits in a row with nothing stored in between (a push the server
	 * throttles goes on at the server's rate).  0: EDS_PUSH_RETRIES_DEFAULT;
	 * negative: never wait (the first such answer ends the push).
	 */
	int retries;
} eds_push_options;

/** eds_push_options.retries when 0: five waits in a row, 31 s without a Retry-After. */
#define EDS_PUSH_RETRIES_DEFAULT 5

typedef struct eds_push_summary {
	uint64_t records;    /**< records read from the chain file */
	uint64_t skipped;    /**< already on the server (at or below its head) */
	uint64_t accepted;   /**< stored by the server now */
	uint64_t duplicates; /**< the server already had them (a retried request) */
	uint64_t requests;   /**< HTTP requests made */
	int refused;         /**< nonzero when the push stopped at a record the server refused */
	uint64_t batches;    /**< batches of records sent (HTTP: POSTs; MQTT: as requests) */
	uint64_t payloads;   /**< payloads delivered: inline with a stored record, or PUT */
	uint64_t devices;    /**< distinct devices met in the chain file */
	/**
	 * The record the server refused (set with refused, "" / 0 otherwise):
	 * its device, its sequence, and the server's error code of FORMAT.md 4
	 * ("fork", "bad_signature", "sequence_gap", ...; "unknown_device" when
	 * the server does not know the device: its head was answered 404).
	 */
	char refused_device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t refused_sequence;
	char refused_reason[48];
	uint64_t payloads_unknown; /**< put_payloads: PUTs answered 404 unknown_payload */
	uint64_t waits;            /**< waits for a server that could not take records now */
	uint64_t waited_ms;        /**< their total length */
} eds_push_summary;

/**
 * Nonzero when summary records a refusal (refused_* name the record): the
 * push stopped because the server would not take a record, not because of
 * the network, the chain file or a server fault.  NULL gives 0.
 */
int eds_push_refused(const eds_push_summary *summary);

/**
 * Send the records of chain_path that come after each device's head on the
 * server (GET .../head first), in batches, with their payloads when
 * payload_dir holds them: inline up to 512 KiB, larger ones PUT (streamed)
 * once their record is stored.  No request passes 1 MiB (the server's
 * default body limit); a batch answered 413 is sent again in halves, down
 * to one record.  Stops at the first refused record, naming it (in the
 * detail and in summary->refused_*).  summary is filled as the push goes,
 * also on error; opts->progress, when set, sees it after each acknowledged
 * batch.
 * Errors: EDS_E_ARG (also a payload_dir that is not a directory), EDS_E_IO
 * (network, HTTP status, a payload file that cannot be read; detail says
 * which; with put_payloads, also a PUT answered neither 200, 201 nor 404), EDS_E_LIMIT (a line of
 * the chain file too long; a record, or the PUT of its payload, answered 413 alone),
 * EDS_E_MALFORMED (bad chain file or response), and the refusals (eds_push_refused is true):
 * EDS_E_UNKNOWN_DEVICE, or the record's refusal mapped to a status
 * (EDS_E_FORK, EDS_E_SIGNATURE, ...; EDS_E_IO for a code without one).  A record
 * answered rate_limited or storage_unavailable, or a request answered 429 or
 * 503, is waited out (opts->retries); when the waits run out it is no
 * refusal (the server may take it later): EDS_E_IO, eds_push_refused false.
 */
eds_status eds_push_chain(const char *chain_path, const eds_push_options *opts,
                          eds_push_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
