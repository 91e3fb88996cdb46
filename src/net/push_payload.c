/*
 * push_payload.c - see push_payload.h.
 */
#include "push_payload.h"

#include <limits.h>

#include "edgesentry/payload.h"
#include "internal.h"

eds_status eds_push_too_large(const eds_record *r, const char *what)
{
	return eds_fail(EDS_E_LIMIT,
	                "record %s/%llu (payload %llu bytes): %s too large for the server (413 "
	                "too_large); raise the server's --max-body",
	                r->device_id, (unsigned long long)r->sequence,
	                (unsigned long long)r->payload_size, what);
}

eds_status eds_push_find_payload(const char *payload_dir, const eds_record *r, char **data,
                                 size_t *len, unsigned char *how)
{
	char path[PATH_MAX];
	*how = EDS_PUSH_PAYLOAD_NONE;
	if (payload_dir == NULL)
		return EDS_OK;
	eds_status st = eds_payload_path(path, sizeof path, payload_dir, r->payload_hash);
	if (st != EDS_OK)
		return st;
	st = eds_read_file(path, EDS_PUSH_PAYLOAD_MAX, data, len);
	if (st == EDS_OK || st == EDS_E_LIMIT)
		*how = st == EDS_OK ? EDS_PUSH_PAYLOAD_INLINE : EDS_PUSH_PAYLOAD_PUT;
	else if (st != EDS_E_NOT_FOUND)
		return eds_fail_prefix(st, "record %s/%llu: payload", r->device_id,
		                       (unsigned long long)r->sequence);
	return EDS_OK;
}

eds_status eds_push_put_payload(eds_http_client *http, const char *payload_dir, const eds_record *r,
                                eds_push_summary *sum)
{
	char path[PATH_MAX];
	eds_status st = eds_payload_path(path, sizeof path, payload_dir, r->payload_hash);
	if (st == EDS_OK)
		st = eds_http_client_put_payload_file(http, r->payload_hash, path);
	if (st == EDS_OK)
		sum->payloads++;
	else if (st == EDS_E_LIMIT)
		return eds_push_too_large(r, "the PUT of its payload is");
	else
		eds_fail_prefix(st, "record %s/%llu: payload", r->device_id,
		                (unsigned long long)r->sequence);
	return st;
}

eds_status eds_push_http_open(eds_http_client **out, const char *url, const char *cacert,
                              const char *cert, const char *key)
{
	/* a whole request (a 1 MiB batch, a large PUT) may take 2 minutes; connecting 10 s */
	eds_http_client_options o = {url, 120000, 10000, cacert, cert, key};
	return eds_http_client_open(out, &o);
}
