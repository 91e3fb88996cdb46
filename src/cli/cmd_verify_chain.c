/*
 * cmd_verify_chain.c - `eds verify-chain` (not yet implemented).
 */
#include "cli.h"

int cmd_verify_chain(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds verify-chain: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
