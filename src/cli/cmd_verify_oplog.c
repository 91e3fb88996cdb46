/*
 * cmd_verify_oplog.c - `eds verify-oplog FILE`: check an exported operation
 * log (oplog.jsonl, as `eds ledger log --json` writes it) offline, as `eds
 * ledger verify` checks the ledger's own: every link of the hash chain
 * (docs/format.md 9), and the heads written down earlier (--oplog-head) or
 * signed (--checkpoint, docs/format.md 10), and the export's records
 * (--records, oplog_match.c) and pending list (--pending, oplog_pending.c)
 * against it.  The walk and its messages are ledger verify's
 * (ledger_checkpoint.c); this file reads the lines.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_flags.h"
#include "cli_json.h"
#include "edgesentry/encoding.h"
#include "ledger_checkpoint.h"
#include "oplog_match.h"
#include "oplog_pending.h"
#include "oplog_walk.h"
#include "progress.h"
#include "record_internal.h"
#include "store/ledger_internal.h"

#define CMD "verify-oplog"

static const char help_text[] =
    "usage: eds verify-oplog FILE [--oplog-head ID:HEX]\n"
    "                             [--checkpoint FILE --checkpoint-key KEY]\n"
    "                             [--records RECORDS] [--pending PENDING]\n"
    "                             [--json] [--quiet]\n"
    "\n"
    "Check an operation log offline: FILE is JSON Lines as `eds ledger log\n"
    "--json` prints it and `eds ledger export` writes it (oplog.jsonl; '-' reads\n"
    "standard input; empty lines skipped).  Each line must be one event with\n"
    "exactly the members id, time_ms, source, device_id, sequence, decision,\n"
    "reason, record_hash and chain_hash, in the ledger's types and sizes, at\n"
    "most 4096 bytes; a line that is not is malformed (exit 2, one line naming\n"
    "FILE:LINE).  The checks are those of `eds ledger verify` on the ledger\n"
    "itself: ids run 1, 2, 3 ...; each event's chain_hash must follow from the\n"
    "event and the stored one before it (docs/format.md, section 9), so an\n"
    "event edited, deleted, inserted or moved breaks the chain where it was;\n"
    "the head (the last event's, as ID:HEX) is printed: an end cut off or a log\n"
    "recomputed shows only against a head written down earlier (--oplog-head,\n"
    "--checkpoint).  A log whose chain_hash is null throughout (a ledger schema\n"
    "before 4) is not chained: said, not a failure.\n"
    "\n";

/* In parts: a C string literal is at most 4095 bytes (ISO C). */
static const char help_options[] =
    "Options:\n"
    "  --oplog-head ID:HEX   a head written down earlier, as this command or\n"
    "                        eds ledger verify prints it (ID 1 .. 2^53-1, HEX 64\n"
    "                        hex digits): event ID must be in FILE with chain_hash\n"
    "                        HEX, so the log up to it is unchanged and not cut off\n"
    "                        before it\n"
    "  --checkpoint FILE     signed checkpoints (JSON Lines, as eds ledger\n"
    "                        checkpoint prints them; at most 64 MiB), each signed\n"
    "                        by --checkpoint-key; each head must be in the log, as\n"
    "                        for --oplog-head\n"
    "  --checkpoint-key KEY  the public key whose checkpoints count (64 hex\n"
    "                        characters or a key file)\n"
    "  --records RECORDS     the export's records.jsonl (as verify-chain reads\n"
    "                        it): each record must have an \"accepted\" event with\n"
    "                        its device, sequence and record_hash, and each\n"
    "                        accepted event its record (a zero record_hash matches\n"
    "                        on device and sequence), as eds ledger verify checks\n"
    "                        a ledger; held in memory, about 60 bytes a record\n"
    "                        and an accepted event\n"
    "  --pending PENDING     the export's pending.jsonl (as verify-chain reads\n"
    "                        it): each listed record must have an \"accepted\"\n"
    "                        event (device and sequence), and no \"payload\" event\n"
    "                        (a PUT that stored its payload_hash) may follow it;\n"
    "                        a record stored without its payload but not listed\n"
    "                        does not show (the log does not say whether a\n"
    "                        payload came inline): verify-chain --pending finds\n"
    "                        its file missing; held in memory, about 300 bytes a\n"
    "                        line at the peak, as for verify-chain --pending\n"
    "  --json                print one JSON object on stdout instead: valid,\n"
    "                        chained, events_checked, oplog_head (hex; null: no\n"
    "                        event, or not chained), oplog_head_id (null as\n"
    "                        oplog_head), checkpoints_checked, failure_count,\n"
    "                        failures[] (device_id \"(oplog)\", sequence: the\n"
    "                        event's id, reason, message; the first 1000),\n"
    "                        failures_omitted (the rest), with --records also\n"
    "                        records_checked, accepted_checked, with --pending\n"
    "                        pending_checked; no failure lines, no progress.\n"
    "                        Exit 2 prints {\"valid\":false, \"error\":MESSAGE}\n"
    "                        too\n"
    "  --quiet               print only the failures: no summary, no progress\n"
    "  -h, --help            show this help\n"
    "\n";

static const char help_output[] =
    "Output: one line per failure on stderr,\n"
    "  eds verify-oplog: FILE:LINE: REASON: MESSAGE\n"
    "(a head whose event is not in FILE: FILE: REASON: MESSAGE; a record:\n"
    "DEVICE/SEQUENCE: REASON: MESSAGE; REASON: oplog_chain_broken at the first\n"
    "event whose link no longer holds, oplog_head_mismatch for a head written\n"
    "down earlier, record_not_logged for a record no accepted event names,\n"
    "logged_record_missing for an accepted event whose record RECORDS lacks,\n"
    "pending_not_logged for a line of PENDING no accepted event names,\n"
    "pending_payload_stored for one whose payload a later payload event stored;\n"
    "each message names PENDING:LINE and the events met), then a summary.\n"
    "On a terminal, a FILE or --checkpoint file of 8 MiB or more shows a\n"
    "progress line on stderr.\n"
    "\n"
    "Exit codes:\n"
    "  0  the chain holds and every head given is on it (or: not chained)\n"
    "  1  a failure (printed on stderr, or in the JSON), or a record of RECORDS\n"
    "     whose record_hash does not match its fields (stops reading)\n"
    "  2  usage error, unreadable FILE, RECORDS or PENDING, a malformed line\n"
    "     (naming FILE:LINE, or PENDING:LINE), a checkpoint file with a bad line,\n"
    "     an unreadable key\n";

static const char *const names[] = {"--oplog-head", "--checkpoint", "--checkpoint-key", "--records",
                                    "--pending"};
enum { NAMES = sizeof names / sizeof names[0] };

typedef struct args {
	const char *path, *oplog_head, *checkpoint, *checkpoint_key, *records, *pending;
	bool json, quiet;
} args;

typedef struct run {
	const args *a;
	oplog_walk walk;
	known_heads known;
	FILE *f;
	uint64_t line;         /* the line being checked; 0 after the walk */
	uint64_t first_id;     /* the first event's id */
	uint64_t first_line;   /* and its line */
	bool started;          /* an event was read (the first decides: chained or not) */
	uint64_t events;       /* events read */
	uint64_t failures;     /* all, listed or not */
	json_t *listed;        /* --json: the failures kept */
	uint64_t omitted;      /* --json: failures beyond CLI_JSON_FAILURES_KEPT */
	oplog_match match;     /* --records: the records and accepted events */
	uint64_t records;      /* --records: records read */
	oplog_pending pending; /* --pending: the list, and what the log says of it */
	cli_progress bar;
	char buf[EDS_LEDGER_EVENT_JSON_MAX + 1];
} run;

static void failure(void *ctx, uint64_t id, const char *reason, const char *message)
{
	run *r = ctx;
	r->failures++;
	if (r->listed != NULL) {
		cli_json_list_failure(r->listed, &r->omitted, "(oplog)", id, reason, message);
		return;
	}
	cli_progress_end(&r->bar);
	if (r->line > 0)
		fprintf(stderr, "eds %s: %s:%llu: %s: %s\n", CMD, r->a->path,
		        (unsigned long long)r->line, reason, message);
	else
		fprintf(stderr, "eds %s: %s: %s: %s\n", CMD, r->a->path, reason, message);
}

/* A fatal error: one line on stderr (and the JSON error object); exit 2,
 * or 1 for a record whose record_hash does not match its fields. */
static int fatal(const run *r, eds_status st, const char *context)
{
	if (r->a->json) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s: %s", context, cli_error_detail(st));
		cli_json_print(CMD, json_pack("{s:b, s:s}", "valid", 0, "error", msg));
	}
	cli_report(CMD, st, context);
	return st == EDS_E_HASH_MISMATCH ? EDS_EXIT_INVALID : EDS_EXIT_USAGE;
}

/* A failure of one record (of RECORDS, PENDING or an accepted event), after the walk. */
static void record_failure(run *r, const char *device_id, uint64_t sequence, const char *reason,
                           const char *msg)
{
	r->failures++;
	if (r->listed != NULL)
		cli_json_list_failure(r->listed, &r->omitted, device_id, sequence, reason, msg);
	else
		fprintf(stderr, "eds %s: %s/%llu: %s: %s\n", CMD, device_id,
		        (unsigned long long)sequence, reason, msg);
}

/* A record the log does not account for, or an accepted event without its record. */
static eds_status mismatch(void *ctx, const eds_ledger_mismatch *m)
{
	char msg[256];
	const char *reason = oplog_mismatch_message(m, "the records file", msg, sizeof msg);
	record_failure(ctx, m->device_id, m->sequence, reason, msg);
	return EDS_OK;
}

/* A record of PENDING the log contradicts (the message names PENDING:LINE). */
static void pending_failure(void *ctx, const pending_entry *e, const char *reason, const char *msg)
{
	record_failure(ctx, e->rec.device_id, e->rec.sequence, reason, msg);
}

/* --records: every record of the file, matched against the accepted events. */
static int match_records(run *r)
{
	eds_record_reader *rd = NULL;
	eds_record rec;
	uint8_t hash[EDS_HASH_LEN];
	eds_status st = eds_record_reader_open(&rd, r->a->records);
	while (st == EDS_OK && (st = eds_record_reader_next_hashed(rd, &rec, hash)) == EDS_OK) {
		r->records++;
		st = oplog_match_record(&r->match, rec.device_id, rec.sequence, hash);
	}
	eds_record_reader_close(rd);
	if (st != EDS_DONE)
		return fatal(r, st, "--records");
	st = oplog_match_run(&r->match, mismatch, r);
	return st == EDS_OK ? EDS_EXIT_OK : fatal(r, st, "--records");
}

/*
 * One event: the first decides whether the log is chained (a ledger before
 * schema 4 exports chain_hash null throughout); ids must run 1, 2, 3 ...
 */
static void check_event(run *r, uint64_t id, const eds_ledger_event *ev, bool has_chain)
{
	if (!r->started) {
		r->started = true;
		r->first_id = id;
		r->first_line = r->line;
		r->walk.chained = has_chain;
	}
	if (!r->walk.chained && has_chain) {
		/* Chained from here on: the events before it lost their chain_hash. */
		char msg[256];
		snprintf(msg, sizeof msg,
		         "operation log event %llu has no chain_hash, but event %llu has one (a "
		         "chain_hash emptied, or logs mixed)",
		         (unsigned long long)r->first_id, (unsigned long long)id);
		uint64_t line = r->line;
		r->line = r->first_line; /* named where it is */
		failure(r, r->first_id, REASON_OPLOG, msg);
		r->line = line;
		r->walk.chained = true;
	}
	oplog_walk_event(&r->walk, id, ev);
}

/*
 * The next line of r->f into r->buf (without its newline) and its length:
 * 1 a line, 0 the end, -1 a line longer than the limit, -2 a read error.
 */
static int next_line(run *r, size_t *len, uint64_t *offset)
{
	size_t n = 0;
	int ch;
	while ((ch = getc_unlocked(r->f)) != EOF && ch != '\n') {
		if (n == EDS_LEDGER_EVENT_JSON_MAX)
			return -1;
		r->buf[n++] = (char)ch;
	}
	*offset += n + (ch == '\n');
	*len = n;
	if (ch == EOF && ferror(r->f))
		return -2;
	return ch == EOF && n == 0 ? 0 : 1;
}

static int read_all(run *r)
{
	uint64_t offset = 0;
	size_t len;
	char where[4200];
	for (;;) {
		int got = next_line(r, &len, &offset);
		if (got == 0)
			break;
		r->line++;
		snprintf(where, sizeof where, "%s:%llu", r->a->path, (unsigned long long)r->line);
		if (got == -2)
			return fatal(r, eds_fail(EDS_E_IO, "read: %s", strerror(errno)), where);
		if (got == -1)
			return fatal(r,
			             eds_fail(EDS_E_LIMIT, "event: longer than %d bytes",
			                      EDS_LEDGER_EVENT_JSON_MAX),
			             where);
		if (len == 0)
			continue;
		uint64_t id;
		eds_ledger_event ev;
		bool has_chain;
		eds_status st = eds_ledger_event_from_json(r->buf, len, &id, &ev, &has_chain);
		if (st != EDS_OK)
			return fatal(r, st, where);
		check_event(r, id, &ev, has_chain);
		if (r->a->records != NULL && strcmp(ev.decision, "accepted") == 0 &&
		    (st = oplog_match_event(&r->match, ev.device_id, ev.sequence, ev.record_hash,
		                            id)) != EDS_OK)
			return fatal(r, st, where);
		if (r->a->pending != NULL)
			oplog_pending_event(&r->pending, id, &ev);
		cli_progress_update(&r->bar, offset, ++r->events);
	}
	cli_progress_end(&r->bar);
	r->line = 0;
	oplog_walk_missing(&r->walk);
	return EDS_EXIT_OK;
}

static json_t *head_id_json(const oplog_walk *w)
{
	return w->chained && w->head_id > 0 ? json_integer((json_int_t)w->head_id) : json_null();
}

/* --json: the counts of --records and --pending, when given; -1 out of memory. */
static int add_counts(json_t *o, const run *r)
{
	if (r->a->records != NULL &&
	    (json_object_set_new(o, "records_checked", json_integer((json_int_t)r->records)) != 0 ||
	     json_object_set_new(o, "accepted_checked",
	                         json_integer((json_int_t)r->match.events.n)) != 0))
		return -1;
	if (r->a->pending != NULL &&
	    json_object_set_new(o, "pending_checked",
	                        json_integer((json_int_t)r->pending.list.n)) != 0)
		return -1;
	return 0;
}

static int report(const run *r)
{
	int rc = r->failures > 0 ? EDS_EXIT_INVALID : EDS_EXIT_OK;
	if (r->a->json) {
		uint8_t none[EDS_HASH_LEN] = {0};
		json_t *o = json_pack(
		    "{s:b, s:b, s:I, s:o, s:o, s:I, s:I, s:O, s:I}", "valid", r->failures == 0,
		    "chained", r->walk.chained, "events_checked", (json_int_t)r->walk.events,
		    "oplog_head", eds_ledger_hash_json(r->walk.chained ? r->walk.head : none),
		    "oplog_head_id", head_id_json(&r->walk), "checkpoints_checked",
		    (json_int_t)r->known.checkpoints, "failure_count", (json_int_t)r->failures,
		    "failures", r->listed, "failures_omitted", (json_int_t)r->omitted);
		if (o != NULL && add_counts(o, r) != 0) {
			json_decref(o);
			o = NULL;
		}
		int jrc = cli_json_print(CMD, o);
		return jrc != EDS_EXIT_OK ? jrc : rc;
	}
	if (r->a->quiet)
		return rc;
	if (r->failures > 0) {
		fprintf(stderr, "eds %s: %llu failures in %llu events\n", CMD,
		        (unsigned long long)r->failures, (unsigned long long)r->events);
		return rc;
	}
	oplog_walk_report(&r->walk, "chain_hash is null throughout: exported from a ledger "
	                            "schema before 4");
	if (r->a->records != NULL)
		printf("records match the operation log: %llu records, %zu accepted events\n",
		       (unsigned long long)r->records, r->match.events.n);
	if (r->a->pending != NULL)
		printf("pending list (%s) agrees with the operation log: %zu records, each "
		       "accepted, no payload stored since\n",
		       r->a->pending, r->pending.list.n);
	return rc;
}

static int parse_args(int argc, char **argv, args *a, known_heads *k)
{
	const char **const values[] = {&a->oplog_head, &a->checkpoint, &a->checkpoint_key,
	                               &a->records, &a->pending};
	static const char *const switches[] = {"--json", "--quiet"};
	bool *const on[] = {&a->json, &a->quiet};
	const cli_switches sw = {switches, on, 2};
	int rc = cli_action_flags_once(CMD, argc, argv, names, values, NAMES, &sw, &a->path);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (a->path == NULL)
		return cli_usage(CMD, "FILE is required: the operation log (oplog.jsonl)");
	k->cmd = CMD;
	k->json = a->json;
	k->progress = !a->json && !a->quiet;
	return known_heads_from_flags(k, a->oplog_head, a->checkpoint, a->checkpoint_key);
}

/* Open FILE ('-': standard input) and start the progress line by its size. */
static eds_status open_input(run *r)
{
	const char *path = r->a->path;
	struct stat sb;
	r->f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (r->f == NULL)
		return eds_fail(EDS_E_IO, "%s", strerror(errno));
	if (fstat(fileno(r->f), &sb) != 0)
		return eds_fail(EDS_E_IO, "%s", strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return eds_fail(EDS_E_IO, "a directory, not a file");
	uint64_t size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	cli_progress_begin(&r->bar, CMD, "events", size, !r->a->json && !r->a->quiet);
	return EDS_OK;
}

/* Before the walk: the JSON failure list, PENDING (read whole: a bad line is
 * refused before any output), FILE opened. */
static int start(run *r)
{
	if (r->a->json && (r->listed = json_array()) == NULL)
		return fatal(r, eds_fail(EDS_E_NOMEM, "out of memory"), r->a->path);
	eds_status st =
	    r->a->pending != NULL ? oplog_pending_load(&r->pending, r->a->pending) : EDS_OK;
	if (st != EDS_OK)
		return fatal(r, st, "--pending");
	st = open_input(r);
	return st == EDS_OK ? EDS_EXIT_OK : fatal(r, st, r->a->path);
}

int cmd_verify_oplog(int argc, char **argv)
{
	args a = {0};
	if (cli_help_asked(argc, argv, names, NAMES)) {
		fputs(help_text, stdout);
		fputs(help_options, stdout);
		fputs(help_output, stdout);
		return EDS_EXIT_OK;
	}
	run *r = calloc(1, sizeof *r);
	if (r == NULL)
		return cli_usage(CMD, "out of memory");
	r->a = &a;
	int rc = parse_args(argc, argv, &a, &r->known);
	r->walk = (oplog_walk){.known = &r->known, .fail = failure, .ctx = r, .chained = true};
	if (rc == EDS_EXIT_OK)
		rc = start(r);
	if (rc == EDS_EXIT_OK && (rc = read_all(r)) == EDS_EXIT_OK &&
	    (a.records == NULL || (rc = match_records(r)) == EDS_EXIT_OK)) {
		if (a.pending != NULL)
			oplog_pending_report(&r->pending, pending_failure, r);
		rc = report(r);
	}
	if (r->f != NULL && r->f != stdin)
		fclose(r->f);
	json_decref(r->listed);
	known_heads_free(&r->known);
	oplog_match_free(&r->match);
	oplog_pending_free(&r->pending);
	free(r);
	return rc;
}
