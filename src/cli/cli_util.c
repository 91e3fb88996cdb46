/*
 * cli_util.c - error reporting shared by every eds command.
 */
#include <stdarg.h>
#include <unistd.h>

#include "cli.h"

/* cli.h's analyzer-only macro would rename the definition below. */
#undef cli_usage

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "eds %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'eds %s --help')\n", cmd);
	return EDS_EXIT_USAGE;
}

int cli_exit_code(eds_status status)
{
	switch (status) {
	case EDS_STATUS_OK: return EDS_EXIT_OK;
	case EDS_E_SIGNATURE:
	case EDS_E_HASH_MISMATCH:
	case EDS_E_PAYLOAD_MISMATCH:
	case EDS_E_SEQUENCE:
	case EDS_E_PREV_HASH:
	case EDS_E_FORK:
	case EDS_E_UNKNOWN_DEVICE:
	case EDS_E_REVOKED: return EDS_EXIT_INVALID;
	default: return EDS_EXIT_USAGE;
	}
}

int cli_report(const char *cmd, eds_status status, const char *context)
{
	const char *detail = eds_last_error();
	if (detail[0] == '\0')
		detail = eds_strerror(status);
	if (context != NULL)
		fprintf(stderr, "eds %s: %s: %s\n", cmd, context, detail);
	else
		fprintf(stderr, "eds %s: %s\n", cmd, detail);
	return cli_exit_code(status);
}

bool cli_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO) == 1;
}
