/*
 * ratelimit.c - bounded table of token buckets (chained hash, one mutex:
 * each call is a few hundred nanoseconds, far below a request's cost).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ratelimit.h"

typedef struct bucket {
	struct bucket *next;
	double tokens;
	uint64_t last_ns;
	char key[];
} bucket;

struct eds_ratelimit {
	pthread_mutex_t lock;
	double rate, burst;
	size_t max_keys, count, nslots;
	bucket **slots;
};

eds_status eds_ratelimit_new(eds_ratelimit **out, double rate, double burst, size_t max_keys)
{
	if (out == NULL || !(rate > 0) || !(burst >= 1) || max_keys == 0)
		return eds_fail(EDS_E_ARG, "rate limit: rate > 0, burst >= 1 and max_keys >= 1");
	eds_ratelimit *rl = calloc(1, sizeof *rl);
	size_t nslots = 64;
	while (nslots < max_keys && nslots < ((size_t)1 << 24))
		nslots *= 2;
	if (rl != NULL)
		rl->slots = calloc(
		    nslots,
		    sizeof *rl->slots); /* NOLINT(bugprone-sizeof-expression): array of pointers */
	if (rl == NULL || rl->slots == NULL) {
		free(rl);
		return eds_fail(EDS_E_NOMEM, "rate limit: out of memory");
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->rate = rate;
	rl->burst = burst;
	rl->max_keys = max_keys;
	rl->nslots = nslots;
	*out = rl;
	return EDS_OK;
}

void eds_ratelimit_free(eds_ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < rl->nslots; i++) {
		for (bucket *b = rl->slots[i], *next; b != NULL; b = next) {
			next = b->next;
			free(b);
		}
	}
	free(rl->slots);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static size_t slot_of(const eds_ratelimit *rl, const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 1099511628211ULL;
	return (size_t)(h & (rl->nslots - 1));
}

static void refill(const eds_ratelimit *rl, bucket *b, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->rate;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
	}
	b->last_ns = now_ns;
}

/* Drop buckets that are full again: they behave exactly like absent ones. */
static void sweep(eds_ratelimit *rl, uint64_t now_ns)
{
	for (size_t i = 0; i < rl->nslots; i++) {
		bucket **pp = &rl->slots[i];
		while (*pp != NULL) {
			bucket *b = *pp;
			refill(rl, b, now_ns);
			if (b->tokens >= rl->burst) {
				*pp = b->next;
				free(b);
				rl->count--;
			} else {
				pp = &b->next;
			}
		}
	}
}

static bucket *find_or_add(eds_ratelimit *rl, const char *key, uint64_t now_ns)
{
	size_t s = slot_of(rl, key);
	for (bucket *b = rl->slots[s]; b != NULL; b = b->next)
		if (strcmp(b->key, key) == 0)
			return b;
	if (rl->count >= rl->max_keys)
		sweep(rl, now_ns);
	if (rl->count >= rl->max_keys)
		return NULL;
	size_t n = strlen(key) + 1;
	bucket *b = malloc(sizeof *b + n);
	if (b == NULL)
		return NULL;
	memcpy(b->key, key, n);
	b->tokens = rl->burst;
	b->last_ns = now_ns;
	b->next = rl->slots[s];
	rl->slots[s] = b;
	rl->count++;
	return b;
}

int eds_ratelimit_take(eds_ratelimit *rl, const char *key, double cost, uint64_t now_ns,
                       unsigned *retry_after_s)
{
	/* A cost above the burst could never be paid; charge a full bucket instead. */
	if (cost > rl->burst)
		cost = rl->burst;
	pthread_mutex_lock(&rl->lock);
	bucket *b = find_or_add(rl, key, now_ns);
	int ok = 0;
	double missing = cost;
	if (b != NULL) {
		refill(rl, b, now_ns);
		ok = b->tokens >= cost;
		if (ok)
			b->tokens -= cost;
		else
			missing = cost - b->tokens;
	}
	pthread_mutex_unlock(&rl->lock);
	if (!ok && retry_after_s != NULL) {
		double wait = missing / rl->rate;
		unsigned w = wait >= 3600 ? 3600 : (unsigned)wait;
		*retry_after_s = w < wait ? w + 1 : w == 0 ? 1 : w;
	}
	return ok;
}

size_t eds_ratelimit_size(eds_ratelimit *rl)
{
	pthread_mutex_lock(&rl->lock);
	size_t n = rl->count;
	pthread_mutex_unlock(&rl->lock);
	return n;
}
