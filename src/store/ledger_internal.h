/*
 * ledger_internal.h - helpers shared by the ledger front end and its back
 * ends; not installed.
 */
#ifndef EDS_STORE_LEDGER_INTERNAL_H
#define EDS_STORE_LEDGER_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include "edgesentry/ledger.h"

/** Check a device id against FORMAT.md 1.1.  Errors: EDS_E_ARG, EDS_E_FIELD. */
eds_status eds_ledger_check_id(const char *device_id);

/**
 * Create the 256 two-hex subdirectories of a payload root (FORMAT.md 3) that
 * are missing and fsync root once, so staging a payload never creates a
 * directory.  Errors: EDS_E_IO, EDS_E_LIMIT.
 */
eds_status eds_payload_stage_dirs(const char *root);

/**
 * Refuse every write on l from now on (EDS_E_UNSUPPORTED "ledger opened
 * read-only"): set by a back end opened with eds_ledger_options.read_only.
 */
void eds_ledger_set_read_only(eds_ledger *l);

/** Wall-clock time in Unix milliseconds (receive times, log events). */
static inline uint64_t eds_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
