/*
 * key_json.c - the edgesentry-rs key file (COMPAT.md):
 *
 *   {
 *     "private_key_hex": "<64 hex: the 32-byte Ed25519 seed>",
 *     "public_key_hex": "<64 hex>"
 *   }
 *
 * Read by hand rather than with jansson: jansson copies every string into
 * heap buffers that it frees without wiping, which would leave the seed in
 * freed memory.  The grammar is the subset of JSON such a file uses: one
 * object of two string members (any order, any JSON whitespace), strings
 * without escapes.  Anything else is refused.
 */
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "edgesentry/encoding.h"
#include "edgesentry/key.h"
#include "internal.h"
#include "key_internal.h"

typedef struct {
	const char *s;
	size_t len, pos;
} cursor;

typedef struct {
	const char *p;
	size_t len;
} span;

static void skip_ws(cursor *c)
{
	while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
	                           c->s[c->pos] == '\r' || c->s[c->pos] == '\n'))
		c->pos++;
}

static eds_status expect_char(cursor *c, char ch)
{
	skip_ws(c);
	if (c->pos >= c->len || c->s[c->pos] != ch)
		return eds_fail(EDS_E_MALFORMED, "key JSON: expected '%c' at byte %zu", ch, c->pos);
	c->pos++;
	return EDS_OK;
}

static eds_status read_string(cursor *c, span *out)
{
	eds_status st = expect_char(c, '"');
	if (st != EDS_OK)
		return st;
	size_t start = c->pos;
	for (; c->pos < c->len && c->s[c->pos] != '"'; c->pos++) {
		unsigned char ch = (unsigned char)c->s[c->pos];
		if (ch == '\\' || ch < 0x20)
			return eds_fail(EDS_E_MALFORMED,
			                "key JSON: byte %zu: escapes and control characters do not "
			                "belong in a key file",
			                c->pos);
	}
	if (c->pos >= c->len)
		return eds_fail(EDS_E_MALFORMED, "key JSON: unterminated string");
	out->p = c->s + start;
	out->len = c->pos - start;
	c->pos++;
	return EDS_OK;
}

static bool span_is(span s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

/* One "name": "value" member into the slot its name selects. */
static eds_status read_member(cursor *c, span *seed_hex, span *public_hex)
{
	span name = {NULL, 0}, value = {NULL, 0};
	eds_status st;
	if ((st = read_string(c, &name)) != EDS_OK || (st = expect_char(c, ':')) != EDS_OK ||
	    (st = read_string(c, &value)) != EDS_OK)
		return st;
	span *slot = span_is(name, "private_key_hex")  ? seed_hex
	             : span_is(name, "public_key_hex") ? public_hex
	                                               : NULL;
	if (slot == NULL)
		return eds_fail(EDS_E_MALFORMED, "key JSON: unknown member (only private_key_hex "
		                                 "and public_key_hex are allowed)");
	if (slot->p != NULL)
		return eds_fail(EDS_E_MALFORMED, "key JSON: duplicate member \"%.*s\"",
		                (int)name.len, name.p);
	*slot = value;
	return EDS_OK;
}

static eds_status read_object(cursor *c, span *seed_hex, span *public_hex)
{
	eds_status st = expect_char(c, '{');
	for (bool more = true; st == EDS_OK && more;) {
		if ((st = read_member(c, seed_hex, public_hex)) != EDS_OK)
			return st;
		skip_ws(c);
		if (c->pos < c->len && c->s[c->pos] == ',')
			c->pos++;
		else if ((st = expect_char(c, '}')) == EDS_OK)
			more = false;
	}
	if (st != EDS_OK)
		return st;
	skip_ws(c);
	if (c->pos != c->len)
		return eds_fail(EDS_E_MALFORMED, "key JSON: text after the object at byte %zu",
		                c->pos);
	if (seed_hex->p == NULL || public_hex->p == NULL)
		return eds_fail(EDS_E_MALFORMED,
		                "key JSON: private_key_hex and public_key_hex are both required");
	return EDS_OK;
}

/* The seed's key pair, refused unless its public half is the one stated. */
static eds_status key_from_hex_pair(eds_secret_key *sk, span seed_hex, span public_hex)
{
	uint8_t seed[32];
	eds_public_key stated;
	eds_status st = eds_public_key_from_hex(&stated, public_hex.p, public_hex.len);
	if (st != EDS_OK)
		return eds_fail_prefix(st, "key JSON: public_key_hex");
	if (eds_hex_decode(seed, sizeof seed, seed_hex.p, seed_hex.len) != EDS_OK)
		st = eds_fail(EDS_E_MALFORMED, "key JSON: private_key_hex must be 64 hex "
		                               "characters (a 32-byte Ed25519 seed)");
	else
		st = eds_secret_key_from_seed(sk, seed);
	sodium_memzero(seed, sizeof seed);
	if (st == EDS_OK && sodium_memcmp(stated.bytes, sk->bytes + 32, sizeof stated.bytes) != 0) {
		eds_secret_key_wipe(sk);
		st = eds_fail(EDS_E_KEY, "key JSON: public_key_hex is not the public key of "
		                         "private_key_hex");
	}
	return st;
}

eds_status eds_key_from_legacy_json(eds_secret_key *sk, const char *json, size_t len)
{
	cursor c = {json, len, 0};
	span seed_hex = {NULL, 0}, public_hex = {NULL, 0};
	if (sk == NULL || json == NULL)
		return eds_fail(EDS_E_ARG, "key: NULL argument");
	if (len > EDS_KEY_FILE_MAX)
		return eds_fail(EDS_E_LIMIT, "key JSON: %zu bytes, limit is %d", len,
		                EDS_KEY_FILE_MAX);
	eds_status st = read_object(&c, &seed_hex, &public_hex);
	if (st != EDS_OK)
		return st;
	return key_from_hex_pair(sk, seed_hex, public_hex);
}
