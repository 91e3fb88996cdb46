/*
 * edgesentry/key.h - device keys: generation, PEM (PKCS#8 / SPKI), raw hex,
 * and key files.
 *
 * Secret key files are PKCS#8 PEM exactly as `openssl genpkey -algorithm
 * ed25519` writes them; public key files are SubjectPublicKeyInfo PEM as
 * `openssl pkey -pubout` writes them.  Wherever a public key is accepted,
 * 64 hex characters are accepted too.  The edgesentry-rs key JSON
 * ({"private_key_hex": ..., "public_key_hex": ...}) is accepted wherever a
 * key file is read.
 *
 * Secret material is wiped (sodium_memzero) from every internal buffer
 * before it is released; callers wipe their eds_secret_key with
 * eds_secret_key_wipe().
 */
#ifndef EDGESENTRY_KEY_H
#define EDGESENTRY_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest PEM text a key file may hold (bigger files are refused). */
#define EDS_KEY_FILE_MAX 4096

/** Ed25519 secret key: 32-byte seed followed by the 32-byte public key. */
typedef struct eds_secret_key {
	uint8_t bytes[64];
} eds_secret_key;

/** Ed25519 public key (compressed point). */
typedef struct eds_public_key {
	uint8_t bytes[32];
} eds_public_key;

/** Key from a 32-byte seed.  Errors: EDS_E_ARG. */
eds_status eds_secret_key_from_seed(eds_secret_key *sk, const uint8_t seed[32]);

/** Fresh random key.  Errors: EDS_E_ARG. */
eds_status eds_secret_key_generate(eds_secret_key *sk);

/** The public half of sk. */
void eds_secret_key_public(const eds_secret_key *sk, eds_public_key *pk);

/** Overwrite sk with zeros in a way the compiler cannot elide. */
void eds_secret_key_wipe(eds_secret_key *sk);

/**
 * PKCS#8 PEM of sk into buf (NUL-terminated).  *len (optional) receives the
 * text length.  Errors: EDS_E_ARG, EDS_E_LIMIT when cap is too small.
 */
eds_status eds_secret_key_to_pem(const eds_secret_key *sk, char *buf, size_t cap, size_t *len);

/**
 * Parse a PKCS#8 PEM Ed25519 secret key: the 48-byte RFC 8410 (version 1)
 * form OpenSSL writes.  CRLF line ends, trailing blanks, blank lines after
 * the END line and base64 wrapped at any width are accepted; anything else
 * is refused with a detail naming the line and column.  Errors:
 * EDS_E_MALFORMED (bad armour, label or base64), EDS_E_KEY (not an Ed25519
 * key, an encrypted key, or the RFC 5958 version 2 form, which OpenSSL 3.0
 * neither writes nor reads), EDS_E_LIMIT (text longer than EDS_KEY_FILE_MAX).
 */
eds_status eds_secret_key_from_pem(eds_secret_key *sk, const char *pem, size_t len);

/** SPKI PEM of pk into buf.  Errors as eds_secret_key_to_pem. */
eds_status eds_public_key_to_pem(const eds_public_key *pk, char *buf, size_t cap, size_t *len);

/**
 * Parse an SPKI PEM Ed25519 public key (the 44-byte RFC 8410 form).  Errors
 * as eds_secret_key_from_pem; EDS_E_KEY also for an invalid curve point.
 */
eds_status eds_public_key_from_pem(eds_public_key *pk, const char *pem, size_t len);

/** Lowercase hex of pk into out (65 bytes with the NUL). */
void eds_public_key_to_hex(const eds_public_key *pk, char out[65]);

/**
 * Parse 64 hex characters.  Errors: EDS_E_MALFORMED (length or digit),
 * EDS_E_KEY (not a valid curve point).
 */
eds_status eds_public_key_from_hex(eds_public_key *pk, const char *hex, size_t len);

/**
 * Read a secret key file: PKCS#8 PEM, or edgesentry-rs key JSON (whose
 * public_key_hex must be the seed's public key, else EDS_E_KEY).  Refuses
 * (EDS_E_PERM, detail says "chmod 600 PATH") a file that group or others
 * have any permission on (mode & 077).  Errors: EDS_E_NOT_FOUND, EDS_E_IO,
 * EDS_E_PERM, EDS_E_LIMIT, EDS_E_MALFORMED, EDS_E_KEY (also for a public
 * key file); the detail names path.  sk is wiped on EDS_E_PERM.
 */
eds_status eds_secret_key_load(eds_secret_key *sk, const char *path);

/**
 * Write sk as PKCS#8 PEM to a new file created with mode 0600 whatever the
 * umask (O_EXCL: an existing file or symlink is never overwritten,
 * EDS_E_EXISTS), fsynced, directory fsynced.  Errors: EDS_E_EXISTS, EDS_E_IO.
 */
eds_status eds_secret_key_save(const eds_secret_key *sk, const char *path);

/**
 * Resolve a public key "spec": 64 hex characters, or the path of an SPKI
 * PEM file, a PKCS#8 secret key file (its public half), or an edgesentry-rs
 * key JSON file.  A file holding a secret key is refused like
 * eds_secret_key_load refuses it (EDS_E_PERM) when group or others can read
 * it (FORMAT.md 2: every reader refuses).  Errors as eds_secret_key_load;
 * EDS_E_NOT_FOUND when spec is neither 64 hex characters nor a file.
 */
eds_status eds_public_key_load(eds_public_key *pk, const char *spec);

/** Write pk as SPKI PEM (mode 0644, O_EXCL, fsynced).  Errors: EDS_E_IO, EDS_E_EXISTS. */
eds_status eds_public_key_save(const eds_public_key *pk, const char *path);

#ifdef __cplusplus
}
#endif
#endif
