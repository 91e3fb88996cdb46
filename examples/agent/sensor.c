/*
 * sensor.c - a sensor on the device agent (edgesentry/agent.h), in C.
 *
 *   sensor STATE_DIR KEY_FILE DEVICE_ID COUNT [URL]
 *
 * Signs COUNT readings as DEVICE_ID's next records into the crash-safe
 * chain and queue in STATE_DIR (each durable before the next reading) and
 * prints each signed record as one JSON line: the device's chain, which
 * `eds verify-chain` checks.  With URL it forwards the queue to that
 * ingest server and waits until the server confirmed every record.
 * Exit 0 on success, 1 on any error (one line on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edgesentry/edgesentry.h>

static int fail(const char *what, eds_status st)
{
	fprintf(stderr, "sensor: %s: %s\n", what,
	        eds_last_error()[0] ? eds_last_error() : eds_strerror(st));
	return 1;
}

/* Sign and queue count readings, printing each record's JSON. */
static int sample(eds_agent *agent, unsigned long count)
{
	static char json[EDS_RECORD_JSON_MAX];
	for (unsigned long i = 1; i <= count; i++) {
		char reading[64], ref[64];
		eds_record r;
		size_t len = 0;
		/* A made-up temperature; a real sensor reads its hardware here. */
		int n =
		    snprintf(reading, sizeof reading, "temperature_c=%lu.%lu", 20 + i % 7, i % 10);
		snprintf(ref, sizeof ref, "sensor/reading-%lu", i);
		eds_status st =
		    eds_agent_record(agent, (const uint8_t *)reading, (size_t)n, ref, &r);
		if (st != EDS_OK)
			return fail("record", st);
		if ((st = eds_record_to_json(&r, json, sizeof json, &len)) != EDS_OK)
			return fail("record json", st);
		printf("%.*s\n", (int)len, json);
	}
	return 0;
}

/* Forward the queue to url and wait (up to 30 s) until it is empty. */
static int forward(eds_agent *agent, const char *url)
{
	eds_http_transport_options ho = {url, 5000, NULL, NULL, NULL};
	eds_transport t = {0};
	eds_forward_options fo;
	eds_forward_options_init(&fo);
	eds_status st = eds_transport_http(&t, &ho);
	if (st != EDS_OK)
		return fail("transport", st);
	if ((st = eds_agent_forward_start(agent, &t, &fo)) != EDS_OK) {
		eds_transport_close(&t);
		return fail("forward", st);
	}
	if ((st = eds_agent_flush(agent, 30000)) != EDS_OK)
		return fail("flush", st);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: sensor STATE_DIR KEY_FILE DEVICE_ID COUNT [URL]\n");
		return 1;
	}
	char *end;
	unsigned long count = strtoul(argv[4], &end, 10);
	if (*end != '\0' || count == 0 || count > 100000) {
		fprintf(stderr, "sensor: COUNT must be 1..100000\n");
		return 1;
	}
	eds_signer signer = {0};
	eds_agent_options opts;
	eds_agent *agent = NULL;
	eds_status st = eds_init();
	if (st == EDS_OK)
		st = eds_signer_from_key_file(&signer, argv[2]);
	if (st != EDS_OK)
		return fail("key", st);
	eds_agent_options_init(&opts);
	opts.device_id = argv[3];
	if ((st = eds_agent_open(&agent, argv[1], &signer, &opts)) != EDS_OK) {
		eds_signer_close(&signer); /* the agent owns it only once open succeeded */
		return fail("agent", st);
	}
	int rc = sample(agent, count);
	if (rc == 0 && argc == 6)
		rc = forward(agent, argv[5]);
	eds_agent_close(agent);
	return rc;
}
