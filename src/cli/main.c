/*
 * main.c - the eds command: dispatch to one sub-command per file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} command;

static const command commands[] = {
    {"keygen", cmd_keygen, "make a device key pair (PREFIX.key, PREFIX.pub)"},
    {"pubkey", cmd_pubkey, "print the public key hex of a key file"},
    {"hash", cmd_hash, "BLAKE3 hash of files, printed like b3sum"},
    {"sign", cmd_sign, "append a device's next signed record to a chain file"},
    {"verify", cmd_verify, "check one record's signature and hash"},
    {"verify-chain", cmd_verify_chain, "check whole chains: sequence, links, signatures, payloads"},
    {"verify-oplog", cmd_verify_oplog, "check an exported operation log: its hash chain and heads"},
    {"record", cmd_record, "inspect records (e.g. print signed-header bytes)"},
    {"migrate", cmd_migrate, "carry an edgesentry-rs chain into a signed ESR1 chain"},
    {"serve", cmd_serve, "run the ingest server (HTTP(S), MQTT) in front of a ledger"},
    {"push", cmd_push, "send a chain file's records and payloads to an ingest server"},
    {"device", cmd_device, "register (one or a registry file), rotate, revoke, list devices"},
    {"ledger", cmd_ledger, "verify, export, back up, recover a ledger; its log and counts"},
    {"agent", cmd_agent, "sign readings, queue them durably and forward them to a server"},
    {"update", cmd_update, "sign, inspect and verify software updates (threshold, anti-rollback)"},
    {"demo", cmd_demo, "sign, verify and tamper with a lift-inspection run"},
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: eds COMMAND [OPTIONS]   (eds COMMAND --help for details)\n\n"
	        "EdgeSentry %s: tamper-evident audit records for IoT devices.\n\n"
	        "Commands:\n",
	        eds_version());
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nExit codes (every command):\n"
	             "  0  success (for verification: everything valid)\n"
	             "  1  verification ran and found a failure\n"
	             "  2  usage error, or unreadable or malformed input\n");
}

/*
 * Whatever a command printed must have reached standard output: a report
 * lost to a full disk or a closed pipe is not a success (exit 2).  stdio
 * buffers, so the last write error shows only at this flush.
 */
static int flushed(const char *cmd, int rc)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	fprintf(stderr, "eds %s: cannot write to standard output: %s\n", cmd, strerror(errno));
	return EDS_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EDS_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return flushed("--help", EDS_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("eds %s\n", eds_version());
		return flushed("--version", EDS_EXIT_OK);
	}
	if (eds_init() != EDS_OK) {
		fprintf(stderr, "eds: %s\n", eds_last_error());
		return EDS_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return flushed(argv[1], commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "eds: unknown command '%s' (try 'eds --help')\n", argv[1]);
	return EDS_EXIT_USAGE;
}
