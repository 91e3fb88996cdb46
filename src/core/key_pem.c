/*
 * key_pem.c - PEM (RFC 7468) armour around the RFC 8410 DER forms of Ed25519
 * keys: PKCS#8 for secret keys, SubjectPublicKeyInfo for public keys, byte
 * for byte what `openssl genpkey -algorithm ed25519` and `openssl pkey
 * -pubout` write.
 *
 * An Ed25519 key has exactly one DER encoding in each form (a fixed prefix
 * followed by 32 key bytes), so DER is checked by comparing against that
 * prefix instead of by a general ASN.1 parser: nothing else can be
 * accepted, and there is no parser to get wrong.
 */
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "edgesentry/ed25519.h"
#include "edgesentry/key.h"
#include "internal.h"
#include "key_internal.h"

/* SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } } */
static const uint8_t pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                         0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
/* SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (no unused bits, 32 bytes) } */
static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

#define PKCS8_LEN (sizeof pkcs8_prefix + 32)
#define SPKI_LEN  (sizeof spki_prefix + 32)
/* A body decoding to more than this is some other kind of key; refusing it
 * before decoding keeps the DER buffer small and fixed. */
#define DER_MAX  96
#define B64_LINE 64

enum pem_kind { PEM_SECRET = 1, PEM_PUBLIC = 2 };

typedef struct {
	const char *p;
	size_t len;
} span;

static const char *kind_label(int kind)
{
	return kind == PEM_SECRET ? "PRIVATE KEY" : "PUBLIC KEY";
}

static bool span_is(span s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

/* Next line from *pos, without its "\n" and without trailing spaces, tabs
 * and "\r" (so CRLF files and trailing blanks are read like clean ones). */
static bool next_line(const char *text, size_t len, size_t *pos, span *line)
{
	if (*pos >= len)
		return false;
	const char *start = text + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;
	*pos += n + (nl != NULL);
	while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t' || start[n - 1] == '\r'))
		n--;
	line->p = start;
	line->len = n;
	return true;
}

/* When l is "-----WHAT LABEL-----", the LABEL part. */
static bool armour_label(span l, const char *what, span *label)
{
	size_t wl = strlen(what);
	if (l.len < 11 + wl || memcmp(l.p, "-----", 5) != 0 || memcmp(l.p + 5, what, wl) != 0 ||
	    l.p[5 + wl] != ' ' || memcmp(l.p + l.len - 5, "-----", 5) != 0)
		return false;
	label->p = l.p + 6 + wl;
	label->len = l.len - 11 - wl;
	return true;
}

static bool is_armour(span l, const char *what, const char *label)
{
	span got;
	return armour_label(l, what, &got) && span_is(got, label);
}

/* Printable ASCII only, so a hostile label cannot put control bytes into a message. */
static bool printable(span s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < 0x20 || s.p[i] > 0x7e)
			return false;
	return s.len <= 40;
}

static eds_status parse_begin(span l, int kinds, int *kind)
{
	static const char *const want[] = {
	    "", "\"-----BEGIN PRIVATE KEY-----\"", "\"-----BEGIN PUBLIC KEY-----\"",
	    "\"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN PUBLIC KEY-----\""};
	span label;
	for (int k = PEM_SECRET; k <= PEM_PUBLIC; k++) {
		if ((kinds & k) && is_armour(l, "BEGIN", kind_label(k))) {
			*kind = k;
			return EDS_OK;
		}
	}
	if (!armour_label(l, "BEGIN", &label))
		return eds_fail(EDS_E_MALFORMED, "PEM line 1: expected %s", want[kinds]);
	if ((kinds & PEM_SECRET) && span_is(label, "ENCRYPTED PRIVATE KEY"))
		return eds_fail(EDS_E_KEY, "PEM: encrypted private keys are not supported; decrypt "
		                           "it with 'openssl pkey -in FILE -out NEWFILE'");
	if (!printable(label))
		return eds_fail(EDS_E_MALFORMED, "PEM line 1: unexpected label, expected %s",
		                want[kinds]);
	return eds_fail(EDS_E_MALFORMED, "PEM line 1: label \"%.*s\", expected %s", (int)label.len,
	                label.p, want[kinds]);
}

static bool is_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

static eds_status check_body_line(span l, size_t lineno)
{
	if (l.len == 0)
		return eds_fail(EDS_E_MALFORMED, "PEM line %zu: empty line inside the base64 body",
		                lineno);
	for (size_t i = 0; i < l.len; i++) {
		unsigned char c = (unsigned char)l.p[i];
		if (is_base64_char((char)c))
			continue;
		if (c >= 0x20 && c < 0x7f)
			return eds_fail(EDS_E_MALFORMED,
			                "PEM line %zu, column %zu: '%c' is not a base64 character",
			                lineno, i + 1, c);
		return eds_fail(EDS_E_MALFORMED,
		                "PEM line %zu, column %zu: byte 0x%02x is not a base64 character",
		                lineno, i + 1, c);
	}
	return EDS_OK;
}

static eds_status decode_body(span body, size_t chars, uint8_t der[DER_MAX], size_t *der_len)
{
	if (chars == 0)
		return eds_fail(EDS_E_MALFORMED, "PEM: no base64 body between BEGIN and END");
	if (chars > 4 * ((DER_MAX + 2) / 3))
		return eds_fail(EDS_E_KEY,
		                "not an Ed25519 key (the PEM body holds about %zu bytes; an "
		                "Ed25519 key is %zu or %zu)",
		                chars / 4 * 3, SPKI_LEN, PKCS8_LEN);
	/* Spaces can only be trailing ones here: check_body_line allowed no others. */
	if (sodium_base642bin(der, DER_MAX, body.p, body.len, " \t\r\n", der_len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return eds_fail(EDS_E_MALFORMED, "PEM: bad base64 (wrong length, padding or "
		                                 "trailing bits)");
	return EDS_OK;
}

/* Decode a PEM text whose label is one of `kinds` into its DER bytes. */
static eds_status pem_decode(const char *text, size_t len, int kinds, int *kind,
                             uint8_t der[DER_MAX], size_t *der_len)
{
	size_t pos = 0, lineno = 1, chars = 0;
	span l;
	if (len > EDS_KEY_FILE_MAX)
		return eds_fail(EDS_E_LIMIT, "PEM: %zu bytes, limit is %d", len, EDS_KEY_FILE_MAX);
	if (!next_line(text, len, &pos, &l))
		return eds_fail(EDS_E_MALFORMED, "PEM: empty input");
	eds_status st = parse_begin(l, kinds, kind);
	if (st != EDS_OK)
		return st;
	span body = {text + pos, 0};
	for (;;) {
		lineno++;
		if (!next_line(text, len, &pos, &l))
			return eds_fail(EDS_E_MALFORMED, "PEM: no \"-----END %s-----\" line",
			                kind_label(*kind));
		if (l.len >= 5 && memcmp(l.p, "-----", 5) == 0)
			break;
		if ((st = check_body_line(l, lineno)) != EDS_OK)
			return st;
		chars += l.len;
		body.len = (size_t)(l.p + l.len - body.p);
	}
	if (!is_armour(l, "END", kind_label(*kind)))
		return eds_fail(EDS_E_MALFORMED, "PEM line %zu: expected \"-----END %s-----\"",
		                lineno, kind_label(*kind));
	while (next_line(text, len, &pos, &l)) {
		lineno++;
		if (l.len != 0)
			return eds_fail(EDS_E_MALFORMED, "PEM line %zu: text after the END line",
			                lineno);
	}
	return decode_body(body, chars, der, der_len);
}

static eds_status secret_from_der(eds_secret_key *sk, const uint8_t *der, size_t n)
{
	if (n == PKCS8_LEN && memcmp(der, pkcs8_prefix, sizeof pkcs8_prefix) == 0)
		return eds_secret_key_from_seed(sk, der + sizeof pkcs8_prefix);
	/* RFC 5958 version 2 appends the public key.  OpenSSL 3.0 neither
	 * writes nor reads it for Ed25519, so accepting it would make files
	 * only we can read. */
	if (n > 5 && der[0] == 0x30 && der[2] == 0x02 && der[3] == 0x01 && der[4] == 0x01)
		return eds_fail(EDS_E_KEY, "PKCS#8: version 2 (with the public key) is not "
		                           "supported; use the 48-byte version 1 OpenSSL writes");
	return eds_fail(EDS_E_KEY,
	                "PKCS#8: not an Ed25519 key (%zu DER bytes; an Ed25519 key is the "
	                "48-byte RFC 8410 form)",
	                n);
}

static eds_status public_from_der(eds_public_key *pk, const uint8_t *der, size_t n)
{
	if (n != SPKI_LEN || memcmp(der, spki_prefix, sizeof spki_prefix) != 0)
		return eds_fail(EDS_E_KEY,
		                "SPKI: not an Ed25519 public key (%zu DER bytes; an Ed25519 key is "
		                "the 44-byte RFC 8410 form)",
		                n);
	memcpy(pk->bytes, der + sizeof spki_prefix, sizeof pk->bytes);
	return eds_ed25519_public_key_check(pk->bytes);
}

static eds_status pem_parse(const char *pem, size_t len, int kinds, eds_secret_key *sk,
                            bool *has_secret, eds_public_key *pk)
{
	uint8_t der[DER_MAX];
	size_t n = 0;
	int kind = 0;
	eds_status st = pem_decode(pem, len, kinds, &kind, der, &n);
	*has_secret = false;
	if (st == EDS_OK && kind == PEM_SECRET) {
		st = secret_from_der(sk, der, n);
		if (st == EDS_OK) {
			eds_secret_key_public(sk, pk);
			*has_secret = true;
		}
	} else if (st == EDS_OK) {
		st = public_from_der(pk, der, n);
	}
	sodium_memzero(der, sizeof der);
	return st;
}

eds_status eds_key_from_pem_any(const char *pem, size_t len, eds_secret_key *sk, bool *has_secret,
                                eds_public_key *pk)
{
	if (pem == NULL || sk == NULL || has_secret == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	return pem_parse(pem, len, PEM_SECRET | PEM_PUBLIC, sk, has_secret, pk);
}

eds_status eds_secret_key_from_pem(eds_secret_key *sk, const char *pem, size_t len)
{
	eds_public_key pk;
	bool has_secret;
	if (sk == NULL || pem == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	return pem_parse(pem, len, PEM_SECRET, sk, &has_secret, &pk);
}

eds_status eds_public_key_from_pem(eds_public_key *pk, const char *pem, size_t len)
{
	eds_secret_key unused;
	bool has_secret;
	if (pk == NULL || pem == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	return pem_parse(pem, len, PEM_PUBLIC, &unused, &has_secret, pk);
}

/* "-----BEGIN L-----\n", the base64 in lines of 64, "-----END L-----\n". */
static eds_status pem_encode(int kind, const uint8_t *der, size_t n, char *buf, size_t cap,
                             size_t *len)
{
	char b64[sodium_base64_ENCODED_LEN(DER_MAX, sodium_base64_VARIANT_ORIGINAL)];
	const char *label = kind_label(kind);
	if (buf == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	sodium_bin2base64(b64, sizeof b64, der, n, sodium_base64_VARIANT_ORIGINAL);
	size_t blen = strlen(b64), lines = (blen + B64_LINE - 1) / B64_LINE;
	size_t need = (strlen(label) + 17) + (blen + lines) + (strlen(label) + 15) + 1;
	if (need > cap) {
		sodium_memzero(b64, sizeof b64);
		if (cap > 0)
			buf[0] = '\0';
		return eds_fail(EDS_E_LIMIT, "PEM: buffer of %zu bytes, %zu needed", cap, need);
	}
	char *p = buf + snprintf(buf, cap, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < blen; i += B64_LINE) {
		size_t k = blen - i < B64_LINE ? blen - i : B64_LINE;
		memcpy(p, b64 + i, k);
		p += k;
		*p++ = '\n';
	}
	p += snprintf(p, cap - (size_t)(p - buf), "-----END %s-----\n", label);
	sodium_memzero(b64, sizeof b64);
	if (len != NULL)
		*len = (size_t)(p - buf);
	return EDS_OK;
}

eds_status eds_secret_key_to_pem(const eds_secret_key *sk, char *buf, size_t cap, size_t *len)
{
	uint8_t der[PKCS8_LEN];
	if (sk == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	memcpy(der, pkcs8_prefix, sizeof pkcs8_prefix);
	memcpy(der + sizeof pkcs8_prefix, sk->bytes, 32);
	eds_status st = pem_encode(PEM_SECRET, der, sizeof der, buf, cap, len);
	sodium_memzero(der, sizeof der);
	return st;
}

eds_status eds_public_key_to_pem(const eds_public_key *pk, char *buf, size_t cap, size_t *len)
{
	uint8_t der[SPKI_LEN];
	if (pk == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	memcpy(der, spki_prefix, sizeof spki_prefix);
	memcpy(der + sizeof spki_prefix, pk->bytes, sizeof pk->bytes);
	return pem_encode(PEM_PUBLIC, der, sizeof der, buf, cap, len);
}
