/*
 * cli_flags.c - flag parsing shared by the commands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"

int cli_flag(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*value = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

int cli_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (text == NULL || *text == '\0' || strlen(text) > 19)
		return -1;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Is argv[i] one of the switches?  Sets it when so. */
static int take_switch(const char *arg, const cli_switches *sw)
{
	for (int k = 0; sw != NULL && k < sw->n; k++)
		if (strcmp(arg, sw->names[k]) == 0) {
			*sw->on[k] = true;
			return 1;
		}
	return 0;
}

/*
 * One pass over argv, value flags first: a value that looks like a switch
 * ("--ledger --json") stays the flag's value instead of turning --json on.
 */
static int action_flags(const char *cmd, int argc, char **argv, const char *const *names,
                        const char **const *values, int n, const cli_switches *sw,
                        const char **action, bool once)
{
	*action = NULL;
	for (int i = 1; i < argc; i++) {
		int r = 0;
		for (int k = 0; k < n && r == 0; k++) {
			const char *before = *values[k];
			r = cli_flag(argc, argv, &i, names[k], values[k]);
			if (r > 0 && once && before != NULL)
				return cli_usage(cmd, "%s given twice", names[k]);
			/* No flag of these commands takes "" (an unset variable, as a rule). */
			if (r > 0 && **values[k] == '\0')
				return cli_usage(cmd, "%s is empty", names[k]);
		}
		if (r == 0)
			r = take_switch(argv[i], sw);
		if (r < 0)
			return cli_usage(cmd, "%s needs a value", argv[i]);
		/* "-" alone is an argument (standard input), never a flag */
		if (r == 0 && *action == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			*action = argv[i];
		else if (r == 0)
			return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
	}
	return EDS_EXIT_OK;
}

int cli_action_flags(const char *cmd, int argc, char **argv, const char *const *names,
                     const char **const *values, int n, const cli_switches *sw, const char **action)
{
	return action_flags(cmd, argc, argv, names, values, n, sw, action, false);
}

int cli_action_flags_once(const char *cmd, int argc, char **argv, const char *const *names,
                          const char **const *values, int n, const cli_switches *sw,
                          const char **action)
{
	return action_flags(cmd, argc, argv, names, values, n, sw, action, true);
}

int cli_parse_slots(const char *cmd, int argc, char **argv, const struct option *opts,
                    const char **const slots[128], const char *help)
{
	int c, idx;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return -1;
		}
		if (c == ':')
			return cli_usage(cmd, "%s needs a value", argv[optind - 1]);
		if (c == '?' || c < 0 || c >= 128 || slots[c] == NULL)
			return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		if (*slots[c] != NULL)
			return cli_usage(cmd, "--%s given twice", opts[idx].name);
		*slots[c] = optarg;
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return EDS_EXIT_OK;
}

bool cli_help_asked(int argc, char **argv, const char *const *names, int n)
{
	for (int i = 1; i < argc; i++) {
		bool takes_next = false;
		for (int k = 0; k < n && !takes_next; k++)
			takes_next = strcmp(argv[i], names[k]) == 0;
		if (takes_next)
			i++; /* its value, whatever it looks like ("--id -h" names a device) */
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}
