/*
 * http_internal.h - pieces of the HTTP server shared between its files and
 * the tests; not installed.
 */
#ifndef EDS_NET_HTTP_INTERNAL_H
#define EDS_NET_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "edgesentry/http_server.h"
#include "edgesentry/ingest.h"

/** A parsed POST /api/v1/records body. */
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

/** Submit every item still marked ACCEPTED, in order; log the malformed ones. */
eds_status eds_http_submit(eds_ingest *svc, const eds_ingest_context *ctx, eds_http_batch *b);

void eds_http_batch_free(eds_http_batch *b);

/** The single-record response body of FORMAT.md 4 for a result. */
json_t *eds_http_result_json(const eds_ingest_result *res);

/** "A.B.C.D:PORT", "[V6]:PORT" or ":PORT" (all IPv6 and IPv4 addresses). */
eds_status eds_http_parse_listen(const char *text, struct sockaddr_storage *out);

eds_status eds_http_start_daemon(struct MHD_Daemon **d, const struct sockaddr_storage *addr,
                                 const eds_server_options *o, MHD_AccessHandlerCallback handler,
                                 void *hcls, MHD_RequestCompletedCallback done, void *dcls);

/**
 * The device id a verified client certificate names (its subject CN) into
 * out; nonzero with a sentence in why when there is none or it does not
 * verify against the client CA.
 */
int eds_tls_client_identity(struct MHD_Connection *c, char *out, size_t cap, char *why,
                            size_t whycap);

/** Growable text buffer for the metrics page. */
typedef struct eds_textbuf {
	char *p;
	size_t n, cap;
	int oom;
} eds_textbuf;

void eds_textbuf_printf(eds_textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Prometheus text exposition of the counters; ls may be NULL (ledger unreadable). */
void eds_metrics_format(eds_textbuf *b, const eds_ingest_stats *st, const uint64_t *lat,
                        const double *bounds, int nbuckets, uint64_t count, double sum,
                        const eds_ledger_stats *ls);

#endif
