/*
 * cmd_migrate.c - `eds migrate` (not yet implemented).
 */
#include "cli.h"

int cmd_migrate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds migrate: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
