/*
 * http_client_internal.h - the one HTTP(S) client of FORMAT.md section 4
 * (libcurl, one keep-alive connection): batch POST of records, GET of a
 * device head, PUT of a payload, TLS options.  Used by eds_push_chain
 * (`eds push`) and the agent's HTTP transport; not installed.
 */
#ifndef EDS_NET_HTTP_CLIENT_INTERNAL_H
#define EDS_NET_HTTP_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "edgesentry/error.h"
#include "edgesentry/record.h"

/** Longest base URL the client takes. */
#define EDS_HTTP_URL_MAX 2048
/** Room for eds_url_redact's text of such a URL ("***" may replace less). */
#define EDS_URL_SHOWN_MAX (EDS_HTTP_URL_MAX + 8)

typedef struct eds_http_client_options {
	const char *url;     /**< base URL, http:// or https:// (at most EDS_HTTP_URL_MAX) */
	unsigned timeout_ms; /**< whole request (0: 10000) */
	unsigned connect_timeout_ms; /**< connecting (0: timeout_ms) */
	const char *cacert;          /**< CA file for the server certificate, or NULL */
	const char *cert;            /**< client certificate (PEM, mutual TLS), or NULL */
	const char *key;             /**< its private key, or NULL */
} eds_http_client_options;

typedef struct eds_http_client eds_http_client;

/**
 * url as it may be shown in a message: its userinfo ("user:password@",
 * credentials curl would send) replaced by "***@".  out is cut to cap.
 */
void eds_url_redact(const char *url, char *out, size_t cap);

/** Per-item answer of a batch: status "accepted"/"duplicate"/"rejected", or "" when
 *  the item got none (non-200 answer); error: its code, the body's, or "HTTP N". */
typedef struct eds_http_item_result {
	char status[16];
	char error[48];
	char message[160];
} eds_http_item_result;

/** Errors: EDS_E_ARG (URL), EDS_E_NOMEM, EDS_E_INTERNAL (libcurl). */
eds_status eds_http_client_open(eds_http_client **out, const eds_http_client_options *o);
void eds_http_client_close(eds_http_client *c);

/** HTTP requests made so far. */
uint64_t eds_http_client_requests(const eds_http_client *c);

/**
 * Wait out a 429 or 503 with b (borrowed; NULL, the default: don't): the
 * request is made again after b's wait, until b gives up and the 429 or 503
 * is answered as usual.  b's rounds are not reset here: the caller knows
 * what counts as getting through.
 */
void eds_http_client_set_backoff(eds_http_client *c, eds_backoff *b);

/** The Retry-After of the last answer, in seconds; 0 when it had none. */
unsigned eds_http_client_retry_after(const eds_http_client *c);

/**
 * GET /api/v1/devices/{id}/head: *sequence, and hash when not NULL.
 * Errors: EDS_E_IO (network, HTTP status), EDS_E_UNKNOWN_DEVICE (404),
 * EDS_E_MALFORMED (answer without sequence, or record_hash when asked).
 */
eds_status eds_http_client_get_head(eds_http_client *c, const char *device_id, uint64_t *sequence,
                                    uint8_t hash[EDS_HASH_LEN]);

/**
 * PUT /api/v1/payloads/{hash}; 201 stored and 200 already stored are EDS_OK.
 * Errors: EDS_E_PAYLOAD_MISMATCH (422), EDS_E_NOT_FOUND (404: no record
 * names it), EDS_E_LIMIT (413: over the server's body limit), EDS_E_IO
 * otherwise.
 */
eds_status eds_http_client_put_payload(eds_http_client *c, const uint8_t hash[EDS_HASH_LEN],
                                       const uint8_t *payload, size_t len);

/**
 * eds_http_client_put_payload with the bytes of file (a regular file),
 * streamed from disk: memory does not grow with the payload.  A file that
 * cannot be opened or read is EDS_E_IO.
 */
eds_status eds_http_client_put_payload_file(eds_http_client *c, const uint8_t hash[EDS_HASH_LEN],
                                            const char *file);

/** Add a record (and its payload unless NULL) to the batch being built. */
eds_status eds_http_client_batch_add(eds_http_client *c, const eds_record *r,
                                     const uint8_t *payload, size_t len);

/** Items in the batch, and the bytes of the body that POSTs them all. */
size_t eds_http_client_batch_items(const eds_http_client *c);
size_t eds_http_client_batch_bytes(const eds_http_client *c);

/**
 * POST items [from, to) of the batch, which stays (a part answered 413 can
 * be sent again in smaller parts).  On an answer: EDS_OK, *code the HTTP
 * status, res[0..to-from) filled, *answered how many items the body
 * answered (0 unless 200).  Errors: EDS_E_ARG (an empty or outside range),
 * EDS_E_IO (no answer), EDS_E_NOMEM.
 */
eds_status eds_http_client_batch_post(eds_http_client *c, size_t from, size_t to,
                                      eds_http_item_result *res, long *code, size_t *answered);

/**
 * Drop the items of [from, to) whose keep[i - from] is 0; those kept and
 * the items after to move down, in order (a part to be sent again).
 */
void eds_http_client_batch_keep(eds_http_client *c, size_t from, size_t to,
                                const unsigned char *keep);

/** Empty the batch. */
void eds_http_client_batch_clear(eds_http_client *c);

/** eds_http_client_batch_post of the whole batch, then empty it. */
eds_status eds_http_client_batch_send(eds_http_client *c, eds_http_item_result *res, long *code,
                                      size_t *answered);

#endif
