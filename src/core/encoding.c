/*
 * encoding.c - hex encoding shared by JSON, keys and the CLI.
 */
#include "edgesentry/encoding.h"
#include "internal.h"

void eds_hex_encode(char *out, const uint8_t *bin, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * len] = '\0';
}

/* Digit values + 1 (0: not a hex digit): a table, as record reading decodes
 * four hex fields per record and branches per character showed in profiles. */
static const uint8_t hex_table[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int hex_value(char c)
{
	return (int)hex_table[(unsigned char)c] - 1;
}

eds_status eds_hex_decode(uint8_t *out, size_t len, const char *hex, size_t hex_len)
{
	if (out == NULL || hex == NULL)
		return eds_fail(EDS_E_ARG, "hex: NULL argument");
	/* len > SIZE_MAX / 2 would wrap 2 * len and let a short string through. */
	if (len > SIZE_MAX / 2 || hex_len != 2 * len)
		return eds_fail(EDS_E_MALFORMED, "expected %zu hex characters, got %zu", 2 * len,
		                hex_len);
	for (size_t i = 0; i < len; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return eds_fail(EDS_E_MALFORMED, "invalid hex character at position %zu",
			                hi < 0 ? 2 * i : 2 * i + 1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return EDS_OK;
}
