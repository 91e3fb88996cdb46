/*
 * both_headers.c - the native umbrella header and the bridge header in one
 * translation unit, native first (test_bridge.c has the other order).  Both
 * define EDS_OK with the same tokens, which C allows; nothing else clashes.
 */
#include "edgesentry/edgesentry.h"
#include "edgesentry/legacy.h"
#include "edgesentry_bridge.h"

_Static_assert(EDS_OK == EDS_STATUS_OK, "EDS_OK means the same in both APIs");

int both_headers_status_ok(void);

int both_headers_status_ok(void)
{
	eds_legacy_record r;
	EdsAuditRecord b;
	(void)b;
	/* One native and one bridge call from the same file. */
	if (eds_legacy_record_init(&r, "d", 1, 0, NULL, 0, NULL, "") != EDS_OK)
		return -1;
	return eds_verify_chain(NULL, 0) == EDS_OK ? EDS_OK : -1;
}
