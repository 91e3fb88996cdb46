/*
 * test_mqtt.c - the broker-free parts of the MQTT code: topic names to
 * device ids (only valid ids), the answer body (FORMAT.md 5: response body
 * plus sequence), broker address parsing and TLS option checks, the
 * backoff jitter range, TCP_NODELAY on a client's socket.  The
 * broker-facing behaviour is tested against a real mosquitto in
 * tests/cli/test_serve_mqtt*.sh.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/net/mqtt_internal.h"
#include "edgesentry/edgesentry.h"

static void test_topic_device(void **state)
{
	(void)state;
	char dev[EDS_DEVICE_ID_MAX + 1];
	assert_int_equal(
	    eds_mqtt_topic_device("edgesentry/v1/records/dev-1", EDS_MQTT_RECORDS, dev), 0);
	assert_string_equal(dev, "dev-1");
	assert_int_equal(
	    eds_mqtt_topic_device("edgesentry/v1/responses/a.b_c:d", EDS_MQTT_RESPONSES, dev), 0);
	assert_string_equal(dev, "a.b_c:d");
	const char *bad[] = {"edgesentry/v1/records/",      "edgesentry/v1/records/a/b",
	                     "edgesentry/v1/records/..",    "edgesentry/v1/records/a b",
	                     "edgesentry/v2/records/dev-1", "edgesentry/v1/records",
	                     "edgesentry/v1/responses/x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(eds_mqtt_topic_device(bad[i], EDS_MQTT_RECORDS, dev), -1);
	char longtopic[sizeof EDS_MQTT_RECORDS + EDS_DEVICE_ID_MAX + 1];
	snprintf(longtopic, sizeof longtopic, "%s", EDS_MQTT_RECORDS);
	memset(longtopic + strlen(longtopic), 'a', EDS_DEVICE_ID_MAX);
	longtopic[sizeof EDS_MQTT_RECORDS - 1 + EDS_DEVICE_ID_MAX] = '\0';
	assert_int_equal(eds_mqtt_topic_device(longtopic, EDS_MQTT_RECORDS, dev), 0);
	assert_int_equal(strlen(dev), EDS_DEVICE_ID_MAX);
	strcat(longtopic, "a"); /* one byte over the limit */
	assert_int_equal(eds_mqtt_topic_device(longtopic, EDS_MQTT_RECORDS, dev), -1);
	assert_int_equal(eds_mqtt_topic_device(NULL, EDS_MQTT_RECORDS, dev), -1);
}

static json_t *answer(const eds_ingest_result *res, uint64_t seq)
{
	char *text = eds_mqtt_answer(res, seq);
	assert_non_null(text);
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	assert_non_null(j);
	return j;
}

static void test_answer(void **state)
{
	(void)state;
	eds_ingest_result ok = {.outcome = EDS_INGEST_ACCEPTED};
	memset(ok.record_hash, 0xab, EDS_HASH_LEN);
	json_t *j = answer(&ok, 42);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "accepted");
	assert_int_equal(json_integer_value(json_object_get(j, "sequence")), 42);
	assert_int_equal(strspn(json_string_value(json_object_get(j, "record_hash")), "ab"), 64);
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	eds_ingest_result no = {.outcome = EDS_INGEST_IDENTITY};
	snprintf(no.message, sizeof no.message, "Not this topic's device.");
	j = answer(&no, 7);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "rejected");
	assert_string_equal(json_string_value(json_object_get(j, "error")), "identity_mismatch");
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	                    "Not this topic's device.");
	assert_int_equal(json_integer_value(json_object_get(j, "sequence")), 7);
	json_decref(j);
}

static eds_status client(const char *address, const char *ca, const char *cert, const char *key,
                         char *host, int *port)
{
	eds_mqtt_broker b = {.address = address, .cafile = ca, .certfile = cert, .keyfile = key};
	struct mosquitto *m = NULL;
	eds_status st = eds_mqtt_client_new(&m, &b, "unit-test", 1, NULL, host, 256, port);
	if (st == EDS_OK)
		mosquitto_destroy(m);
	return st;
}

static void test_address(void **state)
{
	(void)state;
	char host[256];
	int port = 0;
	assert_int_equal(client("127.0.0.1:1883", NULL, NULL, NULL, host, &port), EDS_OK);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 1883);
	assert_int_equal(client("[::1]:8883", NULL, NULL, NULL, host, &port), EDS_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 8883);
	assert_int_equal(client("broker.example:65535", NULL, NULL, NULL, host, &port), EDS_OK);
	assert_string_equal(host, "broker.example");
	const char *bad[] = {"broker", "broker:",    "broker:0", "broker:65536",
	                     ":1883",  "broker:18x", "[]:1883",  ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(client(bad[i], NULL, NULL, NULL, host, &port), EDS_E_ARG);
	assert_int_equal(client(NULL, NULL, NULL, NULL, host, &port), EDS_E_ARG);
}

static void test_tls_options(void **state)
{
	(void)state;
	char host[256];
	int port;
	/* a client certificate needs TLS, and comes with its key */
	assert_int_equal(client("h:1", NULL, "c.pem", "k.pem", host, &port), EDS_E_ARG);
	assert_int_equal(client("h:1", "/etc/hostname", "c.pem", NULL, host, &port), EDS_E_ARG);
	/* libmosquitto checks that the files can be read */
	assert_int_equal(client("h:1", "/nonexistent/ca.pem", NULL, NULL, host, &port), EDS_E_KEY);
}

/* Our clients turn Nagle's algorithm off: checked on a connection to a bare
 * loopback listener (the TCP connect is enough; no broker answers). */
static void test_no_delay(void **state)
{
	(void)state;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	char address[64], host[256];
	int port, on = 0;
	snprintf(address, sizeof address, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
	eds_mqtt_broker b = {.address = address};
	struct mosquitto *m = NULL;
	assert_int_equal(eds_mqtt_client_new(&m, &b, "unit-test", 1, NULL, host, 256, &port),
	                 EDS_OK);
	assert_int_equal(mosquitto_connect(m, host, port, 30), MOSQ_ERR_SUCCESS);
	socklen_t len = sizeof on;
	assert_int_equal(getsockopt(mosquitto_socket(m), IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	assert_int_equal(on, 1);
	mosquitto_destroy(m);
	close(l);
}

static void test_jitter(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		unsigned d = eds_mqtt_jitter(1000);
		assert_in_range(d, 500, 1000);
	}
	assert_int_equal(eds_mqtt_jitter(0), 0);
	assert_in_range(eds_mqtt_jitter(1), 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_topic_device), cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_address),      cmocka_unit_test(test_tls_options),
	    cmocka_unit_test(test_no_delay),     cmocka_unit_test(test_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
