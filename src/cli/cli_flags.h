/*
 * cli_flags.h - "--name VALUE" / "--name=VALUE" parsing and number flags,
 * shared by the commands (serve, push, ledger, device, keygen, sign, verify).
 */
#ifndef EDS_CLI_FLAGS_H
#define EDS_CLI_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

/**
 * Does argv[*i] name flag `name`?  Returns 1 and sets *value (advancing *i
 * past a separate value), 0 when it is another argument, -1 when the value
 * is missing.
 */
int cli_flag(int argc, char **argv, int *i, const char *name, const char **value);

/** Switches: flags without a value (e.g. "--json"); *on[k] is set when names[k] is given. */
typedef struct cli_switches {
	const char *const *names;
	bool *const *on;
	int n;
} cli_switches;

/**
 * The command line "ACTION --flag VALUE ... --switch ..." (any order) of a
 * command with actions: the value of flag names[k] goes to *values[k], a
 * switch of sw (NULL: none) sets its bool, the one argument that is not a
 * flag ("-" included) goes to *action (NULL when absent).  A flag's value
 * is never taken for a switch ("--out --json" names the file "--json").
 * Returns 0, or prints the usage error ("--x needs a value", "--x is
 * empty", "unexpected argument") and returns the usage exit code.
 */
int cli_action_flags(const char *cmd, int argc, char **argv, const char *const *names,
                     const char **const *values, int n, const cli_switches *sw,
                     const char **action);

/**
 * cli_action_flags where each value flag may be given at most once: a
 * second --x is the usage error "--x given twice".  The *values[k] must be
 * NULL on entry.  A switch may be repeated.
 */
int cli_action_flags_once(const char *cmd, int argc, char **argv, const char *const *names,
                          const char **const *values, int n, const cli_switches *sw,
                          const char **action);

/**
 * Whether -h or --help is among the arguments, other than as the value of
 * one of the value flags names[0..n) ("--id -h" is a device named -h).
 */
bool cli_help_asked(int argc, char **argv, const char *const *names, int n);

/** Parse a decimal in min..max; 0 on success, -1 (nothing printed) otherwise. */
int cli_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/**
 * getopt_long over opts, flags that each take one value: a flag's value is
 * stored into *slots[its short code], at most once; -h/--help prints help
 * on stdout.  Refuses (one line on stderr, via cli_usage) a missing value,
 * an unknown flag, a flag given twice and any positional argument.
 * Returns EDS_EXIT_OK, the usage exit code, or -1 after --help.
 */
int cli_parse_slots(const char *cmd, int argc, char **argv, const struct option *opts,
                    const char **const slots[128], const char *help);

#endif
