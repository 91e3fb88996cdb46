/*
 * push_cli.c - see push_cli.h.
 */
#include "push_cli.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_flags.h"
#include "cli_json.h"
#include "net/push_loop.h"

static const char *const cmd = "push";

int push_cli_parse(push_cli *pc, int argc, char **argv, const char *const *names,
                   const char **const *values, int n, const char **chain)
{
	static const char *const switches[] = {"--json", "--quiet", "--put-payloads"};
	bool *const on[] = {&pc->json, &pc->quiet, &pc->put_payloads};
	const cli_switches sw = {switches, on, 3};
	int rc = cli_action_flags_once(cmd, argc, argv, names, values, n, &sw, chain);
	if (rc == EDS_EXIT_OK && *chain == NULL)
		return cli_usage(cmd, "the CHAIN file is required");
	return rc;
}

int push_cli_check_payload_dir(const char *dir)
{
	if (eds_push_check_payload_dir(dir, "--payload-dir") != EDS_OK)
		return cli_usage(cmd, "%s", eds_last_error());
	return EDS_EXIT_OK;
}

int push_cli_check_url(const char *url)
{
	/* Not echoed: the URL may carry a password. */
	if (url != NULL && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return cli_usage(cmd, "--url must start with http:// or https://");
	return EDS_EXIT_OK;
}

int push_cli_retries(const char *value, int *retries)
{
	uint64_t waits = EDS_PUSH_RETRIES_DEFAULT;
	if (value != NULL && cli_u64(value, 0, 100, &waits) != 0)
		return cli_usage(cmd, "--retries must be 0..100, not '%s'", value);
	/* The library's 0 is the default; the command line's 0 is "never". */
	*retries = waits == 0 ? -1 : (int)waits;
	return EDS_EXIT_OK;
}

void push_cli_begin(push_cli *pc, const char *chain)
{
	struct stat st;
	uint64_t size = 0;
	if (strcmp(chain, "-") != 0 && stat(chain, &st) == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	cli_progress_begin(&pc->bar, cmd, "records", size, !pc->json && !pc->quiet);
}

void push_cli_progress(void *ctx, uint64_t done, uint64_t total, const eds_push_summary *so_far)
{
	push_cli *pc = ctx;
	(void)total; /* the bar's total is the size push_cli_begin saw */
	cli_progress_step(&pc->bar, done, so_far->records);
}

/* error.code of the --json report. */
static const char *error_code(eds_status st, const eds_push_summary *s)
{
	if (eds_push_refused(s))
		return "refused";
	switch (st) {
	case EDS_E_IO:
	case EDS_E_NOT_FOUND: return "io_error";
	case EDS_E_MALFORMED:
	case EDS_E_FIELD:
	case EDS_E_HASH_MISMATCH: return "malformed";
	case EDS_E_LIMIT: return "limit";
	default: return "error";
	}
}

static int print_json(eds_status st, const eds_push_summary *s, const char *message)
{
	json_t *refused = json_null(), *error = json_null();
	uint64_t sent = s->accepted + s->duplicates; /* stored by the server in this run */
	if (eds_push_refused(s))
		refused =
		    json_pack("{s:s, s:I, s:s}", "device_id", s->refused_device_id, "sequence",
		              (json_int_t)s->refused_sequence, "reason", s->refused_reason);
	if (st != EDS_OK)
		error = json_pack("{s:s, s:s}", "code", error_code(st, s), "message", message);
	json_t *o = json_pack(
	    "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*, s:o*}", "ok", st == EDS_OK,
	    "records", (json_int_t)s->records, "skipped", (json_int_t)s->skipped, "sent",
	    (json_int_t)sent, "payloads_sent", (json_int_t)s->payloads, "payloads_unknown",
	    (json_int_t)s->payloads_unknown, "batches", (json_int_t)s->batches, "devices",
	    (json_int_t)s->devices, "waits", (json_int_t)s->waits, "waited_ms",
	    (json_int_t)s->waited_ms, "refused", refused, "error", error);
	return cli_json_print(cmd, o);
}

static void print_text(const push_cli *pc, const eds_push_summary *s)
{
	if (pc->mqtt)
		printf("%llu records read, %llu skipped, %llu stored, %llu batches\n",
		       (unsigned long long)s->records, (unsigned long long)s->skipped,
		       (unsigned long long)s->accepted, (unsigned long long)s->requests);
	else
		printf("%llu records read, %llu skipped, %llu accepted, %llu duplicates, "
		       "%llu requests\n",
		       (unsigned long long)s->records, (unsigned long long)s->skipped,
		       (unsigned long long)s->accepted, (unsigned long long)s->duplicates,
		       (unsigned long long)s->requests);
	if (s->waits > 0)
		printf("waited %llu times, %.1f s in all, for a server that could not take "
		       "records\n",
		       (unsigned long long)s->waits, (double)s->waited_ms / 1000.0);
	/* Only --put-payloads uploads payloads of skipped records; say what came of them. */
	if (pc->put_payloads)
		printf("%llu payloads sent, %llu not wanted by the server\n",
		       (unsigned long long)s->payloads, (unsigned long long)s->payloads_unknown);
}

int push_cli_report(push_cli *pc, const char *chain, eds_status st, const eds_push_summary *s)
{
	char message[512];
	const char *detail = cli_error_detail(st);
	size_t n = strlen(chain);
	/* reader errors already start with "CHAIN:" */
	bool named = strncmp(detail, chain, n) == 0 && detail[n] == ':';
	snprintf(message, sizeof message, "%s%s%s", named ? "" : chain, named ? "" : ": ", detail);
	cli_progress_end(&pc->bar);
	int rc = EDS_EXIT_OK;
	if (pc->json)
		rc = print_json(st, s, message);
	else if (!pc->quiet)
		print_text(pc, s);
	if (fflush(stdout) != 0 && rc == EDS_EXIT_OK) {
		fprintf(stderr, "eds %s: cannot write to standard output\n", cmd);
		rc = EDS_EXIT_USAGE;
	}
	if (st != EDS_OK)
		fprintf(stderr, "eds %s: %s\n", cmd, message);
	if (st == EDS_OK || rc != EDS_EXIT_OK)
		return rc;
	return eds_push_refused(s) ? EDS_EXIT_INVALID : EDS_EXIT_USAGE;
}
