/*
 * fuzz_registry.c - libFuzzer target for the key registry reader: parse,
 * look up a few ids, free.  Every refusal must leave a one-line printable
 * detail, since the CLI and the server print it as is.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "edgesentry/error.h"
#include "edgesentry/registry.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const char *const ids[] = {"lift-01", "a", "", "zz"};
	static const uint64_t seqs[] = {0, 1, 5000, 5001, (1ull << 53) - 1, UINT64_MAX};
	eds_registry *reg = NULL;
	eds_public_key pk;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = true;
	eds_status st = eds_registry_parse(&reg, (const char *)data, size);
	fuzz_check_status(st);
	if (st != EDS_OK) {
		if (reg != NULL)
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		for (size_t j = 0; j < sizeof seqs / sizeof seqs[0]; j++)
			fuzz_check_status(eds_registry_lookup(reg, ids[i], seqs[j], &pk));
	(void)eds_registry_device_count(reg);
	eds_registry_free(reg);
	return 0;
}
