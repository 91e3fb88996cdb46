/*
 * service.c - the ingest service: device cache, request-side checks, and
 * the single writer thread that applies chain rules and group-commits.
 *
 * Concurrency:
 *  - `devlock` (rwlock) guards the device table: request threads read keys
 *    under it; the writer takes it for writing only to publish heads after a
 *    commit and to reload keys changed by another process.
 *  - `qlock` guards the job queue and the loose-event list; each job has its
 *    own condition variable its submitter sleeps on.
 *  - Only the writer touches a device's working head (w_seq, w_hash): the
 *    head including records of the batch being built but not yet committed.
 *
 * A job's results are final only after the commit that contains it; if
 * that commit fails, every record of the batch gets storage_unavailable and
 * the working heads fall back to the committed ones.
 *
 * On a durable ledger a commit journals the group's payload bytes
 * (eds_ledger_commit_journaled), so it waits for one flush of the ledger's
 * log but not for the payload files; the flusher thread makes those durable
 * every payload_flush_ms (eds_ledger_sync), off the submitters' path.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: the writer must not starve */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/ledger_internal.h"
#include "edgesentry/ingest.h"
#include "edgesentry/payload.h"
#include "gate.h"
#include "internal.h"

#define DEV_SLOTS_MIN    1024
#define LOOSE_EVENTS_MAX 10000
/* Requests from this many items up have their checks split over two threads. */
#define PARALLEL_MIN_ITEMS 16
/* Slots of the count of payloads staged by requests not yet answered (see unstage). */
#define STAGE_SLOTS 4096

typedef struct dev {
	struct dev *next;
	char id[EDS_DEVICE_ID_MAX + 1];
	uint64_t revoked_from;
	size_t key_count;
	eds_ledger_key *keys;
	uint64_t head_seq; /* committed; devlock */
	uint8_t head_hash[EDS_HASH_LEN];
	uint64_t w_seq; /* working; writer only */
	uint8_t w_hash[EDS_HASH_LEN];
} dev;

enum job_kind { JOB_RECORDS, JOB_PAYLOAD };

typedef struct job {
	struct job *next;
	enum job_kind kind;
	const eds_ingest_context *ctx;
	const eds_ingest_item *items;
	eds_ingest_result *results;
	unsigned char *pending; /* items that passed the request-side checks */
	uint64_t *key_gen;      /* key generation each was verified under */
	size_t n;
	size_t n_pending;
	const uint8_t *payload_hash; /* JOB_PAYLOAD, with its bytes: */
	const uint8_t *payload;
	size_t payload_len;
	int done;
	pthread_cond_t cond;
} job;

/* Growable arrays the writer reuses from batch to batch. */
typedef struct vec {
	void *p;
	size_t n, cap, size;
} vec;

struct eds_ingest {
	eds_ledger *ledger;
	eds_ingest_options opt;
	eds_ingest_log_fn log;
	void *log_ctx;

	pthread_rwlock_t devlock;
	dev **slots;
	size_t nslots, ndevs;
	uint64_t key_gen;

	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	job *head, *tail;
	size_t queued_items;
	eds_ledger_event *loose;
	size_t nloose;
	int stopping;
	pthread_t writer;

	/* The flusher: payload files durable every opt.payload_flush_ms. */
	pthread_t flusher;
	int flushing;         /* the thread runs (durable ledgers) */
	pthread_cond_t fcond; /* qlock; wakes it early (stop, or much journaled) */
	size_t journaled;     /* payload bytes committed since its last flush; qlock */

	/* Per slot of payload hashes: stages of requests not yet answered. */
	pthread_mutex_t stagelock;
	struct stage_slot {
		unsigned busy; /* stages begun, not yet answered */
		unsigned gen;  /* stages begun ever (wraps) */
	} staging[STAGE_SLOTS];

	pthread_mutex_t statlock;
	eds_ingest_stats stats;
	int healthy;    /* the last group commit succeeded */
	int flushed_ok; /* the last flush of the payload files succeeded */
	int claimed;    /* eds_ledger_claim is ours to release */

	vec recs, events, hashes, payloads;
};

/* ---- small helpers -------------------------------------------------------- */

static void *vec_push(vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		void *p = realloc(v->p, cap * v->size);
		if (p == NULL)
			return NULL;
		v->p = p;
		v->cap = cap;
	}
	void *slot = (char *)v->p + v->n * v->size;
	v->n++;
	memset(slot, 0, v->size);
	return slot;
}

static size_t slot_of(const eds_ingest *s, const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 1099511628211ULL;
	return (size_t)(h & (s->nslots - 1));
}

static dev *dev_find(const eds_ingest *s, const char *id)
{
	for (dev *d = s->slots[slot_of(s, id)]; d != NULL; d = d->next)
		if (strcmp(d->id, id) == 0)
			return d;
	return NULL;
}

static void count(eds_ingest *s, eds_ingest_outcome o, uint64_t n)
{
	pthread_mutex_lock(&s->statlock);
	s->stats.outcomes[o] += n;
	pthread_mutex_unlock(&s->statlock);
}

static void fill_event(eds_ledger_event *ev, const eds_ingest_context *ctx, const char *id,
                       uint64_t seq, eds_ingest_outcome o, const uint8_t *hash)
{
	memset(ev, 0, sizeof *ev);
	ev->time_ms = eds_now_ms();
	if (ctx != NULL && ctx->source != NULL)
		snprintf(ev->source, sizeof ev->source, "%s", ctx->source);
	if (id != NULL)
		snprintf(ev->device_id, sizeof ev->device_id, "%s", id);
	ev->sequence = seq;
	const char *decision = o == EDS_INGEST_ACCEPTED    ? "accepted"
	                       : o == EDS_INGEST_DUPLICATE ? "duplicate"
	                       : eds_ingest_ok(o)          ? "payload"
	                                                   : "rejected";
	snprintf(ev->decision, sizeof ev->decision, "%s", decision);
	if (!eds_ingest_ok(o))
		snprintf(ev->reason, sizeof ev->reason, "%s", eds_ingest_code(o));
	if (hash != NULL)
		memcpy(ev->record_hash, hash, EDS_HASH_LEN);
}

static void log_decision(eds_ingest *s, const eds_ledger_event *ev, const char *msg)
{
	if (s->log != NULL)
		s->log(s->log_ctx, ev, msg);
}

/* A decision taken outside the writer: counted and logged, *ev made for the caller. */
static void note_decision(eds_ingest *s, eds_ledger_event *ev, const eds_ingest_context *ctx,
                          const char *id, uint64_t seq, eds_ingest_outcome o, const uint8_t *hash,
                          const char *msg)
{
	fill_event(ev, ctx, id, seq, o, hash);
	count(s, o, 1);
	log_decision(s, ev, msg);
}

/* ---- device table ------------------------------------------------------- */

/* Copy a ledger device's keys and revocation into d (devlock held for writing). */
static eds_status dev_set_keys(dev *d, const eds_ledger_device *ld)
{
	eds_ledger_key *keys = malloc((ld->key_count ? ld->key_count : 1) * sizeof *keys);
	if (keys == NULL)
		return eds_fail(EDS_E_NOMEM, "ingest: out of memory");
	memcpy(keys, ld->keys, ld->key_count * sizeof *keys);
	free(d->keys);
	d->keys = keys;
	d->key_count = ld->key_count;
	d->revoked_from = ld->revoked_from_sequence;
	return EDS_OK;
}

/* Insert or refresh a device from the ledger (devlock held for writing). */
static eds_status dev_upsert(eds_ingest *s, const eds_ledger_device *ld, dev **out)
{
	dev *d = dev_find(s, ld->device_id);
	int fresh = d == NULL;
	if (fresh) {
		d = calloc(1, sizeof *d);
		if (d == NULL)
			return eds_fail(EDS_E_NOMEM, "ingest: out of memory");
		snprintf(d->id, sizeof d->id, "%s", ld->device_id);
	}
	eds_status st = dev_set_keys(d, ld);
	if (st != EDS_OK) {
		if (fresh)
			free(d);
		return st;
	}
	/*
	 * Heads only move forward; another writer on the same ledger may have
	 * moved it past what this one committed.
	 */
	if (fresh || ld->head_sequence > d->head_seq) {
		d->head_seq = d->w_seq = ld->head_sequence;
		memcpy(d->head_hash, ld->head_hash, EDS_HASH_LEN);
		memcpy(d->w_hash, ld->head_hash, EDS_HASH_LEN);
	}
	if (fresh) {
		size_t i = slot_of(s, d->id);
		d->next = s->slots[i];
		s->slots[i] = d;
		s->ndevs++;
	}
	if (out != NULL)
		*out = d;
	return EDS_OK;
}

static eds_status load_one(void *ctx, const eds_ledger_device *ld)
{
	return dev_upsert(ctx, ld, NULL);
}

/* Reload every device (start, or another process changed the ledger). */
static eds_status reload_devices(eds_ingest *s)
{
	pthread_rwlock_wrlock(&s->devlock);
	eds_status st = eds_ledger_device_foreach(s->ledger, load_one, s);
	s->key_gen++;
	pthread_rwlock_unlock(&s->devlock);
	return st;
}

/*
 * Find a device, asking the ledger on a miss (a device registered with
 * `eds device add` while the server runs).  Returns with devlock held for
 * reading when *d is set.
 */
static eds_ingest_outcome lookup_device(eds_ingest *s, const char *id, dev **d, char *msg)
{
	pthread_rwlock_rdlock(&s->devlock);
	if ((*d = dev_find(s, id)) != NULL)
		return EDS_INGEST_ACCEPTED;
	pthread_rwlock_unlock(&s->devlock);
	eds_ledger_device *ld = malloc(sizeof *ld);
	if (ld == NULL) {
		snprintf(msg, GATE_MSG_MAX, "The server is out of memory.");
		return EDS_INGEST_STORAGE;
	}
	eds_status st = eds_ledger_device_get(s->ledger, id, ld);
	if (st == EDS_OK) {
		pthread_rwlock_wrlock(&s->devlock);
		if (dev_find(s, id) == NULL)
			st = dev_upsert(s, ld, NULL);
		pthread_rwlock_unlock(&s->devlock);
	}
	free(ld);
	if (st == EDS_E_NOT_FOUND) {
		snprintf(msg, GATE_MSG_MAX, "Device '%.128s' is not registered.", id);
		return EDS_INGEST_UNKNOWN_DEVICE;
	}
	if (st != EDS_OK) {
		snprintf(msg, GATE_MSG_MAX, "The ledger is unavailable.");
		return EDS_INGEST_STORAGE;
	}
	pthread_rwlock_rdlock(&s->devlock);
	*d = dev_find(s, id);
	return EDS_INGEST_ACCEPTED;
}

/* ---- request side --------------------------------------------------------- */

/*
 * Payload files are staged by the request threads, in parallel, before the
 * writer checks the chain; a record the writer then refuses (fork, gap,
 * prev_hash) would leave a file nothing refers to, and a device could fill
 * the disk with them.  So each stage is counted until its request is
 * answered, and a refused record's file is removed once no stage of a hash
 * in its slot is under way and no stored record refers to it.  A stage is
 * counted before it looks for an existing file, and the removal checks,
 * under the same lock, that no stage began since the ledger was asked, so
 * it never takes a file that a concurrent stage found in place and relies
 * on; a stage answered before then had its record committed before the
 * ledger was asked.  The ledger is asked outside the lock (a commit may
 * hold it for a flush).  Hashes share slots: a collision only keeps a file.
 */
static struct stage_slot *stage_slot(eds_ingest *s, const uint8_t *hash)
{
	return &s->staging[((size_t)hash[0] << 8 | hash[1]) % STAGE_SLOTS];
}

/* The stage of hash is answered; refused: its record was not stored. */
static void unstage(eds_ingest *s, const uint8_t *hash, int refused)
{
	uint64_t size;
	int stored;
	struct stage_slot *slot = stage_slot(s, hash);
	pthread_mutex_lock(&s->stagelock);
	int idle = --slot->busy == 0;
	unsigned gen = slot->gen;
	pthread_mutex_unlock(&s->stagelock);
	if (!idle || !refused ||
	    eds_ledger_payload_lookup(s->ledger, hash, &size, &stored) != EDS_E_NOT_FOUND)
		return;
	pthread_mutex_lock(&s->stagelock);
	if (slot->busy == 0 && slot->gen == gen)
		eds_payload_unstage(eds_ledger_payload_dir(s->ledger), hash);
	pthread_mutex_unlock(&s->stagelock);
}

static eds_status stage_payload(eds_ingest *s, const uint8_t *hash, const uint8_t *data, size_t len)
{
	struct stage_slot *slot = stage_slot(s, hash);
	pthread_mutex_lock(&s->stagelock);
	slot->busy++;
	slot->gen++;
	pthread_mutex_unlock(&s->stagelock);
	eds_status st = eds_payload_stage(eds_ledger_payload_dir(s->ledger), hash, data, len);
	if (st != EDS_OK)
		unstage(s, hash, 0);
	return st;
}

/* Key and signature: the expensive part, run by the submitting thread. */
static eds_ingest_outcome check_key_signature(eds_ingest *s, const eds_record *r, uint64_t *gen,
                                              char *msg)
{
	dev *d;
	eds_public_key pk;
	eds_ingest_outcome o = lookup_device(s, r->device_id, &d, msg);
	if (o != EDS_INGEST_ACCEPTED)
		return o;
	o = gate_check_key(r, d->keys, d->key_count, d->revoked_from, &pk, msg);
	*gen = s->key_gen;
	pthread_rwlock_unlock(&s->devlock);
	return o == EDS_INGEST_ACCEPTED ? gate_check_signature(r, &pk, msg) : o;
}

static eds_ingest_outcome precheck(eds_ingest *s, const eds_ingest_context *ctx,
                                   const eds_ingest_item *it, eds_ingest_result *res, uint64_t *gen)
{
	char *msg = res->message;
	const eds_record *r = &it->record;
	eds_ingest_outcome o = gate_check_identity(r, ctx->identity, msg);
	if (o == EDS_INGEST_ACCEPTED)
		o = gate_check_skew(r, eds_now_ms(), s->opt.max_skew_ms, msg);
	if (o == EDS_INGEST_ACCEPTED)
		o = check_key_signature(s, r, gen, msg);
	if (o == EDS_INGEST_ACCEPTED)
		o = gate_check_payload(r, it->payload, it->payload_len, msg);
	if (o == EDS_INGEST_ACCEPTED && eds_record_compute_hash(r, res->record_hash) != EDS_OK)
		o = EDS_INGEST_MALFORMED;
	if (o == EDS_INGEST_ACCEPTED && it->payload != NULL) {
		/* Staged now, in parallel; the writer journals it, the flusher syncs it. */
		if (stage_payload(s, r->payload_hash, it->payload, it->payload_len) != EDS_OK) {
			snprintf(msg, GATE_MSG_MAX, "The payload could not be stored.");
			o = EDS_INGEST_STORAGE;
		}
	}
	return o;
}

static void reject_now(eds_ingest *s, const eds_ingest_context *ctx, const eds_record *r,
                       eds_ingest_outcome o, const char *msg)
{
	eds_ingest_reject(s, ctx, r->device_id, r->sequence, o, msg, 1);
}

/* Queue a job and sleep until the writer has committed it. */
static eds_status run_job(eds_ingest *s, job *j)
{
	pthread_cond_init(&j->cond, NULL);
	pthread_mutex_lock(&s->qlock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->qlock);
		pthread_cond_destroy(&j->cond);
		return eds_fail(EDS_E_INTERNAL, "ingest: service is stopping");
	}
	j->next = NULL;
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->queued_items += j->n;
	pthread_cond_signal(&s->qcond);
	while (!j->done)
		pthread_cond_wait(&j->cond, &s->qlock);
	pthread_mutex_unlock(&s->qlock);
	pthread_cond_destroy(&j->cond);
	return EDS_OK;
}

/* One share of a request's items, checked by one thread. */
typedef struct share {
	eds_ingest *s;
	job *j;
	size_t from, to;
	size_t pending;
} share;

static void *precheck_share(void *arg)
{
	share *p = arg;
	job *j = p->j;
	for (size_t i = p->from; i < p->to; i++) {
		eds_ingest_result *res = &j->results[i];
		memset(res, 0, sizeof *res);
		eds_ingest_outcome o = precheck(p->s, j->ctx, &j->items[i], res, &j->key_gen[i]);
		res->outcome = o;
		if (o == EDS_INGEST_ACCEPTED) {
			j->pending[i] = 1;
			p->pending++;
		} else {
			reject_now(p->s, j->ctx, &j->items[i].record, o, res->message);
		}
	}
	return NULL;
}

/*
 * Signature checks of a large request are split with a helper thread: one
 * client sending big batches would otherwise verify on one core only while
 * the other waits for the writer (Ed25519 verify is ~100 us here).
 */
static void precheck_all(eds_ingest *s, job *j)
{
	share a = {s, j, 0, j->n, 0}, b = a;
	pthread_t helper;
	int split = j->n >= PARALLEL_MIN_ITEMS;
	if (split) {
		a.to = b.from = j->n / 2;
		split = pthread_create(&helper, NULL, precheck_share, &b) == 0;
		if (!split)
			a.to = j->n;
	}
	precheck_share(&a);
	if (split)
		pthread_join(helper, NULL);
	j->n_pending = a.pending + (split ? b.pending : 0);
}

eds_status eds_ingest_submit(eds_ingest *s, const eds_ingest_context *ctx,
                             const eds_ingest_item *items, size_t n, eds_ingest_result *results)
{
	static const eds_ingest_context none = {NULL, NULL};
	if (s == NULL || (items == NULL && n > 0) || (results == NULL && n > 0))
		return eds_fail(EDS_E_ARG, "ingest: NULL argument");
	if (ctx == NULL)
		ctx = &none;
	job j = {.kind = JOB_RECORDS, .ctx = ctx, .items = items, .results = results, .n = n};
	j.pending = calloc(n ? n : 1, 1);
	j.key_gen = calloc(n ? n : 1, sizeof *j.key_gen);
	if (j.pending == NULL || j.key_gen == NULL) {
		free(j.pending);
		free(j.key_gen);
		return eds_fail(EDS_E_NOMEM, "ingest: out of memory");
	}
	precheck_all(s, &j);
	eds_status st = j.n_pending > 0 ? run_job(s, &j) : EDS_OK;
	for (size_t i = 0; i < n; i++)
		if (j.pending[i] && items[i].payload != NULL)
			/* a record's ok outcomes are accepted and duplicate: stored */
			unstage(s, items[i].record.payload_hash,
			        !eds_ingest_ok(results[i].outcome));
	free(j.pending);
	free(j.key_gen);
	return st;
}

eds_status eds_ingest_put_payload(eds_ingest *s, const eds_ingest_context *ctx,
                                  const uint8_t hash[EDS_HASH_LEN], const uint8_t *data, size_t len,
                                  eds_ingest_result *res)
{
	static const eds_ingest_context none = {NULL, NULL};
	if (s == NULL || hash == NULL || res == NULL || (data == NULL && len > 0))
		return eds_fail(EDS_E_ARG, "ingest: NULL argument");
	ctx = ctx ? ctx : &none;
	memset(res, 0, sizeof *res);
	uint64_t size;
	int stored;
	eds_record r; /* only payload_size and payload_hash matter for the check */
	memset(&r, 0, sizeof r);
	eds_status st = eds_ledger_payload_lookup(s->ledger, hash, &size, &stored);
	if (st == EDS_E_NOT_FOUND) {
		res->outcome = EDS_INGEST_UNKNOWN_PAYLOAD;
		snprintf(res->message, GATE_MSG_MAX,
		         "No stored record refers to this payload hash.");
	} else if (st != EDS_OK) {
		res->outcome = EDS_INGEST_STORAGE;
		snprintf(res->message, GATE_MSG_MAX, "The ledger is unavailable.");
	} else {
		r.payload_size = size;
		memcpy(r.payload_hash, hash, EDS_HASH_LEN);
		res->outcome =
		    gate_check_payload(&r, data ? data : (const uint8_t *)"", len, res->message);
	}
	if (res->outcome == EDS_INGEST_ACCEPTED && stored) {
		/* Logged, not written to the ledger: a repeated PUT must not grow it. */
		eds_ledger_event ev;
		res->outcome = EDS_INGEST_ALREADY_STORED;
		snprintf(res->message, GATE_MSG_MAX, "The payload was already stored.");
		note_decision(s, &ev, ctx, "", 0, res->outcome, hash, res->message);
		return EDS_OK;
	}
	if (res->outcome == EDS_INGEST_ACCEPTED && stage_payload(s, hash, data, len) != EDS_OK) {
		res->outcome = EDS_INGEST_STORAGE;
		snprintf(res->message, GATE_MSG_MAX, "The payload could not be stored.");
	}
	if (res->outcome != EDS_INGEST_ACCEPTED) {
		eds_ingest_reject(s, ctx, "", 0, res->outcome, res->message, 1);
		return EDS_OK;
	}
	/* The writer marks the records' payload stored in its next commit (and counts it). */
	job j = {.kind = JOB_PAYLOAD,
	         .ctx = ctx,
	         .results = res,
	         .n = 1,
	         .payload_hash = hash,
	         .payload = data,
	         .payload_len = len};
	res->outcome = EDS_INGEST_STORED;
	st = run_job(s, &j);
	unstage(s, hash, 0); /* a record refers to it (it may be pending still) */
	return st;
}

void eds_ingest_reject(eds_ingest *s, const eds_ingest_context *ctx, const char *device_id,
                       uint64_t sequence, eds_ingest_outcome outcome, const char *message,
                       int to_ledger)
{
	if (s == NULL)
		return;
	eds_ledger_event ev;
	note_decision(s, &ev, ctx, device_id, sequence, outcome, NULL, message);
	if (!to_ledger)
		return;
	pthread_mutex_lock(&s->qlock);
	/* Bounded: a flood of garbage must not grow memory; the metrics still count it. */
	if (s->nloose < LOOSE_EVENTS_MAX && !s->stopping) {
		s->loose[s->nloose++] = ev;
		pthread_cond_signal(&s->qcond);
	}
	pthread_mutex_unlock(&s->qlock);
}

/* ---- writer --------------------------------------------------------------- */

/* The record_hash stored at (d, seq) for seq <= working head: batch first, then ledger. */
static int stored_hash(eds_ingest *s, const dev *d, uint64_t seq, uint8_t out[EDS_HASH_LEN])
{
	if (seq == d->w_seq) {
		memcpy(out, d->w_hash, EDS_HASH_LEN);
		return 1;
	}
	const eds_ledger_record *recs = s->recs.p;
	for (size_t i = s->recs.n; i > 0; i--) {
		if (recs[i - 1].record.sequence == seq &&
		    strcmp(recs[i - 1].record.device_id, d->id) == 0) {
			memcpy(out, recs[i - 1].record_hash, EDS_HASH_LEN);
			return 1;
		}
	}
	eds_ledger_record *lr = malloc(sizeof *lr);
	int found = lr != NULL && eds_ledger_record_get(s->ledger, d->id, seq, lr) == EDS_OK;
	if (found)
		memcpy(out, lr->record_hash, EDS_HASH_LEN);
	free(lr);
	return found;
}

/* Keys changed since the request thread checked: check key and signature again. */
static eds_ingest_outcome recheck_key(const dev *d, const eds_record *r, char *msg)
{
	eds_public_key pk;
	eds_ingest_outcome o = gate_check_key(r, d->keys, d->key_count, d->revoked_from, &pk, msg);
	return o == EDS_INGEST_ACCEPTED ? gate_check_signature(r, &pk, msg) : o;
}

/*
 * The bytes of a payload this group marks stored, for the ledger's journal;
 * with a hash for stored_payloads too when the mark is not a new record's.
 * Pointers into the job, which lives until its submitter is answered.
 */
static int journal_payload(eds_ingest *s, const uint8_t *hash, const eds_ingest_item *it)
{
	eds_ledger_payload *p = vec_push(&s->payloads);
	if (p == NULL)
		return 0;
	*p = (eds_ledger_payload){hash, it->payload, it->payload_len};
	return 1;
}

static int mark_payload_stored(eds_ingest *s, const uint8_t *hash, const eds_ingest_item *it)
{
	uint8_t *h = vec_push(&s->hashes);
	if (h == NULL)
		return 0;
	memcpy(h, hash, EDS_HASH_LEN);
	if (journal_payload(s, hash, it))
		return 1;
	s->hashes.n--;
	return 0;
}

static eds_ingest_outcome decide(eds_ingest *s, job *j, size_t i)
{
	const eds_record *r = &j->items[i].record;
	eds_ingest_result *res = &j->results[i];
	dev *d = dev_find(s, r->device_id); /* devices are never removed */
	eds_ingest_outcome o = EDS_INGEST_ACCEPTED;
	if (j->key_gen[i] != s->key_gen)
		o = recheck_key(d, r, res->message);
	uint8_t old[EDS_HASH_LEN];
	int have_old = o == EDS_INGEST_ACCEPTED && r->sequence <= d->w_seq &&
	               stored_hash(s, d, r->sequence, old);
	if (o == EDS_INGEST_ACCEPTED)
		o = gate_check_chain(r, res->record_hash, d->w_seq, d->w_hash,
		                     have_old ? old : NULL, res->message);
	if (o != EDS_INGEST_ACCEPTED)
		return o;
	if (j->items[i].payload != NULL && !journal_payload(s, r->payload_hash, &j->items[i]))
		return EDS_INGEST_STORAGE;
	eds_ledger_record *lr = vec_push(&s->recs);
	if (lr == NULL)
		return EDS_INGEST_STORAGE;
	lr->record = *r;
	memcpy(lr->record_hash, res->record_hash, EDS_HASH_LEN);
	lr->received_ms = eds_now_ms();
	if (j->ctx->source != NULL)
		snprintf(lr->source, sizeof lr->source, "%s", j->ctx->source);
	lr->payload_stored = j->items[i].payload != NULL;
	d->w_seq = r->sequence;
	memcpy(d->w_hash, res->record_hash, EDS_HASH_LEN);
	return o;
}

/* Item i's decision as an operation-log event, made from the job itself. */
static void item_event(eds_ledger_event *ev, const job *j, size_t i, eds_ingest_outcome o)
{
	if (j->kind == JOB_PAYLOAD)
		fill_event(ev, j->ctx, "", 0, o, j->payload_hash);
	else
		fill_event(ev, j->ctx, j->items[i].record.device_id, j->items[i].record.sequence, o,
		           j->results[i].record_hash);
}

/*
 * Each decision's event slot is taken before the decision, so that when
 * memory runs out the item is refused (storage) instead of an accepted
 * record, or a payload marked stored, being committed without its event:
 * `eds ledger verify` matches every record against its "accepted" event.
 */
static void apply_job(eds_ingest *s, job *j)
{
	if (j->kind == JOB_PAYLOAD) {
		eds_ingest_item it = {.payload = j->payload, .payload_len = j->payload_len};
		eds_ledger_event *ev = vec_push(&s->events);
		if (ev == NULL || !mark_payload_stored(s, j->payload_hash, &it)) {
			s->events.n -= ev != NULL;
			j->results->outcome = EDS_INGEST_STORAGE;
			return;
		}
		item_event(ev, j, 0, EDS_INGEST_STORED);
		return;
	}
	for (size_t i = 0; i < j->n; i++) {
		if (!j->pending[i])
			continue;
		const eds_record *r = &j->items[i].record;
		eds_ledger_event *ev = vec_push(&s->events); /* decide pushes no event */
		if (ev == NULL) {
			j->results[i].outcome = EDS_INGEST_STORAGE;
			continue;
		}
		eds_ingest_outcome o = decide(s, j, i);
		/* A retried record may bring the payload that was pending. */
		if (o == EDS_INGEST_DUPLICATE && j->items[i].payload != NULL &&
		    !mark_payload_stored(s, r->payload_hash, &j->items[i]))
			o = EDS_INGEST_STORAGE;
		j->results[i].outcome = o;
		item_event(ev, j, i, o);
	}
}

/*
 * After the commit: working heads become the ones answered (head requests,
 * chain checks of new devices' loads), or fall back to them when the
 * commit failed.
 */
static void settle_heads(eds_ingest *s, int committed)
{
	const eds_ledger_record *recs = s->recs.p;
	pthread_rwlock_wrlock(&s->devlock);
	for (size_t i = 0; i < s->recs.n; i++) {
		dev *d = dev_find(s, recs[i].record.device_id);
		if (committed) {
			d->head_seq = d->w_seq;
			memcpy(d->head_hash, d->w_hash, EDS_HASH_LEN);
		} else {
			d->w_seq = d->head_seq;
			memcpy(d->w_hash, d->head_hash, EDS_HASH_LEN);
		}
	}
	pthread_rwlock_unlock(&s->devlock);
}

static void account_batch(eds_ingest *s, job *jobs, int ok)
{
	pthread_mutex_lock(&s->statlock);
	s->healthy = ok;
	if (ok && s->recs.n > 0) {
		unsigned b = 0;
		while (b < 11 && ((size_t)1 << b) < s->recs.n)
			b++;
		s->stats.batch_buckets[b]++;
		s->stats.commits++;
		s->stats.batch_records += s->recs.n;
	}
	for (job *j = jobs; j != NULL; j = j->next)
		for (size_t i = 0; i < j->n; i++)
			if (j->kind == JOB_PAYLOAD || j->pending[i])
				s->stats.outcomes[j->results[i].outcome]++;
	pthread_mutex_unlock(&s->statlock);
}

static void log_jobs(eds_ingest *s, job *jobs)
{
	if (s->log == NULL)
		return;
	for (job *j = jobs; j != NULL; j = j->next)
		for (size_t i = 0; i < j->n; i++)
			if (j->kind == JOB_PAYLOAD || j->pending[i]) {
				/* Made again, not copied: a failed commit changed the outcome. */
				eds_ledger_event ev;
				item_event(&ev, j, i, j->results[i].outcome);
				log_decision(s, &ev, j->results[i].message);
			}
}

static void fail_jobs(job *jobs, const char *msg)
{
	for (job *j = jobs; j != NULL; j = j->next)
		for (size_t i = 0; i < j->n; i++)
			if (j->kind == JOB_PAYLOAD || j->pending[i]) {
				j->results[i].outcome = EDS_INGEST_STORAGE;
				snprintf(j->results[i].message, GATE_MSG_MAX, "%s", msg);
			}
}

/*
 * One flush per group, of the ledger's log: the payload files were staged
 * by the request threads and their bytes go into the same transaction
 * (eds_ledger_commit_journaled), so the group is durable when it returns
 * and the files can be flushed later, by the flusher.
 */
static eds_status commit_batch(eds_ingest *s, job *jobs)
{
	eds_ledger_batch b = {s->recs.p,   s->recs.n,   s->hashes.p,   s->hashes.n,
	                      s->events.p, s->events.n, s->payloads.p, s->payloads.n};
	if (!b.record_count && !b.stored_payload_count && !b.event_count)
		return EDS_OK;
	eds_status st = eds_ledger_commit_journaled(s->ledger, &b);
	settle_heads(s, st == EDS_OK);
	if (st != EDS_OK)
		fail_jobs(jobs, "The ledger could not commit; nothing was stored.");
	return st;
}

/* Payload bytes this many since the last flush wake the flusher early. */
#define FLUSH_EARLY_BYTES (16u << 20)

static void count_journaled(eds_ingest *s)
{
	const eds_ledger_payload *p = s->payloads.p;
	size_t bytes = 0;
	for (size_t i = 0; i < s->payloads.n; i++)
		bytes += p[i].len + EDS_HASH_LEN;
	pthread_mutex_lock(&s->qlock);
	s->journaled += bytes;
	if (s->journaled >= FLUSH_EARLY_BYTES)
		pthread_cond_signal(&s->fcond);
	pthread_mutex_unlock(&s->qlock);
}

static void process(eds_ingest *s, job *jobs, eds_ledger_event *loose, size_t nloose)
{
	int changed = 0;
	s->recs.n = s->events.n = s->hashes.n = s->payloads.n = 0;
	if (eds_ledger_changed(s->ledger, &changed) == EDS_OK && changed)
		reload_devices(s);
	/* Read lock: request threads may insert newly registered devices meanwhile. */
	pthread_rwlock_rdlock(&s->devlock);
	for (job *j = jobs; j != NULL; j = j->next)
		apply_job(s, j);
	pthread_rwlock_unlock(&s->devlock);
	size_t decided = s->events.n;
	for (size_t i = 0; i < nloose; i++) {
		eds_ledger_event *ev = vec_push(&s->events);
		if (ev != NULL)
			*ev = loose[i];
	}
	eds_status st = commit_batch(s, jobs);
	if (st == EDS_OK && s->flushing)
		count_journaled(s);
	s->events.n = decided; /* loose events were logged when they happened */
	account_batch(s, jobs, st == EDS_OK);
	log_jobs(s, jobs);
}

/* Take whole jobs up to max_batch items (at least one job). */
static job *take_jobs(eds_ingest *s)
{
	job *first = s->head, *last = NULL;
	size_t items = 0;
	for (job *j = s->head; j != NULL && (last == NULL || items + j->n <= s->opt.max_batch);
	     j = j->next) {
		// cppcheck-suppress nullPointerRedundantCheck ; j is tested by the loop condition
		items += j->n;
		last = j;
	}
	if (last == NULL)
		return NULL;
	s->head = last->next;
	if (s->head == NULL)
		s->tail = NULL;
	last->next = NULL;
	s->queued_items -= items;
	return first;
}

/* The CLOCK_REALTIME time ns from now, for pthread_cond_timedwait. */
static struct timespec deadline(uint64_t ns)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	ns += (uint64_t)until.tv_nsec;
	until.tv_sec += (time_t)(ns / 1000000000u);
	until.tv_nsec = (long)(ns % 1000000000u);
	return until;
}

static void wait_for_batch(eds_ingest *s)
{
	struct timespec until = deadline((uint64_t)s->opt.max_wait_us * 1000u);
	while (!s->stopping && s->queued_items < s->opt.max_batch)
		if (pthread_cond_timedwait(&s->qcond, &s->qlock, &until) != 0)
			break;
}

static void *writer_main(void *arg)
{
	eds_ingest *s = arg;
	eds_ledger_event *loose = malloc(LOOSE_EVENTS_MAX * sizeof *loose);
	pthread_mutex_lock(&s->qlock);
	for (;;) {
		while (s->head == NULL && s->nloose == 0 && !s->stopping)
			pthread_cond_wait(&s->qcond, &s->qlock);
		if (s->head == NULL && s->nloose == 0 && s->stopping)
			break;
		if (s->opt.max_wait_us > 0 && s->head != NULL)
			wait_for_batch(s);
		job *jobs = take_jobs(s);
		size_t nloose = loose ? s->nloose : 0;
		if (nloose > 0)
			memcpy(loose, s->loose, nloose * sizeof *loose);
		s->nloose = 0;
		pthread_mutex_unlock(&s->qlock);
		process(s, jobs, loose, nloose);
		pthread_mutex_lock(&s->qlock);
		for (job *j = jobs, *next; j != NULL; j = next) {
			next = j->next; /* j lives on its submitter's stack: read before waking */
			j->done = 1;
			pthread_cond_signal(&j->cond);
		}
	}
	pthread_mutex_unlock(&s->qlock);
	free(loose);
	return NULL;
}

/*
 * After a failed commit the service is unhealthy until a later commit
 * succeeds.  Without traffic none comes (a load balancer that stopped
 * sending on the 503 would wait for ever), so the flusher probes the
 * ledger at each turn meanwhile, and a probe that writes makes it healthy.
 */
static int unhealthy(eds_ingest *s)
{
	pthread_mutex_lock(&s->statlock);
	int sick = !s->healthy;
	pthread_mutex_unlock(&s->statlock);
	return sick;
}

static void probe_storage(eds_ingest *s)
{
	if (!unhealthy(s) || eds_ledger_probe(s->ledger) != EDS_OK)
		return;
	pthread_mutex_lock(&s->statlock);
	s->healthy = 1;
	s->stats.storage_recoveries++;
	pthread_mutex_unlock(&s->statlock);
}

/* Probes while unhealthy come at least once a second, whatever the flush period. */
#define PROBE_MS 1000u

/*
 * The flusher: every payload_flush_ms (sooner when much was journaled) one
 * eds_ledger_sync makes the staged payload files durable and drops the
 * journal entries it covered.  A failed flush keeps them (nothing is lost:
 * the bytes stay in the ledger) and is tried again at the next turn.
 */
static void *flusher_main(void *arg)
{
	eds_ingest *s = arg;
	pthread_mutex_lock(&s->qlock);
	for (int last = 0; !last;) {
		unsigned ms = s->opt.payload_flush_ms;
		if (ms > PROBE_MS && unhealthy(s))
			ms = PROBE_MS;
		struct timespec until = deadline((uint64_t)ms * 1000000u);
		while (!s->stopping && s->journaled < FLUSH_EARLY_BYTES)
			if (pthread_cond_timedwait(&s->fcond, &s->qlock, &until) != 0)
				break;
		last = s->stopping; /* the writer has stopped: one flush covers everything */
		s->journaled = 0;
		pthread_mutex_unlock(&s->qlock);
		eds_status st = eds_ledger_sync(s->ledger);
		pthread_mutex_lock(&s->statlock);
		s->flushed_ok = st == EDS_OK;
		s->stats.payload_flushes += st == EDS_OK;
		s->stats.payload_flush_failures += st != EDS_OK;
		pthread_mutex_unlock(&s->statlock);
		if (!last)
			probe_storage(s);
		pthread_mutex_lock(&s->qlock);
	}
	pthread_mutex_unlock(&s->qlock);
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

static void free_devices(eds_ingest *s)
{
	for (size_t i = 0; s->slots != NULL && i < s->nslots; i++) {
		for (dev *d = s->slots[i], *next; d != NULL; d = next) {
			next = d->next;
			free(d->keys);
			free(d);
		}
	}
	free(s->slots);
}

static void free_service(eds_ingest *s)
{
	if (s->claimed)
		eds_ledger_release(s->ledger);
	free_devices(s);
	free(s->loose);
	free(s->recs.p);
	free(s->events.p);
	free(s->hashes.p);
	free(s->payloads.p);
	pthread_rwlock_destroy(&s->devlock);
	pthread_mutex_destroy(&s->qlock);
	pthread_cond_destroy(&s->qcond);
	pthread_cond_destroy(&s->fcond);
	pthread_mutex_destroy(&s->statlock);
	pthread_mutex_destroy(&s->stagelock);
	free(s);
}

/* Tell the threads to stop and wait for the one that sleeps on cond. */
static void stop_thread(eds_ingest *s, pthread_cond_t *cond, pthread_t th)
{
	pthread_mutex_lock(&s->qlock);
	s->stopping = 1;
	pthread_cond_signal(cond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(th, NULL);
}

/* After the writer stopped: the flusher's last flush covers every commit. */
static void stop_flusher(eds_ingest *s)
{
	if (s->flushing)
		stop_thread(s, &s->fcond, s->flusher);
	s->flushing = 0;
}

static size_t table_size(eds_ledger *l)
{
	eds_ledger_stats st;
	size_t n = DEV_SLOTS_MIN;
	if (eds_ledger_stats_get(l, &st) == EDS_OK)
		while (n < st.devices && n < ((size_t)1 << 24))
			n *= 2;
	return n;
}

eds_status eds_ingest_new(eds_ingest **out, eds_ledger *ledger, const eds_ingest_options *opts)
{
	if (out == NULL || ledger == NULL)
		return eds_fail(EDS_E_ARG, "ingest: NULL argument");
	eds_ingest *s = calloc(1, sizeof *s);
	if (s == NULL)
		return eds_fail(EDS_E_NOMEM, "ingest: out of memory");
	s->ledger = ledger;
	if (opts != NULL)
		s->opt = *opts;
	s->opt.max_batch = s->opt.max_batch ? s->opt.max_batch : 1024;
	s->opt.max_skew_ms = s->opt.max_skew_ms ? s->opt.max_skew_ms : 300000;
	s->opt.payload_flush_ms = s->opt.payload_flush_ms ? s->opt.payload_flush_ms : 1000;
	s->recs.size = sizeof(eds_ledger_record);
	s->events.size = sizeof(eds_ledger_event);
	s->hashes.size = EDS_HASH_LEN;
	s->payloads.size = sizeof(eds_ledger_payload);
	s->healthy = s->flushed_ok = 1;
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->devlock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_cond_init(&s->fcond, NULL);
	pthread_mutex_init(&s->statlock, NULL);
	pthread_mutex_init(&s->stagelock, NULL);
	s->nslots = table_size(ledger);
	s->slots =
	    calloc(s->nslots,
	           sizeof *s->slots); /* NOLINT(bugprone-sizeof-expression): array of pointers */
	s->loose = malloc(LOOSE_EVENTS_MAX * sizeof *s->loose);
	eds_status st =
	    s->slots && s->loose ? EDS_OK : eds_fail(EDS_E_NOMEM, "ingest: out of memory");
	int changed;
	if (st == EDS_OK) /* before recovery, which must not run beside another service */
		st = eds_ledger_claim(ledger);
	s->claimed = st == EDS_OK;
	if (st == EDS_OK)
		st = eds_payload_stage_dirs(eds_ledger_payload_dir(ledger));
	size_t restored = 0, demoted = 0;
	if (st == EDS_OK) /* after a crash: payload files the flusher had not yet synced */
		st = eds_ledger_recover(ledger, &restored, &demoted);
	s->stats.payloads_restored = restored;
	s->stats.payloads_demoted = demoted;
	if (st == EDS_OK)
		st = eds_ledger_changed(ledger, &changed); /* baseline for later reloads */
	if (st == EDS_OK)
		st = reload_devices(s);
	if (st == EDS_OK && eds_ledger_durable(ledger)) {
		s->flushing = pthread_create(&s->flusher, NULL, flusher_main, s) == 0;
		if (!s->flushing)
			st = eds_fail(EDS_E_INTERNAL, "ingest: cannot start the flusher thread");
	}
	if (st == EDS_OK && pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		stop_flusher(s);
		st = eds_fail(EDS_E_INTERNAL, "ingest: cannot start the writer thread");
	}
	if (st != EDS_OK) {
		free_service(s);
		return st;
	}
	*out = s;
	return EDS_OK;
}

void eds_ingest_set_log(eds_ingest *s, eds_ingest_log_fn fn, void *ctx)
{
	if (s == NULL)
		return;
	s->log = fn;
	s->log_ctx = ctx;
}

eds_status eds_ingest_head(eds_ingest *s, const char *device_id, uint64_t *sequence,
                           uint8_t hash[EDS_HASH_LEN])
{
	char msg[GATE_MSG_MAX];
	dev *d;
	if (s == NULL || sequence == NULL || hash == NULL)
		return eds_fail(EDS_E_ARG, "ingest: NULL argument");
	eds_status st = eds_ledger_check_id(device_id);
	if (st != EDS_OK)
		return st;
	eds_ingest_outcome o = lookup_device(s, device_id, &d, msg);
	if (o == EDS_INGEST_UNKNOWN_DEVICE)
		return eds_fail(EDS_E_NOT_FOUND, "device %s: not registered", device_id);
	if (o != EDS_INGEST_ACCEPTED)
		return eds_fail(EDS_E_IO, "%s", msg);
	*sequence = d->head_seq;
	memcpy(hash, d->head_hash, EDS_HASH_LEN);
	pthread_rwlock_unlock(&s->devlock);
	return EDS_OK;
}

void eds_ingest_stats_get(eds_ingest *s, eds_ingest_stats *out)
{
	if (s == NULL || out == NULL) /* no status to return: nothing to fill */
		return;
	pthread_mutex_lock(&s->statlock);
	*out = s->stats;
	pthread_mutex_unlock(&s->statlock);
}

eds_status eds_ingest_ledger_stats(eds_ingest *s, eds_ledger_stats *out)
{
	if (s == NULL) /* eds_ledger_stats_get checks out, but s must be read first */
		return eds_fail(EDS_E_ARG, "ingest: NULL argument");
	return eds_ledger_stats_get(s->ledger, out);
}

int eds_ingest_healthy(eds_ingest *s)
{
	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->statlock);
	int ok = s->healthy && s->flushed_ok;
	pthread_mutex_unlock(&s->statlock);
	return ok;
}

void eds_ingest_free(eds_ingest *s)
{
	if (s == NULL)
		return;
	stop_thread(s, &s->qcond, s->writer);
	stop_flusher(s);
	free_service(s);
}
