/*
 * cli_json.h - what the commands' --json reports share.
 */
#ifndef EDS_CLI_JSON_H
#define EDS_CLI_JSON_H

#include <jansson.h>

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

#endif
