/*
 * backoff.c - see backoff.h.
 */
#include "backoff.h"

#include <errno.h>
#include <time.h>

void eds_backoff_init(eds_backoff *b, unsigned rounds)
{
	*b = (eds_backoff){.rounds = rounds, .next_ms = EDS_BACKOFF_FIRST_MS};
}

void eds_backoff_progress(eds_backoff *b)
{
	b->failed = 0;
	b->next_ms = EDS_BACKOFF_FIRST_MS;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

int eds_backoff_wait(eds_backoff *b, unsigned server_s)
{
	if (b->failed >= b->rounds)
		return 0;
	b->failed++;
	unsigned ms = b->next_ms;
	if (server_s > 0)
		ms = (server_s < EDS_BACKOFF_SERVER_MAX_S ? server_s : EDS_BACKOFF_SERVER_MAX_S) *
		     1000u;
	else
		b->next_ms =
		    b->next_ms * 2 < EDS_BACKOFF_MAX_MS ? b->next_ms * 2 : EDS_BACKOFF_MAX_MS;
	sleep_ms(ms);
	b->waits++;
	b->waited_ms += ms;
	return 1;
}
