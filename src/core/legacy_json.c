/*
 * legacy_json.c - the serde_json form of edgesentry-rs records and the
 * streaming reader of their chain files (COMPAT.md).
 *
 * A chain file is one JSON array, often hundreds of megabytes when
 * pretty-printed (every hash byte on its own line).  Loading it whole with
 * jansson would cost several times its size in memory, so the reader splits
 * the array into its elements with a small scanner and parses one element
 * at a time: memory stays at one element (EDS_LEGACY_JSON_MAX) whatever
 * the file size.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesentry/legacy.h"
#include "internal.h"

/* ---- one record ------------------------------------------------------------ */

static const char *const keys[] = {"device_id", "sequence",         "timestamp_ms", "payload_hash",
                                   "signature", "prev_record_hash", "object_ref"};
enum { N_KEYS = sizeof keys / sizeof keys[0] };

static eds_status get_string(const json_t *v, const char *key, char *dst, size_t cap)
{
	if (!json_is_string(v))
		return eds_fail(EDS_E_FIELD, "%s: must be a string", key);
	size_t len = json_string_length(v);
	if (len > cap)
		return eds_fail(EDS_E_FIELD, "%s: must be at most %zu bytes, got %zu", key, cap,
		                len);
	/* jansson refuses \u0000 by default, so the C string has the full length. */
	memcpy(dst, json_string_value(v), len);
	dst[len] = '\0';
	return EDS_OK;
}

static eds_status get_u64(const json_t *v, const char *key, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return eds_fail(EDS_E_FIELD, "%s: must be an integer 0 .. 2^63-1", key);
	*out = (uint64_t)json_integer_value(v);
	return EDS_OK;
}

static eds_status get_bytes(const json_t *v, const char *key, uint8_t *dst, size_t n)
{
	if (!json_is_array(v) || json_array_size(v) != n)
		return eds_fail(EDS_E_FIELD, "%s: must be an array of %zu integers 0..255", key, n);
	for (size_t i = 0; i < n; i++) {
		const json_t *b = json_array_get(v, i);
		if (!json_is_integer(b) || json_integer_value(b) < 0 || json_integer_value(b) > 255)
			return eds_fail(EDS_E_FIELD, "%s[%zu]: must be an integer 0..255", key, i);
		dst[i] = (uint8_t)json_integer_value(b);
	}
	return EDS_OK;
}

static eds_status get_field(eds_legacy_record *r, size_t k, const json_t *v)
{
	switch (k) {
	case 0: return get_string(v, keys[k], r->device_id, EDS_LEGACY_DEVICE_ID_MAX);
	case 1: return get_u64(v, keys[k], &r->sequence);
	case 2: return get_u64(v, keys[k], &r->timestamp_ms);
	case 3: return get_bytes(v, keys[k], r->payload_hash, EDS_LEGACY_HASH_LEN);
	case 4: return get_bytes(v, keys[k], r->signature, EDS_LEGACY_SIG_LEN);
	case 5: return get_bytes(v, keys[k], r->prev_record_hash, EDS_LEGACY_HASH_LEN);
	default: return get_string(v, keys[k], r->object_ref, EDS_LEGACY_OBJECT_REF_MAX);
	}
}

/*
 * A key from the input, shown JSON-escaped in ASCII (jansson's own escaping),
 * so a control character or odd byte cannot break the one-line message.
 */
static eds_status unknown_key(const char *key)
{
	json_t *k = json_string(key);
	char *shown = k != NULL ? json_dumps(k, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
	/* JSON escapes every control character but DEL. */
	for (char *p = shown; p != NULL && *p != '\0'; p++)
		if (*p == 0x7f)
			*p = '?';
	eds_status st =
	    eds_fail(EDS_E_FIELD, "unknown key %.64s%s", shown != NULL ? shown : "(unprintable)",
	             shown != NULL && strlen(shown) > 64 ? "..." : "");
	free(shown);
	json_decref(k);
	return st;
}

static eds_status from_object(eds_legacy_record *r, const json_t *obj)
{
	const char *key;
	const json_t *v;
	if (!json_is_object(obj))
		return eds_fail(EDS_E_MALFORMED, "legacy record: expected a JSON object");
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t k = 0;
		while (k < N_KEYS && strcmp(key, keys[k]) != 0)
			k++;
		if (k == N_KEYS)
			return unknown_key(key);
	}
	for (size_t k = 0; k < N_KEYS; k++) {
		v = json_object_get(obj, keys[k]);
		if (v == NULL)
			return eds_fail(EDS_E_FIELD, "%s: missing", keys[k]);
		eds_status st = get_field(r, k, v);
		if (st != EDS_OK)
			return st;
	}
	return EDS_OK;
}

/*
 * What a syntax error is, in our words: jansson's own text quotes the input
 * around the error, raw, which may hold control characters.
 */
static const char *syntax_reason(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_out_of_memory: return "out of memory";
	case json_error_stack_overflow: return "nested too deeply";
	case json_error_invalid_utf8: return "invalid UTF-8";
	case json_error_premature_end_of_input: return "the text ends too early";
	case json_error_end_of_input_expected: return "data after the record";
	case json_error_null_character:
	case json_error_null_byte_in_key: return "a string holds \\u0000 (NUL)";
	case json_error_duplicate_key: return "a key appears twice";
	case json_error_numeric_overflow: return "an integer beyond the range 0 .. 2^63-1";
	default: return "invalid JSON syntax";
	}
}

/* Parse one element; *line gets the 1-based line of a syntax error within it (else 1). */
static eds_status parse_record(eds_legacy_record *r, const char *json, size_t len, int *line)
{
	json_error_t err;
	*line = 1;
	json_t *obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL) {
		*line = err.line > 0 ? err.line : 1;
		return eds_fail(EDS_E_MALFORMED,
		                "legacy record: JSON: %s (record line %d, column %d)",
		                syntax_reason(&err), *line, err.column);
	}
	memset(r, 0, sizeof *r);
	eds_status st = from_object(r, obj);
	json_decref(obj);
	if (st != EDS_OK)
		memset(r, 0, sizeof *r);
	return st;
}

eds_status eds_legacy_record_from_json(eds_legacy_record *r, const char *json, size_t len)
{
	int line;
	if (r == NULL || json == NULL)
		return eds_fail(EDS_E_ARG, "legacy record: NULL argument");
	if (len > EDS_LEGACY_JSON_MAX)
		return eds_fail(EDS_E_LIMIT, "legacy record: %zu bytes of JSON, limit is %d", len,
		                EDS_LEGACY_JSON_MAX);
	return parse_record(r, json, len, &line);
}

static json_t *byte_array(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_integer(p[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static json_t *to_object(const eds_legacy_record *r)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	/* json_object_set_new takes ownership even on failure, so only the sum
	 * of the results needs checking. */
	int bad = json_object_set_new(o, "device_id", json_string(r->device_id));
	bad |= json_object_set_new(o, "sequence", json_integer((json_int_t)r->sequence));
	bad |= json_object_set_new(o, "timestamp_ms", json_integer((json_int_t)r->timestamp_ms));
	bad |= json_object_set_new(o, "payload_hash", byte_array(r->payload_hash, 32));
	bad |= json_object_set_new(o, "signature", byte_array(r->signature, 64));
	bad |= json_object_set_new(o, "prev_record_hash", byte_array(r->prev_record_hash, 32));
	bad |= json_object_set_new(o, "object_ref", json_string(r->object_ref));
	if (bad != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

eds_status eds_legacy_record_to_json(const eds_legacy_record *r, char *buf, size_t cap, size_t *len)
{
	eds_status st = eds_legacy_record_validate(r);
	if (st != EDS_OK)
		return st;
	if (buf == NULL)
		return eds_fail(EDS_E_ARG, "legacy record: NULL argument");
	if (r->sequence > INT64_MAX || r->timestamp_ms > INT64_MAX)
		return eds_fail(EDS_E_FIELD,
		                "legacy record: integers above 2^63-1 cannot be written");
	json_t *o = to_object(r);
	if (o == NULL)
		return eds_fail(EDS_E_NOMEM, "legacy record: out of memory");
	size_t need = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (need == 0 || need >= cap) {
		json_decref(o);
		return eds_fail(need == 0 ? EDS_E_NOMEM : EDS_E_LIMIT,
		                "legacy record: JSON needs %zu bytes, buffer has %zu", need + 1,
		                cap);
	}
	json_dumpb(o, buf, need, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	buf[need] = '\0';
	if (len != NULL)
		*len = need;
	return EDS_OK;
}

/* ---- chain file reader -------------------------------------------------------- */

enum reader_state { BEFORE_ARRAY, BEFORE_ELEMENT, AFTER_ELEMENT, AFTER_ARRAY, FAILED };

struct eds_legacy_reader {
	FILE *f;
	int own_file;
	char *path;
	enum reader_state state;
	uint64_t line;      /* current line of the scanner, 1-based */
	uint64_t index;     /* records returned */
	uint64_t elem_line; /* line where the last returned element began */
	uint64_t offset;    /* bytes read */
	uint64_t size;      /* file size, 0 when unknown */
	size_t len;         /* bytes in elem */
	char elem[EDS_LEGACY_JSON_MAX];
};

eds_status eds_legacy_reader_open(eds_legacy_reader **out, const char *path)
{
	if (out == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "legacy reader: NULL argument");
	*out = NULL;
	eds_legacy_reader *rd = calloc(1, sizeof *rd);
	if (rd == NULL || (rd->path = strdup(path)) == NULL) {
		free(rd);
		return eds_fail(EDS_E_NOMEM, "%s: out of memory", path);
	}
	if (strcmp(path, "-") == 0) {
		rd->f = stdin;
	} else if ((rd->f = fopen(path, "rb")) != NULL) {
		rd->own_file = 1;
	} else {
		eds_status st = eds_fail(errno == ENOENT ? EDS_E_NOT_FOUND : EDS_E_IO, "%s: %s",
		                         path, strerror(errno));
		eds_legacy_reader_close(rd);
		return st;
	}
	struct stat sb;
	int bad = fstat(fileno(rd->f), &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? EISDIR : 0;
	if (bad != 0) {
		eds_status st = eds_fail(EDS_E_IO, "%s: %s", path, strerror(bad));
		eds_legacy_reader_close(rd);
		return st;
	}
	rd->size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	rd->line = 1;
	*out = rd;
	return EDS_OK;
}

void eds_legacy_reader_close(eds_legacy_reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->own_file)
		fclose(rd->f);
	free(rd->path);
	free(rd);
}

uint64_t eds_legacy_reader_index(const eds_legacy_reader *rd)
{
	return rd == NULL || rd->index == 0 ? 0 : rd->index - 1;
}

uint64_t eds_legacy_reader_line(const eds_legacy_reader *rd)
{
	return rd != NULL ? rd->elem_line : 0;
}

uint64_t eds_legacy_reader_offset(const eds_legacy_reader *rd)
{
	return rd != NULL ? rd->offset : 0;
}

uint64_t eds_legacy_reader_size(const eds_legacy_reader *rd)
{
	return rd != NULL ? rd->size : 0;
}

/* Fail the reader for good, with "PATH:LINE: " in front of the detail. */
static eds_status reader_fail(eds_legacy_reader *rd, eds_status st, uint64_t line, const char *what)
{
	rd->state = FAILED;
	if (what != NULL)
		eds_fail(st, "%s", what);
	return eds_fail_prefix(st, "%s:%llu", rd->path, (unsigned long long)line);
}

static int next_char(eds_legacy_reader *rd)
{
	int c = getc_unlocked(rd->f);
	if (c == '\n')
		rd->line++;
	if (c != EOF)
		rd->offset++;
	return c;
}

/* Next byte that is not JSON whitespace, or EOF. */
static int skip_space(eds_legacy_reader *rd)
{
	int c;
	do
		c = next_char(rd);
	while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
	return c;
}

/*
 * Copy one object, whose '{' was just read, into rd->elem.  Only nesting
 * and string quoting are tracked here; jansson checks the rest.
 */
static eds_status scan_element(eds_legacy_reader *rd)
{
	int depth = 1, in_string = 0, escaped = 0, c;
	rd->elem[0] = '{';
	rd->len = 1;
	while (depth > 0) {
		if ((c = next_char(rd)) == EOF)
			return reader_fail(rd, ferror(rd->f) ? EDS_E_IO : EDS_E_MALFORMED, rd->line,
			                   ferror(rd->f) ? "read error"
			                                 : "file ends inside a record");
		if (rd->len == sizeof rd->elem) {
			eds_fail(EDS_E_LIMIT, "record longer than the limit of %d bytes",
			         EDS_LEGACY_JSON_MAX);
			return reader_fail(rd, EDS_E_LIMIT, rd->elem_line, NULL);
		}
		rd->elem[rd->len++] = (char)c;
		if (in_string) {
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return EDS_OK;
}

/* Advance over the array's punctuation to the next element's '{', or the end. */
static eds_status find_element(eds_legacy_reader *rd, int *found)
{
	int c = skip_space(rd);
	*found = 0;
	if (rd->state == BEFORE_ARRAY) {
		if (c != '[')
			return reader_fail(rd, EDS_E_MALFORMED, rd->line,
			                   "expected a JSON array of legacy records");
		rd->state = BEFORE_ELEMENT;
		c = skip_space(rd);
		if (c == ']')
			goto end;
	} else if (rd->state == AFTER_ELEMENT) {
		if (c == ']')
			goto end;
		if (c != ',')
			return reader_fail(rd, EDS_E_MALFORMED, rd->line,
			                   c == EOF ? "file ends before the closing ']'"
			                            : "expected ',' or ']' after a record");
		c = skip_space(rd);
	}
	if (c != '{')
		return reader_fail(rd, EDS_E_MALFORMED, rd->line,
		                   c == EOF ? "file ends before the closing ']'"
		                            : "expected a record (a JSON object)");
	*found = 1;
	return EDS_OK;
end:
	rd->state = AFTER_ARRAY;
	if (skip_space(rd) != EOF)
		return reader_fail(rd, EDS_E_MALFORMED, rd->line, "data after the closing ']'");
	return EDS_OK;
}

eds_status eds_legacy_reader_next(eds_legacy_reader *rd, eds_legacy_record *r)
{
	int found;
	if (rd == NULL || r == NULL)
		return eds_fail(EDS_E_ARG, "legacy reader: NULL argument");
	if (rd->state == FAILED)
		return eds_fail(EDS_E_ARG, "%s: reader stopped at an earlier error", rd->path);
	if (rd->state == AFTER_ARRAY)
		return EDS_DONE;
	eds_status st = find_element(rd, &found);
	if (st != EDS_OK || !found)
		return st == EDS_OK ? EDS_DONE : st;
	rd->elem_line = rd->line;
	if ((st = scan_element(rd)) != EDS_OK)
		return st;
	int line;
	if ((st = parse_record(r, rd->elem, rd->len, &line)) != EDS_OK)
		return reader_fail(rd, st, rd->elem_line + (uint64_t)line - 1, NULL);
	rd->state = AFTER_ELEMENT;
	rd->index++;
	return EDS_OK;
}
