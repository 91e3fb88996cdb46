/*
 * cli_json.c - see cli_json.h.
 */
#include <stdio.h>

#include "cli.h"
#include "cli_json.h"

int cli_json_print(const char *cmd, json_t *o)
{
	int bad = o == NULL || json_dumpf(o, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF;
	json_decref(o);
	if (bad) {
		fprintf(stderr, "eds %s: cannot write the JSON report\n", cmd);
		return EDS_EXIT_USAGE;
	}
	return EDS_EXIT_OK;
}

void cli_json_list_failure(json_t *list, uint64_t *omitted, const char *device_id,
                           uint64_t sequence, const char *reason, const char *message)
{
	json_t *o = NULL;
	if (json_array_size(list) < CLI_JSON_FAILURES_KEPT)
		o = json_pack("{s:s, s:I, s:s, s:s}", "device_id", device_id, "sequence",
		              (json_int_t)sequence, "reason", reason, "message", message);
	/* Out of memory for the entry: it is still counted, as not listed. */
	if (o == NULL || json_array_append_new(list, o) != 0)
		(*omitted)++;
}

int cli_json_report(const char *cmd, bool json, eds_status status, const char *context)
{
	/* A stdout that failed already takes no object (main's flush reports it). */
	if (json && !ferror(stdout)) {
		char msg[2048];
		const char *detail = cli_error_detail(status);
		if (context != NULL)
			snprintf(msg, sizeof msg, "%s: %s", context, detail);
		else
			snprintf(msg, sizeof msg, "%s", detail);
		eds_one_line(msg); /* a file name need not be UTF-8; JSON must be */
		cli_json_print(cmd, json_pack("{s:b, s:s}", "ok", 0, "error", msg));
	}
	return cli_report(cmd, status, context);
}
