/*
 * cmd_serve.c - `eds serve`: the ingest server.  Options come from flags or
 * a JSON config file (flags win); SIGTERM/SIGINT stop it gracefully, SIGHUP
 * reopens its --log file.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_flags.h"
#include "edgesentry/http_server.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"
#include "edgesentry/netpolicy.h"
#include "net/http_internal.h"
#include "serve_mqtt.h"

static const char *const cmd = "serve";

enum opt {
	O_LEDGER,
	O_LISTEN,
	O_ALLOW,
	O_MAX_BODY,
	O_MAX_BATCH,
	O_MAX_CONN,
	O_TIMEOUT,
	O_SOURCE_RATE,
	O_SOURCE_BURST,
	O_DEVICE_RATE,
	O_DEVICE_BURST,
	O_MAX_SKEW,
	O_COMMIT_BATCH,
	O_COMMIT_WAIT,
	O_PAYLOAD_FLUSH,
	O_TLS_CERT,
	O_TLS_KEY,
	O_TLS_CA,
	O_LOG,
	O_PORT_FILE,
	O_DURABLE,
	O_MQTT, /* the serve_mqtt_opt options, in their order */
	O_COUNT = O_MQTT + SM_COUNT
};

static const char *const names[O_COUNT] = {"ledger",        "listen",         "allow",
                                           "max-body",      "max-batch",      "max-connections",
                                           "timeout",       "source-rate",    "source-burst",
                                           "device-rate",   "device-burst",   "max-skew-ms",
                                           "commit-batch",  "commit-wait-us", "payload-flush-ms",
                                           "tls-cert",      "tls-key",        "tls-client-ca",
                                           "log",           "port-file",      "durable",
                                           "mqtt",          "mqtt-cafile",    "mqtt-cert",
                                           "mqtt-key",      "mqtt-client-id", "mqtt-inflight",
                                           "mqtt-username", "mqtt-password"};

static void help(void)
{
	printf("usage: eds serve --ledger DIR [--listen ADDR:PORT] [--allow CIDR,...] [OPTIONS]\n"
	       "       eds serve --config FILE [OPTIONS]\n\n"
	       "Accept records from devices over HTTP(S) (API: FORMAT.md section 4) and, with\n"
	       "--mqtt, over MQTT (section 5), refuse any record that is not exactly the next\n"
	       "of a registered device's chain, and store accepted ones durably in the ledger\n"
	       "before answering.  Register devices with `eds device add`.  Stops cleanly on\n"
	       "SIGTERM or SIGINT; SIGHUP reopens the --log file (for log rotation).\n\n"
	       "Options (each also a key of the JSON config file, without the dashes):\n"
	       "  --ledger DIR           ledger directory (created when absent)\n"
	       "  --listen ADDR:PORT     address to listen on, [V6]:PORT for IPv6, :PORT for\n"
	       "                         all; port 0 picks a free port (default 127.0.0.1:8080)\n"
	       "  --allow CIDR,...       source addresses allowed (IPv4/IPv6, CIDR); everything\n"
	       "                         else gets 403 (default 127.0.0.1,::1)\n"
	       "  --max-body BYTES       request body limit, 1..2^30 (default 1048576)\n"
	       "  --max-batch N          items per batch request, 1..1000 (default 1000)\n"
	       "  --max-connections N    concurrent connections, 1..65536 (default 256)\n"
	       "  --timeout S            idle connection timeout, 1..3600 s (default 15)\n"
	       "  --source-rate R        requests per second per source address, > 0\n"
	       "                         (default: off)\n"
	       "  --source-burst N       burst for --source-rate, >= 1 (default 2R+1)\n"
	       "  --device-rate R        records per second per device, > 0 (default: off)\n"
	       "  --device-burst N       burst for --device-rate, >= 1 (default 2R+1)\n"
	       "  --max-skew-ms MS       how far a timestamp may lead our clock, 1..86400000\n"
	       "                         (default 300000)\n"
	       "  --commit-batch N       most records per group commit, 1..100000 (default 1024)\n"
	       "  --commit-wait-us US    wait this long to fill a group commit, 0..1000000\n"
	       "                         (default 0)\n"
	       "  --payload-flush-ms MS  make payload files durable this often, 1..3600000;\n"
	       "                         until then their bytes wait in the ledger\n"
	       "                         (default 1000)\n"
	       "  --tls-cert FILE        serve HTTPS (TLS 1.2/1.3) with this PEM certificate\n"
	       "  --tls-key FILE         its PEM private key, unencrypted (mode 0600)\n"
	       "  --tls-client-ca FILE   require client certificates signed by these CAs; the\n"
	       "                         certificate's subject CN must equal the device_id\n"
	       "  --log FILE             JSON Lines decision log (default: standard error)\n"
	       "  --port-file FILE       write the bound port here once listening\n"
	       "  --durable yes|no       fsync before answering (default yes; no is for\n"
	       "                         benchmarks only: acknowledged records can be lost)\n"
	       "  --mqtt HOST:PORT       also take records from this MQTT broker (FORMAT.md\n"
	       "                         section 5; persistent session, QoS 1)\n"
	       "  --mqtt-cafile FILE     use TLS 1.2+ to the broker, trusting these CAs; the\n"
	       "                         broker certificate must name HOST\n"
	       "  --mqtt-cert FILE       client certificate (PEM) for the broker\n"
	       "  --mqtt-key FILE        its private key (PEM)\n"
	       "  --mqtt-client-id ID    session name at the broker (default edgesentry-server)\n"
	       "  --mqtt-inflight N      messages taken but not yet answered, 1..100000\n"
	       "                         (default 1024)\n"
	       "                         (broker user name and password: config keys\n"
	       "                         mqtt-username, mqtt-password, or the environment\n"
	       "                         EDS_MQTT_USERNAME, EDS_MQTT_PASSWORD; never flags)\n"
	       "  --config FILE          read options from a JSON object file\n"
	       "  -h, --help             show this help\n\n"
	       "Exit codes:\n"
	       "  0  stopped by SIGTERM/SIGINT after finishing requests in flight\n"
	       "  1  (not used by this command)\n"
	       "  2  usage error, bad option or config, cannot open ledger (or another\n"
	       "     eds serve has it) or listen\n");
}

typedef struct conf {
	const char *v[O_COUNT];
	char *owned[O_COUNT]; /* values converted from the config file */
	json_t *config;
} conf;

static int lookup(const char *name)
{
	for (int i = 0; i < O_COUNT; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/*
 * What JSON a config key takes.  A value of the wrong kind is refused, not
 * converted: `"ledger": true` must not become a ledger directory named "yes",
 * nor `"port-file": 5` a file named "5".  Strings are taken for every key
 * (flags are text too), so "1000" and "yes" work as well as 1000 and true.
 */
enum kind { K_TEXT, K_NUMBER, K_LIST, K_YESNO };

static enum kind key_kind(int i)
{
	if (i == O_ALLOW)
		return K_LIST;
	if (i == O_DURABLE)
		return K_YESNO;
	if ((i >= O_MAX_BODY && i <= O_PAYLOAD_FLUSH) || i == O_MQTT + SM_INFLIGHT)
		return K_NUMBER;
	return K_TEXT;
}

static const char *const kind_text[] = {"a string", "a number",
                                        "a string or a non-empty list of strings",
                                        "true, false, \"yes\" or \"no\""};

/* A number or boolean config value as option text (the kinds were checked). */
static char *scalar_text(json_t *v)
{
	char buf[64];
	if (json_is_boolean(v))
		snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
	return strdup(buf);
}

/* A non-empty list of strings joined by commas; NULL when v is not one. */
static char *list_text(json_t *v)
{
	size_t n = 1, i, used = 0;
	json_t *e;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e))
			return NULL;
		n += json_string_length(e) + 1;
	}
	char *out = json_array_size(v) > 0 ? calloc(1, n) : NULL;
	if (out == NULL)
		return NULL;
	json_array_foreach(v, i, e)
	{
		size_t len = json_string_length(e);
		if (i > 0)
			out[used++] = ',';
		memcpy(out + used, json_string_value(e), len);
		used += len;
	}
	out[used] = '\0';
	return out;
}

/* Config value v of a key of kind k as option text; NULL when v is not of that kind. */
static char *config_text(json_t *v, enum kind k)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_number(v) && k == K_NUMBER)
		return scalar_text(v);
	if (json_is_boolean(v) && k == K_YESNO)
		return scalar_text(v);
	if (json_is_array(v) && k == K_LIST)
		return list_text(v);
	return NULL;
}

/*
 * The config file: a regular file of at most 1 MiB (a FIFO would block the
 * start for ever, a directory reads as an empty file, and a huge file would
 * all be parsed into memory), holding one JSON object.
 */
static int read_config(const char *path, json_t **out)
{
	char *text = NULL;
	size_t len = 0;
	eds_status st = eds_read_file(path, 1u << 20, &text, &len);
	if (st != EDS_OK)
		return cli_report(cmd, st, "--config");
	json_error_t err;
	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (*out == NULL) {
		/*
		 * Without jansson's " near '...'": that quotes the file, which may hold
		 * the MQTT password, and stderr goes to the journal.  Line and column
		 * say where.
		 */
		char *near = strstr(err.text, " near '");
		if (near != NULL)
			*near = '\0';
		return cli_usage(cmd, "--config %s: line %d, column %d: %s", path, err.line,
		                 err.column, err.text);
	}
	if (!json_is_object(*out))
		return cli_usage(cmd, "--config %s: not a JSON object", path);
	return EDS_EXIT_OK;
}

static int load_config(conf *c, const char *path)
{
	int rc = read_config(path, &c->config);
	if (rc != EDS_EXIT_OK)
		return rc;
	const char *k;
	json_t *v;
	/* c->owned[] and c->config are released by cmd_serve on every path. */
	json_object_foreach(c->config, k, v) /* NOLINT(clang-analyzer-unix.Malloc) */
	{
		int i = lookup(k);
		if (i < 0)
			return cli_usage(cmd, "--config %s: unknown key \"%s\"", path, k);
		free(c->owned[i]); /* keys are unique (JSON_REJECT_DUPLICATES); cheap insurance */
		if ((c->owned[i] = config_text(v, key_kind(i))) == NULL)
			return cli_usage(cmd, "--config %s: \"%s\": want %s", path, k,
			                 kind_text[key_kind(i)]);
		/* As an empty flag is: "ledger": "" would be a late "cannot create
		 * directory ''"; an empty "allow" gets its own "lists no address". */
		if (c->owned[i][0] == '\0' && key_kind(i) != K_LIST)
			return cli_usage(cmd, "--config %s: \"%s\" is empty", path, k);
		c->v[i] = c->owned[i];
	}
	return EDS_EXIT_OK;
}

/* The option argv[*i] is (its index, *value set), -1 none, -2 one without its value. */
static int which_flag(int argc, char **argv, int *i, const char **value)
{
	for (int k = 0; k < O_COUNT; k++) {
		if (k >= O_MQTT && serve_mqtt_config_only(k - O_MQTT))
			continue;
		char flag[32];
		snprintf(flag, sizeof flag, "--%s", names[k]);
		int r = cli_flag(argc, argv, i, flag, value);
		if (r != 0)
			return r > 0 ? k : -2;
	}
	return -1;
}

/* -h or --help among the flags; a flag's value is a value ("--ledger -h"). */
static bool help_asked(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
		if (which_flag(argc, argv, &i, &v) < 0)
			cli_flag(argc, argv, &i, "--config", &v); /* skips its value too */
	}
	return false;
}

/* The config-only key that arg ("--KEY" or "--KEY=...") names as a flag, or -1. */
static int config_only_flag(const char *arg)
{
	for (int m = O_MQTT; m < O_COUNT && strncmp(arg, "--", 2) == 0; m++) {
		size_t n = strlen(names[m]);
		if (serve_mqtt_config_only(m - O_MQTT) && strncmp(arg + 2, names[m], n) == 0 &&
		    (arg[n + 2] == '\0' || arg[n + 2] == '='))
			return m;
	}
	return -1;
}

/*
 * One argument.  A flag given twice is refused rather than the last one
 * winning quietly, and so is an empty value (an unset shell variable, as a
 * rule), as the other commands do.  A config-only key given as a flag is
 * named without the argument, which may be --mqtt-password=SECRET.
 */
static int flag_arg(int argc, char **argv, int *i, conf *c, unsigned char *seen)
{
	const char *v = NULL;
	int k = which_flag(argc, argv, i, &v);
	if (k == -2)
		return cli_usage(cmd, "%s needs a value", argv[*i]);
	int m = k == -1 ? config_only_flag(argv[*i]) : -1;
	if (m >= 0)
		return cli_usage(cmd,
		                 "--%s is not a flag (every user can read a command line): "
		                 "use the config key or the environment",
		                 names[m]);
	if (k == -1)
		return cli_usage(cmd, "unexpected argument '%s'", argv[*i]);
	if (seen[k]++)
		return cli_usage(cmd, "--%s given twice", names[k]);
	if (*v == '\0')
		return cli_usage(cmd, "--%s is empty", names[k]);
	c->v[k] = v;
	return EDS_EXIT_OK;
}

static int parse(int argc, char **argv, conf *c)
{
	const char *config = NULL;
	for (int i = 1; i < argc; i++) {
		const char *before = config;
		int r = cli_flag(argc, argv, &i, "--config", &config);
		if (r < 0)
			return cli_usage(cmd, "--config needs a value");
		if (r > 0 && before != NULL)
			return cli_usage(cmd, "--config given twice");
	}
	if (config != NULL && load_config(c, config) != EDS_EXIT_OK)
		return EDS_EXIT_USAGE;
	unsigned char seen[O_COUNT] = {0};
	for (int i = 1; i < argc; i++) {
		const char *ignored;
		if (cli_flag(argc, argv, &i, "--config", &ignored) == 0 &&
		    flag_arg(argc, argv, &i, c, seen) != EDS_EXIT_OK)
			return EDS_EXIT_USAGE;
	}
	if (c->v[O_LEDGER] == NULL)
		return cli_usage(cmd, "--ledger DIR is required");
	return EDS_EXIT_OK;
}

/* Numeric option k in min..max into *out (left alone when the option is absent). */
static int num(const conf *c, int k, uint64_t min, uint64_t max, uint64_t *out)
{
	if (c->v[k] != NULL && cli_u64(c->v[k], min, max, out) != 0)
		return cli_usage(cmd, "--%s must be a whole number in %llu..%llu, not '%s'",
		                 names[k], (unsigned long long)min, (unsigned long long)max,
		                 c->v[k]);
	return EDS_EXIT_OK;
}

static int rate(const conf *c, int k, double *out)
{
	char *end;
	if (c->v[k] == NULL)
		return EDS_EXIT_OK;
	*out = strtod(c->v[k], &end);
	if (*c->v[k] == '\0' || *end != '\0' || !(*out > 0) || *out > 1e9)
		return cli_usage(cmd, "--%s must be a positive number, not '%s'", names[k],
		                 c->v[k]);
	return EDS_EXIT_OK;
}

/*
 * A burst is a bucket size: below one token no request could ever pass, and
 * without its rate there is no bucket, so either would be a setting quietly
 * without effect (or, below one, a late error blamed on --listen).
 */
static int burst(const conf *c, int rate_k, int burst_k, double value)
{
	if (c->v[burst_k] == NULL)
		return EDS_EXIT_OK;
	if (c->v[rate_k] == NULL)
		return cli_usage(cmd, "--%s needs --%s", names[burst_k], names[rate_k]);
	if (value < 1)
		return cli_usage(cmd, "--%s must be at least 1, not '%s'", names[burst_k],
		                 c->v[burst_k]);
	return EDS_EXIT_OK;
}

typedef struct settings {
	eds_server_options srv;
	eds_ingest_options ing;
	int durable;
} settings;

static int numbers(const conf *c, settings *s)
{
	uint64_t v[O_COUNT] = {0};
	int rc = num(c, O_MAX_BODY, 1, 1u << 30, &v[O_MAX_BODY]);
	rc = rc ? rc : num(c, O_MAX_BATCH, 1, 1000, &v[O_MAX_BATCH]);
	rc = rc ? rc : num(c, O_MAX_CONN, 1, 65536, &v[O_MAX_CONN]);
	rc = rc ? rc : num(c, O_TIMEOUT, 1, 3600, &v[O_TIMEOUT]);
	rc = rc ? rc : num(c, O_MAX_SKEW, 1, 86400000, &v[O_MAX_SKEW]);
	rc = rc ? rc : num(c, O_COMMIT_BATCH, 1, 100000, &v[O_COMMIT_BATCH]);
	rc = rc ? rc : num(c, O_COMMIT_WAIT, 0, 1000000, &v[O_COMMIT_WAIT]); /* 0: the default */
	rc = rc ? rc : num(c, O_PAYLOAD_FLUSH, 1, 3600000, &v[O_PAYLOAD_FLUSH]);
	rc = rc ? rc : rate(c, O_SOURCE_RATE, &s->srv.source_rate);
	rc = rc ? rc : rate(c, O_SOURCE_BURST, &s->srv.source_burst);
	rc = rc ? rc : rate(c, O_DEVICE_RATE, &s->srv.device_rate);
	rc = rc ? rc : rate(c, O_DEVICE_BURST, &s->srv.device_burst);
	rc = rc ? rc : burst(c, O_SOURCE_RATE, O_SOURCE_BURST, s->srv.source_burst);
	rc = rc ? rc : burst(c, O_DEVICE_RATE, O_DEVICE_BURST, s->srv.device_burst);
	s->srv.max_body = (size_t)v[O_MAX_BODY];
	s->srv.max_batch = (size_t)v[O_MAX_BATCH];
	s->srv.max_connections = (unsigned)v[O_MAX_CONN];
	s->srv.timeout_s = (unsigned)v[O_TIMEOUT];
	s->ing.max_skew_ms = v[O_MAX_SKEW];
	s->ing.max_batch = (size_t)v[O_COMMIT_BATCH];
	s->ing.max_wait_us = (unsigned)v[O_COMMIT_WAIT];
	s->ing.payload_flush_ms = (unsigned)v[O_PAYLOAD_FLUSH];
	const char *d = c->v[O_DURABLE];
	s->durable = d == NULL || strcmp(d, "yes") == 0;
	if (!rc && d != NULL && !s->durable && strcmp(d, "no") != 0)
		rc = cli_usage(cmd, "--durable must be yes or no, not '%s'", d);
	return rc;
}

typedef struct tls_files {
	char *cert, *key, *ca;
	size_t key_len;
} tls_files;

static int read_tls(const conf *c, tls_files *t)
{
	const int which[3] = {O_TLS_CERT, O_TLS_KEY, O_TLS_CA};
	char **dst[3] = {&t->cert, &t->key, &t->ca};
	for (int i = 0; i < 3; i++) {
		size_t len = 0;
		if (c->v[which[i]] == NULL)
			continue;
		eds_status st = eds_read_file(c->v[which[i]], 1u << 20, dst[i], &len);
		if (st != EDS_OK) {
			char flag[32];
			snprintf(flag, sizeof flag, "--%s", names[which[i]]);
			return cli_report(cmd, st, flag);
		}
		if (which[i] == O_TLS_KEY)
			t->key_len = len;
	}
	return EDS_EXIT_OK;
}

static void free_tls(tls_files *t)
{
	free(t->cert);
	free(t->ca);
	if (t->key != NULL)
		sodium_memzero(t->key, t->key_len);
	free(t->key);
}

static int write_port(const char *path, unsigned port)
{
	char text[16];
	int n = snprintf(text, sizeof text, "%u\n", port);
	eds_status st = eds_write_file_atomic(path, text, (size_t)n, 0644);
	return st == EDS_OK ? EDS_EXIT_OK : cli_report(cmd, st, "--port-file");
}

/*
 * Block the signals the main thread takes with sigwait, in every thread:
 * the stop signals, and SIGHUP, whose default action would end the server
 * without finishing requests in flight.
 */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * SIGHUP: point the log at a new file of the same name, after logrotate
 * (or an operator) moved the old one away.  The stream itself stays: other
 * threads hold it and write lines with it, so its descriptor is replaced
 * under the stream's lock (which each fprintf takes), between two whole
 * lines.  When the name cannot be opened the old file is kept, and says so.
 */
static void reopen_log(const char *path, FILE *log)
{
	if (path == NULL)
		return; /* standard error: nothing to reopen */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	int e = fd < 0 ? errno : 0;
	flockfile(log);
	fflush(log);
	if (fd >= 0 && dup2(fd, fileno(log)) < 0)
		e = errno;
	if (e == 0)
		fprintf(log, "{\"event\":\"log_reopened\"}\n");
	else
		fprintf(log, "{\"event\":\"log_reopen_failed\",\"error\":\"%s\"}\n", strerror(e));
	fflush(log);
	funlockfile(log);
	if (fd >= 0)
		close(fd);
}

/* Wait for a stop signal, reopening the log at each SIGHUP; the stop signal. */
static int wait_for_stop(const sigset_t *set, const char *log_path, FILE *log)
{
	int sig = 0;
	while (sigwait(set, &sig) == 0 && sig == SIGHUP)
		reopen_log(log_path, log);
	return sig;
}

static int serve(const conf *c, settings *s, eds_netpolicy *policy)
{
	tls_files t = {0};
	eds_ledger *l = NULL;
	eds_ingest *svc = NULL;
	eds_server *srv = NULL;
	eds_mqtt_server *mq = NULL;
	sigset_t set;
	int sig, rc = read_tls(c, &t);
	s->srv.tls_cert = t.cert;
	s->srv.tls_key = t.key;
	s->srv.tls_client_ca = t.ca;
	eds_status st = EDS_OK;
	/* Bad TLS files are named now, before a ledger is created or claimed. */
	if (!rc && (st = eds_server_check_tls(&s->srv)) != EDS_OK)
		rc = cli_report(cmd, st, NULL);
	eds_ledger_options lo = {.durable = s->durable};
	if (!rc && (st = eds_ledger_open(&l, c->v[O_LEDGER], &lo)) != EDS_OK)
		rc = cli_report(cmd, st, "--ledger");
	block_signals(&set);
	if (!rc && (st = eds_ingest_new(&svc, l, &s->ing)) != EDS_OK)
		rc = cli_report(cmd, st, "--ledger");
	if (!rc && (st = eds_server_start(&srv, svc, policy, &s->srv)) != EDS_OK)
		rc = cli_report(cmd, st, "--listen");
	if (!rc)
		rc = serve_mqtt_start(&c->v[O_MQTT], svc, &s->srv, &mq);
	/* The port file first: a server that cannot write it exits, so its log
	 * must not say "listening" without a "stopped" after it. */
	if (!rc && c->v[O_PORT_FILE] != NULL)
		rc = write_port(c->v[O_PORT_FILE], eds_server_port(srv));
	if (!rc) {
		fprintf(s->srv.log,
		        "{\"event\":\"listening\",\"listen\":\"%s\",\"port\":%u,"
		        "\"tls\":%s,\"durable\":%s}\n",
		        s->srv.listen, eds_server_port(srv), t.cert ? "true" : "false",
		        s->durable ? "true" : "false");
		fflush(s->srv.log);
	}
	if (!rc)
		sig = wait_for_stop(&set, c->v[O_LOG], s->srv.log);
	eds_mqtt_server_stop(mq);    /* messages taken are committed and answered */
	eds_server_stop(srv, 10000); /* requests in flight finish; their records commit */
	eds_ingest_free(svc);        /* drains the queue */
	eds_ledger_close(l);
	if (!rc && s->srv.log != NULL) {
		fprintf(s->srv.log, "{\"event\":\"stopped\",\"signal\":%d}\n", sig);
		fflush(s->srv.log);
	}
	free_tls(&t);
	return rc;
}

/* The listen address, before the ledger is opened (created when absent): a
 * typo must not leave a new empty ledger behind. */
static int check_listen(const char *listen)
{
	struct sockaddr_storage sa;
	if (listen != NULL && eds_http_parse_listen(listen, &sa) != EDS_OK)
		return cli_report(cmd, EDS_E_ARG, "--listen");
	return EDS_EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
	if (help_asked(argc, argv)) {
		help();
		return EDS_EXIT_OK;
	}
	conf c = {0};
	settings s = {0};
	eds_netpolicy *policy = NULL;
	FILE *log = NULL;
	int rc = parse(argc, argv, &c);
	rc = rc ? rc : numbers(&c, &s);
	rc = rc ? rc : serve_mqtt_check(&c.v[O_MQTT]);
	rc = rc ? rc : check_listen(c.v[O_LISTEN]);
	eds_status st = EDS_OK;
	if (!rc && c.v[O_ALLOW] != NULL && strspn(c.v[O_ALLOW], " \t") == strlen(c.v[O_ALLOW]))
		rc = cli_usage(cmd, "--allow lists no address: every request would get 403");
	if (!rc && (st = eds_netpolicy_new(&policy)) == EDS_OK)
		st = eds_netpolicy_add_list(policy, c.v[O_ALLOW] ? c.v[O_ALLOW] : "127.0.0.1,::1");
	if (!rc && st != EDS_OK)
		rc = cli_report(cmd, st, "--allow");
	if (!rc && c.v[O_LOG] != NULL && (log = fopen(c.v[O_LOG], "a")) == NULL)
		rc = cli_usage(cmd, "--log %s: cannot open: %s", c.v[O_LOG], strerror(errno));
	if (!rc) {
		s.srv.listen = c.v[O_LISTEN] ? c.v[O_LISTEN] : "127.0.0.1:8080";
		s.srv.log = log ? log : stderr;
		rc = serve(&c, &s, policy);
	}
	if (log != NULL)
		fclose(log);
	eds_netpolicy_free(policy);
	for (int i = 0; i < O_COUNT; i++)
		free(c.owned[i]);
	json_decref(c.config);
	return rc;
}
