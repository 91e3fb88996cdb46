/*
 * init.c - one-time library start-up.
 */
#include <sodium.h>

#include "edgesentry/error.h"
#include "edgesentry/version.h"
#include "internal.h"

eds_status eds_init(void)
{
	/* sodium_init is itself thread-safe and idempotent (returns 1 when
	 * already initialised), so no lock of our own is needed. */
	if (sodium_init() < 0)
		return eds_fail(EDS_E_INTERNAL, "libsodium failed to initialise");
	return EDS_OK;
}

const char *eds_version(void)
{
	return EDS_VERSION_STRING;
}
