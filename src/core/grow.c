/*
 * grow.c - room in a caller's array that grows by doubling, the one way
 * the library's lists (backup's missing payloads, a push batch's items,
 * the agent's memory queue) get longer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

eds_status eds_grow(void **v, size_t *cap, size_t need, size_t elem, const char *what)
{
	if (need <= *cap)
		return EDS_OK;
	size_t c = *cap ? *cap : 16;
	while (c < need && c <= SIZE_MAX / 2)
		c *= 2;
	/* Doubling past SIZE_MAX, or c * elem past it, is no memory anyone has. */
	if (c < need || c > SIZE_MAX / elem)
		return eds_fail(EDS_E_NOMEM, "%s: out of memory", what);
	void *p = realloc(*v, c * elem);
	if (p == NULL)
		return eds_fail(EDS_E_NOMEM, "%s: out of memory", what);
	*v = p;
	*cap = c;
	return EDS_OK;
}
