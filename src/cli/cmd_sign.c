/*
 * cmd_sign.c - `eds sign` (not yet implemented).
 */
#include "cli.h"

int cmd_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds sign: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
