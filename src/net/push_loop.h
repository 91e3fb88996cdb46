/*
 * push_loop.h - the resume-after-the-server's-head loop of `eds push`,
 * shared by the HTTP (eds_push_chain) and MQTT (eds_mqtt_push_chain)
 * pushers, which differ only in how they ask a head and send a batch.
 * Not installed.
 */
#ifndef EDS_NET_PUSH_LOOP_H
#define EDS_NET_PUSH_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "edgesentry/error.h"
#include "edgesentry/http_client.h"
#include "edgesentry/record.h"
#include "edgesentry/record_file.h"

typedef struct eds_push_loop {
	void *ctx;
	/** The server's head sequence of device_id (0: none); asked once per device. */
	eds_status (*ask_head)(void *ctx, const char *device_id, uint64_t *sequence);
	/** Queue one record to send (may send a full batch). */
	eds_status (*add)(void *ctx, const eds_record *r);
	/** Send what is queued. */
	eds_status (*flush)(void *ctx);
	size_t max_devices;            /**< most distinct devices in one file (0: no bound) */
	eds_push_progress_fn progress; /**< NULL: none */
	void *progress_ctx;
	/** Called with each record skipped as already on the server (NULL: none). */
	eds_status (*skip)(void *ctx, const eds_record *r);
} eds_push_loop;

/**
 * Nonzero for an error code that says nothing about the record, only that
 * the server cannot take it now: rate_limited (the per-device limit;
 * the per-source one answers the whole request 429) and storage_unavailable.
 * Pushing again later stores it, so it is no refusal (exit 2, not 1).
 */
int eds_push_transient(const char *reason);

/**
 * Whether record n of recs (a batch, or the part of one just sent) is to be
 * sent again: the server answered it reason, one it could not take now
 * (eds_push_transient), or an earlier record of the same device is to be
 * sent again (again[j] for j < n), which leaves this one a gap whatever the
 * server said of it (a later sequence_gap is no refusal then).
 */
int eds_push_send_again(const eds_record *recs, const unsigned char *again, size_t n,
                        const char *reason);

/**
 * Start b for a push whose options say retries: 0 is EDS_PUSH_RETRIES_DEFAULT,
 * a negative number never waits.
 */
void eds_push_backoff_init(eds_backoff *b, int retries);

/** " (still so after waiting)" once b has waited, else "": the end of the
 * message of an answer that is no refusal yet ended the push. */
const char *eds_push_waited(const eds_backoff *b);

/**
 * Note that the server refused record device_id/sequence with error code
 * reason ("" gives "refused"): sets sum->refused and sum->refused_*, once
 * (the first refusal stays).  A transient reason (eds_push_transient) is
 * not noted.
 */
void eds_push_note_refusal(eds_push_summary *sum, const char *device_id, uint64_t sequence,
                           const char *reason);

/**
 * A payload store to send payloads from must be a directory (NULL: none,
 * fine); a missing one would send every record without its payload.
 * Errors: EDS_E_ARG, the detail "<name> <dir>: <why>".
 */
eds_status eds_push_check_payload_dir(const char *dir, const char *name);

/**
 * Read every record of rd in order: one at or below its device's head (as
 * the server reported it, then as this push advanced it) is counted in
 * sum->skipped (and given to l->skip), any other is added; flush at the end.  Counts sum->records
 * and sum->devices.  Calls l->progress whenever add or flush acknowledged
 * records (sum->accepted + sum->duplicates grew) and once at the end of a
 * successful run.  A head answered EDS_E_UNKNOWN_DEVICE is noted as the
 * refusal "unknown_device" of the device's first record.
 * Returns EDS_OK, the reader's error, the callbacks' errors, EDS_E_LIMIT
 * (more devices than max_devices) or EDS_E_NOMEM.
 */
eds_status eds_push_loop_run(const eds_push_loop *l, eds_record_reader *rd, eds_push_summary *sum);

#endif
