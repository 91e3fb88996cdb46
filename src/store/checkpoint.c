/*
 * checkpoint.c - signed operation-log heads (edgesentry/checkpoint.h,
 * docs/format.md 10).
 *
 * The signed message is fixed-size binary, not the JSON, so that anyone can
 * rebuild it from the six members with printf and xxd and check it with
 * openssl, and so that no JSON canonicalisation question can arise.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/checkpoint.h"
#include "edgesentry/encoding.h"
#include "internal.h"

#define FORMAT_LEN (sizeof EDS_CHECKPOINT_FORMAT - 1)
#define MEMBERS    6

_Static_assert(FORMAT_LEN == 16, "the format string is the message's first 16 bytes");
_Static_assert(FORMAT_LEN + 8 + EDS_HASH_LEN + 8 == EDS_CHECKPOINT_MESSAGE_LEN, "message layout");

void eds_checkpoint_message(const eds_checkpoint *cp, uint8_t msg[EDS_CHECKPOINT_MESSAGE_LEN])
{
	memcpy(msg, EDS_CHECKPOINT_FORMAT, FORMAT_LEN);
	eds_put_u64be(msg + FORMAT_LEN, cp->oplog_id);
	memcpy(msg + FORMAT_LEN + 8, cp->oplog_head, EDS_HASH_LEN);
	eds_put_u64be(msg + FORMAT_LEN + 8 + EDS_HASH_LEN, cp->time_ms);
}

/* The rules every checkpoint's values follow, signed or parsed. */
static eds_status check_values(const eds_checkpoint *cp)
{
	if (cp->oplog_id > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "checkpoint.oplog_id: must be 0 .. 2^53-1");
	if (cp->time_ms > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "checkpoint.time_ms: must be 0 .. 2^53-1");
	if ((cp->oplog_id == 0) != eds_is_zero(cp->oplog_head, EDS_HASH_LEN))
		return eds_fail(EDS_E_FIELD, "checkpoint.oplog_head: must be zero exactly when "
		                             "oplog_id is 0 (an empty log)");
	return EDS_OK;
}

eds_status eds_checkpoint_sign(eds_checkpoint *cp, const eds_secret_key *sk)
{
	uint8_t msg[EDS_CHECKPOINT_MESSAGE_LEN];
	if (cp == NULL || sk == NULL)
		return eds_fail(EDS_E_ARG, "checkpoint: NULL argument");
	eds_status st = check_values(cp);
	if (st != EDS_OK)
		return st;
	eds_checkpoint_message(cp, msg);
	eds_secret_key_public(sk, &cp->public_key);
	return eds_ed25519_sign(cp->signature, msg, sizeof msg, sk->bytes);
}

eds_status eds_checkpoint_verify(const eds_checkpoint *cp, const eds_public_key *trusted)
{
	uint8_t msg[EDS_CHECKPOINT_MESSAGE_LEN];
	if (cp == NULL || trusted == NULL)
		return eds_fail(EDS_E_ARG, "checkpoint: NULL argument");
	if (memcmp(cp->public_key.bytes, trusted->bytes, sizeof trusted->bytes) != 0)
		return eds_fail(EDS_E_KEY, "checkpoint: signed by another key than the one given");
	eds_checkpoint_message(cp, msg);
	if (eds_ed25519_verify(cp->signature, msg, sizeof msg, trusted->bytes) != EDS_OK)
		return eds_fail(EDS_E_SIGNATURE, "checkpoint: the signature does not verify");
	return EDS_OK;
}

eds_status eds_checkpoint_to_json(const eds_checkpoint *cp, char **out)
{
	char head[2 * EDS_HASH_LEN + 1], pk[65], sig[2 * EDS_ED25519_SIG_LEN + 1];
	if (out != NULL)
		*out = NULL;
	if (cp == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "checkpoint: NULL argument");
	eds_hex_encode(head, cp->oplog_head, EDS_HASH_LEN);
	eds_public_key_to_hex(&cp->public_key, pk);
	eds_hex_encode(sig, cp->signature, EDS_ED25519_SIG_LEN);
	json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:s, s:s}", "format", EDS_CHECKPOINT_FORMAT,
	                      "oplog_id", (json_int_t)cp->oplog_id, "oplog_head", head, "time_ms",
	                      (json_int_t)cp->time_ms, "public_key", pk, "signature", sig);
	*out = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return *out != NULL ? EDS_OK : eds_fail(EDS_E_NOMEM, "checkpoint: out of memory");
}

/* Member name as an integer 0 .. 2^53-1. */
static eds_status get_u53(json_t *o, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v))
		return eds_fail(EDS_E_MALFORMED, "checkpoint.%s: required, an integer", name);
	json_int_t n = json_integer_value(v);
	if (n < 0 || (unsigned long long)n > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "checkpoint.%s: must be 0 .. 2^53-1", name);
	*out = (uint64_t)n;
	return EDS_OK;
}

/* Member name as exactly len bytes of lowercase or uppercase hex. */
static eds_status get_hex(json_t *o, const char *name, uint8_t *out, size_t len)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return eds_fail(EDS_E_MALFORMED, "checkpoint.%s: required, a string", name);
	if (json_string_length(v) != 2 * len ||
	    eds_hex_decode(out, len, json_string_value(v), 2 * len) != EDS_OK)
		return eds_fail(EDS_E_FIELD, "checkpoint.%s: must be %zu hex digits", name,
		                2 * len);
	return EDS_OK;
}

static eds_status from_object(eds_checkpoint *cp, json_t *o)
{
	static const char *const names[MEMBERS] = {"format",  "oplog_id",   "oplog_head",
	                                           "time_ms", "public_key", "signature"};
	eds_status st = eds_json_exact_members(o, "checkpoint", names, MEMBERS);
	if (st != EDS_OK)
		return st;
	const char *format = json_string_value(json_object_get(o, "format"));
	if (format == NULL || strcmp(format, EDS_CHECKPOINT_FORMAT) != 0)
		return eds_fail(EDS_E_FIELD, "checkpoint.format: must be \"%s\"",
		                EDS_CHECKPOINT_FORMAT);
	st = get_u53(o, "oplog_id", &cp->oplog_id);
	if (st == EDS_OK)
		st = get_hex(o, "oplog_head", cp->oplog_head, EDS_HASH_LEN);
	if (st == EDS_OK)
		st = get_u53(o, "time_ms", &cp->time_ms);
	if (st == EDS_OK)
		st = get_hex(o, "public_key", cp->public_key.bytes, sizeof cp->public_key.bytes);
	if (st == EDS_OK)
		st = get_hex(o, "signature", cp->signature, EDS_ED25519_SIG_LEN);
	if (st == EDS_OK && eds_ed25519_public_key_check(cp->public_key.bytes) != EDS_OK)
		return eds_fail(EDS_E_KEY, "checkpoint.public_key: not a valid Ed25519 point");
	return st == EDS_OK ? check_values(cp) : st;
}

eds_status eds_checkpoint_from_json(eds_checkpoint *cp, const char *json, size_t len)
{
	json_error_t err;
	if (cp == NULL || json == NULL)
		return eds_fail(EDS_E_ARG, "checkpoint: NULL argument");
	memset(cp, 0, sizeof *cp);
	if (len > EDS_CHECKPOINT_JSON_MAX)
		return eds_fail(EDS_E_LIMIT, "checkpoint: %zu bytes, at most %d", len,
		                EDS_CHECKPOINT_JSON_MAX);
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL)
		return eds_fail(EDS_E_MALFORMED, "checkpoint: JSON column %d: %s", err.column,
		                err.text);
	eds_status st = json_is_object(o)
	                    ? from_object(cp, o)
	                    : eds_fail(EDS_E_MALFORMED, "checkpoint: must be a JSON object");
	json_decref(o);
	if (st != EDS_OK)
		memset(cp, 0, sizeof *cp);
	return st;
}
