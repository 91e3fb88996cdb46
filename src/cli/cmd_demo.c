/*
 * cmd_demo.c - `eds demo` (not yet implemented).
 */
#include "cli.h"

int cmd_demo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "eds demo: not implemented yet\n");
	return EDS_EXIT_USAGE;
}
