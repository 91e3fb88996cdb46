/*
 * cmd_pubkey.c - `eds pubkey KEY`: the public key hex of a key file.
 */
#include <string.h>

#include "cli.h"

static const char *const cmd = "pubkey";

static void help(void)
{
	printf(
	    "usage: eds pubkey KEY\n\n"
	    "Print the Ed25519 public key of KEY as 64 lowercase hex characters.  KEY is a\n"
	    "secret key file (PKCS#8 PEM, as `eds keygen` or `openssl genpkey -algorithm\n"
	    "ed25519` write it), a public key file (SubjectPublicKeyInfo PEM), an\n"
	    "edgesentry-rs key JSON file ({\"private_key_hex\": ..., \"public_key_hex\": ...}),\n"
	    "or 64 hex characters.  A file holding a secret key is refused when group or\n"
	    "others can read it (fix: chmod 600 FILE).\n\n"
	    "Options:\n"
	    "  -h, --help  show this help\n\n"
	    "Exit codes:\n"
	    "  0  public key printed\n"
	    "  1  (not used by this command)\n"
	    "  2  usage error, or KEY is missing, unreadable, unsafe or not an Ed25519 key\n");
}

int cmd_pubkey(int argc, char **argv)
{
	eds_public_key pk;
	char hex[65];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			help();
			return EDS_EXIT_OK;
		}
	}
	if (argc != 2)
		return cli_usage(cmd, argc < 2 ? "KEY is required" : "exactly one KEY expected");
	eds_status st = eds_public_key_load(&pk, argv[1]);
	if (st != EDS_OK)
		return cli_report(cmd, st, NULL);
	eds_public_key_to_hex(&pk, hex);
	printf("%s\n", hex);
	return EDS_EXIT_OK;
}
