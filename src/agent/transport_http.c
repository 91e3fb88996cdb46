/*
 * transport_http.c - the agent's HTTP(S) transport (FORMAT.md section 4):
 * a thin adapter from eds_transport_ops to the shared HTTP client
 * (src/net/http_client.c, also behind `eds push`).
 *
 * Only an explicit "accepted" or "duplicate" counts as stored; a 503, a
 * 429, a timeout or an unreadable answer leaves every item NOT_STORED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../net/http_client_internal.h"
#include "edgesentry/agent.h"
#include "internal.h"

static eds_status http_get_head(void *ctx, const char *device_id, uint64_t *sequence,
                                uint8_t hash[EDS_HASH_LEN])
{
	return eds_http_client_get_head(ctx, device_id, sequence, hash);
}

/* Delivery class of one answered or unanswered item. */
static eds_delivery delivery(const eds_http_item_result *r, long code)
{
	if (strcmp(r->status, "accepted") == 0 || strcmp(r->status, "duplicate") == 0)
		return EDS_DELIVERY_STORED;
	if (code == 200)
		return !r->status[0] || strcmp(r->error, "storage_unavailable") == 0 ||
		               strcmp(r->error, "rate_limited") == 0
		           ? EDS_DELIVERY_NOT_STORED
		           : EDS_DELIVERY_REFUSED;
	/* a whole-request 4xx is the server's verdict on the records; 429 and 5xx are not */
	return code >= 400 && code < 500 && code != 429 ? EDS_DELIVERY_REFUSED
	                                                : EDS_DELIVERY_NOT_STORED;
}

static eds_status http_send(void *ctx, const eds_transport_item *items, size_t n,
                            eds_transport_result *res)
{
	eds_http_item_result *r = calloc(n ? n : 1, sizeof *r);
	if (!r)
		return eds_fail(EDS_E_NOMEM, "http: out of memory");
	eds_status st = EDS_OK;
	for (size_t i = 0; i < n && st == EDS_OK; i++)
		st = eds_http_client_batch_add(ctx, items[i].record, items[i].payload,
		                               items[i].payload_len);
	long code = 0;
	size_t answered = 0;
	if (st == EDS_OK)
		st = eds_http_client_batch_send(ctx, r, &code, &answered);
	for (size_t i = 0; i < n && st == EDS_OK; i++) {
		res[i].delivery = delivery(&r[i], code);
		snprintf(res[i].error, sizeof res[i].error, "%s", r[i].error);
	}
	free(r);
	return st;
}

static eds_status http_put_payload(void *ctx, const uint8_t hash[EDS_HASH_LEN],
                                   const uint8_t *payload, size_t len)
{
	return eds_http_client_put_payload(ctx, hash, payload, len);
}

static void http_destroy(void *ctx)
{
	eds_http_client_close(ctx);
}

static const eds_transport_ops http_ops = {http_get_head, http_send, http_put_payload,
                                           http_destroy};

eds_status eds_transport_http(eds_transport *out, const eds_http_transport_options *o)
{
	if (!out || !o)
		return eds_fail(EDS_E_ARG, "eds_transport_http: NULL argument");
	eds_http_client_options ho = {o->url, o->timeout_ms, 0, o->cacert, o->cert, o->key};
	eds_http_client *c = NULL;
	eds_status st = eds_http_client_open(&c, &ho);
	if (st != EDS_OK)
		return st;
	out->ops = &http_ops;
	out->ctx = c;
	return EDS_OK;
}
