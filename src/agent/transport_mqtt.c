/*
 * transport_mqtt.c - the agent's transport over MQTT (FORMAT.md 5): publish
 * each record at QoS 1 to edgesentry/v1/records/{device_id} and wait for
 * the server's answer on edgesentry/v1/responses/{device_id}.  The broker's
 * PUBACK only means the broker has the message; a record is stored when the
 * answer says "accepted" or "duplicate", which the server sends after its
 * commit.  One send publishes every item first, then waits for all the
 * answers, so the server can commit them together.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../net/mqtt_internal.h"
#include "edgesentry/mqtt.h"
#include "internal.h"

#define SUBS_MAX 64 /* devices a transport answers for (an agent has one) */

typedef struct mqtt_ctx {
	struct mosquitto *m;
	eds_mqtt_transport_options o;
	char host[256];
	int port, connected, suback_mid, subacked;
	eds_transport head; /* HTTP, for get_head; ops NULL without head_url */
	char subs[SUBS_MAX][EDS_DEVICE_ID_MAX + 1];
	size_t nsubs;
	/* the send in progress */
	const eds_transport_item *items;
	eds_transport_result *res;
	unsigned char *answered;
	size_t n, left;
} mqtt_ctx;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Item an answer belongs to: same device and sequence, or (sequence 0: the
 * server could not read the record) the first unanswered one of the device. */
static long match(const mqtt_ctx *c, const char *dev, uint64_t seq)
{
	for (size_t i = 0; i < c->n; i++) {
		const eds_record *r = c->items[i].record;
		if (!c->answered[i] && strcmp(r->device_id, dev) == 0 &&
		    (r->sequence == seq || seq == 0))
			return (long)i;
	}
	return -1;
}

static void classify(eds_transport_result *res, const char *status, const char *error)
{
	snprintf(res->error, sizeof res->error, "%s", error ? error : "");
	if (status && (strcmp(status, "accepted") == 0 || strcmp(status, "duplicate") == 0))
		res->delivery = EDS_DELIVERY_STORED;
	else if (!error || strcmp(error, "storage_unavailable") == 0 ||
	         strcmp(error, "rate_limited") == 0)
		res->delivery = EDS_DELIVERY_NOT_STORED;
	else
		res->delivery = EDS_DELIVERY_REFUSED;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *mm)
{
	(void)m;
	mqtt_ctx *c = ud;
	char dev[EDS_DEVICE_ID_MAX + 1];
	if (c->left == 0 || eds_mqtt_topic_device(mm->topic, EDS_MQTT_RESPONSES, dev) != 0 ||
	    mm->payloadlen <= 0 || mm->payloadlen > 65536)
		return;
	json_t *j = json_loadb(mm->payload, (size_t)mm->payloadlen, 0, NULL);
	json_t *seq = json_object_get(j, "sequence");
	long i = json_is_integer(seq) && json_integer_value(seq) >= 0
	             ? match(c, dev, (uint64_t)json_integer_value(seq))
	             : -1;
	if (i >= 0) {
		classify(&c->res[i], json_string_value(json_object_get(j, "status")),
		         json_string_value(json_object_get(j, "error")));
		c->answered[i] = 1;
		c->left--;
	}
	json_decref(j);
}

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
	(void)m;
	mqtt_ctx *c = ud;
	c->connected = rc == 0 ? 1 : -1;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
	(void)m;
	mqtt_ctx *c = ud;
	if (mid == c->suback_mid)
		c->subacked = n == 1 && granted[0] <= 2 ? 1 : -1;
}

/* Run the network loop until *flag becomes nonzero or the deadline passes. */
static eds_status loop_until(mqtt_ctx *c, const int *flag, uint64_t deadline, const char *what)
{
	while (*flag == 0 && now_ms() < deadline) {
		int rc = mosquitto_loop(c->m, 50, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			c->connected = 0;
			return eds_fail(EDS_E_IO, "MQTT %s: %s", what, eds_mqtt_strerror(rc));
		}
	}
	if (*flag <= 0)
		return eds_fail(EDS_E_IO, "MQTT %s: %s", what, *flag ? "refused" : "timed out");
	return EDS_OK;
}

static eds_status ensure_connected(mqtt_ctx *c, uint64_t deadline)
{
	if (c->connected == 1)
		return EDS_OK;
	c->connected = 0;
	c->nsubs = 0; /* a clean session: subscriptions are gone */
	int rc = mosquitto_connect(c->m, c->host, c->port,
	                           (int)(c->o.broker.keepalive_s ? c->o.broker.keepalive_s : 30));
	if (rc != MOSQ_ERR_SUCCESS)
		return eds_fail(EDS_E_IO, "MQTT broker %s:%d: %s", c->host, c->port,
		                eds_mqtt_strerror(rc));
	return loop_until(c, &c->connected, deadline, "connect");
}

/* Subscribe to a device's answers before publishing its first record. */
static eds_status ensure_subscribed(mqtt_ctx *c, const char *dev, uint64_t deadline)
{
	for (size_t i = 0; i < c->nsubs; i++)
		if (strcmp(c->subs[i], dev) == 0)
			return EDS_OK;
	if (c->nsubs == SUBS_MAX)
		return eds_fail(EDS_E_LIMIT, "MQTT: more than %d devices in one push", SUBS_MAX);
	char topic[EDS_MQTT_TOPIC_MAX];
	snprintf(topic, sizeof topic, "%s%s", EDS_MQTT_RESPONSES, dev);
	c->subacked = 0;
	int rc = mosquitto_subscribe(c->m, &c->suback_mid, topic, 1);
	if (rc != MOSQ_ERR_SUCCESS)
		return eds_fail(EDS_E_IO, "MQTT subscribe: %s", eds_mqtt_strerror(rc));
	eds_status st = loop_until(c, &c->subacked, deadline, "subscribe");
	if (st == EDS_OK)
		snprintf(c->subs[c->nsubs++], sizeof c->subs[0], "%s", dev);
	return st;
}

static eds_status publish(mqtt_ctx *c, const eds_transport_item *it, uint64_t deadline)
{
	eds_status st = ensure_subscribed(c, it->record->device_id, deadline);
	char *body =
	    st == EDS_OK ? eds_mqtt_item_json(it->record, it->payload, it->payload_len) : NULL;
	if (st == EDS_OK && body == NULL)
		st = eds_fail(EDS_E_NOMEM, "MQTT: out of memory");
	char topic[EDS_MQTT_TOPIC_MAX];
	snprintf(topic, sizeof topic, "%s%s", EDS_MQTT_RECORDS, it->record->device_id);
	int rc = st == EDS_OK
	             ? mosquitto_publish(c->m, NULL, topic, (int)strlen(body), body, 1, false)
	             : MOSQ_ERR_SUCCESS;
	free(body);
	if (rc != MOSQ_ERR_SUCCESS)
		st = eds_fail(EDS_E_IO, "MQTT publish: %s", eds_mqtt_strerror(rc));
	return st;
}

static eds_status mqtt_send(void *ctx, const eds_transport_item *items, size_t n,
                            eds_transport_result *res)
{
	mqtt_ctx *c = ctx;
	uint64_t deadline = now_ms() + c->o.timeout_ms;
	for (size_t i = 0; i < n; i++)
		classify(&res[i], NULL, "no answer");
	c->answered = calloc(n ? n : 1, 1);
	if (c->answered == NULL)
		return eds_fail(EDS_E_NOMEM, "MQTT: out of memory");
	c->items = items;
	c->res = res;
	c->n = c->left = n;
	eds_status st = ensure_connected(c, deadline);
	for (size_t i = 0; st == EDS_OK && i < n; i++)
		st = publish(c, &items[i], deadline);
	while (st == EDS_OK && c->left > 0) {
		if (now_ms() >= deadline) {
			st = eds_fail(EDS_E_IO, "MQTT: no answer for %zu of %zu records in %u ms",
			              c->left, n, c->o.timeout_ms);
			break;
		}
		int rc = mosquitto_loop(c->m, 50, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			c->connected = 0;
			st = eds_fail(EDS_E_IO, "MQTT answer: %s", eds_mqtt_strerror(rc));
		}
	}
	free(c->answered);
	c->answered = NULL;
	c->n = c->left = 0;
	return st;
}

static eds_status mqtt_get_head(void *ctx, const char *device_id, uint64_t *sequence,
                                uint8_t hash[EDS_HASH_LEN])
{
	mqtt_ctx *c = ctx;
	if (c->head.ops != NULL)
		return c->head.ops->get_head(c->head.ctx, device_id, sequence, hash);
	*sequence = 0;
	memset(hash, 0, EDS_HASH_LEN);
	return EDS_OK;
}

static eds_status mqtt_put_payload(void *ctx, const uint8_t hash[EDS_HASH_LEN],
                                   const uint8_t *payload, size_t len)
{
	(void)ctx;
	(void)hash;
	(void)payload;
	(void)len;
	return eds_fail(EDS_E_ARG, "MQTT: payloads travel with their records (no headers-first)");
}

static void mqtt_destroy(void *ctx)
{
	mqtt_ctx *c = ctx;
	if (c->m != NULL) {
		if (c->connected == 1) {
			mosquitto_disconnect(c->m);
			mosquitto_loop(c->m, 10, 1);
		}
		mosquitto_destroy(c->m);
	}
	eds_transport_close(&c->head);
	free(c);
}

static const eds_transport_ops mqtt_ops = {mqtt_get_head, mqtt_send, mqtt_put_payload,
                                           mqtt_destroy};

eds_status eds_transport_mqtt(eds_transport *out, const eds_mqtt_transport_options *o)
{
	if (out == NULL || o == NULL)
		return eds_fail(EDS_E_ARG, "eds_transport_mqtt: NULL argument");
	mqtt_ctx *c = calloc(1, sizeof *c);
	if (c == NULL)
		return eds_fail(EDS_E_NOMEM, "MQTT transport: out of memory");
	c->o = *o;
	c->o.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
	eds_status st =
	    eds_mqtt_client_new(&c->m, &o->broker, NULL, 1, c, c->host, sizeof c->host, &c->port);
	if (st == EDS_OK && o->head_url != NULL) {
		eds_http_transport_options h = {.url = o->head_url, .cacert = o->head_cacert};
		st = eds_transport_http(&c->head, &h);
	}
	if (st != EDS_OK) {
		mqtt_destroy(c);
		return st;
	}
	mosquitto_connect_callback_set(c->m, on_connect);
	mosquitto_subscribe_callback_set(c->m, on_subscribe);
	mosquitto_message_callback_set(c->m, on_message);
	mosquitto_max_inflight_messages_set(c->m, 0); /* 0: no limit; the send is bounded */
	out->ops = &mqtt_ops;
	out->ctx = c;
	return EDS_OK;
}
