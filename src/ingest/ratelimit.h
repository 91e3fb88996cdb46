/*
 * ratelimit.h - token buckets keyed by a string (source address, device id).
 * Not installed; used by the HTTP server and tested directly.
 *
 * Each key gets `burst` tokens that refill at `rate` per second; a request
 * takes `cost` tokens or is refused with the seconds to wait.  Memory is
 * bounded: at most `max_keys` buckets; when the table is full, buckets that
 * have refilled completely (indistinguishable from absent) are dropped, and
 * if none can be, new keys are refused (fail closed).  Thread-safe.
 */
#ifndef EDS_INGEST_RATELIMIT_H
#define EDS_INGEST_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

typedef struct eds_ratelimit eds_ratelimit;

/** rate > 0 tokens/second, burst >= 1, max_keys >= 1.  Errors: EDS_E_ARG, EDS_E_NOMEM. */
eds_status eds_ratelimit_new(eds_ratelimit **out, double rate, double burst, size_t max_keys);

/**
 * Take cost tokens (at most burst) from key's bucket at time now_ns (monotonic).  Returns 1
 * when allowed; 0 when not, with *retry_after_s (optional) the whole seconds
 * until enough tokens are back (at least 1).
 */
int eds_ratelimit_take(eds_ratelimit *rl, const char *key, double cost, uint64_t now_ns,
                       unsigned *retry_after_s);

/** Buckets currently kept. */
size_t eds_ratelimit_size(eds_ratelimit *rl);

void eds_ratelimit_free(eds_ratelimit *rl);

#endif
