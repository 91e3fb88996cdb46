/*
 * demo_pipeline.h - the second half of `eds demo`: the same two lifts as
 * device agents (crash-safe chain state, offline queue), a real ingest
 * server on loopback (deny-by-default allowlist, integrity gate, durable
 * ledger), attacks on the gate, and an auditor re-verifying the ledger
 * offline.  Everything runs in one process on embedded defaults.
 */
#ifndef EDS_CLI_DEMO_PIPELINE_H
#define EDS_CLI_DEMO_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "edgesentry/key.h"

#define DEMO_PIPELINE_DEVICES 2

/*
 * Run the pipeline in the existing directory dir (it makes dir/server and
 * dir/agents/<id>).  ids and keys name the two devices.  text: tell the
 * story on stdout.  report (may be NULL) receives a "pipeline" object.
 * Sets *ok when every step did what it should (records delivered, every
 * attack refused with the expected code, the audit clean, the insider edit
 * caught).  Returns EDS_OK, or an error status with eds_last_error() set
 * when the demo itself could not run (files, sockets).
 */
eds_status demo_pipeline_run(const char *dir, const char *const ids[DEMO_PIPELINE_DEVICES],
                             const eds_secret_key keys[DEMO_PIPELINE_DEVICES], bool text,
                             json_t *report, bool *ok);

#endif
