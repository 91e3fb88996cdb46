/*
 * http_server.c - FORMAT.md section 4 on libmicrohttpd.
 *
 * Order of defences for each request, cheapest first, all before the body
 * is read: network policy (403), client certificate (403), per-source rate
 * limit (429), declared Content-Length against the body limit (413).  Only
 * then is the body buffered (still bounded), parsed, and handed to the
 * ingest service; per-device rate limits apply once the device is known.
 *
 * The network policy is applied when the request's headers are in rather
 * than in MHD's accept callback, because the API promises a 403
 * forbidden_source answer, and an accept callback can only drop the
 * connection.  Either way no body byte is read and no crypto runs.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../ingest/ratelimit.h"
#include "edgesentry/encoding.h"
#include "edgesentry/http_server.h"
#include "http_internal.h"
#include "internal.h"

#define LATENCY_BUCKETS 14
static const double latency_bounds[LATENCY_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

struct eds_server {
	struct MHD_Daemon *d;
	eds_ingest *svc;
	const eds_netpolicy *policy;
	eds_server_options opt;
	eds_ratelimit *source_rl, *device_rl;
	uint16_t port;
	int tls, client_certs;
	pthread_mutex_t log_lock;
	/* counters updated with __atomic builtins */
	uint64_t inflight;
	uint64_t latency[LATENCY_BUCKETS];
	uint64_t latency_count;
	double latency_sum;
	pthread_mutex_t latency_lock;
};

typedef struct req {
	char *buf;
	size_t len, cap;
	int too_large;
	uint64_t start_ns;
	eds_ingest_context ctx;
	char source[EDS_SOURCE_MAX];
	char identity[EDS_DEVICE_ID_MAX + 1];
} req;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- responses ---------------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
                               const char *type, unsigned retry_after, int close)
{
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after > 0) {
		char v[16];
		snprintf(v, sizeof v, "%u", retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *body, size_t len, unsigned retry_after, int close)
{
	return respond(c, status,
	               MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY),
	               type, retry_after, close);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body,
                                 unsigned retry_after, int close)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		return send_text(c, 500, "application/json", "{}", 2, 0, 1);
	enum MHD_Result rc =
	    send_text(c, status, "application/json", text, strlen(text), retry_after, close);
	free(text);
	return rc;
}

/* Ingest results (FORMAT.md 4): one, or {"results": [...]} for a batch. */
static enum MHD_Result send_results(struct MHD_Connection *c, unsigned status,
                                    const eds_ingest_result *res, size_t n, int is_batch,
                                    unsigned retry_after, int close)
{
	eds_textbuf b = {0};
	if (eds_http_results_text(&b, res, n, is_batch) != 0)
		return send_json(c, status, eds_http_results_json(res, n, is_batch), retry_after,
		                 close);
	if (b.oom) {
		free(b.p);
		return send_text(c, 500, "application/json", "{}", 2, 0, 1);
	}
	/* MHD takes the buffer and frees it: no copy. */
	struct MHD_Response *r = MHD_create_response_from_buffer(b.n, b.p, MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
		free(b.p);
	return respond(c, status, r, "application/json", retry_after, close);
}

/*
 * An error decided here (not by the gate): logged, counted, answered.
 * Floods of refused requests must not grow the ledger: only malformed
 * bodies go there, never a refused connection or a bad URL or framing.
 */
static enum MHD_Result refuse_as(eds_server *s, struct MHD_Connection *c, req *q,
                                 eds_ingest_outcome o, const char *msg, unsigned retry_after,
                                 int close, int to_ledger)
{
	eds_ingest_result res = {.outcome = o};
	snprintf(res.message, sizeof res.message, "%s", msg);
	eds_ingest_reject(s->svc, &q->ctx, NULL, 0, o, msg, to_ledger);
	return send_results(c, (unsigned)eds_ingest_http_status(o), &res, 1, 0, retry_after, close);
}

static enum MHD_Result refuse(eds_server *s, struct MHD_Connection *c, req *q, eds_ingest_outcome o,
                              const char *msg, unsigned retry_after, int close)
{
	return refuse_as(s, c, q, o, msg, retry_after, close, o == EDS_INGEST_MALFORMED);
}

/* A malformed URL or request framing: answered 400 and logged, not stored. */
static enum MHD_Result refuse_request(eds_server *s, struct MHD_Connection *c, req *q,
                                      const char *msg, int close)
{
	return refuse_as(s, c, q, EDS_INGEST_MALFORMED, msg, 0, close, 0);
}

/* ---- decision log ----------------------------------------------------------------- */

static void log_event(void *ctx, const eds_ledger_event *ev, const char *message)
{
	eds_server *s = ctx;
	if (s->opt.log == NULL)
		return;
	char hex[2 * EDS_HASH_LEN + 1] = "";
	if (!eds_is_zero(ev->record_hash, EDS_HASH_LEN))
		eds_hex_encode(hex, ev->record_hash, EDS_HASH_LEN);
	eds_textbuf b = {0};
	char *line = NULL;
	message = message ? message : "";
	if (eds_http_log_text(&b, ev, hex, message) != 0) {
		/* Not UTF-8: jansson decides, as it always did (it refuses such a line). */
		json_t *o = eds_http_log_json(ev, hex, message);
		line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	const char *text = line != NULL ? line : b.oom ? NULL : b.p;
	if (text != NULL) {
		pthread_mutex_lock(&s->log_lock);
		fprintf(s->opt.log, "%s\n", text);
		fflush(s->opt.log);
		pthread_mutex_unlock(&s->log_lock);
	}
	free(line);
	free(b.p);
}

/* ---- metrics ---------------------------------------------------------------------- */

static void observe_latency(eds_server *s, uint64_t ns)
{
	double sec = (double)ns / 1e9;
	int b = 0;
	while (b < LATENCY_BUCKETS - 1 && sec > latency_bounds[b])
		b++;
	pthread_mutex_lock(&s->latency_lock);
	s->latency[b]++;
	s->latency_count++;
	s->latency_sum += sec;
	pthread_mutex_unlock(&s->latency_lock);
}

static enum MHD_Result send_metrics(eds_server *s, struct MHD_Connection *c)
{
	eds_ingest_stats st;
	eds_ingest_stats_get(s->svc, &st);
	uint64_t lat[LATENCY_BUCKETS], count;
	double sum;
	pthread_mutex_lock(&s->latency_lock);
	memcpy(lat, s->latency, sizeof lat);
	count = s->latency_count;
	sum = s->latency_sum;
	pthread_mutex_unlock(&s->latency_lock);
	eds_ledger_stats ls = {0};
	eds_status lst = eds_ingest_ledger_stats(s->svc, &ls);
	eds_textbuf b = {0};
	eds_metrics_format(&b, &st, lat, latency_bounds, LATENCY_BUCKETS, count, sum,
	                   lst == EDS_OK ? &ls : NULL);
	enum MHD_Result rc = b.oom ? send_text(c, 500, "text/plain", "oom\n", 4, 0, 0)
	                           : send_text(c, 200, "text/plain; version=0.0.4", b.p, b.n, 0, 0);
	free(b.p);
	return rc;
}

/* ---- endpoints ------------------------------------------------------------------ */

static enum MHD_Result post_records(eds_server *s, struct MHD_Connection *c, req *q)
{
	eds_http_batch batch;
	char msg[192];
	eds_status st =
	    eds_http_parse_records(q->buf, q->len, s->opt.max_batch, &batch, msg, sizeof msg);
	if (st != EDS_OK)
		return refuse(s, c, q,
		              st == EDS_E_LIMIT ? EDS_INGEST_TOO_LARGE : EDS_INGEST_MALFORMED, msg,
		              0, 0);
	/* Per-device rate limit, item by item; limited items never reach the gate.
	 * A batch answer carries the longest wait as Retry-After too, so a client
	 * knows when to send its limited items again (eds push does). */
	unsigned wait = 0;
	for (size_t i = 0; i < batch.n; i++) {
		unsigned retry = eds_body_rate_limit(s->device_rl, &batch, i);
		wait = retry > wait ? retry : wait;
	}
	st = eds_http_submit(s->svc, &q->ctx, &batch);
	if (st != EDS_OK) {
		eds_http_batch_free(&batch);
		return refuse(s, c, q, EDS_INGEST_STORAGE, "The server is shutting down.", 0, 1);
	}
	eds_ingest_outcome o = batch.results[0].outcome;
	enum MHD_Result rc =
	    batch.is_batch ? send_results(c, 200, batch.results, batch.n, 1, wait, 0)
	                   : send_results(c, (unsigned)eds_ingest_http_status(o), batch.results, 1,
	                                  0, o == EDS_INGEST_RATE_LIMITED ? wait : 0, 0);
	eds_http_batch_free(&batch);
	return rc;
}

static enum MHD_Result put_payload(eds_server *s, struct MHD_Connection *c, req *q, const char *hex)
{
	uint8_t hash[EDS_HASH_LEN];
	if (strlen(hex) != 2 * EDS_HASH_LEN ||
	    eds_hex_decode(hash, sizeof hash, hex, strlen(hex)) != EDS_OK)
		return refuse_request(s, c, q,
		                      "The payload hash in the URL must be 64 hex characters.", 0);
	eds_ingest_result res;
	if (eds_ingest_put_payload(s->svc, &q->ctx, hash, (const uint8_t *)q->buf, q->len, &res) !=
	    EDS_OK)
		return refuse(s, c, q, EDS_INGEST_STORAGE, "The server is shutting down.", 0, 1);
	return send_results(c, (unsigned)eds_ingest_http_status(res.outcome), &res, 1, 0, 0, 0);
}

static enum MHD_Result get_head(eds_server *s, struct MHD_Connection *c, req *q, const char *id)
{
	uint64_t seq;
	uint8_t hash[EDS_HASH_LEN];
	char hex[2 * EDS_HASH_LEN + 1];
	eds_status st = eds_ingest_head(s->svc, id, &seq, hash);
	if (st == EDS_E_NOT_FOUND)
		return send_json(c, 404,
		                 json_pack("{s:s, s:s, s:s}", "status", "rejected", "error",
		                           "unknown_device", "message",
		                           "This device is not registered."),
		                 0, 0);
	if (st == EDS_E_FIELD)
		return refuse_request(s, c, q, "The device id in the URL is invalid.", 0);
	if (st != EDS_OK)
		return refuse(s, c, q, EDS_INGEST_STORAGE, "The ledger is unavailable.", 0, 0);
	eds_hex_encode(hex, hash, EDS_HASH_LEN);
	return send_json(c, 200,
	                 json_pack("{s:s, s:I, s:s}", "device_id", id, "sequence", (json_int_t)seq,
	                           "record_hash", hex),
	                 0, 0);
}

static enum MHD_Result send_healthz(eds_server *s, struct MHD_Connection *c)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	if (eds_ingest_healthy(s->svc))
		return send_text(c, 200, "application/json", ok, sizeof ok - 1, 0, 0);
	/* Not a decision: a load balancer's probes leave no line in the log. */
	eds_ingest_result res = {.outcome = EDS_INGEST_STORAGE};
	snprintf(res.message, sizeof res.message, "%s",
	         "The ledger or its payload files are not writable.");
	return send_results(c, 503, &res, 1, 0, 0, 0);
}

static enum MHD_Result not_found(struct MHD_Connection *c)
{
	static const char body[] =
	    "{\"status\":\"rejected\",\"error\":\"not_found\",\"message\":\"No such endpoint.\"}";
	return send_text(c, 404, "application/json", body, sizeof body - 1, 0, 0);
}

/* 405 names the methods the endpoint takes (Allow), as RFC 9110 asks. */
static enum MHD_Result not_allowed(struct MHD_Connection *c, const char *allow)
{
	static const char body[] = "{\"status\":\"rejected\",\"error\":\"method_not_allowed\","
	                           "\"message\":\"This endpoint does not take that method.\"}";
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (r != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	return respond(c, 405, r, "application/json", 0, 0);
}

enum endpoint { EP_RECORDS, EP_PAYLOAD, EP_HEAD, EP_HEALTHZ, EP_METRICS, EP_NONE };

/*
 * Which endpoint url names; *arg: the hash of a payload URL, or the device
 * id of a head URL (id_len bytes, at least one).
 */
static enum endpoint match(const char *url, const char **arg, size_t *id_len)
{
	static const char payloads[] = "/api/v1/payloads/", devices[] = "/api/v1/devices/",
	                  head[] = "/head";
	const size_t np = sizeof payloads - 1, nd = sizeof devices - 1, nh = sizeof head - 1;
	size_t n = strlen(url);
	*arg = url;
	if (strcmp(url, "/api/v1/records") == 0)
		return EP_RECORDS;
	if (strcmp(url, "/healthz") == 0)
		return EP_HEALTHZ;
	if (strcmp(url, "/metrics") == 0)
		return EP_METRICS;
	if (strncmp(url, payloads, np) == 0) {
		*arg = url + np;
		return EP_PAYLOAD;
	}
	if (strncmp(url, devices, nd) == 0 && n > nd + nh && strcmp(url + n - nh, head) == 0) {
		*arg = url + nd;
		*id_len = n - nd - nh;
		return EP_HEAD;
	}
	return EP_NONE;
}

static enum MHD_Result route(eds_server *s, struct MHD_Connection *c, req *q, const char *url,
                             const char *method)
{
	static const char *const takes[EP_NONE] = {"POST", "PUT", "GET", "GET", "GET"};
	const char *arg;
	size_t id_len = 0;
	enum endpoint e = match(url, &arg, &id_len);
	if (e == EP_NONE)
		return not_found(c);
	/* HEAD is GET without the body, which MHD leaves out itself. */
	int get = strcmp(takes[e], "GET") == 0;
	if (strcmp(method, takes[e]) != 0 && !(get && strcmp(method, "HEAD") == 0))
		return not_allowed(c, get ? "GET, HEAD" : takes[e]);
	switch (e) {
	case EP_RECORDS: return post_records(s, c, q);
	case EP_PAYLOAD: return put_payload(s, c, q, arg);
	case EP_HEALTHZ: return send_healthz(s, c);
	case EP_METRICS: return send_metrics(s, c);
	default: break;
	}
	char id[EDS_DEVICE_ID_MAX + 2];
	if (id_len >= sizeof id)
		return refuse_request(s, c, q, "The device id is too long.", 0);
	memcpy(id, arg, id_len);
	id[id_len] = '\0';
	return get_head(s, c, q, id);
}

/* ---- request life cycle ------------------------------------------------------------ */

static void peer_text(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char a[INET6_ADDRSTRLEN] = "?";
	if (ci != NULL && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET,
		          &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, a,
		          sizeof a);
	else if (ci != NULL && ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
		          a, sizeof a);
	snprintf(out, cap, "%s", a);
}

static int source_allowed(eds_server *s, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL && eds_netpolicy_allows(s->policy, ci->client_addr);
}

typedef struct framing {
	unsigned lengths, codings; /* Content-Length and Transfer-Encoding headers */
	const char *length, *coding;
	int lengths_differ;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
	(void)kind;
	framing *f = cls;
	value = value != NULL ? value : "";
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->lengths_differ |= f->lengths++ > 0 && strcmp(f->length, value) != 0;
		f->length = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->codings++;
		f->coding = value;
	}
	return MHD_YES;
}

/*
 * Why the body's framing is ambiguous (NULL: it is not).  Two lengths, or a
 * length beside a transfer coding, are how requests are smuggled past a
 * proxy that reads them the other way (RFC 9112 6.3); a coding other than
 * chunked would leave MHD waiting for a body it cannot read.
 */
static const char *framing_error(struct MHD_Connection *c)
{
	framing f = {0};
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
	if (f.lengths_differ)
		return "The request has two different Content-Length headers.";
	if (f.codings > 0 && f.lengths > 0)
		return "The request has both Content-Length and Transfer-Encoding.";
	if (f.codings > 1 || (f.codings == 1 && strcasecmp(f.coding, "chunked") != 0))
		return "The only Transfer-Encoding taken is chunked.";
	return NULL;
}

/* First call: headers are in, the body is not.  Returns MHD_YES to go on reading. */
static enum MHD_Result first_call(eds_server *s, struct MHD_Connection *c, void **con_cls)
{
	req *q = calloc(1, sizeof *q);
	if (q == NULL)
		return MHD_NO;
	*con_cls = q;
	q->start_ns = mono_ns();
	__atomic_add_fetch(&s->inflight, 1, __ATOMIC_SEQ_CST);
	peer_text(c, q->source, sizeof q->source);
	q->ctx.source = q->source;
	if (!source_allowed(s, c))
		return refuse(s, c, q, EDS_INGEST_FORBIDDEN_SOURCE,
		              "This source address is not allowed.", 0, 1);
	if (s->client_certs) {
		char why[128];
		if (eds_tls_client_identity(c, q->identity, sizeof q->identity, why, sizeof why) !=
		    0)
			return refuse(s, c, q, EDS_INGEST_FORBIDDEN_SOURCE, why, 0, 1);
		q->ctx.identity = q->identity;
	}
	const char *bad = framing_error(c);
	if (bad != NULL)
		return refuse_request(s, c, q, bad, 1);
	unsigned retry = 0;
	if (s->source_rl != NULL &&
	    !eds_ratelimit_take(s->source_rl, q->source, 1, mono_ns(), &retry))
		return refuse(s, c, q, EDS_INGEST_RATE_LIMITED,
		              "Too many requests from this source address.", retry, 0);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (cl != NULL && strtoull(cl, NULL, 10) > s->opt.max_body) {
		q->too_large = 1;
		return refuse(s, c, q, EDS_INGEST_TOO_LARGE, "The request body is over the limit.",
		              0, 1);
	}
	return MHD_YES;
}

static void append_body(eds_server *s, req *q, const char *data, size_t n)
{
	if (q->too_large || q->len + n > s->opt.max_body) {
		/* Chunked bodies have no declared length: discard the rest, answer 413 at the end.
		 */
		q->too_large = 1;
		return;
	}
	if (q->len + n > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		while (cap < q->len + n)
			cap *= 2;
		char *p = realloc(q->buf, cap);
		if (p == NULL) {
			q->too_large = 1;
			return;
		}
		q->buf = p;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	(void)version;
	eds_server *s = cls;
	if (*con_cls == NULL)
		return first_call(s, c, con_cls);
	req *q = *con_cls;
	if (*upload_size > 0) {
		append_body(s, q, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	enum MHD_Result rc = q->too_large ? refuse(s, c, q, EDS_INGEST_TOO_LARGE,
	                                           "The request body is over the limit.", 0, 1)
	                                  : route(s, c, q, url, method);
	return rc;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	(void)c;
	(void)toe;
	eds_server *s = cls;
	req *q = *con_cls;
	if (q == NULL)
		return;
	observe_latency(s, mono_ns() - q->start_ns);
	__atomic_sub_fetch(&s->inflight, 1, __ATOMIC_SEQ_CST);
	free(q->buf);
	free(q);
	*con_cls = NULL;
}

/* ---- start / stop ---------------------------------------------------------------- */

static eds_status make_limiters(eds_server *s)
{
	eds_status st = EDS_OK;
	const eds_server_options *o = &s->opt;
	if (o->source_rate > 0)
		st = eds_ratelimit_new(
		    &s->source_rl, o->source_rate,
		    o->source_burst > 0 ? o->source_burst : 2 * o->source_rate + 1, 1u << 16);
	if (st == EDS_OK && o->device_rate > 0)
		st = eds_ratelimit_new(
		    &s->device_rl, o->device_rate,
		    o->device_burst > 0 ? o->device_burst : 2 * o->device_rate + 1, 1u << 20);
	return st;
}

static void free_server(eds_server *s)
{
	eds_ratelimit_free(s->source_rl);
	eds_ratelimit_free(s->device_rl);
	pthread_mutex_destroy(&s->log_lock);
	pthread_mutex_destroy(&s->latency_lock);
	free(s);
}

static void set_defaults(eds_server_options *o)
{
	o->max_body = o->max_body ? o->max_body : 1u << 20;
	o->max_batch = o->max_batch ? o->max_batch : 1000;
	o->max_connections = o->max_connections ? o->max_connections : 256;
	o->timeout_s = o->timeout_s ? o->timeout_s : 15;
}

eds_status eds_server_start(eds_server **out, eds_ingest *svc, const eds_netpolicy *policy,
                            const eds_server_options *opts)
{
	if (out == NULL || svc == NULL || policy == NULL || opts == NULL)
		return eds_fail(EDS_E_ARG, "server: NULL argument");
	struct sockaddr_storage addr;
	eds_status st =
	    eds_http_parse_listen(opts->listen ? opts->listen : "127.0.0.1:8080", &addr);
	if (st == EDS_OK)
		st = eds_server_check_tls(opts);
	if (st != EDS_OK)
		return st;
	eds_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return eds_fail(EDS_E_NOMEM, "server: out of memory");
	s->svc = svc;
	s->policy = policy;
	s->opt = *opts;
	set_defaults(&s->opt);
	pthread_mutex_init(&s->log_lock, NULL);
	pthread_mutex_init(&s->latency_lock, NULL);
	s->tls = opts->tls_cert != NULL;
	s->client_certs = opts->tls_client_ca != NULL;
	if ((st = make_limiters(s)) == EDS_OK)
		st = eds_http_start_daemon(&s->d, &addr, &s->opt, handle, s, completed, s);
	if (st != EDS_OK) {
		free_server(s);
		return st;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	eds_ingest_set_log(svc, log_event, s);
	*out = s;
	return EDS_OK;
}

uint16_t eds_server_port(const eds_server *s)
{
	return s != NULL ? s->port : 0;
}

void eds_server_stop(eds_server *s, unsigned grace_ms)
{
	if (s == NULL)
		return;
	MHD_socket fd = MHD_quiesce_daemon(s->d);
	for (unsigned waited = 0;
	     __atomic_load_n(&s->inflight, __ATOMIC_SEQ_CST) > 0 && waited < grace_ms; waited += 10)
		usleep(10000);
	MHD_stop_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	eds_ingest_set_log(s->svc, NULL, NULL);
	free_server(s);
}
