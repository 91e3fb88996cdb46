/*
 * cmd_push_mqtt.c - `eds push --mqtt HOST:PORT CHAIN`: publish a chain
 * file's records over MQTT and wait for each answer.  The broker user name
 * and password come from EDS_MQTT_USERNAME / EDS_MQTT_PASSWORD, never from
 * the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"
#include "edgesentry/mqtt.h"
#include "push_cli.h"
#include "push_mqtt.h"

static const char *const cmd = "push";

int push_mqtt_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--mqtt") == 0 || strncmp(argv[i], "--mqtt=", 7) == 0)
			return 1;
	return 0;
}

enum {
	F_MQTT,
	F_URL,
	F_PAYLOAD_DIR,
	F_BATCH,
	F_CACERT,
	F_MCA,
	F_MCERT,
	F_MKEY,
	F_ID,
	F_TIMEOUT,
	F_RETRIES,
	F_N
};

const char *const push_mqtt_flags[PUSH_MQTT_FLAGS] = {
    "--mqtt",      "--url",      "--payload-dir",    "--batch",      "--cacert", "--mqtt-cafile",
    "--mqtt-cert", "--mqtt-key", "--mqtt-client-id", "--timeout-ms", "--retries"};
_Static_assert(F_N == PUSH_MQTT_FLAGS, "one name per flag");

static int parse(push_cli *pc, int argc, char **argv, const char *v[F_N], const char **chain)
{
	const char **const slots[F_N] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	                                 &v[6], &v[7], &v[8], &v[9], &v[10]};
	int rc = push_cli_parse(pc, argc, argv, push_mqtt_flags, slots, F_N, chain);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (pc->put_payloads)
		return cli_usage(cmd, "--put-payloads goes with an HTTP push, not --mqtt");
	if (v[F_CACERT] != NULL && v[F_URL] == NULL)
		return cli_usage(cmd,
		                 "--cacert goes with --url (use --mqtt-cafile for the broker)");
	/* --cacert, --mqtt-cafile, --mqtt-cert, --mqtt-key */
	if ((rc = push_cli_check_url(v[F_URL])) != EDS_EXIT_OK ||
	    (rc = cli_check_files(cmd, push_mqtt_flags + F_CACERT, v + F_CACERT,
	                          F_MKEY - F_CACERT + 1)) != EDS_EXIT_OK)
		return rc;
	return push_cli_check_payload_dir(v[F_PAYLOAD_DIR]);
}

static void transport_options(eds_mqtt_transport_options *o, const char *broker, const char *cafile,
                              const char *cert, const char *key, const char *client_id,
                              const char *head_url, const char *head_cacert, unsigned timeout_ms)
{
	*o = (eds_mqtt_transport_options){.broker = {.address = broker,
	                                             .client_id = client_id,
	                                             .username = getenv("EDS_MQTT_USERNAME"),
	                                             .password = getenv("EDS_MQTT_PASSWORD"),
	                                             .cafile = cafile,
	                                             .certfile = cert,
	                                             .keyfile = key},
	                                  .head_url = head_url,
	                                  .head_cacert = head_cacert,
	                                  .timeout_ms = timeout_ms};
}

eds_status agent_mqtt_transport(eds_transport *t, const char *broker, const char *cafile,
                                const char *cert, const char *key, const char *client_id,
                                const char *head_url, const char *head_cacert, unsigned timeout_ms)
{
	eds_mqtt_transport_options o;
	transport_options(&o, broker, cafile, cert, key, client_id, head_url, head_cacert,
	                  timeout_ms);
	return eds_transport_mqtt(t, &o);
}

int cmd_push_mqtt(int argc, char **argv)
{
	const char *v[F_N] = {0}, *chain = NULL;
	push_cli pc = {.mqtt = true};
	int rc = parse(&pc, argc, argv, v, &chain);
	uint64_t batch = 100, timeout = 10000;
	if (rc)
		return rc;
	if (v[F_BATCH] != NULL && cli_u64(v[F_BATCH], 1, 1000, &batch) != 0)
		return cli_usage(cmd, "--batch must be 1..1000, not '%s'", v[F_BATCH]);
	if (v[F_TIMEOUT] != NULL && cli_u64(v[F_TIMEOUT], 1, 3600000, &timeout) != 0)
		return cli_usage(cmd, "--timeout-ms must be 1..3600000, not '%s'", v[F_TIMEOUT]);
	eds_mqtt_transport_options o;
	transport_options(&o, v[F_MQTT], v[F_MCA], v[F_MCERT], v[F_MKEY], v[F_ID], v[F_URL],
	                  v[F_CACERT], (unsigned)timeout);
	if ((rc = push_cli_retries(v[F_RETRIES], &o.retries)) != EDS_EXIT_OK)
		return rc;
	o.progress = push_cli_progress;
	o.progress_ctx = &pc;
	eds_push_summary s = {0};
	push_cli_begin(&pc, chain);
	eds_status st = eds_mqtt_push_chain(chain, &o, v[F_PAYLOAD_DIR], (size_t)batch, &s);
	return push_cli_report(&pc, chain, st, &s);
}
