/*
 * test_encoding.c - hex encoding and decoding (include/edgesentry/encoding.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edgesentry/encoding.h"
#include "test_support.h"

static void encode_is_lowercase_and_terminated(void **state)
{
	(void)state;
	static const uint8_t bin[] = {0x00, 0x01, 0x9a, 0xff};
	char out[2 * sizeof bin + 2];
	memset(out, 'x', sizeof out);
	eds_hex_encode(out, bin, sizeof bin);
	assert_string_equal(out, "00019aff");
	assert_int_equal(out[sizeof out - 1], 'x'); /* nothing past the NUL */
	eds_hex_encode(out, bin, 0);
	assert_string_equal(out, "");
}

static void decode_accepts_either_case(void **state)
{
	(void)state;
	uint8_t out[4];
	assert_int_equal(eds_hex_decode(out, 4, "DeadBEEF", 8), EDS_OK);
	assert_memory_equal(out, ((uint8_t[]){0xde, 0xad, 0xbe, 0xef}), 4);
	assert_int_equal(eds_hex_decode(out, 0, "", 0), EDS_OK);
}

static void decode_rejects_bad_text(void **state)
{
	(void)state;
	uint8_t out[2];
	assert_int_equal(eds_hex_decode(out, 2, "abc", 3), EDS_E_MALFORMED);
	assert_int_equal(eds_hex_decode(out, 2, "abcdef", 6), EDS_E_MALFORMED);
	assert_int_equal(eds_hex_decode(out, 2, "ab g", 4), EDS_E_MALFORMED);
	assert_non_null(strstr(eds_last_error(), "position 2"));
	assert_int_equal(eds_hex_decode(out, 2, "0x01", 4), EDS_E_MALFORMED);
	assert_int_equal(eds_hex_decode(out, 1,
	                                "\0"
	                                "1",
	                                2),
	                 EDS_E_MALFORMED);
	assert_int_equal(eds_hex_decode(NULL, 1, "00", 2), EDS_E_ARG);
	assert_int_equal(eds_hex_decode(out, 1, NULL, 2), EDS_E_ARG);
}

/* A length whose double wraps to 0 must not match hex_len 0: that would let
 * the loop decode "0000" past the end of out (ASan reports it). */
static void decode_rejects_wrapping_length(void **state)
{
	(void)state;
	uint8_t out[1];
	assert_int_equal(eds_hex_decode(out, SIZE_MAX / 2 + 1, "0000", 0), EDS_E_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(encode_is_lowercase_and_terminated),
	    cmocka_unit_test(decode_accepts_either_case),
	    cmocka_unit_test(decode_rejects_bad_text),
	    cmocka_unit_test(decode_rejects_wrapping_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
