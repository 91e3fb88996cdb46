/*
 * fuzz_netpolicy.c - libFuzzer target for the network allowlist (eds serve
 * --allow and the "allow" key of its config) and the listen address text.
 *
 * The first line is the comma-separated allowlist; every further line is a
 * peer address to test against it and a listen address to parse.  Beyond
 * "no crash, no leak, no UB": a refused list leaves a printable one-line
 * detail, an accepted one holds 1..EDS_NETPOLICY_MAX entries, and an empty
 * list allows nobody.
 */
#include <string.h>
#include <sys/socket.h>

#include "edgesentry/netpolicy.h"
#include "fuzz_util.h"
#include "net/http_internal.h"

static void probe(const eds_netpolicy *p, size_t entries, const char *line)
{
	struct sockaddr_storage addr;
	if (eds_netpolicy_allows_text(p, line) && entries == 0)
		abort();
	eds_status st = eds_http_parse_listen(line, &addr);
	if (st != EDS_OK)
		return; /* the detail quotes the text as given on the command line */
	if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)
		abort();
	(void)eds_netpolicy_allows(p, (const struct sockaddr *)&addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	eds_netpolicy *p = NULL;
	if (eds_netpolicy_new(&p) != EDS_OK)
		abort();
	char *rest = strchr(text, '\n');
	if (rest != NULL)
		*rest++ = '\0';
	eds_status st = eds_netpolicy_add_list(p, text);
	fuzz_check_status(st);
	size_t n = eds_netpolicy_count(p);
	if (n > EDS_NETPOLICY_MAX ||
	    (st == EDS_OK && n == 0 && strspn(text, " \t") != strlen(text)))
		abort();
	for (char *line = rest; line != NULL; line = rest) {
		if ((rest = strchr(line, '\n')) != NULL)
			*rest++ = '\0';
		probe(p, n, line);
	}
	eds_netpolicy_free(p);
	free(text);
	return 0;
}
