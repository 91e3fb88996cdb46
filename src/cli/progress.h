/*
 * progress.h - a one-line progress display on stderr for long-running
 * commands (percentage, count, rate), shown only on a terminal and only for
 * large inputs, so pipes, logs and tests never see it.
 */
#ifndef EDS_CLI_PROGRESS_H
#define EDS_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "edgesentry/registry.h"

/* Inputs of known size are shown from this many bytes on. */
#define CLI_PROGRESS_MIN_BYTES (8u * 1024u * 1024u)
/* Inputs of unknown size (pipes) are shown once this many items are done;
 * inputs counted in items (a ledger's records) from this many items on. */
#define CLI_PROGRESS_MIN_ITEMS 50000u

typedef struct cli_progress {
	const char *label; /* e.g. "verify-chain" */
	const char *unit;  /* e.g. "records" */
	uint64_t total;    /* input bytes (items with cli_progress_begin_items), 0 when unknown */
	bool in_items;     /* total and the percentage count items, not bytes */
	bool enabled;      /* stderr is a terminal and the caller allows it */
	bool shown;        /* a line is currently drawn */
	double start, last_draw;
} cli_progress;

/*
 * Prepare p.  allowed = false (e.g. --quiet) turns it off; so does a stderr
 * that is not a terminal.  label and unit are borrowed.
 */
void cli_progress_begin(cli_progress *p, const char *label, const char *unit, uint64_t total_bytes,
                        bool allowed);

/*
 * Prepare p for an input whose size is known in items, not bytes (e.g. the
 * records of a ledger): shown from CLI_PROGRESS_MIN_ITEMS items on, the
 * percentage taken from the items done (done_bytes is then ignored).
 */
void cli_progress_begin_items(cli_progress *p, const char *label, const char *unit,
                              uint64_t total_items, bool allowed);

/* Report progress; redraws at most 10 times a second, cheap to call per item. */
void cli_progress_update(cli_progress *p, uint64_t done_bytes, uint64_t items);

/* As cli_progress_update for callers that report in coarse steps (e.g. a
 * batch at a time): looks at the clock on every call. */
void cli_progress_step(cli_progress *p, uint64_t done_bytes, uint64_t items);

/* Erase the line, if one was drawn.  Call before printing results. */
void cli_progress_end(cli_progress *p);

/*
 * eds_registry_load with its two slow parts, parsing and the key checks,
 * shown as they go (a million-device registry takes half a minute); label
 * names the command, e.g. "device import".  Result and errors as
 * eds_registry_load; the line is erased before it returns.
 */
eds_status cli_progress_load_registry(eds_registry **out, const char *path, const char *label,
                                      bool allowed);

#endif
