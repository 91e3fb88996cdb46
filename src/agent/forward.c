/*
 * forward.c - delivering the queue through an eds_transport, in order.
 *
 * A record leaves the queue only when the server answered "accepted" or
 * "duplicate" for it; anything else (503, timeout, a refusal) keeps it and
 * makes the next step ask the server for the device head first, so the
 * agent resumes from what the server really holds.  Network calls run
 * without the agent lock, so eds_agent_record never waits for the network.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_internal.h"
#include "chain_internal.h"
#include "internal.h"

void eds_forward_options_init(eds_forward_options *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof *o);
	o->batch = 100;
	o->batch_bytes = 512u << 10;
	o->backoff_min_ms = 200;
	o->backoff_max_ms = 30000;
	o->idle_ms = 200;
}

void eds_transport_close(eds_transport *t)
{
	if (!t || !t->ops)
		return;
	if (t->ops->destroy)
		t->ops->destroy(t->ctx);
	t->ops = NULL;
	t->ctx = NULL;
}

static eds_status note_error(eds_agent *a, eds_status st)
{
	a->server_head_valid = false;
	a->last_error = st;
	snprintf(a->last_error_text, sizeof a->last_error_text, "%s", eds_last_error());
	return st;
}

/* Ask the server where the device's chain ends; drop what it holds. */
static eds_status resync_head(eds_agent *a, eds_transport *t)
{
	eds_status st = agent_sync_locked(a);
	char dev[EDS_DEVICE_ID_MAX + 1];
	memcpy(dev, a->meta.device_id, sizeof dev);
	uint64_t seq = 0;
	uint8_t hash[EDS_HASH_LEN];
	pthread_mutex_unlock(&a->lock);
	if (st == EDS_OK)
		st = t->ops->get_head(t->ctx, dev, &seq, hash);
	pthread_mutex_lock(&a->lock);
	if (st != EDS_OK)
		return st;
	if (seq > a->meta.head_seq)
		return eds_fail(EDS_E_FORK,
		                "server head of '%s' is sequence %" PRIu64 " but this "
		                "agent signed only up to %" PRIu64
		                " (agent state lost or replaced?)",
		                dev, seq, a->meta.head_seq);
	st = a->store.ops->mark_sent(a->store.s, seq, false);
	if (st != EDS_OK)
		return st;
	a->meta.server_seq = seq;
	a->meta.server_known = true;
	a->server_head_valid = true;
	return EDS_OK;
}

/* Send one batch of unsent records; drop the confirmed prefix. */
static eds_status send_records(eds_agent *a, eds_transport *t, const eds_forward_options *o,
                               agent_entry *e, size_t n, uint64_t *moved)
{
	eds_transport_item *items = calloc(n, sizeof *items);
	eds_transport_result *res = calloc(n, sizeof *res);
	eds_status st =
	    items && res ? agent_sync_locked(a) : eds_fail(EDS_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n && st == EDS_OK; i++) {
		items[i].record = &e[i].record;
		items[i].payload = e[i].has_payload && !o->headers_first ? e[i].payload : NULL;
		items[i].payload_len = items[i].payload ? e[i].payload_len : 0;
		res[i].delivery = EDS_DELIVERY_NOT_STORED;
	}
	if (st == EDS_OK) {
		pthread_mutex_unlock(&a->lock);
		st = t->ops->send(t->ctx, items, n, res);
		pthread_mutex_lock(&a->lock);
	}
	size_t k = 0;
	while (st == EDS_OK && k < n && res[k].delivery == EDS_DELIVERY_STORED)
		k++;
	if (k > 0) {
		eds_status s2 = a->store.ops->mark_sent(a->store.s, e[k - 1].record.sequence,
		                                        !o->headers_first);
		if (s2 == EDS_OK) {
			a->meta.server_seq = e[k - 1].record.sequence;
			a->meta.server_known = true;
			a->delivered += k;
			*moved += k;
		}
		st = st == EDS_OK ? s2 : st;
	}
	if (st == EDS_OK && k < n) {
		const char *code = res[k].error[0] ? res[k].error : "no answer";
		st =
		    res[k].delivery == EDS_DELIVERY_NOT_STORED
		        ? eds_fail(EDS_E_IO, "server did not store sequence %" PRIu64 " (%s); kept",
		                   e[k].record.sequence, code)
		        : eds_fail(eds_chain_reason_status(code, EDS_E_FIELD),
		                   "server refused sequence %" PRIu64 ": %s", e[k].record.sequence,
		                   code);
	}
	free(items);
	free(res);
	return st;
}

/* Upload payloads of records the server holds already (headers-first). */
static eds_status send_payloads(eds_agent *a, eds_transport *t, agent_entry *e, size_t n,
                                uint64_t *moved)
{
	eds_status st = EDS_OK;
	for (size_t i = 0; i < n && st == EDS_OK; i++) {
		pthread_mutex_unlock(&a->lock);
		st = t->ops->put_payload(t->ctx, e[i].record.payload_hash, e[i].payload,
		                         e[i].payload_len);
		pthread_mutex_lock(&a->lock);
		if (st == EDS_OK)
			st = a->store.ops->remove(a->store.s, e[i].record.sequence);
		if (st == EDS_OK)
			(*moved)++;
	}
	return st;
}

static eds_status step_locked(eds_agent *a, eds_transport *t, const eds_forward_options *o,
                              uint64_t *moved)
{
	eds_status st = a->server_head_valid ? EDS_OK : resync_head(a, t);
	agent_entry *e = NULL;
	size_t n = 0;
	if (st == EDS_OK)
		st = a->store.ops->peek(a->store.s, false, o->batch, o->batch_bytes, &e, &n);
	if (st == EDS_OK && n > 0)
		st = send_records(a, t, o, e, n, moved);
	agent_entries_free(e, n);
	if (st != EDS_OK || n == o->batch)
		return st;
	e = NULL;
	n = 0;
	st = a->store.ops->peek(a->store.s, true, o->batch, o->batch_bytes, &e, &n);
	if (st == EDS_OK && n > 0)
		st = send_payloads(a, t, e, n, moved);
	agent_entries_free(e, n);
	if (st == EDS_OK && *moved == 0)
		return EDS_DONE;
	return st;
}

static eds_status check_forward(const eds_forward_options *o)
{
	if (o->batch < 1 || o->batch > 1000)
		return eds_fail(EDS_E_ARG, "forward options: batch must be 1..1000, got %zu",
		                o->batch);
	if (o->batch_bytes < 1024)
		return eds_fail(EDS_E_ARG, "forward options: batch_bytes must be >= 1024");
	if (o->backoff_min_ms < 1 || o->backoff_max_ms < o->backoff_min_ms)
		return eds_fail(EDS_E_ARG,
		                "forward options: need 1 <= backoff_min_ms <= backoff_max_ms");
	return EDS_OK;
}

eds_status eds_agent_forward_once(eds_agent *a, eds_transport *t, const eds_forward_options *o,
                                  uint64_t *moved)
{
	if (!a || !t || !t->ops || !o)
		return eds_fail(EDS_E_ARG, "eds_agent_forward_once: NULL argument");
	eds_status st = check_forward(o);
	if (st != EDS_OK)
		return st;
	uint64_t m = 0;
	pthread_mutex_lock(&a->lock);
	st = step_locked(a, t, o, &m);
	if (st < 0)
		note_error(a, st);
	else
		a->last_error = EDS_OK, a->last_error_text[0] = '\0';
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (moved)
		*moved = m;
	return st;
}

/* Sleep on the agent's condition variable (woken by stop or new records). */
static void wait_locked(eds_agent *a, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&a->wake, &a->lock, &ts);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Backoff: wait d ms even if new records wake the condition variable. */
static void backoff_locked(eds_agent *a, unsigned d)
{
	uint64_t end = mono_ms() + d;
	for (uint64_t now = mono_ms(); !a->stop && now < end; now = mono_ms())
		wait_locked(a, (unsigned)(end - now));
}

static void *forward_main(void *arg)
{
	eds_agent *a = arg;
	unsigned delay = 0;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)a;
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		pthread_mutex_unlock(&a->lock);
		eds_status st = eds_agent_forward_once(a, &a->transport, &a->fwd, NULL);
		pthread_mutex_lock(&a->lock);
		if (a->stop)
			break;
		if (st == EDS_OK) {
			delay = 0;
		} else if (st == EDS_DONE) {
			delay = 0;
			wait_locked(a, a->fwd.idle_ms);
		} else {
			/* Exponential backoff with jitter (50..100 %) so a fleet does not
			 * hammer a recovering server in lockstep. */
			delay = delay ? delay * 2 : a->fwd.backoff_min_ms;
			if (delay > a->fwd.backoff_max_ms)
				delay = a->fwd.backoff_max_ms;
			backoff_locked(a, delay / 2 + (unsigned)rand_r(&seed) % (delay / 2 + 1));
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

eds_status eds_agent_forward_start(eds_agent *a, eds_transport *t, const eds_forward_options *o)
{
	if (!a || !t || !t->ops || !o)
		return eds_fail(EDS_E_ARG, "eds_agent_forward_start: NULL argument");
	eds_status st = check_forward(o);
	if (st != EDS_OK)
		return st;
	pthread_mutex_lock(&a->lock);
	if (a->running) {
		pthread_mutex_unlock(&a->lock);
		return eds_fail(EDS_E_EXISTS, "agent: forwarder already running");
	}
	a->transport = *t;
	a->fwd = *o;
	a->stop = false;
	int rc = pthread_create(&a->thread, NULL, forward_main, a);
	if (rc == 0) {
		a->running = true;
		t->ops = NULL;
		t->ctx = NULL;
	} else {
		memset(&a->transport, 0, sizeof a->transport);
	}
	pthread_mutex_unlock(&a->lock);
	return rc == 0 ? EDS_OK
	               : eds_fail(EDS_E_INTERNAL, "agent: cannot start thread: %s", strerror(rc));
}

void eds_agent_forward_stop(eds_agent *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	if (!a->running) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	a->stop = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	pthread_mutex_lock(&a->lock);
	a->running = false;
	pthread_mutex_unlock(&a->lock);
	eds_transport_close(&a->transport);
}

eds_status eds_agent_flush(eds_agent *a, unsigned timeout_ms)
{
	if (!a)
		return eds_fail(EDS_E_ARG, "eds_agent_flush: NULL argument");
	uint64_t t0 = mono_ms();
	pthread_mutex_lock(&a->lock);
	for (;;) {
		agent_stats qs;
		eds_status st = a->store.ops->stats(a->store.s, &qs);
		if (st != EDS_OK || qs.records == 0) {
			pthread_mutex_unlock(&a->lock);
			return st;
		}
		if (mono_ms() - t0 >= timeout_ms) {
			pthread_mutex_unlock(&a->lock);
			return eds_fail(EDS_E_IO,
			                "agent flush: %" PRIu64 " records still queued after %u ms",
			                qs.records, timeout_ms);
		}
		wait_locked(a, 50);
	}
}
