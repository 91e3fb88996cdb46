/*
 * cmd_agent.c - `eds agent`: sign each stdin line (or each file dropped in
 * a spool directory) as a reading, keep it in the durable queue and forward
 * it to an ingest server; `eds agent status` reads a state directory.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_flags.h"
#include "net/http_client_internal.h"
#include "push_mqtt.h"

static const char *const cmd = "agent";

static volatile sig_atomic_t got_term, got_usr1;

static void help(void)
{
	printf("usage: eds agent --key KEY --device ID --state DIR --url URL [OPTIONS]\n"
	       "       eds agent --key KEY --device ID --state DIR --mqtt HOST:PORT [OPTIONS]\n"
	       "       eds agent status --state DIR [--json]\n\n"
	       "Run the device agent: sign each line read from standard input (without its\n"
	       "newline), or each file dropped into --spool DIR, as the payload of the\n"
	       "device's next record; keep every signed record in a durable queue in --state\n"
	       "until the server answered accepted or duplicate; forward the queue in order\n"
	       "over HTTP(S) (FORMAT.md section 4) with exponential backoff and jitter while\n"
	       "the server is unreachable or answers 503.  At end of input the agent waits\n"
	       "until the queue is empty, then exits.  SIGUSR1 prints the queue state on\n"
	       "standard output; SIGTERM or SIGINT stops cleanly (queued records stay in\n"
	       "--state for the next run).  With --mqtt the queue goes over MQTT instead\n"
	       "(FORMAT.md section 5): a record leaves the queue only on the server's\n"
	       "accepted or duplicate answer, never on the broker's PUBACK; --url is then\n"
	       "optional and only asks for the server's head.  Broker user name and password:\n"
	       "EDS_MQTT_USERNAME and EDS_MQTT_PASSWORD in the environment.\n\n"
	       "Options:\n"
	       "  --key FILE             the device's secret key file\n"
	       "  --device ID            device id (must match the state directory)\n"
	       "  --state DIR            state directory (created when absent)\n"
	       "  --url URL              ingest server, http://HOST:PORT or https://...\n"
	       "  --spool DIR            read payloads from files in DIR (oldest name first;\n"
	       "                         names starting with '.' are ignored, so write\n"
	       "                         .NAME and rename); each file is removed once queued\n"
	       "  --object-ref REF       object_ref of stdin readings (default \"stdin\";\n"
	       "                         spool readings use the file name)\n"
	       "  --headers-first        send records without payloads first, then upload\n"
	       "                         the payloads with PUT (thin links)\n"
	       "  --max-records N        queue bound in records (default 1000000)\n"
	       "  --max-bytes N          queue bound in bytes (default 268435456)\n"
	       "  --overflow POLICY      reject: stop reading input until the queue has\n"
	       "                         room (default); shed-payloads: drop the oldest\n"
	       "                         payloads, keep their records, sign a notice\n"
	       "  --sync-every N         1: fsync every record (default); N > 1: group fsync\n"
	       "                         every N records and before each send\n"
	       "  --batch N              records per request, 1..1000 (default 100)\n"
	       "  --timeout-ms MS        per request timeout (default 10000)\n"
	       "  --backoff-min-ms MS    first retry delay (default 200)\n"
	       "  --backoff-max-ms MS    longest retry delay (default 30000)\n"
	       "  --max-line N           longest stdin line / spool file in bytes\n"
	       "                         (default 1048576)\n"
	       "  --exit-at-eof          at end of input exit at once (queue kept)\n"
	       "  --cacert FILE          CA certificates for an https:// server\n"
	       "  --cert FILE            client certificate (PEM) for mutual TLS\n"
	       "  --tls-key FILE         its private key\n"
	       "  --mqtt HOST:PORT       forward over MQTT through this broker (not with\n"
	       "                         --headers-first)\n"
	       "  --mqtt-cafile FILE     use TLS 1.2+ to the broker, trusting these CAs; the\n"
	       "                         broker certificate must name HOST\n"
	       "  --mqtt-cert FILE       client certificate (PEM) for the broker\n"
	       "  --mqtt-key FILE        its private key (PEM)\n"
	       "  --mqtt-client-id ID    client id (default: a random one)\n"
	       "  --json                 status: print one JSON object\n"
	       "  -h, --help             show this help\n\n"
	       "Exit codes:\n"
	       "  0  input ended and the queue drained, or stopped by SIGTERM/SIGINT\n"
	       "  1  (not used by this command)\n"
	       "  2  usage error, bad key or state, input line too long, store failure\n");
}

typedef struct agent_args {
	const char *key, *device, *state, *url, *spool, *object_ref, *cacert, *cert, *tls_key;
	const char *overflow, *mqtt, *mqtt_cafile, *mqtt_cert, *mqtt_key, *mqtt_id;
	bool headers_first, exit_at_eof, json;
	uint64_t max_records, max_bytes, sync_every, batch, timeout_ms, backoff_min, backoff_max;
	uint64_t max_line;
} agent_args;

typedef struct num_flag {
	const char *name;
	uint64_t min, max;
	size_t off;
} num_flag;

#define NUM(n, lo, hi, f)                                                                          \
	{                                                                                          \
		n, lo, hi, offsetof(agent_args, f)                                                 \
	}
static const num_flag num_flags[] = {
    NUM("--max-records", 2, 1000000000, max_records),
    NUM("--max-bytes", 4096, 1ULL << 40, max_bytes),
    NUM("--sync-every", 1, 100000, sync_every),
    NUM("--batch", 1, 1000, batch),
    NUM("--timeout-ms", 10, 600000, timeout_ms),
    NUM("--backoff-min-ms", 1, 3600000, backoff_min),
    NUM("--backoff-max-ms", 1, 3600000, backoff_max),
    NUM("--max-line", 1, 64u << 20, max_line),
};

typedef struct str_flag {
	const char *name;
	size_t off;
} str_flag;

#define STR(n, f)                                                                                  \
	{                                                                                          \
		n, offsetof(agent_args, f)                                                         \
	}
static const str_flag str_flags[] = {
    STR("--key", key),
    STR("--device", device),
    STR("--state", state),
    STR("--url", url),
    STR("--spool", spool),
    STR("--object-ref", object_ref),
    STR("--cacert", cacert),
    STR("--cert", cert),
    STR("--tls-key", tls_key),
    STR("--overflow", overflow),
    STR("--mqtt", mqtt),
    STR("--mqtt-cafile", mqtt_cafile),
    STR("--mqtt-cert", mqtt_cert),
    STR("--mqtt-key", mqtt_key),
    STR("--mqtt-client-id", mqtt_id),
};

/* Whether -h/--help is asked for, other than as the value of one of the
 * flags above ("--device -h" names a device). */
static bool help_asked(int argc, char **argv)
{
	enum { N_STR = sizeof str_flags / sizeof str_flags[0] };
	enum { N_NUM = sizeof num_flags / sizeof num_flags[0] };
	const char *names[N_STR + N_NUM];
	for (size_t k = 0; k < N_STR; k++)
		names[k] = str_flags[k].name;
	for (size_t k = 0; k < N_NUM; k++)
		names[N_STR + k] = num_flags[k].name;
	return cli_help_asked(argc, argv, names, N_STR + N_NUM);
}

/* One argument; returns 0 (consumed), or an exit code. */
static int parse_one(int argc, char **argv, int *i, agent_args *a)
{
	const char *v = NULL;
	for (size_t k = 0; k < sizeof str_flags / sizeof str_flags[0]; k++) {
		int r = cli_flag(argc, argv, i, str_flags[k].name, &v);
		if (r < 0 || (r > 0 && !*v))
			return cli_usage(cmd, "%s needs a value", str_flags[k].name);
		if (r > 0) {
			/* memcpy, not a cast: the byte offset carries no alignment for
			 * the compiler to trust (clang's -Wcast-align). */
			memcpy((char *)a + str_flags[k].off, &v, sizeof v);
			return 0;
		}
	}
	for (size_t k = 0; k < sizeof num_flags / sizeof num_flags[0]; k++) {
		const num_flag *f = &num_flags[k];
		int r = cli_flag(argc, argv, i, f->name, &v);
		if (r < 0)
			return cli_usage(cmd, "%s needs a value", f->name);
		if (r == 0)
			continue;
		uint64_t n = 0;
		if (cli_u64(v, f->min, f->max, &n) != 0)
			return cli_usage(
			    cmd, "%s: must be an integer %" PRIu64 "..%" PRIu64 ", got '%s'",
			    f->name, f->min, f->max, v);
		memcpy((char *)a + f->off, &n, sizeof n);
		return 0;
	}
	if (strcmp(argv[*i], "--headers-first") == 0)
		a->headers_first = true;
	else if (strcmp(argv[*i], "--exit-at-eof") == 0)
		a->exit_at_eof = true;
	else if (strcmp(argv[*i], "--json") == 0)
		a->json = true;
	else
		return cli_usage(cmd, "unknown argument '%s'", argv[*i]);
	return 0;
}

static int parse(int argc, char **argv, int first, agent_args *a)
{
	/* The library's defaults, so the CLI cannot drift from them. */
	eds_agent_options ao;
	eds_forward_options fo;
	eds_agent_options_init(&ao);
	eds_forward_options_init(&fo);
	memset(a, 0, sizeof *a);
	a->max_records = ao.max_records;
	a->max_bytes = ao.max_bytes;
	a->sync_every = ao.sync_every;
	a->batch = fo.batch;
	a->timeout_ms = 10000; /* eds_http_transport_options: 0 means 10000 */
	a->backoff_min = fo.backoff_min_ms;
	a->backoff_max = fo.backoff_max_ms;
	a->max_line = 1u << 20;
	for (int i = first; i < argc; i++) {
		int rc = parse_one(argc, argv, &i, a);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- status ---------------------------------------------------------------- */

static void print_status(FILE *out, const eds_agent_status *st, bool json)
{
	char hx[65];
	eds_hex_encode(hx, st->head_hash, EDS_HASH_LEN);
	if (json) {
		fprintf(out,
		        "{\"device_id\":\"%s\",\"head_sequence\":%" PRIu64 ",\"head_hash\":\"%s\","
		        "\"queued_records\":%" PRIu64 ",\"queued_bytes\":%" PRIu64
		        ",\"oldest_sequence\":%" PRIu64 ",\"oldest_timestamp_ms\":%" PRIu64
		        ",\"pending_payloads\":%" PRIu64 ",\"dropped_payloads\":%" PRIu64
		        ",\"notices\":%" PRIu64
		        ",\"server_head_known\":%s,\"server_sequence\":%" PRIu64 "}\n",
		        st->device_id, st->head_sequence, hx, st->queued_records, st->queued_bytes,
		        st->oldest_sequence, st->oldest_timestamp_ms, st->pending_payloads,
		        st->dropped_payloads, st->notices, st->server_head_known ? "true" : "false",
		        st->server_sequence);
		return;
	}
	fprintf(out,
	        "device:           %s\nhead sequence:    %" PRIu64 "\nqueued records:   %" PRIu64
	        " (%" PRIu64 " bytes)\noldest unsent:    %" PRIu64 "\npending payloads: %" PRIu64
	        "\ndropped payloads: %" PRIu64 " (in %" PRIu64 " signed notices)\n",
	        st->device_id, st->head_sequence, st->queued_records, st->queued_bytes,
	        st->oldest_sequence, st->pending_payloads, st->dropped_payloads, st->notices);
	if (st->server_head_known)
		fprintf(out, "server head:      %" PRIu64 "\n", st->server_sequence);
	else
		fprintf(out, "server head:      unknown\n");
	if (st->last_error != EDS_OK)
		fprintf(out, "last error:       %s\n", st->last_error_text);
	fflush(out);
}

static int run_status(int argc, char **argv)
{
	if (help_asked(argc, argv)) {
		help(); /* one help page covers both forms */
		return EDS_EXIT_OK;
	}
	agent_args a;
	int rc = parse(argc, argv, 2, &a);
	if (rc != 0)
		return rc;
	if (!a.state)
		return cli_usage(cmd, "status needs --state DIR");
	eds_agent_status st;
	eds_status s = eds_agent_status_read(a.state, &st);
	if (s != EDS_OK)
		return cli_report(cmd, s, NULL);
	print_status(stdout, &st, a.json);
	return EDS_EXIT_OK;
}

/* ---- running ----------------------------------------------------------------- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() must wake up */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void poll_signals(eds_agent *ag)
{
	if (!got_usr1)
		return;
	got_usr1 = 0;
	eds_agent_status st;
	if (eds_agent_get_status(ag, &st) == EDS_OK)
		print_status(stdout, &st, false);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Record one reading; under reject, wait for room (back-pressure). */
static eds_status record_one(eds_agent *ag, const uint8_t *p, size_t len, const char *ref)
{
	for (;;) {
		eds_status st = eds_agent_record(ag, p, len, ref, NULL);
		if (st != EDS_E_LIMIT || got_term)
			return st;
		poll_signals(ag);
		sleep_ms(100);
	}
}

typedef struct line_reader {
	uint8_t *buf;
	size_t len, cap;
	uint64_t lineno;
	bool eof;
} line_reader;

/* Record every complete line in the buffer. */
static int drain_lines(eds_agent *ag, line_reader *lr, const char *ref)
{
	size_t start = 0;
	for (size_t i = 0; i < lr->len && !got_term; i++) {
		if (lr->buf[i] != '\n')
			continue;
		lr->lineno++;
		eds_status st = record_one(ag, lr->buf + start, i - start, ref);
		if (st != EDS_OK && !got_term)
			return cli_report(cmd, st, "recording a line");
		start = i + 1;
	}
	memmove(lr->buf, lr->buf + start, lr->len - start);
	lr->len -= start;
	return 0;
}

static int read_stdin(eds_agent *ag, const agent_args *a, line_reader *lr)
{
	struct pollfd pfd = {0, POLLIN, 0};
	if (poll(&pfd, 1, 200) <= 0)
		return 0;
	ssize_t n = read(0, lr->buf + lr->len, lr->cap - lr->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN
		           ? 0
		           : cli_usage(cmd, "stdin: %s", strerror(errno));
	if (n == 0) {
		lr->eof = true;
		if (lr->len) { /* a last line without newline is still a reading */
			lr->buf[lr->len++] = '\n';
			return drain_lines(ag, lr, a->object_ref ? a->object_ref : "stdin");
		}
		return 0;
	}
	lr->len += (size_t)n;
	int rc = drain_lines(ag, lr, a->object_ref ? a->object_ref : "stdin");
	if (rc == 0 && lr->len >= lr->cap - 1)
		return cli_usage(cmd,
		                 "stdin line %" PRIu64 ": longer than --max-line %" PRIu64 " bytes",
		                 lr->lineno + 1, a->max_line);
	return rc;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Record and remove one spool file. */
static int spool_file(eds_agent *ag, const agent_args *a, const char *name)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", a->spool, name) >= sizeof path)
		return cli_usage(cmd, "%s/%s: path too long", a->spool, name);
	char *data = NULL;
	size_t len = 0;
	eds_status st = eds_read_file(path, a->max_line, &data, &len);
	if (st == EDS_OK)
		st = record_one(ag, (uint8_t *)data, len, name);
	free(data);
	if (st != EDS_OK)
		return got_term ? 0 : cli_report(cmd, st, path);
	if (unlink(path) != 0)
		return cli_usage(cmd, "%s: cannot remove after queueing: %s", path,
		                 strerror(errno));
	return 0;
}

static int scan_spool(eds_agent *ag, const agent_args *a)
{
	DIR *d = opendir(a->spool);
	if (!d)
		return cli_usage(cmd, "--spool %s: %s", a->spool, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) != NULL && rc == 0) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = realloc(names, cap * sizeof *nn);
			if (!nn) {
				rc = cli_usage(cmd, "out of memory");
				break;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && !got_term)
			rc = spool_file(ag, a, names[i]);
		free(names[i]);
	}
	free(names);
	if (rc == 0)
		sleep_ms(200);
	return rc;
}

static eds_status open_agent(const agent_args *a, eds_agent **ag)
{
	eds_signer s;
	eds_status st = eds_signer_from_key_file(&s, a->key);
	if (st != EDS_OK)
		return st;
	eds_agent_options o;
	eds_agent_options_init(&o);
	o.device_id = a->device;
	o.max_records = a->max_records;
	o.max_bytes = a->max_bytes;
	o.sync_every = (unsigned)a->sync_every;
	o.overflow = a->overflow && strcmp(a->overflow, "shed-payloads") == 0
	                 ? EDS_AGENT_OVERFLOW_SHED_PAYLOADS
	                 : EDS_AGENT_OVERFLOW_REJECT;
	st = eds_agent_open(ag, a->state, &s, &o);
	if (st != EDS_OK)
		eds_signer_close(&s);
	return st;
}

static eds_status start_forwarding(const agent_args *a, eds_agent *ag)
{
	eds_http_transport_options ho = {a->url, (unsigned)a->timeout_ms, a->cacert, a->cert,
	                                 a->tls_key};
	eds_transport t;
	eds_status st =
	    a->mqtt ? agent_mqtt_transport(&t, a->mqtt, a->mqtt_cafile, a->mqtt_cert, a->mqtt_key,
	                                   a->mqtt_id, a->url, a->cacert, (unsigned)a->timeout_ms)
	            : eds_transport_http(&t, &ho);
	if (st != EDS_OK)
		return st;
	eds_forward_options fo;
	eds_forward_options_init(&fo);
	fo.headers_first = a->headers_first;
	fo.batch = (size_t)a->batch;
	fo.backoff_min_ms = (unsigned)a->backoff_min;
	fo.backoff_max_ms = (unsigned)a->backoff_max;
	st = eds_agent_forward_start(ag, &t, &fo);
	if (st != EDS_OK)
		eds_transport_close(&t);
	return st;
}

static int check_args(const agent_args *a)
{
	if (!a->key || !a->device || !a->state || (!a->url && !a->mqtt))
		return cli_usage(
		    cmd, "--key, --device, --state and --url are required (or --mqtt for --url)");
	if (a->mqtt && a->headers_first)
		return cli_usage(
		    cmd, "--headers-first needs HTTP: payloads travel with records over MQTT");
	if (a->overflow && strcmp(a->overflow, "reject") != 0 &&
	    strcmp(a->overflow, "shed-payloads") != 0)
		return cli_usage(cmd, "--overflow: must be reject or shed-payloads, got '%s'",
		                 a->overflow);
	if (a->backoff_min > a->backoff_max)
		return cli_usage(cmd, "--backoff-min-ms must not exceed --backoff-max-ms");
	if (a->json)
		return cli_usage(cmd, "--json belongs to `eds agent status`");
	struct stat sb;
	if (a->spool && (stat(a->spool, &sb) != 0 || !S_ISDIR(sb.st_mode)))
		return cli_usage(cmd, "--spool %s: not a directory", a->spool);
	return 0;
}

/* Input loop, then (unless --exit-at-eof) wait for the queue to drain. */
static int run_loop(eds_agent *ag, const agent_args *a)
{
	line_reader lr = {0};
	lr.cap = (size_t)a->max_line + 2;
	if (!a->spool && !(lr.buf = malloc(lr.cap)))
		return cli_usage(cmd, "out of memory");
	int rc = 0;
	while (!got_term && rc == 0 && !lr.eof) {
		poll_signals(ag);
		rc = a->spool ? scan_spool(ag, a) : read_stdin(ag, a, &lr);
	}
	free(lr.buf);
	while (rc == 0 && !got_term && !a->exit_at_eof) {
		poll_signals(ag);
		if (eds_agent_flush(ag, 200) == EDS_OK)
			break;
	}
	return rc;
}

int cmd_agent(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return run_status(argc, argv);
	if (help_asked(argc, argv)) {
		help();
		return EDS_EXIT_OK;
	}
	agent_args a;
	int rc = parse(argc, argv, 1, &a);
	if (rc == 0)
		rc = check_args(&a);
	if (rc != 0)
		return rc;
	install_signals();
	eds_agent *ag = NULL;
	eds_status st = open_agent(&a, &ag);
	if (st != EDS_OK)
		return cli_report(cmd, st, NULL);
	st = start_forwarding(&a, ag);
	if (st != EDS_OK) {
		eds_agent_close(ag);
		char url[EDS_URL_SHOWN_MAX];
		eds_url_redact(a.url != NULL ? a.url : "", url, sizeof url);
		return cli_report(cmd, st, a.mqtt ? a.mqtt : url);
	}
	rc = run_loop(ag, &a);
	eds_agent_close(ag);
	return rc;
}
