/*
 * cli_json.c - see cli_json.h.
 */
#include <stdio.h>

#include "cli.h"
#include "cli_json.h"

int cli_json_print(const char *cmd, json_t *o)
{
	int bad = o == NULL || json_dumpf(o, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF;
	json_decref(o);
	if (bad) {
		fprintf(stderr, "eds %s: cannot write the JSON report\n", cmd);
		return EDS_EXIT_USAGE;
	}
	return EDS_EXIT_OK;
}
