/*
 * ledger_log.c - the ledger's operation log as text or JSON Lines.
 *
 * The server logs each decision twice: a line on --log (with a message,
 * gone when the file is rotated away) and a row of the ledger's oplog
 * table, in the same transaction as the records.  This prints the rows, so
 * an auditor reads the rejections (fork, bad_signature, forbidden ...) from
 * the ledger itself, and an export carries them.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "edgesentry/encoding.h"
#include "ledger_log.h"
#include "store/ledger_internal.h"

typedef struct log_out {
	FILE *f;
	bool json;
	uint64_t count;
} log_out;

/* "2026-11-29T10:41:42.123Z" (UTC, milliseconds). */
static void iso_time(char out[32], uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, 32, "%llu", (unsigned long long)ms);
		return;
	}
	size_t n = strlen(out);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

static void event_text(FILE *f, uint64_t id, const eds_ledger_event *ev)
{
	char when[32], hex[2 * EDS_HASH_LEN + 1] = "-";
	iso_time(when, ev->time_ms);
	if (!eds_is_zero(ev->record_hash, EDS_HASH_LEN))
		eds_hex_encode(hex, ev->record_hash, EDS_HASH_LEN);
	fprintf(f, "%llu %s %s %s %s ", (unsigned long long)id, when, ev->source, ev->decision,
	        ev->reason[0] != '\0' ? ev->reason : "-");
	if (ev->device_id[0] == '\0')
		fputs("-", f);
	else if (ev->sequence == 0)
		fputs(ev->device_id, f);
	else
		fprintf(f, "%s/%llu", ev->device_id, (unsigned long long)ev->sequence);
	fprintf(f, " %s\n", hex);
}

static eds_status write_event(void *ctx, uint64_t id, const eds_ledger_event *ev)
{
	log_out *o = ctx;
	if (o->json) {
		json_t *j = eds_ledger_event_json(id, ev);
		int bad = j == NULL || json_dumpf(j, o->f, JSON_COMPACT) != 0;
		json_decref(j);
		if (bad)
			return eds_fail(EDS_E_IO,
			                "operation log event %llu: cannot write it as JSON",
			                (unsigned long long)id);
		fputc('\n', o->f);
	} else {
		event_text(o->f, id, ev);
	}
	o->count++;
	return ferror(o->f) ? eds_fail(EDS_E_IO, "operation log: write: %s", strerror(errno))
	                    : EDS_OK;
}

eds_status ledger_log_write(eds_ledger *l, uint64_t after_id, const char *device_id, bool json,
                            FILE *out, uint64_t *count)
{
	log_out o = {out, json, 0};
	eds_status st = eds_ledger_event_foreach(l, after_id, device_id, write_event, &o);
	if (count != NULL)
		*count = o.count;
	return st;
}
