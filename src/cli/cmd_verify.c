/*
 * cmd_verify.c - `eds verify`: check one record's fields, record_hash and
 * signature (and, if asked, its payload).
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"

static const char help[] =
    "usage: eds verify --record FILE --public-key KEY|HEX\n"
    "                  [--payload FILE | --payload-dir DIR]\n"
    "\n"
    "Check one record: its fields, its record_hash (when stated) and its signature.\n"
    "On success print 'valid: device ID sequence N record_hash HASH'.\n"
    "\n"
    "  --record FILE      a file holding exactly one record: a JSON object (one line or\n"
    "                     pretty-printed) or a JSON array of one record; '-' reads\n"
    "                     standard input\n"
    "  --public-key KEY   the device's public key: 64 hex characters, or a file (SPKI PEM\n"
    "                     as 'openssl pkey -pubout' writes, or a secret key file)\n"
    "  --payload FILE     also check that FILE is the record's payload (size and hash)\n"
    "  --payload-dir DIR  also check the payload stored in the payload directory DIR\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit codes:\n"
    "  0  the record is valid (and so is its payload, when checked)\n"
    "  1  verification failed: bad signature, record_hash mismatch, payload differing\n"
    "     in size or hash, or payload missing from --payload-dir\n"
    "  2  usage error; unreadable or malformed record or key; unreadable --payload\n";

typedef struct verify_args {
	const char *record, *public_key, *payload, *payload_dir;
} verify_args;

/* EDS_EXIT_OK, or the exit code of a reported usage error; -1 after --help. */
static int parse_args(int argc, char **argv, verify_args *a)
{
	static const struct option opts[] = {
	    {"record", required_argument, NULL, 'r'},
	    {"public-key", required_argument, NULL, 'k'},
	    {"payload", required_argument, NULL, 'p'},
	    {"payload-dir", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char **const slots[128] = {['r'] = &a->record,
	                                 ['k'] = &a->public_key,
	                                 ['p'] = &a->payload,
	                                 ['D'] = &a->payload_dir};
	int rc = cli_parse_slots("verify", argc, argv, opts, slots, help);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (a->record == NULL || a->public_key == NULL)
		return cli_usage("verify", "--record and --public-key are required");
	if (a->payload != NULL && a->payload_dir != NULL)
		return cli_usage("verify", "give --payload or --payload-dir, not both");
	return EDS_EXIT_OK;
}

/* The payload file must have the record's size and hash. */
static eds_status check_payload_file(const char *path, const eds_record *r)
{
	uint8_t hash[EDS_HASH_LEN];
	uint64_t size;
	eds_status st = eds_blake3_file(hash, path, &size);
	if (st != EDS_OK)
		return st;
	if (size != r->payload_size)
		return eds_fail(EDS_E_PAYLOAD_MISMATCH,
		                "payload %s: size differs: %llu bytes, the record says %llu", path,
		                (unsigned long long)size, (unsigned long long)r->payload_size);
	if (memcmp(hash, r->payload_hash, EDS_HASH_LEN) != 0)
		return eds_fail(EDS_E_PAYLOAD_MISMATCH,
		                "payload %s: hash differs from the record's payload_hash", path);
	return EDS_OK;
}

int cmd_verify(int argc, char **argv)
{
	verify_args a = {0};
	eds_record r;
	eds_public_key pk;
	uint8_t hash[EDS_HASH_LEN];
	char hex[2 * EDS_HASH_LEN + 1];
	int rc = parse_args(argc, argv, &a);
	if (rc != EDS_EXIT_OK)
		return rc < 0 ? EDS_EXIT_OK : rc;
	eds_status st = eds_record_load(&r, a.record);
	if (st != EDS_OK)
		return cli_report("verify", st, NULL);
	if ((st = eds_public_key_load(&pk, a.public_key)) != EDS_OK)
		return cli_report("verify", st, "--public-key");
	if ((st = eds_record_verify(&r, &pk)) != EDS_OK)
		return cli_report("verify", st, a.record);
	if (a.payload != NULL)
		st = check_payload_file(a.payload, &r);
	else if (a.payload_dir != NULL)
		st = eds_payload_check(a.payload_dir, r.payload_hash, r.payload_size);
	/* A payload missing from the store is a finding about the store, not bad input. */
	if (st == EDS_E_NOT_FOUND && a.payload_dir != NULL) {
		cli_report("verify", st, NULL);
		return EDS_EXIT_INVALID;
	}
	if (st != EDS_OK)
		return cli_report("verify", st, NULL);
	if ((st = eds_record_compute_hash(&r, hash)) != EDS_OK)
		return cli_report("verify", st, NULL);
	eds_hex_encode(hex, hash, sizeof hash);
	printf("valid: device %s sequence %llu record_hash %s%s\n", r.device_id,
	       (unsigned long long)r.sequence, hex,
	       a.payload != NULL || a.payload_dir != NULL ? " (payload checked)" : "");
	return EDS_EXIT_OK;
}
