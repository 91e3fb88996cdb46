/*
 * utf8.c - strict UTF-8 validation for the text fields of records.
 */
#include <stdint.h>

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

int eds_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < len) {
		size_t n = seq_len(p[i]);
		if (n == 0 || n > len - i)
			return 0;
		for (size_t k = 1; k < n; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
		/* The second byte's range excludes overlongs (E0, F0), surrogates
		 * (ED) and code points above U+10FFFF (F4). */
		if (n >= 3) {
			uint8_t b0 = p[i], b1 = p[i + 1];
			if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F) ||
			    (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F))
				return 0;
		}
		i += n;
	}
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
