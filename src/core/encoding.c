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

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
