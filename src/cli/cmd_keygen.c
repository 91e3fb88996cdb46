/*
 * cmd_keygen.c - `eds keygen --out PREFIX [--seed HEX]`: a device key pair
 * as PREFIX.key (PKCS#8, 0600) and PREFIX.pub (SPKI, 0644).
 */
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_flags.h"

static const char *const cmd = "keygen";

static void help(void)
{
	printf("usage: eds keygen --out PREFIX [--seed HEX]\n\n"
	       "Make an Ed25519 device key pair: PREFIX.key, the secret key as PKCS#8 PEM\n"
	       "(mode 0600), and PREFIX.pub, the public key as SubjectPublicKeyInfo PEM (mode\n"
	       "0644): the files `openssl genpkey -algorithm ed25519` and `openssl pkey\n"
	       "-pubout` write.  Prints the public key as 64 hex characters.  Existing files\n"
	       "are never overwritten.\n\n"
	       "Options:\n"
	       "  --out PREFIX  write PREFIX.key and PREFIX.pub (required)\n"
	       "  --seed HEX    derive the key from this 32-byte seed (64 hex characters)\n"
	       "                instead of fresh randomness; for tests and reproducible demos\n"
	       "                only, since other local users can see command lines\n"
	       "  -h, --help    show this help\n\n"
	       "Exit codes:\n"
	       "  0  key pair written\n"
	       "  1  (not used by this command)\n"
	       "  2  usage error, bad seed, or the files exist or cannot be written\n");
}

static int parse_args(int argc, char **argv, char **out, char **seed)
{
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		int r;
		if ((r = cli_flag(argc, argv, &i, "--out", &v)) > 0)
			*out = (char *)v;
		else if (r == 0 && (r = cli_flag(argc, argv, &i, "--seed", &v)) > 0)
			*seed =
			    (char *)v; /* into argv, writable (C11 5.1.2.2.1): make_key wipes it */
		if (r < 0)
			return cli_usage(cmd, "%s needs a value", argv[i]);
		if (r == 0)
			return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
	}
	if (*out == NULL || **out == '\0')
		return cli_usage(cmd, "--out PREFIX is required");
	return EDS_EXIT_OK;
}

/* The key from --seed, or fresh; the seed text is wiped from argv so it
 * lingers in neither memory nor /proc/PID/cmdline. */
static int make_key(eds_secret_key *sk, char *seed_hex)
{
	uint8_t seed[32];
	if (seed_hex == NULL) {
		eds_status st = eds_secret_key_generate(sk);
		return st == EDS_OK ? EDS_EXIT_OK : cli_report(cmd, st, NULL);
	}
	size_t n = strlen(seed_hex);
	eds_status st = eds_hex_decode(seed, sizeof seed, seed_hex, n);
	sodium_memzero(seed_hex, n);
	if (st == EDS_OK)
		st = eds_secret_key_from_seed(sk, seed);
	sodium_memzero(seed, sizeof seed);
	if (st == EDS_E_MALFORMED && n != 2 * sizeof seed)
		return cli_usage(cmd, "--seed: must be 64 hex characters (a 32-byte seed), got %zu",
		                 n);
	if (st == EDS_E_MALFORMED)
		return cli_usage(cmd, "--seed: must be hex digits only");
	return st == EDS_OK ? EDS_EXIT_OK : cli_report(cmd, st, "--seed");
}

static int write_pair(const eds_secret_key *sk, const char *key_path, const char *pub_path)
{
	struct stat st_buf;
	eds_public_key pk;
	char hex[65];
	/* Checked first so an existing .pub does not leave a fresh .key behind. */
	if (lstat(pub_path, &st_buf) == 0) {
		eds_fail(EDS_E_EXISTS, "%s: already exists, refusing to overwrite it", pub_path);
		return cli_report(cmd, EDS_E_EXISTS, NULL);
	}
	eds_status st = eds_secret_key_save(sk, key_path);
	if (st != EDS_OK)
		return cli_report(cmd, st, NULL);
	eds_secret_key_public(sk, &pk);
	if ((st = eds_public_key_save(&pk, pub_path)) != EDS_OK) {
		unlink(key_path); /* created by us just now (O_EXCL) */
		return cli_report(cmd, st, NULL);
	}
	eds_public_key_to_hex(&pk, hex);
	printf("%s\n", hex);
	return EDS_EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
	char *out = NULL, *seed_hex = NULL;
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	eds_secret_key sk;
	static const char *const names[] = {"--out", "--seed"};
	if (cli_help_asked(argc, argv, names, 2)) {
		help();
		return EDS_EXIT_OK;
	}
	int rc = parse_args(argc, argv, &out, &seed_hex);
	if (rc != EDS_EXIT_OK) {
		if (seed_hex != NULL)
			sodium_memzero(seed_hex, strlen(seed_hex));
		return rc;
	}
	if ((size_t)snprintf(key_path, sizeof key_path, "%s.key", out) >= sizeof key_path ||
	    (size_t)snprintf(pub_path, sizeof pub_path, "%s.pub", out) >= sizeof pub_path)
		return cli_usage(cmd, "--out: path too long");
	if ((rc = make_key(&sk, seed_hex)) != EDS_EXIT_OK)
		return rc;
	rc = write_pair(&sk, key_path, pub_path);
	eds_secret_key_wipe(&sk);
	return rc;
}
