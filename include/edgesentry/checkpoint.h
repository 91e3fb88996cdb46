/*
 * edgesentry/checkpoint.h - a signed statement of a ledger's operation-log
 * head: "at time_ms, event oplog_id of this ledger's log had chain_hash
 * oplog_head", signed with Ed25519 by whoever runs the ledger.
 *
 * The operation log is hash-chained (docs/format.md 9), but the chain has
 * no key: whoever can write the database can recompute it, and an end cut
 * off still verifies.  A checkpoint kept where the ledger's writers cannot
 * reach it fixes the log up to oplog_id: `eds ledger verify --checkpoint`
 * fails unless that event still has that chain_hash.  The signature says
 * who vouched for the head and when, and lets anyone check the statement
 * with the signer's public key alone (openssl, docs/format.md 10).
 *
 * The byte layout is EdgeSentry's own (docs/format.md 10), not FORMAT.md.
 * Every function here is pure: no ledger, no I/O, thread-safe.
 */
#ifndef EDGESENTRY_CHECKPOINT_H
#define EDGESENTRY_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ed25519.h"
#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "edgesentry/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The value of the "format" member, and the first bytes of the signed message. */
#define EDS_CHECKPOINT_FORMAT "EDS-CHECKPOINT-1"
/** Bytes signed: format (16) || u64be oplog_id || oplog_head (32) || u64be time_ms. */
#define EDS_CHECKPOINT_MESSAGE_LEN 64
/** Longest checkpoint JSON text accepted (one is about 330 bytes). */
#define EDS_CHECKPOINT_JSON_MAX 1024

typedef struct eds_checkpoint {
	uint64_t oplog_id;                      /**< the newest event's id; 0: an empty log */
	uint8_t oplog_head[EDS_HASH_LEN];       /**< its chain_hash; zero for an empty log */
	uint64_t time_ms;                       /**< when it was signed, Unix milliseconds */
	eds_public_key public_key;              /**< the signer's */
	uint8_t signature[EDS_ED25519_SIG_LEN]; /**< over eds_checkpoint_message */
} eds_checkpoint;

/** The 64 bytes a checkpoint's signature covers (docs/format.md 10). */
void eds_checkpoint_message(const eds_checkpoint *cp, uint8_t msg[EDS_CHECKPOINT_MESSAGE_LEN]);

/**
 * Sign cp's oplog_id, oplog_head and time_ms with sk: fills public_key and
 * signature.  Errors: EDS_E_ARG (NULL), EDS_E_FIELD (oplog_id or time_ms
 * above 2^53-1, a head that is zero but oplog_id is not 0 or the reverse),
 * EDS_E_INTERNAL.
 */
eds_status eds_checkpoint_sign(eds_checkpoint *cp, const eds_secret_key *sk);

/**
 * Check cp's signature with the key the caller trusts (not the one cp
 * names, which anyone can put there).  Errors: EDS_E_ARG (NULL),
 * EDS_E_KEY (cp names another key than trusted), EDS_E_SIGNATURE.
 */
eds_status eds_checkpoint_verify(const eds_checkpoint *cp, const eds_public_key *trusted);

/**
 * cp as one line of JSON without a newline, members in the order of
 * docs/format.md 10 (format, oplog_id, oplog_head, time_ms, public_key,
 * signature; hashes, keys and signatures as lowercase hex).  *out is the
 * caller's to free().  Errors: EDS_E_ARG, EDS_E_NOMEM.
 */
eds_status eds_checkpoint_to_json(const eds_checkpoint *cp, char **out);

/**
 * Parse one checkpoint (JSON text of at most EDS_CHECKPOINT_JSON_MAX bytes)
 * strictly: exactly the six members, "format" EDS_CHECKPOINT_FORMAT,
 * integers 0 .. 2^53-1, hex of the exact length, public_key a valid curve
 * point, oplog_head zero exactly when oplog_id is 0.  The signature is not
 * checked (eds_checkpoint_verify).  Errors: EDS_E_ARG, EDS_E_LIMIT,
 * EDS_E_MALFORMED (syntax, a missing, unknown or duplicate member, a wrong
 * type), EDS_E_FIELD (a value breaks its rule), EDS_E_KEY; the detail
 * names the member.
 */
eds_status eds_checkpoint_from_json(eds_checkpoint *cp, const char *json, size_t len);

#ifdef __cplusplus
}
#endif

#endif
