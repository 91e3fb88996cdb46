/*
 * zz_records_key_stubs.c - TEMPORARY stand-ins for the key-file loaders
 * that the `keys` branch implements (key_file.c), so `eds sign` / `eds
 * verify` link on the `records` branch.  Delete this file when merging keys.
 */
#include "edgesentry/key.h"
#include "internal.h"

eds_status eds_secret_key_load(eds_secret_key *sk, const char *path)
{
	(void)sk;
	return eds_fail(EDS_E_UNSUPPORTED, "%s: key files are not implemented yet", path);
}

eds_status eds_public_key_load(eds_public_key *pk, const char *spec)
{
	(void)pk;
	return eds_fail(EDS_E_UNSUPPORTED, "%s: key files are not implemented yet", spec);
}
