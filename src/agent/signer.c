/*
 * signer.c - the in-memory key signer behind eds_signer (key file or key
 * value).  An HSM signer implements the same eds_signer_ops.
 */
#include <sodium.h>
#include <stdlib.h>

#include "edgesentry/agent.h"
#include "edgesentry/ed25519.h"
#include "internal.h"

static eds_status key_sign(void *ctx, const uint8_t *msg, size_t len,
                           uint8_t sig[EDS_SIGNATURE_LEN])
{
	const eds_secret_key *sk = ctx;
	return eds_ed25519_sign(sig, msg, len, sk->bytes);
}

static void key_public(void *ctx, eds_public_key *pk)
{
	eds_secret_key_public(ctx, pk);
}

static void key_destroy(void *ctx)
{
	eds_secret_key_wipe(ctx);
	sodium_free(ctx);
}

static const eds_signer_ops key_ops = {key_sign, key_public, key_destroy};

eds_status eds_signer_from_key(eds_signer *out, const eds_secret_key *sk)
{
	if (!out || !sk)
		return eds_fail(EDS_E_ARG, "eds_signer_from_key: NULL argument");
	/* sodium_malloc: guarded, mlocked pages for the secret. */
	eds_secret_key *copy = sodium_malloc(sizeof *copy);
	if (!copy)
		return eds_fail(EDS_E_NOMEM, "signer: out of memory");
	*copy = *sk;
	out->ops = &key_ops;
	out->ctx = copy;
	return EDS_OK;
}

eds_status eds_signer_from_key_file(eds_signer *out, const char *path)
{
	if (!out || !path)
		return eds_fail(EDS_E_ARG, "eds_signer_from_key_file: NULL argument");
	eds_secret_key sk;
	eds_status st = eds_secret_key_load(&sk, path);
	if (st == EDS_OK)
		st = eds_signer_from_key(out, &sk);
	eds_secret_key_wipe(&sk);
	return st;
}

void eds_signer_close(eds_signer *s)
{
	if (!s || !s->ops)
		return;
	if (s->ops->destroy)
		s->ops->destroy(s->ctx);
	s->ops = NULL;
	s->ctx = NULL;
}
