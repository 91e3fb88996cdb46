/*
 * json_members.c - eds_json_exact_members (internal.h): the member check
 * every reader of a fixed-shape JSON object (a checkpoint, an operation-log
 * event) starts with, so each names what is missing or extra the same way.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

eds_status eds_json_exact_members(json_t *o, const char *what, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json_object_get(o, names[i]) == NULL)
			return eds_fail(EDS_E_MALFORMED, "%s.%s: required", what, names[i]);
	if (json_object_size(o) == n)
		return EDS_OK;
	char list[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < n && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
		                         names[i]);
	return eds_fail(EDS_E_MALFORMED, "%s: unknown member (it has exactly: %s)", what, list);
}
