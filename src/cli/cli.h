/*
 * cli.h - what the eds sub-commands share: exit codes, error reporting and
 * the command entry points (one file per command, cmd_<name>.c).
 */
#ifndef EDS_CLI_H
#define EDS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "edgesentry/edgesentry.h"
#include "internal.h"

/* Exit codes, documented in `eds --help` and docs/cli.md. */
enum {
	EDS_EXIT_OK = 0,      /* success; for verification: everything valid */
	EDS_EXIT_INVALID = 1, /* verification ran and found a failure */
	EDS_EXIT_USAGE = 2,   /* bad usage, unreadable or malformed input */
};

/**
 * Print "eds CMD: MESSAGE" and "Try 'eds CMD --help'." on stderr; return
 * EDS_EXIT_USAGE.  For mistakes in the command line itself.
 */
int cli_usage(const char *cmd, const char *fmt, ...) EDS_PRINTF(2, 3);

#ifdef __clang_analyzer__
/* As for eds_fail (internal.h): show the analyzer that this never returns 0. */
#define cli_usage(...) (cli_usage(__VA_ARGS__), EDS_EXIT_USAGE)
#endif

/**
 * Print one line "eds CMD: <context>: <eds_last_error()>" on stderr and
 * return the exit code for status: EDS_EXIT_INVALID for verification
 * outcomes (bad signature, hash/payload mismatch, chain breaks, unknown or
 * revoked device), EDS_EXIT_USAGE for everything else.  context may be NULL.
 */
int cli_report(const char *cmd, eds_status status, const char *context);

/**
 * Each of the n files (NULL: its flag not given) is a regular file we can
 * open: EDS_EXIT_OK, or the usage exit code after one line "FLAG: FILE:
 * why".  For certificate and key files that libcurl or libmosquitto would
 * only fail on at the first connection, naming neither flag nor file.
 */
int cli_check_files(const char *cmd, const char *const *flags, const char *const *files, int n);

/** The detail cli_report prints for status: eds_last_error(), or the
 * status's own text when no detail was set. */
const char *cli_error_detail(eds_status status);

/** Exit code cli_report would use for status. */
int cli_exit_code(eds_status status);

/** Largest --threads value (0 means one thread per core). */
#define CLI_THREADS_MAX 256u

/** Parse a --threads value (decimal 0 .. CLI_THREADS_MAX) into *out; on a bad
 * value print the usage error and return EDS_EXIT_USAGE. */
int cli_parse_threads(const char *cmd, const char *s, unsigned *out);

struct option;

/* One parsed option of cli_getopt_file: opt is its longopts val.  Returns
 * EDS_EXIT_OK, or an exit code after printing the one-line usage error. */
typedef int (*cli_option_fn)(void *ctx, int opt, const char *value);

/**
 * The command line of a command taking options and exactly one FILE:
 * getopt_long over argv with longopts (whose --help must have val 'h'),
 * each other option handed to fn.  --help / -h prints help on stdout and
 * returns -1; an unknown option, a missing value, no FILE or two FILEs are
 * usage errors (one line, EDS_EXIT_USAGE).  EDS_EXIT_OK sets *file.
 */
int cli_getopt_file(const char *cmd, int argc, char **argv, const struct option *longopts,
                    const char *help, cli_option_fn fn, void *ctx, const char **file);

/** True when stderr is a terminal (progress bars go only there). */
bool cli_stderr_is_tty(void);

/**
 * Append r as device r->device_id's next record to the JSON Lines chain
 * file (created 0644 if absent) under an exclusive lock: sequence and
 * prev_hash are set from the device's last record there, then r is signed
 * with sk.  Nothing is appended when the device's records do not form a
 * valid chain (exit 1).  Errors are reported as "eds CMD: ...".  Returns an
 * exit code.
 */
int cli_chain_append(const char *cmd, const char *chain, eds_record *r, const eds_secret_key *sk);

/* Command entry points: argv[0] is the command name; return an exit code. */
int cmd_keygen(int argc, char **argv);
int cmd_pubkey(int argc, char **argv);
int cmd_hash(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_verify_chain(int argc, char **argv);
int cmd_verify_oplog(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_update(int argc, char **argv);
/* Server side (ingest branch). */
int cmd_device(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_push(int argc, char **argv);
/* Device side (agent branch). */
int cmd_agent(int argc, char **argv);

/*
 * `eds verify-chain --format legacy`: verification of an edgesentry-rs
 * chain file, implemented in cmd_verify_chain_legacy.c.  public_key and
 * payload_dir may be NULL.  Returns an exit code.
 */
int cli_verify_chain_legacy(const char *path, const char *public_key, const char *payload_dir,
                            bool json);

#endif
