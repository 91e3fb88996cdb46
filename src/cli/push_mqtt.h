/*
 * push_mqtt.h - `eds push --mqtt`: the MQTT variant of eds push.
 */
#ifndef EDS_CLI_PUSH_MQTT_H
#define EDS_CLI_PUSH_MQTT_H

/* Nonzero when the arguments ask for MQTT (--mqtt). */
int push_mqtt_wanted(int argc, char **argv);

int cmd_push_mqtt(int argc, char **argv);

#endif
