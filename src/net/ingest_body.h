/*
 * ingest_body.h - the transport-neutral JSON bodies of the ingest API
 * (FORMAT.md 4): parsing {"record": ..., "payload": ...} items and building
 * the response bodies.  Shared by the HTTP server and the MQTT subscriber so
 * that both accept and answer exactly the same thing; not installed.
 */
#ifndef EDS_NET_INGEST_BODY_H
#define EDS_NET_INGEST_BODY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../ingest/ratelimit.h"
#include "edgesentry/ingest.h"

/** Parsed records: a POST /api/v1/records body, or MQTT messages. */
typedef struct eds_http_batch {
	int is_batch; /**< {"items": [...]} rather than one item */
	size_t n;
	eds_ingest_item *items;
	/** Pre-set per item: MALFORMED (with message) or ACCEPTED meaning "submit it". */
	eds_ingest_result *results;
	uint8_t **payloads; /**< decoded payload buffers, owned */
} eds_http_batch;

/**
 * Parse a records body.  A body that is not a JSON object of the right
 * shape is an error (EDS_E_MALFORMED, or EDS_E_LIMIT for more than
 * max_items), with a sentence in msg; a bad item inside a batch only marks
 * that item MALFORMED.
 */
eds_status eds_http_parse_records(const char *body, size_t len, size_t max_items,
                                  eds_http_batch *out, char *msg, size_t cap);

/*
 * The two ways eds_http_parse_records reads a body, apart for the tests and
 * the fuzzer, which check that they agree.  eds_body_parse_fast reads only
 * the exact form our clients write (see http_body.c) and returns 0, with b
 * empty, for any other text; when it returns 1, *st, b and msg are what
 * eds_body_parse_jansson gives for the same body.
 */
int eds_body_parse_fast(const char *body, size_t len, size_t max_items, eds_http_batch *b,
                        char *msg, size_t cap, eds_status *st);
eds_status eds_body_parse_jansson(const char *body, size_t len, size_t max_items, eds_http_batch *b,
                                  char *msg, size_t cap);

/**
 * Decode base64 text s[0..n) into out (room for n / 4 * 3 bytes) when it is
 * in RFC 4648's canonical form (standard alphabet, padded, unused bits zero):
 * 1 with *len set, else 0 (sodium_base642bin then decides).  Apart for the
 * tests and the fuzzer, which check it against sodium.
 */
int eds_base64_decode_canonical(uint8_t *out, const char *s, size_t n, size_t *len);

/** An empty batch of n items (all zero) to fill with eds_body_parse_item. */
eds_status eds_body_alloc(eds_http_batch *b, size_t n);

/**
 * Parse one single-record body (FORMAT.md 5: one MQTT message) into item
 * i of b: results[i] becomes ACCEPTED ("submit it") or MALFORMED with a
 * sentence.  Never fails otherwise.
 */
void eds_body_parse_item(const char *body, size_t len, eds_http_batch *b, size_t i);

/**
 * The per-device rate limit rl (NULL: none) on item i of b, still marked
 * ACCEPTED: over it, the item becomes RATE_LIMITED with a sentence naming
 * the wait, and never reaches the gate.  Returns the wait in whole seconds,
 * 0 when the item goes on.  Both servers, HTTP and MQTT, apply it alike.
 */
unsigned eds_body_rate_limit(eds_ratelimit *rl, eds_http_batch *b, size_t i);

/** Submit every item still marked ACCEPTED, in order; log the malformed ones. */
eds_status eds_http_submit(eds_ingest *svc, const eds_ingest_context *ctx, eds_http_batch *b);

void eds_http_batch_free(eds_http_batch *b);

/** The single-record response body of FORMAT.md 4 for a result. */
json_t *eds_http_result_json(const eds_ingest_result *res);

#endif
