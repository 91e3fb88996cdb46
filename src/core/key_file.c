/*
 * key_file.c - key files: loading (PKCS#8 / SPKI PEM, edgesentry-rs key
 * JSON, raw hex specs) and saving (new files only, fsynced).
 *
 * FORMAT.md 2: a reader refuses a secret key file that group or others can
 * read.  The check applies to whatever file turns out to hold a secret,
 * including when only its public half was asked for: a readable secret is
 * already compromised and the user must hear about it.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/key.h"
#include "internal.h"
#include "key_internal.h"

/* Big enough for either PEM form (119 bytes for PKCS#8). */
#define PEM_BUF 256

eds_status eds_key_parse_text(const char *text, size_t len, eds_secret_key *sk, bool *has_secret,
                              eds_public_key *pk)
{
	size_t i = 0;
	if (text == NULL || sk == NULL || has_secret == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	*has_secret = false;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i == len || text[i] != '{')
		return eds_key_from_pem_any(text, len, sk, has_secret, pk);
	eds_status st = eds_key_from_legacy_json(sk, text, len);
	if (st == EDS_OK) {
		eds_secret_key_public(sk, pk);
		*has_secret = true;
	}
	return st;
}

static eds_status load_key_file(const char *path, eds_secret_key *sk, bool *has_secret,
                                eds_public_key *pk)
{
	char *text = NULL;
	size_t len = 0;
	unsigned mode = 0;
	eds_status st = eds_read_file_mode(path, EDS_KEY_FILE_MAX, &text, &len, &mode);
	if (st != EDS_OK)
		return st;
	st = eds_key_parse_text(text, len, sk, has_secret, pk);
	sodium_memzero(text, len);
	free(text);
	if (st != EDS_OK)
		return eds_fail_prefix(st, "%s", path);
	if (*has_secret && (mode & 077u) != 0) {
		eds_secret_key_wipe(sk);
		*has_secret = false;
		return eds_fail(EDS_E_PERM,
		                "%s: secret key file has mode %04o, so group or others can read "
		                "it; run chmod 600 %s",
		                path, mode, path);
	}
	return EDS_OK;
}

eds_status eds_secret_key_load(eds_secret_key *sk, const char *path)
{
	eds_public_key pk;
	bool has_secret = false;
	if (sk == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	eds_status st = load_key_file(path, sk, &has_secret, &pk);
	if (st == EDS_OK && !has_secret)
		return eds_fail(EDS_E_KEY, "%s: holds a public key, not a secret key", path);
	return st;
}

static bool is_hex_string(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

eds_status eds_public_key_load(eds_public_key *pk, const char *spec)
{
	eds_secret_key sk;
	bool has_secret = false;
	if (pk == NULL || spec == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	size_t n = strlen(spec);
	if (n == 2 * sizeof pk->bytes && is_hex_string(spec, n))
		return eds_public_key_from_hex(pk, spec, n);
	if (n == 0)
		return eds_fail(EDS_E_NOT_FOUND, "public key: empty key file name or hex");
	eds_status st = load_key_file(spec, &sk, &has_secret, pk);
	eds_secret_key_wipe(&sk);
	if (st == EDS_E_NOT_FOUND)
		return eds_fail(st, "%s: no such file, and not 64 hex characters", spec);
	return st;
}

eds_status eds_secret_key_save(const eds_secret_key *sk, const char *path)
{
	char pem[PEM_BUF];
	size_t len = 0;
	if (sk == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	eds_status st = eds_secret_key_to_pem(sk, pem, sizeof pem, &len);
	if (st == EDS_OK)
		st = eds_write_file_new(path, pem, len, 0600);
	sodium_memzero(pem, sizeof pem);
	return st;
}

eds_status eds_public_key_save(const eds_public_key *pk, const char *path)
{
	char pem[PEM_BUF];
	size_t len = 0;
	if (pk == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	eds_status st = eds_public_key_to_pem(pk, pem, sizeof pem, &len);
	if (st != EDS_OK)
		return st;
	return eds_write_file_new(path, pem, len, 0644);
}
