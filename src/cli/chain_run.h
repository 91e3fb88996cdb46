/*
 * chain_run.h - one chain verification of a record file, shared by
 * `eds verify-chain` and `eds demo` so both run exactly the same code.
 */
#ifndef EDS_CLI_CHAIN_RUN_H
#define EDS_CLI_CHAIN_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "edgesentry/chain.h"
#include "edgesentry/record_file.h"
#include "progress.h"

typedef struct cli_chain_result {
	eds_chain_verifier *v;
	uint64_t *lines; /* file line of each failure, parallel to the failure list */
	size_t line_count, line_cap;
} cli_chain_result;

/*
 * Stream the records of path ("-": stdin) through a new verifier.  When the
 * whole file was read, returns EDS_EXIT_OK and fills res (verification
 * failures are in res->v).  Otherwise prints one line "eds CMD: ..." on
 * stderr and returns its exit code (2 for unreadable or malformed input,
 * 1 for a record whose stated record_hash does not match its fields); res
 * is then empty.  progress allows a progress bar (a terminal and a large
 * file are needed too).  opts->threads other than 1 verifies signatures on
 * that many threads (0: every core), with the same outcome.  Free res with cli_chain_result_free.
 */
int cli_chain_verify_file(const char *cmd, const char *path, const eds_chain_options *opts,
                          bool progress, cli_chain_result *res);

void cli_chain_result_free(cli_chain_result *res);

/* Remember the file line of the failure just recorded in res->v. */
eds_status cli_chain_remember_line(cli_chain_result *res, uint64_t line);

/*
 * Read every record of rd into res->v with a reader thread and the
 * verifier's batches (chain_parallel.c): same outcome as the sequential
 * read.  Returns EDS_OK at the end of the input, else the error (detail set).
 */
eds_status cli_chain_read_parallel(eds_record_reader *rd, cli_chain_result *res, cli_progress *bar);

/*
 * One line per failure, after indent:
 * "FAIL device=ID record=#INDEX line=LINE sequence=SEQ reason=CODE: MESSAGE"
 * (INDEX is the 0-based position of the record in the file).
 */
void cli_chain_print_failures(FILE *out, const char *indent, const cli_chain_result *res);

/*
 * The summary line, e.g. "3 devices, 1500 records: 2 valid, 1 failed;
 * signatures checked: 1500"; keyed: a key or registry was given; payloads:
 * a payload directory was checked.
 */
void cli_chain_print_summary(FILE *out, const eds_chain_summary *s, bool keyed, bool payloads);

/* The failures as a JSON array of {device_id, index, line, sequence, reason, message}. */
json_t *cli_chain_failures_json(const cli_chain_result *res);

#endif
