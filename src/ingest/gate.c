/*
 * gate.c - what makes a record acceptable, one rule per function, and the
 * mapping of outcomes to the API's codes and HTTP statuses (FORMAT.md 4).
 */
#include <stdio.h>
#include <string.h>

#include "edgesentry/blake3.h"
#include "edgesentry/encoding.h"
#include "gate.h"
#include "internal.h"

static const struct {
	const char *code;
	int http;
} outcomes[EDS_INGEST_OUTCOME_COUNT] = {
    [EDS_INGEST_ACCEPTED] = {"accepted", 201},
    [EDS_INGEST_DUPLICATE] = {"duplicate", 200},
    [EDS_INGEST_STORED] = {"stored", 201},
    [EDS_INGEST_ALREADY_STORED] = {"already_stored", 200},
    [EDS_INGEST_MALFORMED] = {"malformed", 400},
    [EDS_INGEST_FORBIDDEN_SOURCE] = {"forbidden_source", 403},
    [EDS_INGEST_UNKNOWN_PAYLOAD] = {"unknown_payload", 404},
    [EDS_INGEST_TOO_LARGE] = {"too_large", 413},
    [EDS_INGEST_RATE_LIMITED] = {"rate_limited", 429},
    [EDS_INGEST_UNKNOWN_DEVICE] = {"unknown_device", 422},
    [EDS_INGEST_REVOKED_DEVICE] = {"revoked_device", 422},
    [EDS_INGEST_BAD_SIGNATURE] = {"bad_signature", 422},
    [EDS_INGEST_PAYLOAD_MISMATCH] = {"payload_mismatch", 422},
    [EDS_INGEST_SEQUENCE_GAP] = {"sequence_gap", 422},
    [EDS_INGEST_PREV_HASH] = {"prev_hash_mismatch", 422},
    [EDS_INGEST_FORK] = {"fork", 409},
    [EDS_INGEST_TIMESTAMP_SKEW] = {"timestamp_skew", 422},
    [EDS_INGEST_IDENTITY] = {"identity_mismatch", 422},
    [EDS_INGEST_STORAGE] = {"storage_unavailable", 503},
};

const char *eds_ingest_code(eds_ingest_outcome o)
{
	return (unsigned)o < EDS_INGEST_OUTCOME_COUNT ? outcomes[o].code : "error";
}

int eds_ingest_http_status(eds_ingest_outcome o)
{
	return (unsigned)o < EDS_INGEST_OUTCOME_COUNT ? outcomes[o].http : 500;
}

int eds_ingest_ok(eds_ingest_outcome o)
{
	return o == EDS_INGEST_ACCEPTED || o == EDS_INGEST_DUPLICATE || o == EDS_INGEST_STORED ||
	       o == EDS_INGEST_ALREADY_STORED;
}

eds_ingest_outcome gate_check_identity(const eds_record *r, const char *identity, char *msg)
{
	if (identity == NULL || strcmp(identity, r->device_id) == 0)
		return EDS_INGEST_ACCEPTED;
	snprintf(msg, GATE_MSG_MAX, "The client certificate names device '%.64s', not '%.64s'.",
	         identity, r->device_id);
	return EDS_INGEST_IDENTITY;
}

eds_ingest_outcome gate_check_skew(const eds_record *r, uint64_t now_ms, uint64_t skew_ms,
                                   char *msg)
{
	if (r->timestamp_ms <= now_ms + skew_ms)
		return EDS_INGEST_ACCEPTED;
	snprintf(msg, GATE_MSG_MAX,
	         "timestamp_ms %llu is %llu ms ahead of the server clock (allowed: %llu ms).",
	         (unsigned long long)r->timestamp_ms,
	         (unsigned long long)(r->timestamp_ms - now_ms), (unsigned long long)skew_ms);
	return EDS_INGEST_TIMESTAMP_SKEW;
}

eds_ingest_outcome gate_check_key(const eds_record *r, const eds_ledger_key *keys, size_t n,
                                  uint64_t revoked_from, eds_public_key *pk, char *msg)
{
	eds_status st = eds_ledger_key_for(keys, n, revoked_from, r->device_id, r->sequence, pk);
	if (st == EDS_OK)
		return EDS_INGEST_ACCEPTED;
	snprintf(msg, GATE_MSG_MAX, "%s.", eds_last_error());
	return st == EDS_E_REVOKED ? EDS_INGEST_REVOKED_DEVICE : EDS_INGEST_UNKNOWN_DEVICE;
}

eds_ingest_outcome gate_check_signature(const eds_record *r, const eds_public_key *pk, char *msg)
{
	if (eds_record_verify(r, pk) == EDS_OK)
		return EDS_INGEST_ACCEPTED;
	snprintf(msg, GATE_MSG_MAX,
	         "The signature does not verify over the record header with the key of %.64s.",
	         r->device_id);
	return EDS_INGEST_BAD_SIGNATURE;
}

eds_ingest_outcome gate_check_payload(const eds_record *r, const uint8_t *payload, size_t len,
                                      char *msg)
{
	uint8_t h[EDS_HASH_LEN];
	if (payload == NULL && len == 0)
		return EDS_INGEST_ACCEPTED;
	if ((uint64_t)len != r->payload_size) {
		snprintf(msg, GATE_MSG_MAX, "The payload has %zu bytes; the record says %llu.", len,
		         (unsigned long long)r->payload_size);
		return EDS_INGEST_PAYLOAD_MISMATCH;
	}
	eds_blake3(h, payload, len);
	if (memcmp(h, r->payload_hash, EDS_HASH_LEN) == 0)
		return EDS_INGEST_ACCEPTED;
	snprintf(msg, GATE_MSG_MAX, "The payload bytes do not hash to the record's payload_hash.");
	return EDS_INGEST_PAYLOAD_MISMATCH;
}

eds_ingest_outcome gate_check_chain(const eds_record *r, const uint8_t record_hash[EDS_HASH_LEN],
                                    uint64_t head_seq, const uint8_t head_hash[EDS_HASH_LEN],
                                    const uint8_t *stored_hash, char *msg)
{
	if (r->sequence <= head_seq) {
		if (stored_hash != NULL && memcmp(stored_hash, record_hash, EDS_HASH_LEN) == 0)
			return EDS_INGEST_DUPLICATE;
		snprintf(msg, GATE_MSG_MAX,
		         "A different record %.64s/%llu is already stored (fork refused).",
		         r->device_id, (unsigned long long)r->sequence);
		return EDS_INGEST_FORK;
	}
	if (r->sequence != head_seq + 1) {
		snprintf(msg, GATE_MSG_MAX, "Sequence %llu does not follow the stored head %llu.",
		         (unsigned long long)r->sequence, (unsigned long long)head_seq);
		return EDS_INGEST_SEQUENCE_GAP;
	}
	if (memcmp(r->prev_hash, head_hash, EDS_HASH_LEN) != 0) {
		char want[2 * EDS_HASH_LEN + 1];
		eds_hex_encode(want, head_hash, EDS_HASH_LEN);
		snprintf(msg, GATE_MSG_MAX, "prev_hash does not match the stored head %.64s.",
		         want);
		return EDS_INGEST_PREV_HASH;
	}
	return EDS_INGEST_ACCEPTED;
}
