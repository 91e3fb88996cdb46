/*
 * push_payload.h - the payloads of `eds push`, shared by the HTTP
 * (eds_push_chain) and MQTT (eds_mqtt_push_chain) pushers: finding a
 * record's payload in the payload store, and uploading one too large to
 * travel with its record by PUT /api/v1/payloads/{hash}.  Not installed.
 */
#ifndef EDS_NET_PUSH_PAYLOAD_H
#define EDS_NET_PUSH_PAYLOAD_H

#include <stddef.h>

#include "edgesentry/error.h"
#include "edgesentry/http_client.h"
#include "edgesentry/record.h"
#include "http_client_internal.h"

/* The largest payload sent inline with its record: as base64 it stays under
 * the server's default 1 MiB body (HTTP) and message (MQTT) limit. */
#define EDS_PUSH_PAYLOAD_MAX (512u * 1024u)

/* How a record's payload travels. */
enum {
	EDS_PUSH_PAYLOAD_NONE,   /* no store, or not in it: it stays pending on the server */
	EDS_PUSH_PAYLOAD_INLINE, /* with its record */
	EDS_PUSH_PAYLOAD_PUT     /* over EDS_PUSH_PAYLOAD_MAX: PUT once its record is stored */
};

/**
 * r's payload in payload_dir (NULL: none): read into *data, which the
 * caller frees (*how EDS_PUSH_PAYLOAD_INLINE), too large to inline
 * (EDS_PUSH_PAYLOAD_PUT), or absent (EDS_PUSH_PAYLOAD_NONE).  A payload
 * file that is there but cannot be read is an error naming r, never sent
 * silently without.  Errors: EDS_E_IO, EDS_E_NOMEM, EDS_E_ARG.
 */
eds_status eds_push_find_payload(const char *payload_dir, const eds_record *r, char **data,
                                 size_t *len, unsigned char *how);

/**
 * PUT r's payload from payload_dir over http, streamed from the file (it
 * may be large); 201 and 200 count in sum->payloads.  Errors: those of
 * eds_http_client_put_payload_file with the detail naming r; a 413 is
 * EDS_E_LIMIT suggesting the server's --max-body.
 */
eds_status eds_push_put_payload(eds_http_client *http, const char *payload_dir, const eds_record *r,
                                eds_push_summary *sum);

/** EDS_E_LIMIT for a request about r the server answers 413 too_large;
 *  what says which ("sent alone, it is still"). */
eds_status eds_push_too_large(const eds_record *r, const char *what);

/** The HTTP client of a push (url, TLS files or NULL), with its timeouts. */
eds_status eds_push_http_open(eds_http_client **out, const char *url, const char *cacert,
                              const char *cert, const char *key);

#endif
