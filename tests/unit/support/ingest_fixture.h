/*
 * ingest_fixture.h - a throw-away ledger in a temporary directory with one
 * device, "d1", and the ingest service over it, for the unit tests that
 * drive the service in-process: make signed records, submit them one at a
 * time, read the device's head, restart the service.
 *
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h> and <cmocka.h>: the
 * helpers fail the running test with cmocka's assertions.
 */
#ifndef EDS_INGEST_FIXTURE_H
#define EDS_INGEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"

typedef struct ingest_fx {
	char *dir;         /* the ledger directory, a test_tmpdir */
	eds_ledger *l;     /* NULL while stopped */
	eds_ingest *s;     /* NULL until started, and while stopped */
	eds_secret_key sk; /* d1's key */
	eds_public_key pk;
	uint8_t payload[64]; /* 64 bytes of the fill byte given to ingest_fx_new */
} ingest_fx;

/**
 * A new fixture: eds_init, a temporary directory, the ledger opened in it
 * (f->l) with device "d1" added under the key of seed.  The service is not
 * started: ingest_fx_start does that.
 */
ingest_fx *ingest_fx_new(const uint8_t seed[32], uint8_t fill);

/** Start the service with options o (NULL: defaults), opening the ledger
 * first unless f->l is open. */
void ingest_fx_start(ingest_fx *f, const eds_ingest_options *o);

/** Free the service and close the ledger, as a process exit would; either may
 * be NULL already. */
void ingest_fx_stop(ingest_fx *f);

/** Stop, remove the directory with everything in it, free f. */
void ingest_fx_free(ingest_fx *f);

/** Record seq of id signed with sk, linked to prev (NULL for the first), with
 * payload (len bytes, NULL for none) sent along. */
void ingest_fx_make(eds_ingest_item *it, const eds_secret_key *sk, const char *id, uint64_t seq,
                    const uint8_t *prev, const uint8_t *payload, size_t len);

/**
 * Submit it alone from 127.0.0.1 with the client identity given (NULL:
 * none); the record hash of the answer goes to hash_out unless it is NULL.
 * A refusal must come with a message.  Returns the outcome.
 */
eds_ingest_outcome ingest_fx_submit1(ingest_fx *f, const eds_ingest_item *it, const char *identity,
                                     uint8_t *hash_out);

/** The head sequence the service holds for id (which must have one). */
uint64_t ingest_fx_head(ingest_fx *f, const char *id);

#endif
