/*
 * edgesentry/record.h - the ESR1 audit record (FORMAT.md section 1).
 *
 * eds_record is a plain value type of fixed size (no pointers), so a device
 * can build, sign and serialise records on its stack.  Signing, verifying
 * and hashing never allocate.  JSON reading and writing use jansson and do
 * allocate internally (never on the signing path).
 *
 * Strings are NUL-terminated inside the struct; the format forbids NUL in
 * both device_id and object_ref, so the terminator is unambiguous.
 */
#ifndef EDGESENTRY_RECORD_H
#define EDGESENTRY_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDS_DEVICE_ID_MAX 128
#define EDS_OBJECT_REF_MAX 1024
#define EDS_HASH_LEN 32
#define EDS_SIGNATURE_LEN 64
/** Largest integer field value: 2^53-1, exact in double-based JSON readers. */
#define EDS_INT_MAX 9007199254740991ULL
/** Largest signed header: "ESR1" + 1 + 128 + 3*8 + 2*32 + 2 + 1024. */
#define EDS_HEADER_MAX (4 + 1 + EDS_DEVICE_ID_MAX + 24 + 64 + 2 + EDS_OBJECT_REF_MAX)
/** Largest JSON text of one record this library writes or reads. */
#define EDS_RECORD_JSON_MAX 8192

typedef struct eds_record {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t sequence;
	uint64_t timestamp_ms;
	uint64_t payload_size;
	uint8_t payload_hash[EDS_HASH_LEN];
	uint8_t prev_hash[EDS_HASH_LEN];
	char object_ref[EDS_OBJECT_REF_MAX + 1];
	uint8_t signature[EDS_SIGNATURE_LEN];
} eds_record;

/**
 * Check every field rule of FORMAT.md 1.1 (device_id charset and length,
 * not "." or "..", integer ranges, object_ref UTF-8 without control
 * characters, prev_hash 32 zero bytes when sequence is 1).
 * Errors: EDS_E_ARG, EDS_E_FIELD with a detail naming the field.
 */
eds_status eds_record_validate(const eds_record *r);

/**
 * Fill a record's unsigned fields: copies the strings, sets payload_size
 * and payload_hash = BLAKE3(payload), prev_hash (NULL means 32 zero bytes)
 * and zeroes the signature.  payload may be NULL when payload_len is 0.
 * Validates the result.  Errors: EDS_E_ARG, EDS_E_FIELD.
 */
eds_status eds_record_init(eds_record *r, const char *device_id, uint64_t sequence,
                           uint64_t timestamp_ms, const uint8_t *payload, size_t payload_len,
                           const uint8_t prev_hash[EDS_HASH_LEN], const char *object_ref);

/**
 * Like eds_record_init for a payload already hashed (e.g. a large file
 * hashed with eds_blake3_file): payload_hash and payload_size are taken as
 * given.  Errors: EDS_E_ARG, EDS_E_FIELD.
 */
eds_status eds_record_init_hashed(eds_record *r, const char *device_id, uint64_t sequence,
                                  uint64_t timestamp_ms, const uint8_t payload_hash[EDS_HASH_LEN],
                                  uint64_t payload_size, const uint8_t prev_hash[EDS_HASH_LEN],
                                  const char *object_ref);

/**
 * Encode the signed header (FORMAT.md 1.2) into out[0..cap).  *len receives
 * its length.  Validates first.  Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_LIMIT
 * (cap too small; EDS_HEADER_MAX always suffices).
 */
eds_status eds_record_header_encode(const eds_record *r, uint8_t *out, size_t cap, size_t *len);

/**
 * Decode a signed header into r (signature zeroed).  The whole input must be
 * consumed.  Errors: EDS_E_ARG, EDS_E_MALFORMED (magic, truncation, trailing
 * bytes), EDS_E_FIELD (a decoded field breaks its rule).
 */
eds_status eds_record_header_decode(eds_record *r, const uint8_t *in, size_t len);

/** Sign r's header with sk, setting r->signature.  No allocation.  Errors: EDS_E_ARG, EDS_E_FIELD. */
eds_status eds_record_sign(eds_record *r, const eds_secret_key *sk);

/**
 * Verify r->signature over r's header with pk.  Errors: EDS_E_ARG,
 * EDS_E_FIELD (invalid record), EDS_E_SIGNATURE.
 */
eds_status eds_record_verify(const eds_record *r, const eds_public_key *pk);

/** record_hash = BLAKE3(SH || signature).  Errors: EDS_E_ARG, EDS_E_FIELD. */
eds_status eds_record_compute_hash(const eds_record *r, uint8_t out[EDS_HASH_LEN]);

/**
 * Parse one record JSON object (FORMAT.md 1.4): every key required except
 * record_hash; unknown and duplicate keys rejected; integers exact and in
 * range; hex of the right length; record_hash, when present, must equal the
 * recomputed hash (EDS_E_HASH_MISMATCH).  Errors: EDS_E_ARG, EDS_E_LIMIT
 * (len > EDS_RECORD_JSON_MAX), EDS_E_MALFORMED, EDS_E_FIELD,
 * EDS_E_HASH_MISMATCH; the detail names the field.
 */
eds_status eds_record_from_json(eds_record *r, const char *json, size_t len);

/**
 * Write r as one compact JSON object (keys in the FORMAT.md order, always
 * with record_hash, no trailing newline) into buf, NUL-terminated.  *len
 * (optional) receives the text length.  Errors: EDS_E_ARG, EDS_E_FIELD,
 * EDS_E_LIMIT (cap too small; EDS_RECORD_JSON_MAX always suffices),
 * EDS_E_NOMEM.
 */
eds_status eds_record_to_json(const eds_record *r, char *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
