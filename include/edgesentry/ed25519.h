/*
 * edgesentry/ed25519.h - pure Ed25519 (RFC 8032) through libsodium.
 *
 * A secret key is 64 bytes: the 32-byte seed followed by the 32-byte public
 * key (libsodium's layout).  Verification is strict: non-canonical S,
 * small-order public keys and non-canonical points are refused (libsodium
 * 1.0.18 semantics; see docs/format.md for the Wycheproof treatment).
 * All functions are thread-safe after eds_init().
 */
#ifndef EDGESENTRY_ED25519_H
#define EDGESENTRY_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDS_ED25519_SEED_LEN   32
#define EDS_ED25519_PUBLIC_LEN 32
#define EDS_ED25519_SECRET_LEN 64
#define EDS_ED25519_SIG_LEN    64

/** Derive a key pair from a 32-byte seed.  Errors: EDS_E_ARG. */
eds_status eds_ed25519_keypair_seed(uint8_t pk[EDS_ED25519_PUBLIC_LEN],
                                    uint8_t sk[EDS_ED25519_SECRET_LEN],
                                    const uint8_t seed[EDS_ED25519_SEED_LEN]);

/** New key pair from the system CSPRNG.  Errors: EDS_E_ARG. */
eds_status eds_ed25519_keypair_random(uint8_t pk[EDS_ED25519_PUBLIC_LEN],
                                      uint8_t sk[EDS_ED25519_SECRET_LEN]);

/** Detached signature over msg[0..len).  Errors: EDS_E_ARG, EDS_E_INTERNAL. */
eds_status eds_ed25519_sign(uint8_t sig[EDS_ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                            const uint8_t sk[EDS_ED25519_SECRET_LEN]);

/**
 * Verify a detached signature.  Returns EDS_OK when valid, EDS_E_SIGNATURE
 * when not (including invalid public keys), EDS_E_ARG for NULL arguments.
 */
eds_status eds_ed25519_verify(const uint8_t sig[EDS_ED25519_SIG_LEN], const uint8_t *msg,
                              size_t len, const uint8_t pk[EDS_ED25519_PUBLIC_LEN]);

/** EDS_OK when pk is a valid, non-small-order curve point, else EDS_E_KEY. */
eds_status eds_ed25519_public_key_check(const uint8_t pk[EDS_ED25519_PUBLIC_LEN]);

#ifdef __cplusplus
}
#endif
#endif
