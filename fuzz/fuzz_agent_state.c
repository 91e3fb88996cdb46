/*
 * fuzz_agent_state.c - libFuzzer target for the agent's state file
 * (STATE_DIR/agent.db, read by eds_agent_status_read and `eds agent
 * status`): the input is the database file.  A corrupt or foreign file must
 * be refused with a printable one-line detail, never crash or leak.
 */
#include <unistd.h>

#include "edgesentry/agent.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char path[128];
	eds_agent_status st;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = 1;
	fuzz_write_scratch("agent.db", data, size, path);
	eds_status s = eds_agent_status_read(fuzz_scratch_dir(), &st);
	fuzz_check_status(s);
	/* SQLite's side files of a WAL database must not leak into the next input. */
	char side[140];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	return 0;
}
