/*
 * metrics.c - the Prometheus text exposition of /metrics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

/* Room for need more bytes and a NUL: 0, with b->oom set, when out of memory. */
static int reserve(eds_textbuf *b, size_t need, size_t first)
{
	if (b->oom)
		return 0;
	if (b->p != NULL && need < b->cap - b->n)
		return 1;
	size_t cap = (b->cap ? b->cap * 2 : first) + need;
	char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = 1;
		return 0;
	}
	b->p = p;
	b->cap = cap;
	return 1;
}

void eds_textbuf_printf(eds_textbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (int round = 0; round < 2 && !b->oom; round++) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL && (size_t)n < b->cap - b->n) {
			b->n += (size_t)n;
			return;
		}
		reserve(b, (size_t)n, 4096);
	}
}

void eds_textbuf_add(eds_textbuf *b, const char *s, size_t n)
{
	if (n == 0 || !reserve(b, n, 256))
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void outcomes(eds_textbuf *b, const eds_ingest_stats *st)
{
	eds_textbuf_printf(b, "# HELP eds_ingest_decisions_total Ingest decisions by outcome.\n"
	                      "# TYPE eds_ingest_decisions_total counter\n");
	for (int o = 0; o < EDS_INGEST_OUTCOME_COUNT; o++)
		eds_textbuf_printf(
		    b, "eds_ingest_decisions_total{outcome=\"%s\",result=\"%s\"} %llu\n",
		    eds_ingest_code((eds_ingest_outcome)o),
		    eds_ingest_ok((eds_ingest_outcome)o) ? "accepted" : "rejected",
		    (unsigned long long)st->outcomes[o]);
}

static void batches(eds_textbuf *b, const eds_ingest_stats *st)
{
	uint64_t cum = 0;
	eds_textbuf_printf(b, "# HELP eds_ingest_batch_records Records per group commit.\n"
	                      "# TYPE eds_ingest_batch_records histogram\n");
	for (int i = 0; i < 11; i++) {
		cum += st->batch_buckets[i];
		eds_textbuf_printf(b, "eds_ingest_batch_records_bucket{le=\"%d\"} %llu\n", 1 << i,
		                   (unsigned long long)cum);
	}
	eds_textbuf_printf(
	    b,
	    "eds_ingest_batch_records_bucket{le=\"+Inf\"} %llu\n"
	    "eds_ingest_batch_records_sum %llu\neds_ingest_batch_records_count %llu\n",
	    (unsigned long long)st->commits, (unsigned long long)st->batch_records,
	    (unsigned long long)st->commits);
}

/* The flusher's turns and what the last start restored (durable ledgers). */
static void payload_flushes(eds_textbuf *b, const eds_ingest_stats *st)
{
	eds_textbuf_printf(
	    b,
	    "# HELP eds_ingest_payload_flushes_total Flushes of the payload files, by result.\n"
	    "# TYPE eds_ingest_payload_flushes_total counter\n"
	    "eds_ingest_payload_flushes_total{result=\"ok\"} %llu\n"
	    "eds_ingest_payload_flushes_total{result=\"failed\"} %llu\n"
	    "# HELP eds_ingest_recovered_payloads At start: payload files written again from the "
	    "ledger's journal, and records sent back to payload pending.\n"
	    "# TYPE eds_ingest_recovered_payloads gauge\n"
	    "eds_ingest_recovered_payloads{action=\"restored\"} %llu\n"
	    "eds_ingest_recovered_payloads{action=\"pending\"} %llu\n"
	    "# HELP eds_ingest_storage_recoveries_total Times the ledger took writes again after "
	    "a failed commit (found by a probe; /healthz back to 200).\n"
	    "# TYPE eds_ingest_storage_recoveries_total counter\n"
	    "eds_ingest_storage_recoveries_total %llu\n",
	    (unsigned long long)st->payload_flushes, (unsigned long long)st->payload_flush_failures,
	    (unsigned long long)st->payloads_restored, (unsigned long long)st->payloads_demoted,
	    (unsigned long long)st->storage_recoveries);
}

void eds_metrics_format(eds_textbuf *b, const eds_ingest_stats *st, const uint64_t *lat,
                        const double *bounds, int nbuckets, uint64_t count, double sum,
                        const eds_ledger_stats *ls)
{
	outcomes(b, st);
	batches(b, st);
	payload_flushes(b, st);
	uint64_t cum = 0;
	eds_textbuf_printf(b, "# HELP eds_http_request_duration_seconds Request latency.\n"
	                      "# TYPE eds_http_request_duration_seconds histogram\n");
	for (int i = 0; i < nbuckets - 1; i++) {
		cum += lat[i];
		eds_textbuf_printf(b, "eds_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
		                   bounds[i], (unsigned long long)cum);
	}
	eds_textbuf_printf(b,
	                   "eds_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	                   "eds_http_request_duration_seconds_sum %.6f\n"
	                   "eds_http_request_duration_seconds_count %llu\n",
	                   (unsigned long long)count, sum, (unsigned long long)count);
	if (ls == NULL)
		return;
	eds_textbuf_printf(b,
	                   "# HELP eds_ledger_bytes Size of the ledger database and WAL.\n"
	                   "# TYPE eds_ledger_bytes gauge\neds_ledger_bytes %llu\n"
	                   "# HELP eds_ledger_records Records stored.\n"
	                   "# TYPE eds_ledger_records gauge\neds_ledger_records %llu\n"
	                   "# HELP eds_ledger_devices Devices registered.\n"
	                   "# TYPE eds_ledger_devices gauge\neds_ledger_devices %llu\n"
	                   "# HELP eds_ledger_pending_payloads Records whose payload is pending.\n"
	                   "# TYPE eds_ledger_pending_payloads gauge\n"
	                   "eds_ledger_pending_payloads %llu\n"
	                   "# HELP eds_ledger_journaled_payloads Payloads whose bytes wait in the "
	                   "ledger's journal for their file to be flushed.\n"
	                   "# TYPE eds_ledger_journaled_payloads gauge\n"
	                   "eds_ledger_journaled_payloads %llu\n",
	                   (unsigned long long)ls->bytes, (unsigned long long)ls->records,
	                   (unsigned long long)ls->devices,
	                   (unsigned long long)ls->pending_payloads,
	                   (unsigned long long)ls->journaled_payloads);
}
