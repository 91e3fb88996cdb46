/*
 * test_record_file.c - record files: the streaming reader on JSON Lines and
 * on arrays (compact and pretty-printed), blank lines, CRLF, truncation,
 * oversized lines (refused without reading them whole), garbage; the
 * one-record loader; durable appends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/edgesentry.h"
#include "record_internal.h"
#include "test_support.h"

#define N_REC 5
static eds_record chain[N_REC];
static char json[N_REC][EDS_RECORD_JSON_MAX];

/* A signed chain; record 3 has an object_ref full of JSON punctuation. */
static void make_chain(void)
{
	uint8_t seed[32], prev[32];
	eds_secret_key sk;
	memset(seed, 3, sizeof seed);
	assert_int_equal(eds_secret_key_from_seed(&sk, seed), EDS_OK);
	for (int i = 0; i < N_REC; i++) {
		char ref[64], payload[32];
		snprintf(ref, sizeof ref, i == 2 ? "odd/]}\"[{\\\"/,%d" : "dev-1/%d.bin", i + 1);
		snprintf(payload, sizeof payload, "reading %d", i + 1);
		assert_int_equal(eds_record_init(&chain[i], "dev-1", (uint64_t)i + 1,
		                                 1700000000000ULL + (uint64_t)i,
		                                 (const uint8_t *)payload, strlen(payload),
		                                 i > 0 ? prev : NULL, ref),
		                 EDS_OK);
		assert_int_equal(eds_record_sign(&chain[i], &sk), EDS_OK);
		assert_int_equal(eds_record_compute_hash(&chain[i], prev), EDS_OK);
		assert_int_equal(eds_record_to_json(&chain[i], json[i], sizeof json[i], NULL),
		                 EDS_OK);
	}
	eds_secret_key_wipe(&sk);
}

static const char *write_text(const char *name, const char *text, size_t len)
{
	const char *path = test_dir_path(name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Join the records' JSON with sep between them, head before and tail after. */
static char *join(const char *head, const char *sep, const char *tail, int n)
{
	size_t cap = strlen(head) + strlen(tail) + (size_t)n * (EDS_RECORD_JSON_MAX + strlen(sep));
	char *out = malloc(cap + 1);
	size_t len = (size_t)sprintf(out, "%s", head);
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s%s", i ? sep : "", json[i]);
	sprintf(out + len, "%s", tail);
	return out;
}

/* Read path to the end; every record must equal the chain; returns the count. */
static int read_all(const char *path, eds_status *end, uint64_t lines[N_REC])
{
	eds_record_reader *rd;
	eds_record r;
	eds_status st;
	int n = 0;
	assert_int_equal(eds_record_reader_open(&rd, path), EDS_OK);
	while ((st = eds_record_reader_next(rd, &r)) == EDS_OK) {
		assert_true(n < N_REC);
		assert_memory_equal(&r, &chain[n], sizeof r);
		assert_int_equal(eds_record_reader_index(rd), (uint64_t)n);
		if (lines != NULL)
			lines[n] = eds_record_reader_line(rd);
		n++;
	}
	if (st == EDS_DONE)
		assert_int_equal(eds_record_reader_offset(rd), eds_record_reader_size(rd));
	*end = st;
	eds_record_reader_close(rd);
	return n;
}

/* The form the reader detects for text (after its first record). */
static int is_array(const char *text)
{
	eds_record_reader *rd;
	eds_record r;
	assert_int_equal(eds_record_reader_open(&rd, write_text("form", text, strlen(text))),
	                 EDS_OK);
	assert_int_equal(eds_record_reader_is_array(rd), 0);
	eds_record_reader_next(rd, &r);
	int yes = eds_record_reader_is_array(rd);
	eds_record_reader_close(rd);
	return yes;
}

static void test_form(void **state)
{
	(void)state;
	char *text = join("\n[", ",", "]", 2);
	assert_true(is_array(text));
	free(text);
	text = join("\n", "\n", "\n", 2);
	assert_false(is_array(text));
	free(text);
	assert_true(is_array(" []"));
	assert_false(is_array(""));
	assert_false(eds_record_reader_is_array(NULL));
}

static void expect_records(const char *name, const char *text, int want)
{
	eds_status st;
	const char *path = write_text(name, text, strlen(text));
	int n = read_all(path, &st, NULL);
	if (st != EDS_DONE)
		fail_msg("%s: %s", name, eds_last_error());
	assert_int_equal(n, want);
}

/* The file must yield `good` records, then fail with want and "NAME:LINE: ...text". */
static void expect_error(const char *name, const char *text, size_t len, int good, eds_status want,
                         uint64_t line, const char *msg)
{
	eds_status st;
	char prefix[4200];
	const char *path = write_text(name, text, len);
	snprintf(prefix, sizeof prefix, "%s:%llu: ", path, (unsigned long long)line);
	int n = read_all(path, &st, NULL);
	if (n != good || st != want || strncmp(eds_last_error(), prefix, strlen(prefix)) != 0 ||
	    strstr(eds_last_error(), msg) == NULL)
		fail_msg("%s: %d records then %d '%s'; want %d then %d '%s...%s'", name, n, st,
		         eds_last_error(), good, want, prefix, msg);
}

static void test_json_lines(void **state)
{
	(void)state;
	eds_status st;
	uint64_t lines[N_REC];
	char *text = join("", "\n", "\n", N_REC);
	int n = read_all(write_text("a.jsonl", text, strlen(text)), &st, lines);
	assert_int_equal(st, EDS_DONE);
	assert_int_equal(n, N_REC);
	assert_int_equal(lines[0], 1);
	assert_int_equal(lines[4], 5);
	free(text);

	/* No final newline; blank and whitespace-only lines; CRLF. */
	text = join("", "\n", "", N_REC);
	expect_records("b.jsonl", text, N_REC);
	free(text);
	text = join("\n\n  \t\n", "\r\n\r\n \r\n", "\r\n\n", N_REC);
	n = read_all(write_text("c.jsonl", text, strlen(text)), &st, lines);
	assert_int_equal(st, EDS_DONE);
	assert_int_equal(n, N_REC);
	assert_int_equal(lines[0], 4);
	assert_int_equal(lines[1], 7);
	free(text);
	expect_records("empty.jsonl", "", 0);
	expect_records("blank.jsonl", "\n \n\r\n", 0);

	/* A bad record on line 3: the detail names the file, the line and the field. */
	text = join("", "\n", "\n", 2);
	char *bad = malloc(strlen(text) + strlen(json[2]) + 100);
	sprintf(bad, "%s{\"format\":\"ESR1\",\"sequence\":\"3\"}\n%s\n", text, json[2]);
	expect_error("bad.jsonl", bad, strlen(bad), 2, EDS_E_FIELD, 3, "device_id: missing");
	free(bad);
	/* A torn last line (cut in the middle of a record). */
	bad = join("", "\n", "", 3);
	bad[strlen(bad) - 40] = '\0';
	expect_error("torn.jsonl", bad, strlen(bad), 2, EDS_E_MALFORMED, 3, "JSON:");
	free(bad);
	free(text);
	/* A record that is an array on a line of its own is not a record. */
	expect_error("arr-line.jsonl", "\n {\"a\":1}\n", 10, 0, EDS_E_FIELD, 2, "unknown key");
}

static void test_arrays(void **state)
{
	(void)state;
	eds_status st;
	uint64_t lines[N_REC];
	char *text = join("[", ",", "]", N_REC);
	expect_records("a.json", text, N_REC);
	free(text);
	text = join("\n\n  [ ", " ,\r\n\t", " \n]\n\n", N_REC);
	int n = read_all(write_text("b.json", text, strlen(text)), &st, lines);
	assert_int_equal(st, EDS_DONE);
	assert_int_equal(n, N_REC);
	assert_int_equal(lines[0], 3);
	assert_int_equal(lines[1], 4);
	free(text);
	expect_records("empty.json", "[]", 0);
	expect_records("empty2.json", " \n[ \n ]\n", 0);

	/* Pretty-printed by jansson (indent 2 and 8): each element starts on its own line. */
	json_t *arr = json_array();
	for (int i = 0; i < N_REC; i++)
		json_array_append_new(arr, json_loads(json[i], 0, NULL));
	for (int indent = 2; indent <= 8; indent += 6) {
		char *pretty = json_dumps(arr, JSON_INDENT(indent) | JSON_PRESERVE_ORDER);
		n = read_all(write_text("pretty.json", pretty, strlen(pretty)), &st, lines);
		assert_int_equal(st, EDS_DONE);
		assert_int_equal(n, N_REC);
		assert_int_equal(lines[0], 2);
		assert_int_equal(lines[1], 2 + 12);
		free(pretty);
	}
	json_decref(arr);
}

static void test_array_errors(void **state)
{
	(void)state;
	char *text = join("[", ",", "", 2);
	expect_error("open.json", text, strlen(text), 2, EDS_E_MALFORMED, 1, "truncated");
	free(text);
	text = join("[\n", ",\n", ",\n", 2);
	expect_error("comma.json", text, strlen(text), 2, EDS_E_MALFORMED, 4, "truncated");
	free(text);
	text = join("[\n", ",\n", "\n,]", 2);
	expect_error("trailing-comma.json", text, strlen(text), 2, EDS_E_MALFORMED, 4,
	             "expected a record");
	free(text);
	/* An element cut off: the line named is where the element starts. */
	text = join("[\n", ",\n", "", 2);
	text[strlen(text) - 10] = '\0';
	expect_error("cut.json", text, strlen(text), 1, EDS_E_MALFORMED, 3, "not closed");
	free(text);
	text = join("[", "", "]", 2);
	expect_error("no-comma.json", text, strlen(text), 1, EDS_E_MALFORMED, 1,
	             "expected ',' or ']'");
	free(text);
	text = join("[", ",", "]\n\n x", 2);
	expect_error("after.json", text, strlen(text), 2, EDS_E_MALFORMED, 3,
	             "unexpected data after the array");
	free(text);
	text = join("[", ",", "]]", 1);
	expect_error("after2.json", text, strlen(text), 1, EDS_E_MALFORMED, 1, "after the array");
	free(text);
	/* Nested garbage and non-objects. */
	expect_error("nested.json", "[[[{}]]]", 8, 0, EDS_E_MALFORMED, 1, "expected a record");
	expect_error("num.json", "[1,2]", 5, 0, EDS_E_MALFORMED, 1, "expected a record");
	expect_error("str.json", "[\"{\"]", 5, 0, EDS_E_MALFORMED, 1, "expected a record");
	expect_error("obj.json", "[{\"a\":[1,{\"b\":\"]\"}]}]", 21, 0, EDS_E_FIELD, 1,
	             "unknown key \"a\"");
	expect_error("brackets.json", "[{]}]", 5, 0, EDS_E_MALFORMED, 1, "JSON:");
	expect_error("open-str.json", "[{\"a\":\"]}]", 10, 0, EDS_E_MALFORMED, 1, "not closed");
	expect_error("only.json", "[", 1, 0, EDS_E_MALFORMED, 1, "truncated");
	expect_error("only2.json", "\n\n[\n\n", 5, 0, EDS_E_MALFORMED, 5, "truncated");
}

/* A file of one huge line: refused with EDS_E_LIMIT after reading little of it. */
static void huge_line(const char *name, const char *head, size_t size, const char *msg)
{
	eds_record_reader *rd;
	eds_record r;
	char *text = malloc(size + 1);
	size_t hl = strlen(head);
	memcpy(text, head, hl);
	memset(text + hl, 'x', size - hl);
	text[hl + 1] = '"';
	text[size - 2] = '"';
	text[size - 1] = '}';
	const char *path = write_text(name, text, size);
	free(text);
	assert_int_equal(eds_record_reader_open(&rd, path), EDS_OK);
	assert_int_equal(eds_record_reader_size(rd), size);
	assert_int_equal(eds_record_reader_next(rd, &r), EDS_E_LIMIT);
	assert_non_null(strstr(eds_last_error(), msg));
	assert_non_null(strstr(eds_last_error(), ":1: "));
	/* At most a few chunks were read, not 10 MB. */
	assert_true(eds_record_reader_offset(rd) <= 3 * 65536);
	assert_int_equal(eds_record_reader_next(rd, &r), EDS_E_ARG);
	eds_record_reader_close(rd);
}

static void test_limits(void **state)
{
	(void)state;
	huge_line("huge.jsonl", "{\"object_ref\":", 10 * 1024 * 1024, "line longer than 65536");
	huge_line("huge.json", "[{\"object_ref\":", 10 * 1024 * 1024,
	          "array element longer than 65536");

	/* Exactly 65536 bytes is within the line limit (then over the record limit). */
	char *text = malloc(70000);
	memset(text, ' ', 70000);
	memcpy(text, json[0], strlen(json[0]));
	text[65536] = '\n';
	expect_error("max.jsonl", text, 65537, 0, EDS_E_LIMIT, 1, "limit is 8192");
	text[65536] = ' ';
	text[65537] = '\n';
	expect_error("over.jsonl", text, 65538, 0, EDS_E_LIMIT, 1, "line longer than 65536");
	/* With CRLF, the '\r' does not count. */
	text[65536] = '\r';
	expect_error("crlf.jsonl", text, 65538, 0, EDS_E_LIMIT, 1, "limit is 8192");
	/* Whitespace inside an element (here 5000 blanks after each comma, ~45 KB) is
	 * dropped before parsing, so the record stays within its 8192-byte limit. */
	size_t n = 0;
	text[n++] = '[';
	for (const char *c = json[0]; *c; c++) {
		text[n++] = *c;
		if (*c == ',') {
			memset(text + n, ' ', 5000);
			n += 5000;
		}
	}
	text[n++] = ']';
	text[n] = '\0';
	assert_true(n > 40000 && n < 65536);
	expect_records("spaced.json", text, 1);
	free(text);
}

static void test_open_errors(void **state)
{
	(void)state;
	eds_record_reader *rd = NULL;
	assert_int_equal(eds_record_reader_open(&rd, test_dir_path("missing")), EDS_E_NOT_FOUND);
	assert_non_null(strstr(eds_last_error(), "missing"));
	assert_null(rd);
	assert_int_equal(eds_record_reader_open(&rd, test_dir), EDS_E_IO);
	assert_int_equal(eds_record_reader_open(NULL, test_dir), EDS_E_ARG);
	assert_int_equal(eds_record_reader_next(NULL, NULL), EDS_E_ARG);
	eds_record_reader_close(NULL);
}

static void test_stdin(void **state)
{
	(void)state;
	eds_record_reader *rd;
	eds_record r;
	char *text = join("", "\n", "\n", N_REC);
	const char *path = write_text("stdin.jsonl", text, strlen(text));
	int saved = dup(STDIN_FILENO), fd = open(path, O_RDONLY);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	assert_int_equal(eds_record_reader_open(&rd, "-"), EDS_OK);
	for (int i = 0; i < N_REC; i++) {
		assert_int_equal(eds_record_reader_next(rd, &r), EDS_OK);
		assert_memory_equal(&r, &chain[i], sizeof r);
	}
	assert_int_equal(eds_record_reader_next(rd, &r), EDS_DONE);
	eds_record_reader_close(rd);
	/* Standard input stays open for its owner. */
	assert_int_equal(fcntl(STDIN_FILENO, F_GETFD), 0);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	free(text);
}

static void expect_load(const char *name, const char *text, eds_status want, const char *msg)
{
	eds_record r;
	const char *path = write_text(name, text, strlen(text));
	eds_status st = eds_record_load(&r, path);
	if (st != want || (want == EDS_OK && memcmp(&r, &chain[0], sizeof r) != 0) ||
	    strstr(eds_last_error(), msg) == NULL)
		fail_msg("%s: got %d '%s', want %d '%s'", name, st, eds_last_error(), want, msg);
}

static void test_load_one(void **state)
{
	(void)state;
	char *text = join("", "", "\n", 1);
	expect_load("one.jsonl", text, EDS_OK, "");
	free(text);
	text = join("[\n", "", "\n]", 1);
	expect_load("one.json", text, EDS_OK, "");
	free(text);
	json_t *obj = json_loads(json[0], 0, NULL);
	char *pretty = json_dumps(obj, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	expect_load("pretty.json", pretty, EDS_OK, "");
	free(pretty);
	json_decref(obj);

	text = join("", "\n", "\n", 2);
	expect_load("two.jsonl", text, EDS_E_MALFORMED, "after the end of the first JSON value");
	assert_non_null(strstr(eds_last_error(), "two.jsonl: "));
	free(text);
	text = join("[", ",", "]", 2);
	expect_load("two.json", text, EDS_E_MALFORMED,
	            "an array of 2 records, expected exactly one");
	free(text);
	expect_load("zero.json", "[]", EDS_E_MALFORMED, "an array of 0 records");
	expect_load("empty.json", "", EDS_E_MALFORMED, "empty.json: JSON:");
	/* A stated record_hash that does not match: the path leads the detail. */
	text = join("", "", "", 1);
	char *h = strstr(text, "\"record_hash\":\"") + 15;
	*h = *h == '0' ? '1' : '0';
	expect_load("hash.json", text, EDS_E_HASH_MISMATCH, "hash.json: record_hash");
	free(text);

	char *big = malloc(EDS_RECORD_LINE_MAX + 10);
	memset(big, ' ', EDS_RECORD_LINE_MAX + 9);
	big[EDS_RECORD_LINE_MAX + 9] = '\0';
	expect_load("big.json", big, EDS_E_LIMIT, "limit");
	free(big);
	eds_record r;
	assert_int_equal(eds_record_load(&r, test_dir_path("absent.json")), EDS_E_NOT_FOUND);
	assert_int_equal(eds_record_load(NULL, "x"), EDS_E_ARG);
}

static char *slurp(const char *path)
{
	return test_read_file(path, NULL);
}

static void test_append(void **state)
{
	(void)state;
	struct stat sb;
	eds_status st;
	const char *p = test_dir_path("chain.jsonl");
	char path[4096];
	snprintf(path, sizeof path, "%s", p);
	unlink(path);
	mode_t mask = umask(022);
	for (int i = 0; i < 3; i++)
		assert_int_equal(eds_record_append(path, &chain[i]), EDS_OK);
	umask(mask);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	char *want = join("", "\n", "\n", 3);
	char *got = slurp(path);
	assert_string_equal(got, want);
	free(got);

	/* A torn last line gets a newline first; the new record starts its own line. */
	FILE *f = fopen(path, "ab");
	fputs("{\"format\":\"ES", f);
	fclose(f);
	assert_int_equal(eds_record_append(path, &chain[3]), EDS_OK);
	got = slurp(path);
	char *expect = malloc(strlen(want) + 2 * EDS_RECORD_JSON_MAX);
	sprintf(expect, "%s{\"format\":\"ES\n%s\n", want, json[3]);
	assert_string_equal(got, expect);
	assert_int_equal(read_all(path, &st, NULL), 3);
	assert_int_equal(st, EDS_E_MALFORMED);
	free(got);
	free(expect);
	free(want);

	eds_record bad = chain[0];
	bad.sequence = 0;
	assert_int_equal(eds_record_append(path, &bad), EDS_E_FIELD);
	assert_int_equal(eds_record_append(test_dir, &chain[0]), EDS_E_IO);
	assert_int_equal(eds_record_append(test_dir_path("no/such/dir"), &chain[0]), EDS_E_IO);
	assert_int_equal(eds_record_append(NULL, &chain[0]), EDS_E_ARG);
}

/* The hashed read gives each record's hash, whether its JSON states one or not. */
static void test_next_hashed(void **state)
{
	(void)state;
	char text[N_REC * EDS_RECORD_JSON_MAX];
	size_t len = 0;
	for (int i = 0; i < N_REC; i++) {
		const char *cut = strstr(json[i], ",\"record_hash\"");
		assert_non_null(cut);
		/* odd records without their record_hash key */
		size_t n = i % 2 ? (size_t)(cut - json[i]) : strlen(json[i]);
		len += (size_t)sprintf(text + len, "%.*s%s\n", (int)n, json[i], i % 2 ? "}" : "");
	}
	eds_record_reader *rd;
	eds_record r;
	uint8_t got[EDS_HASH_LEN], want[EDS_HASH_LEN];
	assert_int_equal(eds_record_reader_open(&rd, write_text("hashed.jsonl", text, len)),
	                 EDS_OK);
	for (int i = 0; i < N_REC; i++) {
		memset(got, 0, sizeof got);
		assert_int_equal(eds_record_reader_next_hashed(rd, &r, got), EDS_OK);
		assert_int_equal(eds_record_compute_hash(&chain[i], want), EDS_OK);
		assert_memory_equal(got, want, EDS_HASH_LEN);
	}
	assert_int_equal(eds_record_reader_next_hashed(rd, &r, got), EDS_DONE);
	eds_record_reader_close(rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_lines),   cmocka_unit_test(test_arrays),
	    cmocka_unit_test(test_array_errors), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_open_errors),  cmocka_unit_test(test_stdin),
	    cmocka_unit_test(test_load_one),     cmocka_unit_test(test_append),
	    cmocka_unit_test(test_form),         cmocka_unit_test(test_next_hashed),
	};
	if (eds_init() != EDS_OK)
		return 1;
	make_chain();
	return cmocka_run_group_tests(tests, test_dir_setup, test_dir_teardown);
}
