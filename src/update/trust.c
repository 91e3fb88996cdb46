/*
 * trust.c - update trust policies: publisher keys, a k-of-n threshold, and
 * rotation by a successor signed by the threshold of its predecessor.
 */
#include <string.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/record.h"
#include "internal.h"
#include "record_internal.h"
#include "update_internal.h"

static const uint8_t domain[8] = {'E', 'D', 'S', 'T', 'R', 'U', '1', 0};

eds_status eds_update_trust_validate(const eds_update_trust *t)
{
	if (t == NULL)
		return eds_fail(EDS_E_ARG, "trust: NULL argument");
	if (t->serial < 1 || t->serial > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "serial: must be 1 .. 2^53-1");
	if ((t->serial == 1) != eds_is_zero(t->previous, 32))
		return eds_fail(EDS_E_FIELD, "previous: required exactly when serial is above 1");
	if (t->serial == 1 && t->n_signatures != 0)
		return eds_fail(EDS_E_FIELD, "signatures: a root policy (serial 1) carries none");
	if (t->n_keys < 1 || t->n_keys > EDS_UPDATE_KEYS_MAX)
		return eds_fail(EDS_E_LIMIT, "keys: must hold 1..%d keys", EDS_UPDATE_KEYS_MAX);
	if (t->threshold < 1 || t->threshold > t->n_keys)
		return eds_fail(EDS_E_FIELD, "threshold: must be 1 .. %zu (the number of keys)",
		                t->n_keys);
	if (t->n_signatures > EDS_UPDATE_SIGS_MAX)
		return eds_fail(EDS_E_LIMIT, "signatures: limit is %d", EDS_UPDATE_SIGS_MAX);
	for (size_t i = 0; i < t->n_keys; i++) {
		if (eds_ed25519_public_key_check(t->keys[i].bytes) != EDS_OK)
			return eds_fail(EDS_E_KEY, "keys[%zu]: not a valid Ed25519 public key", i);
		for (size_t k = 0; k < i; k++)
			if (memcmp(t->keys[k].bytes, t->keys[i].bytes, 32) == 0)
				return eds_fail(EDS_E_FIELD, "keys[%zu]: same key as keys[%zu]", i,
				                k);
	}
	return EDS_OK;
}

eds_status eds_update_trust_init(eds_update_trust *t, const eds_public_key *keys, size_t n,
                                 unsigned threshold)
{
	if (t == NULL || (keys == NULL && n > 0))
		return eds_fail(EDS_E_ARG, "trust: NULL argument");
	memset(t, 0, sizeof *t);
	if (n > EDS_UPDATE_KEYS_MAX)
		return eds_fail(EDS_E_LIMIT, "keys: %zu given, limit is %d", n,
		                EDS_UPDATE_KEYS_MAX);
	t->serial = 1;
	t->threshold = threshold;
	t->n_keys = n;
	if (n > 0)
		memcpy(t->keys, keys, n * sizeof *keys);
	return eds_update_trust_validate(t);
}

eds_status eds_update_trust_follow(eds_update_trust *t, const eds_update_trust *prev)
{
	eds_status st;
	if (t == NULL || prev == NULL)
		return eds_fail(EDS_E_ARG, "trust: NULL argument");
	if (prev->serial >= EDS_INT_MAX)
		return eds_fail(EDS_E_LIMIT, "serial: 2^53-1 reached");
	uint8_t h[32];
	if ((st = eds_update_trust_hash(prev, h)) != EDS_OK)
		return st;
	t->serial = prev->serial + 1;
	memcpy(t->previous, h, 32);
	t->n_signatures = 0;
	return eds_update_trust_validate(t);
}

eds_status eds_update_trust_encode(const eds_update_trust *t, uint8_t *out, size_t cap, size_t *len)
{
	eds_status st;
	if (out == NULL || len == NULL)
		return eds_fail(EDS_E_ARG, "trust: NULL argument");
	if ((st = eds_update_trust_validate(t)) != EDS_OK)
		return st;
	upd_buf b = {out, 0, cap, 0};
	upd_put(&b, domain, sizeof domain);
	upd_put_u64(&b, t->serial);
	upd_put(&b, t->previous, 32);
	upd_put_u8(&b, t->threshold);
	upd_put_u8(&b, (unsigned)t->n_keys);
	for (size_t i = 0; i < t->n_keys; i++)
		upd_put(&b, t->keys[i].bytes, 32);
	if (b.bad)
		return eds_fail(EDS_E_LIMIT, "trust: canonical form does not fit in %zu bytes",
		                cap);
	*len = b.len;
	return EDS_OK;
}

eds_status eds_update_trust_hash(const eds_update_trust *t, uint8_t out[32])
{
	uint8_t buf[EDS_UPDATE_TRUST_CANON_MAX];
	size_t len;
	if (out == NULL) /* encode checks t; eds_blake3 cannot report a NULL out */
		return eds_fail(EDS_E_ARG, "trust hash: NULL argument");
	eds_status st = eds_update_trust_encode(t, buf, sizeof buf, &len);
	if (st == EDS_OK)
		eds_blake3(out, buf, len);
	return st;
}

eds_status eds_update_trust_sign(eds_update_trust *t, const eds_secret_key *sk)
{
	uint8_t buf[EDS_UPDATE_TRUST_CANON_MAX];
	size_t len;
	if (t == NULL || sk == NULL)
		return eds_fail(EDS_E_ARG, "trust: NULL argument");
	if (t->serial == 1)
		return eds_fail(EDS_E_FIELD, "signatures: a root policy (serial 1) is not signed");
	eds_status st = eds_update_trust_encode(t, buf, sizeof buf, &len);
	return st != EDS_OK ? st : upd_add_sig(t->signatures, &t->n_signatures, sk, buf, len);
}

eds_status eds_update_trust_check_successor(const eds_update_trust *cur,
                                            const eds_update_trust *next,
                                            eds_update_sig_count *count)
{
	uint8_t buf[EDS_UPDATE_TRUST_CANON_MAX], h[32];
	size_t len;
	eds_update_sig_count c;
	eds_status st;
	if ((st = eds_update_trust_hash(cur, h)) != EDS_OK ||
	    (st = eds_update_trust_encode(next, buf, sizeof buf, &len)) != EDS_OK)
		return st;
	if (next->serial != cur->serial + 1)
		return eds_fail(EDS_E_SEQUENCE,
		                "trust serial %llu does not follow the pinned serial %llu",
		                (unsigned long long)next->serial, (unsigned long long)cur->serial);
	if (memcmp(next->previous, h, 32) != 0)
		return eds_fail(EDS_E_PREV_HASH,
		                "trust: previous is not the hash of the pinned policy");
	upd_count_sigs(cur->keys, cur->n_keys, next->signatures, next->n_signatures, buf, len, &c);
	if (count != NULL)
		*count = c;
	if (c.valid < cur->threshold)
		return eds_fail(EDS_E_SIGNATURE,
		                "trust serial %llu: %u valid signature(s) by keys of serial %llu, "
		                "%u required (%u unknown, %u invalid, %u duplicate)",
		                (unsigned long long)next->serial, c.valid,
		                (unsigned long long)cur->serial, cur->threshold, c.unknown,
		                c.invalid, c.duplicate);
	return EDS_OK;
}

static eds_status get_keys(const json_t *root, eds_update_trust *t)
{
	const json_t *arr = json_object_get(root, "keys");
	if (arr == NULL || !json_is_array(arr))
		return eds_fail(EDS_E_FIELD, "keys: must be an array of public key hex strings");
	if (json_array_size(arr) > EDS_UPDATE_KEYS_MAX)
		return eds_fail(EDS_E_LIMIT, "keys: %zu entries, limit is %d", json_array_size(arr),
		                EDS_UPDATE_KEYS_MAX);
	json_t *wrap = json_object();
	if (wrap == NULL)
		return eds_fail(EDS_E_NOMEM, "trust: out of memory");
	eds_status st = EDS_OK;
	for (size_t i = 0; st == EDS_OK && i < json_array_size(arr); i++) {
		/* Reuse the hex rule by viewing the element as a one-key object. */
		json_object_set(wrap, "keys[]", json_array_get(arr, i));
		st = upd_get_hex(wrap, "keys[]", t->keys[i].bytes, 32);
		t->n_keys = i + 1;
	}
	json_decref(wrap);
	return st;
}

static const char *const trust_keys[] = {"format", "serial",     "previous", "threshold",
                                         "keys",   "signatures", NULL};

static eds_status trust_fill(void *out, const json_t *root)
{
	eds_update_trust *t = out;
	uint64_t threshold;
	eds_status st;
	if ((st = upd_get_int(root, "serial", &t->serial)) != EDS_OK ||
	    (st = upd_get_int(root, "threshold", &threshold)) != EDS_OK ||
	    (st = get_keys(root, t)) != EDS_OK ||
	    (st = upd_get_sigs(root, t->signatures, &t->n_signatures)) != EDS_OK)
		return st;
	if (json_object_get(root, "previous") != NULL &&
	    (st = upd_get_hex(root, "previous", t->previous, 32)) != EDS_OK)
		return st;
	if (threshold > EDS_UPDATE_KEYS_MAX)
		return eds_fail(EDS_E_FIELD, "threshold: must be 1 .. %zu", t->n_keys);
	t->threshold = (unsigned)threshold;
	return eds_update_trust_validate(t);
}

static const upd_doc trust_doc = {"trust", "EDSTRU1", trust_keys, trust_fill,
                                  sizeof(eds_update_trust)};

eds_status eds_update_trust_from_json(eds_update_trust *t, const char *json, size_t len)
{
	return upd_doc_from_json(&trust_doc, t, json, len);
}

eds_status eds_update_trust_load(eds_update_trust *t, const char *path)
{
	return upd_doc_load(&trust_doc, t, path);
}

eds_status eds_update_trust_to_json(const eds_update_trust *t, char *buf, size_t cap, size_t *len)
{
	eds_status st;
	if (buf == NULL)
		return eds_fail(EDS_E_ARG, "trust: NULL argument");
	if ((st = eds_update_trust_validate(t)) != EDS_OK)
		return st;
	json_t *o = json_object(), *keys = json_array();
	int bad = o == NULL || keys == NULL;
	for (size_t i = 0; !bad && i < t->n_keys; i++)
		bad = json_array_append_new(keys, upd_hex(t->keys[i].bytes, 32));
	bad = bad || json_object_set_new(o, "format", json_string("EDSTRU1")) ||
	      json_object_set_new(o, "serial", json_integer((json_int_t)t->serial)) ||
	      (t->serial > 1 && json_object_set_new(o, "previous", upd_hex(t->previous, 32))) ||
	      json_object_set_new(o, "threshold", json_integer((json_int_t)t->threshold)) ||
	      json_object_set(o, "keys", keys) ||
	      json_object_set_new(o, "signatures", upd_sigs_json(t->signatures, t->n_signatures));
	json_decref(keys);
	if (bad) {
		json_decref(o);
		return eds_fail(EDS_E_NOMEM, "trust JSON: out of memory");
	}
	return upd_dump(o, buf, cap, len);
}
