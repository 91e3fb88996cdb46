/*
 * oplog_json.c - one operation-log event as a JSON line (ledger_internal.h):
 * what `eds ledger log --json` and an export's oplog.jsonl write, and the
 * strict reader `eds verify-oplog` checks such a file with.
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

/* Member name as an integer min .. 2^53-1 (or null, 0, when nullable). */
static eds_status get_u53(json_t *o, const char *name, uint64_t min, bool nullable, uint64_t *out)
{
	json_t *v = json_object_get(o, name);
	*out = 0;
	if (nullable && json_is_null(v))
		return EDS_OK;
	if (!json_is_integer(v))
		return eds_fail(EDS_E_MALFORMED, "event.%s: must be an integer%s", name,
		                nullable ? " or null" : "");
	json_int_t n = json_integer_value(v);
	if (n < (json_int_t)min || (unsigned long long)n > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "event.%s: must be %llu .. 2^53-1", name,
		                (unsigned long long)min);
	*out = (uint64_t)n;
	return EDS_OK;
}

/* Member name as text of at most cap - 1 bytes (nullable: or null, ""). */
static eds_status get_text(json_t *o, const char *name, bool nullable, char *out, size_t cap)
{
	json_t *v = json_object_get(o, name);
	out[0] = '\0';
	if (nullable && json_is_null(v))
		return EDS_OK;
	if (!json_is_string(v))
		return eds_fail(EDS_E_MALFORMED, "event.%s: must be a string%s", name,
		                nullable ? " or null" : "");
	size_t n = json_string_length(v);
	/* null is how log --json writes an unknown one: "" is not */
	if (n >= cap || (nullable && n == 0))
		return eds_fail(EDS_E_FIELD, "event.%s: must be %s .. %zu bytes", name,
		                nullable ? "1" : "0", cap - 1);
	memcpy(out, json_string_value(v), n + 1);
	return EDS_OK;
}

/* Member name as 64 hex digits or null (zero). */
static eds_status get_hash(json_t *o, const char *name, uint8_t out[EDS_HASH_LEN], bool *given)
{
	json_t *v = json_object_get(o, name);
	memset(out, 0, EDS_HASH_LEN);
	*given = false;
	if (json_is_null(v))
		return EDS_OK;
	if (!json_is_string(v))
		return eds_fail(EDS_E_MALFORMED, "event.%s: must be a string or null", name);
	if (json_string_length(v) != 2 * EDS_HASH_LEN ||
	    eds_hex_decode(out, EDS_HASH_LEN, json_string_value(v), 2 * EDS_HASH_LEN) != EDS_OK)
		return eds_fail(EDS_E_FIELD, "event.%s: must be %d hex digits or null", name,
		                2 * EDS_HASH_LEN);
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
		st = get_u53(o, "id", 1, false, id);
	if (st == EDS_OK)
		st = get_u53(o, "time_ms", 0, false, &ev->time_ms);
	if (st == EDS_OK)
		st = get_text(o, "source", false, ev->source, sizeof ev->source);
	if (st == EDS_OK)
		st = get_text(o, "device_id", true, ev->device_id, sizeof ev->device_id);
	if (st == EDS_OK)
		st = get_u53(o, "sequence", 1, true, &ev->sequence);
	if (st == EDS_OK)
		st = get_text(o, "decision", false, ev->decision, sizeof ev->decision);
	if (st == EDS_OK)
		st = get_text(o, "reason", true, ev->reason, sizeof ev->reason);
	if (st == EDS_OK)
		st = get_hash(o, "record_hash", ev->record_hash, &given);
	if (st == EDS_OK)
		st = get_hash(o, "chain_hash", ev->chain_hash, chained);
	return st;
}

eds_status eds_ledger_event_from_json(const char *json, size_t len, uint64_t *id,
                                      eds_ledger_event *ev, bool *chained)
{
	json_error_t err;
	if (json == NULL || id == NULL || ev == NULL || chained == NULL)
		return eds_fail(EDS_E_ARG, "event: NULL argument");
	memset(ev, 0, sizeof *ev);
	*id = 0;
	*chained = false;
	if (len > EDS_LEDGER_EVENT_JSON_MAX)
		return eds_fail(EDS_E_LIMIT, "event: %zu bytes, at most %d", len,
		                EDS_LEDGER_EVENT_JSON_MAX);
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL)
		return eds_fail(EDS_E_MALFORMED, "event: JSON column %d: %s", err.column, err.text);
	eds_status st = json_is_object(o)
	                    ? from_object(o, id, ev, chained)
	                    : eds_fail(EDS_E_MALFORMED, "event: must be a JSON object");
	json_decref(o);
	if (st != EDS_OK) {
		memset(ev, 0, sizeof *ev);
		*id = 0;
		*chained = false;
	}
	return st;
}
