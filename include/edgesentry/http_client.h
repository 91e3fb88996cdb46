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

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eds_push_options {
	const char *url;         /**< server base URL, e.g. https://host:8443 */
	const char *payload_dir; /**< payload store to send payloads from; NULL: records only */
	size_t batch;            /**< records per request, 1..1000; 0: 100 */
	const char *cacert;      /**< CA file for the server certificate, or NULL */
	const char *cert;        /**< client certificate (PEM), or NULL */
	const char *key;         /**< its private key (PEM), or NULL */
} eds_push_options;

typedef struct eds_push_summary {
	uint64_t records;    /**< records read from the chain file */
	uint64_t skipped;    /**< already on the server (at or below its head) */
	uint64_t accepted;   /**< stored by the server now */
	uint64_t duplicates; /**< the server already had them (a retried request) */
	uint64_t requests;   /**< HTTP requests made */
	int refused;         /**< nonzero when the push stopped at a record the server refused */
} eds_push_summary;

/**
 * Send the records of chain_path that come after each device's head on the
 * server (GET .../head first), in batches, with their payloads when
 * payload_dir holds them.  Stops at the first refused record, naming it.
 * Errors: EDS_E_ARG, EDS_E_IO (network, HTTP status; detail says which),
 * EDS_E_UNKNOWN_DEVICE, EDS_E_MALFORMED (bad chain file or response), and
 * the record's refusal mapped to a status (EDS_E_FORK, EDS_E_SIGNATURE...).
 */
eds_status eds_push_chain(const char *chain_path, const eds_push_options *opts,
                          eds_push_summary *summary);

#ifdef __cplusplus
}
#endif
#endif
