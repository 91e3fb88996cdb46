/*
 * cmd_verify_chain_legacy.c - `eds verify-chain --format legacy`: check an
 * edgesentry-rs chain file (one JSON array of records) the way that project
 * does (genesis link, hash links, sequence + 1), plus signatures with a key
 * and payload files with a payload directory.
 *
 * The output follows `eds verify-chain`: one FAIL line per failing record,
 * then a summary line; --json gives one object.  Unlike ESR1, a legacy
 * chain has one device and every record is judged against its predecessor,
 * so every failing record is listed (not only the first of the device).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_json.h"
#include "edgesentry/legacy.h"
#include "legacy_cli.h"
#include "progress.h"

#define CMD "verify-chain"

typedef struct run {
	bool json;
	json_t *failures; /* --json: the failures kept */
	uint64_t omitted; /* --json: failures beyond CLI_JSON_FAILURES_KEPT */
} run;

void cli_legacy_warning(const char *cmd)
{
	fprintf(stderr,
	        "eds %s: warning: legacy (edgesentry-rs) signatures cover only the payload hash, "
	        "not the sequence, time, chain position or object reference\n",
	        cmd);
}

eds_status cli_legacy_options(eds_legacy_chain_options *opts, eds_public_key *pk,
                              const char *public_key, const char *payload_dir)
{
	memset(opts, 0, sizeof *opts);
	opts->payload_dir = payload_dir;
	if (public_key == NULL)
		return EDS_OK;
	eds_status st = eds_public_key_load(pk, public_key);
	if (st == EDS_OK)
		opts->public_key = pk;
	return st;
}

static eds_status note_failure(run *rn, const eds_legacy_record *r, uint64_t index, uint64_t line,
                               eds_status reason)
{
	const char *code = eds_chain_reason_code(reason), *msg = eds_last_error();
	if (!rn->json) {
		printf("FAIL record=#%llu line=%llu sequence=%llu reason=%s: %s\n",
		       (unsigned long long)index, (unsigned long long)line,
		       (unsigned long long)r->sequence, code, msg);
		return EDS_OK;
	}
	if (json_array_size(rn->failures) >= CLI_JSON_FAILURES_KEPT) {
		rn->omitted++;
		return EDS_OK;
	}
	/* The reader keeps sequences within 0 .. 2^63-1, so they fit json_int_t. */
	json_t *f = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "device_id", r->device_id, "index",
	                      (json_int_t)index, "line", (json_int_t)line, "sequence",
	                      (json_int_t)r->sequence, "reason", code, "message", msg);
	if (f == NULL || json_array_append_new(rn->failures, f) != 0)
		return eds_fail(EDS_E_NOMEM, "out of memory");
	return EDS_OK;
}

/* Stream every record through the chain; only errors that stop the run return. */
static eds_status check_all(eds_legacy_reader *rd, eds_legacy_chain *c, run *rn)
{
	cli_progress bar;
	eds_legacy_record r;
	eds_status st;
	cli_progress_begin(&bar, CMD, "records", eds_legacy_reader_size(rd), true);
	while ((st = eds_legacy_reader_next(rd, &r)) == EDS_OK) {
		uint64_t index = c->records, failed = c->failed;
		st = eds_legacy_chain_add(c, &r);
		if (st != EDS_OK && c->failed == failed) {
			eds_fail_prefix(st, "record #%llu (line %llu)", (unsigned long long)index,
			                (unsigned long long)eds_legacy_reader_line(rd));
			break;
		}
		if (st != EDS_OK) {
			cli_progress_end(&bar);
			if ((st = note_failure(rn, &r, index, eds_legacy_reader_line(rd), st)) !=
			    EDS_OK)
				break;
		}
		cli_progress_update(&bar, eds_legacy_reader_offset(rd), c->records);
	}
	cli_progress_end(&bar);
	return st == EDS_DONE ? EDS_OK : st;
}

static void print_summary(const eds_legacy_chain *c)
{
	printf("1 legacy chain, %llu record%s: %llu valid, %llu failed; ",
	       (unsigned long long)c->records, c->records == 1 ? "" : "s",
	       (unsigned long long)(c->records - c->failed), (unsigned long long)c->failed);
	if (c->opts.public_key != NULL)
		printf("signatures checked: %llu", (unsigned long long)c->signatures_checked);
	else
		printf("signatures NOT checked (no key given)");
	if (c->opts.payload_dir != NULL)
		printf("; payloads checked: %llu", (unsigned long long)c->payloads_checked);
	printf("\n");
}

static int print_json(const eds_legacy_chain *c, run *rn)
{
	char head[2 * EDS_LEGACY_HASH_LEN + 1];
	eds_hex_encode(head, c->head, EDS_LEGACY_HASH_LEN);
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:s, s:I, s:s, s:O, s:I}", "format",
	                      "legacy", "valid", c->failed == 0, "records", (json_int_t)c->records,
	                      "records_failed", (json_int_t)c->failed, "signatures_checked",
	                      (json_int_t)c->signatures_checked, "payloads_checked",
	                      (json_int_t)c->payloads_checked, "key_source",
	                      c->opts.public_key != NULL ? "public_key" : "none", "last_sequence",
	                      (json_int_t)c->last_sequence, "head", head, "failures", rn->failures,
	                      "failures_omitted", (json_int_t)rn->omitted);
	return cli_json_print(CMD, o);
}

static int report(const eds_legacy_chain *c, run *rn)
{
	int rc = EDS_EXIT_OK;
	cli_legacy_warning(CMD);
	if (rn->json)
		rc = print_json(c, rn);
	else
		print_summary(c);
	if (rc == EDS_EXIT_OK && fflush(stdout) != 0) {
		fprintf(stderr, "eds %s: cannot write to standard output\n", CMD);
		rc = EDS_EXIT_USAGE;
	}
	if (rc != EDS_EXIT_OK)
		return rc;
	return c->failed == 0 ? EDS_EXIT_OK : EDS_EXIT_INVALID;
}

int cli_verify_chain_legacy(const char *path, const char *public_key, const char *payload_dir,
                            bool json)
{
	eds_legacy_chain_options opts;
	eds_legacy_chain c;
	eds_public_key pk;
	eds_legacy_reader *rd = NULL;
	run rn = {.json = json};
	eds_status st = cli_legacy_options(&opts, &pk, public_key, payload_dir);
	if (st != EDS_OK)
		return cli_report(CMD, st, "--public-key");
	if (json && (rn.failures = json_array()) == NULL)
		return cli_report(CMD, eds_fail(EDS_E_NOMEM, "out of memory"), NULL);
	eds_legacy_chain_init(&c, &opts);
	st = eds_legacy_reader_open(&rd, path);
	if (st == EDS_OK)
		st = check_all(rd, &c, &rn);
	eds_legacy_reader_close(rd);
	/* A record that could not be checked stops the run: exit 2, one line. */
	int rc = st == EDS_OK ? report(&c, &rn) : cli_report(CMD, st, NULL);
	json_decref(rn.failures);
	return rc;
}
