/*
 * ledger_log.h - the ledger's operation log as text or JSON Lines, for
 * `eds ledger log` and the oplog.jsonl of `eds ledger export`.
 */
#ifndef EDS_CLI_LEDGER_LOG_H
#define EDS_CLI_LEDGER_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "edgesentry/ledger.h"

/**
 * Write the events with an id above after_id (of device_id only, when not
 * NULL) to out, one line each: JSON Lines when json ({id, time_ms, source,
 * device_id, sequence, decision, reason, record_hash, chain_hash}; unknown
 * device, sequence or hash, and the chain of a ledger without one, are
 * null), else "ID TIME SOURCE DECISION REASON
 * DEVICE/SEQUENCE HASH" with "-" for what is unknown.  *count (may be NULL)
 * gets the number written.  Errors: those of eds_ledger_event_foreach, and
 * EDS_E_IO when out cannot be written.
 */
eds_status ledger_log_write(eds_ledger *l, uint64_t after_id, const char *device_id, bool json,
                            FILE *out, uint64_t *count);

#endif
