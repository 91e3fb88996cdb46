/*
 * update_util.c - strict JSON fields, canonical encoding and signature
 * lists shared by manifests and trust policies.
 */
#include <stdlib.h>
#include <string.h>

#include "edgesentry/ed25519.h"
#include "edgesentry/encoding.h"
#include "edgesentry/record.h"
#include "internal.h"
#include "record_internal.h"
#include "update_internal.h"

void upd_put(upd_buf *b, const void *data, size_t len)
{
	if (b->bad || len > b->cap - b->len) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void upd_put_u8(upd_buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	upd_put(b, &c, 1);
}

void upd_put_u64(upd_buf *b, uint64_t v)
{
	uint8_t be[8];
	eds_put_u64be(be, v);
	upd_put(b, be, 8);
}

void upd_put_str8(upd_buf *b, const char *s)
{
	size_t len = strlen(s);
	upd_put_u8(b, (unsigned)len);
	upd_put(b, s, len);
}

eds_status upd_check_id(const char *field, const char *s, size_t max, int slash)
{
	size_t len = strnlen(s, max + 1);
	if (len == 0 || len > max)
		return eds_fail(EDS_E_FIELD, "%s: must be 1..%zu characters", field, max);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-' || (slash && c == '/'))
			continue;
		return eds_fail(EDS_E_FIELD,
		                "%s: character %zu is not one of A-Z a-z 0-9 . _ : -%s", field,
		                i + 1, slash ? " /" : "");
	}
	return EDS_OK;
}

eds_status upd_only_keys(const char *what, const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		size_t i = 0;
		while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL) {
			char shown[41];
			size_t n = strnlen(key, 40);
			for (size_t k = 0; k < n; k++)
				shown[k] = (key[k] < 0x20 || key[k] == 0x7f) ? '?' : key[k];
			shown[n] = '\0';
			return eds_fail(EDS_E_FIELD, "%s: unknown key \"%s\"", what, shown);
		}
	}
	return EDS_OK;
}

static const json_t *need(const json_t *obj, const char *key, eds_status *st)
{
	const json_t *v = json_object_get(obj, key);
	*st = v != NULL ? EDS_OK : eds_fail(EDS_E_FIELD, "%s: missing", key);
	return v;
}

eds_status upd_get_int(const json_t *obj, const char *key, uint64_t *out)
{
	eds_status st;
	const json_t *v = need(obj, key, &st);
	if (v == NULL)
		return st;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (unsigned long long)json_integer_value(v) > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "%s: must be an integer 0 .. 2^53-1", key);
	*out = (uint64_t)json_integer_value(v);
	return EDS_OK;
}

static eds_status hex_value(const char *key, const json_t *v, uint8_t *out, size_t n)
{
	if (!json_is_string(v) || json_string_length(v) != 2 * n)
		return eds_fail(EDS_E_FIELD, "%s: must be %zu lowercase hex digits", key, 2 * n);
	const char *s = json_string_value(v);
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return eds_fail(EDS_E_FIELD, "%s: must be %zu lowercase hex digits", key,
			                2 * n);
	return eds_hex_decode(out, n, s, 2 * n) == EDS_OK
	           ? EDS_OK
	           : eds_fail(EDS_E_FIELD, "%s: bad hex", key);
}

eds_status upd_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n)
{
	eds_status st;
	const json_t *v = need(obj, key, &st);
	return v == NULL ? st : hex_value(key, v, out, n);
}

eds_status upd_get_str(const json_t *obj, const char *key, char *out, size_t max)
{
	eds_status st;
	const json_t *v = need(obj, key, &st);
	if (v == NULL)
		return st;
	if (!json_is_string(v))
		return eds_fail(EDS_E_FIELD, "%s: must be a string", key);
	size_t len = json_string_length(v);
	if (len > max || strlen(json_string_value(v)) != len)
		return eds_fail(EDS_E_FIELD, "%s: must be at most %zu bytes without NUL", key, max);
	memcpy(out, json_string_value(v), len + 1);
	return EDS_OK;
}

static eds_status one_sig(const json_t *v, eds_update_signature *s)
{
	static const char *const keys[] = {"public_key", "signature", NULL};
	eds_status st;
	if (!json_is_object(v))
		return eds_fail(EDS_E_FIELD, "signatures: each entry must be an object");
	if ((st = upd_only_keys("signatures[]", v, keys)) != EDS_OK ||
	    (st = upd_get_hex(v, "public_key", s->key.bytes, 32)) != EDS_OK ||
	    (st = upd_get_hex(v, "signature", s->sig, 64)) != EDS_OK)
		return st;
	return EDS_OK;
}

eds_status upd_get_sigs(const json_t *obj, eds_update_signature *sigs, size_t *n)
{
	eds_status st;
	const json_t *arr = need(obj, "signatures", &st);
	if (arr == NULL)
		return st;
	if (!json_is_array(arr))
		return eds_fail(EDS_E_FIELD, "signatures: must be an array");
	if (json_array_size(arr) > EDS_UPDATE_SIGS_MAX)
		return eds_fail(EDS_E_LIMIT, "signatures: %zu entries, limit is %d",
		                json_array_size(arr), EDS_UPDATE_SIGS_MAX);
	*n = 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		if ((st = one_sig(json_array_get(arr, i), &sigs[i])) != EDS_OK)
			return eds_fail_prefix(st, "signatures[%zu]", i);
		*n = i + 1;
	}
	return EDS_OK;
}

eds_status upd_dump(json_t *root, char *buf, size_t cap, size_t *len)
{
	if (root == NULL)
		return eds_fail(EDS_E_NOMEM, "JSON: out of memory");
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		return eds_fail(EDS_E_NOMEM, "JSON: out of memory");
	size_t n = strlen(text);
	eds_status st = EDS_OK;
	if (n + 2 > cap) {
		st = eds_fail(EDS_E_LIMIT, "JSON: %zu bytes do not fit in %zu", n + 1, cap);
	} else {
		memcpy(buf, text, n);
		buf[n] = '\n';
		buf[n + 1] = '\0';
		if (len != NULL)
			*len = n + 1;
	}
	free(text);
	return st;
}

json_t *upd_hex(const uint8_t *bin, size_t n)
{
	char hex[129];
	eds_hex_encode(hex, bin, n);
	return json_stringn(hex, 2 * n);
}

json_t *upd_sigs_json(const eds_update_signature *sigs, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = json_object();
		if (o == NULL ||
		    json_object_set_new(o, "public_key", upd_hex(sigs[i].key.bytes, 32)) ||
		    json_object_set_new(o, "signature", upd_hex(sigs[i].sig, 64)) ||
		    json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static eds_status doc_from_root(const upd_doc *d, void *out, const json_t *root)
{
	char format[32];
	eds_status st;
	if (!json_is_object(root))
		return eds_fail(EDS_E_MALFORMED, "%s: must be a JSON object", d->what);
	if ((st = upd_only_keys(d->what, root, d->keys)) != EDS_OK ||
	    (st = upd_get_str(root, "format", format, sizeof format - 1)) != EDS_OK)
		return st;
	if (strcmp(format, d->format) != 0)
		return eds_fail(EDS_E_UNSUPPORTED, "format: must be \"%s\"", d->format);
	return d->fill(out, root);
}

eds_status upd_doc_from_json(const upd_doc *d, void *out, const char *json, size_t len)
{
	eds_status st;
	if (out == NULL || json == NULL)
		return eds_fail(EDS_E_ARG, "%s: NULL argument", d->what);
	if (len > EDS_UPDATE_JSON_MAX)
		return eds_fail(EDS_E_LIMIT, "%s: %zu bytes, limit is %d", d->what, len,
		                EDS_UPDATE_JSON_MAX);
	memset(out, 0, d->size);
	json_t *root = eds_json_load_strict(json, len, &st);
	if (root == NULL)
		return st;
	st = doc_from_root(d, out, root);
	json_decref(root);
	return st;
}

eds_status upd_doc_load(const upd_doc *d, void *out, const char *path)
{
	char *text;
	size_t len;
	if (out == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "%s: NULL argument", d->what);
	memset(out, 0, d->size);
	eds_status st = eds_read_file(path, EDS_UPDATE_JSON_MAX, &text, &len);
	if (st != EDS_OK)
		return st;
	st = upd_doc_from_json(d, out, text, len);
	free(text);
	return st == EDS_OK ? st : eds_fail_prefix(st, "%s", path);
}

void upd_count_sigs(const eds_public_key *keys, size_t n_keys, const eds_update_signature *sigs,
                    size_t n_sigs, const uint8_t *msg, size_t len, eds_update_sig_count *c)
{
	uint8_t counted[EDS_UPDATE_KEYS_MAX] = {0};
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < n_sigs; i++) {
		size_t k = 0;
		while (k < n_keys && memcmp(keys[k].bytes, sigs[i].key.bytes, 32) != 0)
			k++;
		if (k == n_keys)
			c->unknown++;
		else if (counted[k])
			c->duplicate++;
		else if (eds_ed25519_verify(sigs[i].sig, msg, len, keys[k].bytes) != EDS_OK)
			c->invalid++;
		else {
			counted[k] = 1;
			c->valid++;
		}
	}
}

eds_status upd_add_sig(eds_update_signature *sigs, size_t *n, const eds_secret_key *sk,
                       const uint8_t *msg, size_t len)
{
	eds_public_key pk;
	eds_secret_key_public(sk, &pk);
	for (size_t i = 0; i < *n; i++)
		if (memcmp(sigs[i].key.bytes, pk.bytes, 32) == 0)
			return eds_fail(EDS_E_EXISTS, "signatures: this key has already signed");
	if (*n >= EDS_UPDATE_SIGS_MAX)
		return eds_fail(EDS_E_LIMIT, "signatures: limit of %d reached",
		                EDS_UPDATE_SIGS_MAX);
	eds_status st = eds_ed25519_sign(sigs[*n].sig, msg, len, sk->bytes);
	if (st != EDS_OK)
		return st;
	sigs[*n].key = pk;
	(*n)++;
	return EDS_OK;
}
