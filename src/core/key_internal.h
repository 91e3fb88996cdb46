/*
 * key_internal.h - key parsing shared by key_pem.c, key_json.c and
 * key_file.c (and the fuzz targets); not installed.
 */
#ifndef EDS_CORE_KEY_INTERNAL_H
#define EDS_CORE_KEY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "edgesentry/key.h"

/**
 * Parse a PEM key of either kind: "PRIVATE KEY" (PKCS#8; fills sk and pk,
 * sets *has_secret) or "PUBLIC KEY" (SPKI; fills pk only).  Errors as
 * eds_secret_key_from_pem.
 */
eds_status eds_key_from_pem_any(const char *pem, size_t len, eds_secret_key *sk, bool *has_secret,
                                eds_public_key *pk);

/**
 * Parse an edgesentry-rs key JSON: {"private_key_hex": "<64 hex seed>",
 * "public_key_hex": "<64 hex>"} (members in any order, JSON whitespace
 * allowed, nothing else).  The public key must be the seed's.  Errors:
 * EDS_E_MALFORMED, EDS_E_KEY, EDS_E_LIMIT.
 */
eds_status eds_key_from_legacy_json(eds_secret_key *sk, const char *json, size_t len);

/**
 * Parse any key text a key file may hold: legacy JSON when the first
 * non-blank character is '{', PEM otherwise.  *has_secret tells whether sk
 * was filled; pk always is.
 */
eds_status eds_key_parse_text(const char *text, size_t len, eds_secret_key *sk, bool *has_secret,
                              eds_public_key *pk);

#endif
