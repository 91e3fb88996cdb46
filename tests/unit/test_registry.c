/*
 * test_registry.c - the key registry (FORMAT.md 2): key rotation,
 * revocation, unknown devices, and every malformed registry refused with a
 * message naming the device, key and field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesentry/error.h"
#include "edgesentry/registry.h"
#include "test_support.h"

/* Three valid public keys: edgesentry-rs seed 01, RFC 8032 test 1, Wycheproof group 1. */
#define KA "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define KB "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KC "7d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3bdae369ef549fa"
/* y = 1: the neutral element, not a usable key. */
#define KBAD "0100000000000000000000000000000000000000000000000000000000000000"

#define KEY(hex, from)   "{\"public_key\": \"" hex "\", \"from_sequence\": " #from "}"
#define ONE_DEVICE(body) "{\"devices\": [" body "]}"

static eds_registry *parse_ok(const char *json)
{
	eds_registry *reg = NULL;
	eds_status st = eds_registry_parse(&reg, json, strlen(json));
	if (st != EDS_OK)
		fail_msg("registry refused (%d): %s", st, eds_last_error());
	return reg;
}

/* snprintf at *n, failing the test instead of overrunning. */
static void append(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < cap - *n);
	*n += (size_t)k;
}

static void assert_key(const eds_registry *reg, const char *id, uint64_t seq, const char *hex)
{
	eds_public_key pk;
	char got[65];
	eds_status st = eds_registry_lookup(reg, id, seq, &pk);
	if (st != EDS_OK)
		fail_msg("%s #%llu: %d %s", id, (unsigned long long)seq, st, eds_last_error());
	eds_public_key_to_hex(&pk, got);
	assert_string_equal(got, hex);
}

static void assert_lookup_fails(const eds_registry *reg, const char *id, uint64_t seq,
                                eds_status want, const char *phrase)
{
	eds_public_key pk;
	eds_status st = eds_registry_lookup(reg, id, seq, &pk);
	if (st != want || strstr(eds_last_error(), phrase) == NULL)
		fail_msg("%s #%llu: want %d \"%s\", got %d: %s", id, (unsigned long long)seq, want,
		         phrase, st, eds_last_error());
}

static void rotation(void **state)
{
	(void)state;
	eds_registry *reg = parse_ok(ONE_DEVICE(
	    "{\"device_id\": \"lift-01\", \"keys\": [" KEY(KA, 1) ", " KEY(KB, 5001) ", " KEY(
	        KC, 9007199254740991) "], \"revoked_from_sequence\": null},"
	                              "{\"device_id\": \"lift-02\", \"keys\": [" KEY(KC, 10) "]}"));
	assert_int_equal(eds_registry_device_count(reg), 2);
	assert_key(reg, "lift-01", 1, KA);
	assert_key(reg, "lift-01", 5000, KA);
	assert_key(reg, "lift-01", 5001, KB);
	assert_key(reg, "lift-01", 9007199254740990ull, KB);
	assert_key(reg, "lift-01", 9007199254740991ull, KC);
	assert_key(reg, "lift-02", 10, KC);
	assert_key(reg, "lift-02", 11, KC);
	assert_lookup_fails(
	    reg, "lift-02", 9, EDS_E_KEY,
	    "device lift-02 has no key for sequence 9 (its first key starts at 10)");
	assert_lookup_fails(reg, "lift-01", 0, EDS_E_KEY, "no key for sequence 0");
	eds_registry_free(reg);
}

/* Walking a registry: devices in id order with their input position, keys in order. */
static void walk(void **state)
{
	(void)state;
	eds_registry *reg =
	    parse_ok("{\"devices\": [{\"device_id\": \"z-1\", \"keys\": [" KEY(KA, 1) ", " KEY(
	        KB, 7) "], "
	               "\"revoked_from_sequence\": 9}, {\"device_id\": \"a-1\", \"keys\": [" KEY(
	                   KC, 1) "]}]}");
	eds_registry_device d;
	eds_public_key pk;
	uint64_t from = 0;
	char hex[65];
	assert_int_equal(eds_registry_device_at(reg, 0, &d), EDS_OK);
	assert_string_equal(d.device_id, "a-1");
	assert_true(d.index == 1 && d.key_count == 1 && d.revoked_from_sequence == 0);
	assert_int_equal(eds_registry_device_at(reg, 1, &d), EDS_OK);
	assert_string_equal(d.device_id, "z-1");
	assert_true(d.index == 0 && d.key_count == 2 && d.revoked_from_sequence == 9);
	assert_int_equal(eds_registry_key_at(reg, 1, 1, &pk, &from), EDS_OK);
	eds_public_key_to_hex(&pk, hex);
	assert_string_equal(hex, KB);
	assert_int_equal(from, 7);
	assert_int_equal(eds_registry_device_at(reg, 2, &d), EDS_E_ARG);
	assert_int_equal(eds_registry_key_at(reg, 0, 1, &pk, &from), EDS_E_ARG);
	assert_int_equal(eds_registry_key_at(reg, 2, 0, &pk, &from), EDS_E_ARG);
	assert_int_equal(eds_registry_device_at(NULL, 0, &d), EDS_E_ARG);
	eds_registry_free(reg);
}

/* Binary search over many keys: every boundary picks the right one. */
static void many_keys(void **state)
{
	(void)state;
	static const char *const hex[3] = {KA, KB, KC};
	size_t cap = EDS_REGISTRY_MAX_KEYS_PER_DEVICE * 160 + 100, n = 0;
	char *json = malloc(cap);
	assert_non_null(json);
	append(json, cap, &n, "{\"devices\": [{\"device_id\": \"d\", \"keys\": [");
	for (unsigned i = 0; i < EDS_REGISTRY_MAX_KEYS_PER_DEVICE; i++)
		append(json, cap, &n, "%s{\"public_key\": \"%s\", \"from_sequence\": %u}",
		       i ? "," : "", hex[i % 3], 1 + 10 * i);
	append(json, cap, &n, "]}]}");
	eds_registry *reg = parse_ok(json);
	for (unsigned i = 0; i < EDS_REGISTRY_MAX_KEYS_PER_DEVICE; i++) {
		assert_key(reg, "d", 1 + 10 * i, hex[i % 3]);
		assert_key(reg, "d", 10 + 10 * i, hex[i % 3]);
	}
	eds_registry_free(reg);
	free(json);
}

static void revocation(void **state)
{
	(void)state;
	eds_registry *reg = parse_ok(ONE_DEVICE("{\"device_id\": \"lift-01\", \"keys\": [" KEY(
	    KA, 1) ", " KEY(KB, 50) "], "
	                            "\"revoked_from_sequence\": 100},"
	                            "{\"device_id\": \"gone\", \"keys\": [" KEY(
	                                KA, 1) "], \"revoked_from_sequence\": 1}"));
	assert_key(reg, "lift-01", 99, KB);
	assert_lookup_fails(reg, "lift-01", 100, EDS_E_REVOKED,
	                    "device lift-01 is revoked from sequence 100 (got 100)");
	assert_lookup_fails(reg, "lift-01", 101, EDS_E_REVOKED, "revoked");
	assert_lookup_fails(reg, "gone", 1, EDS_E_REVOKED, "revoked from sequence 1");
	eds_registry_free(reg);
}

static void unknown_device(void **state)
{
	(void)state;
	eds_public_key pk;
	eds_registry *reg =
	    parse_ok(ONE_DEVICE("{\"device_id\": \"lift-01\", \"keys\": [" KEY(KA, 1) "]}"));
	assert_lookup_fails(reg, "lift-02", 1, EDS_E_UNKNOWN_DEVICE,
	                    "device lift-02 is not in the key registry");
	assert_lookup_fails(reg, "lift-0", 1, EDS_E_UNKNOWN_DEVICE, "lift-0 is not");
	assert_lookup_fails(reg, "lift-01x", 1, EDS_E_UNKNOWN_DEVICE, "not in the key registry");
	assert_lookup_fails(reg, "", 1, EDS_E_UNKNOWN_DEVICE, "not in the key registry");
	assert_lookup_fails(reg, "bad\nid", 1, EDS_E_UNKNOWN_DEVICE,
	                    "device is not in the key registry");
	assert_int_equal(eds_registry_lookup(reg, NULL, 1, &pk), EDS_E_ARG);
	assert_int_equal(eds_registry_lookup(reg, "lift-01", 1, NULL), EDS_E_ARG);
	assert_int_equal(eds_registry_lookup(NULL, "lift-01", 1, &pk), EDS_E_ARG);
	eds_registry_free(reg);
	eds_registry_free(NULL);
	assert_int_equal(eds_registry_device_count(NULL), 0);
}

static void empty_registry(void **state)
{
	(void)state;
	eds_registry *reg = parse_ok("{\"devices\": []}");
	assert_int_equal(eds_registry_device_count(reg), 0);
	assert_lookup_fails(reg, "lift-01", 1, EDS_E_UNKNOWN_DEVICE, "lift-01");
	eds_registry_free(reg);
}

/* Sorting and searching stay right across many devices given out of order. */
static void many_devices(void **state)
{
	(void)state;
	static const char *const hex[3] = {KA, KB, KC};
	const unsigned count = 20000;
	size_t cap = (size_t)count * 200 + 100, n = 0;
	char *json = malloc(cap), id[32];
	assert_non_null(json);
	append(json, cap, &n, "{\"devices\": [");
	for (unsigned i = 0; i < count; i++) {
		unsigned k = (i * 7919u) % count; /* a permutation: 7919 is prime */
		append(json, cap, &n,
		       "%s{\"device_id\": \"dev-%u\", \"keys\": [{\"public_key\": "
		       "\"%s\", \"from_sequence\": 1}]}",
		       i ? "," : "", k, hex[k % 3]);
	}
	append(json, cap, &n, "]}");
	eds_registry *reg = parse_ok(json);
	assert_int_equal(eds_registry_device_count(reg), count);
	for (unsigned k = 0; k < count; k++) {
		snprintf(id, sizeof id, "dev-%u", k);
		assert_key(reg, id, 1, hex[k % 3]);
	}
	assert_lookup_fails(reg, "dev-20000", 1, EDS_E_UNKNOWN_DEVICE, "dev-20000");
	eds_registry_free(reg);
	free(json);
}

/*
 * Past 2048 keys the curve points are checked in parallel (registry.c
 * check_points): the first invalid key in file order must still be the one
 * named, whichever thread finds which.
 */
static void parallel_point_check_names_first_bad_key(void **state)
{
	(void)state;
	const unsigned count = 6000;
	size_t cap = (size_t)count * 300 + 100, n = 0;
	char *json = malloc(cap);
	eds_registry *reg = NULL;
	assert_non_null(json);
	append(json, cap, &n, "{\"devices\": [");
	for (unsigned i = 0; i < count; i++)
		append(json, cap, &n, "%s{\"device_id\": \"dev-%u\", \"keys\": [%s, %s]}",
		       i ? "," : "", i, KEY(KA, 1),
		       i == 4321 || i == 5999 ? KEY(KBAD, 9) : KEY(KB, 9));
	append(json, cap, &n, "]}");
	assert_int_equal(eds_registry_parse(&reg, json, n), EDS_E_KEY);
	assert_null(reg);
	assert_string_equal(eds_last_error(), "devices[4321].keys[1].public_key: public key is "
	                                      "not a valid Ed25519 point");
	free(json);
}

/* What eds_registry_load_progress reported, call by call. */
typedef struct {
	size_t calls;
	eds_registry_phase phase[64];
	uint64_t done[64], total[64];
} progress_log;

static void log_progress(void *ctx, eds_registry_phase phase, uint64_t done, uint64_t total)
{
	progress_log *log = ctx;
	assert_true(log->calls < 64);
	log->phase[log->calls] = phase;
	log->done[log->calls] = done;
	log->total[log->calls++] = total;
}

/* A registry file of `count` devices with two keys each; key index i is KBAD
 * when i is bad_a or bad_b. */
static void write_two_key_registry(const char *path, unsigned count, size_t bad_a, size_t bad_b)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"devices\": [", f);
	for (size_t i = 0; i < count; i++) {
		const char *k0 = 2 * i == bad_a || 2 * i == bad_b ? KBAD : KA;
		const char *k1 = 2 * i + 1 == bad_a || 2 * i + 1 == bad_b ? KBAD : KB;
		fprintf(f,
		        "%s{\"device_id\": \"dev-%zu\", \"keys\": [{\"public_key\": \"%s\", "
		        "\"from_sequence\": 1}, {\"public_key\": \"%s\", \"from_sequence\": 9}]}",
		        i ? "," : "", i, k0, k1);
	}
	fputs("]}", f);
	assert_int_equal(fclose(f), 0);
}

/*
 * eds_registry_load_progress: reading in bytes up to the file's size, then
 * the key checks from 0 in slices of 65,536 up to every key, all on this
 * thread; the same registry as eds_registry_load.  With an invalid key the
 * checks stop after its slice, and the first invalid key in file order is
 * named even when it lies in a later slice (its index is offset by the
 * slice's start) or a later one is in the same slice.
 */
static void load_reports_progress(void **state)
{
	(void)state;
	const unsigned count = 35000; /* 70,000 keys: two slices */
	char *dir = test_tmpdir(), path[4096];
	snprintf(path, sizeof path, "%s/big.json", dir);
	write_two_key_registry(path, count, SIZE_MAX, SIZE_MAX);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);

	progress_log log = {0};
	eds_registry *reg = NULL;
	assert_int_equal(eds_registry_load_progress(&reg, path, log_progress, &log), EDS_OK);
	assert_int_equal(eds_registry_device_count(reg), count);
	assert_key(reg, "dev-34999", 9, KB);
	eds_registry_free(reg);
	size_t i = 0;
	for (; i < log.calls && log.phase[i] == EDS_REGISTRY_READING; i++) {
		assert_int_equal(log.total[i], (uint64_t)sb.st_size);
		assert_true(i == 0 || log.done[i] > log.done[i - 1]);
	}
	assert_true(i >= 2); /* about 8 MB: a report every 4 MiB */
	assert_int_equal(log.done[i - 1], (uint64_t)sb.st_size);
	const uint64_t keys[] = {0, 65536, 70000};
	assert_int_equal(log.calls - i, 3);
	for (size_t k = 0; k < 3; k++, i++) {
		assert_int_equal(log.phase[i], EDS_REGISTRY_CHECKING_KEYS);
		assert_int_equal(log.done[i], keys[k]);
		assert_int_equal(log.total[i], 70000);
	}

	/* Bad keys 68,001 and 69,999 (second slice): the first is named. */
	write_two_key_registry(path, count, 68001, 69999);
	memset(&log, 0, sizeof log);
	assert_int_equal(eds_registry_load_progress(&reg, path, log_progress, &log), EDS_E_KEY);
	assert_null(reg);
	assert_non_null(strstr(eds_last_error(), "devices[34000].keys[1].public_key: public key is "
	                                         "not a valid Ed25519 point"));
	assert_int_equal(log.done[log.calls - 1], 70000);

	/* Bad keys 1,000 and 68,000: the checks stop after the first slice. */
	write_two_key_registry(path, count, 1000, 68000);
	memset(&log, 0, sizeof log);
	assert_int_equal(eds_registry_load_progress(&reg, path, log_progress, &log), EDS_E_KEY);
	assert_non_null(strstr(eds_last_error(), "devices[500].keys[0].public_key"));
	assert_int_equal(log.phase[log.calls - 1], EDS_REGISTRY_CHECKING_KEYS);
	assert_int_equal(log.done[log.calls - 1], 65536);
	test_rmtree(dir);
	free(dir);
}

typedef struct {
	const char *json;
	eds_status status;
	const char *phrase;
} bad_case;

#define DEV(id)        "{\"device_id\": " id ", \"keys\": [" KEY(KA, 1) "]}"
#define DEV_KEYS(keys) ONE_DEVICE("{\"device_id\": \"d\", \"keys\": [" keys "]}")

static const bad_case malformed[] = {
    {"", EDS_E_MALFORMED, "registry: JSON line"},
    {"{\"devices\": []} x", EDS_E_MALFORMED, "registry: JSON line 1"},
    {"[]", EDS_E_MALFORMED, "registry: must be a JSON object"},
    {"{}", EDS_E_MALFORMED, "registry.devices: required, an array"},
    {"{\"devices\": {}}", EDS_E_MALFORMED, "registry.devices: required, an array"},
    {"{\"devices\": [], \"version\": 1}", EDS_E_MALFORMED, "registry: unknown member \"version\""},
    {"{\"devices\": [], \"\\n\": 1}", EDS_E_MALFORMED, "registry: unknown member"},
    {"{\"devices\": [], \"devices\": []}", EDS_E_MALFORMED, "duplicate"},
    {"{\"devices\": [\"\xff\"]}", EDS_E_MALFORMED, "registry: JSON line 1"},
    {"{\"devices\": [1]}", EDS_E_MALFORMED, "devices[0]: must be an object"},
    {ONE_DEVICE(DEV("\"a\"") ", 2"), EDS_E_MALFORMED, "devices[1]: must be an object"},
    {ONE_DEVICE("{\"keys\": [" KEY(KA, 1) "]}"), EDS_E_MALFORMED,
     "devices[0].device_id: required, a string"},
    {ONE_DEVICE(DEV("7")), EDS_E_MALFORMED, "devices[0].device_id: required, a string"},
    {ONE_DEVICE(DEV("\"\"")), EDS_E_FIELD, "devices[0]: device_id: must be 1..128 bytes, got 0"},
    {ONE_DEVICE(DEV("\".\"")), EDS_E_FIELD, "devices[0]: device_id: must not be \".\""},
    {ONE_DEVICE(DEV("\"..\"")), EDS_E_FIELD, "devices[0]: device_id: must not be \".\""},
    {ONE_DEVICE(DEV("\"a\"") "," DEV("\"lift 01\"")), EDS_E_FIELD,
     "devices[1]: device_id: byte 4 is not one of"},
    {ONE_DEVICE(DEV("\"lift/01\"")), EDS_E_FIELD, "byte 4 is not one of"},
    {ONE_DEVICE(DEV("\"caf\xc3\xa9\"")), EDS_E_FIELD, "byte 3 is not one of"},
    {ONE_DEVICE(DEV("\"a\\u0000b\"")), EDS_E_MALFORMED, "registry: JSON line 1"},
    {ONE_DEVICE(DEV("\"0123456789012345678901234567890123456789012345678901234567890123"
                    "45678901234567890123456789012345678901234567890123456789012345678\"")),
     EDS_E_FIELD, "must be 1..128 bytes, got 129"},
    {ONE_DEVICE("{\"device_id\": \"a\", \"keys\": [" KEY(KA, 1) "], \"name\": \"x\"}"),
     EDS_E_MALFORMED, "devices[0]: unknown member \"name\""},
    {ONE_DEVICE("{\"device_id\": \"a\"}"), EDS_E_MALFORMED, "devices[0].keys: required, an array"},
    {ONE_DEVICE("{\"device_id\": \"a\", \"keys\": {}}"), EDS_E_MALFORMED,
     "devices[0].keys: required, an array"},
    {DEV_KEYS(""), EDS_E_FIELD, "devices[0].keys: must list at least one key"},
    {DEV_KEYS("1"), EDS_E_MALFORMED, "devices[0].keys[0]: must be an object"},
    {DEV_KEYS(KEY(KA, 1) ", {\"public_key\": \"" KB "\", \"from_sequence\": 2, \"note\": 1}"),
     EDS_E_MALFORMED, "devices[0].keys[1]: unknown member \"note\""},
    {DEV_KEYS("{\"from_sequence\": 1}"), EDS_E_MALFORMED,
     "devices[0].keys[0].public_key: required, a string of 64 hex"},
    {DEV_KEYS("{\"public_key\": 5, \"from_sequence\": 1}"), EDS_E_MALFORMED,
     "devices[0].keys[0].public_key: required"},
    {DEV_KEYS(KEY("8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5", 1)),
     EDS_E_MALFORMED, "devices[0].keys[0].public_key: public key: expected 64 hex"},
    {DEV_KEYS(KEY("8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5g", 1)),
     EDS_E_MALFORMED, "devices[0].keys[0].public_key: public key: expected 64 hex"},
    {DEV_KEYS(KEY(KBAD, 1)), EDS_E_KEY,
     "devices[0].keys[0].public_key: public key is not a valid Ed25519 point"},
    {DEV_KEYS("{\"public_key\": \"" KA "\"}"), EDS_E_MALFORMED,
     "devices[0].keys[0].from_sequence: required"},
    {DEV_KEYS(KEY(KA, 0)), EDS_E_FIELD,
     "devices[0].keys[0].from_sequence: must be 1 .. 2^53-1, got 0"},
    {DEV_KEYS(KEY(KA, -1)), EDS_E_FIELD, "must be 1 .. 2^53-1, got -1"},
    {DEV_KEYS(KEY(KA, 9007199254740992)), EDS_E_FIELD, "must be 1 .. 2^53-1, got 9007199254740992"},
    {DEV_KEYS(KEY(KA, 99999999999999999999)), EDS_E_MALFORMED, "registry: JSON line 1"},
    {DEV_KEYS(KEY(KA, 1.0)), EDS_E_MALFORMED, "from_sequence: must be an integer"},
    {DEV_KEYS(KEY(KA, 1e3)), EDS_E_MALFORMED, "from_sequence: must be an integer"},
    {DEV_KEYS(KEY(KA, "1")), EDS_E_MALFORMED, "from_sequence: must be an integer"},
    {DEV_KEYS(KEY(KA, null)), EDS_E_MALFORMED, "from_sequence: must be an integer"},
    {DEV_KEYS(KEY(KA, 1) "," KEY(KB, 1)), EDS_E_FIELD,
     "devices[0].keys[1].from_sequence: must be greater than keys[0].from_sequence (1), got 1"},
    {DEV_KEYS(KEY(KA, 1) "," KEY(KB, 9) "," KEY(KC, 5)), EDS_E_FIELD,
     "devices[0].keys[2].from_sequence: must be greater than keys[1].from_sequence (9), got 5"},
    {ONE_DEVICE("{\"device_id\": \"a\", \"keys\": [" KEY(KA, 1) "], "
                                                                "\"revoked_from_sequence\": 0}"),
     EDS_E_FIELD, "devices[0].revoked_from_sequence: must be 1 .. 2^53-1, got 0"},
    {ONE_DEVICE(
         "{\"device_id\": \"a\", \"keys\": [" KEY(KA, 1) "], "
                                                         "\"revoked_from_sequence\": \"5\"}"),
     EDS_E_MALFORMED, "devices[0].revoked_from_sequence: must be an integer"},
    {ONE_DEVICE(
         "{\"device_id\": \"a\", \"keys\": [" KEY(KA, 1) "], "
                                                         "\"revoked_from_sequence\": false}"),
     EDS_E_MALFORMED, "devices[0].revoked_from_sequence: must be an integer"},
    {ONE_DEVICE(DEV("\"a\"") "," DEV("\"b\"") "," DEV("\"a\"")), EDS_E_FIELD,
     "devices[2].device_id: \"a\" is already listed as devices[0]"},
    {ONE_DEVICE(DEV("\"B\"") "," DEV("\"b\"") "," DEV("\"B\"")), EDS_E_FIELD,
     "devices[2].device_id: \"B\" is already listed as devices[0]"},
};

static void malformed_registries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		static long long sentinel;
		eds_registry *reg = (eds_registry *)&sentinel; /* parse must reset it to NULL */
		const bad_case *c = &malformed[i];
		eds_status st = eds_registry_parse(&reg, c->json, strlen(c->json));
		if (st != c->status || strstr(eds_last_error(), c->phrase) == NULL)
			fail_msg("case %zu: want %d \"%s\", got %d: %s", i, c->status, c->phrase,
			         st, eds_last_error());
		assert_null(reg);
	}
}

static void limits(void **state)
{
	(void)state;
	eds_registry *reg = NULL;
	/* One key too many. */
	size_t cap = (EDS_REGISTRY_MAX_KEYS_PER_DEVICE + 1) * 160 + 100, n = 0;
	char *json = malloc(cap);
	assert_non_null(json);
	append(json, cap, &n, "{\"devices\": [{\"device_id\": \"d\", \"keys\": [");
	for (unsigned i = 0; i <= EDS_REGISTRY_MAX_KEYS_PER_DEVICE; i++)
		append(json, cap, &n, "%s{\"public_key\": \"" KA "\", \"from_sequence\": %u}",
		       i ? "," : "", i + 1);
	append(json, cap, &n, "]}]}");
	assert_int_equal(eds_registry_parse(&reg, json, strlen(json)), EDS_E_LIMIT);
	assert_non_null(strstr(eds_last_error(), "devices[0].keys: 1025 keys, limit is 1024"));
	free(json);
	/* One device too many: the count alone is refused, before any device is read. */
	cap = (EDS_REGISTRY_MAX_DEVICES + 1) * 2 + 32;
	json = malloc(cap);
	assert_non_null(json);
	n = (size_t)snprintf(json, cap, "{\"devices\": [");
	for (unsigned i = 0; i <= EDS_REGISTRY_MAX_DEVICES; i++) {
		json[n++] = '0';
		json[n++] = ',';
	}
	n--; /* the last comma */
	append(json, cap, &n, "]}");
	assert_int_equal(eds_registry_parse(&reg, json, strlen(json)), EDS_E_LIMIT);
	assert_non_null(strstr(eds_last_error(), "1000001 devices, limit is 1000000"));
	assert_null(reg);
	free(json);
}

static void load_from_file(void **state)
{
	(void)state;
	char *dir = test_tmpdir(), path[4096];
	eds_registry *reg = NULL;
	snprintf(path, sizeof path, "%s/registry.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(ONE_DEVICE("{\"device_id\": \"lift-01\", \"keys\": [" KEY(KA, 1) "]}") "\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(eds_registry_load(&reg, path), EDS_OK);
	assert_key(reg, "lift-01", 7, KA);
	eds_registry_free(reg);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs(ONE_DEVICE(DEV("\"a b\"")), f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(eds_registry_load(&reg, path), EDS_E_FIELD);
	assert_non_null(strstr(eds_last_error(), "registry.json: devices[0]: device_id: byte 1"));
	assert_null(reg);
	snprintf(path, sizeof path, "%s/missing.json", dir);
	assert_int_equal(eds_registry_load(&reg, path), EDS_E_NOT_FOUND);
	assert_non_null(strstr(eds_last_error(), "missing.json"));
	assert_int_equal(eds_registry_load(NULL, path), EDS_E_ARG);
	assert_int_equal(eds_registry_parse(&reg, NULL, 0), EDS_E_ARG);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rotation),
	    cmocka_unit_test(walk),
	    cmocka_unit_test(many_keys),
	    cmocka_unit_test(revocation),
	    cmocka_unit_test(unknown_device),
	    cmocka_unit_test(empty_registry),
	    cmocka_unit_test(many_devices),
	    cmocka_unit_test(parallel_point_check_names_first_bad_key),
	    cmocka_unit_test(load_reports_progress),
	    cmocka_unit_test(malformed_registries),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(load_from_file),
	};
	if (eds_init() != EDS_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
