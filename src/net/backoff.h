/*
 * backoff.h - waiting out a server that cannot take records now (429
 * rate_limited, 503 storage_unavailable) before asking again, as `eds push`
 * does.  Rounds are counted only while nothing gets through: a push
 * throttled to the server's rate goes on for as long as each round stores
 * something, and gives up after the set number of rounds in a row that
 * stored nothing.  Not installed.
 */
#ifndef EDS_NET_BACKOFF_H
#define EDS_NET_BACKOFF_H

#include <stdint.h>

/* The first wait when the server names none, and the longest one. */
#define EDS_BACKOFF_FIRST_MS 1000u
#define EDS_BACKOFF_MAX_MS   30000u
/* A Retry-After above this is cut to it: a server's "come back in an
 * hour" should end the push (rerun later), not hang it. */
#define EDS_BACKOFF_SERVER_MAX_S 60u

typedef struct eds_backoff {
	unsigned rounds; /* rounds in a row that may store nothing (0: never wait) */
	unsigned failed; /* such rounds so far */
	unsigned next_ms;
	uint64_t waits; /* waits made, for the summary */
	uint64_t waited_ms;
} eds_backoff;

/** Start counting; rounds 0 turns waiting off (eds_backoff_wait answers 0). */
void eds_backoff_init(eds_backoff *b, unsigned rounds);

/** Something got through: count rounds (and the backoff step) from scratch. */
void eds_backoff_progress(eds_backoff *b);

/**
 * Another round that stored nothing: 1 after sleeping for server_s seconds
 * (the server's Retry-After; 0: none given, the next step of 1, 2, 4 ... 30
 * s), 0 without sleeping when b's rounds are used up.
 */
int eds_backoff_wait(eds_backoff *b, unsigned server_s);

#endif
