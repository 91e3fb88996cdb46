/*
 * push_http.c - eds_push_chain on the HTTP client: read a chain file, ask
 * the server where each device's chain stands, send only what comes after,
 * in batches over one keep-alive connection.  Running it twice sends
 * nothing twice.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain_internal.h"
#include "edgesentry/edgesentry.h"
#include "edgesentry/http_client.h"
#include "http_client_internal.h"
#include "internal.h"
#include "push_loop.h"
#include "push_payload.h"

/* The server's default --max-body: no request of a push is larger. */
#define BODY_MAX (1u << 20)

/* The most body bytes one item adds to a batch: its record, its payload as
 * base64 (len bytes, or none), the JSON around them and a comma. */
#define ITEM_MAX(len)                                                                              \
	(EDS_RECORD_JSON_MAX + 32 + sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL))
_Static_assert(ITEM_MAX(EDS_PUSH_PAYLOAD_MAX) + 16 <= BODY_MAX, "one item always fits a request");

typedef struct pusher {
	const eds_push_options *o;
	eds_push_summary *sum;
	eds_http_client *http;
	eds_record *pending;  /* records in the current batch */
	unsigned char *how;   /* per pending record: EDS_PUSH_PAYLOAD_NONE, _INLINE or _PUT */
	unsigned char *again; /* per pending record: to be sent again (after a wait) */
	eds_http_item_result *res;
	size_t max_items; /* records per request: --batch, halved on each 413 */
	eds_backoff backoff;
} pusher;

/* The server's head of a device (eds_push_loop asks once per device). */
static eds_status ask_head(void *ctx, const char *id, uint64_t *seq)
{
	pusher *p = ctx;
	eds_status st = eds_http_client_get_head(p->http, id, seq, NULL);
	if (st == EDS_OK)
		eds_backoff_progress(&p->backoff);
	return st;
}

/* The server refused record r: the push stops there, naming it. */
static eds_status refusal(pusher *p, const eds_record *r, const eds_http_item_result *res)
{
	eds_status st = eds_chain_reason_status(res->error, EDS_E_IO);
	int transient = eds_push_transient(res->error);
	eds_push_note_refusal(p->sum, r->device_id, r->sequence, res->error);
	return eds_fail(st, "record %s/%llu %s: %s: %s%s", r->device_id,
	                (unsigned long long)r->sequence, transient ? "not stored now" : "refused",
	                res->error[0] ? res->error : "refused", res->message,
	                transient ? eds_push_waited(&p->backoff) : "");
}

static int stored(const char *status)
{
	return strcmp(status, "accepted") == 0 || strcmp(status, "duplicate") == 0;
}

/*
 * Keep, of items [from, to) of the batch, only those to be sent again, in
 * order, followed by the items after to: the client's texts, pending and
 * how alike.  Returns how many of [from, to) stay.
 */
static size_t keep_again(pusher *p, size_t from, size_t to)
{
	size_t n = eds_http_client_batch_items(p->http), k = from;
	eds_http_client_batch_keep(p->http, from, to, p->again + from);
	for (size_t i = from; i < n; i++)
		if (i >= to || p->again[i]) {
			p->pending[k] = p->pending[i];
			p->how[k] = p->how[i];
			p->again[k++] = 0;
		}
	return k - (n - to) - from;
}

/*
 * Count the answers to items [from, to) of the batch and PUT the payloads
 * too large to inline of the records stored.  The server goes on past a
 * refused item (later items of other devices are stored), so every answer
 * counts; the first refusal then ends the push.  Items the server could not
 * take now are kept in the batch after a wait (*again: how many), while the
 * backoff allows; then the first of them ends the push.
 */
static eds_status settle(pusher *p, size_t from, size_t to, size_t *again)
{
	size_t refused = to, first_again = to, got = 0;
	eds_status st = EDS_OK;
	for (size_t i = from; i < to; i++) {
		const char *status = p->res[i - from].status;
		p->again[i] = 0;
		p->sum->accepted += strcmp(status, "accepted") == 0;
		p->sum->duplicates += strcmp(status, "duplicate") == 0;
		if (stored(status)) {
			p->sum->payloads += p->how[i] == EDS_PUSH_PAYLOAD_INLINE;
			got++;
		} else if ((p->again[i] = (unsigned char)eds_push_send_again(
		                p->pending + from, p->again + from, i - from,
		                p->res[i - from].error)) != 0)
			first_again = first_again == to ? i : first_again;
		else if (refused == to)
			refused = i;
	}
	/* p->pending is eds_push_chain's and freed there; the analyzer loses it */
	for (size_t i = from; i < to && st == EDS_OK; i++)
		if (p->how[i] == EDS_PUSH_PAYLOAD_PUT && stored(p->res[i - from].status))
			// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
			st = eds_push_put_payload(p->http, p->o->payload_dir, &p->pending[i],
			                          p->sum);
	if (got > 0) /* whatever waits came before, this got through */
		eds_backoff_progress(&p->backoff);
	if (st != EDS_OK)
		return st;
	if (refused != to) // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
		return refusal(p, &p->pending[refused], &p->res[refused - from]);
	if (first_again == to)
		return EDS_OK;
	if (!eds_backoff_wait(&p->backoff, eds_http_client_retry_after(p->http)))
		// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
		return refusal(p, &p->pending[first_again], &p->res[first_again - from]);
	*again = keep_again(p, from, to);
	return EDS_OK;
}

/* POST items [from, to) of the batch; *code the HTTP status (413: nothing
 * stored); *again: items kept to be sent again from from (see settle). */
static eds_status post(pusher *p, size_t from, size_t to, long *code, size_t *again)
{
	size_t answered = 0;
	eds_status st = eds_http_client_batch_post(p->http, from, to, p->res, code, &answered);
	p->sum->batches++;
	if (st != EDS_OK || *code == 413)
		return st;
	if (*code != 200 || answered != to - from)
		return eds_fail(EDS_E_IO, "batch of %zu answered HTTP %ld: %s%s%s%s", to - from,
		                *code, p->res[0].error, p->res[0].message[0] ? ": " : "",
		                p->res[0].message,
		                *code == 429 || *code == 503 ? eds_push_waited(&p->backoff) : "");
	return settle(p, from, to, again);
}

/*
 * Send the batch.  A 413 for several records (the server's --max-batch or
 * --max-body is below this push's) halves the records per request, for
 * this batch and the later ones, down to one.
 */
static eds_status flush(pusher *p)
{
	size_t from = 0;
	eds_status st = EDS_OK;
	while (st == EDS_OK && from < eds_http_client_batch_items(p->http)) {
		size_t n = eds_http_client_batch_items(p->http), again = 0;
		size_t to = n - from > p->max_items ? from + p->max_items : n;
		long code = 0;
		st = post(p, from, to, &code, &again);
		if (st == EDS_OK && code == 413 && to - from == 1)
			st = eds_push_too_large(&p->pending[from], "sent alone, it is still");
		else if (st == EDS_OK && code == 413)
			p->max_items = (to - from) / 2;
		else if (again == 0)
			from = to;
	}
	eds_http_client_batch_clear(p->http);
	return st;
}

/* Add r with its payload when the payload store has it; the request stays
 * under BODY_MAX (the batch so far is sent first when r would pass it). */
static eds_status add(pusher *p, const eds_record *r)
{
	char *data = NULL;
	size_t len = 0;
	unsigned char how = EDS_PUSH_PAYLOAD_NONE;
	eds_status st = eds_push_find_payload(p->o->payload_dir, r, &data, &len, &how);
	int inline_ = how == EDS_PUSH_PAYLOAD_INLINE;
	if (st == EDS_OK && eds_http_client_batch_items(p->http) > 0 &&
	    eds_http_client_batch_bytes(p->http) + ITEM_MAX(inline_ ? len : 0) > BODY_MAX)
		st = flush(p);
	size_t i = eds_http_client_batch_items(p->http);
	if (st == EDS_OK) {
		p->pending[i] = *r;
		p->how[i] = how;
		st = eds_http_client_batch_add(p->http, r, inline_ ? (uint8_t *)data : NULL, len);
	}
	free(data);
	if (st == EDS_OK && i + 1 >= p->max_items)
		st = flush(p);
	return st;
}

/* put_payloads: PUT the payload of r, a record the server has already, when
 * the payload store holds it (the server may still wait for it). */
static eds_status put_skipped(void *ctx, const eds_record *r)
{
	pusher *p = ctx;
	char path[PATH_MAX];
	struct stat st;
	eds_status s = eds_payload_path(path, sizeof path, p->o->payload_dir, r->payload_hash);
	if (s != EDS_OK || (stat(path, &st) != 0 && errno == ENOENT))
		return s;
	s = eds_push_put_payload(p->http, p->o->payload_dir, r, p->sum);
	if (s != EDS_E_NOT_FOUND)
		return s;
	p->sum->payloads_unknown++; /* no stored record needs it: nothing to do */
	return EDS_OK;
}

static eds_status add_one(void *ctx, const eds_record *r)
{
	return add(ctx, r);
}

static eds_status flush_all(void *ctx)
{
	return flush(ctx);
}

static eds_status setup(pusher *p)
{
	if (p->pending == NULL || p->how == NULL || p->again == NULL || p->res == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory");
	eds_push_backoff_init(&p->backoff, p->o->retries);
	eds_status st =
	    eds_push_http_open(&p->http, p->o->url, p->o->cacert, p->o->cert, p->o->key);
	if (st == EDS_OK)
		eds_http_client_set_backoff(p->http, &p->backoff);
	return st;
}

eds_status eds_push_chain(const char *chain_path, const eds_push_options *opts,
                          eds_push_summary *summary)
{
	if (chain_path == NULL || opts == NULL || opts->url == NULL || summary == NULL)
		return eds_fail(EDS_E_ARG, "push: NULL argument");
	if (opts->batch > 1000)
		return eds_fail(EDS_E_ARG, "push: batch must be 1..1000");
	memset(summary, 0, sizeof *summary);
	if (eds_push_check_payload_dir(opts->payload_dir, "push: payload_dir") != EDS_OK)
		return EDS_E_ARG;
	if (opts->put_payloads && opts->payload_dir == NULL)
		return eds_fail(EDS_E_ARG, "push: put_payloads needs a payload_dir");
	eds_push_options o = *opts;
	o.batch = o.batch ? o.batch : 100;
	pusher p = {.o = &o,
	            .sum = summary,
	            .max_items = o.batch,
	            .pending = malloc(o.batch * sizeof(eds_record)),
	            .how = malloc(o.batch),
	            .again = malloc(o.batch),
	            .res = malloc(o.batch * sizeof(eds_http_item_result))};
	eds_record_reader *rd = NULL;
	eds_status st = eds_record_reader_open(&rd, chain_path);
	if (st == EDS_OK)
		st = setup(&p);
	eds_push_loop loop = {.ctx = &p,
	                      .ask_head = ask_head,
	                      .add = add_one,
	                      .flush = flush_all,
	                      .progress = o.progress,
	                      .progress_ctx = o.progress_ctx,
	                      .skip = o.put_payloads ? put_skipped : NULL};
	if (st == EDS_OK)
		st = eds_push_loop_run(&loop, rd, summary);
	eds_record_reader_close(rd);
	if (p.http)
		summary->requests = eds_http_client_requests(p.http);
	summary->waits = p.backoff.waits;
	summary->waited_ms = p.backoff.waited_ms;
	eds_http_client_close(p.http);
	free(p.pending);
	free(p.how);
	free(p.again);
	free(p.res);
	return st;
}
