/*
 * cmd_migrate.c - `eds migrate`: carry an edgesentry-rs (legacy) chain into a
 * new ESR1 chain signed by the migrating key.
 *
 * Record i of the new chain has as its payload the postcard bytes of legacy
 * record i.  Postcard rather than JSON because those bytes are the ones the
 * legacy record hash is computed over: the new record's payload_hash IS the
 * legacy record_hash, so the signed ESR1 chain commits to each legacy record
 * exactly, with no canonical-JSON rules to agree on, and `b3sum` of a stored
 * payload reproduces the legacy hash.
 *
 * One pass: each record is verified (legacy chain rule, signature with
 * --public-key, payload with --payload-dir) and migrated as it is read, into
 * a file that becomes CHAIN only when every record passed, so a broken
 * legacy chain leaves nothing behind.  CHAIN is never overwritten: the
 * finished file is hard-linked into place, which fails if CHAIN exists.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "edgesentry/legacy.h"
#include "legacy_cli.h"

#define CMD "migrate"

static const char help_text[] =
    "usage: eds migrate [--format legacy] FILE --key KEY --out CHAIN.jsonl\n"
    "                   [--public-key LEGACYKEY|HEX] [--device ID]\n"
    "                   [--payload-dir DIR] [--out-payload-dir DIR]\n"
    "\n"
    "Carry an edgesentry-rs chain file (one JSON array of legacy records) into a\n"
    "new ESR1 chain signed with KEY.  The legacy chain is verified first, as\n"
    "`eds verify-chain --format legacy` does; a chain that fails any check is\n"
    "refused and nothing is written.  ESR1 record n (n = 1, 2, ...) carries legacy\n"
    "record n-1: its payload is the legacy record's postcard encoding, so its\n"
    "payload_hash equals the legacy record_hash; its timestamp_ms is the time of\n"
    "the migration; its object_ref is \"legacy/<legacy sequence>\".\n"
    "\n"
    "What the new chain proves: the holder of KEY saw exactly these legacy\n"
    "records, in this order, at migration time.  It does not prove that the\n"
    "legacy metadata was unaltered before migration (see docs/compat.md).\n"
    "\n"
    "Options:\n"
    "  --format legacy        the input format (the default and only one)\n"
    "  --key KEY              secret key that signs the new chain (PKCS#8 PEM or\n"
    "                         edgesentry-rs key JSON; must not be readable by\n"
    "                         group or others)\n"
    "  --out CHAIN.jsonl      the new chain, JSON Lines; must not exist yet\n"
    "  --public-key KEY|HEX   check every legacy signature with this key (64 hex\n"
    "                         characters or a key file); without it the legacy\n"
    "                         signatures are NOT checked\n"
    "  --device ID            device_id of the new records (default: the legacy\n"
    "                         device_id of the first record, when it is a valid\n"
    "                         ESR1 device id)\n"
    "  --payload-dir DIR      check each legacy payload in DIR/<h[0..2]>/<h[2..64]>\n"
    "  --out-payload-dir DIR  store each new payload (the postcard bytes) in DIR,\n"
    "                         so `eds verify-chain --payload-dir DIR` can check\n"
    "                         them; DIR may be the same as --payload-dir\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit codes:\n"
    "  0  migrated; CHAIN.jsonl written\n"
    "  1  the legacy chain failed verification; nothing written\n"
    "  2  usage error, unreadable or malformed input, unusable key, CHAIN.jsonl\n"
    "     exists, or a write failed; nothing written\n";

typedef struct args {
	const char *path, *key, *out, *public_key, *device, *payload_dir, *out_payload_dir;
} args;

typedef struct migration {
	const args *a;
	eds_secret_key sk;
	eds_legacy_chain chain;
	eds_legacy_reader *rd;
	char device[EDS_DEVICE_ID_MAX + 1];
	uint64_t now_ms;
	uint8_t head[EDS_HASH_LEN]; /* record_hash of the last new record */
	uint64_t first_sequence;    /* legacy sequence of the first record */
} migration;

/* ---- one record ------------------------------------------------------------ */

/* The ESR1 device id: --device (checked already), else the legacy one if valid in ESR1. */
static eds_status choose_device(migration *m, const eds_legacy_record *first)
{
	const char *id = m->a->device != NULL ? m->a->device : first->device_id;
	if (eds_device_id_check(id, strlen(id)) != EDS_OK)
		return eds_fail_prefix(EDS_E_FIELD, "legacy device_id is not a valid ESR1 device "
		                                    "id, give --device ID");
	memcpy(m->device, id, strlen(id) + 1);
	m->first_sequence = first->sequence;
	return EDS_OK;
}

/* Sign the ESR1 record that carries legacy record r and write it as a line. */
static eds_status migrate_record(migration *m, const eds_legacy_record *r, int fd,
                                 const char *tmp_path)
{
	uint8_t postcard[EDS_LEGACY_POSTCARD_MAX], legacy_hash[EDS_HASH_LEN];
	char ref[32], line[EDS_RECORD_JSON_MAX + 1];
	size_t plen, jlen;
	eds_record e;
	uint64_t n = m->chain.records; /* r is already counted */
	eds_status st = eds_legacy_postcard_encode(r, postcard, sizeof postcard, &plen);
	if (st != EDS_OK)
		return st;
	eds_blake3(legacy_hash, postcard, plen);
	snprintf(ref, sizeof ref, "legacy/%llu", (unsigned long long)r->sequence);
	if ((st = eds_record_init_hashed(&e, m->device, n, m->now_ms, legacy_hash, plen,
	                                 n == 1 ? NULL : m->head, ref)) != EDS_OK ||
	    (st = eds_record_sign(&e, &m->sk)) != EDS_OK ||
	    (st = eds_record_compute_hash(&e, m->head)) != EDS_OK ||
	    (st = eds_record_to_json(&e, line, sizeof line - 1, &jlen)) != EDS_OK)
		return st;
	line[jlen++] = '\n';
	if (m->a->out_payload_dir != NULL &&
	    (st = eds_payload_put(m->a->out_payload_dir, postcard, plen, NULL)) != EDS_OK)
		return st;
	return eds_write_all(fd, line, jlen, tmp_path);
}

/* The fill callback of the new chain file: verify and migrate every record. */
static eds_status write_chain(int fd, void *ctx, const char *tmp_path)
{
	migration *m = ctx;
	eds_legacy_record r;
	eds_status st;
	while ((st = eds_legacy_reader_next(m->rd, &r)) == EDS_OK) {
		uint64_t index = m->chain.records;
		if ((index == 0 && (st = choose_device(m, &r)) != EDS_OK) ||
		    (st = eds_legacy_chain_add(&m->chain, &r)) != EDS_OK ||
		    (st = migrate_record(m, &r, fd, tmp_path)) != EDS_OK) {
			eds_fail_prefix(st, "%s: record #%llu (line %llu, sequence %llu)",
			                m->a->path, (unsigned long long)index,
			                (unsigned long long)eds_legacy_reader_line(m->rd),
			                (unsigned long long)r.sequence);
			break;
		}
	}
	if (st == EDS_DONE && m->chain.records == 0)
		return eds_fail(EDS_E_FIELD, "%s holds no legacy records: nothing to migrate",
		                m->a->path);
	return st == EDS_DONE ? EDS_OK : st;
}

/* ---- the output file ----------------------------------------------------------- */

/*
 * Write the chain to a private staging file, then hard-link it to out:
 * link() fails when out exists, so nothing is ever overwritten, and out
 * appears only complete and durable.
 */
static eds_status write_output(migration *m)
{
	char staging[4096];
	const char *out = m->a->out;
	if (snprintf(staging, sizeof staging, "%s.migrating.XXXXXX", out) >= (int)sizeof staging)
		return eds_fail(EDS_E_LIMIT, "%s: path too long", out);
	int fd = mkstemp(staging);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", staging, strerror(errno));
	close(fd);
	eds_status st = eds_write_file_atomic_fn(staging, 0644, write_chain, m);
	if (st == EDS_OK && link(staging, out) != 0)
		st = eds_fail(errno == EEXIST ? EDS_E_EXISTS : EDS_E_IO, "%s: %s", out,
		              errno == EEXIST ? "already exists, refusing to overwrite it"
		                              : strerror(errno));
	unlink(staging);
	if (st == EDS_OK)
		st = eds_fsync_dir_of(out);
	return st;
}

/* ---- the command ----------------------------------------------------------- */

static int take_option(void *ctx, int opt, const char *value)
{
	args *a = ctx;
	switch (opt) {
	case 'f':
		if (strcmp(value, "legacy") == 0)
			break;
		return cli_usage(CMD, "--format must be legacy, not '%s'", value);
	case 'k': a->key = value; break;
	case 'o': a->out = value; break;
	case 'P': a->public_key = value; break;
	case 'd': a->device = value; break;
	case 'p': a->payload_dir = value; break;
	case 'O': a->out_payload_dir = value; break;
	default: return cli_usage(CMD, "unknown option");
	}
	return EDS_EXIT_OK;
}

static int parse_args(int argc, char **argv, args *a)
{
	static const struct option longopts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"key", required_argument, NULL, 'k'},
	    {"out", required_argument, NULL, 'o'},
	    {"public-key", required_argument, NULL, 'P'},
	    {"device", required_argument, NULL, 'd'},
	    {"payload-dir", required_argument, NULL, 'p'},
	    {"out-payload-dir", required_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* Usage errors return the constant rather than cli_usage()'s result, so
	 * the static analyser sees that --key and --out are set on success. */
	memset(a, 0, sizeof *a);
	int rc = cli_getopt_file(CMD, argc, argv, longopts, help_text, take_option, a, &a->path);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (a->key == NULL || a->out == NULL) {
		cli_usage(CMD, "--key and --out are required");
		return EDS_EXIT_USAGE;
	}
	if (a->device != NULL && eds_device_id_check(a->device, strlen(a->device)) != EDS_OK) {
		cli_usage(CMD, "--device: %s", eds_last_error());
		return EDS_EXIT_USAGE;
	}
	return EDS_EXIT_OK;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void print_result(const migration *m)
{
	char head[2 * EDS_HASH_LEN + 1];
	const eds_legacy_chain *c = &m->chain;
	eds_hex_encode(head, m->head, EDS_HASH_LEN);
	printf("migrated %llu legacy record%s (sequences %llu..%llu) from %s into %s: device %s, "
	       "sequences 1..%llu, head %s; legacy signatures ",
	       (unsigned long long)c->records, c->records == 1 ? "" : "s",
	       (unsigned long long)m->first_sequence, (unsigned long long)c->last_sequence,
	       m->a->path, m->a->out, m->device, (unsigned long long)c->records, head);
	if (c->opts.public_key != NULL)
		printf("checked: %llu", (unsigned long long)c->signatures_checked);
	else
		printf("NOT checked (no --public-key)");
	if (c->opts.payload_dir != NULL)
		printf("; legacy payloads checked: %llu", (unsigned long long)c->payloads_checked);
	printf("\n");
}

/* Load keys and open FILE; on failure the returned exit code is non-zero. */
static int prepare(migration *m, eds_public_key *pk)
{
	eds_legacy_chain_options opts;
	eds_status st = cli_legacy_options(&opts, pk, m->a->public_key, m->a->payload_dir);
	if (st != EDS_OK)
		return cli_report(CMD, st, "--public-key");
	/* Early and friendly; write_output's link() is what guarantees it. */
	if (access(m->a->out, F_OK) == 0)
		return cli_report(CMD,
		                  eds_fail(EDS_E_EXISTS,
		                           "%s: already exists, refusing to overwrite it",
		                           m->a->out),
		                  "--out");
	if ((st = eds_secret_key_load(&m->sk, m->a->key)) != EDS_OK)
		return cli_report(CMD, st, "--key");
	eds_legacy_chain_init(&m->chain, &opts);
	if ((st = eds_legacy_reader_open(&m->rd, m->a->path)) != EDS_OK)
		return cli_report(CMD, st, NULL);
	m->now_ms = now_ms();
	return EDS_EXIT_OK;
}

int cmd_migrate(int argc, char **argv)
{
	args a;
	migration m = {.a = &a};
	eds_public_key pk;
	int rc = parse_args(argc, argv, &a);
	if (rc != EDS_EXIT_OK)
		return rc < 0 ? EDS_EXIT_OK : rc;
	rc = prepare(&m, &pk);
	if (rc == EDS_EXIT_OK) {
		eds_status st = write_output(&m);
		if (st != EDS_OK) {
			rc = cli_report(CMD, st, NULL);
			/* Any failed legacy check is a verification outcome. */
			if (m.chain.failed > 0)
				rc = EDS_EXIT_INVALID;
		} else {
			cli_legacy_warning(CMD);
			print_result(&m);
		}
	}
	eds_legacy_reader_close(m.rd);
	eds_secret_key_wipe(&m.sk);
	return rc;
}
