/*
 * cmd_ledger.c - `eds ledger verify --ledger DIR` re-checks everything a
 * server ledger holds, trusting nothing the server decided; `eds ledger
 * export --ledger DIR --out DIR` writes the auditor's copy (records.jsonl,
 * registry.json, payloads/) that `eds verify-chain` checks offline;
 * `eds ledger recover --ledger DIR` does a server start's crash recovery
 * without starting a server.  All but recover open the ledger read-only
 * (eds_ledger_options.read_only): they write nothing to it, work on
 * read-only media and beside a running server.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain_internal.h"
#include "cli.h"
#include "cli_flags.h"
#include "cli_json.h"
#include "edgesentry/encoding.h"
#include "edgesentry/ledger.h"
#include "ledger_checkpoint.h"
#include "ledger_log.h"
#include "oplog_walk.h"
#include "progress.h"
#include "store/ledger_internal.h"

static const char *const cmd = "ledger";
/* The flags that take a value (their values are never switches or help). */
static const char *const names[] = {
    "--ledger",     "--out",        "--threads",        "--device", "--after-id",
    "--oplog-head", "--checkpoint", "--checkpoint-key", "--key"};
enum { NAMES = sizeof names / sizeof names[0] };

static void help(void)
{
	printf("usage: eds ledger verify --ledger DIR [--threads N] [--oplog-head ID:HEX]\n"
	       "                         [--checkpoint FILE --checkpoint-key KEY]\n"
	       "                         [--json] [--quiet]\n"
	       "       eds ledger export --ledger DIR --out DIR [--json]\n"
	       "       eds ledger backup --ledger DIR --out DIR [--json]\n"
	       "       eds ledger recover --ledger DIR [--json]\n"
	       "       eds ledger log --ledger DIR [--device ID] [--after-id N] [--json]\n"
	       "       eds ledger stats --ledger DIR [--json]\n"
	       "       eds ledger checkpoint --ledger DIR --key KEY\n\n"
	       "verify: re-check every record of a server ledger as an outside verifier\n"
	       "would: field rules, stored record_hash, sequence and prev_hash links from 1,\n"
	       "the signature with the key the device had at that sequence, revocation,\n"
	       "each stored payload file (size and BLAKE3), and that each chain head the\n"
	       "server resumes from is the last record; first, the database's own\n"
	       "structure (every page, also of the operation log and the indexes);\n"
	       "last, the operation log's hash chain: each event's chain_hash must follow\n"
	       "from the event and the one before (docs/format.md), ids must run 1, 2,\n"
	       "3 ... (also in a log not chained), and the head (the newest event's, as\n"
	       "ID:HEX) is printed: write it down, as an end cut off or a log\n"
	       "recomputed shows only against an earlier head (--oplog-head);\n"
	       "then the records against the log, both ways: each stored record must\n"
	       "have an \"accepted\" event with its device, sequence and record_hash, and\n"
	       "each accepted event its stored record (a zero record_hash matches on\n"
	       "device and sequence).  Payloads still pending (record accepted, PUT\n"
	       "not yet received) are counted, not failures.  Each failure is one line\n"
	       "on stderr, then a summary; reasons (--json): those of eds verify-chain,\n"
	       "record_hash_mismatch (the stored record_hash), head_mismatch (a stored\n"
	       "chain head; sequence: the stored head's), database_damaged\n"
	       "(device_id \"(database)\": SQLite's quick_check found damage),\n"
	       "oplog_chain_broken (device_id \"(oplog)\"; sequence: the event's id),\n"
	       "oplog_head_mismatch (the same; the --oplog-head event is missing or has\n"
	       "another chain_hash), record_not_logged (a record without its accepted\n"
	       "event: stored behind the ingest gate, or the event deleted) and\n"
	       "logged_record_missing (an accepted event's record is not stored: deleted,\n"
	       "cut off or replaced).\n\n");
	printf("export: write an auditor's copy into --out (must not hold records.jsonl):\n"
	       "records.jsonl (JSON Lines), registry.json (key registry), payloads/,\n"
	       "pending.jsonl (one line per record whose payload is still pending, its\n"
	       "PUT not received: device_id, sequence, payload_hash) and oplog.jsonl\n"
	       "(the operation log, as log --json prints it).  records.jsonl comes\n"
	       "last, whole, so a failed export leaves none.  Checked offline with\n"
	       "  eds verify-chain OUT/records.jsonl --keys OUT/registry.json \\\n"
	       "      --payload-dir OUT/payloads --pending OUT/pending.jsonl\n"
	       "  eds verify-oplog OUT/oplog.jsonl --records OUT/records.jsonl \\\n"
	       "      --pending OUT/pending.jsonl\n"
	       "(without --pending, a pending payload's record is payload_missing; the\n"
	       "second checks the list against the log, as far as the log can).\n\n"
	       "backup: copy the whole ledger into the new directory --out, while eds\n"
	       "serve may keep writing to it: the database as one consistent snapshot,\n"
	       "then each payload file its records hold (checked against its hash\n"
	       "first).  The copy is a ledger: eds serve and eds ledger verify take it\n"
	       "as it is (restore = use it as --ledger).  It is built beside --out and\n"
	       "renamed only when complete and on disk, so --out is whole or absent.\n\n"
	       "verify, export, backup, log, stats and checkpoint open the ledger\n"
	       "read-only: they never write to it (no schema upgrade, no lock), so they\n"
	       "work on a copy on read-only media and beside a running eds serve, whose\n"
	       "records committed so far they see.  With a ledger.sqlite-wal file but no\n"
	       "ledger.sqlite-shm in a read-only directory they fail: an empty\n"
	       "ledger.sqlite-shm file there suffices.\n\n"
	       "recover: what eds serve does when it starts on a ledger that went through\n"
	       "a crash or power cut: payload files lost before they reached the disk are\n"
	       "written again from the ledger's journal (records whose bytes are not there\n"
	       "go back to payload pending), so verify and export see them.  Refused while\n"
	       "eds serve runs on the ledger (it recovered when it started).\n\n"
	       "log: print the ledger's operation log, every decision the server stored\n"
	       "(accepted, duplicate, rejected with its reason, payload), oldest first,\n"
	       "one line each: ID TIME SOURCE DECISION REASON DEVICE/SEQUENCE HASH\n"
	       "(\"-\" where unknown, e.g. the device of a malformed body).\n\n"
	       "stats: what the ledger holds, at once (no record is read): devices,\n"
	       "records, payloads pending, operation-log events, payloads in the journal\n"
	       "(not yet known to be on disk as files), the database's size and the\n"
	       "operation log's head as ID:HEX.\n\n"
	       "checkpoint: sign the operation log's head (id and chain_hash) and the time\n"
	       "with the secret key KEY, and print it as one JSON line (docs/format.md,\n"
	       "\"Signed checkpoints\"): append it to a file kept away from the ledger, and\n"
	       "verify --checkpoint FILE --checkpoint-key KEY.pub later fails unless every\n"
	       "head in FILE is still on the chain (oplog_head_mismatch names FILE:LINE).\n"
	       "A checkpoint in FILE that is malformed or not signed by KEY refuses the\n"
	       "whole file (exit 2).  Refused on a ledger whose log is not chained.\n\n");
	printf("Options:\n"
	       "  --ledger DIR   the ledger directory of `eds serve`\n"
	       "  --out DIR      export destination (created when absent); backup\n"
	       "                 destination (must not exist); never inside --ledger\n"
	       "  --threads N    verify: check signatures on N threads (0, the default:\n"
	       "                 one per core; 1: no extra thread; at most 256); the\n"
	       "                 report is the same for every N\n"
	       "  --oplog-head ID:HEX\n"
	       "                 verify: a head written down earlier, as verify prints\n"
	       "                 it (ID 1 .. 2^53-1, HEX 64 hex digits): event ID must\n"
	       "                 still be on the chain with chain_hash HEX, so the log up\n"
	       "                 to it is unchanged and not cut off before it\n"
	       "  --checkpoint FILE\n"
	       "                 verify: checkpoints (JSON Lines, as checkpoint prints\n"
	       "                 them; at most 64 MiB), each signed by --checkpoint-key;\n"
	       "                 each head must be on the chain, as for --oplog-head\n"
	       "  --checkpoint-key KEY\n"
	       "                 verify: the public key whose checkpoints count (64 hex\n"
	       "                 characters or a key file)\n"
	       "  --key KEY      checkpoint: the secret key that signs (as eds sign's)\n"
	       "  --json         verify: print one JSON object on stdout instead: valid,\n"
	       "                 records, devices, signatures_checked, payloads_checked,\n"
	       "                 payloads_pending, journaled_payloads, failure_count,\n"
	       "                 failures[] (device_id, sequence, reason, message; the\n"
	       "                 first %d), failures_omitted (the rest),\n"
	       "                 oplog_events_checked, oplog_head (hex; null: no event,\n"
	       "                 or a ledger before schema 4, not chained), oplog_head_id\n"
	       "                 (its event's id; null as oplog_head),\n"
	       "                 oplog_accepted_checked (accepted events matched against\n"
	       "                 the records), checkpoints_checked; no failure\n"
	       "                 lines on stderr, no progress.  A fatal error (exit 2)\n"
	       "                 prints {\"valid\":false,\"error\":MESSAGE} too.\n"
	       "                 export, backup: one JSON object instead of the\n"
	       "                 summary: ok (false when payloads are missing), out,\n"
	       "                 records, payloads, pending, missing, and export's\n"
	       "                 events or backup's restored; recover: ok, restored,\n"
	       "                 demoted; stats: ok, devices, records,\n"
	       "                 pending_payloads, events, journaled_payloads, bytes,\n"
	       "                 oplog_head, oplog_head_id.\n"
	       "                 Fatal:\n"
	       "                 {\"ok\":false,\"error\":MESSAGE}.  No progress\n"
	       "                 log: JSON Lines, one object per event: id, time_ms,\n"
	       "                 source, device_id, sequence, decision, reason,\n"
	       "                 record_hash (null where unknown), chain_hash\n"
	       "                 (null before schema 4)\n"
	       "  --quiet        verify: print only the failures: no summary, no progress\n"
	       "  --device ID    log: only this device's events\n"
	       "  --after-id N   log: only events after the one with id N (read in parts)\n"
	       "  -h, --help     show this help\n\n"
	       "On a terminal, verify, export and backup of a ledger of %u records or\n"
	       "more show a progress line on stderr, and so does reading a --checkpoint\n"
	       "FILE of 8 MiB or more (some 23,000 signatures).\n\n"
	       "Exit codes:\n"
	       "  0  verify: everything valid; export, backup: written; recover, log,\n"
	       "     stats, checkpoint: done\n"
	       "  1  verify: at least one failure (printed on stderr, or in the JSON);\n"
	       "     export, backup: written, but payload files missing or damaged in\n"
	       "     the ledger are missing in the copy too (eds ledger verify names them)\n"
	       "  2  usage error, no ledger, unreadable ledger, unwritable output,\n"
	       "     (recover) the ledger in use by eds serve, (verify) a checkpoint\n"
	       "     file with a bad line, (checkpoint) an unusable key or a log not\n"
	       "     chained\n",
	       CLI_JSON_FAILURES_KEPT, CLI_PROGRESS_MIN_ITEMS);
}

/* ---- verify ----------------------------------------------------------------- */

/* Records verified together: their signatures spread over the verifier's
 * threads, and memory stays at one batch (about 1.4 MB) for any ledger. */
enum { BATCH = 1024 };

typedef struct batch {
	eds_record recs[BATCH];
	uint8_t hashes[BATCH][EDS_HASH_LEN]; /* computed here, passed on to the verifier */
	uint8_t stored_hash[BATCH][EDS_HASH_LEN];
	bool payload_stored[BATCH];
	size_t n;
} batch;

typedef struct verify_ctx {
	eds_chain_verifier *v;
	const char *payload_dir;
	uint64_t records, payloads, pending, failures;
	uint64_t accepted; /* "accepted" events, matched against the records */
	bool damaged;      /* the database's check found damage */
	oplog_walk walk;   /* the operation log's chain, and the heads to find on it */
	json_t *listed;    /* --json: the failures kept; NULL: each is printed on stderr */
	uint64_t omitted;  /* --json: failures beyond CLI_JSON_FAILURES_KEPT */
	cli_progress bar;
	batch *b;
} verify_ctx;

/* Reason codes of the checks only a ledger has (the chain's are eds_chain_reason_code's). */
#define REASON_RECORD_HASH "record_hash_mismatch"
#define REASON_HEAD        "head_mismatch"
#define REASON_STORE       "database_damaged"

/* What a stderr failure line names besides the device: the text lines
 * predate reason codes and show one only for chain failures. */
enum { SHOW_SEQUENCE = 1, SHOW_REASON = 2 };

typedef struct failure_info {
	const char *device_id;
	uint64_t sequence; /* head_mismatch: the stored head's sequence */
	const char *reason, *message;
	unsigned show;
} failure_info;

static void failure(verify_ctx *c, const failure_info *f)
{
	c->failures++;
	if (c->listed != NULL) {
		cli_json_list_failure(c->listed, &c->omitted, f->device_id, f->sequence, f->reason,
		                      f->message);
		return;
	}
	cli_progress_end(&c->bar); /* the line goes where the bar was; it comes back */
	fprintf(stderr, "eds ledger: %s", f->device_id);
	if (f->show & SHOW_SEQUENCE)
		fprintf(stderr, "/%llu", (unsigned long long)f->sequence);
	if (f->show & SHOW_REASON)
		fprintf(stderr, ": %s", f->reason);
	fprintf(stderr, ": %s\n", f->message);
}

static void check_payload(verify_ctx *c, const eds_record *r, bool stored)
{
	eds_status st = eds_payload_check(c->payload_dir, r->payload_hash, r->payload_size);
	if (st == EDS_OK) {
		c->payloads++;
	} else if (st == EDS_E_NOT_FOUND && !stored) {
		c->pending++;
	} else {
		failure_info f = {r->device_id, r->sequence, eds_chain_reason_code(st),
		                  eds_last_error(), SHOW_SEQUENCE};
		failure(c, &f);
	}
}

/* The record's hash into hash, checked against the one the server stored. */
static void check_stored_hash(verify_ctx *c, const eds_record *r, const uint8_t *stored,
                              uint8_t *hash)
{
	if (eds_record_compute_hash(r, hash) == EDS_OK && memcmp(hash, stored, EDS_HASH_LEN) == 0)
		return;
	failure_info f = {r->device_id, r->sequence, REASON_RECORD_HASH,
	                  "stored record_hash differs from the record's", SHOW_SEQUENCE};
	failure(c, &f);
}

/* Stored hashes and payloads line by line in record order, then the chain
 * checks of the whole batch (their failures are printed at the end).  Only
 * a fatal verifier error returns. */
static eds_status flush_batch(verify_ctx *c)
{
	batch *b = c->b;
	for (size_t i = 0; i < b->n; i++) {
		check_stored_hash(c, &b->recs[i], b->stored_hash[i], b->hashes[i]);
		check_payload(c, &b->recs[i], b->payload_stored[i]);
	}
	eds_status st = eds_chain_verifier_add_batch_hashed(
	    c->v, b->recs, (const uint8_t(*)[EDS_HASH_LEN])b->hashes, b->n);
	b->n = 0;
	return st;
}

static eds_status verify_record(void *ctx, const eds_ledger_record *lr)
{
	verify_ctx *c = ctx;
	batch *b = c->b;
	c->records++;
	b->recs[b->n] = lr->record;
	memcpy(b->stored_hash[b->n], lr->record_hash, EDS_HASH_LEN);
	b->payload_stored[b->n++] = lr->payload_stored != 0;
	cli_progress_update(&c->bar, 0, c->records);
	return b->n == BATCH ? flush_batch(c) : EDS_OK;
}

/* Walk the ledger's devices and the verifier's (both in device_id order) together. */
typedef struct head_ctx {
	verify_ctx *c;
	size_t next;
} head_ctx;

static eds_status verify_head(void *ctx, const eds_ledger_device *d)
{
	head_ctx *h = ctx;
	eds_chain_device cd;
	uint64_t seq = 0;
	const uint8_t *hash = NULL;
	if (h->next < eds_chain_verifier_device_count(h->c->v) &&
	    eds_chain_verifier_device(h->c->v, h->next, &cd) == EDS_OK &&
	    strcmp(cd.device_id, d->device_id) == 0) {
		h->next++;
		/* A chain that failed verifies only up to its failure, already named:
		 * its head cannot be compared with that, and is not a failure of its own. */
		if (cd.failed)
			return EDS_OK;
		seq = cd.last_sequence;
		hash = cd.head;
	}
	if (d->head_sequence != seq || (seq > 0 && memcmp(hash, d->head_hash, EDS_HASH_LEN) != 0)) {
		char msg[128];
		snprintf(msg, sizeof msg, "stored head %llu does not match its %llu records",
		         (unsigned long long)d->head_sequence, (unsigned long long)seq);
		failure_info f = {d->device_id, d->head_sequence, REASON_HEAD, msg, 0};
		failure(h->c, &f);
	}
	return EDS_OK;
}

/*
 * The database's own structure, every page: damage that no walk of the
 * records meets (the operation log, an index) would otherwise pass.  Not a
 * device's failure: "(database)" is no device id.
 */
static void check_store(eds_ledger *l, verify_ctx *c)
{
	if (eds_ledger_check_store(l) != EDS_E_IO)
		return;
	c->damaged = true;
	failure_info f = {"(database)", 0, REASON_STORE, eds_last_error(), 0};
	failure(c, &f);
}

static void report_chain_failures(verify_ctx *c)
{
	const eds_chain_failure *list;
	size_t n = eds_chain_verifier_failures(c->v, &list);
	for (size_t i = 0; i < n; i++) {
		failure_info f = {list[i].device_id, list[i].sequence,
		                  eds_chain_reason_code(list[i].reason), list[i].message,
		                  SHOW_SEQUENCE | SHOW_REASON};
		failure(c, &f);
	}
}

/*
 * The summary line of a failed run; after a power cut the server has not
 * yet restarted from, lost payload files may still be in the ledger's
 * journal, and the auditor should know that a server start writes them again.
 */
static void report_failures(const verify_ctx *c, const eds_ledger_stats *ls)
{
	fprintf(stderr, "eds ledger: %llu failures in %llu records",
	        (unsigned long long)c->failures, (unsigned long long)c->records);
	if (ls->journaled_payloads > 0)
		fprintf(stderr,
		        " (%llu payloads are in the ledger's journal, not yet confirmed on disk: "
		        "`eds ledger recover`, or starting eds serve, writes lost payload files "
		        "again)",
		        (unsigned long long)ls->journaled_payloads);
	fputc('\n', stderr);
}

/*
 * The operation log's line: the head is printed for the auditor to write
 * down, since a copy cut short by its newest events still verifies; only
 * a head from earlier that is no longer on the chain shows that.
 */
static void report_oplog(const verify_ctx *c)
{
	oplog_walk_report(&c->walk, "a ledger schema before 4, read as it is; opening it "
	                            "read-write, as eds serve does, upgrades it");
	printf("records match the operation log: %llu records, %llu accepted events\n",
	       (unsigned long long)c->records, (unsigned long long)c->accepted);
}

static int report_text(const verify_ctx *c, const eds_ledger_stats *ls, bool quiet)
{
	if (c->failures > 0) {
		if (!quiet)
			report_failures(c, ls);
		return EDS_EXIT_INVALID;
	}
	eds_chain_summary s;
	eds_chain_verifier_summary(c->v, &s);
	if (!quiet) {
		printf("ledger OK: %llu devices, %llu records, %llu signatures, %llu payloads "
		       "checked, %llu pending\n",
		       (unsigned long long)s.devices, (unsigned long long)c->records,
		       (unsigned long long)s.signatures_checked, (unsigned long long)c->payloads,
		       (unsigned long long)c->pending);
		report_oplog(c);
	}
	return EDS_EXIT_OK;
}

/* The id of the head, for pasting with it into --oplog-head; null where the head is. */
static json_t *head_id_json(bool chained, uint64_t id)
{
	return chained && id > 0 ? json_integer((json_int_t)id) : json_null();
}

/* The same facts as the text, with every failure (up to the cap) in failures[]. */
static int report_json(const verify_ctx *c, const eds_ledger_stats *ls)
{
	eds_chain_summary s;
	eds_chain_verifier_summary(c->v, &s);
	json_t *o =
	    json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:I}", "valid",
	              c->failures == 0, "records", (json_int_t)c->records, "devices",
	              (json_int_t)s.devices, "signatures_checked", (json_int_t)s.signatures_checked,
	              "payloads_checked", (json_int_t)c->payloads, "payloads_pending",
	              (json_int_t)c->pending, "journaled_payloads",
	              (json_int_t)ls->journaled_payloads, "failure_count", (json_int_t)c->failures,
	              "failures", c->listed, "failures_omitted", (json_int_t)c->omitted);
	json_t *head_id = head_id_json(c->walk.chained, c->walk.head_id);
	if (o != NULL &&
	    (json_object_set_new(o, "oplog_events_checked",
	                         json_integer((json_int_t)c->walk.events)) != 0 ||
	     json_object_set_new(o, "oplog_head", eds_ledger_hash_json(c->walk.head)) != 0 ||
	     json_object_set_new(o, "oplog_head_id", head_id) != 0 ||
	     json_object_set_new(o, "oplog_accepted_checked",
	                         json_integer((json_int_t)c->accepted)) != 0 ||
	     json_object_set_new(o, "checkpoints_checked",
	                         json_integer((json_int_t)c->walk.known->checkpoints)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	int rc = cli_json_print(cmd, o);
	return rc != EDS_EXIT_OK ? rc : c->failures > 0 ? EDS_EXIT_INVALID : EDS_EXIT_OK;
}

/* The verifier with the ledger's own key registry, and the batch. */
static eds_status verify_setup(eds_ledger *l, unsigned threads, verify_ctx *c, eds_registry **reg)
{
	char *json = NULL;
	eds_status st = eds_ledger_registry_json(l, &json);
	if (st == EDS_OK)
		st = eds_registry_parse(reg, json, strlen(json));
	free(json);
	eds_chain_options opts = {.registry = *reg, .threads = threads};
	if (st == EDS_OK)
		st = eds_chain_verifier_new(&c->v, &opts);
	if (st == EDS_OK && (c->b = malloc(sizeof *c->b)) == NULL)
		st = eds_fail(EDS_E_NOMEM, "out of memory for a batch of records");
	if (st == EDS_OK)
		c->b->n = 0;
	return st;
}

/* A failure of the operation log's walk, as the ledger's other failures. */
static void oplog_failure(void *ctx, uint64_t id, const char *reason, const char *message)
{
	failure_info f = {"(oplog)", id, reason, message, SHOW_SEQUENCE | SHOW_REASON};
	failure(ctx, &f);
}

/*
 * Every event: its id in order and its link (a chained log), the head
 * written down earlier, and the count of accepted events the records are
 * matched against.
 */
static eds_status check_event(void *ctx, uint64_t id, const eds_ledger_event *ev)
{
	verify_ctx *c = ctx;
	oplog_walk_event(&c->walk, id, ev);
	if (strcmp(ev->decision, "accepted") == 0)
		c->accepted++;
	return EDS_OK;
}

/* One record the operation log does not account for, or one accepted event without its record. */
static eds_status report_mismatch(void *ctx, const eds_ledger_mismatch *m)
{
	verify_ctx *c = ctx;
	char msg[256];
	const char *reason = oplog_mismatch_message(m, "the ledger", msg, sizeof msg);
	failure_info f = {m->device_id, m->sequence, reason, msg, SHOW_SEQUENCE | SHOW_REASON};
	failure(c, &f);
	return EDS_OK;
}

/*
 * Every record, then the chain failures and the stored heads, the operation
 * log's chain, and the records against the log; only fatal errors return.
 */
static eds_status verify_all(eds_ledger *l, verify_ctx *c)
{
	eds_status st = eds_ledger_record_foreach(l, verify_record, c);
	if (st == EDS_OK)
		st = flush_batch(c);
	cli_progress_end(&c->bar);
	if (st == EDS_OK) {
		head_ctx h = {c, 0};
		report_chain_failures(c);
		st = eds_ledger_device_foreach(l, verify_head, &h);
	}
	/* A damaged database already failed; its log may not even read to the end. */
	if (st == EDS_OK && !c->damaged)
		st = eds_ledger_event_foreach(l, 0, NULL, check_event, c);
	if (st == EDS_OK && !c->damaged) {
		oplog_walk_missing(&c->walk);
		st = eds_ledger_match_events(l, report_mismatch, c);
	}
	return st;
}

enum action { VERIFY, EXPORT, BACKUP, RECOVER, LOG, STATS, CHECKPOINT, ACTIONS };
static const char *const action_names[ACTIONS] = {"verify", "export", "backup",    "recover",
                                                  "log",    "stats",  "checkpoint"};

typedef struct ledger_args {
	const char *action_name, *dir, *out, *threads, *device, *after_id, *oplog_head;
	const char *checkpoint, *checkpoint_key, *key;
	enum action action;
	bool json, quiet;
	known_heads known; /* --oplog-head and --checkpoint, read */
} ledger_args;

/*
 * A fatal error: the one line on stderr, and with --json also
 * {"valid":false,"error":...} ("ok" for the others) on stdout, so a script
 * reading the report always gets an object.  Exit 2.
 */
static int fatal(const ledger_args *a, eds_status st, const char *context)
{
	if (a->json && a->action != LOG) { /* log's --json is JSON Lines: no object */
		char msg[1024];
		snprintf(msg, sizeof msg, "%s: %s", context, cli_error_detail(st));
		const char *key = a->action == VERIFY ? "valid" : "ok";
		cli_json_print(cmd, json_pack("{s:b, s:s}", key, 0, "error", msg));
	}
	cli_report(cmd, st, context);
	return EDS_EXIT_USAGE;
}

static int verify(eds_ledger *l, ledger_args *a, unsigned threads)
{
	eds_registry *reg = NULL;
	eds_ledger_stats ls = {0};
	verify_ctx c = {.payload_dir = eds_ledger_payload_dir(l)};
	/* Read first: the record count sizes the progress line, and the journal
	 * count of the report is the one the run started from. */
	eds_status st = eds_ledger_stats_get(l, &ls);
	c.walk = (oplog_walk){
	    .known = &a->known, .fail = oplog_failure, .ctx = &c, .chained = ls.oplog_chained != 0};
	if (st == EDS_OK)
		st = verify_setup(l, threads, &c, &reg);
	if (st == EDS_OK && a->json && (c.listed = json_array()) == NULL)
		st = eds_fail(EDS_E_NOMEM, "out of memory");
	cli_progress_begin_items(&c.bar, "ledger verify", "records", ls.records,
	                         !a->json && !a->quiet);
	if (st == EDS_OK)
		check_store(l, &c);
	if (st == EDS_OK)
		st = verify_all(l, &c);
	int rc;
	if (st != EDS_OK)
		rc = fatal(a, st, "verify");
	else
		rc = a->json ? report_json(&c, &ls) : report_text(&c, &ls, a->quiet);
	json_decref(c.listed);
	free(c.b);
	eds_chain_verifier_free(c.v);
	eds_registry_free(reg);
	return rc;
}

/* The progress line of a walk over every record of l, sized by its record count. */
static eds_status begin_walk(eds_ledger *l, const char *label, cli_progress *bar, bool show)
{
	eds_ledger_stats ls;
	eds_status st = eds_ledger_stats_get(l, &ls);
	if (st == EDS_OK)
		cli_progress_begin_items(bar, label, "records", ls.records, show);
	return st;
}

/*
 * The end of an export or backup: payload files missing or damaged in the
 * ledger were not copied, and are missing in the copy too (exit 1).
 */
static int missing_payloads(uint64_t missing)
{
	if (missing == 0)
		return EDS_EXIT_OK;
	fprintf(stderr,
	        "eds %s: %llu records' payload files are missing or damaged in the ledger, "
	        "so in the copy too (eds ledger verify --ledger names them)\n",
	        cmd, (unsigned long long)missing);
	return EDS_EXIT_INVALID;
}

/* ---- export ----------------------------------------------------------------- */

typedef struct export_ctx {
	FILE *out;
	FILE *pending; /* pending.jsonl: the records whose payload is still pending */
	const char *src_payloads;
	char dst_payloads[PATH_MAX];
	eds_ledger_backup_stats n; /* records, payloads, pending, missing */
	uint64_t events;           /* operation-log events written to oplog.jsonl */
	cli_progress bar;
} export_ctx;

/*
 * A stored payload is copied only when its file still hashes to its name
 * (staged: one sync at the end makes all of them durable); one missing or
 * damaged is counted, and the export's verify-chain will name its record.
 */
static eds_status export_record(void *ctx, const eds_ledger_record *lr)
{
	export_ctx *e = ctx;
	char json[EDS_RECORD_JSON_MAX];
	size_t n;
	eds_status st = eds_record_to_json(&lr->record, json, sizeof json, &n);
	if (st != EDS_OK) {
		/* The ledger holds a record no verifier would take: name it. */
		char why[512];
		snprintf(why, sizeof why, "%s", cli_error_detail(st));
		return eds_fail(st, "%.128s/%llu: %s", lr->record.device_id,
		                (unsigned long long)lr->record.sequence, why);
	}
	if (fwrite(json, 1, n, e->out) != n || fputc('\n', e->out) == EOF)
		return eds_fail(EDS_E_IO, "records.jsonl: %s", strerror(errno));
	if (!lr->payload_stored &&
	    ((st = eds_ledger_pending_to_json(&lr->record, json, sizeof json, &n)) != EDS_OK ||
	     fwrite(json, 1, n, e->pending) != n || fputc('\n', e->pending) == EOF))
		return st != EDS_OK ? st : eds_fail(EDS_E_IO, "pending.jsonl: %s", strerror(errno));
	e->n.records++;
	cli_progress_update(&e->bar, 0, e->n.records);
	st = eds_ledger_copy_payload(e->src_payloads, e->dst_payloads, lr, &e->n);
	if (st == EDS_DONE) {
		e->n.missing++;
		st = EDS_OK;
	}
	return st;
}

static eds_status write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return eds_write_file_atomic(path, text, strlen(text), 0644);
}

/* Close f (path names it), durable; st: the status so far, kept when it failed. */
static eds_status close_synced(FILE *f, const char *path, eds_status st)
{
	if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && st == EDS_OK)
		st = eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	fclose(f);
	return st;
}

/*
 * The records and payloads: records.jsonl is written to path, pending.jsonl
 * (every record sent without its payload, none since) to pending, both then
 * made durable.
 */
static eds_status export_records(eds_ledger *l, const char *path, const char *pending,
                                 export_ctx *e)
{
	e->out = fopen(path, "w");
	if (e->out == NULL)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	e->pending = fopen(pending, "w");
	if (e->pending == NULL) {
		fclose(e->out);
		return eds_fail(EDS_E_IO, "%s: %s", pending, strerror(errno));
	}
	eds_status st = eds_payload_stage_dirs(e->dst_payloads);
	if (st == EDS_OK)
		st = eds_ledger_record_foreach(l, export_record, e);
	if (st == EDS_OK)
		st = eds_payload_sync(e->dst_payloads);
	cli_progress_end(&e->bar);
	st = close_synced(e->pending, pending, st);
	return close_synced(e->out, path, st);
}

typedef struct oplog_job {
	eds_ledger *l;
	uint64_t *events;
} oplog_job;

/* The whole operation log as JSON Lines into the new file fd. */
static eds_status fill_oplog(int fd, void *ctx, const char *tmp)
{
	const oplog_job *j = ctx;
	int copy = dup(fd);
	FILE *f = copy >= 0 ? fdopen(copy, "w") : NULL;
	if (f == NULL) {
		if (copy >= 0)
			close(copy);
		return eds_fail(EDS_E_IO, "%s: %s", tmp, strerror(errno));
	}
	eds_status st = ledger_log_write(j->l, 0, NULL, true, f, j->events);
	if (fclose(f) != 0 && st == EDS_OK)
		st = eds_fail(EDS_E_IO, "%s: %s", tmp, strerror(errno));
	return st;
}

/*
 * records.jsonl is what marks a finished export, so it appears last, by
 * rename, and only whole: an export that fails leaves none (and has not
 * touched registry.json), so no truncated copy can verify as complete.
 */
static eds_status export_to(eds_ledger *l, const char *dir, export_ctx *e)
{
	char path[PATH_MAX], partial[PATH_MAX + 16];
	struct stat sb;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%s: %s", dir, strerror(errno));
	/* A file there would fail later as ".../records.jsonl.partial: Not a directory". */
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return eds_fail(EDS_E_IO, "%s: not a directory", dir);
	if ((size_t)snprintf(path, sizeof path, "%s/records.jsonl", dir) >= sizeof path)
		return eds_fail(EDS_E_ARG, "%s: path too long", dir);
	if (access(path, F_OK) == 0)
		return eds_fail(EDS_E_EXISTS, "%s: already exists (an earlier export)", path);
	snprintf(partial, sizeof partial, "%s.partial", path);
	snprintf(e->dst_payloads, sizeof e->dst_payloads, "%s/payloads", dir);
	char pending[PATH_MAX + 16];
	snprintf(pending, sizeof pending, "%s/pending.jsonl", dir);
	eds_status st = export_records(l, partial, pending, e);
	char oplog[PATH_MAX + 16];
	snprintf(oplog, sizeof oplog, "%s/oplog.jsonl", dir);
	oplog_job job = {l, &e->events};
	if (st == EDS_OK)
		st = eds_write_file_atomic_fn(oplog, 0644, fill_oplog, &job);
	char *registry = NULL;
	if (st == EDS_OK)
		st = eds_ledger_registry_json(l, &registry);
	if (st == EDS_OK)
		st = write_text(dir, "registry.json", registry);
	free(registry);
	if (st == EDS_OK && rename(partial, path) != 0)
		st = eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	if (st == EDS_OK)
		st = eds_fsync_dir_of(path);
	if (st != EDS_OK)
		unlink(partial);
	return st;
}

/*
 * The JSON report of an export or backup: what was copied, and ok false
 * (exit 1) when payload files were missing or damaged, plus one count of
 * its own (export: the log events; backup: payloads the copy's recovery
 * wrote from the journal).
 */
static int copied_json(const ledger_args *a, const eds_ledger_backup_stats *b, const char *extra,
                       uint64_t extra_value)
{
	json_t *o =
	    json_pack("{s:b, s:s, s:I, s:I, s:I, s:I}", "ok", b->missing == 0, "out", a->out,
	              "records", (json_int_t)b->records, "payloads", (json_int_t)b->payloads,
	              "pending", (json_int_t)b->pending, "missing", (json_int_t)b->missing);
	if (o != NULL &&
	    json_object_set_new(o, extra, json_integer((json_int_t)extra_value)) != 0) {
		json_decref(o);
		o = NULL;
	}
	int rc = cli_json_print(cmd, o);
	return rc != EDS_EXIT_OK ? rc : b->missing ? EDS_EXIT_INVALID : EDS_EXIT_OK;
}

static int export(eds_ledger *l, const ledger_args *a)
{
	export_ctx e = {.src_payloads = eds_ledger_payload_dir(l)};
	eds_status st = begin_walk(l, "ledger export", &e.bar, !a->json);
	if (st == EDS_OK)
		st = export_to(l, a->out, &e);
	if (st != EDS_OK)
		return fatal(a, st, "export");
	if (a->json)
		return copied_json(a, &e.n, "events", e.events);
	printf("exported %llu records and %llu payloads to %s (%llu payloads pending; %llu "
	       "operation-log events in oplog.jsonl)\n",
	       (unsigned long long)e.n.records, (unsigned long long)e.n.payloads, a->out,
	       (unsigned long long)e.n.pending, (unsigned long long)e.events);
	return missing_payloads(e.n.missing);
}

/*
 * The directory part of path into dir ("." when path names no directory,
 * "/" for one at the root); returns the last name, a pointer into path.
 */
static const char *split_path(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, cap, ".");
	else if (slash == path)
		snprintf(dir, cap, "/");
	else
		snprintf(dir, cap, "%.*s", (int)(slash - path), path);
	return slash != NULL ? slash + 1 : path;
}

/* ---- backup ----------------------------------------------------------------- */

static void backup_progress(void *ctx, uint64_t records)
{
	cli_progress_update(ctx, 0, records);
}

/*
 * A backup killed midway leaves OUT.partial-XXXXXX beside OUT (never OUT
 * itself).  Nothing removes it on its own, as it could be another run's
 * that is still going: it is named, so the operator can.
 */
static void note_partials(const char *out)
{
	char dir[PATH_MAX];
	const char *name = split_path(out, dir, sizeof dir);
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	size_t n = strlen(name);
	const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (n > 0 && strncmp(e->d_name, name, n) == 0 &&
		    strncmp(e->d_name + n, ".partial-", 9) == 0)
			fprintf(
			    stderr,
			    "eds ledger: note: %s%s%s is left from a backup that did not finish; "
			    "delete it when no backup runs\n",
			    dir, sep, e->d_name);
	closedir(d);
}

static int backup(eds_ledger *l, const ledger_args *a)
{
	note_partials(a->out);
	cli_progress bar;
	eds_ledger_backup_stats b;
	eds_status st = begin_walk(l, "ledger backup", &bar, !a->json);
	if (st == EDS_OK) {
		st = eds_ledger_backup(l, a->out, backup_progress, &bar, &b);
		cli_progress_end(&bar);
	}
	if (st != EDS_OK)
		return fatal(a, st, "backup");
	if (a->json)
		return copied_json(a, &b, "restored", b.restored);
	printf("backed up %llu records and %llu payloads to %s (%llu payloads pending",
	       (unsigned long long)b.records, (unsigned long long)b.payloads, a->out,
	       (unsigned long long)b.pending);
	if (b.restored > 0)
		printf(", %zu written from the journal", b.restored);
	printf(")\n");
	return missing_payloads(b.missing);
}

/* ---- recover ---------------------------------------------------------------- */

static int recover(eds_ledger *l, const ledger_args *a)
{
	size_t restored = 0, demoted = 0;
	/* Claimed like a server: a running one still needs its journal. */
	eds_status st = eds_ledger_claim(l);
	if (st == EDS_OK)
		st = eds_ledger_recover(l, &restored, &demoted);
	if (st != EDS_OK)
		return fatal(a, st, "recover");
	if (a->json)
		return cli_json_print(cmd, json_pack("{s:b, s:I, s:I}", "ok", 1, "restored",
		                                     (json_int_t)restored, "demoted",
		                                     (json_int_t)demoted));
	printf("recovered: %zu payload files written again from the journal, %zu records back "
	       "to payload pending\n",
	       restored, demoted);
	return EDS_EXIT_OK;
}

/* ---- log -------------------------------------------------------------------- */

static int log_events(eds_ledger *l, const ledger_args *a)
{
	uint64_t after = 0;
	if (a->after_id != NULL && cli_u64(a->after_id, 0, EDS_INT_MAX, &after) != 0)
		return cli_usage(cmd, "--after-id must be 0 .. 2^53-1, not '%s'", a->after_id);
	eds_status st = a->device != NULL ? eds_ledger_check_id(a->device) : EDS_OK;
	if (st == EDS_OK)
		st = ledger_log_write(l, after, a->device, a->json, stdout, NULL);
	return st == EDS_OK ? EDS_EXIT_OK : fatal(a, st, "log");
}

/* ---- stats ------------------------------------------------------------------ */

static int stats(eds_ledger *l, const ledger_args *a)
{
	eds_ledger_stats s;
	eds_status st = eds_ledger_stats_get(l, &s);
	if (st != EDS_OK)
		return fatal(a, st, "stats");
	if (a->json)
		return cli_json_print(
		    cmd,
		    json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "ok", 1, "devices",
		              (json_int_t)s.devices, "records", (json_int_t)s.records,
		              "pending_payloads", (json_int_t)s.pending_payloads, "events",
		              (json_int_t)s.events, "journaled_payloads",
		              (json_int_t)s.journaled_payloads, "bytes", (json_int_t)s.bytes,
		              "oplog_head", eds_ledger_hash_json(s.oplog_head), "oplog_head_id",
		              head_id_json(s.oplog_chained != 0, s.events)));
	printf("devices:            %llu\nrecords:            %llu\npayloads pending:   %llu\n"
	       "events:             %llu\npayloads journaled: %llu\ndatabase bytes:     %llu\n",
	       (unsigned long long)s.devices, (unsigned long long)s.records,
	       (unsigned long long)s.pending_payloads, (unsigned long long)s.events,
	       (unsigned long long)s.journaled_payloads, (unsigned long long)s.bytes);
	/* ID:HEX, as --oplog-head takes it: the head to write down. */
	char hex[2 * EDS_HASH_LEN + 1];
	eds_hex_encode(hex, s.oplog_head, EDS_HASH_LEN);
	if (!s.oplog_chained)
		printf("operation log head: - (not chained: a ledger schema before 4)\n");
	else if (s.events == 0)
		printf("operation log head: - (no events)\n");
	else
		printf("operation log head: %llu:%s\n", (unsigned long long)s.events, hex);
	return EDS_EXIT_OK;
}

/*
 * Whether out is the ledger directory or below it.  out need not exist:
 * then its parent is resolved.  Unresolvable paths are left to the action.
 */
static bool inside_ledger(const char *ledger, const char *out)
{
	char l[PATH_MAX], o[PATH_MAX], parent[PATH_MAX], dir[PATH_MAX];
	if (realpath(ledger, l) == NULL)
		return false;
	if (realpath(out, o) == NULL) {
		const char *name = split_path(out, parent, sizeof parent);
		if (realpath(parent, dir) == NULL ||
		    (size_t)snprintf(o, sizeof o, "%s/%s", dir, name) >= sizeof o)
			return false;
	}
	size_t n = strlen(l);
	return strncmp(o, l, n) == 0 && (o[n] == '\0' || o[n] == '/');
}

/* The flags that belong to one action only; the usage code when one is misplaced. */
static int check_action_flags(const ledger_args *a)
{
	bool has_out = a->action == EXPORT || a->action == BACKUP;
	if (has_out != (a->out != NULL))
		return cli_usage(cmd, has_out ? "--out DIR is required"
		                              : "--out is only for export and backup");
	if (has_out && inside_ledger(a->dir, a->out))
		return cli_usage(cmd, "--out %s is inside the ledger %s: the copy goes elsewhere",
		                 a->out, a->dir);
	const char *log_only = a->device != NULL ? "--device" : a->after_id ? "--after-id" : NULL;
	if (a->action != LOG && log_only != NULL)
		return cli_usage(cmd, "%s is only for log", log_only);
	/* Checked here to name the flag: the ledger's check says only "log: device_id". */
	if (a->device != NULL && eds_device_id_check(a->device, strlen(a->device)) != EDS_OK)
		return cli_usage(cmd, "--device: %s", eds_last_error());
	const char *verify_only = a->threads != NULL          ? "--threads"
	                          : a->quiet                  ? "--quiet"
	                          : a->oplog_head != NULL     ? "--oplog-head"
	                          : a->checkpoint != NULL     ? "--checkpoint"
	                          : a->checkpoint_key != NULL ? "--checkpoint-key"
	                                                      : NULL;
	if (a->action != VERIFY && verify_only != NULL)
		return cli_usage(cmd, "%s is only for verify", verify_only);
	if ((a->action == CHECKPOINT) != (a->key != NULL))
		return cli_usage(cmd, a->key != NULL ? "--key is only for checkpoint"
		                                     : "--key KEY is required: the secret key that "
		                                       "signs the checkpoint");
	return EDS_EXIT_OK;
}

static int parse_args(int argc, char **argv, ledger_args *a)
{
	const char **const values[] = {
	    &a->dir,        &a->out,        &a->threads,        &a->device, &a->after_id,
	    &a->oplog_head, &a->checkpoint, &a->checkpoint_key, &a->key};
	static const char *const switches[] = {"--json", "--quiet"};
	bool *const on[] = {&a->json, &a->quiet};
	memset(a, 0, sizeof *a);
	const cli_switches sw = {switches, on, 2};
	int rc = cli_action_flags_once(cmd, argc, argv, names, values, NAMES, &sw, &a->action_name);
	if (rc != EDS_EXIT_OK)
		return rc;
	a->action = VERIFY;
	while (a->action_name != NULL && a->action < ACTIONS &&
	       strcmp(a->action_name, action_names[a->action]) != 0)
		a->action++;
	if (a->action_name == NULL)
		return cli_usage(cmd,
		                 "an action is required: verify, export, backup, recover, log, "
		                 "stats or checkpoint");
	if (a->action == ACTIONS)
		return cli_usage(
		    cmd,
		    "unknown action '%s' (verify, export, backup, recover, log, stats, checkpoint)",
		    a->action_name);
	if (a->dir == NULL)
		return cli_usage(cmd, "--ledger DIR is required");
	if ((rc = check_action_flags(a)) != EDS_EXIT_OK)
		return rc;
	/* Before the ledger is opened: a bad checkpoint file is a usage error. */
	a->known.json = a->json;
	a->known.progress = !a->json && !a->quiet;
	return known_heads_from_flags(&a->known, a->oplog_head, a->checkpoint, a->checkpoint_key);
}

int cmd_ledger(int argc, char **argv)
{
	ledger_args a;
	unsigned threads = 0;
	if (cli_help_asked(argc, argv, names, NAMES)) {
		help();
		return EDS_EXIT_OK;
	}
	int rc = parse_args(argc, argv, &a);
	if (rc == EDS_EXIT_OK && a.threads != NULL)
		rc = cli_parse_threads(cmd, a.threads, &threads);
	if (rc != EDS_EXIT_OK) {
		known_heads_free(&a.known);
		return rc;
	}
	eds_ledger *l;
	/* Only recover writes: verify, export and backup read, and never disturb a server. */
	eds_ledger_options lo = {.durable = 1, .must_exist = 1, .read_only = a.action != RECOVER};
	eds_status st = eds_ledger_open(&l, a.dir, &lo);
	if (st != EDS_OK) {
		known_heads_free(&a.known);
		return fatal(&a, st, "--ledger");
	}
	switch (a.action) {
	case VERIFY: rc = verify(l, &a, threads); break;
	case EXPORT: rc = export(l, &a); break;
	case BACKUP: rc = backup(l, &a); break;
	case RECOVER: rc = recover(l, &a); break;
	case STATS: rc = stats(l, &a); break;
	case CHECKPOINT: rc = ledger_checkpoint_run(l, a.key); break;
	default: rc = log_events(l, &a); break;
	}
	eds_ledger_close(l);
	known_heads_free(&a.known);
	return rc;
}
