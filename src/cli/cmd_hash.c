/*
 * cmd_hash.c - `eds hash` (not yet implemented).
 */
#include "cli.h"

int cmd_hash(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds hash: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
