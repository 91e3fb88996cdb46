/*
 * edgesentry/legacy.h - records and chains written by edgesentry-rs (the Rust
 * reference), read and verified for compatibility (design: COMPAT.md).
 *
 * A legacy record's signature covers ONLY the 32 raw bytes of its payload
 * hash: not its device, sequence, time, chain position or object reference.
 * Anyone holding one signed record can re-issue its signature under new
 * metadata, so legacy verification proves much less than ESR1 verification
 * (record.h).  Use these functions to read old evidence and to migrate it
 * into an ESR1 chain, never to produce new evidence.
 *
 * Native names here stay clear of the C bridge (edgesentry_bridge.h), which
 * is a thin layer over this header; both headers can be included together.
 *
 *   record_hash = BLAKE3(postcard(record)), postcard = the fields in struct
 *   order, strings and u64 as LEB128 varints (strings: byte length, then the
 *   bytes), payload_hash and prev_record_hash as 32 raw bytes, signature as
 *   the byte 0x40 then 64 raw bytes.
 */
#ifndef EDGESENTRY_LEGACY_H
#define EDGESENTRY_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * String limits of this implementation (edgesentry-rs has none).  They are
 * large enough for every record its C bridge can hold, even after the
 * bridge's lossy UTF-8 repair triples a 255- or 511-byte string.
 */
#define EDS_LEGACY_DEVICE_ID_MAX  1024
#define EDS_LEGACY_OBJECT_REF_MAX 2048
#define EDS_LEGACY_HASH_LEN       32
#define EDS_LEGACY_SIG_LEN        64
/** Largest postcard encoding: two 2-byte string lengths, two 10-byte u64. */
#define EDS_LEGACY_POSTCARD_MAX                                                                    \
	(2 + EDS_LEGACY_DEVICE_ID_MAX + 10 + 10 + 32 + 1 + 64 + 32 + 2 + EDS_LEGACY_OBJECT_REF_MAX)
/** Largest JSON text of one record (one element of a chain file) read. */
#define EDS_LEGACY_JSON_MAX 65536

/** One edgesentry-rs AuditRecord.  Strings are UTF-8, NUL-terminated. */
typedef struct eds_legacy_record {
	char device_id[EDS_LEGACY_DEVICE_ID_MAX + 1];
	uint64_t sequence;
	uint64_t timestamp_ms;
	uint8_t payload_hash[EDS_LEGACY_HASH_LEN];
	uint8_t signature[EDS_LEGACY_SIG_LEN];
	uint8_t prev_record_hash[EDS_LEGACY_HASH_LEN];
	char object_ref[EDS_LEGACY_OBJECT_REF_MAX + 1];
} eds_legacy_record;

/**
 * Check that both strings are NUL-terminated within their limits and valid
 * UTF-8.  Every u64 and byte value is allowed.  Errors: EDS_E_ARG,
 * EDS_E_FIELD (detail names the field).
 */
eds_status eds_legacy_record_validate(const eds_legacy_record *r);

/**
 * Fill r: copies the strings, payload_hash = BLAKE3(payload), prev_record_hash
 * (NULL means 32 zero bytes), signature zeroed.  payload may be NULL when
 * payload_len is 0.  Errors: EDS_E_ARG, EDS_E_FIELD.
 */
eds_status eds_legacy_record_init(eds_legacy_record *r, const char *device_id, uint64_t sequence,
                                  uint64_t timestamp_ms, const uint8_t *payload, size_t payload_len,
                                  const uint8_t prev_record_hash[32], const char *object_ref);

/**
 * Postcard encoding of r into out[0..cap); *len receives its length.
 * Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_LIMIT (cap too small;
 * EDS_LEGACY_POSTCARD_MAX always suffices).
 */
eds_status eds_legacy_postcard_encode(const eds_legacy_record *r, uint8_t *out, size_t cap,
                                      size_t *len);

/**
 * Decode a postcard encoding; the whole input must be consumed and varints
 * must be minimal, so decode and encode are exact inverses.  Errors:
 * EDS_E_ARG, EDS_E_MALFORMED (truncated, overlong varint, trailing bytes,
 * signature length not 64), EDS_E_FIELD (string too long or not UTF-8).
 * EDS_E_ARG also for in == NULL, even with len 0.
 */
eds_status eds_legacy_postcard_decode(eds_legacy_record *r, const uint8_t *in, size_t len);

/** record_hash = BLAKE3(postcard(r)).  Errors: EDS_E_ARG, EDS_E_FIELD. */
eds_status eds_legacy_record_compute_hash(const eds_legacy_record *r, uint8_t out[32]);

/** Set r->signature = Ed25519(sk, r->payload_hash).  Errors: EDS_E_ARG. */
eds_status eds_legacy_record_sign(eds_legacy_record *r, const eds_secret_key *sk);

/**
 * Verify r->signature over the 32 payload_hash bytes (nothing else is
 * signed).  Strict libsodium verification.  Errors: EDS_E_ARG,
 * EDS_E_SIGNATURE (also for a public key that is not a valid point).
 */
eds_status eds_legacy_record_verify(const eds_legacy_record *r, const eds_public_key *pk);

/**
 * Parse one record in the serde_json form edgesentry-rs writes: an object
 * with exactly the keys device_id, sequence, timestamp_ms, payload_hash,
 * signature, prev_record_hash, object_ref (any order; unknown, missing and
 * duplicate keys rejected); the byte fields are arrays of exactly 32/64/32
 * integers 0..255; sequence and timestamp_ms integers 0 .. 2^63-1 (the JSON
 * reader's integer range).  Errors: EDS_E_ARG, EDS_E_LIMIT (len >
 * EDS_LEGACY_JSON_MAX), EDS_E_MALFORMED, EDS_E_FIELD; detail names the key.
 */
eds_status eds_legacy_record_from_json(eds_legacy_record *r, const char *json, size_t len);

/**
 * Write r in the compact serde_json form (keys in struct order, byte fields
 * as integer arrays), NUL-terminated.  *len (optional) gets the text length.
 * Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_LIMIT (cap too small), EDS_E_NOMEM.
 */
eds_status eds_legacy_record_to_json(const eds_legacy_record *r, char *buf, size_t cap,
                                     size_t *len);

/*
 * Streaming reader of a legacy chain file: one JSON array of records
 * (usually pretty-printed).  Elements are split off and parsed one at a time,
 * so memory stays constant whatever the file size; one element may be at
 * most EDS_LEGACY_JSON_MAX bytes.  Not thread-safe.
 */
typedef struct eds_legacy_reader eds_legacy_reader;

/** Open path ("-" is standard input).  Errors: EDS_E_ARG, EDS_E_NOMEM, EDS_E_IO, EDS_E_NOT_FOUND.
 */
eds_status eds_legacy_reader_open(eds_legacy_reader **out, const char *path);

/**
 * Next record: EDS_OK, EDS_DONE after the closing bracket (only whitespace
 * may follow), or an error whose detail starts "PATH:LINE: " (EDS_E_MALFORMED,
 * EDS_E_LIMIT, EDS_E_FIELD, EDS_E_IO).  After an error the reader cannot go on.
 */
eds_status eds_legacy_reader_next(eds_legacy_reader *rd, eds_legacy_record *r);

/** 0-based index of the record last returned.  This and the three below give 0 for NULL. */
uint64_t eds_legacy_reader_index(const eds_legacy_reader *rd);

/** 1-based line on which the record last returned starts. */
uint64_t eds_legacy_reader_line(const eds_legacy_reader *rd);

/** Bytes consumed so far. */
uint64_t eds_legacy_reader_offset(const eds_legacy_reader *rd);

/** The file size (0 when unknown, e.g. a pipe). */
uint64_t eds_legacy_reader_size(const eds_legacy_reader *rd);

/** Close and free.  NULL is ignored. */
void eds_legacy_reader_close(eds_legacy_reader *rd);

/*
 * Chain verification.  The rule edgesentry-rs checks: the first record has a
 * zero prev_record_hash; each next record has prev_record_hash =
 * record_hash(previous) and sequence = previous sequence + 1 (the first
 * sequence is free).  On top of that rule, when given: each signature with
 * public_key, and each payload under payload_dir (FORMAT.md section 3
 * layout; legacy records carry no size, so only presence and hash).
 *
 * Records are fed in order.  After a failing record the chain continues
 * from that record (its hash and sequence), so every failure is reported
 * against the record where it occurs, not repeated for all that follow.
 */
typedef struct eds_legacy_chain_options {
	const eds_public_key *public_key; /**< check signatures, or NULL */
	const char *payload_dir;          /**< check payload files, or NULL */
} eds_legacy_chain_options;

typedef struct eds_legacy_chain {
	eds_legacy_chain_options opts;     /**< borrowed; must outlive the chain */
	uint64_t records;                  /**< records fed */
	uint64_t failed;                   /**< records that failed a check */
	uint64_t signatures_checked;       /**< signatures that verified */
	uint64_t payloads_checked;         /**< payload files that matched */
	uint64_t last_sequence;            /**< sequence of the last record fed */
	uint8_t head[EDS_LEGACY_HASH_LEN]; /**< record_hash of the last record fed */
} eds_legacy_chain;

/** Start an empty chain.  opts may be NULL (chain rule only). */
void eds_legacy_chain_init(eds_legacy_chain *c, const eds_legacy_chain_options *opts);

/**
 * Check the next record (its index is c->records).  Returns EDS_OK, or the
 * first check it fails, in this order: EDS_E_PREV_HASH, EDS_E_SEQUENCE,
 * EDS_E_SIGNATURE, EDS_E_NOT_FOUND (payload file missing),
 * EDS_E_PAYLOAD_MISMATCH; these count in c->failed and the chain goes on.
 * Any other status (EDS_E_ARG, EDS_E_FIELD, EDS_E_IO, EDS_E_LIMIT) means the
 * record could not be checked; it is not counted and the chain is unchanged.
 * The detail says what failed.
 */
eds_status eds_legacy_chain_add(eds_legacy_chain *c, const eds_legacy_record *r);

#ifdef __cplusplus
}
#endif
#endif
