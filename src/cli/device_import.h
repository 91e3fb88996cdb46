/*
 * device_import.h - `eds device import`: a key registry file (FORMAT.md 2)
 * taken into a ledger's device registry in one transaction.
 */
#ifndef EDS_CLI_DEVICE_IMPORT_H
#define EDS_CLI_DEVICE_IMPORT_H

#include <stdbool.h>

#include "edgesentry/ledger.h"
#include "edgesentry/registry.h"

/**
 * Import every device of reg (read from registry_path, which only names it
 * in messages) into l with eds_ledger_device_import, then print what it
 * did: one line, or with json one object {devices, added, changed,
 * unchanged}.  An error is printed as one line naming the registry entry
 * ("FILE: devices[3] (lift-07): ..."), with json also as the object of
 * cli_json_report.  Returns the exit code (0, or 2).
 */
int device_import_run(eds_ledger *l, const eds_registry *reg, const char *registry_path, bool json);

#endif
