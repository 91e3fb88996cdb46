/*
 * record_json.c - the JSON form of an ESR1 record (FORMAT.md 1.4).
 *
 * The reader is strict on purpose: a record is evidence, so anything that a
 * different JSON reader could interpret differently (duplicate keys, reals,
 * integers beyond 2^53-1, NUL inside strings, unknown keys) is refused with
 * a message naming the key, rather than guessed at.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "edgesentry/encoding.h"
#include "edgesentry/record.h"
#include "internal.h"
#include "record_internal.h"

enum kind { K_FORMAT, K_DEVICE_ID, K_INT, K_HEX, K_OBJECT_REF };

typedef struct field {
	const char *name;
	size_t offset; /* of the destination within eds_record */
	size_t size;   /* K_HEX: bytes; K_INT: smallest allowed value */
	enum kind kind;
	int required;
} field;

#define AT(m) offsetof(eds_record, m)

/* FORMAT.md order; the writer emits keys in this order too. */
static const field fields[] = {
    {"format", 0, 0, K_FORMAT, 1},
    {"device_id", AT(device_id), 0, K_DEVICE_ID, 1},
    {"sequence", AT(sequence), 1, K_INT, 1},
    {"timestamp_ms", AT(timestamp_ms), 0, K_INT, 1},
    {"payload_size", AT(payload_size), 0, K_INT, 1},
    {"payload_hash", AT(payload_hash), EDS_HASH_LEN, K_HEX, 1},
    {"prev_hash", AT(prev_hash), EDS_HASH_LEN, K_HEX, 1},
    {"object_ref", AT(object_ref), 0, K_OBJECT_REF, 1},
    {"signature", AT(signature), EDS_SIGNATURE_LEN, K_HEX, 1},
    {"record_hash", 0, EDS_HASH_LEN, K_HEX, 0},
};
#define N_FIELDS          (sizeof fields / sizeof fields[0])
#define RECORD_HASH_FIELD (&fields[N_FIELDS - 1])

/*
 * Copy s into out (at most cap-1 bytes) with bytes that could break a
 * one-line message (controls, non-ASCII) replaced by '?': keys and parser
 * excerpts come from untrusted input.
 */
static const char *printable(char *out, size_t cap, const char *s, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c >= 0x7F) ? '?' : (char)c;
	}
	out[n] = '\0';
	return out;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "an unknown value";
}

static eds_status int_rule(const field *f, const char *got)
{
	return eds_fail(EDS_E_FIELD, "%s: must be an integer %zu .. 2^53-1, got %s", f->name,
	                f->size, got);
}

static eds_status parse_int(const field *f, const json_t *v, eds_record *r)
{
	if (!json_is_integer(v))
		return int_rule(f, json_type_name(v));
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)f->size || (unsigned long long)n > EDS_INT_MAX) {
		char got[32];
		snprintf(got, sizeof got, "%lld", (long long)n);
		return int_rule(f, got);
	}
	uint64_t u = (uint64_t)n;
	memcpy((char *)r + f->offset, &u, sizeof u);
	return EDS_OK;
}

static eds_status parse_hex(const field *f, const json_t *v, uint8_t *out)
{
	if (!json_is_string(v))
		return eds_fail(EDS_E_FIELD, "%s: must be a string of %zu hex characters, got %s",
		                f->name, 2 * f->size, json_type_name(v));
	size_t len = json_string_length(v);
	if (eds_hex_decode(out, f->size, json_string_value(v), len) != EDS_OK)
		return eds_fail(EDS_E_FIELD, "%s: must be exactly %zu hex characters, got %zu %s",
		                f->name, 2 * f->size, len,
		                len == 2 * f->size ? "with a non-hex character" : "characters");
	return EDS_OK;
}

/* Strings are length-checked before copying; the full rules run in eds_record_validate. */
static eds_status parse_string(const field *f, const json_t *v, eds_record *r)
{
	size_t cap = f->kind == K_DEVICE_ID ? EDS_DEVICE_ID_MAX : EDS_OBJECT_REF_MAX;
	if (!json_is_string(v))
		return eds_fail(EDS_E_FIELD, "%s: must be a string, got %s", f->name,
		                json_type_name(v));
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len > cap)
		return eds_fail(EDS_E_FIELD, "%s: must be at most %zu bytes, got %zu", f->name, cap,
		                len);
	if (memchr(s, '\0', len) != NULL)
		return eds_fail(EDS_E_FIELD, "%s: contains a NUL character", f->name);
	memcpy((char *)r + f->offset, s, len);
	return EDS_OK;
}

static eds_status parse_field(const field *f, const json_t *v, eds_record *r,
                              uint8_t stated_hash[EDS_HASH_LEN])
{
	switch (f->kind) {
	case K_FORMAT:
		if (!json_is_string(v) || strcmp(json_string_value(v), "ESR1") != 0 ||
		    json_string_length(v) != 4)
			return eds_fail(EDS_E_FIELD, "format: must be \"ESR1\"");
		return EDS_OK;
	case K_DEVICE_ID:
	case K_OBJECT_REF: return parse_string(f, v, r);
	case K_INT: return parse_int(f, v, r);
	case K_HEX:
		return parse_hex(f, v,
		                 f == RECORD_HASH_FIELD ? stated_hash : (uint8_t *)r + f->offset);
	}
	return eds_fail(EDS_E_INTERNAL, "record JSON: unknown field kind");
}

static eds_status reject_unknown_keys(const json_t *obj)
{
	const char *key;
	const json_t *v;
	char shown[72];
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (i < N_FIELDS && strcmp(fields[i].name, key) != 0)
			i++;
		if (i == N_FIELDS)
			return eds_fail(EDS_E_FIELD, "unknown key \"%s\"",
			                printable(shown, sizeof shown, key, strlen(key)));
	}
	return EDS_OK;
}

/* computed receives the record's hash, which a verifier reuses instead of hashing again. */
static eds_status check_stated_hash(const eds_record *r, const uint8_t stated[EDS_HASH_LEN],
                                    uint8_t computed[EDS_HASH_LEN])
{
	char want[2 * EDS_HASH_LEN + 1], got[2 * EDS_HASH_LEN + 1];
	eds_status st = eds_record_compute_hash(r, computed);
	if (st != EDS_OK)
		return st;
	if (memcmp(computed, stated, EDS_HASH_LEN) == 0)
		return EDS_OK;
	eds_hex_encode(got, stated, EDS_HASH_LEN);
	eds_hex_encode(want, computed, EDS_HASH_LEN);
	return eds_fail(EDS_E_HASH_MISMATCH, "record_hash: states %s, the record hashes to %s", got,
	                want);
}

/* The checks after parsing: field rules, then the stated record_hash (NULL:
 * none stated); hash (optional) receives the record's hash. */
static eds_status finish_record(const eds_record *r, const uint8_t *stated, uint8_t *hash)
{
	uint8_t computed[EDS_HASH_LEN];
	eds_status st = eds_record_validate(r);
	if (st != EDS_OK)
		return st;
	if (stated != NULL)
		return check_stated_hash(r, stated, hash != NULL ? hash : computed);
	return hash != NULL ? eds_record_compute_hash(r, hash) : EDS_OK;
}

/* hash (optional) receives the record_hash, checked against the stated one if any. */
static eds_status record_from_jansson(eds_record *r, const json_t *obj, uint8_t *hash)
{
	uint8_t stated[EDS_HASH_LEN];
	int has_hash = 0;
	eds_status st;
	if (r == NULL || obj == NULL)
		return eds_fail(EDS_E_ARG, "record JSON: NULL argument");
	if (!json_is_object(obj))
		return eds_fail(EDS_E_MALFORMED, "record JSON: must be an object, got %s",
		                json_type_name(obj));
	if ((st = reject_unknown_keys(obj)) != EDS_OK)
		return st;
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < N_FIELDS; i++) {
		const json_t *v = json_object_get(obj, fields[i].name);
		if (v == NULL) {
			if (fields[i].required)
				return eds_fail(EDS_E_FIELD, "%s: missing (required key)",
				                fields[i].name);
			continue;
		}
		if ((st = parse_field(&fields[i], v, r, stated)) != EDS_OK)
			return st;
		if (&fields[i] == RECORD_HASH_FIELD)
			has_hash = 1;
	}
	return finish_record(r, has_hash ? stated : NULL, hash);
}

eds_status eds_record_from_jansson(eds_record *r, const json_t *obj)
{
	return record_from_jansson(r, obj, NULL);
}

/*
 * jansson cannot hold integers beyond 2^63 and fails the whole parse; find
 * the key in front of the offending number (pos is just past it) so the
 * message can name the field like any other range error.
 */
static const field *field_before(const char *json, size_t pos)
{
	size_t i = pos;
	while (i > 0 && strchr("0123456789+-.eE", json[i - 1]) != NULL)
		i--;
	while (i > 0 && strchr(" \t\r\n", json[i - 1]) != NULL)
		i--;
	if (i == 0 || json[--i] != ':')
		return NULL;
	while (i > 0 && strchr(" \t\r\n", json[i - 1]) != NULL)
		i--;
	if (i == 0 || json[--i] != '"')
		return NULL;
	size_t end = i;
	while (i > 0 && json[i - 1] != '"')
		i--;
	for (size_t k = 0; k < N_FIELDS && i > 0; k++)
		if (fields[k].kind == K_INT && strlen(fields[k].name) == end - i &&
		    memcmp(fields[k].name, json + i, end - i) == 0)
			return &fields[k];
	return NULL;
}

/* Our wording for parser errors whose jansson text would be unclear. */
static const char *plain_reason(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "a string holds \\u0000 (NUL), which no record may contain";
	case json_error_end_of_input_expected:
		return "unexpected data after the end of the first JSON value";
	default: return NULL;
	}
}

static eds_status syntax_error(const char *json, size_t len, const json_error_t *e)
{
	char text[JSON_ERROR_TEXT_LENGTH];
	if (json_error_code(e) == json_error_numeric_overflow && e->position >= 0 &&
	    (size_t)e->position <= len) {
		const field *f = field_before(json, (size_t)e->position);
		if (f != NULL)
			return int_rule(f, "a number beyond the range of 64-bit integers");
	}
	const char *reason = plain_reason(e);
	if (reason == NULL)
		reason = printable(text, sizeof text, e->text, strlen(e->text));
	if (e->line <= 1)
		return eds_fail(EDS_E_MALFORMED, "JSON: %s (column %d)", reason, e->column);
	return eds_fail(EDS_E_MALFORMED, "JSON: %s (line %d, column %d)", reason, e->line,
	                e->column);
}

json_t *eds_json_load_strict(const char *json, size_t len, eds_status *st)
{
	json_error_t e;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	*st = root != NULL ? EDS_OK : syntax_error(json, len, &e);
	return root;
}

/* ---- the canonical form, read without a JSON parser --------------------------
 *
 * Record files are mostly written by eds_record_to_json: compact, keys in
 * FORMAT.md order, record_hash present, strings of printable ASCII.  That
 * exact form is read directly (jansson's allocations and generic parsing
 * were a tenth of `eds verify-chain`'s CPU time).  Anything else - other
 * key order, whitespace, escapes, non-ASCII, numbers out of range - falls
 * back to jansson, so every error and every unusual input gets the strict
 * reader above; for the canonical form both give the same record.
 */

typedef struct cursor {
	const char *p, *end;
} cursor;

static bool take(cursor *c, const char *s, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* A string of printable ASCII without escapes, at most max bytes, into out. */
static bool take_plain_string(cursor *c, char *out, size_t max)
{
	if (!take(c, "\"", 1))
		return false;
	const char *s = c->p;
	for (; c->p < c->end && *c->p != '"'; c->p++)
		if (*c->p < 0x20 || *c->p > 0x7E || *c->p == '\\')
			return false;
	size_t n = (size_t)(c->p - s);
	if (c->p == c->end || n > max)
		return false;
	memcpy(out, s, n);
	c->p++;
	return true;
}

/* Digits without a leading zero, in min .. EDS_INT_MAX (16 digits at most). */
static bool take_uint(cursor *c, uint64_t min, void *out)
{
	const char *s = c->p;
	uint64_t v = 0;
	for (; c->p < c->end && c->p - s < 16 && *c->p >= '0' && *c->p <= '9'; c->p++)
		v = v * 10 + (uint64_t)(*c->p - '0');
	if (c->p == s || (c->p - s > 1 && *s == '0') || v < min || v > EDS_INT_MAX)
		return false;
	memcpy(out, &v, sizeof v);
	return true;
}

static bool take_hex(cursor *c, uint8_t *out, size_t size)
{
	if ((size_t)(c->end - c->p) < 2 * size + 2 || c->p[0] != '"' || c->p[2 * size + 1] != '"' ||
	    eds_hex_decode(out, size, c->p + 1, 2 * size) != EDS_OK)
		return false;
	c->p += 2 * size + 2;
	return true;
}

static bool take_value(cursor *c, const field *f, eds_record *r, uint8_t *stated)
{
	switch (f->kind) {
	case K_FORMAT: return take(c, "\"ESR1\"", 6);
	case K_DEVICE_ID: return take_plain_string(c, r->device_id, EDS_DEVICE_ID_MAX);
	case K_OBJECT_REF: return take_plain_string(c, r->object_ref, EDS_OBJECT_REF_MAX);
	case K_INT: return take_uint(c, f->size, (char *)r + f->offset);
	case K_HEX:
		return take_hex(c, f == RECORD_HASH_FIELD ? stated : (uint8_t *)r + f->offset,
		                f->size);
	}
	return false;
}

/* The length of the canonical form at the start of json (0: it does not
 * start with one); r and stated are then filled. */
static size_t canonical_prefix(eds_record *r, const char *json, size_t len,
                               uint8_t stated[EDS_HASH_LEN])
{
	cursor c = {json, json + len};
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < N_FIELDS; i++) {
		const char *name = fields[i].name;
		if (!take(&c, i == 0 ? "{\"" : ",\"", 2) || !take(&c, name, strlen(name)) ||
		    !take(&c, "\":", 2) || !take_value(&c, &fields[i], r, stated))
			return 0;
	}
	return take(&c, "}", 1) ? (size_t)(c.p - json) : 0;
}

/* True when json is exactly the canonical form; r and stated are then filled. */
static bool parse_canonical(eds_record *r, const char *json, size_t len,
                            uint8_t stated[EDS_HASH_LEN])
{
	size_t n = canonical_prefix(r, json, len, stated);
	return n != 0 && n == len;
}

size_t eds_record_from_canonical(eds_record *r, const char *text, size_t len, eds_status *st)
{
	uint8_t stated[EDS_HASH_LEN];
	size_t n = canonical_prefix(r, text, len, stated);
	/* The limit cannot be reached by a canonical record; checked so that this
	 * stays what eds_record_from_json would answer for the same text. */
	if (n == 0 || n > EDS_RECORD_JSON_MAX)
		return 0;
	*st = finish_record(r, stated, NULL);
	return n;
}

eds_status eds_record_from_json_hashed(eds_record *r, const char *json, size_t len, uint8_t *hash)
{
	eds_status st;
	if (r == NULL || json == NULL)
		return eds_fail(EDS_E_ARG, "record JSON: NULL argument");
	if (len > EDS_RECORD_JSON_MAX)
		return eds_fail(EDS_E_LIMIT, "record JSON: %zu bytes, limit is %d", len,
		                EDS_RECORD_JSON_MAX);
	uint8_t stated[EDS_HASH_LEN];
	if (parse_canonical(r, json, len, stated))
		return finish_record(r, stated, hash);
	json_t *root = eds_json_load_strict(json, len, &st);
	if (root == NULL)
		return st;
	st = record_from_jansson(r, root, hash);
	json_decref(root);
	return st;
}

eds_status eds_record_from_json(eds_record *r, const char *json, size_t len)
{
	return eds_record_from_json_hashed(r, json, len, NULL);
}

static json_t *hex_string(const uint8_t *bin, size_t len)
{
	char hex[2 * EDS_SIGNATURE_LEN + 1];
	eds_hex_encode(hex, bin, len);
	return json_stringn(hex, 2 * len);
}

/* Build the object with keys in FORMAT.md order; NULL when out of memory. */
static json_t *to_jansson(const eds_record *r, const uint8_t hash[EDS_HASH_LEN])
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = json_object_set_new(o, "format", json_string("ESR1"));
	bad |= json_object_set_new(o, "device_id", json_string(r->device_id));
	bad |= json_object_set_new(o, "sequence", json_integer((json_int_t)r->sequence));
	bad |= json_object_set_new(o, "timestamp_ms", json_integer((json_int_t)r->timestamp_ms));
	bad |= json_object_set_new(o, "payload_size", json_integer((json_int_t)r->payload_size));
	bad |= json_object_set_new(o, "payload_hash", hex_string(r->payload_hash, EDS_HASH_LEN));
	bad |= json_object_set_new(o, "prev_hash", hex_string(r->prev_hash, EDS_HASH_LEN));
	bad |= json_object_set_new(o, "object_ref", json_string(r->object_ref));
	bad |= json_object_set_new(o, "signature", hex_string(r->signature, EDS_SIGNATURE_LEN));
	bad |= json_object_set_new(o, "record_hash", hex_string(hash, EDS_HASH_LEN));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

eds_status eds_record_to_json(const eds_record *r, char *buf, size_t cap, size_t *len)
{
	uint8_t hash[EDS_HASH_LEN];
	if (buf == NULL)
		return eds_fail(EDS_E_ARG, "record JSON: NULL argument");
	/* Also validates r, so the strings are valid UTF-8 json_string accepts. */
	eds_status st = eds_record_compute_hash(r, hash);
	if (st != EDS_OK)
		return st;
	json_t *o = to_jansson(r, hash);
	if (o == NULL)
		return eds_fail(EDS_E_NOMEM, "record JSON: out of memory");
	/* Without JSON_ENSURE_ASCII jansson writes UTF-8 as is and escapes only
	 * '"', '\\' and control characters (which records cannot contain). */
	size_t n = json_dumpb(o, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0)
		return eds_fail(EDS_E_NOMEM, "record JSON: could not serialise");
	if (n >= cap)
		return eds_fail(EDS_E_LIMIT, "record JSON: buffer of %zu bytes, need %zu", cap,
		                n + 1);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return EDS_OK;
}
