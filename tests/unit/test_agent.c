/*
 * test_agent.c - the device agent library against a fake transport:
 * signing and linking, persistence across reopen (no sequence reuse),
 * overflow (reject, shed-payloads with a signed notice), in-order delivery,
 * NOT_STORED answers kept, headers-first and resuming from a server head.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/edgesentry.h"
#include "test_support.h"

static eds_secret_key key;

/* ---- a fake server: a chain plus payloads, with failure switches ---- */
typedef struct fake {
	eds_record rec[64];
	bool has_payload[64];
	uint8_t payload[64][2048];
	size_t payload_len[64];
	uint64_t head;
	int fail_next;   /* answer NOT_STORED this many times */
	int refuse_from; /* refuse items with sequence >= this (0: never) */
	int sends, puts, heads;
} fake;

static eds_status f_head(void *ctx, const char *dev, uint64_t *seq, uint8_t h[32])
{
	fake *f = ctx;
	(void)dev;
	f->heads++;
	*seq = f->head;
	memset(h, 0, 32);
	return EDS_OK;
}

static eds_status f_send(void *ctx, const eds_transport_item *it, size_t n,
                         eds_transport_result *res)
{
	fake *f = ctx;
	f->sends++;
	for (size_t i = 0; i < n; i++) {
		res[i].delivery = EDS_DELIVERY_NOT_STORED;
		uint64_t s = it[i].record->sequence;
		if (f->fail_next > 0) {
			snprintf(res[i].error, sizeof res[i].error, "storage_unavailable");
			continue;
		}
		if (f->refuse_from && s >= (uint64_t)f->refuse_from) {
			res[i].delivery = EDS_DELIVERY_REFUSED;
			snprintf(res[i].error, sizeof res[i].error, "fork");
			continue;
		}
		if (s <= f->head) { /* duplicate */
			res[i].delivery = EDS_DELIVERY_STORED;
			continue;
		}
		if (s != f->head + 1 || s >= 64) {
			res[i].delivery = EDS_DELIVERY_REFUSED;
			snprintf(res[i].error, sizeof res[i].error, "sequence_gap");
			continue;
		}
		f->rec[s] = *it[i].record;
		f->has_payload[s] = it[i].payload != NULL;
		if (it[i].payload)
			memcpy(f->payload[s], it[i].payload, it[i].payload_len);
		f->payload_len[s] = it[i].payload_len;
		f->head = s;
		res[i].delivery = EDS_DELIVERY_STORED;
	}
	if (f->fail_next > 0)
		f->fail_next--;
	return EDS_OK;
}

static eds_status f_put(void *ctx, const uint8_t h[32], const uint8_t *p, size_t len)
{
	fake *f = ctx;
	f->puts++;
	for (uint64_t s = 1; s <= f->head; s++)
		if (memcmp(f->rec[s].payload_hash, h, 32) == 0 && !f->has_payload[s]) {
			memcpy(f->payload[s], p, len);
			f->payload_len[s] = len;
			f->has_payload[s] = true;
			return EDS_OK;
		}
	return EDS_E_NOT_FOUND;
}

static const eds_transport_ops fake_ops = {f_head, f_send, f_put, NULL};

/* The fake's chain verifies: signatures, links, payload hashes. */
static void check_chain(fake *f, bool payloads)
{
	eds_public_key pk;
	eds_secret_key_public(&key, &pk);
	uint8_t prev[32] = {0};
	for (uint64_t s = 1; s <= f->head; s++) {
		assert_int_equal(f->rec[s].sequence, s);
		assert_int_equal(eds_record_verify(&f->rec[s], &pk), EDS_OK);
		assert_memory_equal(f->rec[s].prev_hash, prev, 32);
		assert_int_equal(eds_record_compute_hash(&f->rec[s], prev), EDS_OK);
		if (payloads) {
			assert_true(f->has_payload[s]);
			uint8_t h[32];
			eds_blake3(h, f->payload[s], f->payload_len[s]);
			assert_memory_equal(h, f->rec[s].payload_hash, 32);
		}
	}
}

static eds_agent *open_agent(eds_agent_store_kind kind, uint64_t max_records, uint64_t max_bytes,
                             eds_agent_overflow ov, const char *device)
{
	eds_agent_options o;
	eds_agent_options_init(&o);
	o.device_id = device;
	o.store = kind;
	if (max_records)
		o.max_records = max_records;
	if (max_bytes)
		o.max_bytes = max_bytes;
	o.overflow = ov;
	eds_signer s;
	assert_int_equal(eds_signer_from_key(&s, &key), EDS_OK);
	eds_agent *a = NULL;
	eds_status st = eds_agent_open(&a, test_dir, &s, &o);
	if (st != EDS_OK)
		eds_signer_close(&s);
	return a;
}

static void record_n(eds_agent *a, int n, size_t size)
{
	uint8_t buf[2048];
	for (int i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, size);
		assert_int_equal(eds_agent_record(a, buf, size, "sensor/t", NULL), EDS_OK);
	}
}

static eds_agent_status status(eds_agent *a)
{
	eds_agent_status st;
	assert_int_equal(eds_agent_get_status(a, &st), EDS_OK);
	return st;
}

static void forward_all(eds_agent *a, fake *f, bool headers_first)
{
	eds_transport t = {&fake_ops, f};
	eds_forward_options fo;
	eds_forward_options_init(&fo);
	fo.batch = 4;
	fo.headers_first = headers_first;
	eds_status st;
	int guard = 0;
	while ((st = eds_agent_forward_once(a, &t, &fo, NULL)) == EDS_OK)
		assert_true(++guard < 100);
	assert_int_equal(st, EDS_DONE);
}

static void test_sign_and_forward(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		eds_agent *a = open_agent((eds_agent_store_kind)kind, 0, 0, 0, "dev-1");
		assert_non_null(a);
		record_n(a, 10, 100);
		eds_agent_status st = status(a);
		assert_int_equal(st.head_sequence, 10);
		assert_int_equal(st.queued_records, 10);
		assert_int_equal(st.oldest_sequence, 1);
		fake *f = calloc(1, sizeof *f);
		forward_all(a, f, false);
		assert_int_equal(f->head, 10);
		check_chain(f, true);
		st = status(a);
		assert_int_equal(st.queued_records, 0);
		assert_int_equal(st.queued_bytes, 0);
		assert_int_equal(st.server_sequence, 10);
		free(f);
		eds_agent_close(a);
		test_rmtree(test_dir);
	}
}

static void test_persistence(void **state)
{
	(void)state;
	eds_agent *a = open_agent(EDS_AGENT_STORE_SQLITE, 0, 0, 0, "dev-1");
	record_n(a, 3, 10);
	eds_agent_close(a);
	assert_null(open_agent(EDS_AGENT_STORE_SQLITE, 0, 0, 0, "dev-2"));
	assert_string_equal(eds_last_error(),
	                    "agent state: belongs to device 'dev-1', not 'dev-2'");
	a = open_agent(EDS_AGENT_STORE_SQLITE, 0, 0, 0, "dev-1");
	eds_record r;
	assert_int_equal(eds_agent_record(a, (const uint8_t *)"x", 1, "o", &r), EDS_OK);
	assert_int_equal(r.sequence, 4);
	eds_agent_close(a);
	eds_agent_status st;
	assert_int_equal(eds_agent_status_read(test_dir, &st), EDS_OK);
	assert_int_equal(st.head_sequence, 4);
	assert_int_equal(st.queued_records, 4);
	assert_string_equal(st.device_id, "dev-1");
	/* another key on the same state is refused */
	eds_secret_key other;
	eds_secret_key_generate(&other);
	eds_signer s;
	eds_signer_from_key(&s, &other);
	eds_agent_options o;
	eds_agent_options_init(&o);
	o.device_id = "dev-1";
	assert_int_equal(eds_agent_open(&a, test_dir, &s, &o), EDS_E_KEY);
	eds_signer_close(&s);
	eds_secret_key_wipe(&other);
	/* delivery survives a reopen */
	a = open_agent(EDS_AGENT_STORE_SQLITE, 0, 0, 0, "dev-1");
	fake *f = calloc(1, sizeof *f);
	forward_all(a, f, false);
	assert_int_equal(f->head, 4);
	check_chain(f, true);
	eds_agent_close(a);
	assert_int_equal(eds_agent_status_read(test_dir, &st), EDS_OK);
	assert_int_equal(st.queued_records, 0);
	assert_int_equal(st.server_sequence, 4);
	free(f);
	test_rmtree(test_dir);
	assert_int_equal(eds_agent_status_read(test_dir, &st), EDS_E_NOT_FOUND);
}

static void test_reject(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		eds_agent *a = open_agent((eds_agent_store_kind)kind, 3, 0, 0, "dev-1");
		record_n(a, 3, 10);
		uint8_t p[4] = {1, 2, 3, 4};
		assert_int_equal(eds_agent_record(a, p, 4, "o", NULL), EDS_E_LIMIT);
		eds_agent_status st = status(a);
		assert_int_equal(st.head_sequence, 3);
		assert_int_equal(st.queued_records, 3);
		fake *f = calloc(1, sizeof *f);
		forward_all(a, f, false);
		eds_record r;
		assert_int_equal(eds_agent_record(a, p, 4, "o", &r), EDS_OK);
		assert_int_equal(r.sequence, 4); /* the refused call consumed nothing */
		free(f);
		eds_agent_close(a);
		test_rmtree(test_dir);
	}
}

static void test_shed(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		eds_agent *a = open_agent((eds_agent_store_kind)kind, 100, 16384,
		                          EDS_AGENT_OVERFLOW_SHED_PAYLOADS, "dev-1");
		record_n(a, 12, 1000); /* ~1.4 KB each with JSON: must shed */
		eds_agent_status st = status(a);
		assert_true(st.dropped_payloads > 0);
		assert_true(st.notices > 0);
		assert_true(st.queued_bytes <= 16384);
		assert_int_equal(st.head_sequence, 12 + st.notices);
		fake *f = calloc(1, sizeof *f);
		forward_all(a, f, false);
		assert_int_equal(f->head, st.head_sequence);
		check_chain(f, false);
		/* every dropped payload is listed in a notice; kept ones arrived */
		uint64_t listed = 0;
		for (uint64_t s = 1; s <= f->head; s++) {
			if (strcmp(f->rec[s].object_ref, "eds:notice/payloads-dropped") != 0)
				continue;
			json_t *j = json_loadb((char *)f->payload[s], f->payload_len[s], 0, NULL);
			json_t *d = json_object_get(j, "dropped");
			for (size_t i = 0; i < json_array_size(d); i++) {
				json_t *e = json_array_get(d, i);
				uint64_t q =
				    (uint64_t)json_integer_value(json_object_get(e, "sequence"));
				char hx[65];
				eds_hex_encode(hx, f->rec[q].payload_hash, 32);
				assert_string_equal(
				    json_string_value(json_object_get(e, "payload_hash")), hx);
				assert_false(f->has_payload[q]);
				listed++;
			}
			json_decref(j);
		}
		assert_int_equal(listed, st.dropped_payloads);
		for (uint64_t s = 1; s <= f->head; s++)
			if (!f->has_payload[s])
				assert_true(listed > 0);
		free(f);
		eds_agent_close(a);
		test_rmtree(test_dir);
	}
}

static void test_not_stored_kept(void **state)
{
	(void)state;
	eds_agent *a = open_agent(EDS_AGENT_STORE_SQLITE, 0, 0, 0, "dev-1");
	record_n(a, 5, 10);
	fake *f = calloc(1, sizeof *f);
	f->fail_next = 2;
	eds_transport t = {&fake_ops, f};
	eds_forward_options fo;
	eds_forward_options_init(&fo);
	assert_int_equal(eds_agent_forward_once(a, &t, &fo, NULL), EDS_E_IO);
	assert_int_equal(eds_agent_forward_once(a, &t, &fo, NULL), EDS_E_IO);
	eds_agent_status st = status(a);
	assert_int_equal(st.queued_records, 5);
	assert_int_equal(st.last_error, EDS_E_IO);
	assert_non_null(strstr(st.last_error_text, "storage_unavailable"));
	assert_int_equal(f->heads, 2); /* the head is asked again after each error */
	f->refuse_from = 4;
	assert_int_equal(eds_agent_forward_once(a, &t, &fo, NULL), EDS_E_FORK);
	st = status(a);
	assert_int_equal(st.queued_records, 2);
	assert_int_equal(st.oldest_sequence, 4);
	f->refuse_from = 0;
	forward_all(a, f, false);
	assert_int_equal(f->head, 5);
	check_chain(f, true);
	free(f);
	eds_agent_close(a);
	test_rmtree(test_dir);
}

static void test_headers_first_and_resume(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		eds_agent *a = open_agent((eds_agent_store_kind)kind, 0, 0, 0, "dev-1");
		record_n(a, 9, 500);
		fake *f = calloc(1, sizeof *f);
		/* the server already holds 1..3 (with payloads) from a lost answer */
		eds_transport t = {&fake_ops, f};
		eds_forward_options fo;
		eds_forward_options_init(&fo);
		fo.batch = 3;
		assert_int_equal(eds_agent_forward_once(a, &t, &fo, NULL), EDS_OK);
		eds_agent_close(a);
		if (kind == 1) { /* memory: state gone, start over */
			free(f);
			continue;
		}
		a = open_agent((eds_agent_store_kind)kind, 0, 0, 0, "dev-1");
		forward_all(a, f, true);
		assert_int_equal(f->head, 9);
		assert_int_equal(f->puts, 6);
		check_chain(f, true);
		eds_agent_status st = status(a);
		assert_int_equal(st.queued_records, 0);
		assert_int_equal(st.pending_payloads, 0);
		free(f);
		eds_agent_close(a);
		test_rmtree(test_dir);
	}
}

static void test_bad_options(void **state)
{
	(void)state;
	eds_agent_options o;
	eds_agent_options_init(&o);
	eds_signer s;
	eds_signer_from_key(&s, &key);
	eds_agent *a = NULL;
	assert_int_equal(eds_agent_open(&a, test_dir, &s, &o), EDS_E_ARG);
	o.device_id = "bad id";
	assert_int_equal(eds_agent_open(&a, test_dir, &s, &o), EDS_E_FIELD);
	o.device_id = "d";
	o.max_records = 1;
	assert_int_equal(eds_agent_open(&a, test_dir, &s, &o), EDS_E_ARG);
	eds_signer_close(&s);
	eds_http_transport_options ho = {.url = "ftp://x"};
	eds_transport t;
	assert_int_equal(eds_transport_http(&t, &ho), EDS_E_ARG);
}

int main(void)
{
	eds_init();
	uint8_t seed[32] = {7};
	eds_secret_key_from_seed(&key, seed);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sign_and_forward, test_dir_setup,
	                                    test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_persistence, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_reject, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_shed, test_dir_setup, test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_not_stored_kept, test_dir_setup,
	                                    test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_headers_first_and_resume, test_dir_setup,
	                                    test_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_options, test_dir_setup, test_dir_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
