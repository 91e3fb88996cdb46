/*
 * edgesentry/update.h - signed software updates (docs/update.md): manifests
 * signed by a threshold of publisher keys, a trust policy that rotates by
 * being signed by the threshold of its predecessor, and a verifier a device
 * can run offline (anti-rollback by security version, monotonic issue time,
 * expiry only against a trusted clock, image hashed in constant memory).
 *
 * Signed bytes (canonical form, big-endian integers):
 *
 *   manifest = "EDSUPD1\0" || u8 len(package) || package || u8 len(version) || version
 *           || u64 security_version || u64 image_size || image_blake3[32] || u64 issued_ms
 *           || u8 has_expiry || u64 expires_ms (0 when has_expiry is 0)
 *           || u8 n_targets || (u8 len || target) * n_targets
 *   trust    = "EDSTRU1\0" || u64 serial || previous[32] || u8 threshold || u8 n_keys
 *           || public_key[32] * n_keys
 *
 * Every signature is Ed25519 over the whole canonical form; the 8-byte
 * prefixes keep manifest, trust and ESR1 record signatures apart.
 */
#ifndef EDGESENTRY_UPDATE_H
#define EDGESENTRY_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDS_UPDATE_PACKAGE_MAX 128   /**< package id: 1..128 of A-Z a-z 0-9 . _ : - / */
#define EDS_UPDATE_VERSION_MAX 64    /**< semantic version 2.0.0, 5..64 bytes */
#define EDS_UPDATE_TARGET_MAX  64    /**< hardware id: 1..64 of A-Z a-z 0-9 . _ : - */
#define EDS_UPDATE_TARGETS_MAX 16    /**< 1..16 distinct targets */
#define EDS_UPDATE_SIGS_MAX    16    /**< 0..16 signatures in a file */
#define EDS_UPDATE_KEYS_MAX    16    /**< 1..16 distinct keys in a trust policy */
#define EDS_UPDATE_JSON_MAX    16384 /**< largest manifest or trust JSON text */
/** Largest canonical manifest. */
#define EDS_UPDATE_CANON_MAX                                                                       \
	(8 + 1 + EDS_UPDATE_PACKAGE_MAX + 1 + EDS_UPDATE_VERSION_MAX + 8 + 8 + 32 + 8 + 1 + 8 +    \
	 1 + EDS_UPDATE_TARGETS_MAX * (1 + EDS_UPDATE_TARGET_MAX))
/** Largest canonical trust policy. */
#define EDS_UPDATE_TRUST_CANON_MAX (8 + 8 + 32 + 1 + 1 + EDS_UPDATE_KEYS_MAX * 32)

typedef struct eds_update_signature {
	eds_public_key key;
	uint8_t sig[64];
} eds_update_signature;

typedef struct eds_update_manifest {
	char package[EDS_UPDATE_PACKAGE_MAX + 1];
	char version[EDS_UPDATE_VERSION_MAX + 1];
	uint64_t security_version; /**< anti-rollback counter, 0 .. 2^53-1 */
	uint64_t image_size;       /**< 0 .. 2^53-1 */
	uint8_t image_hash[32];    /**< BLAKE3 of the image */
	uint64_t issued_ms;        /**< Unix milliseconds, 0 .. 2^53-1 */
	int has_expiry;
	uint64_t expires_ms; /**< > issued_ms when has_expiry */
	size_t n_targets;
	char targets[EDS_UPDATE_TARGETS_MAX][EDS_UPDATE_TARGET_MAX + 1];
	size_t n_signatures;
	eds_update_signature signatures[EDS_UPDATE_SIGS_MAX];
} eds_update_manifest;

typedef struct eds_update_trust {
	uint64_t serial;      /**< 1 for a root policy; successor = serial + 1 */
	uint8_t previous[32]; /**< hash of the predecessor; zeros for a root */
	unsigned threshold;   /**< 1 .. n_keys */
	size_t n_keys;
	eds_public_key keys[EDS_UPDATE_KEYS_MAX];
	size_t n_signatures; /**< by keys of the PREVIOUS policy; 0 for a root */
	eds_update_signature signatures[EDS_UPDATE_SIGS_MAX];
} eds_update_trust;

/* ---- manifests ---- */

/**
 * Fill m (no targets, no signatures).  expires_ms 0 means no expiry.
 * Errors: EDS_E_ARG, EDS_E_FIELD (detail names the field and its rule).
 */
eds_status eds_update_manifest_init(eds_update_manifest *m, const char *package,
                                    const char *version, uint64_t security_version,
                                    uint64_t image_size, const uint8_t image_hash[32],
                                    uint64_t issued_ms, uint64_t expires_ms);

/** Add a target hardware id.  Errors: EDS_E_FIELD (charset, duplicate), EDS_E_LIMIT. */
eds_status eds_update_manifest_add_target(eds_update_manifest *m, const char *hardware_id);

/** Check every field rule (signatures are not verified).  Errors: EDS_E_ARG, EDS_E_FIELD. */
eds_status eds_update_manifest_validate(const eds_update_manifest *m);

/** Canonical signed bytes into out (EDS_UPDATE_CANON_MAX suffices).  Errors: EDS_E_ARG,
 *  EDS_E_FIELD, EDS_E_LIMIT. */
eds_status eds_update_manifest_encode(const eds_update_manifest *m, uint8_t *out, size_t cap,
                                      size_t *len);

/** manifest hash = BLAKE3(canonical bytes): names the manifest whatever its signatures.
 *  Errors: EDS_E_ARG (NULL m or out), as eds_update_manifest_encode otherwise. */
eds_status eds_update_manifest_hash(const eds_update_manifest *m, uint8_t out[32]);

/**
 * Append a signature by sk over the canonical bytes.  Errors: EDS_E_EXISTS
 * (this key already signed), EDS_E_LIMIT (EDS_UPDATE_SIGS_MAX reached),
 * EDS_E_ARG, EDS_E_FIELD.
 */
eds_status eds_update_manifest_sign(eds_update_manifest *m, const eds_secret_key *sk);

/**
 * Parse the JSON carrier (docs/update.md): exactly the keys format
 * ("EDSUPD1"), package, version, security_version, image_size,
 * image_blake3, issued_ms, targets, signatures and optionally expires_ms.
 * Unknown, missing and duplicate keys and duplicate targets are refused;
 * hex is lowercase.  Two signatures by one key are kept (verification
 * counts the key once).  Errors: EDS_E_ARG,
 * EDS_E_LIMIT (over EDS_UPDATE_JSON_MAX or a list limit), EDS_E_MALFORMED,
 * EDS_E_FIELD (detail names the key).
 */
eds_status eds_update_manifest_from_json(eds_update_manifest *m, const char *json, size_t len);

/** Pretty JSON (keys in the order above, ending in a newline).  Errors: EDS_E_ARG,
 *  EDS_E_FIELD, EDS_E_LIMIT (cap), EDS_E_NOMEM. */
eds_status eds_update_manifest_to_json(const eds_update_manifest *m, char *buf, size_t cap,
                                       size_t *len);

/** Read a manifest file.  Errors as from_json plus EDS_E_IO, EDS_E_NOT_FOUND (detail: path). */
eds_status eds_update_manifest_load(eds_update_manifest *m, const char *path);

/* ---- trust policies ---- */

/** A root policy (serial 1): keys distinct, 1 <= threshold <= n.  Errors: EDS_E_ARG,
 *  EDS_E_FIELD, EDS_E_LIMIT. */
eds_status eds_update_trust_init(eds_update_trust *t, const eds_public_key *keys, size_t n,
                                 unsigned threshold);

/** Make t the successor of prev: serial = prev->serial + 1, previous = hash(prev),
 *  signatures cleared.  Errors: EDS_E_ARG, EDS_E_LIMIT. */
eds_status eds_update_trust_follow(eds_update_trust *t, const eds_update_trust *prev);

/** Check t's rules: serial 1 .. 2^53-1, previous set exactly when serial > 1, no
 *  signatures on a root, 1..EDS_UPDATE_KEYS_MAX distinct valid keys, 1 <= threshold
 *  <= keys.  Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_LIMIT, EDS_E_KEY. */
eds_status eds_update_trust_validate(const eds_update_trust *t);

/** The canonical signed bytes (header comment) into out[0..cap), length in *len.
 *  Errors: as validate, EDS_E_LIMIT (cap too small; EDS_UPDATE_TRUST_CANON_MAX fits). */
eds_status eds_update_trust_encode(const eds_update_trust *t, uint8_t *out, size_t cap,
                                   size_t *len);

/** trust hash = BLAKE3(canonical bytes), what a successor names as previous.
 *  Errors: EDS_E_ARG (NULL t or out), as validate otherwise. */
eds_status eds_update_trust_hash(const eds_update_trust *t, uint8_t out[32]);

/** Add a signature (by a key of the previous policy).  Errors as manifest_sign. */
eds_status eds_update_trust_sign(eds_update_trust *t, const eds_secret_key *sk);

/** Parse the JSON carrier (docs/update.md) into the caller's *t (zeroed first): unknown,
 *  missing and duplicate keys refused, then validate.  Errors: EDS_E_ARG, EDS_E_LIMIT
 *  (over EDS_UPDATE_JSON_MAX), EDS_E_MALFORMED, EDS_E_FIELD, EDS_E_KEY (detail names the
 *  key). */
eds_status eds_update_trust_from_json(eds_update_trust *t, const char *json, size_t len);

/** Pretty JSON of a valid t into buf[0..cap), NUL-terminated; length in *len (may be
 *  NULL).  Errors: as validate, EDS_E_LIMIT (cap), EDS_E_NOMEM. */
eds_status eds_update_trust_to_json(const eds_update_trust *t, char *buf, size_t cap, size_t *len);

/** Read a trust policy file.  Errors as from_json plus EDS_E_IO, EDS_E_NOT_FOUND; every
 *  detail starts with path. */
eds_status eds_update_trust_load(eds_update_trust *t, const char *path);

/** Signatures over msg counted against a key set. */
typedef struct eds_update_sig_count {
	unsigned valid;     /**< distinct trusted keys with a valid signature */
	unsigned duplicate; /**< further signatures by a key already counted */
	unsigned unknown;   /**< by keys outside the set (ignored) */
	unsigned invalid;   /**< by a trusted key but not verifying */
} eds_update_sig_count;

/**
 * Accept next as the successor of cur: next->serial == cur->serial + 1,
 * next->previous == hash(cur), and at least cur->threshold distinct keys of
 * cur signed next.  *count (optional) gets the tally.  Errors: EDS_E_SEQUENCE
 * (serial), EDS_E_PREV_HASH (previous), EDS_E_SIGNATURE (threshold not met),
 * EDS_E_ARG, EDS_E_FIELD.
 */
eds_status eds_update_trust_check_successor(const eds_update_trust *cur,
                                            const eds_update_trust *next,
                                            eds_update_sig_count *count);

/* ---- verification ---- */

/** Outcome of a verification; values are stable (the CLI exit code is 10 + value). */
typedef enum eds_update_reason {
	EDS_UPDATE_ACCEPT = 0,
	EDS_UPDATE_THRESHOLD = 1, /**< fewer distinct valid trusted signatures than the threshold */
	EDS_UPDATE_TARGET = 2,    /**< the device's hardware id is not a target */
	EDS_UPDATE_ROLLBACK = 3,  /**< security_version below the device's minimum */
	EDS_UPDATE_STALE = 4,     /**< issued before the newest manifest installed */
	EDS_UPDATE_EXPIRED = 5,   /**< expires_ms <= the trusted now */
	EDS_UPDATE_SIZE = 6,      /**< image length differs (truncated or extended) */
	EDS_UPDATE_HASH = 7       /**< image BLAKE3 differs */
} eds_update_reason;

/** Short stable name ("accept", "threshold", "target", ...). */
const char *eds_update_reason_name(eds_update_reason r);

/** What the device knows. */
typedef struct eds_update_policy {
	const char *hardware_id;
	uint64_t min_security_version;
	uint64_t last_issued_ms; /**< issue time of the newest manifest installed (0: none) */
	int trusted_clock;       /**< 0: expiry not checked (offline device) */
	uint64_t now_ms;         /**< trusted time when trusted_clock */
} eds_update_policy;

typedef struct eds_update_result {
	eds_update_reason reason;
	eds_update_sig_count sigs;
	uint8_t manifest_hash[32];
	uint64_t image_size; /**< bytes read (0 when the image was not read) */
	char detail[256];    /**< one line saying why, for any reason */
} eds_update_result;

/**
 * Verify m against trust and policy, and (image_path not NULL) the image,
 * read once through a fixed buffer (constant memory, any size).  Checks in
 * order: threshold, target, rollback, stale, expiry, size, hash; the first
 * failing one is res->reason.  Returns EDS_OK whenever a decision was made
 * (accept or reject); an error status only when it could not decide
 * (EDS_E_ARG, EDS_E_FIELD, EDS_E_IO reading the image).
 */
eds_status eds_update_verify(const eds_update_manifest *m, const eds_update_trust *trust,
                             const eds_update_policy *policy, const char *image_path,
                             eds_update_result *res);

/**
 * edgesentry-rs style update check: BLAKE3(image) == hash and sig is a valid
 * Ed25519 signature by pk over those 32 raw bytes.  No version, target or
 * expiry is covered.  Errors: EDS_E_HASH_MISMATCH, EDS_E_SIGNATURE, EDS_E_IO.
 */
eds_status eds_update_verify_legacy(const char *image_path, const uint8_t hash[32],
                                    const uint8_t sig[64], const eds_public_key *pk);

/* ---- device state (a directory: update-state.json, trust.json) ---- */

typedef struct eds_update_state {
	char hardware_id[EDS_UPDATE_TARGET_MAX + 1];
	uint64_t min_security_version;
	uint64_t last_issued_ms;
	int has_pending; /**< a verified manifest waiting for eds_update_state_commit */
	uint8_t pending_hash[32];
	uint64_t pending_security_version;
	uint64_t pending_issued_ms;
} eds_update_state;

/** Load DIR/update-state.json.  Errors: EDS_E_NOT_FOUND (never initialised), EDS_E_IO,
 *  EDS_E_MALFORMED, EDS_E_FIELD. */
eds_status eds_update_state_load(eds_update_state *s, const char *dir);

/** Write DIR/update-state.json atomically (temp, fsync, rename, fsync dir). */
eds_status eds_update_state_save(const eds_update_state *s, const char *dir);

/**
 * Raise the minimum security version and the last issue time to the
 * pending manifest's (never lower them) and clear it; saved atomically.
 * Errors: EDS_E_NOT_FOUND (nothing pending), as state_save.
 */
eds_status eds_update_state_commit(eds_update_state *s, const char *dir);

/**
 * The device's trust policy, pinned in DIR/trust.json.  With none pinned,
 * offered is pinned (first use = provisioning, *changed = 1).  When offered
 * is the pinned policy, nothing changes.  Otherwise offered must be the
 * pinned policy's successor (eds_update_trust_check_successor) and replaces
 * it atomically.  *out receives the policy in force.  Errors as
 * check_successor (EDS_E_SEQUENCE also for an older policy), EDS_E_IO.
 */
eds_status eds_update_trust_pin(const char *dir, const eds_update_trust *offered,
                                eds_update_trust *out, int *changed);

#ifdef __cplusplus
}
#endif
#endif
