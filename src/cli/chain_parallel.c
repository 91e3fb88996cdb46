/*
 * chain_parallel.c - the multi-threaded read of `eds verify-chain`: a reader
 * thread parses records into a ring of batches while this thread feeds each
 * batch, in file order, to eds_chain_verifier_add_batch, whose pool checks
 * the signatures on every core.  The ring bounds memory (RING batches of
 * BATCH records) on files of any size, and batches are consumed in order,
 * so failures, indexes, lines and input errors are exactly those of the
 * one-record-at-a-time read.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_internal.h"
#include "chain_run.h"
#include "internal.h"
#include "record_internal.h"

enum { BATCH = 1024, RING = 3 };

typedef struct batch {
	eds_record recs[BATCH];
	uint8_t hashes[BATCH][EDS_HASH_LEN]; /* the reader's, so the verifier need not hash again */
	uint64_t lines[BATCH];
	size_t n;
	bool full;        /* parsed, waiting to be verified */
	eds_status end;   /* EDS_OK: more follows; EDS_DONE: end of file; else the error */
	char detail[512]; /* the reader's error detail (it is per thread) */
	uint64_t offset;  /* bytes read after this batch, for the progress bar */
} batch;

typedef struct pipeline {
	eds_record_reader *rd;
	batch *ring;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool cancel; /* the verifier stopped: the reader must too */
} pipeline;

/* Fill b from the reader; the last batch carries the reason reading ended. */
static void fill_batch(pipeline *p, batch *b)
{
	eds_status st = EDS_OK;
	b->n = 0;
	while (b->n < BATCH && (st = eds_record_reader_next_hashed(p->rd, &b->recs[b->n],
	                                                           b->hashes[b->n])) == EDS_OK)
		b->lines[b->n++] = eds_record_reader_line(p->rd);
	b->end = st;
	if (st != EDS_OK && st != EDS_DONE)
		snprintf(b->detail, sizeof b->detail, "%s", eds_last_error());
	b->offset = eds_record_reader_offset(p->rd);
}

static void *reader_main(void *arg)
{
	pipeline *p = arg;
	for (size_t k = 0;; k = (k + 1) % RING) {
		batch *b = &p->ring[k];
		pthread_mutex_lock(&p->mu);
		while (b->full && !p->cancel)
			pthread_cond_wait(&p->cv, &p->mu);
		bool cancel = p->cancel;
		pthread_mutex_unlock(&p->mu);
		if (cancel)
			return NULL;
		fill_batch(p, b);
		pthread_mutex_lock(&p->mu);
		b->full = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (b->end != EDS_OK)
			return NULL;
	}
}

/* Verify one batch; a new failure's line is remembered.  Only fatal errors return. */
static eds_status feed_batch(cli_chain_result *res, const batch *b)
{
	const eds_chain_failure *f;
	eds_chain_summary s;
	size_t before = eds_chain_verifier_failures(res->v, NULL);
	eds_chain_verifier_summary(res->v, &s);
	eds_status st = eds_chain_verifier_add_batch_hashed(
	    res->v, b->recs, (const uint8_t(*)[EDS_HASH_LEN])b->hashes, b->n);
	if (st != EDS_OK)
		return st;
	size_t after = eds_chain_verifier_failures(res->v, &f);
	for (size_t i = before; i < after && st == EDS_OK; i++)
		st = cli_chain_remember_line(res, b->lines[f[i].index - s.records]);
	return st;
}

static eds_status consume(pipeline *p, cli_chain_result *res, cli_progress *bar)
{
	for (size_t k = 0;; k = (k + 1) % RING) {
		batch *b = &p->ring[k];
		pthread_mutex_lock(&p->mu);
		while (!b->full)
			pthread_cond_wait(&p->cv, &p->mu);
		pthread_mutex_unlock(&p->mu);
		eds_status st = feed_batch(res, b);
		if (st == EDS_OK && b->end != EDS_OK)
			st = b->end == EDS_DONE ? EDS_DONE : eds_fail(b->end, "%s", b->detail);
		if (st != EDS_OK)
			return st;
		eds_chain_summary s;
		eds_chain_verifier_summary(res->v, &s);
		cli_progress_update(bar, b->offset, s.records);
		pthread_mutex_lock(&p->mu);
		b->full = false;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

eds_status cli_chain_read_parallel(eds_record_reader *rd, cli_chain_result *res, cli_progress *bar)
{
	pipeline p = {.rd = rd};
	pthread_t reader;
	p.ring = calloc(RING, sizeof *p.ring);
	if (p.ring == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory for the record batches");
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	eds_status st = EDS_OK;
	if (pthread_create(&reader, NULL, reader_main, &p) != 0)
		st = eds_fail(EDS_E_IO, "cannot start the reader thread");
	if (st == EDS_OK) {
		st = consume(&p, res, bar);
		pthread_mutex_lock(&p.mu);
		p.cancel = true;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		pthread_join(reader, NULL);
	}
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	free(p.ring);
	return st == EDS_DONE ? EDS_OK : st;
}
