/*
 * bench_agent.c - the device agent's throughput.
 *
 *   bench_agent [RECORDS] [STATE_DIR_PARENT]
 *     Records signed and queued per second with the SQLite store (fsync per
 *     record, group fsync every 64) and the memory store, and the peak RSS
 *     after queueing RECORDS records (nothing is forwarded, so they all stay
 *     queued).  Each configuration runs in its own child process so peak RSS
 *     is per configuration (docs/agent.md).
 *
 *   bench_agent --table DIR URL KEY_FILE DEVICE_ID [E2E_RECORDS]
 *     Rows for bench/run.sh's table (bench.h), each against a baseline from
 *     the same run: sign + queue with fsync per record vs a bare append +
 *     fdatasync in DIR; with group fsync vs signing alone; and end to end,
 *     agent -> HTTP -> `eds serve` durable ledger at URL (DEVICE_ID registered
 *     there with KEY_FILE's public key, no records yet) vs the same agent
 *     with nothing forwarded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "edgesentry/edgesentry.h"

typedef struct agent_ctx {
	eds_agent *a;
	long i;
} agent_ctx;

static int reading(char *buf, size_t cap, long i)
{
	return snprintf(buf, cap, "{\"temp_c\":%ld.%ld}", 20 + i % 7, i % 10);
}

/* Open an agent on dir; key_file NULL: a fresh random key. */
static eds_agent *open_agent(const char *dir, const char *key_file, const char *device,
                             eds_agent_store_kind kind, unsigned sync_every, long max)
{
	eds_signer s = {0};
	eds_status st;
	if (key_file) {
		st = eds_signer_from_key_file(&s, key_file);
	} else {
		eds_secret_key sk;
		eds_secret_key_generate(&sk);
		st = eds_signer_from_key(&s, &sk);
		eds_secret_key_wipe(&sk);
	}
	eds_agent_options o;
	eds_agent_options_init(&o);
	o.device_id = device;
	o.store = kind;
	o.sync_every = sync_every;
	o.max_records = (uint64_t)max + 10;
	o.max_bytes = 1ULL << 34;
	eds_agent *a = NULL;
	if (st == EDS_OK && (st = eds_agent_open(&a, dir, &s, &o)) != EDS_OK)
		eds_signer_close(&s);
	if (st != EDS_OK)
		bench_die("agent %s: %s", dir ? dir : "(memory)", eds_last_error());
	return a;
}

static void op_record(void *p)
{
	agent_ctx *c = p;
	char payload[64];
	int len = reading(payload, sizeof payload, c->i++);
	if (eds_agent_record(c->a, (uint8_t *)payload, (size_t)len, "sensor/temp", NULL) != EDS_OK)
		bench_die("agent record: %s", eds_last_error());
}

/* ---- the per-configuration report (docs/agent.md) ---- */

static int run(const char *label, eds_agent_store_kind kind, unsigned sync_every, long n,
               const char *dir)
{
	agent_ctx c = {open_agent(dir, NULL, "bench-1", kind, sync_every, n), 0};
	double t0 = bench_now();
	while (c.i < n)
		op_record(&c);
	double dt = bench_now() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%-28s %8ld records  %10.0f records/s  peak RSS %6ld KiB\n", label, n,
	       (double)n / dt, ru.ru_maxrss);
	fflush(stdout); /* the child leaves with _exit */
	eds_agent_close(c.a);
	return 0;
}

static int report(long n, const char *parent)
{
	struct {
		const char *label;
		eds_agent_store_kind kind;
		unsigned sync;
		long n;
	} cfg[] = {
	    {"sqlite, fsync per record", EDS_AGENT_STORE_SQLITE, 1, n < 2000 ? n : 2000},
	    {"sqlite, group fsync 64", EDS_AGENT_STORE_SQLITE, 64, n},
	    {"memory store", EDS_AGENT_STORE_MEMORY, 1, n},
	};
	for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/eds-bench-agent-%ld-%zu", parent, (long)getpid(), i);
		pid_t pid = fork();
		if (pid == 0)
			_exit(run(cfg[i].label, cfg[i].kind, cfg[i].sync, cfg[i].n, dir));
		int st = 0;
		waitpid(pid, &st, 0);
		char cmd[4200];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
	}
	return 0;
}

/* ---- table rows (bench/run.sh) ---- */

typedef struct sign_ctx {
	eds_secret_key sk;
	long i;
} sign_ctx;

/* The agent's crypto alone: build, sign and hash the same record, no store. */
static void op_sign(void *p)
{
	sign_ctx *c = p;
	char payload[64];
	uint8_t h[EDS_HASH_LEN];
	eds_record r;
	int len = reading(payload, sizeof payload, c->i);
	if (eds_record_init(&r, "bench-1", (uint64_t)++c->i, 1700000000000ULL, (uint8_t *)payload,
	                    (size_t)len, NULL, "sensor/temp") != EDS_OK ||
	    eds_record_sign(&r, &c->sk) != EDS_OK || eds_record_compute_hash(&r, h) != EDS_OK)
		bench_die("sign: %s", eds_last_error());
}

/* What fsync per record is bounded by: one small durable append. */
static void op_fsync(void *p)
{
	static const char line[200] = {'x'};
	int fd = *(int *)p;
	if (write(fd, line, sizeof line) != (ssize_t)sizeof line || fdatasync(fd) != 0)
		bench_die("append + fdatasync failed");
}

static void row_fsync(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/fsync-baseline", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_die("%s: cannot create", path);
	snprintf(path, sizeof path, "%s/fsync", dir);
	agent_ctx c = {open_agent(path, NULL, "bench-1", EDS_AGENT_STORE_SQLITE, 1, 10000000), 0};
	bench_case cs[2] = {{op_record, &c, 0, {0}, 0}, {op_fsync, &fd, 0, {0}, 0}};
	bench_run(cs, 2);
	bench_row_cases("agent: sign + queue, SQLite fsync per record", &cs[0], 1,
	                "append 200 B + fdatasync, same disk", &cs[1], 1, 1, "records/s",
	                "~1 (disk-bound)");
	eds_agent_close(c.a);
	close(fd);
}

static void row_group(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/group", dir);
	agent_ctx c = {open_agent(path, NULL, "bench-1", EDS_AGENT_STORE_SQLITE, 64, 10000000), 0};
	sign_ctx s = {{{0}}, 0};
	eds_secret_key_generate(&s.sk);
	bench_case cs[2] = {{op_record, &c, 0, {0}, 0}, {op_sign, &s, 0, {0}, 0}};
	bench_run(cs, 2);
	bench_row_cases("agent: sign + queue, SQLite group fsync 64", &cs[0], 1,
	                "sign + hash the record, no store", &cs[1], 1, 1e3, "k records/s", "-");
	eds_secret_key_wipe(&s.sk);
	eds_agent_close(c.a);
}

/* n records into a fresh agent on dir; with url forwarded until the server holds all. */
static double agent_rate(const char *dir, const char *key, const char *device, const char *url,
                         long n)
{
	agent_ctx c = {open_agent(dir, key, device, EDS_AGENT_STORE_SQLITE, 64, n), 0};
	double t0 = bench_now();
	if (url) {
		eds_http_transport_options ho = {url, 10000, NULL, NULL, NULL};
		eds_transport t = {0};
		eds_forward_options fo;
		eds_forward_options_init(&fo);
		fo.backoff_max_ms = 500;
		if (eds_transport_http(&t, &ho) != EDS_OK || eds_agent_forward_start(c.a, &t, &fo))
			bench_die("forwarder: %s", eds_last_error());
	}
	while (c.i < n)
		op_record(&c);
	if (url && eds_agent_flush(c.a, 120000) != EDS_OK)
		bench_die("end to end: %s", eds_last_error());
	double dt = bench_now() - t0;
	eds_agent_close(c.a);
	return (double)n / dt;
}

static void row_e2e(const char *dir, const char *url, const char *key, const char *device, long n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/device-only", dir);
	double base = agent_rate(path, key, device, NULL, n);
	snprintf(path, sizeof path, "%s/e2e", dir);
	double e2e = agent_rate(path, key, device, url, n);
	char what[160];
	snprintf(what, sizeof what,
	         "agent -> HTTP -> eds serve durable ledger, end to end, %ld records", n);
	bench_row(what, e2e, 1e3, "k records/s", "same agent, nothing forwarded", base, e2e / base,
	          "-");
}

int main(int argc, char **argv)
{
	if (eds_init() != EDS_OK)
		return 2;
	if (argc > 1 && strcmp(argv[1], "--table") == 0) {
		if (argc < 6 || argc > 7)
			bench_die(
			    "usage: bench_agent --table DIR URL KEY_FILE DEVICE_ID [E2E_RECORDS]");
		long n = argc > 6 ? atol(argv[6]) : 2000;
		if (n < 1)
			bench_die("E2E_RECORDS must be >= 1");
		row_fsync(argv[2]);
		row_group(argv[2]);
		row_e2e(argv[2], argv[3], argv[4], argv[5], n);
		return 0;
	}
	long n = argc > 1 ? atol(argv[1]) : 100000;
	if (n < 1)
		return 2;
	return report(n, argc > 2 ? argv[2] : "/tmp");
}
