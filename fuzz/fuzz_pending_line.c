/*
 * fuzz_pending_line.c - libFuzzer target for the reader of one line of an
 * export's pending.jsonl (eds verify-chain --pending): parse; whatever is
 * accepted must be a valid device id, sequence and hash, and write back, as
 * eds ledger export writes it, to a line that reads as the same entry.
 * Every refusal must leave a one-line printable detail, as the CLI prints
 * it after FILE:LINE.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/error.h"
#include "fuzz_util.h"
#include "store/ledger_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	eds_ledger_pending p, again;
	eds_record r;
	char line[EDS_LEDGER_PENDING_JSON_MAX + 1];
	size_t len;

	eds_status st = eds_ledger_pending_from_json((const char *)data, size, &p);
	fuzz_check_status(st);
	if (st != EDS_OK)
		return 0;
	if (p.sequence == 0 || p.sequence > EDS_INT_MAX ||
	    eds_ledger_check_id(p.device_id) != EDS_OK)
		abort();
	memset(&r, 0, sizeof r);
	memcpy(r.device_id, p.device_id, sizeof r.device_id);
	r.sequence = p.sequence;
	memcpy(r.payload_hash, p.payload_hash, EDS_HASH_LEN);
	if (eds_ledger_pending_to_json(&r, line, sizeof line, &len) != EDS_OK ||
	    eds_ledger_pending_from_json(line, len, &again) != EDS_OK ||
	    memcmp(&again, &p, sizeof p) != 0)
		abort();
	return 0;
}
