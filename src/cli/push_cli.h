/*
 * push_cli.h - what the HTTP and MQTT sides of `eds push` share: the
 * command line (each value flag at most once, --json, --quiet), the
 * progress line and the final report (text, or one JSON object).
 */
#ifndef EDS_CLI_PUSH_CLI_H
#define EDS_CLI_PUSH_CLI_H

#include <stdbool.h>

#include "edgesentry/http_client.h"
#include "progress.h"

typedef struct push_cli {
	bool json, quiet, mqtt, put_payloads;
	cli_progress bar; /* begun by push_cli_begin */
} push_cli;

/*
 * Parse argv: --json, --quiet and --put-payloads into pc, the value of names[k] into
 * *values[k] (each at most once, all NULL on entry), the one other
 * argument into *chain (required).  Returns EDS_EXIT_OK, or the usage exit
 * code after the one-line usage error.  argv is reordered.
 */
int push_cli_parse(push_cli *pc, int argc, char **argv, const char *const *names,
                   const char **const *values, int n, const char **chain);

/* Check --payload-dir (NULL: not given): EDS_EXIT_OK, or the usage exit
 * code after the one-line usage error naming it. */
int push_cli_check_payload_dir(const char *dir);

/* --url (NULL: not given) is http:// or https://: EDS_EXIT_OK, or the
 * usage exit code after the one-line usage error. */
int push_cli_check_url(const char *url);

/* --retries (NULL: not given) into *retries as eds_push_options.retries
 * (0..100; 0 means never wait, -1): EDS_EXIT_OK, or the usage exit code
 * after the one-line usage error. */
int push_cli_retries(const char *value, int *retries);

/* Start the clock of the progress line, sized by the chain file (a pipe or
 * "-": shown after CLI_PROGRESS_MIN_ITEMS records); call right before the
 * push.  Off with --json or --quiet and when stderr is not a terminal. */
void push_cli_begin(push_cli *pc, const char *chain);

/* An eds_push_progress_fn; ctx is the push_cli, begun with push_cli_begin. */
void push_cli_progress(void *ctx, uint64_t done, uint64_t total, const eds_push_summary *so_far);

/*
 * The end of a push that ran (st, s from eds_push_chain or
 * eds_mqtt_push_chain): erase the progress line, print the summary (text
 * unless --quiet, or the --json object) and on failure the one error line
 * on stderr.  Returns the exit code: 0 done, 1 a record refused, 2 else.
 */
int push_cli_report(push_cli *pc, const char *chain, eds_status st, const eds_push_summary *s);

#endif
