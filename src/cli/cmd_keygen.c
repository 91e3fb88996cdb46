/*
 * cmd_keygen.c - `eds keygen` (not yet implemented).
 */
#include "cli.h"

int cmd_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds keygen: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
