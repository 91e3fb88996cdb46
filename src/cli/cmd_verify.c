/*
 * cmd_verify.c - `eds verify` (not yet implemented).
 */
#include "cli.h"

int cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds verify: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
