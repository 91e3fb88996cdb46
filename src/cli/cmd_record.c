/*
 * cmd_record.c - `eds record` (not yet implemented).
 */
#include "cli.h"

int cmd_record(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds record: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
