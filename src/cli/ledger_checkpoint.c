/*
 * ledger_checkpoint.c - see ledger_checkpoint.h.  The statement and its
 * signature are edgesentry/checkpoint.h's; this file reads the ledger's
 * head, prints checkpoints, and turns a file of them into the heads
 * `eds ledger verify` looks for on the chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_flags.h"
#include "cli_json.h"
#include "edgesentry/checkpoint.h"
#include "edgesentry/encoding.h"
#include "ledger_checkpoint.h"
#include "store/ledger_internal.h"

static const char *const cmd = "ledger";

int ledger_checkpoint_run(eds_ledger *l, const char *key_path)
{
	eds_ledger_stats ls;
	eds_checkpoint cp = {0};
	eds_secret_key sk;
	eds_status st = eds_secret_key_load(&sk, key_path);
	if (st != EDS_OK)
		return cli_report(cmd, st, "--key");
	st = eds_ledger_stats_get(l, &ls);
	if (st == EDS_OK && !ls.oplog_chained) {
		eds_secret_key_wipe(&sk);
		fprintf(stderr,
		        "eds %s: checkpoint: the operation log is not chained (a ledger "
		        "schema before 4); opening it read-write once (eds ledger recover, "
		        "or eds serve) chains it\n",
		        cmd);
		return EDS_EXIT_USAGE;
	}
	/* On a chained log the newest event's id is the event count (stats). */
	cp.oplog_id = ls.events;
	memcpy(cp.oplog_head, ls.oplog_head, EDS_HASH_LEN);
	cp.time_ms = eds_now_ms();
	if (st == EDS_OK)
		st = eds_checkpoint_sign(&cp, &sk);
	eds_secret_key_wipe(&sk);
	char *json = NULL;
	if (st == EDS_OK)
		st = eds_checkpoint_to_json(&cp, &json);
	if (st != EDS_OK)
		return cli_report(cmd, st, "checkpoint");
	/* A failed write is reported, exit 2, by main's flush after every command. */
	printf("%s\n", json);
	free(json);
	return EDS_EXIT_OK;
}

/* The command the messages about k name. */
static const char *cmd_of(const known_heads *k)
{
	return k->cmd != NULL ? k->cmd : cmd;
}

/* Add one head.  Returns EDS_EXIT_OK or the usage code. */
static int known_heads_add(known_heads *k, uint64_t id, const uint8_t hash[EDS_HASH_LEN])
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		known_head *v = realloc(k->v, cap * sizeof *v);
		if (v == NULL)
			return cli_usage(cmd_of(k), "out of memory for %zu heads", cap);
		k->v = v;
		k->cap = cap;
	}
	known_head *h = &k->v[k->n++];
	memset(h, 0, sizeof *h);
	h->id = id;
	memcpy(h->hash, hash, EDS_HASH_LEN);
	return EDS_EXIT_OK;
}

/* Add --oplog-head ID:HEX, as verify prints the head: ID 1 .. 2^53-1, HEX 64 hex digits. */
static int known_heads_parse(known_heads *k, const char *text)
{
	uint64_t id;
	uint8_t hash[EDS_HASH_LEN];
	const char *colon = strchr(text, ':');
	char idtext[24];
	size_t n = colon != NULL ? (size_t)(colon - text) : 0;
	if (colon == NULL || n >= sizeof idtext)
		return cli_usage(
		    cmd_of(k),
		    "--oplog-head must be ID:HEX, as verify prints the head, not '%.100s'", text);
	memcpy(idtext, text, n);
	idtext[n] = '\0';
	if (cli_u64(idtext, 1, EDS_INT_MAX, &id) != 0)
		return cli_usage(
		    cmd_of(k), "--oplog-head: the event id must be 1 .. 2^53-1, not '%s'", idtext);
	const char *hex = colon + 1;
	if (eds_hex_decode(hash, EDS_HASH_LEN, hex, strlen(hex)) != EDS_OK)
		return cli_usage(cmd_of(k),
		                 "--oplog-head: the hash must be 64 hex digits, not '%.100s'", hex);
	return known_heads_add(k, id, hash);
}

/*
 * The checkpoint key or file cannot be used: the one line on stderr, and
 * with --json the verifier's fatal report, which a script reads on stdout
 * (the ledger, or the log, is not read at all).
 */
static int file_error(known_heads *k, eds_status st, const char *where)
{
	cli_progress_end(&k->bar);
	if (k->json) {
		char msg[4400];
		snprintf(msg, sizeof msg, "%s: %s", where, cli_error_detail(st));
		cli_json_print(cmd_of(k), json_pack("{s:b, s:s}", "valid", 0, "error", msg));
	}
	cli_report(cmd_of(k), st, where);
	return EDS_EXIT_USAGE;
}

/* One line of the file: a checkpoint signed with pk, whose head is added. */
static int load_line(known_heads *k, const char *text, size_t len, uint64_t line,
                     const eds_public_key *pk)
{
	eds_checkpoint cp;
	eds_status st = eds_checkpoint_from_json(&cp, text, len);
	if (st == EDS_OK)
		st = eds_checkpoint_verify(&cp, pk);
	if (st != EDS_OK) {
		char where[4200];
		snprintf(where, sizeof where, "--checkpoint %s:%llu", k->file,
		         (unsigned long long)line);
		return file_error(k, st, where);
	}
	if (cp.oplog_id == 0) /* an empty log: nothing to find */
		return EDS_EXIT_OK;
	int rc = known_heads_add(k, cp.oplog_id, cp.oplog_head);
	if (rc == EDS_EXIT_OK) {
		k->v[k->n - 1].line = line;
		k->v[k->n - 1].time_ms = cp.time_ms;
		k->checkpoints++;
	}
	return rc;
}

/*
 * Add the checkpoints of file (JSON Lines, as `eds ledger checkpoint`
 * prints them; empty lines skipped), each one's signature checked with the
 * public key key_spec.  A checkpoint of an empty log (oplog_id 0) is
 * checked but holds no head.  Any bad line refuses the whole file: one line
 * on stderr naming FILE:LINE, and the usage exit code.
 */
static int known_heads_load(known_heads *k, const char *file, const char *key_spec)
{
	eds_public_key pk;
	char *text = NULL;
	size_t len = 0;
	eds_status st = eds_public_key_load(&pk, key_spec);
	if (st != EDS_OK)
		return file_error(k, st, "--checkpoint-key");
	if ((st = eds_read_file(file, CHECKPOINT_FILE_MAX, &text, &len)) != EDS_OK)
		return file_error(k, st, "--checkpoint");
	k->file = file;
	int rc = EDS_EXIT_OK;
	uint64_t line = 0;
	/* a full file is some 200,000 signatures: seconds to check */
	cli_progress_begin(&k->bar, k->cmd != NULL ? k->cmd : "ledger verify", "checkpoints", len,
	                   k->progress);
	for (size_t at = 0; at < len && rc == EDS_EXIT_OK;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		line++;
		if (end > at)
			rc = load_line(k, text + at, end - at, line, &pk);
		at = end + 1;
		cli_progress_update(&k->bar, at < len ? at : len, line);
	}
	cli_progress_end(&k->bar);
	free(text);
	return rc;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const known_head *)a)->id, y = ((const known_head *)b)->id;
	return (x > y) - (x < y);
}

/* Sort by id, so the walk of the log meets the heads in order. */
static void known_heads_sort(known_heads *k)
{
	if (k->n > 1)
		qsort(k->v, k->n, sizeof *k->v, by_id);
}

int known_heads_from_flags(known_heads *k, const char *oplog_head, const char *checkpoint,
                           const char *checkpoint_key)
{
	int rc = EDS_EXIT_OK;
	if ((checkpoint != NULL) != (checkpoint_key != NULL))
		return cli_usage(cmd_of(k),
		                 checkpoint != NULL
		                     ? "--checkpoint needs --checkpoint-key KEY: the public "
		                       "key whose signatures count"
		                     : "--checkpoint-key is only with --checkpoint FILE");
	if (oplog_head != NULL && (rc = known_heads_parse(k, oplog_head)) != EDS_EXIT_OK)
		return rc;
	if (checkpoint != NULL &&
	    (rc = known_heads_load(k, checkpoint, checkpoint_key)) != EDS_EXIT_OK)
		return rc;
	known_heads_sort(k);
	return EDS_EXIT_OK;
}

void known_head_origin(const known_heads *k, const known_head *h, char *out, size_t cap)
{
	out[0] = '\0';
	if (h->line == 0) /* --oplog-head, the only head not from a file: no name needed */
		return;
	char when[32] = "?";
	time_t t = (time_t)(h->time_ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, cap, "checkpoint %s:%llu (signed %s): ", k->file, (unsigned long long)h->line,
	         when);
}

void known_heads_free(known_heads *k)
{
	free(k->v);
	memset(k, 0, sizeof *k);
}
