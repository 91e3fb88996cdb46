/*
 * fuzz_checkpoint.c - libFuzzer target for the signed-checkpoint reader
 * (eds ledger verify --checkpoint): parse; whatever is accepted must write
 * back as JSON that reads as the same checkpoint, and its signature check
 * must answer with a status, never crash.  Every refusal must leave a
 * one-line printable detail, as the CLI prints it as is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/checkpoint.h"
#include "edgesentry/error.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	eds_checkpoint cp, again;
	char *json = NULL;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = true;
	eds_status st = eds_checkpoint_from_json(&cp, (const char *)data, size);
	fuzz_check_status(st);
	if (st != EDS_OK)
		return 0;
	fuzz_check_status(eds_checkpoint_verify(&cp, &cp.public_key));
	if (eds_checkpoint_to_json(&cp, &json) != EDS_OK)
		abort();
	if (eds_checkpoint_from_json(&again, json, strlen(json)) != EDS_OK ||
	    memcmp(&again, &cp, sizeof cp) != 0)
		abort();
	free(json);
	return 0;
}
