/*
 * fuzz_oplog_line.c - libFuzzer target for the reader of one operation-log
 * line (eds verify-oplog: an export's oplog.jsonl, as eds ledger log --json
 * writes it): parse; whatever is accepted must write back, as log --json
 * writes it, to a line that reads as the same event, and hash into the
 * chain without trouble.  Every refusal must leave a one-line printable
 * detail, as the CLI prints it after FILE:LINE.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/error.h"
#include "fuzz_util.h"
#include "store/ledger_internal.h"

static bool zero(const uint8_t h[EDS_HASH_LEN])
{
	static const uint8_t z[EDS_HASH_LEN];
	return memcmp(h, z, EDS_HASH_LEN) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	eds_ledger_event ev, again;
	uint64_t id, id2;
	bool chained, chained2;
	uint8_t link[EDS_HASH_LEN];

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = true;
	eds_status st = eds_ledger_event_from_json((const char *)data, size, &id, &ev, &chained);
	fuzz_check_status(st);
	if (st != EDS_OK)
		return 0;
	if (id == 0 || id > EDS_INT_MAX || ev.time_ms > EDS_INT_MAX || ev.sequence > EDS_INT_MAX ||
	    (!chained && !zero(ev.chain_hash)))
		abort();
	eds_ledger_event_chain(ev.chain_hash, id, &ev, link);
	json_t *o = eds_ledger_event_json(id, &ev);
	char *line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line == NULL || strlen(line) > EDS_LEDGER_EVENT_JSON_MAX)
		abort();
	/* An all-zero hash given as hex is written as null: the same event. */
	if (eds_ledger_event_from_json(line, strlen(line), &id2, &again, &chained2) != EDS_OK ||
	    id2 != id || memcmp(&again, &ev, sizeof ev) != 0 || chained2 != !zero(ev.chain_hash))
		abort();
	free(line);
	return 0;
}
