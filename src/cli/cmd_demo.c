/*
 * cmd_demo.c - `eds demo`: two lifts sign an inspection run into one chain
 * file, the genuine chain verifies, then five kinds of tampering (each on a
 * copy) are caught by the very code `eds verify-chain` runs.  Part 2, the
 * live path from device agents through the ingest server to an auditor, is
 * demo_pipeline.c.
 */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain_run.h"
#include "cli.h"
#include "demo_pipeline.h"

#define CMD     "demo"
#define DEVICES 2
#define STEPS   8
/* The run plus one appended record (the replay case). */
#define MAX_ITEMS (DEVICES * STEPS + 1)
#define START_MS  1795770000000ULL /* 2026-11-27 09:00:00 UTC */
#define STEP_MS   (4ULL * 60 * 1000)
#define CASES     5

static const char help_text[] =
    "usage: eds demo [--keep DIR] [--json]\n"
    "\n"
    "Show EdgeSentry end to end, using the library directly, with no server to set\n"
    "up.  Part 1: make keys for two lift-inspection devices (lift-01, lift-02) and\n"
    "a key registry, sign an inspection run for each (door cycles, vibration, brake\n"
    "torque, load test, leveling, emergency phone ...) into one interleaved chain\n"
    "file with the payloads in a payload directory, verify it, then tamper with\n"
    "copies and show each tampering detected, with its reason, by the same code as\n"
    "`eds verify-chain`: a changed payload byte, a reordered pair, a deleted\n"
    "record, a forged signature, and an old record replayed under a new sequence.\n"
    "Part 2: the same lifts as device agents queue signed readings while their\n"
    "uplink is down and across a restart, then deliver them over HTTP to an ingest\n"
    "server on 127.0.0.1 (deny-by-default allowlist, durable ledger); attacks on\n"
    "the server's integrity gate are refused with their error codes; an auditor\n"
    "re-verifies the ledger offline and catches a payload edited on the server.\n"
    "\n"
    "Options:\n"
    "  --keep DIR   work in DIR (created; must not exist or be empty) and keep the\n"
    "               files: keys/, registry.json, chain.jsonl, payloads/, per\n"
    "               tampering case tamper/<case>/chain.jsonl (plus payloads/ when\n"
    "               the case edits payloads), agents/<device>/ (agent state) and\n"
    "               server/ (the ledger); default: a temporary directory, removed\n"
    "               at the end\n"
    "  --json       print one JSON object on stdout instead of the text\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit codes:\n"
    "  0  the genuine chain verified, every tampering was detected, and part 2\n"
    "     behaved as documented\n"
    "  1  the genuine chain failed, a tampering went undetected, or part 2 did not\n"
    "     behave as documented\n"
    "  2  usage error, or the demo files could not be written\n";

static const char *const device_ids[DEVICES] = {"lift-01", "lift-02"};
static const char *const step_names[STEPS] = {
    "inspection-start", "door-cycle",        "vibration-spectrum", "brake-torque",
    "load-test",        "leveling-accuracy", "emergency-phone",    "inspection-end",
};
/* lift-02's brake is weak and its load test fails: what a tamperer would hide. */
static const char *const readings[DEVICES][STEPS] = {
    {
        "\"inspector\":\"A. Sato\",\"site\":\"Harbour View Tower\",\"car\":\"A\"",
        "\"cycles\":50,\"faults\":0,\"mean_close_s\":3.2,\"reopen_force_n\":118",
        "\"axis\":\"z\",\"peak_hz\":11.8,\"peak_mg\":14.6,\"rms_mg\":5.9,\"limit_mg\":25",
        "\"measured_nm\":412.5,\"required_nm\":380.0,\"result\":\"pass\"",
        "\"load_kg\":1250,\"rated_kg\":1000,\"slip_mm\":0,\"result\":\"pass\"",
        "\"floors\":14,\"max_error_mm\":4,\"limit_mm\":10,\"result\":\"pass\"",
        "\"connected\":true,\"answer_s\":21,\"result\":\"pass\"",
        "\"result\":\"pass\",\"defects\":0",
    },
    {
        "\"inspector\":\"R. Ito\",\"site\":\"Harbour View Tower\",\"car\":\"B\"",
        "\"cycles\":50,\"faults\":1,\"mean_close_s\":3.6,\"reopen_force_n\":131",
        "\"axis\":\"z\",\"peak_hz\":12.4,\"peak_mg\":22.9,\"rms_mg\":8.7,\"limit_mg\":25",
        "\"measured_nm\":352.0,\"required_nm\":380.0,\"result\":\"fail\"",
        "\"load_kg\":1250,\"rated_kg\":1000,\"slip_mm\":7,\"result\":\"fail\"",
        "\"floors\":14,\"max_error_mm\":9,\"limit_mm\":10,\"result\":\"pass\"",
        "\"connected\":true,\"answer_s\":34,\"result\":\"pass\"",
        "\"result\":\"fail\",\"defects\":2",
    },
};

typedef struct item {
	eds_record rec;
	char payload[256];
	size_t len;
} item;

typedef struct demo {
	char dir[PATH_MAX];
	bool json;
	eds_secret_key keys[DEVICES];
	eds_secret_key attacker; /* a key that is not in the registry */
	item run[MAX_ITEMS];
	size_t count;
	item work[MAX_ITEMS]; /* the copy a tampering case edits */
	eds_registry *reg;
	json_t *report; /* the --json output */
} demo;

typedef struct tamper_case {
	const char *name; /* its directory under tamper/ */
	const char *title;
	const char *story;
	const char *note; /* an extra line, or NULL */
	const char *device;
	eds_status expect;
	bool edits_payloads; /* works on its own payloads/ copy */
	eds_status (*make)(demo *d, item *run, size_t *count, const char *payload_dir);
} tamper_case;

/* Text output, suppressed by --json. */
static void say(const demo *d, const char *fmt, ...) EDS_PRINTF(2, 3);
static void say(const demo *d, const char *fmt, ...)
{
	va_list ap;
	if (d->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static eds_status join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX)
		return eds_fail(EDS_E_LIMIT, "%s/%s: path too long", dir, name);
	return EDS_OK;
}

static eds_status make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0)
		return eds_fail(EDS_E_IO, "%s: cannot create directory: %s", path, strerror(errno));
	return EDS_OK;
}

static eds_status make_subdir(char *buf, const char *dir, const char *name)
{
	eds_status st = join(buf, dir, name);
	return st != EDS_OK ? st : make_dir(buf);
}

/* ---- the working directory ------------------------------------------------ */

static void remove_tree(const char *dir)
{
	if (eds_remove_tree(dir) != 0)
		fprintf(stderr, "eds %s: warning: could not remove %s\n", CMD, dir);
}

static eds_status dir_is_empty(const char *path)
{
	DIR *dp = opendir(path);
	struct dirent *e;
	if (dp == NULL)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			break;
	closedir(dp);
	if (e != NULL)
		return eds_fail(EDS_E_EXISTS, "%s: exists and is not empty", path);
	return EDS_OK;
}

static eds_status open_workdir(demo *d, const char *keep)
{
	if (keep != NULL) {
		if (snprintf(d->dir, sizeof d->dir, "%s", keep) >= (int)sizeof d->dir)
			return eds_fail(EDS_E_LIMIT, "--keep: path too long");
		if (mkdir(d->dir, 0755) == 0)
			return EDS_OK;
		if (errno != EEXIST)
			return eds_fail(EDS_E_IO, "%s: cannot create directory: %s", d->dir,
			                strerror(errno));
		return dir_is_empty(d->dir);
	}
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(d->dir, sizeof d->dir, "%s/eds-demo-XXXXXX",
	                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (n < 0 || n >= (int)sizeof d->dir)
		return eds_fail(EDS_E_LIMIT, "TMPDIR: path too long");
	if (mkdtemp(d->dir) == NULL)
		return eds_fail(EDS_E_IO, "%s: cannot create a temporary directory: %s", d->dir,
		                strerror(errno));
	return EDS_OK;
}

/* ---- keys, registry and the signed run -------------------------------------- */

static eds_status save_keys(const demo *d, const char *keydir, size_t i)
{
	char path[PATH_MAX], name[64];
	eds_public_key pk;
	eds_status st;
	eds_secret_key_public(&d->keys[i], &pk);
	snprintf(name, sizeof name, "%s.key", device_ids[i]);
	if ((st = join(path, keydir, name)) != EDS_OK ||
	    (st = eds_secret_key_save(&d->keys[i], path)) != EDS_OK)
		return st;
	snprintf(name, sizeof name, "%s.pub", device_ids[i]);
	if ((st = join(path, keydir, name)) != EDS_OK)
		return st;
	return eds_public_key_save(&pk, path);
}

/* FORMAT.md section 2; ids and hex need no JSON escaping. */
static eds_status write_registry(demo *d)
{
	char path[PATH_MAX], text[256 * DEVICES + 64];
	size_t n = (size_t)snprintf(text, sizeof text, "{\"devices\": [\n");
	for (size_t i = 0; i < DEVICES; i++) {
		eds_public_key pk;
		char hex[65];
		eds_secret_key_public(&d->keys[i], &pk);
		eds_public_key_to_hex(&pk, hex);
		n += (size_t)snprintf(text + n, sizeof text - n,
		                      "  {\"device_id\": \"%s\",\n   \"keys\": [{\"public_key\": "
		                      "\"%s\", \"from_sequence\": 1}],\n"
		                      "   \"revoked_from_sequence\": null}%s\n",
		                      device_ids[i], hex, i + 1 < DEVICES ? "," : "");
	}
	n += (size_t)snprintf(text + n, sizeof text - n, "]}\n");
	eds_status st = join(path, d->dir, "registry.json");
	if (st == EDS_OK)
		st = eds_write_file_atomic(path, text, n, 0644);
	if (st == EDS_OK)
		st = eds_registry_load(&d->reg, path);
	return st;
}

static eds_status make_keys(demo *d)
{
	char keydir[PATH_MAX];
	eds_status st = make_subdir(keydir, d->dir, "keys");
	say(d, "1. Device keys (Ed25519) and a key registry\n");
	for (size_t i = 0; st == EDS_OK && i < DEVICES; i++) {
		eds_public_key pk;
		char hex[65];
		if ((st = eds_secret_key_generate(&d->keys[i])) != EDS_OK ||
		    (st = save_keys(d, keydir, i)) != EDS_OK)
			break;
		eds_secret_key_public(&d->keys[i], &pk);
		eds_public_key_to_hex(&pk, hex);
		say(d, "   %s  public key %.16s...  keys/%s.key (0600), keys/%s.pub\n",
		    device_ids[i], hex, device_ids[i], device_ids[i]);
	}
	if (st == EDS_OK)
		st = eds_secret_key_generate(&d->attacker);
	if (st == EDS_OK)
		st = write_registry(d);
	if (st == EDS_OK)
		say(d, "   registry.json: which key verifies which device\n");
	return st;
}

static eds_status sign_item(item *it, size_t dev, size_t step, const uint8_t *prev,
                            const eds_secret_key *sk)
{
	char ref[128];
	int n = snprintf(it->payload, sizeof it->payload, "{\"test\":\"%s\",%s}", step_names[step],
	                 readings[dev][step]);
	snprintf(ref, sizeof ref, "%s/2026-11-27/%s.json", device_ids[dev], step_names[step]);
	it->len = (size_t)n;
	/* The two technicians start two minutes apart and test every four. */
	uint64_t ts = START_MS + step * STEP_MS + dev * STEP_MS / 2;
	eds_status st = eds_record_init(&it->rec, device_ids[dev], step + 1, ts,
	                                (const uint8_t *)it->payload, it->len, prev, ref);
	return st != EDS_OK ? st : eds_record_sign(&it->rec, sk);
}

static eds_status store_payloads(const demo *d, const char *payload_dir)
{
	for (size_t i = 0; i < d->count; i++) {
		uint8_t h[EDS_HASH_LEN];
		eds_status st = eds_payload_put(payload_dir, (const uint8_t *)d->run[i].payload,
		                                d->run[i].len, h);
		if (st != EDS_OK)
			return st;
	}
	return EDS_OK;
}

static eds_status write_chain(const char *path, const item *run, size_t count)
{
	char json[EDS_RECORD_JSON_MAX];
	FILE *f = fopen(path, "w");
	eds_status st = EDS_OK;
	if (f == NULL)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	for (size_t i = 0; st == EDS_OK && i < count; i++) {
		size_t len;
		st = eds_record_to_json(&run[i].rec, json, sizeof json, &len);
		if (st == EDS_OK && (fwrite(json, 1, len, f) != len || fputc('\n', f) == EOF))
			st = eds_fail(EDS_E_IO, "%s: write failed: %s", path, strerror(errno));
	}
	if (fclose(f) != 0 && st == EDS_OK)
		st = eds_fail(EDS_E_IO, "%s: write failed: %s", path, strerror(errno));
	return st;
}

static eds_status sign_run(demo *d)
{
	uint8_t heads[DEVICES][EDS_HASH_LEN];
	char path[PATH_MAX];
	eds_status st = EDS_OK;
	/* Interleaved as the readings arrive: lift-01, lift-02, lift-01, ... */
	for (size_t step = 0; step < STEPS; step++)
		for (size_t dev = 0; st == EDS_OK && dev < DEVICES; dev++) {
			item *it = &d->run[d->count++];
			st = sign_item(it, dev, step, step == 0 ? NULL : heads[dev], &d->keys[dev]);
			if (st == EDS_OK)
				st = eds_record_compute_hash(&it->rec, heads[dev]);
		}
	if (st == EDS_OK)
		st = make_subdir(path, d->dir, "payloads");
	if (st == EDS_OK)
		st = store_payloads(d, path);
	if (st == EDS_OK)
		st = join(path, d->dir, "chain.jsonl");
	if (st == EDS_OK)
		st = write_chain(path, d->run, d->count);
	if (st != EDS_OK)
		return st;
	say(d, "2. Inspection run of 2026-11-27, signed on each device\n");
	for (size_t dev = 0; dev < DEVICES; dev++)
		say(d, "   %s: %d records, 09:0%d-09:%d UTC: %s, %s, %s, ... %s\n", device_ids[dev],
		    STEPS, (int)dev * 2, (int)(dev * 2 + (STEPS - 1) * 4), step_names[0],
		    step_names[1], step_names[2], step_names[STEPS - 1]);
	say(d, "   e.g. %s = %s\n", d->run[7].rec.object_ref, d->run[7].payload);
	say(d, "   chain.jsonl: %zu records, interleaved; payloads/: stored by BLAKE3 hash\n",
	    d->count);
	return EDS_OK;
}

/* ---- verification ------------------------------------------------------------ */

static int verify(const demo *d, const char *chain, const char *payload_dir, cli_chain_result *res)
{
	eds_chain_options opts = {.registry = d->reg, .payload_dir = payload_dir};
	return cli_chain_verify_file(CMD, chain, &opts, false, res);
}

static int verify_genuine(demo *d, bool *valid)
{
	char chain[PATH_MAX], payloads[PATH_MAX];
	cli_chain_result res;
	eds_chain_summary s;
	eds_status st = join(chain, d->dir, "chain.jsonl");
	if (st == EDS_OK)
		st = join(payloads, d->dir, "payloads");
	if (st != EDS_OK)
		return cli_report(CMD, st, NULL);
	int rc = verify(d, chain, payloads, &res);
	if (rc != EDS_EXIT_OK)
		return rc;
	eds_chain_verifier_summary(res.v, &s);
	*valid = s.devices_failed == 0 && s.records == d->count;
	say(d, "3. Verify the genuine chain (eds verify-chain --keys registry.json "
	       "--payload-dir payloads chain.jsonl)\n   ");
	if (!d->json)
		cli_chain_print_summary(stdout, &s, true, true);
	if (!d->json)
		cli_chain_print_failures(stdout, "   ", &res);
	json_object_set_new(d->report, "genuine",
	                    json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "valid", *valid, "records",
	                              (json_int_t)s.records, "devices", (json_int_t)s.devices,
	                              "signatures_checked", (json_int_t)s.signatures_checked,
	                              "payloads_checked", (json_int_t)s.payloads_checked,
	                              "failures", cli_chain_failures_json(&res)));
	cli_chain_result_free(&res);
	return EDS_EXIT_OK;
}

/* ---- the tampering cases ------------------------------------------------------ */

static item *find(item *run, size_t count, const char *device, uint64_t sequence)
{
	for (size_t i = 0; i < count; i++)
		if (run[i].rec.sequence == sequence && strcmp(run[i].rec.device_id, device) == 0)
			return &run[i];
	return NULL;
}

/* Raise lift-02's stored brake reading 352.0 -> 382.0: one byte of the payload file. */
static eds_status tamper_payload_byte(demo *d, item *run, size_t *count, const char *payload_dir)
{
	(void)d;
	char path[PATH_MAX], bytes[sizeof run[0].payload];
	item *it = find(run, *count, "lift-02", 4);
	memcpy(bytes, it->payload, sizeof bytes);
	char *digit = strstr(bytes, "352.0");
	if (digit == NULL)
		return eds_fail(EDS_E_INTERNAL, "demo: brake reading not found");
	digit[1] = '8';
	eds_status st = eds_payload_path(path, sizeof path, payload_dir, it->rec.payload_hash);
	return st != EDS_OK ? st : eds_write_file_atomic(path, bytes, it->len, 0644);
}

static eds_status tamper_reorder(demo *d, item *run, size_t *count, const char *payload_dir)
{
	(void)d;
	(void)payload_dir;
	item *a = find(run, *count, "lift-01", 6), *b = find(run, *count, "lift-01", 7);
	item tmp = *a;
	*a = *b;
	*b = tmp;
	return EDS_OK;
}

static eds_status tamper_delete(demo *d, item *run, size_t *count, const char *payload_dir)
{
	(void)d;
	(void)payload_dir;
	item *it = find(run, *count, "lift-02", 5);
	size_t i = (size_t)(it - run);
	memmove(&run[i], &run[i + 1], (*count - i - 1) * sizeof run[0]);
	(*count)--;
	return EDS_OK;
}

/* A passing brake reading, validly hashed and stored, signed with a key not lift-02's. */
static eds_status tamper_forge(demo *d, item *run, size_t *count, const char *payload_dir)
{
	item *it = find(run, *count, "lift-02", 4);
	const eds_record old = it->rec;
	uint8_t h[EDS_HASH_LEN];
	int n = snprintf(it->payload, sizeof it->payload,
	                 "{\"test\":\"brake-torque\",\"measured_nm\":392.0,\"required_nm\":380.0,"
	                 "\"result\":\"pass\"}");
	it->len = (size_t)n;
	eds_status st =
	    eds_record_init(&it->rec, old.device_id, old.sequence, old.timestamp_ms,
	                    (const uint8_t *)it->payload, it->len, old.prev_hash, old.object_ref);
	if (st == EDS_OK)
		st = eds_record_sign(&it->rec, &d->attacker);
	if (st == EDS_OK)
		st = eds_payload_put(payload_dir, (const uint8_t *)it->payload, it->len, h);
	return st;
}

/* lift-01's passing door test appended again as sequence 9, linked to the head. */
static eds_status tamper_replay(demo *d, item *run, size_t *count, const char *payload_dir)
{
	(void)d;
	(void)payload_dir;
	item copy = *find(run, *count, "lift-01", 2);
	copy.rec.sequence = STEPS + 1;
	eds_status st =
	    eds_record_compute_hash(&find(run, *count, "lift-01", STEPS)->rec, copy.rec.prev_hash);
	if (st == EDS_OK)
		run[(*count)++] = copy;
	return st;
}

static const tamper_case cases[CASES] = {
    {"1-payload-byte", "changed payload byte",
     "lift-02's stored brake-torque reading edited on disk, 352.0 -> 382.0 Nm (one byte)", NULL,
     "lift-02", EDS_E_PAYLOAD_MISMATCH, true, tamper_payload_byte},
    {"2-reordered-pair", "reordered pair",
     "lift-01's leveling-accuracy and emergency-phone records swapped in the file", NULL, "lift-01",
     EDS_E_SEQUENCE, false, tamper_reorder},
    {"3-deleted-record", "deleted record", "lift-02's failed load test removed from the file", NULL,
     "lift-02", EDS_E_SEQUENCE, false, tamper_delete},
    {"4-forged-signature", "forged signature",
     "lift-02's brake test rewritten as a pass (new payload, correct hashes), signed "
     "with a key that is not lift-02's",
     NULL, "lift-02", EDS_E_SIGNATURE, true, tamper_forge},
    {"5-replayed-record", "record replayed under a new sequence",
     "lift-01's old passing door-cycle record appended again as sequence 9, prev_hash "
     "set to the chain head",
     "ESR1 signs every field, so the moved record's signature no longer verifies "
     "(edgesentry-rs legacy records sign only payload_hash: there this replay would pass "
     "the signature check)",
     "lift-01", EDS_E_SIGNATURE, false, tamper_replay},
};

static bool found_expected(const cli_chain_result *res, const tamper_case *c)
{
	const eds_chain_failure *f;
	size_t n = eds_chain_verifier_failures(res->v, &f);
	for (size_t i = 0; i < n; i++)
		if (f[i].reason == c->expect && strcmp(f[i].device_id, c->device) == 0)
			return true;
	return false;
}

/* Build the case's copy under tamper/NAME/: chain.jsonl and payloads/. */
static eds_status build_case(demo *d, const tamper_case *c, char chain[PATH_MAX],
                             char payloads[PATH_MAX])
{
	char base[PATH_MAX], cdir[PATH_MAX];
	size_t count = d->count;
	eds_status st = join(base, d->dir, "tamper");
	if (st == EDS_OK && c == &cases[0])
		st = make_dir(base);
	if (st == EDS_OK)
		st = make_subdir(cdir, base, c->name);
	/* Only a case that changes payloads gets its own copy of the store. */
	if (st == EDS_OK && c->edits_payloads)
		st = make_subdir(payloads, cdir, "payloads");
	else if (st == EDS_OK)
		st = join(payloads, d->dir, "payloads");
	if (st == EDS_OK && c->edits_payloads)
		st = store_payloads(d, payloads);
	memcpy(d->work, d->run, sizeof d->work);
	if (st == EDS_OK)
		st = c->make(d, d->work, &count, payloads);
	if (st == EDS_OK)
		st = join(chain, cdir, "chain.jsonl");
	if (st == EDS_OK)
		st = write_chain(chain, d->work, count);
	return st;
}

static int run_case(demo *d, size_t k, json_t *list, bool *detected)
{
	const tamper_case *c = &cases[k];
	char chain[PATH_MAX], payloads[PATH_MAX];
	cli_chain_result res;
	eds_status st = build_case(d, c, chain, payloads);
	if (st != EDS_OK)
		return cli_report(CMD, st, c->name);
	int rc = verify(d, chain, payloads, &res);
	if (rc != EDS_EXIT_OK)
		return rc;
	*detected = found_expected(&res, c);
	say(d, "   [%zu/%d] %s: %s\n", k + 1, CASES, c->title, c->story);
	if (c->note != NULL)
		say(d, "         %s\n", c->note);
	if (!d->json)
		cli_chain_print_failures(stdout, "         ", &res);
	say(d, "         -> %s (expected reason %s)\n", *detected ? "DETECTED" : "NOT DETECTED",
	    eds_chain_reason_code(c->expect));
	json_array_append_new(list,
	                      json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "name", c->name, "title",
	                                c->title, "device_id", c->device, "expected_reason",
	                                eds_chain_reason_code(c->expect), "detected", *detected,
	                                "failures", cli_chain_failures_json(&res)));
	cli_chain_result_free(&res);
	return EDS_EXIT_OK;
}

static int run_cases(demo *d, int *detected)
{
	json_t *list = json_array();
	json_object_set_new(d->report, "cases", list);
	say(d, "4. Tampering, each on a copy (tamper/<case>/), verified the same way\n");
	for (size_t k = 0; k < CASES; k++) {
		bool ok = false;
		int rc = run_case(d, k, list, &ok);
		if (rc != EDS_EXIT_OK)
			return rc;
		*detected += ok;
	}
	return EDS_EXIT_OK;
}

/* ---- the command ---------------------------------------------------------- */

static int parse_args(int argc, char **argv, const char **keep, bool *json)
{
	static const struct option longopts[] = {
	    {"keep", required_argument, NULL, 'k'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': *keep = optarg; break;
		case 'j': *json = true; break;
		case 'h': fputs(help_text, stdout); return -1;
		default:
			return cli_usage(CMD, "unknown option or missing value: '%s'",
			                 argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
	return EDS_EXIT_OK;
}

static int finish(demo *d, bool genuine_valid, int detected, bool pipeline_ok, const char *keep)
{
	bool ok = genuine_valid && detected == CASES && pipeline_ok;
	if (d->json) {
		json_object_set_new(d->report, "detected", json_integer(detected));
		json_object_set_new(d->report, "total", json_integer(CASES));
		json_object_set_new(d->report, "ok", json_boolean(ok));
		if (keep != NULL)
			json_object_set_new(d->report, "dir", json_string(d->dir));
		if (json_dumpf(d->report, stdout, JSON_COMPACT) != 0 || puts("") == EOF)
			return cli_usage(CMD, "cannot write the JSON report");
	} else {
		if (keep != NULL)
			printf("files kept in %s; check them with:\n  eds verify-chain --keys "
			       "%s/registry.json --payload-dir %s/payloads %s/chain.jsonl\n"
			       "  eds ledger verify --ledger %s/server   (reports the insider's "
			       "edit)\n",
			       d->dir, d->dir, d->dir, d->dir, d->dir);
		printf("demo: genuine chain %s; %d of %d tampering cases detected; device to "
		       "server to auditor: %s\n",
		       genuine_valid ? "valid" : "INVALID", detected, CASES,
		       pipeline_ok ? "everything as expected" : "FAILED (see above)");
	}
	return ok ? EDS_EXIT_OK : EDS_EXIT_INVALID;
}

static int run_demo(demo *d, const char *keep)
{
	bool genuine_valid = false;
	int detected = 0;
	eds_status st = open_workdir(d, keep);
	if (st != EDS_OK)
		return cli_report(CMD, st, "--keep");
	say(d,
	    "EdgeSentry demo: two lifts sign their inspection readings into hash chains\n"
	    "working in %s%s\n\n",
	    d->dir, keep != NULL ? "" : " (removed at the end; --keep DIR keeps the files)");
	int rc = EDS_EXIT_OK;
	if ((st = make_keys(d)) != EDS_OK || (st = sign_run(d)) != EDS_OK)
		rc = cli_report(CMD, st, NULL);
	if (rc == EDS_EXIT_OK)
		rc = verify_genuine(d, &genuine_valid);
	if (rc == EDS_EXIT_OK)
		rc = run_cases(d, &detected);
	bool pipeline_ok = false;
	if (rc == EDS_EXIT_OK) {
		st = demo_pipeline_run(d->dir, device_ids, d->keys, !d->json, d->report,
		                       &pipeline_ok);
		if (st != EDS_OK)
			rc = cli_report(CMD, st, "device to server to auditor");
	}
	if (rc == EDS_EXIT_OK)
		rc = finish(d, genuine_valid, detected, pipeline_ok, keep);
	if (keep == NULL)
		remove_tree(d->dir);
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	const char *keep = NULL;
	bool json = false;
	int rc = parse_args(argc, argv, &keep, &json);
	if (rc != EDS_EXIT_OK)
		return rc < 0 ? EDS_EXIT_OK : rc;
	demo *d = calloc(1, sizeof *d);
	if (d == NULL || (d->report = json_object()) == NULL) {
		free(d);
		fprintf(stderr, "eds %s: out of memory\n", CMD);
		return EDS_EXIT_USAGE;
	}
	d->json = json;
	rc = run_demo(d, keep);
	for (size_t i = 0; i < DEVICES; i++)
		eds_secret_key_wipe(&d->keys[i]);
	eds_secret_key_wipe(&d->attacker);
	eds_registry_free(d->reg);
	json_decref(d->report);
	free(d);
	return rc;
}
