/*
 * push_mqtt.h - the MQTT side of `eds push` and `eds agent`.
 */
#ifndef EDS_CLI_PUSH_MQTT_H
#define EDS_CLI_PUSH_MQTT_H

#include "edgesentry/agent.h"

/* Nonzero when the arguments ask for MQTT (--mqtt). */
int push_mqtt_wanted(int argc, char **argv);

/* The value flags of `eds push --mqtt`, PUSH_MQTT_FLAGS of them. */
#define PUSH_MQTT_FLAGS 11
extern const char *const push_mqtt_flags[PUSH_MQTT_FLAGS];

int cmd_push_mqtt(int argc, char **argv);

/* The MQTT transport of eds agent (credentials from the environment). */
eds_status agent_mqtt_transport(eds_transport *t, const char *broker, const char *cafile,
                                const char *cert, const char *key, const char *client_id,
                                const char *head_url, const char *head_cacert, unsigned timeout_ms);

#endif
