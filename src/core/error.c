/*
 * error.c - status strings and the thread-local failure detail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edgesentry/error.h"
#include "internal.h"

/* internal.h's analyzer-only macros would rename the definitions below. */
#undef eds_fail
#undef eds_fail_prefix

#define DETAIL_MAX 512

static _Thread_local char detail[DETAIL_MAX];

const char *eds_strerror(eds_status status)
{
	switch (status) {
	case EDS_STATUS_OK: return "ok";
	case EDS_DONE: return "no more items";
	case EDS_E_ARG: return "invalid argument";
	case EDS_E_NOMEM: return "out of memory";
	case EDS_E_IO: return "input/output error";
	case EDS_E_MALFORMED: return "malformed input";
	case EDS_E_FIELD: return "field out of its rules";
	case EDS_E_LIMIT: return "input exceeds a limit";
	case EDS_E_KEY: return "invalid key";
	case EDS_E_PERM: return "unsafe file permissions";
	case EDS_E_SIGNATURE: return "bad signature";
	case EDS_E_HASH_MISMATCH: return "record hash mismatch";
	case EDS_E_PAYLOAD_MISMATCH: return "payload mismatch";
	case EDS_E_SEQUENCE: return "sequence gap or reorder";
	case EDS_E_PREV_HASH: return "prev_hash mismatch";
	case EDS_E_FORK: return "fork";
	case EDS_E_UNKNOWN_DEVICE: return "unknown device";
	case EDS_E_REVOKED: return "revoked device";
	case EDS_E_NOT_FOUND: return "not found";
	case EDS_E_EXISTS: return "already exists";
	case EDS_E_UNSUPPORTED: return "unsupported";
	case EDS_E_INTERNAL: return "internal error";
	}
	return "unknown status";
}

const char *eds_last_error(void)
{
	return detail;
}

eds_status eds_fail(eds_status status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	eds_one_line(detail);
	return status;
}

eds_status eds_fail_prefix(eds_status status, const char *fmt, ...)
{
	char joined[2 * DETAIL_MAX + 2];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(joined, DETAIL_MAX, fmt, ap);
	va_end(ap);
	size_t used = n < 0 ? 0 : (n >= DETAIL_MAX ? DETAIL_MAX - 1 : (size_t)n);
	/* The joined text may exceed the detail buffer; it is cut, on purpose,
	 * at DETAIL_MAX - 1 bytes. */
	snprintf(joined + used, sizeof joined - used, ": %s",
	         detail[0] ? detail : eds_strerror(status));
	size_t len = strlen(joined);
	if (len >= DETAIL_MAX)
		len = DETAIL_MAX - 1;
	memcpy(detail, joined, len);
	detail[len] = '\0';
	eds_one_line(detail);
	return status;
}
