/*
 * legacy_cli.h - what `eds verify-chain --format legacy` and `eds migrate`
 * share about edgesentry-rs chains.
 */
#ifndef EDS_CLI_LEGACY_CLI_H
#define EDS_CLI_LEGACY_CLI_H

#include "edgesentry/key.h"
#include "edgesentry/legacy.h"

/*
 * The one warning line every legacy verification prints on stderr: what a
 * legacy signature does not cover.
 */
void cli_legacy_warning(const char *cmd);

/*
 * Chain options from the command line: public_key (NULL: no signature
 * checks) is resolved into *pk with eds_public_key_load; payload_dir may be
 * NULL.  Errors from eds_public_key_load.
 */
eds_status cli_legacy_options(eds_legacy_chain_options *opts, eds_public_key *pk,
                              const char *public_key, const char *payload_dir);

#endif
