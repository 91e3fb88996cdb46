/*
 * test_error.c - failure details are one printable line whatever the input
 * they quote (regressions found by fuzz/fuzz_key_file, fuzz_netpolicy and
 * fuzz_http_body).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../src/net/http_internal.h"
#include "edgesentry/edgesentry.h"
#include "edgesentry/netpolicy.h"

static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A --pubkey value pasted with its newline used to split the error in two. */
static void control_bytes_quoted_as_question_marks(void **state)
{
	eds_public_key pk;
	eds_netpolicy *p;
	(void)state;
	assert_int_equal(eds_public_key_load(&pk, "no\nsuch\tkey"), EDS_E_NOT_FOUND);
	assert_false(has_control(eds_last_error()));
	assert_non_null(strstr(eds_last_error(), "no?such?key"));

	assert_int_equal(eds_netpolicy_new(&p), EDS_OK);
	assert_int_equal(eds_netpolicy_add_list(p, "10.0.0.1\n"), EDS_E_FIELD);
	assert_false(has_control(eds_last_error()));
	assert_non_null(strstr(eds_last_error(), "10.0.0.1?"));
	eds_netpolicy_free(p);
}

/* Text that may go into a JSON answer: one line, encodable (valid UTF-8). */
static void assert_json_line(const char *text)
{
	json_t *s = json_string(text); /* NULL for malformed UTF-8 */
	assert_non_null(s);
	json_decref(s);
	assert_false(has_control(text));
}

/*
 * The server answers a bad body with msg, quoting jansson's excerpt of it:
 * a control byte, then malformed UTF-8, used to reach the answer raw.
 */
static void http_body_messages_are_json_lines(void **state)
{
	static const char *const bodies[] = {"{\"itzms\"\x1a[]}", "{\"record\":{}}\xbd\xbd\xcf"};
	char msg[192];
	eds_http_batch b;
	(void)state;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		assert_int_equal(
		    eds_http_parse_records(bodies[i], strlen(bodies[i]), 8, &b, msg, sizeof msg),
		    EDS_E_MALFORMED);
		assert_non_null(strstr(msg, "not valid JSON"));
		assert_json_line(msg);
		assert_json_line(eds_last_error());
	}
}

/* The 511-byte limit must not leave half a UTF-8 sequence (JSON refuses it). */
static void cut_utf8_sequence_dropped(void **state)
{
	enum { N = 171 }; /* 171 x 3 bytes: the limit falls inside the last one */
	char spec[3 * N + 1];
	eds_public_key pk;
	(void)state;
	for (int i = 0; i < N; i++)
		memcpy(spec + 3 * i, "\xe2\x82\xac", 3); /* U+20AC */
	spec[3 * N] = '\0';
	assert_int_not_equal(eds_public_key_load(&pk, spec), EDS_OK);
	assert_int_equal(strlen(eds_last_error()), 3 * (N - 1));
	assert_memory_equal(eds_last_error(), spec, 3 * (N - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(control_bytes_quoted_as_question_marks),
	    cmocka_unit_test(http_body_messages_are_json_lines),
	    cmocka_unit_test(cut_utf8_sequence_dropped),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
