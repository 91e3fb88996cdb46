/*
 * http_body.c - the JSON wrapper of the ingest API: {"record": ..., "payload":
 * base64} or {"items": [...]}.  The record object itself is read by the
 * core's record readers, so the server accepts exactly what every other
 * reader accepts; only the wrapper is parsed here.  Bodies in the exact
 * form our clients write take a fast path without jansson (see below).
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgesentry/encoding.h"
#include "http_internal.h"
#include "ingest_body.h"
#include "internal.h"
#include "record_internal.h"

static int only_keys(json_t *obj, const char *a, const char *b)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		(void)v;
		if (strcmp(k, a) != 0 && (b == NULL || strcmp(k, b) != 0))
			return 0;
	}
	return 1;
}

/* Mark an item malformed with the sentence text + detail. */
static int bad(eds_ingest_result *res, const char *text, const char *detail)
{
	res->outcome = EDS_INGEST_MALFORMED;
	snprintf(res->message, sizeof res->message, "%s%s", text, detail);
	eds_one_line(res->message); /* goes into the JSON answer; may be cut */
	return -1;
}

static int base64_digit(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/*
 * sodium_base642bin spends ~75 instructions a character to stay constant
 * time, which a payload (no secret) does not need: a quarter of the cost of
 * reading a body.  Text in the one spelling RFC 4648 gives each byte string
 * (padded, no stray bits) has one decoding, so it is decoded here; anything
 * else - bad characters, missing or extra '=', stray bits - is left to
 * sodium, which decides as before.  The fuzzer checks that sodium agrees.
 */
int eds_base64_decode_canonical(uint8_t *out, const char *s, size_t n, size_t *len)
{
	size_t pad = n >= 4 && s[n - 1] == '=' ? 1 + (s[n - 2] == '=') : 0, k = 0;
	uint32_t acc = 0;
	if (n % 4 != 0)
		return 0;
	for (size_t i = 0; i < n - pad; i++) {
		int v = base64_digit(s[i]);
		if (v < 0)
			return 0;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			out[k++] = (uint8_t)(acc >> 16);
			out[k++] = (uint8_t)(acc >> 8);
			out[k++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if ((pad == 2 && (acc & 0xf) != 0) || (pad == 1 && (acc & 0x3) != 0))
		return 0;
	if (pad == 2)
		out[k++] = (uint8_t)(acc >> 4);
	if (pad == 1) {
		out[k++] = (uint8_t)(acc >> 10);
		out[k++] = (uint8_t)(acc >> 2);
	}
	*len = k;
	return 1;
}

/* Both paths decode the same bytes with the same calls, so they agree on
 * what base64 is valid (padding, length) without restating sodium's rules. */
static int decode_payload(const char *b64, size_t n, eds_http_batch *b, size_t i)
{
	eds_ingest_result *res = &b->results[i];
	uint8_t *buf = malloc(n / 4 * 3 + 3);
	if (buf == NULL)
		return bad(res, "", "payload: out of memory.");
	if (!eds_base64_decode_canonical(buf, b64, n, &b->items[i].payload_len) &&
	    sodium_base642bin(buf, n / 4 * 3 + 3, b64, n, NULL, &b->items[i].payload_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(buf);
		return bad(res, "", "payload: not valid base64.");
	}
	b->payloads[i] = buf;
	b->items[i].payload = buf;
	return 0;
}

/* One {"record": ..., "payload": ...} item into items[i]. */
static void parse_item(json_t *item, eds_http_batch *b, size_t i)
{
	eds_ingest_result *res = &b->results[i];
	res->outcome = EDS_INGEST_ACCEPTED;
	json_t *rec = json_object_get(item, "record");
	if (!json_is_object(item) || !only_keys(item, "record", "payload")) {
		bad(res, "", "An item must be an object with \"record\" and optional \"payload\".");
		return;
	}
	if (!json_is_object(rec)) {
		bad(res, "", "record: must be a JSON object.");
		return;
	}
	char *text = json_dumps(rec, JSON_COMPACT);
	if (text == NULL) {
		bad(res, "", "record: out of memory.");
		return;
	}
	eds_status st = eds_record_from_json(&b->items[i].record, text, strlen(text));
	free(text);
	if (st != EDS_OK) {
		bad(res, "record: ", eds_last_error());
		return;
	}
	json_t *p = json_object_get(item, "payload");
	if (p != NULL && !json_is_string(p))
		bad(res, "", "payload: must be a base64 string.");
	else if (p != NULL)
		decode_payload(json_string_value(p), json_string_length(p), b, i);
}

eds_status eds_body_alloc(eds_http_batch *b, size_t n)
{
	b->n = n;
	b->items = calloc(n, sizeof *b->items);
	b->results = calloc(n, sizeof *b->results);
	b->payloads = calloc(n, sizeof *b->payloads);
	if (b->items == NULL || b->results == NULL || b->payloads == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory");
	return EDS_OK;
}

/*
 * The body as JSON, or NULL with the answer's sentence in msg.  jansson's
 * text quotes the body near the error: control bytes, and a multi-byte
 * character cut in half that would make the JSON answer itself invalid.
 */
static json_t *load_body(const char *body, size_t len, char *msg, size_t cap)
{
	json_error_t err;
	json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		/* jansson names its own flag here; a client needs the rule instead. */
		const char *why = strstr(err.text, "JSON_ALLOW_NUL") != NULL
		                      ? "a \\u0000 escape is not allowed in a string"
		                      : err.text;
		snprintf(msg, cap, "The body is not valid JSON: line %d: %.100s.", err.line, why);
		eds_one_line(msg);
	}
	return root;
}

void eds_body_parse_item(const char *body, size_t len, eds_http_batch *b, size_t i)
{
	json_t *root = load_body(body, len, b->results[i].message, sizeof b->results[i].message);
	if (root == NULL) {
		b->results[i].outcome = EDS_INGEST_MALFORMED;
		return;
	}
	parse_item(root, b, i);
	json_decref(root);
}

static eds_status shape_error(char *msg, size_t cap, eds_status st, const char *text)
{
	snprintf(msg, cap, "%s", text);
	eds_one_line(msg);
	return eds_fail(st, "%s", text);
}

/* A single item's problem is the whole request's (FORMAT.md 4: 400 with its sentence). */
static eds_status single_outcome(eds_http_batch *b, char *msg, size_t cap)
{
	if (b->is_batch || b->results[0].outcome != EDS_INGEST_MALFORMED)
		return EDS_OK;
	return shape_error(msg, cap, EDS_E_MALFORMED, b->results[0].message);
}

eds_status eds_body_parse_jansson(const char *body, size_t len, size_t max_items, eds_http_batch *b,
                                  char *msg, size_t cap)
{
	memset(b, 0, sizeof *b);
	json_t *root = load_body(body, len, msg, cap);
	if (root == NULL)
		return eds_fail(EDS_E_MALFORMED, "%s", msg);
	eds_status st = EDS_OK;
	json_t *items = json_object_get(root, "items");
	if (!json_is_object(root)) {
		st = shape_error(msg, cap, EDS_E_MALFORMED, "The body must be a JSON object.");
	} else if (items != NULL) {
		size_t n = json_array_size(items);
		b->is_batch = 1;
		if (!json_is_array(items) || !only_keys(root, "items", NULL) || n == 0)
			st = shape_error(msg, cap, EDS_E_MALFORMED,
			                 "A batch is {\"items\": [...]} with 1 or more items.");
		else if (n > max_items)
			st = shape_error(msg, cap, EDS_E_LIMIT,
			                 "The batch has more items than allowed.");
		else if ((st = eds_body_alloc(b, n)) == EDS_OK)
			for (size_t i = 0; i < n; i++)
				parse_item(json_array_get(items, i), b, i);
	} else if ((st = eds_body_alloc(b, 1)) == EDS_OK) {
		parse_item(root, b, 0);
		st = single_outcome(b, msg, cap);
	}
	json_decref(root);
	if (st != EDS_OK)
		eds_http_batch_free(b);
	return st;
}

/* ---- the fast path: our clients' exact form, read without jansson ----------
 *
 * Parsing the body with jansson and then each record again from its
 * json_dumps text was most of the CPU an HTTP record cost beyond an
 * in-process one.  Our clients (eds push, the agent: eds_http_client_batch_add,
 * eds_mqtt_item_json) all write one form: no whitespace, "items" then
 * "record" then optional "payload", each record in the canonical form of
 * eds_record_to_json, the payload plain base64.  That form is read here
 * directly.  Any other text - whitespace, other key order, escapes, unknown
 * keys, too many items - is left to eds_body_parse_jansson for the WHOLE
 * body, so every error, limit and message stays the jansson path's.
 *
 * Why the answers agree: in this form every string is printable ASCII
 * without a quote or a backslash, so the text is valid JSON without duplicate keys,
 * jansson's string values are the very bytes read here, and json_dumps of a
 * canonical record gives back the same text, which eds_record_from_json
 * reads with the same canonical reader used below.  The fuzzer
 * (fuzz_http_body) runs both paths and checks that they agree.
 */

typedef struct cursor {
	const char *p, *end;
} cursor;

static bool take(cursor *c, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool is_base64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/' || ch == '=';
}

/* The rest of a "..." payload string, when it holds only base64 characters
 * (so it needs no unescaping and jansson would give the same bytes). */
static bool take_base64(cursor *c, const char **b64, size_t *n)
{
	*b64 = c->p;
	while (c->p < c->end && is_base64_char(*c->p))
		c->p++;
	*n = (size_t)(c->p - *b64);
	return take(c, "\"");
}

/* Item i in the fast form into b; false when the text is not in it. */
static bool fast_item(cursor *c, eds_http_batch *b, size_t i)
{
	const char *b64 = NULL;
	size_t n = 0;
	eds_status st = EDS_OK;
	if (!take(c, "{\"record\":"))
		return false;
	size_t used =
	    eds_record_from_canonical(&b->items[i].record, c->p, (size_t)(c->end - c->p), &st);
	if (used == 0)
		return false;
	c->p += used;
	b->results[i].outcome = EDS_INGEST_ACCEPTED;
	if (st != EDS_OK) /* taken now: nothing below touches the last error */
		bad(&b->results[i], "record: ", eds_last_error());
	if (take(c, ",\"payload\":\"") && !take_base64(c, &b64, &n))
		return false;
	if (!take(c, "}"))
		return false;
	/* As in parse_item: a payload is decoded only for a good record. */
	if (b64 != NULL && st == EDS_OK)
		decode_payload(b64, n, b, i);
	return true;
}

/* How many items a body in the fast form has: each one, and nothing else,
 * starts with {"record": because no string in that form holds a '"'.  For
 * other text this is only an upper bound, and reading then stops early. */
static size_t count_items(const char *body, size_t len)
{
	static const char mark[] = "{\"record\":";
	const char *p = body, *end = body + len;
	size_t k = 0;
	while ((p = memchr(p, '{', (size_t)(end - p))) != NULL) {
		k += (size_t)(end - p) >= sizeof mark - 1 && memcmp(p, mark, sizeof mark - 1) == 0;
		p++;
	}
	return k;
}

/* Read all n items and the end of the body; false when the text leaves the form. */
static bool fast_items(cursor *c, eds_http_batch *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && !take(c, ",")) || !fast_item(c, b, i))
			return false;
	return (!b->is_batch || take(c, "]}")) && c->p == c->end;
}

int eds_body_parse_fast(const char *body, size_t len, size_t max_items, eds_http_batch *b,
                        char *msg, size_t cap, eds_status *st)
{
	memset(b, 0, sizeof *b);
	if (body == NULL)
		return 0;
	cursor c = {body, body + len};
	size_t n = count_items(body, len);
	int is_batch = take(&c, "{\"items\":[");
	/* Too many items: the jansson path words that refusal. */
	if (n == 0 || n > (is_batch ? max_items : 1))
		return 0;
	bool ok = eds_body_alloc(b, n) == EDS_OK;
	b->is_batch = is_batch;
	if (!ok || !fast_items(&c, b, n)) {
		eds_http_batch_free(b);
		return 0;
	}
	if ((*st = single_outcome(b, msg, cap)) != EDS_OK)
		eds_http_batch_free(b);
	return 1;
}

eds_status eds_http_parse_records(const char *body, size_t len, size_t max_items, eds_http_batch *b,
                                  char *msg, size_t cap)
{
	eds_status st;
	if (eds_body_parse_fast(body, len, max_items, b, msg, cap, &st))
		return st;
	return eds_body_parse_jansson(body, len, max_items, b, msg, cap);
}

eds_status eds_http_submit(eds_ingest *svc, const eds_ingest_context *ctx, eds_http_batch *b)
{
	size_t good = 0;
	for (size_t i = 0; i < b->n; i++)
		good += b->results[i].outcome == EDS_INGEST_ACCEPTED;
	/* The usual batch, all good, goes as it is: copying 1.3 kB items for it cost more
	 * than the rest of the HTTP side when the copies' memory had to be faulted in. */
	if (good == b->n)
		return eds_ingest_submit(svc, ctx, b->items, b->n, b->results);
	/* Submit the good items together (keeping their order), then put results back. */
	eds_ingest_item *items = malloc(b->n * sizeof *items);
	eds_ingest_result *res = malloc(b->n * sizeof *res);
	size_t *where = malloc(b->n * sizeof *where);
	eds_status st = items && res && where ? EDS_OK : eds_fail(EDS_E_NOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; st == EDS_OK && i < b->n; i++) {
		const eds_record *r = &b->items[i].record;
		if (b->results[i].outcome == EDS_INGEST_ACCEPTED) {
			items[k] = b->items[i];
			where[k++] = i;
		} else {
			eds_ingest_reject(svc, ctx, r->device_id, r->sequence,
			                  b->results[i].outcome, b->results[i].message,
			                  b->results[i].outcome == EDS_INGEST_MALFORMED);
		}
	}
	if (st == EDS_OK && k > 0)
		st = eds_ingest_submit(svc, ctx, items, k, res);
	for (size_t j = 0; st == EDS_OK && j < k; j++)
		b->results[where[j]] = res[j];
	free(items);
	free(res);
	free(where);
	return st;
}

json_t *eds_http_result_json(const eds_ingest_result *res)
{
	if (eds_ingest_ok(res->outcome)) {
		char hex[2 * EDS_HASH_LEN + 1];
		eds_hex_encode(hex, res->record_hash, EDS_HASH_LEN);
		if (res->outcome == EDS_INGEST_STORED || res->outcome == EDS_INGEST_ALREADY_STORED)
			return json_pack("{s:s}", "status", eds_ingest_code(res->outcome));
		return json_pack("{s:s, s:s}", "status", eds_ingest_code(res->outcome),
		                 "record_hash", hex);
	}
	return json_pack("{s:s, s:s, s:s}", "status", "rejected", "error",
	                 eds_ingest_code(res->outcome), "message", res->message);
}

json_t *eds_http_results_json(const eds_ingest_result *res, size_t n, int is_batch)
{
	if (!is_batch)
		return eds_http_result_json(res);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, eds_http_result_json(&res[i]));
	return json_pack("{s:o}", "results", arr);
}

/* ---- the answer written directly ---------------------------------------------
 *
 * Building the answer as jansson objects and printing them cost more than the
 * rest of the request's HTTP side.  The text below is byte for byte what
 * json_dumps(..., JSON_COMPACT) prints for eds_http_results_json: jansson
 * keeps the keys in insertion order and escapes only '"', '\\' and control
 * characters (the short forms, else \u00XX in capitals).  The unit test and
 * fuzz_http_body compare the two.
 */

static void add_str(eds_textbuf *b, const char *s)
{
	eds_textbuf_add(b, s, strlen(s));
}

void eds_textbuf_json_string(eds_textbuf *b, const char *s)
{
	static const char hexdigit[] = "0123456789ABCDEF";
	const char *run = s;
	eds_textbuf_add(b, "\"", 1);
	for (const char *p = s;; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		eds_textbuf_add(b, run, (size_t)(p - run));
		if (ch == 0)
			break;
		run = p + 1;
		const char *esc = ch == '"'    ? "\\\""
		                  : ch == '\\' ? "\\\\"
		                  : ch == '\b' ? "\\b"
		                  : ch == '\f' ? "\\f"
		                  : ch == '\n' ? "\\n"
		                  : ch == '\r' ? "\\r"
		                  : ch == '\t' ? "\\t"
		                               : NULL;
		char u[7] = {'\\', 'u', '0', '0', hexdigit[ch >> 4], hexdigit[ch & 15], '\0'};
		add_str(b, esc ? esc : u);
	}
	eds_textbuf_add(b, "\"", 1);
}

static void add_result(eds_textbuf *b, const eds_ingest_result *res)
{
	const char *code = eds_ingest_code(res->outcome);
	if (!eds_ingest_ok(res->outcome)) {
		add_str(b, "{\"status\":\"rejected\",\"error\":\"");
		add_str(b, code);
		add_str(b, "\",\"message\":");
		eds_textbuf_json_string(b, res->message);
		add_str(b, "}");
		return;
	}
	add_str(b, "{\"status\":\"");
	add_str(b, code);
	if (res->outcome != EDS_INGEST_STORED && res->outcome != EDS_INGEST_ALREADY_STORED) {
		char hex[2 * EDS_HASH_LEN + 1];
		eds_hex_encode(hex, res->record_hash, EDS_HASH_LEN);
		add_str(b, "\",\"record_hash\":\"");
		add_str(b, hex);
	}
	add_str(b, "\"}");
}

int eds_http_results_text(eds_textbuf *b, const eds_ingest_result *res, size_t n, int is_batch)
{
	for (size_t i = 0; i < n; i++)
		if (!eds_ingest_ok(res[i].outcome) &&
		    !eds_utf8_valid(res[i].message, strlen(res[i].message)))
			return -1;
	if (is_batch)
		add_str(b, "{\"results\":[");
	for (size_t i = 0; i < (is_batch ? n : 1); i++) {
		if (i > 0)
			add_str(b, ",");
		add_result(b, &res[i]);
	}
	if (is_batch)
		add_str(b, "]}");
	return 0;
}

/*
 * The decision log line, written like the answers and for the same reason:
 * it is made in the writer thread, once per decision, between group commits.
 * Byte for byte what json_dumps prints for eds_http_log_json.
 */
json_t *eds_http_log_json(const eds_ledger_event *ev, const char *hex, const char *message)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "time_ms",
	                 (json_int_t)ev->time_ms, "source", ev->source, "device_id", ev->device_id,
	                 "sequence", (json_int_t)ev->sequence, "decision", ev->decision, "reason",
	                 ev->reason, "record_hash", hex, "message", message);
}

static int all_utf8(const char *const *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!eds_utf8_valid(s[i], strlen(s[i])))
			return 0;
	return 1;
}

int eds_http_log_text(eds_textbuf *b, const eds_ledger_event *ev, const char *hex,
                      const char *message)
{
	static const char *const keys[] = {"source", "device_id",   "decision",
	                                   "reason", "record_hash", "message"};
	const char *vals[] = {ev->source, ev->device_id, ev->decision, ev->reason, hex, message};
	if (!all_utf8(vals, 6))
		return -1;
	eds_textbuf_printf(b, "{\"time_ms\":%llu", (unsigned long long)ev->time_ms);
	for (size_t i = 0; i < 6; i++) {
		if (i == 2) /* jansson keeps the order the keys were packed in */
			eds_textbuf_printf(b, ",\"sequence\":%llu",
			                   (unsigned long long)ev->sequence);
		eds_textbuf_printf(b, ",\"%s\":", keys[i]);
		eds_textbuf_json_string(b, vals[i]);
	}
	add_str(b, "}");
	return 0;
}

void eds_http_batch_free(eds_http_batch *b)
{
	for (size_t i = 0; b->payloads != NULL && i < b->n; i++)
		free(b->payloads[i]);
	free(b->payloads);
	free(b->items);
	free(b->results);
	memset(b, 0, sizeof *b);
}

unsigned eds_body_rate_limit(eds_ratelimit *rl, eds_http_batch *b, size_t i)
{
	eds_ingest_result *res = &b->results[i];
	struct timespec ts;
	unsigned retry = 0;
	if (rl == NULL || res->outcome != EDS_INGEST_ACCEPTED)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (eds_ratelimit_take(rl, b->items[i].record.device_id, 1, now, &retry))
		return 0;
	res->outcome = EDS_INGEST_RATE_LIMITED;
	snprintf(res->message, sizeof res->message,
	         "Too many records from device %.64s; retry in %u s.", b->items[i].record.device_id,
	         retry);
	return retry;
}
