/*
 * bench_ingest.c - records/s through the ingest service in-process, and
 * over HTTP keep-alive (libcurl against eds_server in the same process),
 * durable (group commit, fsync) and not durable, 1 and 1,000 devices,
 * 256-byte payloads, each distinct.  Records are signed before the clock
 * starts.  HTTP cases write the decision log to DIR/decisions.log, as
 * `eds serve --log FILE` does, unless EDS_BENCH_NO_LOG is set.  Every case
 * ends, inside the clock, with its data on disk (see run_case).
 *
 * usage: bench_ingest [RECORDS] [THREADS] [CASE]   (defaults 20000, 8, all)
 * CASE picks one case by its number 1..10 (in the order printed), for profiling,
 * or names one: MODE:DURABLE:DEVICES:BATCH:THREADS, e.g. inproc:1:1000:10:2
 * (bench/run.sh uses that form; THREADS then overrides the second argument).
 * Ledgers go to $EDS_BENCH_DIR (default /var/tmp) and are removed at the end,
 * unless EDS_BENCH_KEEP is set (bench/run.sh removes them after its last case).
 * Prints one line per case: mode durable devices batch records/s.
 */
#define _GNU_SOURCE /* syncfs */
#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/http_server.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"

#define PAYLOAD 256
/* Client threads at most: one per device of the 1,000-device cases. */
#define MAX_CLIENTS 1000

typedef struct bench {
	eds_ingest_item *items; /* device-major: device d's records are items[d*per ...] */
	size_t n, devices, per, threads, batch;
	eds_ingest *svc;
	uint16_t port;
	char **bodies; /* HTTP: request r of device d is bodies[d * nreq + r], built untimed */
	size_t nreq;
} bench;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system, every thread) of this process so far: load-independent. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint8_t payload[PAYLOAD];

/* syncfs of the file system holding dir (a short case's dirty data). */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

static void make_records(bench *b, const eds_secret_key *sk)
{
	b->items = calloc(b->n, sizeof *b->items);
	b->per = b->n / b->devices;
	for (size_t d = 0; d < b->devices; d++) {
		uint8_t prev[32];
		char id[32];
		snprintf(id, sizeof id, "dev-%zu", d);
		for (size_t i = 0; i < b->per; i++) {
			eds_ingest_item *it = &b->items[d * b->per + i];
			payload[0] = (uint8_t)i;
			payload[1] = (uint8_t)(i >> 8);
			payload[2] = (uint8_t)d; /* every payload distinct: no file is shared */
			payload[3] = (uint8_t)(d >> 8);
			eds_record_init(&it->record, id, i + 1, 1700000000000ULL + i, payload,
			                PAYLOAD, i ? prev : NULL, "bench");
			eds_record_sign(&it->record, sk);
			eds_record_compute_hash(&it->record, prev);
			uint8_t *p = malloc(PAYLOAD);
			memcpy(p, payload, PAYLOAD);
			it->payload = p;
			it->payload_len = PAYLOAD;
		}
	}
}

/* Thread t owns devices t, t+T, ...; it sends each device's records in order, round robin. */
typedef struct worker {
	bench *b;
	size_t t;
	CURL *curl;
} worker;

static void *inproc(void *arg)
{
	worker *w = arg;
	bench *b = w->b;
	eds_ingest_result *res = calloc(b->batch, sizeof *res);
	eds_ingest_item *buf = calloc(b->batch, sizeof *buf);
	for (size_t i = 0; i < b->per; i += b->batch) {
		for (size_t d = w->t; d < b->devices; d += b->threads) {
			size_t n = 0;
			for (size_t k = i; k < i + b->batch && k < b->per; k++)
				buf[n++] = b->items[d * b->per + k];
			eds_ingest_submit(b->svc, NULL, buf, n, res);
			for (size_t k = 0; k < n; k++)
				if (res[k].outcome != EDS_INGEST_ACCEPTED)
					fprintf(stderr, "rejected: %s\n",
					        eds_ingest_code(res[k].outcome));
		}
	}
	free(res);
	free(buf);
	return NULL;
}

static size_t sink(char *p, size_t s, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return s * n;
}

static char *body_of(bench *b, size_t d, size_t i, size_t n)
{
	size_t cap = n * (EDS_RECORD_JSON_MAX + 512) + 32, len = 0;
	char *out = malloc(cap);
	len += (size_t)snprintf(out, cap, "{\"items\":[");
	for (size_t k = 0; k < n; k++) {
		const eds_ingest_item *it = &b->items[d * b->per + i + k];
		char json[EDS_RECORD_JSON_MAX], b64[512];
		eds_record_to_json(&it->record, json, sizeof json, NULL);
		sodium_bin2base64(b64, sizeof b64, it->payload, it->payload_len,
		                  sodium_base64_VARIANT_ORIGINAL);
		len +=
		    (size_t)snprintf(out + len, cap - len, "%s{\"record\":%s,\"payload\":\"%s\"}",
		                     k ? "," : "", json, b64);
	}
	snprintf(out + len, cap - len, "]}");
	return out;
}

/* Request bodies are built before the clock starts: the client's JSON is not server work. */
static void make_bodies(bench *b)
{
	b->nreq = (b->per + b->batch - 1) / b->batch;
	b->bodies = calloc(b->devices * b->nreq, sizeof *b->bodies);
	for (size_t d = 0; d < b->devices; d++)
		for (size_t r = 0, i = 0; i < b->per; r++, i += b->batch)
			b->bodies[d * b->nreq + r] =
			    body_of(b, d, i, b->per - i < b->batch ? b->per - i : b->batch);
}

static void free_bodies(bench *b)
{
	for (size_t i = 0; b->bodies != NULL && i < b->devices * b->nreq; i++)
		free(b->bodies[i]);
	free(b->bodies);
}

static void *over_http(void *arg)
{
	worker *w = arg;
	bench *b = w->b;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/records", b->port);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	/* As src/net/http_client.c: no signal handler swapped around every request. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	for (size_t r = 0; r < b->nreq; r++) {
		for (size_t d = w->t; d < b->devices; d += b->threads) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, b->bodies[d * b->nreq + r]);
			long code = 0;
			if (curl_easy_perform(c) != CURLE_OK ||
			    (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), code != 200))
				fprintf(stderr, "http request failed (%ld)\n", code);
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int only_case, case_no;
static char made[16][256];
static size_t nmade;
static const char *base_dir = "/var/tmp";

static void run_case(const char *mode, int durable, size_t devices, size_t n, size_t threads,
                     size_t batch, const eds_secret_key *sk, const eds_public_key *pk)
{
	char dir[sizeof made[0]];
	snprintf(dir, sizeof dir, "%s/eds-bench-XXXXXX", base_dir);
	if (only_case != 0 && ++case_no != only_case)
		return;
	if (mkdtemp(dir) == NULL)
		return;
	/* Devices are registered without fsyncs (set-up, untimed), then the ledger reopened. */
	eds_ledger *l;
	eds_ledger_options lo = {.durable = 0};
	eds_ledger_open(&l, dir, &lo);
	for (size_t d = 0; d < devices; d++) {
		char id[32];
		snprintf(id, sizeof id, "dev-%zu", d);
		eds_ledger_device_add(l, id, pk);
	}
	eds_ledger_close(l);
	lo.durable = durable;
	eds_ledger_open(&l, dir, &lo);
	bench b = {.n = n, .devices = devices, .threads = threads, .batch = batch};
	make_records(&b, sk);
	eds_ingest_new(&b.svc, l, NULL);
	eds_server *srv = NULL;
	eds_netpolicy *pol = NULL;
	FILE *log = NULL;
	int http = strcmp(mode, "http") == 0;
	if (http) {
		eds_netpolicy_new(&pol);
		eds_netpolicy_add(pol, "127.0.0.1");
		/* The decision log of `eds serve --log FILE`: a real server always writes one. */
		char path[sizeof dir + 16];
		snprintf(path, sizeof path, "%s/decisions.log", dir);
		log = getenv("EDS_BENCH_NO_LOG") ? NULL : fopen(path, "a");
		eds_server_options so = {.listen = "127.0.0.1:0", .log = log};
		eds_server_start(&srv, b.svc, pol, &so);
		b.port = eds_server_port(srv);
		make_bodies(&b);
	}
	pthread_t th[MAX_CLIENTS];
	worker w[MAX_CLIENTS];
	double t0 = now_s(), c0 = cpu_s();
	for (size_t t = 0; t < threads; t++) {
		w[t] = (worker){&b, t, NULL};
		pthread_create(&th[t], NULL, http ? over_http : inproc, &w[t]);
	}
	for (size_t t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	/*
	 * Every case ends with what it wrote on disk, inside the clock, so both
	 * sides of a durable/non-durable ratio do the same disk work.  Durable:
	 * answers waited for the records and the journaled payload bytes, and
	 * the payload files the flusher has not yet synced are flushed here.
	 * Non-durable: nothing was flushed; one syncfs writes back the files and
	 * the database, which a longer run would pay in the kernel's write-back
	 * threads anyway (a 1-2 s case ends before that starts, which made
	 * non-durable look cheaper than it is).  EDS_BENCH_NO_END_SYNC=1 skips
	 * the non-durable syncfs, for comparison with figures before 2026-11-28.
	 */
	eds_ledger_sync(l);
	if (!durable && !getenv("EDS_BENCH_NO_END_SYNC"))
		sync_dir(dir);
	double dt = now_s() - t0, cpu = cpu_s() - c0;
	eds_ingest_stats st;
	eds_ingest_stats_get(b.svc, &st);
	printf(
	    "%-7s durable=%d devices=%-5zu batch=%-4zu threads=%zu records=%zu  %8.0f records/s  "
	    "%6.1f us CPU/record  (%llu commits, %.1f records/commit)\n",
	    mode, durable, devices, batch, threads, b.per * devices, (double)(b.per * devices) / dt,
	    cpu * 1e6 / (double)(b.per * devices), (unsigned long long)st.commits,
	    st.commits ? (double)st.batch_records / (double)st.commits : 0.0);
	fflush(stdout);
	eds_server_stop(srv, 1000);
	if (log != NULL)
		fclose(log);
	eds_netpolicy_free(pol);
	eds_ingest_free(b.svc);
	eds_ledger_close(l);
	for (size_t i = 0; i < b.n; i++)
		free((void *)b.items[i].payload);
	free(b.items);
	free_bodies(&b);
	if (nmade < sizeof made / sizeof made[0])
		memcpy(made[nmade++], dir, sizeof dir);
}

/*
 * Ledgers are removed only after the last case: on an ext4 without a
 * journal (this VM) inode allocation skips, one by one, every inode freed
 * in the last 5-35 s (recently_deleted()), so deleting one case's 10,000
 * payload files just before the next case makes every create of that case
 * scan them - a cost a real server never sees.
 */
static void remove_ledgers(void)
{
	for (size_t i = 0; i < nmade; i++) {
		char cmd[sizeof made[0] + 16];
		snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(sizeof made[0] - 1), made[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", made[i]);
	}
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	size_t threads = argc > 2 ? strtoul(argv[2], NULL, 10) : 8;
	only_case = argc > 3 ? atoi(argv[3]) : 0;
	if (getenv("EDS_BENCH_DIR") != NULL)
		base_dir = getenv("EDS_BENCH_DIR");
	if (eds_init() != EDS_OK || threads == 0 || threads > MAX_CLIENTS || n < 1000)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	eds_secret_key sk;
	eds_public_key pk;
	uint8_t seed[32] = {42};
	eds_secret_key_from_seed(&sk, seed);
	eds_secret_key_public(&sk, &pk);
	char mode[8];
	int durable;
	size_t devices, batch;
	if (argc > 3 && sscanf(argv[3], "%7[a-z]:%d:%zu:%zu:%zu", mode, &durable, &devices, &batch,
	                       &threads) == 5) {
		if ((strcmp(mode, "inproc") != 0 && strcmp(mode, "http") != 0) || devices == 0 ||
		    devices > n || batch == 0 || threads == 0 || threads > MAX_CLIENTS) {
			fprintf(stderr, "bench_ingest: bad case %s\n", argv[3]);
			return 2;
		}
		only_case = 0;
		run_case(mode, durable, devices, n, threads, batch, &sk, &pk);
		durable = -1; /* the fixed cases below are skipped */
	} else {
		durable = 1;
	}
	for (; durable >= 0; durable--) {
		run_case("inproc", durable, 1, n, 1, 100, &sk, &pk);
		run_case("inproc", durable, 1000, n, threads, 10, &sk, &pk);
		run_case("http", durable, 1, n, 1, 100, &sk, &pk);
		run_case("http", durable, 1000, n, threads, 10, &sk, &pk);
		run_case("http", durable, 1000, n / 4, threads, 1, &sk, &pk);
	}
	curl_global_cleanup();
	if (getenv("EDS_BENCH_KEEP") == NULL)
		remove_ledgers();
	return 0;
}
