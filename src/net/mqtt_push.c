/*
 * mqtt_push.c - eds_mqtt_push_chain: a chain file's records over the MQTT
 * transport, in batches, each batch published whole and then waited for.
 * Heads come from the HTTP API when a URL is given; without one every
 * record is sent and those the server has come back "duplicate".
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "chain_internal.h"
#include "edgesentry/edgesentry.h"
#include "edgesentry/mqtt.h"
#include "internal.h"
#include "push_loop.h"

#define PAYLOAD_MAX (512u * 1024u) /* under the server's 1 MiB message limit as base64 */
#define HEADS_MAX   4096

typedef struct mq_push {
	eds_transport t;
	const char *payload_dir;
	size_t batch, n;
	eds_push_summary *sum;
	eds_record *recs;
	char **pay;
	eds_transport_item *items;
	eds_transport_result *res;
} mq_push;

static eds_status refused(eds_push_summary *sum, const eds_record *r, const char *code)
{
	eds_push_note_refusal(sum, r->device_id, r->sequence, code);
	return eds_fail(eds_chain_reason_status(code, EDS_E_IO), "record %s/%llu refused: %s",
	                r->device_id, (unsigned long long)r->sequence, code);
}

/* Record i of the batch was not stored: refused, or no answer. */
static eds_status not_stored(mq_push *p, size_t i)
{
	if (p->res[i].delivery == EDS_DELIVERY_REFUSED)
		return refused(p->sum, &p->recs[i], p->res[i].error);
	return eds_fail(EDS_E_IO, "record %s/%llu not stored: %s", p->recs[i].device_id,
	                (unsigned long long)p->recs[i].sequence, p->res[i].error);
}

static eds_status flush(mq_push *p)
{
	if (p->n == 0)
		return EDS_OK;
	p->sum->requests++;
	p->sum->batches++;
	eds_status st = p->t.ops->send(p->t.ctx, p->items, p->n, p->res);
	size_t first_bad = p->n;
	/* every stored record counts, also those after one the server refused */
	for (size_t i = 0; st == EDS_OK && i < p->n; i++) {
		if (p->res[i].delivery == EDS_DELIVERY_STORED) {
			p->sum->accepted++;
			p->sum->payloads += p->items[i].payload != NULL;
		} else if (first_bad == p->n)
			first_bad = i;
	}
	if (st == EDS_OK && first_bad < p->n)
		st = not_stored(p, first_bad);
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

static eds_status add(mq_push *p, const eds_record *r)
{
	char path[PATH_MAX];
	size_t i = p->n++, len = 0;
	p->recs[i] = *r;
	p->items[i] = (eds_transport_item){.record = &p->recs[i]};
	if (p->payload_dir != NULL &&
	    eds_payload_path(path, sizeof path, p->payload_dir, r->payload_hash) == EDS_OK &&
	    eds_read_file(path, PAYLOAD_MAX, &p->pay[i], &len) == EDS_OK) {
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
	p.recs = calloc(p.batch, sizeof *p.recs);
	p.pay = calloc(p.batch, sizeof *p.pay);
	p.items = calloc(p.batch, sizeof *p.items);
	p.res = calloc(p.batch, sizeof *p.res);
	eds_record_reader *rd = NULL;
	eds_status st = p.recs && p.pay && p.items && p.res
	                    ? EDS_OK
	                    : eds_fail(EDS_E_NOMEM, "push: out of memory");
	if (st == EDS_OK)
		st = eds_record_reader_open(&rd, chain_path);
	if (st == EDS_OK)
		st = eds_transport_mqtt(&p.t, o);
	eds_push_loop loop = {.ctx = &p,
	                      .ask_head = ask_head,
	                      .add = add_one,
	                      .flush = flush_all,
	                      .max_devices = HEADS_MAX,
	                      .progress = o->progress,
	                      .progress_ctx = o->progress_ctx};
	if (st == EDS_OK)
		st = eds_push_loop_run(&loop, rd, summary);
	for (size_t i = 0; p.pay != NULL && i < p.batch; i++)
		free(p.pay[i]);
	eds_transport_close(&p.t);
	eds_record_reader_close(rd);
	free(p.recs);
	free(p.pay);
	free(p.items);
	free(p.res);
	return st;
}
