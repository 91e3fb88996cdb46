/*
 * cli_flags.h - "--name VALUE" / "--name=VALUE" parsing and number flags,
 * shared by the server-side commands (serve, push, ledger, device).
 */
#ifndef EDS_CLI_FLAGS_H
#define EDS_CLI_FLAGS_H

#include <stdint.h>

/**
 * Does argv[*i] name flag `name`?  Returns 1 and sets *value (advancing *i
 * past a separate value), 0 when it is another argument, -1 when the value
 * is missing.
 */
int cli_flag(int argc, char **argv, int *i, const char *name, const char **value);

/** Parse a decimal in min..max; 0 on success, -1 (nothing printed) otherwise. */
int cli_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

#endif
