/*
 * cli_util.c - error reporting and command-line helpers shared by the eds
 * commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
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

const char *cli_error_detail(eds_status status)
{
	const char *detail = eds_last_error();
	return detail[0] != '\0' ? detail : eds_strerror(status);
}

int cli_report(const char *cmd, eds_status status, const char *context)
{
	const char *detail = cli_error_detail(status);
	if (context != NULL)
		fprintf(stderr, "eds %s: %s: %s\n", cmd, context, detail);
	else
		fprintf(stderr, "eds %s: %s\n", cmd, detail);
	return cli_exit_code(status);
}

/* Why path cannot be a certificate or key file to read: NULL when it can. */
static const char *unreadable(const char *path)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO must not hang the check; it is refused as not regular. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return strerror(errno);
	const char *why = fstat(fd, &st) != 0    ? strerror(errno)
	                  : !S_ISREG(st.st_mode) ? "not a regular file"
	                                         : NULL;
	close(fd);
	return why;
}

int cli_check_files(const char *cmd, const char *const *flags, const char *const *files, int n)
{
	for (int i = 0; i < n; i++) {
		const char *why = files[i] != NULL ? unreadable(files[i]) : NULL;
		if (why != NULL) {
			fprintf(stderr, "eds %s: %s: %s: %s\n", cmd, flags[i], files[i], why);
			return EDS_EXIT_USAGE;
		}
	}
	return EDS_EXIT_OK;
}

bool cli_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO) == 1;
}

int cli_parse_threads(const char *cmd, const char *s, unsigned *out)
{
	unsigned long v = 0;
	bool ok = s[0] != '\0';
	for (const char *p = s; ok && *p != '\0'; p++) {
		ok = *p >= '0' && *p <= '9';
		v = v * 10 + (unsigned long)(*p - '0');
		ok = ok && v <= CLI_THREADS_MAX;
	}
	if (!ok)
		return cli_usage(cmd, "--threads: must be an integer 0 .. %u, got '%s'",
		                 CLI_THREADS_MAX, s);
	*out = (unsigned)v;
	return EDS_EXIT_OK;
}

int cli_getopt_file(const char *cmd, int argc, char **argv, const struct option *longopts,
                    const char *help, cli_option_fn fn, void *ctx, const char **file)
{
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(help, stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return cli_usage(cmd, "unknown option or missing value: '%s'",
			                 argv[optind - 1]);
		int rc = fn(ctx, c, optarg);
		if (rc != EDS_EXIT_OK)
			return rc;
	}
	if (optind + 1 != argc)
		return cli_usage(cmd, optind == argc ? "missing FILE" : "more than one FILE given");
	*file = argv[optind];
	return EDS_EXIT_OK;
}
