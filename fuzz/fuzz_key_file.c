/*
 * fuzz_key_file.c - libFuzzer target for the key file loaders and the
 * public key "spec" (64 hex characters or a path) of every --key/--pubkey
 * flag.  fuzz_pem covers the text parsers; this covers the file layer on
 * top: size limit, the mode check of FORMAT.md 2, the path in details.
 *
 * The first byte picks the file mode (odd: 0644, even: 0600), the rest is
 * the file.  Checks: a secret key that loads has the public key that
 * eds_public_key_load finds in the same file; a readable secret key file
 * is refused with EDS_E_PERM; refusals leave a printable one-line detail.
 */
#include <string.h>
#include <sys/stat.h>

#include "edgesentry/key.h"
#include "fuzz_util.h"

static void spec(const uint8_t *data, size_t size)
{
	eds_public_key pk;
	/* Only names without '/' or '.': stay inside the current folder. */
	if (size == 0 || memchr(data, '/', size) != NULL || memchr(data, '.', size) != NULL)
		return;
	char *text = fuzz_strndup(data, size);
	fuzz_check_status(eds_public_key_load(&pk, text));
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char path[128];
	eds_secret_key sk;
	eds_public_key pk, mine;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = 1;
	if (size == 0)
		return 0;
	int readable = data[0] & 1;
	fuzz_write_scratch("key", data + 1, size - 1, path);
	if (chmod(path, readable ? 0644 : 0600) != 0)
		abort();
	eds_status ss = eds_secret_key_load(&sk, path);
	fuzz_check_status(ss);
	eds_status ps = eds_public_key_load(&pk, path);
	fuzz_check_status(ps);
	if (ss == EDS_OK) {
		eds_secret_key_public(&sk, &mine);
		if (readable || ps != EDS_OK || memcmp(mine.bytes, pk.bytes, sizeof pk.bytes) != 0)
			abort();
	}
	if (ss == EDS_E_PERM && ps != EDS_E_PERM)
		abort();
	eds_secret_key_wipe(&sk);
	spec(data + 1, size - 1);
	return 0;
}
