/*
 * utf8.c - strict UTF-8 validation for the text fields of records, and
 * one-line messages quoting outside text.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Length of the sequence started by lead byte b, or 0 when b cannot start one. */
static size_t seq_len(uint8_t b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF)
		return 3;
	if (b >= 0xF0 && b <= 0xF4)
		return 4;
	return 0;
}

/* Length of the well-formed sequence at p (left bytes there), or 0. */
static size_t valid_seq(const uint8_t *p, size_t left)
{
	size_t n = seq_len(p[0]);
	if (n == 0 || n > left)
		return 0;
	for (size_t k = 1; k < n; k++)
		if ((p[k] & 0xC0) != 0x80)
			return 0;
	/* The second byte's range excludes overlongs (E0, F0), surrogates
	 * (ED) and code points above U+10FFFF (F4). */
	if (n >= 3) {
		uint8_t b0 = p[0], b1 = p[1];
		if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) ||
		    (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F))
			return 0;
	}
	return n;
}

int eds_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	for (size_t i = 0, n; i < len; i += n)
		if ((n = valid_seq(p + i, len - i)) == 0)
			return 0;
	return 1;
}

int eds_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F)
			return 1;
	}
	return 0;
}

/* Drop a trailing sequence that a size limit cut short; returns the new length. */
static size_t drop_cut_tail(char *s, size_t len)
{
	size_t lead = len;
	while (lead > 0 && len - lead < 4 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	/* Ends in ASCII or in stray continuation bytes: nothing was cut. */
	if (lead == 0 || (unsigned char)s[lead - 1] < 0xc0)
		return len;
	size_t want = seq_len((uint8_t)s[lead - 1]);
	if (want != 0 && len - (lead - 1) >= want)
		return len;
	s[lead - 1] = '\0';
	return lead - 1;
}

void eds_one_line(char *s)
{
	uint8_t *p = (uint8_t *)s;
	size_t len = drop_cut_tail(s, strlen(s));
	for (size_t i = 0, n; i < len; i += n) {
		n = valid_seq(p + i, len - i);
		if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7F))) {
			p[i] = '?';
			n = 1;
		}
	}
}
