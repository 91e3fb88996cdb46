/*
 * fuzz_update_state.c - libFuzzer target for the files of a device's update
 * state folder: update-state.json (eds_update_state_load) and a trust
 * policy file (eds_update_trust_load, the reader of trust.json and of
 * `eds update verify --trust`).
 *
 * The first byte picks the file ('t': trust policy, anything else: update
 * state), the rest is its text.  Checks: a state that loads is saved and
 * re-read to the same state; refusals leave a printable one-line detail.
 */
#include <string.h>

#include "edgesentry/update.h"
#include "fuzz_util.h"

static void state(const uint8_t *data, size_t size)
{
	static eds_update_state s, back;
	char path[128];
	fuzz_write_scratch("update-state.json", data, size, path);
	eds_status st = eds_update_state_load(&s, fuzz_scratch_dir());
	fuzz_check_status(st);
	if (st != EDS_OK)
		return;
	if (eds_update_state_save(&s, fuzz_scratch_dir()) != EDS_OK ||
	    eds_update_state_load(&back, fuzz_scratch_dir()) != EDS_OK ||
	    memcmp(&s, &back, sizeof s) != 0)
		abort();
}

static void trust(const uint8_t *data, size_t size)
{
	static eds_update_trust t;
	char path[128];
	fuzz_write_scratch("trust.json", data, size, path);
	fuzz_check_status(eds_update_trust_load(&t, path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = 1;
	if (size > 0 && data[0] == 't')
		trust(data + 1, size - 1);
	else if (size > 0)
		state(data + 1, size - 1);
	return 0;
}
