/*
 * edgesentry/mqtt.h - the ingest API over MQTT (FORMAT.md section 5) with
 * libmosquitto: the server's subscriber and the device's publisher.
 *
 * Topics: a device publishes one single-record body to
 * edgesentry/v1/records/{device_id} at QoS 1; the server answers on
 * edgesentry/v1/responses/{device_id} with the response body of FORMAT.md
 * 4 plus "sequence", and only after the record is durable.  A device counts
 * a record as delivered when it has that answer, never on the broker's
 * PUBACK (docs/server.md, "MQTT": the PUBACK comes before the commit).
 */
#ifndef EDGESENTRY_MQTT_H
#define EDGESENTRY_MQTT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "edgesentry/agent.h"
#include "edgesentry/error.h"
#include "edgesentry/http_client.h"
#include "edgesentry/ingest.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How to reach a broker (shared by the subscriber and the publishers). */
typedef struct eds_mqtt_broker {
	const char *address;   /**< "HOST:PORT" ("[V6]:PORT" for IPv6) */
	const char *client_id; /**< NULL: a default (server) or a random one (clients) */
	const char *username;  /**< NULL: none */
	const char *password;  /**< NULL: none */
	const char *cafile;    /**< CA file: use TLS 1.2+ and check the host name; NULL: plain */
	const char *certfile;  /**< client certificate (PEM) for TLS, or NULL */
	const char *keyfile;   /**< its private key (PEM), or NULL */
	unsigned keepalive_s;  /**< 0: 30 */
} eds_mqtt_broker;

typedef struct eds_mqtt_server_options {
	eds_mqtt_broker broker;
	size_t max_body;         /**< bytes per message; 0: 1 MiB */
	unsigned workers;        /**< parsing/submitting threads; 0: 4 */
	unsigned max_inflight;   /**< messages taken from the broker but not answered; 0: 1024 */
	unsigned backoff_min_ms; /**< first reconnect delay; 0: 250 */
	unsigned backoff_max_ms; /**< cap; 0: 30000; jitter: 50..100 % of the delay */
	FILE *log;               /**< JSON Lines connection events; NULL: none */
	/** Records/s per device, as eds_server_options.device_rate (0: no limit):
	 *  a record over it is answered rate_limited and never reaches the gate.
	 *  The buckets are the subscriber's own, apart from the HTTP server's. */
	double device_rate;
	double device_burst; /**< bucket size; 0: 2 x rate + 1 */
} eds_mqtt_server_options;

typedef struct eds_mqtt_server eds_mqtt_server;

/**
 * Start the subscriber (returns at once; it connects, and reconnects, in
 * the background with a persistent session).  svc is borrowed and must
 * outlive it.  Errors: EDS_E_ARG (address, options), EDS_E_KEY (TLS
 * files), EDS_E_NOMEM, EDS_E_IO.
 */
eds_status eds_mqtt_server_start(eds_mqtt_server **out, eds_ingest *svc,
                                 const eds_mqtt_server_options *o);

/** Nonzero while connected and subscribed. */
int eds_mqtt_server_connected(eds_mqtt_server *m);

/**
 * Graceful stop: stop reading from the broker, finish every message already
 * taken (commit and answer it; max_inflight bounds them), send the answers,
 * disconnect (the session stays on the broker), free.  NULL is ignored.
 */
void eds_mqtt_server_stop(eds_mqtt_server *m);

/** The device side: an eds_transport (agent.h) that publishes records over MQTT. */
typedef struct eds_mqtt_transport_options {
	eds_mqtt_broker broker;
	const char *head_url;    /**< ingest HTTP(S) base URL for device heads; NULL: head 0 */
	const char *head_cacert; /**< CA file for an https head_url, or NULL */
	unsigned timeout_ms;     /**< wait for the answers of one send; 0: 10000 */
	/** eds_mqtt_push_chain only (the transport ignores them): progress
	 *  after each answered batch, as eds_push_options.progress; NULL: none. */
	eds_push_progress_fn progress;
	void *progress_ctx; /**< passed to progress, borrowed */
	/** eds_mqtt_push_chain only, as eds_push_options.retries: records answered
	 *  rate_limited or storage_unavailable are published again after a wait
	 *  (1, 2, 4 ... 30 s: an MQTT answer names no Retry-After) until this many
	 *  waits in a row stored nothing.  0: EDS_PUSH_RETRIES_DEFAULT; negative:
	 *  never wait.  Added last, so callers that zero the struct get the default. */
	int retries;
} eds_mqtt_transport_options;

/**
 * The MQTT transport: send publishes every item at QoS 1, then waits for
 * all their answers (matched by device and sequence); a record counts as
 * stored only on an "accepted" or "duplicate" answer.  Payloads travel with
 * their records (put_payload is refused: no headers-first over MQTT).
 * get_head asks head_url over HTTP, or answers 0 without it (sending from
 * the first record is harmless: the server answers "duplicate").
 * Errors: EDS_E_ARG, EDS_E_KEY, EDS_E_NOMEM.
 */
eds_status eds_transport_mqtt(eds_transport *out, const eds_mqtt_transport_options *o);

/**
 * Publish a chain file's records (FORMAT.md 5) in batches of batch (0:
 * 100), waiting for every answer, and with head_url only the records after
 * each device's head.  Payloads come from payload_dir when given: inline
 * up to 512 KiB; a larger one (too large for a message) is PUT over HTTP
 * to head_url, streamed, once its record is stored, and without head_url
 * the push stops at its record before publishing it (EDS_E_LIMIT, the
 * detail naming the record).  summary->requests and summary->batches count
 * batches; accepted counts every stored record (duplicates included: the
 * MQTT answer does not tell them apart here); payloads counts inline and
 * PUT ones.  o->progress as eds_push_options.progress; refusals in
 * summary->refused_* as eds_push_chain.  Records answered rate_limited or
 * storage_unavailable are waited out (o->retries) and published again, with
 * the later records of their device in that batch (the server answers those
 * sequence_gap); each is counted once, when stored; summary->waits and
 * waited_ms as eds_push_chain.  A batch left without all its answers
 * (o->timeout_ms) is not waited out: EDS_E_IO (the broker or server may be
 * gone; rerun the push).  Errors as eds_push_chain.
 */
eds_status eds_mqtt_push_chain(const char *chain_path, const eds_mqtt_transport_options *o,
                               const char *payload_dir, size_t batch, eds_push_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
