/*
 * fuzz_mqtt_message.c - what the MQTT subscriber does with a message before
 * the gate: the topic's device id, the single-record body, the answer.
 * Input: byte 0 = topic length n, then n topic bytes, then the body.
 * Checks: a topic is accepted only with a valid device id; an accepted body
 * re-encoded as the MQTT transport publishes it parses back to the same
 * record; every answer is a JSON object with the given sequence.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../src/net/ingest_body.h"
#include "../src/net/mqtt_internal.h"

static void check_answer(const eds_ingest_result *res, uint64_t seq)
{
	char *text = eds_mqtt_answer(res, seq);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	json_t *s = json_object_get(j, "sequence");
	if (j == NULL || !json_is_integer(s) || (uint64_t)json_integer_value(s) != seq)
		abort();
	json_decref(j);
	free(text);
}

/* An accepted record survives eds_mqtt_item_json and a second parse. */
static void check_round_trip(const eds_http_batch *b)
{
	const eds_ingest_item *it = &b->items[0];
	char *again = eds_mqtt_item_json(&it->record, it->payload, it->payload_len);
	if (again == NULL)
		abort();
	eds_http_batch c;
	if (eds_body_alloc(&c, 1) != EDS_OK)
		abort();
	eds_body_parse_item(again, strlen(again), &c, 0);
	if (c.results[0].outcome != EDS_INGEST_ACCEPTED ||
	    memcmp(&c.items[0].record, &it->record, sizeof it->record) != 0 ||
	    c.items[0].payload_len != it->payload_len)
		abort();
	eds_http_batch_free(&c);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || (size_t)data[0] + 1 > size)
		return 0;
	size_t n = data[0];
	char topic[256], dev[EDS_DEVICE_ID_MAX + 1];
	memcpy(topic, data + 1, n);
	topic[n] = '\0';
	if (eds_mqtt_topic_device(topic, EDS_MQTT_RECORDS, dev) == 0 &&
	    (strlen(dev) == 0 || strlen(dev) > EDS_DEVICE_ID_MAX))
		abort();
	eds_http_batch b;
	if (eds_body_alloc(&b, 1) != EDS_OK)
		return 0;
	eds_body_parse_item((const char *)data + 1 + n, size - 1 - n, &b, 0);
	if (b.results[0].outcome == EDS_INGEST_ACCEPTED)
		check_round_trip(&b);
	check_answer(&b.results[0],
	             b.results[0].outcome == EDS_INGEST_ACCEPTED ? b.items[0].record.sequence : 0);
	eds_http_batch_free(&b);
	return 0;
}
