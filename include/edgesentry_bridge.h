/*
 * edgesentry_bridge.h - drop-in replacement for the C bridge of edgesentry-rs
 * (the Rust reference).  A C program written against that project's
 * edgesentry_bridge.h compiles and runs unchanged against this header and
 * libedgesentry_bridge (shared or static).  Layout, names, signatures and
 * return values are those of the Rust bridge; see docs/compat.md.
 *
 * SECURITY: these records are the legacy format.  Their signature covers only
 * the 32-byte payload hash - not the device, sequence, time, chain position
 * or object reference - so a captured signature can be replayed under new
 * metadata.  New code should use the native API (edgesentry/record.h).
 *
 * Differences from the Rust bridge, all in the direction of refusing more:
 *  - Signatures are verified strictly (libsodium): signatures that only a
 *    lenient verifier accepts (small-order keys, non-canonical encodings)
 *    are invalid (0 / EDS_ERR_BAD_SIGNATURE).
 *  - eds_verify_chain treats a sequence that would overflow u64 as a break.
 *  - There are no panics in C: EDS_ERR_PANIC is returned only if libsodium
 *    cannot initialise, or on an internal failure that cannot happen with
 *    valid arguments; nothing else returns it.
 *
 * All functions are thread-safe.  Pointers to keys and hashes must point to
 * 32 bytes, signatures to 64 bytes; strings must be NUL-terminated.
 */
#ifndef EDGESENTRY_BRIDGE_H
#define EDGESENTRY_BRIDGE_H

/* The Rust header included these; programs may rely on them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes (int32_t).  EDS_OK is spelled exactly as in edgesentry/error.h. */
#define EDS_OK                  0
#define EDS_ERR_NULL_PTR        (-1) /**< a required pointer was NULL */
#define EDS_ERR_INVALID_UTF8    (-2) /**< a string is not valid UTF-8 */
#define EDS_ERR_INVALID_KEY     (-3) /**< a public key is not a valid point */
#define EDS_ERR_STRING_TOO_LONG (-4) /**< device_id >= 256 or object_ref >= 512 bytes */
#define EDS_ERR_CHAIN_INVALID   (-5) /**< hash chain broken */
#define EDS_ERR_PANIC           (-6) /**< internal failure (see above) */
#define EDS_ERR_HASH_MISMATCH   (-7) /**< BLAKE3(payload) differs from the hash */
#define EDS_ERR_BAD_SIGNATURE   (-8) /**< signature over the payload hash invalid */

/**
 * One audit record, caller-allocated (912 bytes, 8-byte aligned).  device_id
 * and object_ref are NUL-terminated UTF-8 (at most 255 and 511 bytes).
 */
typedef struct EdsAuditRecord {
	uint64_t sequence;            /**< record index for this device, from 1 */
	uint64_t timestamp_ms;        /**< Unix time in milliseconds */
	uint8_t payload_hash[32];     /**< BLAKE3(payload) */
	uint8_t signature[64];        /**< Ed25519 over payload_hash only */
	uint8_t prev_record_hash[32]; /**< hash of the previous record, zero for the first */
	uint8_t device_id[256];       /**< NUL-terminated */
	uint8_t object_ref[512];      /**< NUL-terminated, e.g. "lift-01/check-1.bin" */
} EdsAuditRecord;

/**
 * New random key pair: the 32-byte Ed25519 seed (the private key) and the
 * 32-byte public key.  Returns EDS_OK or EDS_ERR_NULL_PTR.
 */
int32_t eds_keygen(uint8_t *private_key_out, uint8_t *public_key_out);

/**
 * Fill *out: payload_hash = BLAKE3(payload), signature = Ed25519 over it
 * with the 32-byte seed private_key, the other fields as given.
 * prev_record_hash may be NULL (32 zero bytes).  payload must not be NULL
 * even when payload_len is 0.  Returns EDS_OK, EDS_ERR_NULL_PTR,
 * EDS_ERR_INVALID_UTF8 or EDS_ERR_STRING_TOO_LONG (out is untouched on error).
 */
int32_t eds_sign_record(const char *device_id, uint64_t sequence, uint64_t timestamp_ms,
                        const uint8_t *payload, uintptr_t payload_len,
                        const uint8_t *prev_record_hash, const char *object_ref,
                        const uint8_t *private_key, struct EdsAuditRecord *out);

/**
 * The record hash, BLAKE3 of the record's postcard encoding, into 32 bytes
 * at hash_out (use it as the next record's prev_record_hash).  Returns
 * EDS_OK or EDS_ERR_NULL_PTR.  As in the Rust bridge, a string field that is
 * not UTF-8 is hashed after replacing each invalid sequence with U+FFFD, and
 * one without a NUL is taken whole.
 */
int32_t eds_record_hash(const struct EdsAuditRecord *record, uint8_t *hash_out);

/**
 * Check the record's signature (over payload_hash only) with public_key.
 * Returns 1 valid, 0 invalid, EDS_ERR_NULL_PTR, or EDS_ERR_INVALID_KEY when
 * public_key does not decode to a curve point.
 */
int32_t eds_verify_record(const struct EdsAuditRecord *record, const uint8_t *public_key);

/**
 * Check a software update: BLAKE3(payload) must equal payload_hash and
 * signature must be publisher_key's signature over payload_hash.  Returns
 * EDS_OK, EDS_ERR_NULL_PTR (payload NULL even with length 0),
 * EDS_ERR_INVALID_KEY, EDS_ERR_HASH_MISMATCH or EDS_ERR_BAD_SIGNATURE.
 */
int32_t eds_verify_update(const uint8_t *payload, uintptr_t payload_len,
                          const uint8_t *payload_hash, const uint8_t *signature,
                          const uint8_t *publisher_key);

/**
 * Check the chain rule over records[0..count): the first prev_record_hash is
 * zero, each next one is the hash of the previous record and each sequence
 * is the previous + 1.  Signatures are not checked.  Returns EDS_OK (also
 * for count 0, even with records NULL), EDS_ERR_NULL_PTR, or
 * EDS_ERR_CHAIN_INVALID (the message names the index).
 */
int32_t eds_verify_chain(const struct EdsAuditRecord *records, uintptr_t count);

/**
 * Message of the last failure on the calling thread; "" before any.  Never
 * NULL; not cleared by successful calls; valid until the next failing call
 * on the same thread.  Do not free it.
 */
const char *eds_last_error_message(void);

#ifdef __cplusplus
}
#endif

#endif /* EDGESENTRY_BRIDGE_H */
