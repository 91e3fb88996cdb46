/*
 * work_pool.c - see work_pool.h.  Workers sleep on a condition variable
 * between jobs; within a job, items are handed out by an atomic counter so
 * a slow thread (the machine may be shared) only delays its last range.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "work_pool.h"

/* A bound on threads keeps a typo like --threads 100000 from exhausting memory. */
#define MAX_THREADS 256

struct eds_pool {
	pthread_t *tids;
	unsigned workers; /* threads besides the caller */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t generation; /* bumped per job: how a worker sees a new one */
	unsigned busy;       /* workers still in the current job */
	bool stop;
	/* the current job */
	eds_pool_fn fn;
	void *ctx;
	size_t n, grain;
	atomic_size_t next;
};

unsigned eds_pool_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

static void take_items(eds_pool *p)
{
	for (;;) {
		size_t b = atomic_fetch_add_explicit(&p->next, p->grain, memory_order_relaxed);
		if (b >= p->n)
			return;
		p->fn(p->ctx, b, b + p->grain < p->n ? b + p->grain : p->n);
	}
}

static void *worker(void *arg)
{
	eds_pool *p = arg;
	uint64_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->generation == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		seen = p->generation;
		pthread_mutex_unlock(&p->mu);
		take_items(p);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
}

eds_status eds_pool_new(eds_pool **out, unsigned threads)
{
	*out = NULL;
	if (threads == 0)
		threads = eds_pool_cpus();
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	eds_pool *p = calloc(1, sizeof *p);
	if (p == NULL || (p->tids = calloc(threads, sizeof *p->tids)) == NULL) {
		free(p);
		return eds_fail(EDS_E_NOMEM, "thread pool: out of memory");
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned i = 0; i + 1 < threads; i++) {
		if (pthread_create(&p->tids[i], NULL, worker, p) != 0) {
			eds_pool_free(p);
			return eds_fail(EDS_E_IO, "thread pool: cannot start thread %u of %u",
			                i + 2, threads);
		}
		p->workers++;
	}
	*out = p;
	return EDS_OK;
}

unsigned eds_pool_threads(const eds_pool *p)
{
	return p->workers + 1;
}

void eds_pool_run(eds_pool *p, eds_pool_fn fn, void *ctx, size_t n, size_t grain)
{
	if (grain == 0)
		grain = 1;
	if (p->workers == 0 || n <= grain) {
		for (size_t b = 0; b < n; b += grain)
			fn(ctx, b, b + grain < n ? b + grain : n);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	p->grain = grain;
	atomic_store(&p->next, 0);
	p->busy = p->workers;
	p->generation++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	take_items(p);
	pthread_mutex_lock(&p->mu);
	while (p->busy > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void eds_pool_free(eds_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->workers; i++)
		pthread_join(p->tids[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->tids);
	free(p);
}
