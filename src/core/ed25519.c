/*
 * ed25519.c - thin, checked wrappers over libsodium's crypto_sign_*.
 */
#include <sodium.h>

#include "edgesentry/ed25519.h"
#include "internal.h"

eds_status eds_ed25519_keypair_seed(uint8_t pk[EDS_ED25519_PUBLIC_LEN],
                                    uint8_t sk[EDS_ED25519_SECRET_LEN],
                                    const uint8_t seed[EDS_ED25519_SEED_LEN])
{
	if (pk == NULL || sk == NULL || seed == NULL)
		return eds_fail(EDS_E_ARG, "ed25519: NULL argument");
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return eds_fail(EDS_E_INTERNAL, "ed25519: key derivation failed");
	return EDS_OK;
}

eds_status eds_ed25519_keypair_random(uint8_t pk[EDS_ED25519_PUBLIC_LEN],
                                      uint8_t sk[EDS_ED25519_SECRET_LEN])
{
	if (pk == NULL || sk == NULL)
		return eds_fail(EDS_E_ARG, "ed25519: NULL argument");
	if (crypto_sign_keypair(pk, sk) != 0)
		return eds_fail(EDS_E_INTERNAL, "ed25519: key generation failed");
	return EDS_OK;
}

eds_status eds_ed25519_sign(uint8_t sig[EDS_ED25519_SIG_LEN], const uint8_t *msg, size_t len,
                            const uint8_t sk[EDS_ED25519_SECRET_LEN])
{
	if (sig == NULL || sk == NULL || (msg == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "ed25519: NULL argument");
	if (crypto_sign_detached(sig, NULL, msg, len, sk) != 0)
		return eds_fail(EDS_E_INTERNAL, "ed25519: signing failed");
	return EDS_OK;
}

eds_status eds_ed25519_verify(const uint8_t sig[EDS_ED25519_SIG_LEN], const uint8_t *msg,
                              size_t len, const uint8_t pk[EDS_ED25519_PUBLIC_LEN])
{
	if (sig == NULL || pk == NULL || (msg == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "ed25519: NULL argument");
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return eds_fail(EDS_E_SIGNATURE, "signature does not verify");
	return EDS_OK;
}

eds_status eds_ed25519_public_key_check(const uint8_t pk[EDS_ED25519_PUBLIC_LEN])
{
	if (pk == NULL)
		return eds_fail(EDS_E_ARG, "ed25519: NULL argument");
	/* crypto_core_ed25519_is_valid_point refuses non-canonical encodings,
	 * points off the curve and small-order points: the keys libsodium's
	 * verify would refuse anyway. */
	if (!crypto_core_ed25519_is_valid_point(pk))
		return eds_fail(EDS_E_KEY, "public key is not a valid Ed25519 point");
	return EDS_OK;
}
