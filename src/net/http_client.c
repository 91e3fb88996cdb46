/*
 * http_client.c - the one HTTP(S) client of FORMAT.md section 4 (see
 * http_client_internal.h).  eds_push_chain, on it, is in push_http.c.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/edgesentry.h"
#include "http_client_internal.h"
#include "http_internal.h"
#include "internal.h"

#define RESPONSE_MAX (16u << 20)

/* ---- the client ------------------------------------------------------------ */

struct eds_http_client {
	CURL *curl;
	eds_http_client_options o; /* strings below are owned copies */
	char *url, *cacert, *cert, *key;
	char shown[EDS_URL_SHOWN_MAX]; /* url for messages, without its credentials */
	eds_textbuf resp, body;
	eds_textbuf items; /* the batch's item texts back to back, so a part can be sent */
	size_t *ends;      /* ends[i]: where item i's text ends in items */
	size_t nitems, cap_items;
	uint64_t requests;
	eds_backoff *backoff; /* NULL: a 429 or 503 is answered as it comes */
	int overflow;         /* the response passed RESPONSE_MAX */
	/* libcurl's own detail of a failure: which name the certificate lacks, which
	 * file it could not load; curl_easy_strerror only names the class of error. */
	char error[CURL_ERROR_SIZE];
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	eds_http_client *c = ctx;
	if (c->resp.n + size * n > RESPONSE_MAX) {
		c->overflow = 1;
		return 0;
	}
	eds_textbuf_printf(&c->resp, "%.*s", (int)(size * n), p);
	return c->resp.oom ? 0 : size * n;
}

void eds_url_redact(const char *url, char *out, size_t cap)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep != NULL ? sep + 3 : url;
	const char *at = NULL;
	/* userinfo ends at the authority's last '@'; one in the path is no credential */
	for (const char *p = auth; *p != '\0' && strchr("/?#", *p) == NULL; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		snprintf(out, cap, "%s", url);
	else
		snprintf(out, cap, "%.*s***%s", (int)(auth - url), url, at);
}

/* The options every request carries (curl_easy_reset keeps the connection). */
static void set_common(eds_http_client *c, struct curl_slist *hdr)
{
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->o.timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->o.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
}

/* A request body: len bytes at p, or (file not NULL) streamed from file. */
typedef struct req_body {
	const void *p;
	FILE *file;
	uint64_t len;
	const char *ctype; /* NULL: JSON */
} req_body;

static void set_body(CURL *h, const req_body *b)
{
	if (b == NULL)
		return;
	if (b->file != NULL) { /* PUT; libcurl's default read function freads READDATA */
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READDATA, b->file);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b->len);
	} else {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->p);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	}
}

/* Bodies larger than this ask the server before they are sent. */
#define EXPECT_CONTINUE_MIN (64u << 10)

/* One request; *code gets the HTTP status, c->resp the body (NUL-terminated). */
static eds_status request_once(eds_http_client *c, const char *method, const char *path,
                               const req_body *body, long *code)
{
	char url[EDS_HTTP_URL_MAX + 256], ct[96];
	if ((size_t)snprintf(url, sizeof url, "%s%s", c->url, path) >= sizeof url)
		return eds_fail(EDS_E_ARG, "http: URL too long");
	snprintf(ct, sizeof ct, "Content-Type: %s",
	         body && body->ctype ? body->ctype : "application/json");
	struct curl_slist *hdr = curl_slist_append(NULL, ct);
	/* A big body asks first (100-continue), so a server refusing its declared
	 * size (413) answers before it is sent, instead of closing on it midway
	 * (seen as "Send failure: Broken pipe"); small ones skip the round trip. */
	const char *expect =
	    body != NULL && body->len > EXPECT_CONTINUE_MIN ? "Expect: 100-continue" : "Expect:";
	struct curl_slist *h2 = hdr ? curl_slist_append(hdr, expect) : NULL;
	if (!h2) {
		curl_slist_free_all(hdr);
		return eds_fail(EDS_E_NOMEM, "http: out of memory");
	}
	curl_easy_reset(c->curl);
	set_common(c, h2);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->error);
	set_body(c->curl, body);
	c->resp.n = 0;
	c->overflow = 0;
	c->error[0] = '\0';
	CURLcode rc = curl_easy_perform(c->curl);
	curl_slist_free_all(h2);
	c->requests++;
	if (rc != CURLE_OK)
		return eds_fail(EDS_E_IO, "%s %s%s: %s", method, c->shown, path,
		                c->overflow        ? "response too large"
		                : c->error[0] != 0 ? c->error
		                                   : curl_easy_strerror(rc));
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, code);
	eds_textbuf_printf(&c->resp, "%s", ""); /* a body-less answer still reads as "" */
	return c->resp.oom ? eds_fail(EDS_E_NOMEM, "http: response: out of memory") : EDS_OK;
}

/* The answer's Retry-After in seconds (libcurl reads both forms); 0: none. */
static unsigned retry_after(CURL *h)
{
	curl_off_t s = 0;
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &s) != CURLE_OK || s <= 0)
		return 0;
	return s > UINT_MAX ? UINT_MAX : (unsigned)s;
}

/*
 * request_once, asked again after a 429 or 503 (nothing was done; the server
 * cannot take it now) for as long as c->backoff allows.  A streamed body is
 * read again from its start.
 */
static eds_status request(eds_http_client *c, const char *method, const char *path,
                          const req_body *body, long *code)
{
	eds_status st;
	while ((st = request_once(c, method, path, body, code)) == EDS_OK &&
	       (*code == 429 || *code == 503) && c->backoff != NULL &&
	       eds_backoff_wait(c->backoff, retry_after(c->curl)))
		if (body != NULL && body->file != NULL && fseek(body->file, 0, SEEK_SET) != 0)
			return eds_fail(EDS_E_IO, "%s %s%s: cannot read the body again: %s", method,
			                c->shown, path, strerror(errno));
	return st;
}

static json_t *parse_body(const eds_http_client *c)
{
	return c->resp.n ? json_loadb(c->resp.p, c->resp.n, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

/* String member key of j into out ("" when absent). */
static void member(json_t *j, const char *key, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(j, key));
	snprintf(out, cap, "%s", s ? s : "");
}

/*
 * An error answer as "HTTP 403 forbidden_source: <the server's message>",
 * as much of it as the body gives: the code and message of FORMAT.md 4 say
 * why (not on the allow list, no client certificate, ...), the status alone
 * does not.  eds_fail makes it one printable line.
 */
static void describe_answer(const eds_http_client *c, long code, char *out, size_t cap)
{
	char err[48], msg[256];
	json_t *j = parse_body(c);
	member(j, "error", err, sizeof err);
	member(j, "message", msg, sizeof msg);
	json_decref(j);
	snprintf(out, cap, "HTTP %ld%s%s%s%s", code, err[0] ? " " : "", err, msg[0] ? ": " : "",
	         msg);
}

/*
 * A 404 that is not about the device: a body naming another error (our
 * server's not_found for an unknown path) or not JSON at all (a proxy's
 * page).  That is a URL with a wrong path, e.g. ".../api", and must not pass
 * for an unregistered device (a refusal, exit 1).  An empty body, or JSON
 * without an error code, stays a device's 404: FORMAT.md 4 requires no body.
 */
static bool wrong_path(const eds_http_client *c)
{
	if (c->resp.n == 0)
		return false;
	json_t *j = parse_body(c);
	const char *err = json_string_value(json_object_get(j, "error"));
	bool wrong = j == NULL || (err != NULL && strcmp(err, "unknown_device") != 0);
	json_decref(j);
	return wrong;
}

static char *dup_opt(const char *s, int *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	*oom |= d == NULL;
	return d;
}

void eds_http_client_close(eds_http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->url);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->resp.p);
	free(c->body.p);
	free(c->items.p);
	free(c->ends);
	free(c);
}

eds_status eds_http_client_open(eds_http_client **out, const eds_http_client_options *o)
{
	if (!out || !o || !o->url)
		return eds_fail(EDS_E_ARG, "http client: NULL argument");
	*out = NULL;
	if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
		char shown[EDS_URL_SHOWN_MAX];
		eds_url_redact(o->url, shown, sizeof shown);
		return eds_fail(EDS_E_ARG, "url: must start with http:// or https://, got '%.64s'",
		                shown);
	}
	if (strlen(o->url) > EDS_HTTP_URL_MAX)
		return eds_fail(EDS_E_ARG, "url: longer than %d characters", EDS_HTTP_URL_MAX);
	/* idempotent and thread-safe in libcurl >= 7.84; never undone (other users) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return eds_fail(EDS_E_INTERNAL, "libcurl: cannot start");
	eds_http_client *c = calloc(1, sizeof *c);
	int oom = c == NULL;
	if (c) {
		c->o = *o;
		c->o.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
		c->o.connect_timeout_ms =
		    o->connect_timeout_ms ? o->connect_timeout_ms : c->o.timeout_ms;
		c->url = dup_opt(o->url, &oom);
		c->cacert = dup_opt(o->cacert, &oom);
		c->cert = dup_opt(o->cert, &oom);
		c->key = dup_opt(o->key, &oom);
		c->curl = curl_easy_init();
		oom |= c->curl == NULL;
	}
	if (oom) {
		eds_http_client_close(c);
		return eds_fail(EDS_E_NOMEM, "http client: out of memory");
	}
	size_t l = strlen(c->url);
	while (l > 0 && c->url[l - 1] == '/')
		c->url[--l] = '\0';
	eds_url_redact(c->url, c->shown, sizeof c->shown);
	*out = c;
	return EDS_OK;
}

uint64_t eds_http_client_requests(const eds_http_client *c)
{
	return c->requests;
}

void eds_http_client_set_backoff(eds_http_client *c, eds_backoff *b)
{
	c->backoff = b;
}

unsigned eds_http_client_retry_after(const eds_http_client *c)
{
	return retry_after(c->curl);
}

eds_status eds_http_client_get_head(eds_http_client *c, const char *device_id, uint64_t *sequence,
                                    uint8_t hash[EDS_HASH_LEN])
{
	char path[256];
	long code = 0;
	snprintf(path, sizeof path, "/api/v1/devices/%s/head", device_id);
	eds_status st = request(c, "GET", path, NULL, &code);
	if (st != EDS_OK)
		return st;
	if (code == 404 && !wrong_path(c))
		return eds_fail(EDS_E_UNKNOWN_DEVICE, "device %s: not registered on the server",
		                device_id);
	if (code != 200) {
		char what[320];
		describe_answer(c, code, what, sizeof what);
		/* The whole URL: a wrong base path is what a 404 here shows. */
		return eds_fail(EDS_E_IO, "GET %s%s: %s%s", c->shown, path, what,
		                code == 404 ? " (is the URL the server's base URL?)" : "");
	}
	json_t *j = parse_body(c);
	json_t *s = json_object_get(j, "sequence");
	const char *hx = json_string_value(json_object_get(j, "record_hash"));
	if (!json_is_integer(s) || json_integer_value(s) < 0 ||
	    (hash && (!hx || eds_hex_decode(hash, EDS_HASH_LEN, hx, strlen(hx)) != EDS_OK))) {
		json_decref(j);
		return eds_fail(EDS_E_MALFORMED, "GET %s: answer lacks sequence/record_hash", path);
	}
	*sequence = (uint64_t)json_integer_value(s);
	json_decref(j);
	return EDS_OK;
}

/* PUT /api/v1/payloads/{hash} with body b, and what its answer means. */
static eds_status put(eds_http_client *c, const uint8_t hash[EDS_HASH_LEN], const req_body *b)
{
	char path[128] = "/api/v1/payloads/", what[320];
	long code = 0;
	eds_hex_encode(path + strlen(path), hash, EDS_HASH_LEN);
	eds_status st = request(c, "PUT", path, b, &code);
	if (st != EDS_OK || code == 200 || code == 201)
		return st;
	describe_answer(c, code, what, sizeof what);
	st = code == 422   ? EDS_E_PAYLOAD_MISMATCH
	     : code == 404 ? EDS_E_NOT_FOUND
	     : code == 413 ? EDS_E_LIMIT
	                   : EDS_E_IO;
	return eds_fail(st, "PUT %s: %s", path, what);
}

eds_status eds_http_client_put_payload(eds_http_client *c, const uint8_t hash[EDS_HASH_LEN],
                                       const uint8_t *payload, size_t len)
{
	req_body b = {len ? (const void *)payload : (const void *)"", NULL, len,
	              "application/octet-stream"};
	return put(c, hash, &b);
}

eds_status eds_http_client_put_payload_file(eds_http_client *c, const uint8_t hash[EDS_HASH_LEN],
                                            const char *file)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO must not hang the push; it is refused as not regular */
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (f == NULL) {
		eds_status e = eds_fail(EDS_E_IO, "%s: %s", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return e;
	}
	eds_status r;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		r = eds_fail(EDS_E_IO, "%s: not a regular file", file);
	else
		r = put(c, hash,
		        &(req_body){NULL, f, (uint64_t)st.st_size, "application/octet-stream"});
	fclose(f);
	return r;
}

/* Room for one more item in c->ends. */
static eds_status reserve_item(eds_http_client *c)
{
	void *v = c->ends;
	eds_status st = eds_grow(&v, &c->cap_items, c->nitems + 1, sizeof *c->ends, "http");
	c->ends = v;
	return st;
}

static eds_status add_base64(eds_textbuf *b, const uint8_t *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(cap);
	if (!b64)
		return eds_fail(EDS_E_NOMEM, "http: out of memory");
	sodium_bin2base64(b64, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
	eds_textbuf_add(b, b64, strlen(b64));
	free(b64);
	return EDS_OK;
}

eds_status eds_http_client_batch_add(eds_http_client *c, const eds_record *r,
                                     const uint8_t *payload, size_t len)
{
	char json[EDS_RECORD_JSON_MAX];
	eds_status st = eds_record_to_json(r, json, sizeof json, NULL);
	if (st == EDS_OK)
		st = reserve_item(c);
	if (st != EDS_OK)
		return st;
	eds_textbuf *b = &c->items;
	size_t start = b->n;
	eds_textbuf_printf(b, "{\"record\":%s", json);
	if (payload) {
		eds_textbuf_printf(b, ",\"payload\":\"");
		st = add_base64(b, payload, len);
		eds_textbuf_printf(b, "\"");
	}
	eds_textbuf_printf(b, "}");
	if (st == EDS_OK && b->oom)
		st = eds_fail(EDS_E_NOMEM, "http: out of memory");
	if (st != EDS_OK) { /* the batch stays as it was */
		b->n = start;
		b->oom = 0;
		return st;
	}
	c->ends[c->nitems++] = b->n;
	return EDS_OK;
}

size_t eds_http_client_batch_items(const eds_http_client *c)
{
	return c->nitems;
}

/* {"items":[ item,item,... ]} */
#define BATCH_PREFIX "{\"items\":["
#define BATCH_SUFFIX "]}"

size_t eds_http_client_batch_bytes(const eds_http_client *c)
{
	size_t commas = c->nitems ? c->nitems - 1 : 0;
	return strlen(BATCH_PREFIX) + c->items.n + commas + strlen(BATCH_SUFFIX);
}

void eds_http_client_batch_clear(eds_http_client *c)
{
	c->nitems = 0;
	c->items.n = 0;
	c->items.oom = 0;
}

void eds_http_client_batch_keep(eds_http_client *c, size_t from, size_t to,
                                const unsigned char *keep)
{
	size_t k = from, at = from ? c->ends[from - 1] : 0; /* where the next kept text goes */
	size_t start = at; /* where item i's text starts (read before ends[] is rewritten) */
	for (size_t i = from; i < c->nitems; i++) {
		size_t end = c->ends[i];
		if (i >= to || keep[i - from]) {
			memmove(c->items.p + at, c->items.p + start, end - start);
			at += end - start;
			c->ends[k++] = at;
		}
		start = end;
	}
	c->nitems = k;
	c->items.n = at;
}

/* Per-item answers from the body; items it does not answer keep the defaults. */
static void read_results(json_t *j, long code, size_t n, eds_http_item_result *res,
                         size_t *answered)
{
	json_t *arr = code == 200 ? json_object_get(j, "results") : NULL;
	*answered = json_array_size(arr) < n ? json_array_size(arr) : n;
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof res[i]);
		member(j, "error", res[i].error, sizeof res[i].error);
		member(j, "message", res[i].message, sizeof res[i].message);
		if (!res[i].error[0])
			snprintf(res[i].error, sizeof res[i].error, "HTTP %ld", code);
	}
	for (size_t i = 0; i < *answered; i++) {
		json_t *r = json_array_get(arr, i);
		member(r, "status", res[i].status, sizeof res[i].status);
		member(r, "error", res[i].error, sizeof res[i].error);
		member(r, "message", res[i].message, sizeof res[i].message);
	}
}

/* The body of items [from, to) of the batch, into c->body. */
static eds_status build_body(eds_http_client *c, size_t from, size_t to)
{
	eds_textbuf *b = &c->body;
	b->n = 0;
	eds_textbuf_add(b, BATCH_PREFIX, strlen(BATCH_PREFIX));
	for (size_t i = from; i < to; i++) {
		size_t start = i ? c->ends[i - 1] : 0;
		if (i > from)
			eds_textbuf_add(b, ",", 1);
		eds_textbuf_add(b, c->items.p + start, c->ends[i] - start);
	}
	eds_textbuf_add(b, BATCH_SUFFIX, strlen(BATCH_SUFFIX));
	if (!b->oom)
		return EDS_OK;
	b->oom = 0;
	return eds_fail(EDS_E_NOMEM, "http: out of memory");
}

eds_status eds_http_client_batch_post(eds_http_client *c, size_t from, size_t to,
                                      eds_http_item_result *res, long *code, size_t *answered)
{
	if (from >= to || to > c->nitems)
		return eds_fail(EDS_E_ARG, "http: items %zu..%zu of a batch of %zu", from, to,
		                c->nitems);
	eds_status st = build_body(c, from, to);
	if (st == EDS_OK)
		st = request(c, "POST", "/api/v1/records",
		             &(req_body){c->body.p, NULL, c->body.n, NULL}, code);
	if (st != EDS_OK)
		return st;
	json_t *j = parse_body(c);
	read_results(j, *code, to - from, res, answered);
	json_decref(j);
	return EDS_OK;
}

eds_status eds_http_client_batch_send(eds_http_client *c, eds_http_item_result *res, long *code,
                                      size_t *answered)
{
	eds_status st = eds_http_client_batch_post(c, 0, c->nitems, res, code, answered);
	eds_http_client_batch_clear(c);
	return st;
}
