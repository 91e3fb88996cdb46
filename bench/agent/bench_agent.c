/*
 * bench_agent.c - device-side agent throughput: records signed and queued
 * per second with the SQLite store (fsync per record, group fsync every
 * 64) and the memory store, and the peak RSS after queueing RECORDS records
 * (nothing is forwarded, so they all stay queued).  Each configuration runs
 * in its own child process so peak RSS is per configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edgesentry/edgesentry.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *label, eds_agent_store_kind kind, unsigned sync_every, long n,
               const char *dir)
{
	eds_secret_key sk;
	eds_secret_key_generate(&sk);
	eds_signer s;
	eds_signer_from_key(&s, &sk);
	eds_secret_key_wipe(&sk);
	eds_agent_options o;
	eds_agent_options_init(&o);
	o.device_id = "bench-1";
	o.store = kind;
	o.sync_every = sync_every;
	o.max_records = (uint64_t)n + 10;
	o.max_bytes = 1ULL << 34;
	eds_agent *a = NULL;
	if (eds_agent_open(&a, dir, &s, &o) != EDS_OK) {
		fprintf(stderr, "%s: %s\n", label, eds_last_error());
		return 1;
	}
	char payload[64];
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		int len =
		    snprintf(payload, sizeof payload, "{\"temp_c\":%ld.%ld}", 20 + i % 7, i % 10);
		if (eds_agent_record(a, (uint8_t *)payload, (size_t)len, "sensor/temp", NULL) !=
		    EDS_OK) {
			fprintf(stderr, "%s: %s\n", label, eds_last_error());
			return 1;
		}
	}
	double dt = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%-28s %8ld records  %10.0f records/s  peak RSS %6ld KiB\n", label, n,
	       (double)n / dt, ru.ru_maxrss);
	fflush(stdout); /* the child leaves with _exit */
	eds_agent_close(a);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *parent = argc > 2 ? argv[2] : "/tmp";
	if (n < 1 || eds_init() != EDS_OK)
		return 2;
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
