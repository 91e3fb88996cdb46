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

/** Wall-clock time in Unix milliseconds (receive times, log events). */
static inline uint64_t eds_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
