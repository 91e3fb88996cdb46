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
#include "ingest_body.h"

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

/** Growable text buffer (the metrics page, client request bodies, answers). */
typedef struct eds_textbuf {
	char *p;
	size_t n, cap;
	int oom;
} eds_textbuf;

void eds_textbuf_printf(eds_textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Append s[0..n) (kept NUL-terminated). */
void eds_textbuf_add(eds_textbuf *b, const char *s, size_t n);

/** Append s as a JSON string with jansson's escapes; s must be valid UTF-8. */
void eds_textbuf_json_string(eds_textbuf *b, const char *s);

/** The decision log line of ev as a jansson object (hex: record hash or ""). */
json_t *eds_http_log_json(const eds_ledger_event *ev, const char *hex, const char *message);

/**
 * Append the text json_dumps(eds_http_log_json(...), JSON_COMPACT) prints,
 * without jansson; -1 (b untouched) when a string is not valid UTF-8.
 */
int eds_http_log_text(eds_textbuf *b, const eds_ledger_event *ev, const char *hex,
                      const char *message);

/** eds_http_result_json of one result, or {"results": [...]} of n when is_batch. */
json_t *eds_http_results_json(const eds_ingest_result *res, size_t n, int is_batch);

/**
 * Append to b the text json_dumps(eds_http_results_json(res, n, is_batch),
 * JSON_COMPACT) prints, written without jansson (b->oom when out of memory).
 * -1, with b untouched, when a message is not valid UTF-8: jansson refuses
 * such a string, and the caller goes through eds_http_results_json so that
 * the answer stays what it has always been.
 */
int eds_http_results_text(eds_textbuf *b, const eds_ingest_result *res, size_t n, int is_batch);

/** Prometheus text exposition of the counters; ls may be NULL (ledger unreadable). */
void eds_metrics_format(eds_textbuf *b, const eds_ingest_stats *st, const uint64_t *lat,
                        const double *bounds, int nbuckets, uint64_t count, double sum,
                        const eds_ledger_stats *ls);

#endif
