/*
 * work_pool.h - a small fixed pool of threads running "parallel for" jobs:
 * the calling thread and the workers take items of one job until none is
 * left, and eds_pool_run returns once every item is done.  Used by the
 * chain verifier (signatures of a batch) and BLAKE3 (subtrees of a file).
 */
#ifndef EDS_CORE_WORK_POOL_H
#define EDS_CORE_WORK_POOL_H

#include <stddef.h>

#include "edgesentry/error.h"

typedef struct eds_pool eds_pool;

/* Process items [begin, end) of the job; must be safe to run concurrently
 * on disjoint ranges. */
typedef void (*eds_pool_fn)(void *ctx, size_t begin, size_t end);

/** Online CPUs (at least 1): what a thread count of 0 means. */
unsigned eds_pool_cpus(void);

/**
 * A pool running jobs on `threads` threads in all, the caller included
 * (0: one per online CPU; 1: no worker thread, jobs run inline).
 * Errors: EDS_E_NOMEM, EDS_E_IO (thread creation failed).
 */
eds_status eds_pool_new(eds_pool **out, unsigned threads);

/** Threads in all, the caller included. */
unsigned eds_pool_threads(const eds_pool *p);

/** Run fn over items [0, n) in ranges of `grain` items; returns when all are done.
 * One job at a time per pool. */
void eds_pool_run(eds_pool *p, eds_pool_fn fn, void *ctx, size_t n, size_t grain);

/** Stop and join the workers, free.  NULL is ignored. */
void eds_pool_free(eds_pool *p);

#endif
