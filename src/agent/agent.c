/*
 * agent.c - eds_agent: signing readings into the chain and queueing them,
 * with queue bounds and the overflow policies (docs/agent.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_internal.h"
#include "edgesentry/encoding.h"
#include "internal.h"

#define NOTICE_REF "eds:notice/payloads-dropped"
/* Most payloads one notice lists: keeps the notice under the server's body limit. */
#define SHED_MAX 4096

void eds_agent_options_init(eds_agent_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof *o);
	o->store = EDS_AGENT_STORE_SQLITE;
	o->max_records = 1000000;
	o->max_bytes = 256u << 20;
	o->overflow = EDS_AGENT_OVERFLOW_REJECT;
	o->sync_every = 1;
}

static eds_status check_options(const eds_agent_options *o, const char *state_dir)
{
	if (!o->device_id)
		return eds_fail(EDS_E_ARG, "agent options: device_id is required");
	eds_status st = eds_device_id_check(o->device_id, strlen(o->device_id));
	if (st != EDS_OK)
		return st;
	if (o->store != EDS_AGENT_STORE_SQLITE && o->store != EDS_AGENT_STORE_MEMORY)
		return eds_fail(EDS_E_ARG, "agent options: unknown store kind %d", (int)o->store);
	if (o->store == EDS_AGENT_STORE_SQLITE && !state_dir)
		return eds_fail(EDS_E_ARG, "agent: the SQLite store needs a state directory");
	if (o->overflow != EDS_AGENT_OVERFLOW_REJECT &&
	    o->overflow != EDS_AGENT_OVERFLOW_SHED_PAYLOADS)
		return eds_fail(EDS_E_ARG, "agent options: unknown overflow policy %d",
		                (int)o->overflow);
	if (o->max_records < 2 || o->max_bytes < 4096)
		return eds_fail(EDS_E_ARG,
		                "agent options: max_records must be >= 2 and max_bytes >= 4096");
	return EDS_OK;
}

/* A fresh state takes the device and key; an existing one must match them. */
static eds_status adopt_meta(eds_agent *a)
{
	eds_public_key pk;
	a->signer.ops->public_key(a->signer.ctx, &pk);
	eds_status st = a->store.ops->load_meta(a->store.s, &a->meta);
	if (st == EDS_DONE) {
		memset(&a->meta, 0, sizeof a->meta);
		snprintf(a->meta.device_id, sizeof a->meta.device_id, "%s", a->opts.device_id);
		memcpy(a->meta.public_key, pk.bytes, 32);
		return a->store.ops->commit(a->store.s, &a->meta, NULL, 0, NULL, 0);
	}
	if (st != EDS_OK)
		return st;
	if (strcmp(a->meta.device_id, a->opts.device_id) != 0)
		return eds_fail(EDS_E_KEY, "agent state: belongs to device '%s', not '%s'",
		                a->meta.device_id, a->opts.device_id);
	if (memcmp(a->meta.public_key, pk.bytes, 32) != 0)
		return eds_fail(EDS_E_KEY, "agent state: chain was signed with another key");
	return EDS_OK;
}

eds_status eds_agent_open(eds_agent **out, const char *state_dir, eds_signer *signer,
                          const eds_agent_options *opts)
{
	if (!out || !signer || !signer->ops || !opts)
		return eds_fail(EDS_E_ARG, "eds_agent_open: NULL argument");
	*out = NULL;
	eds_status st = check_options(opts, state_dir);
	if (st != EDS_OK)
		return st;
	eds_agent *a = calloc(1, sizeof *a);
	if (!a)
		return eds_fail(EDS_E_NOMEM, "agent: out of memory");
	a->opts = *opts;
	a->opts.device_id = NULL; /* the caller's string may not outlive us: use meta */
	st = opts->store == EDS_AGENT_STORE_MEMORY
	         ? agent_store_memory_open(&a->store)
	         : agent_store_sqlite_open(&a->store, state_dir, opts->sync_every > 1, false);
	if (st != EDS_OK) {
		free(a);
		return st;
	}
	a->opts.device_id = opts->device_id;
	a->signer = *signer;
	st = adopt_meta(a);
	a->opts.device_id = a->meta.device_id;
	if (st != EDS_OK) {
		a->store.ops->close(a->store.s);
		free(a);
		return st;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	signer->ops = NULL;
	signer->ctx = NULL;
	*out = a;
	return EDS_OK;
}

void eds_agent_close(eds_agent *a)
{
	if (!a)
		return;
	eds_agent_forward_stop(a);
	pthread_mutex_lock(&a->lock);
	agent_sync_locked(a);
	pthread_mutex_unlock(&a->lock);
	a->store.ops->close(a->store.s);
	eds_signer_close(&a->signer);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sign the next record after *prev_seq / prev_hash into e (JSON in json). */
static eds_status sign_entry(eds_agent *a, uint64_t seq, const uint8_t prev[EDS_HASH_LEN],
                             const uint8_t *payload, size_t len, const char *object_ref,
                             agent_entry *e, char *json)
{
	memset(e, 0, sizeof *e);
	eds_status st = eds_record_init(&e->record, a->meta.device_id, seq, now_ms(), payload, len,
	                                prev, object_ref);
	uint8_t header[EDS_HEADER_MAX];
	size_t hlen = 0;
	if (st == EDS_OK)
		st = eds_record_header_encode(&e->record, header, sizeof header, &hlen);
	if (st == EDS_OK)
		st = a->signer.ops->sign(a->signer.ctx, header, hlen, e->record.signature);
	if (st == EDS_OK)
		st = eds_record_compute_hash(&e->record, e->hash);
	if (st == EDS_OK)
		st = eds_record_to_json(&e->record, json, EDS_RECORD_JSON_MAX, &e->json_len);
	e->json = json;
	e->payload = (uint8_t *)(uintptr_t)payload;
	e->payload_len = len;
	e->has_payload = true;
	return st;
}

/* The notice payload: JSON listing every shed sequence and payload hash. */
static char *notice_payload(const agent_shed *shed, size_t n, size_t *len)
{
	size_t cap = 64 + n * 128;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t off = (size_t)snprintf(buf, cap, "{\"type\":\"payloads_dropped\",\"dropped\":[");
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		eds_hex_encode(hex, shed[i].payload_hash, EDS_HASH_LEN);
		off += (size_t)snprintf(buf + off, cap - off,
		                        "%s{\"sequence\":%" PRIu64 ",\"payload_hash\":\"%s\","
		                        "\"payload_size\":%zu}",
		                        i ? "," : "", shed[i].seq, hex, shed[i].payload_len);
	}
	off += (size_t)snprintf(buf + off, cap - off, "]}");
	*len = off;
	return buf;
}

typedef struct record_plan {
	agent_entry e[2]; /* the reading, then maybe its notice */
	char json[2][EDS_RECORD_JSON_MAX];
	agent_shed shed[SHED_MAX];
	size_t nshed;
	char *notice;
} record_plan;

static uint64_t plan_bytes(const record_plan *p, size_t n)
{
	uint64_t b = 0;
	for (size_t i = 0; i < n; i++)
		b += p->e[i].json_len + p->e[i].payload_len;
	return b;
}

/* Shed oldest payloads until the reading and its notice fit max_bytes. */
static eds_status plan_shed(eds_agent *a, record_plan *p, const agent_stats *qs)
{
	if (qs->records + 2 > a->opts.max_records)
		return eds_fail(EDS_E_LIMIT,
		                "agent queue full: %" PRIu64 " records (max %" PRIu64
		                ", records are never dropped)",
		                qs->records, a->opts.max_records);
	eds_status st = a->store.ops->shed_candidates(a->store.s, p->shed, SHED_MAX, &p->nshed);
	if (st != EDS_OK)
		return st;
	uint64_t freed = 0;
	for (size_t k = 0; k < p->nshed; k++) {
		freed += p->shed[k].payload_len;
		free(p->notice);
		size_t nlen = 0;
		p->notice = notice_payload(p->shed, k + 1, &nlen);
		if (!p->notice)
			return eds_fail(EDS_E_NOMEM, "agent: out of memory");
		st = sign_entry(a, p->e[0].record.sequence + 1, p->e[0].hash, (uint8_t *)p->notice,
		                nlen, NOTICE_REF, &p->e[1], p->json[1]);
		if (st != EDS_OK)
			return st;
		if (qs->bytes - freed + plan_bytes(p, 2) <= a->opts.max_bytes) {
			p->nshed = k + 1;
			return EDS_OK;
		}
	}
	return eds_fail(EDS_E_LIMIT,
	                "agent queue full: %" PRIu64 " bytes queued (max %" PRIu64
	                "), not enough payloads left to drop",
	                qs->bytes, a->opts.max_bytes);
}

static eds_status record_locked(eds_agent *a, record_plan *p, const uint8_t *payload, size_t len,
                                const char *object_ref)
{
	agent_stats qs;
	eds_status st = a->store.ops->stats(a->store.s, &qs);
	if (st != EDS_OK)
		return st;
	st = sign_entry(a, a->meta.head_seq + 1, a->meta.head_hash, payload, len, object_ref,
	                &p->e[0], p->json[0]);
	if (st != EDS_OK)
		return st;
	size_t n = 1;
	if (qs.records + 1 > a->opts.max_records ||
	    qs.bytes + plan_bytes(p, 1) > a->opts.max_bytes) {
		if (a->opts.overflow == EDS_AGENT_OVERFLOW_REJECT)
			return eds_fail(EDS_E_LIMIT,
			                "agent queue full: %" PRIu64 " records, %" PRIu64
			                " bytes (max %" PRIu64 ", %" PRIu64 "); record refused",
			                qs.records, qs.bytes, a->opts.max_records,
			                a->opts.max_bytes);
		st = plan_shed(a, p, &qs);
		if (st != EDS_OK)
			return st;
		n = 2;
	}
	agent_meta m = a->meta;
	m.head_seq = p->e[n - 1].record.sequence;
	memcpy(m.head_hash, p->e[n - 1].hash, EDS_HASH_LEN);
	m.dropped_payloads += p->nshed;
	m.notices += n - 1;
	st = a->store.ops->commit(a->store.s, &m, p->e, n, p->shed, p->nshed);
	if (st != EDS_OK)
		return st;
	a->meta = m;
	if (++a->unsynced >= a->opts.sync_every)
		st = agent_sync_locked(a);
	return st;
}

eds_status eds_agent_record(eds_agent *a, const uint8_t *payload, size_t len,
                            const char *object_ref, eds_record *out)
{
	if (!a || (!payload && len) || !object_ref)
		return eds_fail(EDS_E_ARG, "eds_agent_record: NULL argument");
	record_plan *p = calloc(1, sizeof *p);
	if (!p)
		return eds_fail(EDS_E_NOMEM, "agent: out of memory");
	pthread_mutex_lock(&a->lock);
	eds_status st = record_locked(a, p, payload, len, object_ref);
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (st == EDS_OK && out)
		*out = p->e[0].record;
	free(p->notice);
	free(p);
	return st;
}

eds_status agent_sync_locked(eds_agent *a)
{
	if (a->unsynced == 0)
		return EDS_OK;
	a->unsynced = 0;
	return a->store.ops->sync(a->store.s);
}

static void fill_status(const agent_meta *m, const agent_stats *qs, eds_agent_status *st)
{
	memset(st, 0, sizeof *st);
	snprintf(st->device_id, sizeof st->device_id, "%s", m->device_id);
	st->head_sequence = m->head_seq;
	memcpy(st->head_hash, m->head_hash, EDS_HASH_LEN);
	st->queued_records = qs->records;
	st->queued_bytes = qs->bytes;
	st->oldest_sequence = qs->oldest_seq;
	st->oldest_timestamp_ms = qs->oldest_ts;
	st->pending_payloads = qs->pending;
	st->dropped_payloads = m->dropped_payloads;
	st->notices = m->notices;
	st->server_head_known = m->server_known;
	st->server_sequence = m->server_seq;
}

eds_status eds_agent_get_status(eds_agent *a, eds_agent_status *st)
{
	if (!a || !st)
		return eds_fail(EDS_E_ARG, "eds_agent_get_status: NULL argument");
	agent_stats qs;
	pthread_mutex_lock(&a->lock);
	eds_status s = a->store.ops->stats(a->store.s, &qs);
	if (s == EDS_OK) {
		fill_status(&a->meta, &qs, st);
		st->delivered_records = a->delivered;
		st->last_error = a->last_error;
		snprintf(st->last_error_text, sizeof st->last_error_text, "%s", a->last_error_text);
	}
	pthread_mutex_unlock(&a->lock);
	return s;
}

eds_status eds_agent_status_read(const char *state_dir, eds_agent_status *st)
{
	if (!state_dir || !st)
		return eds_fail(EDS_E_ARG, "eds_agent_status_read: NULL argument");
	agent_store store;
	eds_status s = agent_store_sqlite_open(&store, state_dir, false, true);
	if (s != EDS_OK)
		return s;
	agent_meta m;
	agent_stats qs;
	s = store.ops->load_meta(store.s, &m);
	if (s == EDS_DONE)
		s = eds_fail(EDS_E_NOT_FOUND, "%s: no agent state yet", state_dir);
	if (s == EDS_OK)
		s = store.ops->stats(store.s, &qs);
	if (s == EDS_OK)
		fill_status(&m, &qs, st);
	store.ops->close(store.s);
	return s;
}

eds_status agent_entry_set_json(agent_entry *e, const char *json, size_t len)
{
	if (!json)
		return eds_fail(EDS_E_MALFORMED, "agent store: queued record has no JSON");
	eds_status st = eds_record_from_json(&e->record, json, len);
	if (st == EDS_OK)
		st = eds_record_compute_hash(&e->record, e->hash);
	if (st != EDS_OK)
		return eds_fail_prefix(st, "agent store: queued record");
	e->json_len = len;
	return EDS_OK;
}
