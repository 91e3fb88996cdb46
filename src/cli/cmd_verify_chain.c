/*
 * cmd_verify_chain.c - `eds verify-chain`: stream a record file through the
 * chain verifier and report every device whose chain breaks.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chain_internal.h"
#include "chain_run.h"
#include "cli.h"
#include "cli_json.h"
#include "pending_list.h"
#include "progress.h"
#include "record_internal.h"

#define CMD "verify-chain"

static const char help_text[] =
    "usage: eds verify-chain FILE [--public-key KEY|HEX | --keys REGISTRY]\n"
    "                             [--payload-dir DIR [--pending FILE]] [--json]\n"
    "                             [--quiet]\n"
    "                             [--format esr1|legacy] [--threads N]\n"
    "\n"
    "Verify every device chain in FILE (JSON Lines or one JSON array of ESR1\n"
    "records; '-' reads standard input), streaming, in memory proportional to the\n"
    "number of devices.  Per device, in this order: field rules; sequences run\n"
    "1, 2, 3, ... with no gap or reorder; each prev_hash is the previous\n"
    "record_hash; the signature verifies; with --payload-dir, the payload file\n"
    "exists with the recorded size and hash.  The first failure of each device is\n"
    "reported and the rest of that device is not checked.  A record repeated\n"
    "exactly right after itself (same record_hash) is a harmless retry: skipped,\n"
    "counted as a duplicate.  A different record with a used sequence is a fork.\n"
    "\n"
    "Options:\n"
    "  --public-key KEY|HEX  verify every signature with this public key (64 hex\n"
    "                        characters, or a public/secret key file)\n"
    "  --keys REGISTRY       verify signatures with the key registry JSON: per\n"
    "                        device and sequence range, with revocation\n"
    "                        (without --public-key or --keys, signatures are NOT\n"
    "                        checked, and a warning says so)\n"
    "  --payload-dir DIR     also check each payload in the payload directory\n"
    "                        DIR/<hash[0..2]>/<hash[2..64]>\n"
    "  --pending FILE        an export's pending.jsonl: a record listed there\n"
    "                        (device, sequence, payload hash) whose payload file\n"
    "                        is missing was sent without it and is counted as\n"
    "                        pending, not as payload_missing (a file that is there\n"
    "                        is checked); at most 256 MiB, a bad line is exit 2\n"
    "  --json                print one JSON object on stdout: valid, records,\n"
    "                        devices, devices_failed, signatures_checked,\n"
    "                        payloads_checked, payloads_pending, duplicates,\n"
    "                        key_source, failures[]\n"
    "                        (device_id, index, line, sequence, reason, message),\n"
    "                        devices_detail[] (device_id, records, last_sequence,\n"
    "                        head, valid)\n"
    "  --quiet               print only failures: no summary, no progress bar\n"
    "  --format FORMAT       esr1 (default) or legacy: an edgesentry-rs chain file\n"
    "                        (only --public-key, --payload-dir and --json apply)\n"
    "  --threads N           check signatures on N threads (0, the default: one\n"
    "                        per core; 1: no extra thread; at most 256); the\n"
    "                        report is the same for every N\n"
    "  -h, --help            show this help\n"
    "\n"
    "Output: one line per failed device,\n"
    "  FAIL device=ID record=#INDEX line=LINE sequence=SEQ reason=CODE: MESSAGE\n"
    "(INDEX: 0-based position in FILE; CODE: invalid_field, sequence_gap,\n"
    "prev_hash_mismatch, fork, bad_signature, unknown_device, revoked_device,\n"
    "no_key, payload_mismatch, payload_missing, io_error), then a summary line.\n"
    "On a terminal, large inputs (and a large --keys registry) show a progress\n"
    "bar on stderr.\n"
    "\n"
    "Exit codes:\n"
    "  0  every chain is valid\n"
    "  1  a chain failed (or a record's record_hash does not match its fields,\n"
    "     which stops reading: one line naming FILE:LINE on stderr)\n"
    "  2  usage error, unreadable or malformed FILE (one line naming FILE:LINE),\n"
    "     unreadable key or registry, --payload-dir not a directory\n";

typedef struct args {
	const char *path, *public_key, *keys, *payload_dir, *pending;
	bool json, quiet, legacy;
	unsigned threads;
} args;

/* ---- the shared verification run (chain_run.h) ----------------------------- */

void cli_chain_result_free(cli_chain_result *res)
{
	eds_chain_verifier_free(res->v);
	free(res->lines);
	memset(res, 0, sizeof *res);
}

eds_status cli_chain_remember_line(cli_chain_result *res, uint64_t line)
{
	if (res->line_count == res->line_cap) {
		size_t cap = res->line_cap == 0 ? 16 : 2 * res->line_cap;
		uint64_t *l = realloc(res->lines, cap * sizeof *l);
		if (l == NULL)
			return eds_fail(EDS_E_NOMEM, "out of memory");
		res->lines = l;
		res->line_cap = cap;
	}
	res->lines[res->line_count++] = line;
	return EDS_OK;
}

/* Feed one record with the hash the reader computed; a new failure's line
 * is remembered.  Only fatal errors return. */
static eds_status feed_record(cli_chain_result *res, const eds_record *r,
                              const uint8_t (*hash)[EDS_HASH_LEN], uint64_t line)
{
	size_t before = eds_chain_verifier_failures(res->v, NULL);
	eds_status st = eds_chain_verifier_add_batch_hashed(res->v, r, hash, 1);
	if (st == EDS_OK && eds_chain_verifier_failures(res->v, NULL) > before)
		return cli_chain_remember_line(res, line);
	return st;
}

static eds_status read_all(eds_record_reader *rd, cli_chain_result *res, bool progress,
                           unsigned threads)
{
	cli_progress bar;
	eds_record r;
	uint8_t hash[EDS_HASH_LEN];
	eds_status st;
	cli_progress_begin(&bar, CMD, "records", eds_record_reader_size(rd), progress);
	if (threads != 1) {
		st = cli_chain_read_parallel(rd, res, &bar);
		cli_progress_end(&bar);
		return st;
	}
	while ((st = eds_record_reader_next_hashed(rd, &r, hash)) == EDS_OK) {
		st = feed_record(res, &r, (const uint8_t(*)[EDS_HASH_LEN]) & hash,
		                 eds_record_reader_line(rd));
		if (st != EDS_OK)
			break;
		cli_progress_update(&bar, eds_record_reader_offset(rd),
		                    eds_record_reader_index(rd) + 1);
	}
	cli_progress_end(&bar);
	return st == EDS_DONE ? EDS_OK : st;
}

int cli_chain_verify_file(const char *cmd, const char *path, const eds_chain_options *opts,
                          bool progress, cli_chain_result *res)
{
	eds_record_reader *rd = NULL;
	memset(res, 0, sizeof *res);
	eds_status st = eds_chain_verifier_new(&res->v, opts);
	if (st == EDS_OK)
		st = eds_record_reader_open(&rd, path);
	if (st == EDS_OK)
		st = read_all(rd, res, progress, opts != NULL ? opts->threads : 1);
	eds_record_reader_close(rd);
	if (st == EDS_OK)
		return EDS_EXIT_OK;
	cli_chain_result_free(res);
	return cli_report(cmd, st, NULL);
}

/* Line of failure i; 0 if unknown (the lists grow together, so only defensively). */
static uint64_t failure_line(const cli_chain_result *res, size_t i)
{
	return i < res->line_count && res->lines != NULL ? res->lines[i] : 0;
}

void cli_chain_print_failures(FILE *out, const char *indent, const cli_chain_result *res)
{
	const eds_chain_failure *f;
	size_t n = eds_chain_verifier_failures(res->v, &f);
	for (size_t i = 0; i < n; i++)
		fprintf(out,
		        "%sFAIL device=%s record=#%llu line=%llu sequence=%llu reason=%s: %s\n",
		        indent, f[i].device_id, (unsigned long long)f[i].index,
		        (unsigned long long)failure_line(res, i), (unsigned long long)f[i].sequence,
		        eds_chain_reason_code(f[i].reason), f[i].message);
}

/* ---- output ---------------------------------------------------------------- */

static const char *key_source(const args *a)
{
	return a->public_key != NULL ? "public_key" : a->keys != NULL ? "registry" : "none";
}

void cli_chain_print_summary(FILE *out, const eds_chain_summary *s, bool keyed, bool payloads)
{
	fprintf(out, "%llu device%s, %llu record%s: %llu valid, %llu failed; ",
	        (unsigned long long)s->devices, s->devices == 1 ? "" : "s",
	        (unsigned long long)s->records, s->records == 1 ? "" : "s",
	        (unsigned long long)(s->devices - s->devices_failed),
	        (unsigned long long)s->devices_failed);
	if (keyed)
		fprintf(out, "signatures checked: %llu", (unsigned long long)s->signatures_checked);
	else
		fprintf(out, "signatures NOT checked (no key given)");
	if (payloads)
		fprintf(out, "; payloads checked: %llu", (unsigned long long)s->payloads_checked);
	if (s->payloads_pending > 0)
		fprintf(out, "; payloads pending: %llu", (unsigned long long)s->payloads_pending);
	if (s->duplicates > 0)
		fprintf(out, "; exact duplicates skipped: %llu", (unsigned long long)s->duplicates);
	fprintf(out, "\n");
}

json_t *cli_chain_failures_json(const cli_chain_result *res)
{
	const eds_chain_failure *f;
	size_t n = eds_chain_verifier_failures(res->v, &f);
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < n; i++)
		json_array_append_new(
		    list, json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "device_id", f[i].device_id,
		                    "index", (json_int_t)f[i].index, "line",
		                    (json_int_t)failure_line(res, i), "sequence",
		                    (json_int_t)f[i].sequence, "reason",
		                    eds_chain_reason_code(f[i].reason), "message", f[i].message));
	return list;
}

static json_t *devices_json(const eds_chain_verifier *v)
{
	size_t n = eds_chain_verifier_device_count(v);
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < n; i++) {
		eds_chain_device d;
		char head[2 * EDS_HASH_LEN + 1];
		if (eds_chain_verifier_device(v, i, &d) != EDS_OK)
			break;
		eds_hex_encode(head, d.head, EDS_HASH_LEN);
		json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:s, s:b}", "device_id",
		                                      d.device_id, "records", (json_int_t)d.records,
		                                      "last_sequence", (json_int_t)d.last_sequence,
		                                      "head", head, "valid", !d.failed));
	}
	return list;
}

static int print_json(const args *a, const cli_chain_result *res, const eds_chain_summary *s)
{
	json_t *o = json_pack(
	    "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:o}", "valid",
	    s->devices_failed == 0, "records", (json_int_t)s->records, "devices",
	    (json_int_t)s->devices, "devices_failed", (json_int_t)s->devices_failed,
	    "signatures_checked", (json_int_t)s->signatures_checked, "payloads_checked",
	    (json_int_t)s->payloads_checked, "payloads_pending", (json_int_t)s->payloads_pending,
	    "duplicates", (json_int_t)s->duplicates, "key_source", key_source(a), "failures",
	    cli_chain_failures_json(res), "devices_detail", devices_json(res->v));
	return cli_json_print(CMD, o);
}

static int report(const args *a, const cli_chain_result *res)
{
	eds_chain_summary s;
	eds_chain_verifier_summary(res->v, &s);
	if (s.records == 0)
		fprintf(stderr, "eds %s: warning: %s holds no records\n", CMD, a->path);
	if (a->json) {
		int rc = print_json(a, res, &s);
		if (rc != EDS_EXIT_OK)
			return rc;
	} else {
		cli_chain_print_failures(stdout, "", res);
		if (!a->quiet)
			cli_chain_print_summary(stdout, &s,
			                        a->public_key != NULL || a->keys != NULL,
			                        a->payload_dir != NULL);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "eds %s: cannot write to standard output\n", CMD);
		return EDS_EXIT_USAGE;
	}
	return s.devices_failed == 0 ? EDS_EXIT_OK : EDS_EXIT_INVALID;
}

/* ---- the command ----------------------------------------------------------- */

static int take_option(void *ctx, int opt, const char *value)
{
	args *a = ctx;
	switch (opt) {
	case 'k': a->public_key = value; break;
	case 'K': a->keys = value; break;
	case 'p': a->payload_dir = value; break;
	case 'n': a->pending = value; break;
	case 'j': a->json = true; break;
	case 'q': a->quiet = true; break;
	case 't': return cli_parse_threads(CMD, value, &a->threads);
	case 'f':
		if (strcmp(value, "legacy") != 0 && strcmp(value, "esr1") != 0)
			return cli_usage(CMD, "--format must be esr1 or legacy, not '%s'", value);
		a->legacy = strcmp(value, "legacy") == 0;
		break;
	default: return cli_usage(CMD, "unknown option");
	}
	return EDS_EXIT_OK;
}

static int parse_args(int argc, char **argv, args *a)
{
	static const struct option longopts[] = {
	    {"public-key", required_argument, NULL, 'k'},
	    {"keys", required_argument, NULL, 'K'},
	    {"payload-dir", required_argument, NULL, 'p'},
	    {"pending", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"format", required_argument, NULL, 'f'},
	    {"threads", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	memset(a, 0, sizeof *a);
	int rc = cli_getopt_file(CMD, argc, argv, longopts, help_text, take_option, a, &a->path);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (a->public_key != NULL && a->keys != NULL)
		return cli_usage(CMD, "give --public-key or --keys, not both");
	if ((a->public_key != NULL && a->public_key[0] == '\0') ||
	    (a->keys != NULL && a->keys[0] == '\0') ||
	    (a->payload_dir != NULL && a->payload_dir[0] == '\0') ||
	    (a->pending != NULL && a->pending[0] == '\0'))
		return cli_usage(CMD, "an option value is empty");
	if (a->pending != NULL && (a->payload_dir == NULL || a->legacy))
		return cli_usage(CMD, "--pending goes with --payload-dir (and esr1 records)");
	if (a->legacy && (a->keys != NULL || a->quiet))
		return cli_usage(CMD, "--format legacy takes only --public-key, --payload-dir "
		                      "and --json");
	return EDS_EXIT_OK;
}

static int verify(const args *a, const eds_chain_options *opts)
{
	cli_chain_result res;
	int rc = cli_chain_verify_file(CMD, a->path, opts, !a->quiet && !a->json, &res);
	if (rc != EDS_EXIT_OK)
		return rc;
	/* Only once the file was read, so an input error stays a one-line message. */
	if (opts->public_key == NULL && opts->registry == NULL)
		fprintf(stderr,
		        "eds %s: warning: no --public-key or --keys: signatures were NOT checked, "
		        "only sequences%s\n",
		        CMD, a->payload_dir != NULL ? ", links and payloads" : " and links");
	rc = report(a, &res);
	cli_chain_result_free(&res);
	return rc;
}

int cmd_verify_chain(int argc, char **argv)
{
	args a;
	int rc = parse_args(argc, argv, &a);
	if (rc != EDS_EXIT_OK)
		return rc < 0 ? EDS_EXIT_OK : rc;
	if (a.legacy)
		return cli_verify_chain_legacy(a.path, a.public_key, a.payload_dir, a.json);

	eds_public_key pk;
	eds_registry *reg = NULL;
	eds_chain_options opts = {.payload_dir = a.payload_dir, .threads = a.threads};
	eds_status st = EDS_OK;
	struct stat sb;
	/* A mistyped directory would fail every record as "payload missing". */
	if (a.payload_dir != NULL && (stat(a.payload_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
		fprintf(stderr, "eds %s: --payload-dir: %s: not a directory\n", CMD, a.payload_dir);
		return EDS_EXIT_USAGE;
	}
	if (a.public_key != NULL && (st = eds_public_key_load(&pk, a.public_key)) == EDS_OK)
		opts.public_key = &pk;
	if (a.keys != NULL &&
	    (st = cli_progress_load_registry(&reg, a.keys, CMD, !a.quiet && !a.json)) == EDS_OK)
		opts.registry = reg;
	if (st != EDS_OK)
		return cli_report(CMD, st, a.public_key != NULL ? "--public-key" : "--keys");
	pending_list pending = {0};
	if (a.pending != NULL && (st = pending_list_load(&pending, a.pending)) != EDS_OK) {
		eds_registry_free(reg);
		return cli_report(CMD, st, "--pending");
	}
	opts.payload_pending = a.pending != NULL ? pending_list_has : NULL;
	opts.pending_ctx = &pending;
	rc = verify(&a, &opts);
	pending_list_free(&pending);
	eds_registry_free(reg);
	return rc;
}
