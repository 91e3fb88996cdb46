/*
 * ingest_fixture.c - see ingest_fixture.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest_fixture.h"
#include "test_support.h"

ingest_fx *ingest_fx_new(const uint8_t seed[32], uint8_t fill)
{
	ingest_fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(eds_init(), EDS_OK);
	f->dir = test_tmpdir();
	assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_secret_key_from_seed(&f->sk, seed), EDS_OK);
	eds_secret_key_public(&f->sk, &f->pk);
	assert_int_equal(eds_ledger_device_add(f->l, "d1", &f->pk), EDS_OK);
	memset(f->payload, fill, sizeof f->payload);
	return f;
}

void ingest_fx_start(ingest_fx *f, const eds_ingest_options *o)
{
	if (f->l == NULL)
		assert_int_equal(eds_ledger_open(&f->l, f->dir, NULL), EDS_OK);
	assert_int_equal(eds_ingest_new(&f->s, f->l, o), EDS_OK);
}

void ingest_fx_stop(ingest_fx *f)
{
	eds_ingest_free(f->s);
	eds_ledger_close(f->l);
	f->s = NULL;
	f->l = NULL;
}

void ingest_fx_free(ingest_fx *f)
{
	ingest_fx_stop(f);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
}

void ingest_fx_make(eds_ingest_item *it, const eds_secret_key *sk, const char *id, uint64_t seq,
                    const uint8_t *prev, const uint8_t *payload, size_t len)
{
	memset(it, 0, sizeof *it);
	assert_int_equal(eds_record_init(&it->record, id, seq, 1700000000000ULL + seq, payload, len,
	                                 prev, "obj"),
	                 EDS_OK);
	assert_int_equal(eds_record_sign(&it->record, sk), EDS_OK);
	it->payload = payload;
	it->payload_len = len;
}

eds_ingest_outcome ingest_fx_submit1(ingest_fx *f, const eds_ingest_item *it, const char *identity,
                                     uint8_t *hash_out)
{
	eds_ingest_context ctx = {"127.0.0.1", identity};
	eds_ingest_result res;
	assert_int_equal(eds_ingest_submit(f->s, &ctx, it, 1, &res), EDS_OK);
	if (hash_out != NULL)
		memcpy(hash_out, res.record_hash, 32);
	if (res.outcome != EDS_INGEST_ACCEPTED && res.outcome != EDS_INGEST_DUPLICATE)
		assert_true(strlen(res.message) > 0);
	return res.outcome;
}

uint64_t ingest_fx_head(ingest_fx *f, const char *id)
{
	uint64_t seq;
	uint8_t h[32];
	assert_int_equal(eds_ingest_head(f->s, id, &seq, h), EDS_OK);
	return seq;
}
