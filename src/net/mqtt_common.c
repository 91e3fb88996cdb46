/*
 * mqtt_common.c - topic names, answers and client setup shared by the MQTT
 * subscriber (mqtt_server.c) and the MQTT transport of devices.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/record.h"
#include "ingest_body.h"
#include "internal.h"
#include "mqtt_internal.h"

int eds_mqtt_topic_device(const char *topic, const char *prefix, char out[EDS_DEVICE_ID_MAX + 1])
{
	size_t n = strlen(prefix);
	if (topic == NULL || strncmp(topic, prefix, n) != 0)
		return -1;
	const char *id = topic + n;
	size_t len = strnlen(id, EDS_DEVICE_ID_MAX + 1);
	if (len > EDS_DEVICE_ID_MAX || eds_device_id_check(id, len) != EDS_OK)
		return -1;
	memcpy(out, id, len + 1);
	return 0;
}

char *eds_mqtt_answer(const eds_ingest_result *res, uint64_t sequence)
{
	json_t *o = eds_http_result_json(res);
	if (o == NULL || json_object_set_new(o, "sequence", json_integer((json_int_t)sequence)))
		return json_decref(o), NULL;
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	/* Never cleaned up: other clients in the process may still use the library. */
	mosquitto_lib_init();
}

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static eds_status split_address(const char *a, char *host, size_t cap, int *port)
{
	const char *colon = a ? strrchr(a, ':') : NULL;
	uint64_t p = 0;
	const char *h = a;
	size_t hlen = colon ? (size_t)(colon - a) : 0;
	if (colon != NULL && a[0] == '[' && hlen >= 2 && colon[-1] == ']') {
		h = a + 1;
		hlen -= 2;
	}
	char *end = NULL;
	if (colon != NULL)
		p = strtoull(colon + 1, &end, 10);
	if (colon == NULL || hlen == 0 || hlen >= cap || end == colon + 1 || *end != '\0' ||
	    p == 0 || p > 65535)
		return eds_fail(EDS_E_ARG, "MQTT broker address '%.80s': want HOST:PORT",
		                a ? a : "");
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)p;
	return EDS_OK;
}

eds_status eds_mqtt_check_address(const char *address)
{
	char host[256]; /* as the server and the transports hold it */
	int port;
	return split_address(address, host, sizeof host, &port);
}

static eds_status set_tls(struct mosquitto *m, const eds_mqtt_broker *b)
{
	if (b->cafile == NULL)
		return b->certfile || b->keyfile
		           ? eds_fail(EDS_E_ARG, "MQTT: a client certificate needs the CA file")
		           : EDS_OK;
	if ((b->certfile == NULL) != (b->keyfile == NULL))
		return eds_fail(EDS_E_ARG, "MQTT: the client certificate and key go together");
	int rc = mosquitto_tls_set(m, b->cafile, NULL, b->certfile, b->keyfile, NULL);
	/* SSL_VERIFY_PEER (1); "tlsv1.2" lets libmosquitto negotiate TLS 1.2 or 1.3 only. */
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_opts_set(m, 1, "tlsv1.2", NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_insecure_set(m, false);
	if (rc != MOSQ_ERR_SUCCESS)
		return eds_fail(EDS_E_KEY, "MQTT TLS files (%s, %s, %s): %s", b->cafile,
		                b->certfile ? b->certfile : "no certificate",
		                b->keyfile ? b->keyfile : "no key", eds_mqtt_strerror(rc));
	return EDS_OK;
}

eds_status eds_mqtt_client_new(struct mosquitto **out, const eds_mqtt_broker *b,
                               const char *default_id, int clean, void *userdata, char *host,
                               size_t hostcap, int *port)
{
	char rid[40];
	eds_status st = split_address(b->address, host, hostcap, port);
	if (st != EDS_OK)
		return st;
	pthread_once(&lib_once, lib_init);
	const char *id = b->client_id ? b->client_id : default_id;
	if (id == NULL) {
		snprintf(rid, sizeof rid, "eds-%08x%08x", randombytes_random(),
		         randombytes_random());
		id = rid;
	}
	if (strlen(id) == 0 || strlen(id) > 128)
		return eds_fail(EDS_E_ARG, "MQTT client id: want 1..128 characters");
	struct mosquitto *m = mosquitto_new(id, clean != 0, userdata);
	if (m == NULL)
		return eds_fail(EDS_E_NOMEM, "MQTT: cannot create a client");
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* Records and answers are small QoS 1 messages written one by one; with
	 * Nagle's algorithm each waited for the peer's delayed ACK (~40 ms), which
	 * held `eds push --mqtt` at a third of its speed (docs/performance.md). */
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	st = set_tls(m, b);
	if (st == EDS_OK && b->username != NULL &&
	    mosquitto_username_pw_set(m, b->username, b->password) != MOSQ_ERR_SUCCESS)
		st = eds_fail(EDS_E_ARG, "MQTT: bad user name or password");
	if (st != EDS_OK) {
		mosquitto_destroy(m);
		return st;
	}
	*out = m;
	return EDS_OK;
}

unsigned eds_mqtt_jitter(unsigned d)
{
	return d / 2 + (d / 2 > 0 ? randombytes_uniform(d / 2 + 1) : 0);
}

const char *eds_mqtt_strerror(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

uint32_t eds_mqtt_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

char *eds_mqtt_item_json(const eds_record *r, const uint8_t *payload, size_t len)
{
	char rec[EDS_RECORD_JSON_MAX];
	if (eds_record_to_json(r, rec, sizeof rec, NULL) != EDS_OK)
		return NULL;
	size_t b64 = payload ? sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL) : 0;
	size_t cap = strlen(rec) + b64 + 32;
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	int n = snprintf(out, cap, "{\"record\":%s", rec);
	if (payload != NULL) {
		n += snprintf(out + n, cap - (size_t)n, ",\"payload\":\"");
		sodium_bin2base64(out + n, b64, payload, len, sodium_base64_VARIANT_ORIGINAL);
		n += (int)strlen(out + n);
		n += snprintf(out + n, cap - (size_t)n, "\"");
	}
	snprintf(out + n, cap - (size_t)n, "}");
	return out;
}
