/*
 * cmd_pubkey.c - `eds pubkey` (not yet implemented).
 */
#include "cli.h"

int cmd_pubkey(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds pubkey: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
