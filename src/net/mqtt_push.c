/*
 * mqtt_push.c - eds_mqtt_push_chain: a chain file's records over the MQTT
 * transport, in batches, each batch published whole and then waited for.
 * Heads come from the HTTP API when a URL is given; without one every
 * record is sent and those the server has come back "duplicate".  A
 * payload too large for a message is PUT over HTTP once its record is
 * stored, as eds push does; without a URL it stops the push.  Records the
 * server cannot take now (rate_limited, storage_unavailable) are published
 * again after a wait, as eds push does over HTTP (push_http.c).
 */
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "chain_internal.h"
#include "edgesentry/edgesentry.h"
#include "edgesentry/mqtt.h"
#include "internal.h"
#include "push_loop.h"
#include "push_payload.h"

#define HEADS_MAX 4096

typedef struct mq_push {
	eds_transport t;
	eds_http_client *http; /* PUTs payloads over EDS_PUSH_PAYLOAD_MAX; NULL without a URL */
	const char *payload_dir;
	size_t batch, n;
	eds_push_summary *sum;
	eds_record *recs;
	char **pay;
	unsigned char *how;   /* per record: EDS_PUSH_PAYLOAD_NONE, _INLINE or _PUT */
	unsigned char *again; /* per record: to be published again (after a wait) */
	eds_transport_item *items;
	eds_transport_result *res;
	eds_backoff backoff;
} mq_push;

static eds_status refused(mq_push *p, const eds_record *r, const char *code)
{
	int transient = eds_push_transient(code);
	eds_push_note_refusal(p->sum, r->device_id, r->sequence, code);
	return eds_fail(eds_chain_reason_status(code, EDS_E_IO), "record %s/%llu %s: %s%s",
	                r->device_id, (unsigned long long)r->sequence,
	                transient ? "not stored now" : "refused", code,
	                transient ? eds_push_waited(&p->backoff) : "");
}

/* Record i of the batch was not stored: refused, not stored now, or no answer. */
static eds_status not_stored(mq_push *p, size_t i)
{
	if (p->res[i].delivery == EDS_DELIVERY_REFUSED || eds_push_transient(p->res[i].error))
		return refused(p, &p->recs[i], p->res[i].error);
	return eds_fail(EDS_E_IO, "record %s/%llu not stored: %s", p->recs[i].device_id,
	                (unsigned long long)p->recs[i].sequence, p->res[i].error);
}

/*
 * Count the stored records of the batch, also those after one not stored,
 * and mark those to be published again (eds_push_send_again); *first_again
 * is the first of them (p->n: none).  Returns the first record not stored
 * otherwise (p->n: none): the server goes on past it, the push stops there.
 */
static size_t count_stored(mq_push *p, size_t *first_again)
{
	size_t first_bad = p->n, got = 0;
	*first_again = p->n;
	for (size_t i = 0; i < p->n; i++) {
		p->again[i] = 0;
		if (p->res[i].delivery == EDS_DELIVERY_STORED) {
			p->sum->accepted++;
			p->sum->payloads += p->how[i] == EDS_PUSH_PAYLOAD_INLINE;
			got++;
		} else if ((p->again[i] = (unsigned char)eds_push_send_again(p->recs, p->again, i,
		                                                             p->res[i].error)) != 0)
			*first_again = *first_again == p->n ? i : *first_again;
		else if (first_bad == p->n)
			first_bad = i;
	}
	if (got > 0) /* whatever waits came before, this got through */
		eds_backoff_progress(&p->backoff);
	return first_bad;
}

/* PUT the payloads too large to publish, of the records now stored: the
 * server takes a payload only for a record it has (404 before). */
static eds_status put_large(mq_push *p)
{
	eds_status st = EDS_OK;
	for (size_t i = 0; st == EDS_OK && i < p->n; i++)
		if (p->how[i] == EDS_PUSH_PAYLOAD_PUT && p->res[i].delivery == EDS_DELIVERY_STORED)
			st = eds_push_put_payload(p->http, p->payload_dir, &p->recs[i], p->sum);
	return st;
}

/* Keep only the records to be published again, in order, with their
 * payloads; free the others' payloads. */
static void keep_again(mq_push *p)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!p->again[i]) {
			free(p->pay[i]);
			p->pay[i] = NULL;
			continue;
		}
		p->recs[k] = p->recs[i];
		p->pay[k] = p->pay[i];
		p->how[k] = p->how[i];
		p->items[k] = p->items[i];
		p->items[k].record = &p->recs[k];
		p->pay[i] = k == i ? p->pay[i] : NULL;
		k++;
	}
	p->n = k;
}

/*
 * Publish the batch once and count its answers.  Records the server could
 * not take now stay in the batch after a wait (*more set), while the
 * backoff allows; then the first of them ends the push.  A batch left with
 * no answer (timeout, lost broker) ends it too: the server may not be
 * there at all, and waiting would hide that (rerun the push).
 */
static eds_status send_once(mq_push *p, int *more)
{
	size_t first_again = p->n;
	*more = 0;
	p->sum->requests++;
	p->sum->batches++;
	eds_status st = p->t.ops->send(p->t.ctx, p->items, p->n, p->res);
	size_t first_bad = st == EDS_OK ? count_stored(p, &first_again) : p->n;
	if (st == EDS_OK)
		st = put_large(p);
	if (st == EDS_OK && first_bad < p->n)
		st = not_stored(p, first_bad);
	if (st != EDS_OK || first_again == p->n)
		return st;
	/* The MQTT answer names no Retry-After: the backoff's own steps. */
	if (!eds_backoff_wait(&p->backoff, 0))
		return not_stored(p, first_again);
	keep_again(p);
	*more = 1;
	return EDS_OK;
}

static eds_status flush(mq_push *p)
{
	eds_status st = EDS_OK;
	int more = p->n > 0;
	while (st == EDS_OK && more)
		st = send_once(p, &more);
	for (size_t i = 0; i < p->n; i++) {
		free(p->pay[i]);
		p->pay[i] = NULL;
	}
	p->n = 0;
	return st;
}

/* The server's head of a device (eds_push_loop asks once per device). */
static eds_status ask_head(void *ctx, const char *id, uint64_t *seq)
{
	mq_push *p = ctx;
	uint8_t hash[EDS_HASH_LEN];
	return p->t.ops->get_head(p->t.ctx, id, seq, hash);
}

/* A payload too large for a message, with no HTTP to PUT it by: stop
 * rather than publish its record without it (it would stay pending). */
static eds_status needs_url(const eds_record *r)
{
	return eds_fail(EDS_E_LIMIT,
	                "record %s/%llu: its payload (%llu bytes) is too large for an MQTT "
	                "message; payloads over 512 KiB need --url (HTTP upload) with --mqtt",
	                r->device_id, (unsigned long long)r->sequence,
	                (unsigned long long)r->payload_size);
}

static eds_status add(mq_push *p, const eds_record *r)
{
	size_t i = p->n, len = 0;
	eds_status st = eds_push_find_payload(p->payload_dir, r, &p->pay[i], &len, &p->how[i]);
	if (st == EDS_OK && p->how[i] == EDS_PUSH_PAYLOAD_PUT && p->http == NULL)
		st = needs_url(r);
	if (st != EDS_OK)
		return st;
	p->n++;
	p->recs[i] = *r;
	p->items[i] = (eds_transport_item){.record = &p->recs[i]};
	if (p->how[i] == EDS_PUSH_PAYLOAD_INLINE) {
		p->items[i].payload = (const uint8_t *)p->pay[i];
		p->items[i].payload_len = len;
	}
	return p->n >= p->batch ? flush(p) : EDS_OK;
}

static eds_status add_one(void *ctx, const eds_record *r)
{
	return add(ctx, r);
}

static eds_status flush_all(void *ctx)
{
	return flush(ctx);
}

/* Buffers for a batch, the MQTT transport, and with a URL and a payload
 * store the HTTP client for the payloads too large to publish. */
static eds_status setup(mq_push *p, const eds_mqtt_transport_options *o)
{
	p->recs = calloc(p->batch, sizeof *p->recs);
	p->pay = calloc(p->batch, sizeof *p->pay);
	p->how = calloc(p->batch, sizeof *p->how);
	p->again = calloc(p->batch, sizeof *p->again);
	p->items = calloc(p->batch, sizeof *p->items);
	p->res = calloc(p->batch, sizeof *p->res);
	if (!p->recs || !p->pay || !p->how || !p->again || !p->items || !p->res)
		return eds_fail(EDS_E_NOMEM, "push: out of memory");
	eds_push_backoff_init(&p->backoff, o->retries);
	eds_status st = eds_transport_mqtt(&p->t, o);
	if (st == EDS_OK && o->head_url != NULL && p->payload_dir != NULL)
		st = eds_push_http_open(&p->http, o->head_url, o->head_cacert, NULL, NULL);
	return st;
}

static void teardown(mq_push *p)
{
	for (size_t i = 0; p->pay != NULL && i < p->batch; i++)
		free(p->pay[i]);
	eds_http_client_close(p->http);
	eds_transport_close(&p->t);
	free(p->recs);
	free(p->pay);
	free(p->how);
	free(p->again);
	free(p->items);
	free(p->res);
}

eds_status eds_mqtt_push_chain(const char *chain_path, const eds_mqtt_transport_options *o,
                               const char *payload_dir, size_t batch, eds_push_summary *summary)
{
	if (chain_path == NULL || o == NULL || summary == NULL)
		return eds_fail(EDS_E_ARG, "push: NULL argument");
	if (batch > 1000)
		return eds_fail(EDS_E_ARG, "push: batch must be 1..1000");
	memset(summary, 0, sizeof *summary);
	if (eds_push_check_payload_dir(payload_dir, "push: payload_dir") != EDS_OK)
		return EDS_E_ARG;
	mq_push p = {.payload_dir = payload_dir, .batch = batch ? batch : 100, .sum = summary};
	eds_record_reader *rd = NULL;
	eds_status st = eds_record_reader_open(&rd, chain_path);
	if (st == EDS_OK)
		st = setup(&p, o);
	eds_push_loop loop = {.ctx = &p,
	                      .ask_head = ask_head,
	                      .add = add_one,
	                      .flush = flush_all,
	                      .max_devices = HEADS_MAX,
	                      .progress = o->progress,
	                      .progress_ctx = o->progress_ctx};
	if (st == EDS_OK)
		st = eds_push_loop_run(&loop, rd, summary);
	summary->waits = p.backoff.waits;
	summary->waited_ms = p.backoff.waited_ms;
	teardown(&p);
	eds_record_reader_close(rd);
	return st;
}
