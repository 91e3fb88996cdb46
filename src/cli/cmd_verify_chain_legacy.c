/*
 * cmd_verify_chain_legacy.c - `eds verify-chain --format legacy` (not yet implemented).
 */
#include "cli.h"

int cli_verify_chain_legacy(const char *path, const char *public_key, const char *payload_dir,
                            bool json)
{
	(void)path;
	(void)public_key;
	(void)payload_dir;
	(void)json;
	fprintf(stderr, "eds verify-chain: --format legacy is not implemented yet\n");
	return EDS_EXIT_USAGE;
}
