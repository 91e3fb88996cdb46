/*
 * mqtt_server.c - FORMAT.md section 5: the ingest API over MQTT.
 *
 * One network thread runs libmosquitto's loop (connect, reconnect with
 * exponential backoff and jitter, persistent session); its message callback
 * only copies the message onto the queue of a worker chosen by device id,
 * so one device's records stay in order while different devices are parsed
 * and verified in parallel.  A worker takes everything queued (up to a
 * batch), parses it with the same code as the HTTP server, submits the good
 * records in one eds_ingest_submit (which returns after the group commit),
 * and only then publishes the answers.
 *
 * libmosquitto 2.0 sends PUBACK for a QoS 1 message before it calls the
 * message callback, so the broker forgets a message before it is durable
 * here; a crash in between loses it from the broker, and the device, which
 * has no answer for it, sends it again (docs/server.md, "MQTT").  The
 * in-flight limit bounds messages taken but not yet answered: when it is
 * reached the callback waits, the loop stops reading, and TCP pushes back
 * on the broker, which keeps the rest in our session.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../ingest/ratelimit.h"
#include "edgesentry/mqtt.h"
#include "ingest_body.h"
#include "internal.h"
#include "mqtt_internal.h"

#define WORK_BATCH 256 /* messages a worker submits at once */

typedef struct msg {
	struct msg *next;
	char device[EDS_DEVICE_ID_MAX + 1];
	int too_large;
	size_t len;
	char data[];
} msg;

typedef struct worker {
	struct eds_mqtt_server *s;
	pthread_t thread;
	int started;
	msg *head, *tail;
	pthread_cond_t wake;
} worker;

struct eds_mqtt_server {
	eds_ingest *svc;
	eds_mqtt_server_options o;
	struct mosquitto *m;
	char host[256];
	int port;
	char source[EDS_SOURCE_MAX];
	pthread_t net;
	int net_started;
	pthread_mutex_t lock;
	pthread_cond_t room;
	size_t queued; /* taken from the broker, not yet answered */
	worker *w;
	eds_ratelimit *device_rl; /* --device-rate; NULL: none */
	/* closing: stop asked; quiesced: the loop reads no more; done: workers finished */
	int closing, quiesced, done, connected;
	unsigned backoff_ms;
};

/* ---- events ---------------------------------------------------------------- */

static void event(eds_mqtt_server *s, const char *name, const char *detail)
{
	if (s->o.log == NULL)
		return;
	json_t *o = json_pack("{s:s, s:s, s:s}", "event", name, "broker", s->o.broker.address,
	                      "detail", detail ? detail : "");
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line != NULL)
		fprintf(s->o.log, "%s\n", line);
	fflush(s->o.log);
	free(line);
}

static int get_flag(eds_mqtt_server *s, const int *flag)
{
	pthread_mutex_lock(&s->lock);
	int v = *flag;
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void set_flag(eds_mqtt_server *s, int *flag, int v)
{
	pthread_mutex_lock(&s->lock);
	*flag = v;
	for (unsigned i = 0; s->w != NULL && i < s->o.workers; i++)
		pthread_cond_signal(&s->w[i].wake);
	pthread_mutex_unlock(&s->lock);
}

/* ---- answers ----------------------------------------------------------------- */

static void answer(eds_mqtt_server *s, const char *device, const eds_ingest_result *res,
                   uint64_t sequence)
{
	char topic[EDS_MQTT_TOPIC_MAX];
	snprintf(topic, sizeof topic, "%s%s", EDS_MQTT_RESPONSES, device);
	char *text = eds_mqtt_answer(res, sequence);
	int rc = text ? mosquitto_publish(s->m, NULL, topic, (int)strlen(text), text, 1, false)
	              : MOSQ_ERR_NOMEM;
	/* Without a connection the answer is lost; the device sends the record again. */
	if (rc != MOSQ_ERR_SUCCESS)
		event(s, "mqtt_answer_lost", eds_mqtt_strerror(rc));
	free(text);
}

/* Outcomes decided before the gate: size and topic/record identity. */
static void precheck(eds_http_batch *b, size_t i, const msg *q)
{
	eds_ingest_result *res = &b->results[i];
	if (q->too_large) {
		res->outcome = EDS_INGEST_TOO_LARGE;
		snprintf(res->message, sizeof res->message, "The message is over the size limit.");
		return;
	}
	eds_body_parse_item(q->data, q->len, b, i);
	if (res->outcome == EDS_INGEST_ACCEPTED &&
	    strcmp(b->items[i].record.device_id, q->device) != 0) {
		res->outcome = EDS_INGEST_IDENTITY;
		snprintf(res->message, sizeof res->message,
		         "The record's device_id is not the topic's device %.64s.", q->device);
	}
}

/* Parse, submit in order, answer: k messages from list. */
static void handle(eds_mqtt_server *s, msg *list, size_t k)
{
	eds_http_batch b;
	eds_ingest_context ctx = {.source = s->source};
	int ok = eds_body_alloc(&b, k) == EDS_OK;
	size_t i = 0;
	for (msg *q = list; ok && q != NULL; q = q->next, i++) {
		precheck(&b, i, q);
		eds_body_rate_limit(s->device_rl, &b, i); /* as over HTTP */
	}
	if (ok && eds_http_submit(s->svc, &ctx, &b) != EDS_OK)
		for (i = 0; i < k; i++)
			if (b.results[i].outcome == EDS_INGEST_ACCEPTED) {
				b.results[i].outcome = EDS_INGEST_STORAGE;
				snprintf(b.results[i].message, sizeof b.results[i].message,
				         "The server is shutting down.");
			}
	i = 0;
	for (msg *q = list; ok && q != NULL; q = q->next, i++) {
		eds_ingest_outcome o = b.results[i].outcome;
		int known = o != EDS_INGEST_MALFORMED && o != EDS_INGEST_TOO_LARGE;
		answer(s, q->device, &b.results[i], known ? b.items[i].record.sequence : 0);
	}
	if (!ok)
		event(s, "mqtt_out_of_memory", "messages dropped unanswered");
	eds_http_batch_free(&b);
}

/* ---- workers ------------------------------------------------------------------ */

/* Up to WORK_BATCH messages off w's queue (NULL once quiesced and empty); lock held. */
static msg *take(worker *w, size_t *k)
{
	eds_mqtt_server *s = w->s;
	while (w->head == NULL && !s->quiesced)
		pthread_cond_wait(&w->wake, &s->lock);
	msg *list = w->head, *last = NULL;
	*k = 0;
	for (msg *q = list; q != NULL && *k < WORK_BATCH; q = q->next, ++*k)
		last = q;
	if (last != NULL) {
		w->head = last->next;
		if (w->head == NULL)
			w->tail = NULL;
		last->next = NULL;
	}
	return list;
}

static void *work(void *arg)
{
	worker *w = arg;
	eds_mqtt_server *s = w->s;
	for (;;) {
		size_t k;
		pthread_mutex_lock(&s->lock);
		msg *list = take(w, &k);
		pthread_mutex_unlock(&s->lock);
		if (list == NULL)
			return NULL;
		handle(s, list, k);
		while (list != NULL) {
			msg *next = list->next;
			free(list);
			list = next;
		}
		pthread_mutex_lock(&s->lock);
		s->queued -= k;
		pthread_cond_broadcast(&s->room);
		pthread_mutex_unlock(&s->lock);
	}
}

/* ---- libmosquitto callbacks (network thread) ------------------------------------ */

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *mm)
{
	(void)m;
	eds_mqtt_server *s = ud;
	char dev[EDS_DEVICE_ID_MAX + 1];
	if (eds_mqtt_topic_device(mm->topic, EDS_MQTT_RECORDS, dev) != 0) {
		event(s, "mqtt_bad_topic", "a message on a topic without a valid device id");
		return;
	}
	size_t len = mm->payloadlen > 0 ? (size_t)mm->payloadlen : 0;
	int big = len > s->o.max_body;
	msg *q = malloc(sizeof *q + (big ? 0 : len) + 1);
	if (q == NULL) {
		event(s, "mqtt_out_of_memory", dev);
		return;
	}
	memset(q, 0, sizeof *q);
	memcpy(q->device, dev, sizeof dev);
	q->too_large = big;
	q->len = big ? 0 : len;
	if (!big && len > 0)
		memcpy(q->data, mm->payload, len);
	q->data[q->len] = '\0';
	worker *w = &s->w[eds_mqtt_hash(dev) % s->o.workers];
	pthread_mutex_lock(&s->lock);
	while (s->queued >= s->o.max_inflight)
		pthread_cond_wait(&s->room, &s->lock);
	s->queued++;
	if (w->tail != NULL)
		w->tail->next = q;
	else
		w->head = q;
	w->tail = q;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&s->lock);
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	eds_mqtt_server *s = ud;
	if (rc != 0) {
		event(s, "mqtt_refused", mosquitto_connack_string(rc));
		return;
	}
	/* The persistent session keeps the subscription; subscribing again is harmless. */
	int src = mosquitto_subscribe(m, NULL, EDS_MQTT_RECORDS "+", 1);
	s->backoff_ms = s->o.backoff_min_ms;
	if (src != MOSQ_ERR_SUCCESS)
		event(s, "mqtt_subscribe_failed", eds_mqtt_strerror(src));
}

/* "Connected" once the broker confirms the subscription: from then on nothing is missed. */
static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
	(void)m;
	(void)mid;
	eds_mqtt_server *s = ud;
	int ok = n == 1 && granted[0] == 1;
	set_flag(s, &s->connected, ok);
	event(s, ok ? "mqtt_connected" : "mqtt_subscribe_failed",
	      ok ? "subscribed at QoS 1" : "the broker refused the subscription");
}

/* ---- network thread ----------------------------------------------------------- */

/* Sleep ms, waking early when a stop is asked. */
static void nap(eds_mqtt_server *s, unsigned ms)
{
	for (unsigned t = 0; t < ms && !get_flag(s, &s->closing); t += 10)
		usleep(10000);
}

static void backoff(eds_mqtt_server *s, const char *what, int rc)
{
	set_flag(s, &s->connected, 0);
	event(s, what, eds_mqtt_strerror(rc));
	nap(s, eds_mqtt_jitter(s->backoff_ms));
	s->backoff_ms =
	    s->backoff_ms >= s->o.backoff_max_ms / 2 ? s->o.backoff_max_ms : s->backoff_ms * 2;
}

/* Answers already queued still go out (for at most 5 s once the workers are done: a
 * broker that stopped reading must not hang the stop); then a clean DISCONNECT (the
 * session stays). */
static void finish(eds_mqtt_server *s, int have_socket)
{
	unsigned after_done_ms = 0;
	set_flag(s, &s->quiesced, 1);
	while (have_socket &&
	       !(get_flag(s, &s->done) && (!mosquitto_want_write(s->m) || after_done_ms >= 5000))) {
		if (mosquitto_loop_write(s->m, 1) != MOSQ_ERR_SUCCESS)
			have_socket = 0;
		mosquitto_loop_misc(s->m);
		usleep(1000);
		after_done_ms += get_flag(s, &s->done) ? 1 : 0;
	}
	while (!get_flag(s, &s->done))
		usleep(1000);
	if (have_socket) {
		mosquitto_disconnect(s->m);
		mosquitto_loop_write(s->m, 1);
	}
}

static void *net_main(void *arg)
{
	eds_mqtt_server *s = arg;
	int have_socket = 0, first = 1;
	unsigned keepalive = s->o.broker.keepalive_s ? s->o.broker.keepalive_s : 30;
	while (!get_flag(s, &s->closing)) {
		int rc;
		if (!have_socket) {
			rc = first ? mosquitto_connect(s->m, s->host, s->port, (int)keepalive)
			           : mosquitto_reconnect(s->m);
			if (rc != MOSQ_ERR_SUCCESS) {
				backoff(s, "mqtt_connect_failed", rc);
				continue;
			}
			have_socket = 1;
			first = 0;
		}
		rc = mosquitto_loop(s->m, 100, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			have_socket = 0;
			backoff(s, "mqtt_disconnected", rc);
		}
	}
	finish(s, have_socket);
	return NULL;
}

/* ---- start / stop -------------------------------------------------------------- */

static void set_defaults(eds_mqtt_server_options *o)
{
	o->max_body = o->max_body ? o->max_body : 1u << 20;
	o->workers = o->workers ? o->workers : 4;
	o->max_inflight = o->max_inflight ? o->max_inflight : 1024;
	o->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : 250;
	o->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 30000;
	if (o->backoff_max_ms < o->backoff_min_ms)
		o->backoff_max_ms = o->backoff_min_ms;
}

static void free_server(eds_mqtt_server *s)
{
	for (unsigned i = 0; s->w != NULL && i < s->o.workers; i++)
		pthread_cond_destroy(&s->w[i].wake);
	free(s->w);
	eds_ratelimit_free(s->device_rl);
	if (s->m != NULL)
		mosquitto_destroy(s->m);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->room);
	free(s);
}

static eds_status start_threads(eds_mqtt_server *s)
{
	s->w = calloc(s->o.workers, sizeof *s->w);
	if (s->w == NULL)
		return eds_fail(EDS_E_NOMEM, "MQTT: out of memory");
	for (unsigned i = 0; i < s->o.workers; i++) {
		s->w[i].s = s;
		pthread_cond_init(&s->w[i].wake, NULL);
	}
	for (unsigned i = 0; i < s->o.workers; i++)
		if (pthread_create(&s->w[i].thread, NULL, work, &s->w[i]) != 0)
			return eds_fail(EDS_E_NOMEM, "MQTT: cannot start a worker thread");
		else
			s->w[i].started = 1;
	if (pthread_create(&s->net, NULL, net_main, s) != 0)
		return eds_fail(EDS_E_NOMEM, "MQTT: cannot start the network thread");
	s->net_started = 1;
	return EDS_OK;
}

eds_status eds_mqtt_server_start(eds_mqtt_server **out, eds_ingest *svc,
                                 const eds_mqtt_server_options *o)
{
	if (out == NULL || svc == NULL || o == NULL)
		return eds_fail(EDS_E_ARG, "MQTT server: NULL argument");
	if (o->workers > 64 || o->max_inflight > 1000000)
		return eds_fail(EDS_E_ARG, "MQTT server: workers 1..64, in-flight 1..1000000");
	eds_mqtt_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return eds_fail(EDS_E_NOMEM, "MQTT: out of memory");
	s->svc = svc;
	s->o = *o;
	set_defaults(&s->o);
	s->backoff_ms = s->o.backoff_min_ms;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->room, NULL);
	snprintf(s->source, sizeof s->source, "mqtt:%s",
	         o->broker.address ? o->broker.address : "");
	eds_status st = eds_mqtt_client_new(&s->m, &o->broker, "edgesentry-server", 0, s, s->host,
	                                    sizeof s->host, &s->port);
	if (st == EDS_OK && o->device_rate > 0)
		st = eds_ratelimit_new(
		    &s->device_rl, o->device_rate,
		    o->device_burst > 0 ? o->device_burst : 2 * o->device_rate + 1, 1u << 20);
	if (st == EDS_OK) {
		mosquitto_threaded_set(s->m, true);
		mosquitto_connect_callback_set(s->m, on_connect);
		mosquitto_subscribe_callback_set(s->m, on_subscribe);
		mosquitto_message_callback_set(s->m, on_message);
		/* Answers not yet PUBACKed by the broker; beyond this they wait in libmosquitto. */
		mosquitto_max_inflight_messages_set(s->m, 1000);
		st = start_threads(s);
	}
	if (st != EDS_OK) {
		eds_mqtt_server_stop(s);
		return st;
	}
	*out = s;
	return EDS_OK;
}

int eds_mqtt_server_connected(eds_mqtt_server *m)
{
	return m != NULL && get_flag(m, &m->connected);
}

void eds_mqtt_server_stop(eds_mqtt_server *s)
{
	if (s == NULL)
		return;
	set_flag(s, &s->closing, 1);
	if (!s->net_started)
		set_flag(s, &s->quiesced, 1);
	for (unsigned i = 0; s->w != NULL && i < s->o.workers; i++)
		if (s->w[i].started)
			pthread_join(s->w[i].thread, NULL);
	set_flag(s, &s->done, 1);
	if (s->net_started)
		pthread_join(s->net, NULL);
	free_server(s);
}
