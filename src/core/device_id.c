/*
 * device_id.c - the one device id rule (FORMAT.md 1.1), shared by records
 * and the key registry so the two can never disagree about a name.
 */
#include "edgesentry/record.h"
#include "internal.h"

static int is_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

eds_status eds_device_id_check(const char *id, size_t len)
{
	if (len == 0 || len > EDS_DEVICE_ID_MAX)
		return eds_fail(EDS_E_FIELD, "device_id: must be 1..%d bytes, got %zu",
		                EDS_DEVICE_ID_MAX, len);
	for (size_t i = 0; i < len; i++)
		if (!is_id_char(id[i]))
			return eds_fail(EDS_E_FIELD,
			                "device_id: byte %zu is not one of A-Z a-z 0-9 . _ : -", i);
	if ((len == 1 && id[0] == '.') || (len == 2 && id[0] == '.' && id[1] == '.'))
		return eds_fail(EDS_E_FIELD, "device_id: must not be \".\" or \"..\"");
	return EDS_OK;
}
