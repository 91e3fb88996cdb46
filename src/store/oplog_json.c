/*
 * oplog_json.c - the JSON lines an export writes beside its records
 * (ledger_internal.h): one operation-log event, as `eds ledger log --json`
 * and oplog.jsonl write it, with the strict reader `eds verify-oplog`
 * checks such a file with; and one record still waiting for its payload,
 * as pending.jsonl lists it, with the reader `eds verify-chain --pending`
 * uses.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "edgesentry/encoding.h"
#include "internal.h"
#include "ledger_internal.h"

#define MEMBERS 9

json_t *eds_ledger_hash_json(const uint8_t h[EDS_HASH_LEN])
{
	char hex[2 * EDS_HASH_LEN + 1];
	eds_hex_encode(hex, h, EDS_HASH_LEN);
	return !eds_is_zero(h, EDS_HASH_LEN) ? json_string(hex) : json_null();
}

json_t *eds_ledger_event_json(uint64_t id, const eds_ledger_event *ev)
{
	bool device = ev->device_id[0] != '\0';
	return json_pack("{s:I, s:I, s:s, s:o, s:o, s:s, s:o, s:o, s:o}", "id", (json_int_t)id,
	                 "time_ms", (json_int_t)ev->time_ms, "source", ev->source, "device_id",
	                 device ? json_string(ev->device_id) : json_null(), "sequence",
	                 ev->sequence > 0 ? json_integer((json_int_t)ev->sequence) : json_null(),
	                 "decision", ev->decision, "reason",
	                 ev->reason[0] != '\0' ? json_string(ev->reason) : json_null(),
	                 "record_hash", eds_ledger_hash_json(ev->record_hash), "chain_hash",
	                 eds_ledger_hash_json(ev->chain_hash));
}

/* Member name of object what as an integer min .. 2^53-1 (or null, 0, when nullable). */
static eds_status get_u53(json_t *o, const char *what, const char *name, uint64_t min,
                          bool nullable, uint64_t *out)
{
	json_t *v = json_object_get(o, name);
	*out = 0;
	if (nullable && json_is_null(v))
		return EDS_OK;
	if (!json_is_integer(v))
		return eds_fail(EDS_E_MALFORMED, "%s.%s: must be an integer%s", what, name,
		                nullable ? " or null" : "");
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)min || (unsigned long long)n > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "%s.%s: must be %llu .. 2^53-1", what, name,
		                (unsigned long long)min);
	*out = (uint64_t)n;
	return EDS_OK;
}

/* Member name of object what as text of at most cap - 1 bytes (nullable: or null, ""). */
static eds_status get_text(json_t *o, const char *what, const char *name, bool nullable, char *out,
                           size_t cap)
{
	json_t *v = json_object_get(o, name);
	out[0] = '\0';
	if (nullable && json_is_null(v))
		return EDS_OK;
	if (!json_is_string(v))
		return eds_fail(EDS_E_MALFORMED, "%s.%s: must be a string%s", what, name,
		                nullable ? " or null" : "");
	size_t n = json_string_length(v);
	/* null is how log --json writes an unknown one: "" is not */
	if (n >= cap || (nullable && n == 0))
		return eds_fail(EDS_E_FIELD, "%s.%s: must be %s .. %zu bytes", what, name,
		                nullable ? "1" : "0", cap - 1);
	memcpy(out, json_string_value(v), n + 1);
	return EDS_OK;
}

/* Member name of object what as 64 hex digits, or null (zero) when given is not NULL. */
static eds_status get_hash(json_t *o, const char *what, const char *name, uint8_t out[EDS_HASH_LEN],
                           bool *given)
{
	json_t *v = json_object_get(o, name);
	const char *or_null = given != NULL ? " or null" : "";
	memset(out, 0, EDS_HASH_LEN);
	if (given != NULL)
		*given = false;
	if (given != NULL && json_is_null(v))
		return EDS_OK;
	if (!json_is_string(v))
		return eds_fail(EDS_E_MALFORMED, "%s.%s: must be a string%s", what, name, or_null);
	if (json_string_length(v) != 2 * EDS_HASH_LEN ||
	    eds_hex_decode(out, EDS_HASH_LEN, json_string_value(v), 2 * EDS_HASH_LEN) != EDS_OK)
		return eds_fail(EDS_E_FIELD, "%s.%s: must be %d hex digits%s", what, name,
		                2 * EDS_HASH_LEN, or_null);
	if (given != NULL)
		*given = true;
	return EDS_OK;
}

static eds_status from_object(json_t *o, uint64_t *id, eds_ledger_event *ev, bool *chained)
{
	static const char *const names[MEMBERS] = {"id",        "time_ms",     "source",
	                                           "device_id", "sequence",    "decision",
	                                           "reason",    "record_hash", "chain_hash"};
	bool given;
	eds_status st = eds_json_exact_members(o, "event", names, MEMBERS);
	if (st == EDS_OK)
		st = get_u53(o, "event", "id", 1, false, id);
	if (st == EDS_OK)
		st = get_u53(o, "event", "time_ms", 0, false, &ev->time_ms);
	if (st == EDS_OK)
		st = get_text(o, "event", "source", false, ev->source, sizeof ev->source);
	if (st == EDS_OK)
		st = get_text(o, "event", "device_id", true, ev->device_id, sizeof ev->device_id);
	if (st == EDS_OK)
		st = get_u53(o, "event", "sequence", 1, true, &ev->sequence);
	if (st == EDS_OK)
		st = get_text(o, "event", "decision", false, ev->decision, sizeof ev->decision);
	if (st == EDS_OK)
		st = get_text(o, "event", "reason", true, ev->reason, sizeof ev->reason);
	if (st == EDS_OK)
		st = get_hash(o, "event", "record_hash", ev->record_hash, &given);
	if (st == EDS_OK)
		st = get_hash(o, "event", "chain_hash", ev->chain_hash, chained);
	return st;
}

/* One line of at most max bytes as a JSON object (what names it), into *o. */
static eds_status load_object(const char *json, size_t len, size_t max, const char *what,
                              json_t **o)
{
	json_error_t err;
	*o = NULL;
	if (len > max)
		return eds_fail(EDS_E_LIMIT, "%s: %zu bytes, at most %zu", what, len, max);
	*o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (*o == NULL)
		return eds_fail(EDS_E_MALFORMED, "%s: JSON column %d: %s", what, err.column,
		                err.text);
	if (json_is_object(*o))
		return EDS_OK;
	json_decref(*o);
	*o = NULL;
	return eds_fail(EDS_E_MALFORMED, "%s: must be a JSON object", what);
}

eds_status eds_ledger_event_from_json(const char *json, size_t len, uint64_t *id,
                                      eds_ledger_event *ev, bool *chained)
{
	if (json == NULL || id == NULL || ev == NULL || chained == NULL)
		return eds_fail(EDS_E_ARG, "event: NULL argument");
	memset(ev, 0, sizeof *ev);
	*id = 0;
	*chained = false;
	json_t *o;
	eds_status st = load_object(json, len, EDS_LEDGER_EVENT_JSON_MAX, "event", &o);
	if (st == EDS_OK)
		st = from_object(o, id, ev, chained);
	json_decref(o);
	if (st != EDS_OK) {
		memset(ev, 0, sizeof *ev);
		*id = 0;
		*chained = false;
	}
	return st;
}

eds_status eds_ledger_pending_to_json(const eds_record *r, char *buf, size_t cap, size_t *len)
{
	char hex[2 * EDS_HASH_LEN + 1];
	eds_hex_encode(hex, r->payload_hash, EDS_HASH_LEN);
	int n =
	    snprintf(buf, cap, "{\"device_id\":\"%s\",\"sequence\":%llu,\"payload_hash\":\"%s\"}",
	             r->device_id, (unsigned long long)r->sequence, hex);
	if (n < 0 || (size_t)n >= cap)
		return eds_fail(EDS_E_LIMIT, "pending: a line longer than %zu bytes", cap);
	*len = (size_t)n;
	return EDS_OK;
}

eds_status eds_ledger_pending_from_json(const char *json, size_t len, eds_ledger_pending *out)
{
	static const char *const names[] = {"device_id", "sequence", "payload_hash"};
	if (json == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "pending: NULL argument");
	memset(out, 0, sizeof *out);
	json_t *o;
	eds_status st = load_object(json, len, EDS_LEDGER_PENDING_JSON_MAX, "pending", &o);
	if (st == EDS_OK)
		st = eds_json_exact_members(o, "pending", names, 3);
	if (st == EDS_OK)
		st = get_text(o, "pending", "device_id", false, out->device_id,
		              sizeof out->device_id);
	if (st == EDS_OK)
		st = eds_device_id_check(out->device_id, strlen(out->device_id));
	if (st == EDS_OK)
		st = get_u53(o, "pending", "sequence", 1, false, &out->sequence);
	if (st == EDS_OK)
		st = get_hash(o, "pending", "payload_hash", out->payload_hash, NULL);
	json_decref(o);
	if (st != EDS_OK)
		memset(out, 0, sizeof *out);
	return st;
}
