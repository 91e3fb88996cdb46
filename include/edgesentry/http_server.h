/*
 * edgesentry/http_server.h - the ingest API of FORMAT.md section 4 over
 * HTTP/1.1 (libmicrohttpd, TLS 1.2/1.3 through GnuTLS).
 *
 * One thread per connection (bounded by max_connections): a request thread
 * parses JSON and checks signatures in parallel with the others, then
 * sleeps until the ingest service's group commit makes its records durable.
 */
#ifndef EDGESENTRY_HTTP_SERVER_H
#define EDGESENTRY_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "edgesentry/error.h"
#include "edgesentry/ingest.h"
#include "edgesentry/netpolicy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eds_server_options {
	const char *listen;        /**< "ADDR:PORT", "[V6]:PORT"; port 0 picks a free one */
	size_t max_body;           /**< bytes; 0: 1 MiB */
	size_t max_batch;          /**< items per batch request; 0: 1000 */
	unsigned max_connections;  /**< 0: 256 */
	unsigned timeout_s;        /**< idle connection timeout; 0: 15 */
	double source_rate;        /**< requests/s per source address; 0: no limit */
	double source_burst;       /**< bucket size; 0: 2 x rate (at least 1) */
	double device_rate;        /**< records/s per device; 0: no limit */
	double device_burst;       /**< bucket size; 0: 2 x rate (at least 1) */
	const char *tls_cert;      /**< PEM text of the certificate chain; NULL: plain HTTP */
	const char *tls_key;       /**< PEM text of its private key */
	const char *tls_client_ca; /**< PEM text of CAs for client certificates; NULL: none */
	FILE *log;                 /**< JSON Lines decision log; NULL: none */
} eds_server_options;

typedef struct eds_server eds_server;

/**
 * Start serving (returns once listening).  svc and policy are borrowed and
 * must outlive the server.  Errors: EDS_E_ARG (bad listen address or
 * option, detail names it), EDS_E_IO (cannot bind), EDS_E_KEY (TLS files),
 * EDS_E_NOMEM.
 */
eds_status eds_server_start(eds_server **out, eds_ingest *svc, const eds_netpolicy *policy,
                            const eds_server_options *opts);

/**
 * Check the TLS files of opts as eds_server_start will use them, so that a
 * bad one is named before anything else starts: the pairing (a certificate
 * needs its key; a key or client CA needs a certificate), a PEM certificate
 * that has not expired, an unencrypted key that is the certificate's, a
 * client CA file holding a certificate.  EDS_OK without TLS.  Errors:
 * EDS_E_ARG (pairing), EDS_E_KEY (the files), EDS_E_NOMEM.
 */
eds_status eds_server_check_tls(const eds_server_options *opts);

/** The port actually bound (useful with port 0); 0 for NULL. */
uint16_t eds_server_port(const eds_server *s);

/**
 * Graceful stop: stop accepting, let requests in flight finish (at most
 * grace_ms), close every connection, free.  NULL is ignored.
 */
void eds_server_stop(eds_server *s, unsigned grace_ms);

#ifdef __cplusplus
}
#endif
#endif
