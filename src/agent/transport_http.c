/*
 * transport_http.c - the agent's HTTP(S) transport (FORMAT.md section 4)
 * on libcurl: one handle, so the connection is kept alive between batches.
 *
 * Only an explicit "accepted" or "duplicate" counts as stored; a 503, a
 * 429, a timeout or an unreadable answer leaves every item NOT_STORED.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/agent.h"
#include "edgesentry/encoding.h"
#include "internal.h"

#define RESPONSE_MAX (4u << 20)

typedef struct http_ctx {
	CURL *curl;
	char *url; /* base, no trailing slash */
	eds_http_transport_options o;
	char *cacert, *cert, *key;
	char *buf; /* response body */
	size_t len;
	bool overflow;
} http_ctx;

typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	http_ctx *h = arg;
	size_t n = size * nmemb;
	if (h->len + n > RESPONSE_MAX) {
		h->overflow = true;
		return 0;
	}
	char *p = realloc(h->buf, h->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + h->len, data, n);
	h->buf = p;
	h->len += n;
	h->buf[h->len] = '\0';
	return n;
}

/* One request; *code receives the HTTP status.  Errors: EDS_E_IO. */
static eds_status request(http_ctx *h, const char *method, const char *path, const void *body,
                          size_t len, const char *ctype, long *code)
{
	char url[4096];
	if ((size_t)snprintf(url, sizeof url, "%s%s", h->url, path) >= sizeof url)
		return eds_fail(EDS_E_ARG, "http: URL too long");
	CURL *c = h->curl;
	curl_easy_reset(c);
	h->len = 0;
	h->overflow = false;
	struct curl_slist *hdr = NULL;
	char ct[96];
	snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
	hdr = curl_slist_append(hdr, ct);
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	if (h->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert);
	if (h->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK)
		return eds_fail(EDS_E_IO, "%s %s: %s", method, url,
		                h->overflow ? "response too large" : curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	return EDS_OK;
}

static json_t *parse_body(http_ctx *h)
{
	return h->len ? json_loadb(h->buf, h->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

/* "error" code of an error body, or "" */
static void error_code(json_t *j, char *out, size_t cap)
{
	const char *e = json_string_value(json_object_get(j, "error"));
	snprintf(out, cap, "%s", e ? e : "");
}

static eds_status http_get_head(void *ctx, const char *device_id, uint64_t *sequence,
                                uint8_t hash[EDS_HASH_LEN])
{
	http_ctx *h = ctx;
	char path[256];
	snprintf(path, sizeof path, "/api/v1/devices/%s/head", device_id);
	long code = 0;
	eds_status st = request(h, "GET", path, NULL, 0, NULL, &code);
	if (st != EDS_OK)
		return st;
	if (code == 404)
		return eds_fail(EDS_E_UNKNOWN_DEVICE, "server does not know device '%s'",
		                device_id);
	if (code != 200)
		return eds_fail(EDS_E_IO, "GET %s: HTTP %ld", path, code);
	json_t *j = parse_body(h);
	json_t *s = json_object_get(j, "sequence");
	const char *hx = json_string_value(json_object_get(j, "record_hash"));
	if (!json_is_integer(s) || json_integer_value(s) < 0 || !hx ||
	    eds_hex_decode(hash, EDS_HASH_LEN, hx, strlen(hx)) != EDS_OK) {
		json_decref(j);
		return eds_fail(EDS_E_MALFORMED, "GET %s: answer lacks sequence/record_hash", path);
	}
	*sequence = (uint64_t)json_integer_value(s);
	json_decref(j);
	return EDS_OK;
}

static void add_item(sbuf *b, const eds_transport_item *it, eds_status *st)
{
	char json[EDS_RECORD_JSON_MAX];
	size_t jl = 0;
	eds_status s = eds_record_to_json(it->record, json, sizeof json, &jl);
	if (s != EDS_OK) {
		*st = s;
		return;
	}
	sb_add(b, "{\"record\":", 10);
	sb_add(b, json, jl);
	if (it->payload) {
		size_t cap =
		    sodium_base64_ENCODED_LEN(it->payload_len, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = malloc(cap);
		if (!b64) {
			b->oom = true;
			return;
		}
		sodium_bin2base64(b64, cap, it->payload, it->payload_len,
		                  sodium_base64_VARIANT_ORIGINAL);
		sb_add(b, ",\"payload\":\"", 12);
		sb_add(b, b64, strlen(b64));
		sb_add(b, "\"", 1);
		free(b64);
	}
	sb_add(b, "}", 1);
}

/* Fill results from a 200 batch answer. */
static void read_results(json_t *j, size_t n, eds_transport_result *res)
{
	json_t *arr = json_object_get(j, "results");
	for (size_t i = 0; i < n && i < json_array_size(arr); i++) {
		json_t *r = json_array_get(arr, i);
		const char *s = json_string_value(json_object_get(r, "status"));
		error_code(r, res[i].error, sizeof res[i].error);
		if (s && (strcmp(s, "accepted") == 0 || strcmp(s, "duplicate") == 0))
			res[i].delivery = EDS_DELIVERY_STORED;
		else if (strcmp(res[i].error, "storage_unavailable") == 0 ||
		         strcmp(res[i].error, "rate_limited") == 0 || !s)
			res[i].delivery = EDS_DELIVERY_NOT_STORED;
		else
			res[i].delivery = EDS_DELIVERY_REFUSED;
	}
}

static eds_status http_send(void *ctx, const eds_transport_item *items, size_t n,
                            eds_transport_result *res)
{
	http_ctx *h = ctx;
	sbuf b = {0};
	eds_status st = EDS_OK;
	sb_add(&b, "{\"items\":[", 10);
	for (size_t i = 0; i < n && st == EDS_OK; i++) {
		if (i)
			sb_add(&b, ",", 1);
		add_item(&b, &items[i], &st);
	}
	sb_add(&b, "]}", 2);
	if (st == EDS_OK && b.oom)
		st = eds_fail(EDS_E_NOMEM, "http: out of memory");
	long code = 0;
	if (st == EDS_OK)
		st = request(h, "POST", "/api/v1/records", b.p, b.len, NULL, &code);
	free(b.p);
	if (st != EDS_OK)
		return st;
	json_t *j = parse_body(h);
	for (size_t i = 0; i < n; i++) {
		res[i].delivery = code >= 400 && code < 500 && code != 429
		                      ? EDS_DELIVERY_REFUSED
		                      : EDS_DELIVERY_NOT_STORED;
		error_code(j, res[i].error, sizeof res[i].error);
		if (!res[i].error[0])
			snprintf(res[i].error, sizeof res[i].error, "HTTP %ld", code);
	}
	if (code == 200)
		read_results(j, n, res);
	json_decref(j);
	return EDS_OK;
}

static eds_status http_put_payload(void *ctx, const uint8_t hash[EDS_HASH_LEN],
                                   const uint8_t *payload, size_t len)
{
	http_ctx *h = ctx;
	char path[128] = "/api/v1/payloads/";
	eds_hex_encode(path + strlen(path), hash, EDS_HASH_LEN);
	long code = 0;
	eds_status st = request(h, "PUT", path, len ? (const void *)payload : (const void *)"", len,
	                        "application/octet-stream", &code);
	if (st != EDS_OK || code == 200 || code == 201)
		return st;
	json_t *j = parse_body(h);
	char err[48];
	error_code(j, err, sizeof err);
	json_decref(j);
	if (code == 422)
		return eds_fail(EDS_E_PAYLOAD_MISMATCH, "PUT %s: %s", path, err);
	if (code == 404)
		return eds_fail(EDS_E_NOT_FOUND, "PUT %s: %s", path, err);
	return eds_fail(EDS_E_IO, "PUT %s: HTTP %ld %s", path, code, err);
}

static void http_destroy(void *ctx)
{
	http_ctx *h = ctx;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->url);
	free(h->cacert);
	free(h->cert);
	free(h->key);
	free(h->buf);
	free(h);
}

static const eds_transport_ops http_ops = {http_get_head, http_send, http_put_payload,
                                           http_destroy};

static char *dup_opt(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	*oom |= d == NULL;
	return d;
}

eds_status eds_transport_http(eds_transport *out, const eds_http_transport_options *o)
{
	if (!out || !o || !o->url)
		return eds_fail(EDS_E_ARG, "eds_transport_http: NULL argument");
	if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)
		return eds_fail(EDS_E_ARG, "url: must start with http:// or https://, got '%.64s'",
		                o->url);
	if (strlen(o->url) > 2048)
		return eds_fail(EDS_E_ARG, "url: longer than 2048 characters");
	/* curl_global_init is idempotent and thread-safe in libcurl >= 7.84 */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	http_ctx *h = calloc(1, sizeof *h);
	bool oom = h == NULL;
	if (h) {
		h->o = *o;
		if (!h->o.timeout_ms)
			h->o.timeout_ms = 10000;
		h->url = dup_opt(o->url, &oom);
		h->cacert = dup_opt(o->cacert, &oom);
		h->cert = dup_opt(o->cert, &oom);
		h->key = dup_opt(o->key, &oom);
		h->curl = curl_easy_init();
		oom |= h->curl == NULL;
	}
	if (oom) {
		if (h)
			http_destroy(h);
		return eds_fail(EDS_E_NOMEM, "http transport: out of memory");
	}
	size_t l = strlen(h->url);
	while (l > 0 && h->url[l - 1] == '/')
		h->url[--l] = '\0';
	out->ops = &http_ops;
	out->ctx = h;
	return EDS_OK;
}
