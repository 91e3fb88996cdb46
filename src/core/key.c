/*
 * key.c - Ed25519 device keys: generation, raw forms and hex.
 * (PEM: key_pem.c; key files: key_file.c; edgesentry-rs key JSON: key_json.c.)
 */
#include <sodium.h>
#include <string.h>

#include "edgesentry/ed25519.h"
#include "edgesentry/encoding.h"
#include "edgesentry/key.h"
#include "internal.h"

eds_status eds_secret_key_from_seed(eds_secret_key *sk, const uint8_t seed[32])
{
	uint8_t pk[EDS_ED25519_PUBLIC_LEN];
	if (sk == NULL || seed == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	return eds_ed25519_keypair_seed(pk, sk->bytes, seed);
}

eds_status eds_secret_key_generate(eds_secret_key *sk)
{
	uint8_t pk[EDS_ED25519_PUBLIC_LEN];
	if (sk == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	return eds_ed25519_keypair_random(pk, sk->bytes);
}

void eds_secret_key_public(const eds_secret_key *sk, eds_public_key *pk)
{
	/* libsodium's secret key is seed || public key. */
	memcpy(pk->bytes, sk->bytes + 32, sizeof pk->bytes);
}

void eds_secret_key_wipe(eds_secret_key *sk)
{
	if (sk != NULL)
		sodium_memzero(sk->bytes, sizeof sk->bytes);
}

void eds_public_key_to_hex(const eds_public_key *pk, char out[65])
{
	eds_hex_encode(out, pk->bytes, sizeof pk->bytes);
}

eds_status eds_public_key_from_hex(eds_public_key *pk, const char *hex, size_t len)
{
	if (pk == NULL || hex == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	if (eds_hex_decode(pk->bytes, sizeof pk->bytes, hex, len) != EDS_OK)
		return eds_fail(EDS_E_MALFORMED, "public key: expected 64 hex characters");
	return eds_ed25519_public_key_check(pk->bytes);
}
