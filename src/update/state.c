/*
 * state.c - the device's update state directory: the anti-rollback floor
 * and newest issue time (update-state.json) and the pinned trust policy
 * (trust.json), both replaced only atomically.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "update_internal.h"

static eds_status path_in(char *out, size_t cap, const char *dir, const char *name)
{
	if (dir == NULL)
		return eds_fail(EDS_E_ARG, "update state: NULL directory");
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n > 0 && (size_t)n < cap ? EDS_OK
	                                : eds_fail(EDS_E_LIMIT, "update state: path too long");
}

static eds_status get_pending(const json_t *root, eds_update_state *s)
{
	static const char *const keys[] = {"manifest_hash", "security_version", "issued_ms", NULL};
	const json_t *p = json_object_get(root, "pending");
	eds_status st;
	if (p == NULL)
		return EDS_OK;
	if (!json_is_object(p))
		return eds_fail(EDS_E_FIELD, "pending: must be an object");
	if ((st = upd_only_keys("pending", p, keys)) != EDS_OK ||
	    (st = upd_get_hex(p, "manifest_hash", s->pending_hash, 32)) != EDS_OK ||
	    (st = upd_get_int(p, "security_version", &s->pending_security_version)) != EDS_OK ||
	    (st = upd_get_int(p, "issued_ms", &s->pending_issued_ms)) != EDS_OK)
		return st;
	s->has_pending = 1;
	return EDS_OK;
}

static const char *const state_keys[] = {"format",         "hardware_id", "min_security_version",
                                         "last_issued_ms", "pending",     NULL};

static eds_status state_fill(void *out, const json_t *root)
{
	eds_update_state *s = out;
	eds_status st;
	if ((st = upd_get_str(root, "hardware_id", s->hardware_id, EDS_UPDATE_TARGET_MAX)) !=
	        EDS_OK ||
	    (st = upd_check_id("hardware_id", s->hardware_id, EDS_UPDATE_TARGET_MAX, 0)) !=
	        EDS_OK ||
	    (st = upd_get_int(root, "min_security_version", &s->min_security_version)) != EDS_OK ||
	    (st = upd_get_int(root, "last_issued_ms", &s->last_issued_ms)) != EDS_OK)
		return st;
	return get_pending(root, s);
}

static const upd_doc state_doc = {"update state", "EDSUPDSTATE1", state_keys, state_fill,
                                  sizeof(eds_update_state)};

eds_status eds_update_state_load(eds_update_state *s, const char *dir)
{
	char path[4096];
	eds_status st;
	if (s == NULL)
		return eds_fail(EDS_E_ARG, "update state: NULL argument");
	memset(s, 0, sizeof *s);
	if ((st = path_in(path, sizeof path, dir, "update-state.json")) != EDS_OK)
		return st;
	return upd_doc_load(&state_doc, s, path);
}

static json_t *state_json(const eds_update_state *s)
{
	json_t *o = json_object(), *p = NULL;
	int bad =
	    o == NULL || json_object_set_new(o, "format", json_string("EDSUPDSTATE1")) ||
	    json_object_set_new(o, "hardware_id", json_string(s->hardware_id)) ||
	    json_object_set_new(o, "min_security_version",
	                        json_integer((json_int_t)s->min_security_version)) ||
	    json_object_set_new(o, "last_issued_ms", json_integer((json_int_t)s->last_issued_ms));
	if (!bad && s->has_pending) {
		p = json_object();
		bad = p == NULL ||
		      json_object_set_new(p, "manifest_hash", upd_hex(s->pending_hash, 32)) ||
		      json_object_set_new(p, "security_version",
		                          json_integer((json_int_t)s->pending_security_version)) ||
		      json_object_set_new(p, "issued_ms",
		                          json_integer((json_int_t)s->pending_issued_ms)) ||
		      json_object_set(o, "pending", p);
		json_decref(p);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

eds_status eds_update_state_save(const eds_update_state *s, const char *dir)
{
	char path[4096], text[1024];
	size_t len;
	eds_status st;
	if (s == NULL)
		return eds_fail(EDS_E_ARG, "update state: NULL argument");
	if ((st = path_in(path, sizeof path, dir, "update-state.json")) != EDS_OK ||
	    (st = upd_check_id("hardware_id", s->hardware_id, EDS_UPDATE_TARGET_MAX, 0)) !=
	        EDS_OK ||
	    (st = upd_dump(state_json(s), text, sizeof text, &len)) != EDS_OK)
		return st;
	return eds_write_file_atomic(path, text, len, 0644);
}

eds_status eds_update_state_commit(eds_update_state *s, const char *dir)
{
	if (s == NULL)
		return eds_fail(EDS_E_ARG, "update state: NULL argument");
	if (!s->has_pending)
		return eds_fail(EDS_E_NOT_FOUND, "no verified update is waiting to be committed");
	/* Never lower the floor: an older manifest verified later must not undo a newer commit. */
	if (s->pending_security_version > s->min_security_version)
		s->min_security_version = s->pending_security_version;
	if (s->pending_issued_ms > s->last_issued_ms)
		s->last_issued_ms = s->pending_issued_ms;
	s->has_pending = 0;
	memset(s->pending_hash, 0, sizeof s->pending_hash);
	s->pending_security_version = s->pending_issued_ms = 0;
	return eds_update_state_save(s, dir);
}

static eds_status save_trust(const char *path, const eds_update_trust *t)
{
	char text[EDS_UPDATE_JSON_MAX];
	size_t len;
	eds_status st = eds_update_trust_to_json(t, text, sizeof text, &len);
	return st != EDS_OK ? st : eds_write_file_atomic(path, text, len, 0644);
}

eds_status eds_update_trust_pin(const char *dir, const eds_update_trust *offered,
                                eds_update_trust *out, int *changed)
{
	char path[4096];
	uint8_t h_pinned[32], h_offered[32];
	eds_status st;
	if (offered == NULL || out == NULL || changed == NULL)
		return eds_fail(EDS_E_ARG, "trust pin: NULL argument");
	*changed = 0;
	if ((st = path_in(path, sizeof path, dir, "trust.json")) != EDS_OK ||
	    (st = eds_update_trust_hash(offered, h_offered)) != EDS_OK)
		return st;
	st = eds_update_trust_load(out, path);
	if (st == EDS_E_NOT_FOUND) {
		*changed = 1;
		*out = *offered;
		return save_trust(path, offered);
	}
	if (st != EDS_OK || (st = eds_update_trust_hash(out, h_pinned)) != EDS_OK)
		return st;
	if (memcmp(h_pinned, h_offered, 32) == 0)
		return EDS_OK;
	if (offered->serial <= out->serial)
		return eds_fail(
		    EDS_E_SEQUENCE, "trust serial %llu is not newer than the pinned serial %llu",
		    (unsigned long long)offered->serial, (unsigned long long)out->serial);
	if ((st = eds_update_trust_check_successor(out, offered, NULL)) != EDS_OK)
		return st;
	*changed = 1;
	*out = *offered;
	return save_trust(path, offered);
}
