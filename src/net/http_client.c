/*
 * http_client.c - eds_push_chain: read a chain file, ask the server where
 * each device's chain stands, send only what comes after, in batches over
 * one keep-alive connection.  Running it twice sends nothing twice.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/http_client.h"
#include "http_internal.h"
#include "internal.h"

#define RESPONSE_MAX (16u << 20)
/* Keep requests under the server's default 1 MiB body limit. */
#define BODY_SOFT_MAX (768u * 1024u)
#define PAYLOAD_MAX   (512u * 1024u)

typedef struct head {
	char id[EDS_DEVICE_ID_MAX + 1];
	uint64_t seq;
} head;

typedef struct pusher {
	const eds_push_options *o;
	eds_push_summary *sum;
	CURL *curl;
	struct curl_slist *hdrs;
	eds_textbuf resp, body;
	size_t nitems;
	eds_record *pending; /* records in the current body, for error messages */
	head *heads;
	size_t nheads, capheads;
} pusher;

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	eds_textbuf *b = ctx;
	if (b->n + size * n > RESPONSE_MAX)
		return 0;
	eds_textbuf_printf(b, "%.*s", (int)(size * n), p);
	return b->oom ? 0 : size * n;
}

/* One request; *status gets the HTTP status, p->resp the body. */
static eds_status http(pusher *p, const char *method, const char *path, const char *body,
                       long *status)
{
	char url[2048];
	snprintf(url, sizeof url, "%s%s", p->o->url, path);
	p->resp.n = 0;
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(p->curl, CURLOPT_HTTPGET, body == NULL ? 1L : 0L);
	if (body != NULL) {
		curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode rc = curl_easy_perform(p->curl);
	p->sum->requests++;
	if (rc != CURLE_OK)
		return eds_fail(EDS_E_IO, "%s: %s", url, curl_easy_strerror(rc));
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, status);
	eds_textbuf_printf(&p->resp, "%s", "");
	return p->resp.oom ? eds_fail(EDS_E_NOMEM, "response: out of memory") : EDS_OK;
}

static head *find_head(pusher *p, const char *id)
{
	for (size_t i = p->nheads; i > 0; i--)
		if (strcmp(p->heads[i - 1].id, id) == 0)
			return &p->heads[i - 1];
	return NULL;
}

/* The server's head of a device (GET once per device, then tracked locally). */
static eds_status get_head(pusher *p, const char *id, head **out)
{
	if ((*out = find_head(p, id)) != NULL)
		return EDS_OK;
	char path[256];
	long status = 0;
	snprintf(path, sizeof path, "/api/v1/devices/%s/head", id);
	eds_status st = http(p, "GET", path, NULL, &status);
	if (st != EDS_OK)
		return st;
	if (status == 404)
		return eds_fail(EDS_E_UNKNOWN_DEVICE, "device %s: not registered on the server",
		                id);
	json_t *j = json_loads(p->resp.p, 0, NULL);
	json_t *seq = json_object_get(j, "sequence");
	if (status != 200 || !json_is_integer(seq) || json_integer_value(seq) < 0) {
		json_decref(j);
		return eds_fail(EDS_E_IO, "device %s: head request answered %ld", id, status);
	}
	if (p->nheads == p->capheads) {
		size_t cap = p->capheads ? p->capheads * 2 : 16;
		head *h = realloc(p->heads, cap * sizeof *h);
		if (h == NULL) {
			json_decref(j);
			return eds_fail(EDS_E_NOMEM, "out of memory");
		}
		p->heads = h;
		p->capheads = cap;
	}
	*out = &p->heads[p->nheads++];
	snprintf((*out)->id, sizeof(*out)->id, "%s", id);
	(*out)->seq = (uint64_t)json_integer_value(seq);
	json_decref(j);
	return EDS_OK;
}

/* The server refused record r: the push stops there, naming it. */
static eds_status refusal(pusher *p, const eds_record *r, const char *code, const char *msg)
{
	static const struct {
		const char *code;
		eds_status st;
	} map[] = {{"fork", EDS_E_FORK},
	           {"bad_signature", EDS_E_SIGNATURE},
	           {"sequence_gap", EDS_E_SEQUENCE},
	           {"prev_hash_mismatch", EDS_E_PREV_HASH},
	           {"unknown_device", EDS_E_UNKNOWN_DEVICE},
	           {"revoked_device", EDS_E_REVOKED},
	           {"payload_mismatch", EDS_E_PAYLOAD_MISMATCH}};
	eds_status st = EDS_E_IO;
	p->sum->refused = 1;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].code, code) == 0)
			st = map[i].st;
	return eds_fail(st, "record %s/%llu refused: %s: %s", r->device_id,
	                (unsigned long long)r->sequence, code, msg);
}

static const char *text_or(json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

static eds_status check_results(pusher *p, long status)
{
	json_t *j = json_loads(p->resp.p, 0, NULL);
	json_t *res = json_object_get(j, "results");
	eds_status st = EDS_OK;
	if (status != 200 || json_array_size(res) != p->nitems) {
		json_t *e = json_object_get(j, "error");
		st = eds_fail(EDS_E_IO, "batch of %zu answered HTTP %ld%s%s", p->nitems, status,
		              json_is_string(e) ? ": " : "",
		              json_is_string(e) ? json_string_value(e) : "");
	}
	for (size_t i = 0; st == EDS_OK && i < p->nitems; i++) {
		json_t *r = json_array_get(res, i);
		const char *s = json_string_value(json_object_get(r, "status"));
		if (s != NULL && strcmp(s, "accepted") == 0)
			p->sum->accepted++;
		else if (s != NULL && strcmp(s, "duplicate") == 0)
			p->sum->duplicates++;
		else
			st = refusal(p, &p->pending[i],
			             text_or(json_object_get(r, "error"), "refused"),
			             text_or(json_object_get(r, "message"), ""));
	}
	json_decref(j);
	return st;
}

static eds_status flush(pusher *p)
{
	if (p->nitems == 0)
		return EDS_OK;
	eds_textbuf_printf(&p->body, "]}");
	if (p->body.oom)
		return eds_fail(EDS_E_NOMEM, "out of memory");
	long status = 0;
	eds_status st = http(p, "POST", "/api/v1/records", p->body.p, &status);
	if (st == EDS_OK)
		st = check_results(p, status);
	p->nitems = 0;
	p->body.n = 0;
	return st;
}

/* Base64 of the payload file when the payload store has it; NULL otherwise. */
static char *payload_b64(const pusher *p, const eds_record *r)
{
	char path[PATH_MAX], *data = NULL;
	size_t len = 0;
	if (p->o->payload_dir == NULL ||
	    eds_payload_path(path, sizeof path, p->o->payload_dir, r->payload_hash) != EDS_OK ||
	    eds_read_file(path, PAYLOAD_MAX, &data, &len) != EDS_OK)
		return NULL;
	size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(cap);
	if (b64 != NULL)
		sodium_bin2base64(b64, cap, (const unsigned char *)data, len,
		                  sodium_base64_VARIANT_ORIGINAL);
	free(data);
	return b64;
}

static eds_status add(pusher *p, const eds_record *r)
{
	char json[EDS_RECORD_JSON_MAX];
	eds_status st = eds_record_to_json(r, json, sizeof json, NULL);
	if (st != EDS_OK)
		return st;
	char *b64 = payload_b64(p, r);
	eds_textbuf_printf(&p->body, "%s{\"record\":%s", p->nitems ? "," : "{\"items\":[", json);
	if (b64 != NULL)
		eds_textbuf_printf(&p->body, ",\"payload\":\"%s\"", b64);
	eds_textbuf_printf(&p->body, "}");
	free(b64);
	p->pending[p->nitems++] = *r;
	if (p->nitems >= p->o->batch || p->body.n >= BODY_SOFT_MAX)
		return flush(p);
	return EDS_OK;
}

static eds_status push_all(pusher *p, eds_record_reader *rd)
{
	eds_record r;
	eds_status st;
	while ((st = eds_record_reader_next(rd, &r)) == EDS_OK) {
		head *h;
		p->sum->records++;
		if ((st = get_head(p, r.device_id, &h)) != EDS_OK)
			return st;
		if (r.sequence <= h->seq) {
			p->sum->skipped++;
			continue;
		}
		h->seq = r.sequence;
		if ((st = add(p, &r)) != EDS_OK)
			return st;
	}
	return st == EDS_DONE ? flush(p) : st;
}

static eds_status setup(pusher *p)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (p->curl = curl_easy_init()) == NULL)
		return eds_fail(EDS_E_INTERNAL, "libcurl: cannot start");
	p->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	p->pending = malloc(p->o->batch * sizeof *p->pending);
	if (p->hdrs == NULL || p->pending == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory");
	CURL *c = p->curl;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &p->resp);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (p->o->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, p->o->cacert);
	if (p->o->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, p->o->cert);
	if (p->o->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, p->o->key);
	return EDS_OK;
}

eds_status eds_push_chain(const char *chain_path, const eds_push_options *opts,
                          eds_push_summary *summary)
{
	if (chain_path == NULL || opts == NULL || opts->url == NULL || summary == NULL)
		return eds_fail(EDS_E_ARG, "push: NULL argument");
	if (opts->batch > 1000)
		return eds_fail(EDS_E_ARG, "push: batch must be 1..1000");
	eds_push_options o = *opts;
	o.batch = o.batch ? o.batch : 100;
	memset(summary, 0, sizeof *summary);
	pusher p = {.o = &o, .sum = summary};
	eds_record_reader *rd = NULL;
	eds_status st = eds_record_reader_open(&rd, chain_path);
	if (st == EDS_OK)
		st = setup(&p);
	if (st == EDS_OK)
		st = push_all(&p, rd);
	eds_record_reader_close(rd);
	if (p.curl) {
		curl_easy_cleanup(p.curl);
		curl_global_cleanup();
	}
	curl_slist_free_all(p.hdrs);
	free(p.pending);
	free(p.heads);
	free(p.resp.p);
	free(p.body.p);
	return st;
}
