/*
 * cli_json.h - what the commands' --json reports share.
 */
#ifndef EDS_CLI_JSON_H
#define EDS_CLI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "edgesentry/edgesentry.h"

/* A --json list of failures keeps this many; more are only counted
 * (failures_omitted), so memory stays bounded for any input. */
#define CLI_JSON_FAILURES_KEPT 1000

/*
 * Print o on stdout as one compact line and release it (NULL, from a
 * json_pack that ran out of memory, is a failure too).  On failure print
 * "eds CMD: cannot write the JSON report" on stderr and return
 * EDS_EXIT_USAGE, else EDS_EXIT_OK.
 */
int cli_json_print(const char *cmd, json_t *o);

/*
 * Append one failure {device_id, sequence, reason, message} to list, unless
 * it holds CLI_JSON_FAILURES_KEPT already (or memory runs out): then it is
 * only counted in *omitted.
 */
void cli_json_list_failure(json_t *list, uint64_t *omitted, const char *device_id,
                           uint64_t sequence, const char *reason, const char *message);

/*
 * A fatal error of a command whose --json report is one object: with json,
 * first {"ok":false,"error":MESSAGE} on stdout (MESSAGE: the stderr line
 * without its "eds CMD: "), so a script reading stdout always gets an
 * object, as from eds ledger's actions; then cli_report's line on stderr.
 * Returns what cli_report returns.
 */
int cli_json_report(const char *cmd, bool json, eds_status status, const char *context);

#endif
