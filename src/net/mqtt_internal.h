/*
 * mqtt_internal.h - pieces shared by the MQTT subscriber, the MQTT
 * transport and the fuzz target; not installed.
 */
#ifndef EDS_NET_MQTT_INTERNAL_H
#define EDS_NET_MQTT_INTERNAL_H

#include <mosquitto.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ingest.h"
#include "edgesentry/mqtt.h"
#include "edgesentry/record.h"

#define EDS_MQTT_RECORDS   "edgesentry/v1/records/"
#define EDS_MQTT_RESPONSES "edgesentry/v1/responses/"
/* Longest topic we build: prefix + device id. */
#define EDS_MQTT_TOPIC_MAX (sizeof EDS_MQTT_RESPONSES + EDS_DEVICE_ID_MAX)

/**
 * The device id of a topic "PREFIX{device_id}" into out (EDS_DEVICE_ID_MAX
 * + 1 bytes): 0, or -1 when the topic has another prefix or the id is not
 * a valid device id (FORMAT.md 1.1).
 */
int eds_mqtt_topic_device(const char *topic, const char *prefix, char out[EDS_DEVICE_ID_MAX + 1]);

/** The answer of FORMAT.md 5: the response body plus "sequence" (malloc'd, or NULL). */
char *eds_mqtt_answer(const eds_ingest_result *res, uint64_t sequence);

/**
 * A new libmosquitto client for broker b (TLS 1.2+ with host name check
 * when b->cafile is set; user name and password when given), with the
 * host and port split out of b->address.  clean: a clean session.
 * Errors: EDS_E_ARG, EDS_E_KEY, EDS_E_NOMEM.
 */
eds_status eds_mqtt_client_new(struct mosquitto **out, const eds_mqtt_broker *b,
                               const char *default_id, int clean, void *userdata, char *host,
                               size_t hostcap, int *port);

/** Backoff delay in ms: 50..100 % of d (jitter spreads reconnecting clients). */
unsigned eds_mqtt_jitter(unsigned d);

/** The single-record body {"record": ..., "payload": base64} (malloc'd, or NULL). */
char *eds_mqtt_item_json(const eds_record *r, const uint8_t *payload, size_t len);

/** A stable hash of a device id (spreads devices over workers). */
uint32_t eds_mqtt_hash(const char *s);

/** One line naming a libmosquitto error code. */
const char *eds_mqtt_strerror(int rc);

/* The broker address HOST:PORT is one eds_mqtt_client_new takes (checked
 * before a server opens its ledger); EDS_E_ARG naming it otherwise. */
eds_status eds_mqtt_check_address(const char *address);

#endif
