/*
 * serve_mqtt.c - `eds serve --mqtt HOST:PORT`: the MQTT subscriber beside
 * the HTTP server.  The broker user name and password come from the config
 * file or the environment (EDS_MQTT_USERNAME, EDS_MQTT_PASSWORD, which win),
 * never from the command line, where every user of the machine can read them.
 */
#include <stdlib.h>

#include "cli.h"
#include "cli_flags.h"
#include "net/mqtt_internal.h"
#include "serve_mqtt.h"

int serve_mqtt_config_only(int k)
{
	return k == SM_USERNAME || k == SM_PASSWORD;
}

int serve_mqtt_check(const char *const v[SM_COUNT])
{
	static const char *const flags[] = {"--mqtt-cafile", "--mqtt-cert", "--mqtt-key"};
	if (v[SM_BROKER] == NULL) {
		for (int k = SM_CAFILE; k < SM_COUNT; k++)
			if (v[k] != NULL)
				return cli_usage("serve",
				                 "the --mqtt-* options need --mqtt HOST:PORT");
		return EDS_EXIT_OK;
	}
	if (eds_mqtt_check_address(v[SM_BROKER]) != EDS_OK)
		return cli_report("serve", EDS_E_ARG, "--mqtt");
	uint64_t inflight;
	if (v[SM_INFLIGHT] != NULL && cli_u64(v[SM_INFLIGHT], 1, 100000, &inflight) != 0)
		return cli_usage("serve", "--mqtt-inflight must be 1..100000, not '%s'",
		                 v[SM_INFLIGHT]);
	if ((v[SM_CERT] != NULL || v[SM_KEY] != NULL) && v[SM_CAFILE] == NULL)
		return cli_usage("serve", "--mqtt-cert and --mqtt-key need --mqtt-cafile");
	return cli_check_files("serve", flags, v + SM_CAFILE, SM_KEY - SM_CAFILE + 1);
}

int serve_mqtt_start(const char *const v[SM_COUNT], eds_ingest *svc, const eds_server_options *srv,
                     eds_mqtt_server **out)
{
	*out = NULL;
	if (v[SM_BROKER] == NULL)
		return EDS_EXIT_OK;
	uint64_t inflight = 1024;
	if (v[SM_INFLIGHT] != NULL)
		cli_u64(v[SM_INFLIGHT], 1, 100000, &inflight); /* checked by serve_mqtt_check */
	const char *user = getenv("EDS_MQTT_USERNAME"), *pass = getenv("EDS_MQTT_PASSWORD");
	eds_mqtt_server_options o = {.broker = {.address = v[SM_BROKER],
	                                        .client_id = v[SM_CLIENT_ID],
	                                        .username = user ? user : v[SM_USERNAME],
	                                        .password = pass ? pass : v[SM_PASSWORD],
	                                        .cafile = v[SM_CAFILE],
	                                        .certfile = v[SM_CERT],
	                                        .keyfile = v[SM_KEY]},
	                             .max_body = srv->max_body,
	                             .max_inflight = (unsigned)inflight,
	                             .log = srv->log,
	                             .device_rate = srv->device_rate,
	                             .device_burst = srv->device_burst};
	if (o.broker.password != NULL && o.broker.username == NULL)
		return cli_usage("serve", "an MQTT password needs a user name");
	eds_status st = eds_mqtt_server_start(out, svc, &o);
	return st == EDS_OK ? EDS_EXIT_OK : cli_report("serve", st, "--mqtt");
}
