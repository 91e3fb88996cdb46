/*
 * serve_mqtt.h - the MQTT part of `eds serve` (kept apart from cmd_serve.c).
 */
#ifndef EDS_CLI_SERVE_MQTT_H
#define EDS_CLI_SERVE_MQTT_H

#include "edgesentry/http_server.h"
#include "edgesentry/ingest.h"
#include "edgesentry/mqtt.h"

/* The MQTT options of eds serve, in this order in its option table. */
enum serve_mqtt_opt {
	SM_BROKER,
	SM_CAFILE,
	SM_CERT,
	SM_KEY,
	SM_CLIENT_ID,
	SM_INFLIGHT,
	SM_USERNAME, /* config file or environment only */
	SM_PASSWORD, /* config file or environment only */
	SM_COUNT
};

/* Nonzero for options that must not be given on the command line. */
int serve_mqtt_config_only(int k);

/*
 * Check the MQTT options before anything starts: the --mqtt-* options need
 * --mqtt, the broker address, --mqtt-inflight's range, the client certificate needs the CA file,
 * and each TLS file can be read.  Returns an exit code (one error line
 * printed).
 */
int serve_mqtt_check(const char *const v[SM_COUNT]);

/*
 * Start the MQTT subscriber when v[SM_BROKER] is set (else *out = NULL),
 * with the HTTP server's body limit as message limit (0: default), its
 * per-device rate limit and its log; v passed serve_mqtt_check.  Returns an
 * exit code (one error line printed).
 */
int serve_mqtt_start(const char *const v[SM_COUNT], eds_ingest *svc, const eds_server_options *srv,
                     eds_mqtt_server **out);

#endif
