/*
 * cmd_sign.c - `eds sign`: append a device's next signed record to a chain
 * file (JSON Lines), storing the payload in a payload directory if asked.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_flags.h"

static const char help[] =
    "usage: eds sign --key KEY --device ID --chain CHAIN.jsonl --payload FILE\n"
    "                [--payload-dir DIR] [--object-ref REF] [--timestamp-ms MS]\n"
    "\n"
    "Sign the next record of device ID over the payload FILE, append it to CHAIN.jsonl\n"
    "and print it on standard output (one JSON line).\n"
    "\n"
    "  --key KEY          the device's secret key: PKCS#8 PEM as written by 'eds keygen'\n"
    "                     or 'openssl genpkey -algorithm ed25519'; group and others must\n"
    "                     not be able to read it (chmod 600)\n"
    "  --device ID        device id: 1..128 characters of A-Z a-z 0-9 . _ : -\n"
    "  --chain FILE       the chain file (JSON Lines), created with mode 0644 when absent;\n"
    "                     it may hold other devices' records as well\n"
    "  --payload FILE     the reading to sign (read twice in constant memory when copied)\n"
    "  --payload-dir DIR  also store the payload under its hash in DIR\n"
    "                     (DIR/<h[0..2]>/<h[2..64]>; DIR is created if absent)\n"
    "  --object-ref REF   where the payload is kept (default: ID/NAME, NAME being the\n"
    "                     base name of FILE, e.g. lift-01/inspection-1.bin)\n"
    "  --timestamp-ms MS  the record's time in Unix milliseconds (default: now)\n"
    "  -h, --help         show this help\n"
    "\n"
    "The new record gets the device's last sequence in CHAIN.jsonl plus one (1 for a\n"
    "device without records) and links to that record's hash.  Nothing is appended\n"
    "when the device's records in CHAIN.jsonl do not form a valid chain.  Concurrent\n"
    "'eds sign' runs on one chain file take turns (the file is locked).\n"
    "\n"
    "Exit codes:\n"
    "  0  the record was appended and printed\n"
    "  1  the device's existing records in CHAIN.jsonl do not form a valid chain\n"
    "     (sequence gap or reorder, or a prev_hash that does not link)\n"
    "  2  usage error; unreadable or malformed key, payload or chain file; write error\n";

typedef struct sign_args {
	const char *key, *device, *chain, *payload, *payload_dir, *object_ref, *timestamp;
} sign_args;

/* Strict decimal: digits only, 0 .. 2^53-1. */
static int parse_ms(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0' || strlen(s) > 16)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > EDS_INT_MAX)
		return -1;
	*out = v;
	return 0;
}

/* EDS_EXIT_OK, or the exit code for a usage error (already reported). -1: help shown. */
static int parse_args(int argc, char **argv, sign_args *a)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"device", required_argument, NULL, 'd'},
	    {"chain", required_argument, NULL, 'c'},
	    {"payload", required_argument, NULL, 'p'},
	    {"payload-dir", required_argument, NULL, 'D'},
	    {"object-ref", required_argument, NULL, 'o'},
	    {"timestamp-ms", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char **const slots[128] = {
	    ['k'] = &a->key,      ['d'] = &a->device,      ['c'] = &a->chain,
	    ['p'] = &a->payload,  ['D'] = &a->payload_dir, ['o'] = &a->object_ref,
	    ['t'] = &a->timestamp};
	int rc = cli_parse_slots("sign", argc, argv, opts, slots, help);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (a->key == NULL || a->device == NULL || a->chain == NULL || a->payload == NULL)
		return cli_usage("sign", "--key, --device, --chain and --payload are required");
	return EDS_EXIT_OK;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Default object_ref: DEVICE/<base name of the payload file>. */
static void default_ref(char *out, size_t cap, const char *device, const char *payload)
{
	size_t len = strlen(payload);
	while (len > 1 && payload[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && payload[start - 1] != '/')
		start--;
	snprintf(out, cap, "%s/%.*s", device, (int)(len - start), payload + start);
}

static eds_status hash_payload(const sign_args *a, eds_record *r)
{
	if (a->payload_dir != NULL)
		return eds_payload_put_file(a->payload_dir, a->payload, r->payload_hash,
		                            &r->payload_size);
	return eds_blake3_file(r->payload_hash, a->payload, &r->payload_size);
}

/* Link r to the device's head in the chain, sign, append, print. */
static int sign_append(const sign_args *a, eds_record *r, const eds_secret_key *sk)
{
	char json[EDS_RECORD_JSON_MAX];
	int rc = cli_chain_append("sign", a->chain, r, sk);
	if (rc != EDS_EXIT_OK)
		return rc;
	eds_status st = eds_record_to_json(r, json, sizeof json, NULL);
	if (st != EDS_OK)
		return cli_report("sign", st, NULL);
	printf("%s\n", json);
	return fflush(stdout) == 0 ? EDS_EXIT_OK : EDS_EXIT_USAGE;
}

static int run(const sign_args *a, eds_record *r)
{
	eds_secret_key sk;
	eds_status st;
	if ((st = eds_secret_key_load(&sk, a->key)) != EDS_OK)
		return cli_report("sign", st, NULL);
	int rc = EDS_EXIT_USAGE;
	if ((st = hash_payload(a, r)) != EDS_OK) {
		rc = cli_report("sign", st, NULL);
	} else {
		rc = sign_append(a, r, &sk);
	}
	eds_secret_key_wipe(&sk);
	return rc;
}

int cmd_sign(int argc, char **argv)
{
	static const uint8_t no_hash[EDS_HASH_LEN];
	sign_args a = {0};
	uint64_t ts;
	eds_record r;
	char ref[EDS_OBJECT_REF_MAX + EDS_DEVICE_ID_MAX + 2];
	int rc = parse_args(argc, argv, &a);
	if (rc != EDS_EXIT_OK)
		return rc < 0 ? EDS_EXIT_OK : rc;
	if (a.timestamp == NULL)
		ts = now_ms();
	else if (parse_ms(a.timestamp, &ts) != 0)
		return cli_usage("sign", "--timestamp-ms: must be an integer 0 .. 2^53-1, got '%s'",
		                 a.timestamp);
	if (a.object_ref == NULL)
		default_ref(ref, sizeof ref, a.device, a.payload);
	/* Check the fields known now, before reading the key or touching the chain;
	 * sequence, links and payload are filled in later. */
	eds_status st = eds_record_init_hashed(&r, a.device, 1, ts, no_hash, 0, NULL,
	                                       a.object_ref != NULL ? a.object_ref : ref);
	if (st != EDS_OK)
		return cli_report("sign", st,
		                  a.object_ref == NULL &&
		                          strncmp(eds_last_error(), "object_ref", 10) == 0
		                      ? "the default object_ref (set --object-ref)"
		                      : NULL);
	return run(&a, &r);
}
