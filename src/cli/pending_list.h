/*
 * pending_list.h - an export's pending.jsonl (the records whose payload was
 * still pending when it was written), loaded for `eds verify-chain
 * --pending`: a payload file missing for one of them is expected, not lost.
 */
#ifndef EDS_CLI_PENDING_LIST_H
#define EDS_CLI_PENDING_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/record.h"
#include "store/ledger_internal.h"

/* Most bytes of a pending.jsonl read whole (about two million lines). */
#define PENDING_FILE_MAX ((size_t)256 << 20)

/* One line of the file, and where it was (failures name FILE:LINE). */
typedef struct pending_entry {
	eds_ledger_pending rec;
	uint32_t line; /* 1, 2, ...: a file of PENDING_FILE_MAX bytes has fewer lines */
} pending_entry;

typedef struct pending_list {
	pending_entry *v; /* sorted by device, sequence, payload hash */
	size_t n, cap;
} pending_list;

/*
 * Read path (at most PENDING_FILE_MAX bytes; each non-empty line as
 * eds_ledger_pending_from_json reads it) into p, which must be zeroed; on
 * failure p is left empty (nothing to free).
 * Errors (the detail starts with "PATH:LINE: " for a bad line):
 * EDS_E_NOT_FOUND, EDS_E_IO, EDS_E_LIMIT, EDS_E_MALFORMED, EDS_E_FIELD,
 * EDS_E_NOMEM.
 */
eds_status pending_list_load(pending_list *p, const char *path);

/* An eds_chain_pending_fn, ctx a pending_list: whether r (device, sequence
 * and payload hash) is listed. */
int pending_list_has(void *ctx, const eds_record *r);

void pending_list_free(pending_list *p);

#endif
