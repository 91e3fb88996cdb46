/*
 * update_cli.h - what the `eds update` sub-commands share: their parsed
 * options (cmd_update.c parses, cmd_update_verify.c runs the device side).
 */
#ifndef EDS_UPDATE_CLI_H
#define EDS_UPDATE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "edgesentry/update.h"

#define UPD_LIST_MAX 16

typedef struct upd_args {
	const char *cmd; /* "update verify" etc., for messages */
	const char *image, *package, *version, *secver, *out, *manifest, *trust, *state, *now,
	    *hardware, *previous, *threshold, *issued, *expires, *signature, *hash, *public_key,
	    *device, *evidence_chain, *evidence_payload_dir, *agent_state, *positional;
	const char *keys[UPD_LIST_MAX], *targets[UPD_LIST_MAX], *sign_keys[UPD_LIST_MAX];
	size_t n_keys, n_targets, n_sign_keys;
	bool json, legacy, trusted_clock;
} upd_args;

/* Exit codes of `eds update verify` beyond 0/2: 10 + eds_update_reason, then these. */
enum { UPD_EXIT_TRUST = 18, UPD_EXIT_LEGACY_SIGNATURE = 19 };

/** Strict decimal 0 .. 2^53-1; reports a usage error naming flag.  Returns an exit code. */
int upd_parse_int(const char *cmd, const char *flag, const char *s, uint64_t *out);

int update_verify(const upd_args *a);
int update_commit(const upd_args *a);

#endif
