/*
 * cmd_update.c - `eds update`: the publisher side (sign, add-signature,
 * inspect, trust) and the option parsing shared with the device side
 * (verify, commit: cmd_update_verify.c).  Design: docs/update.md.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "update_cli.h"

static const char help_sign[] =
    "eds update sign --image I --package ID --version V --security-version N\n"
    "                --target HW [--target HW2 ...] --key K [--key K2 ...] --out M\n"
    "                [--issued-ms MS] [--expires-ms MS]\n"
    "  Hash the image I (constant memory) and write a new manifest M signed by each\n"
    "  publisher key K (PKCS#8 PEM, chmod 600).  ID: 1..128 of A-Z a-z 0-9 . _ : - /;\n"
    "  V: semantic version (1.2.3, 1.2.3-rc.1+build.5); N: anti-rollback counter\n"
    "  0 .. 2^53-1; HW: target hardware id, 1..64 of A-Z a-z 0-9 . _ : -, up to 16;\n"
    "  --issued-ms: issue time (default now); --expires-ms: optional expiry.\n"
    "  M must not exist.\n";
static const char help_add[] =
    "eds update add-signature (--manifest M | --trust T) --key K\n"
    "  Add the signature of key K to manifest M (offline signing by several holders)\n"
    "  or to trust policy successor T; the file is replaced atomically.  A key that\n"
    "  already signed is refused.\n";
static const char help_inspect[] =
    "eds update inspect M [--json]\n"
    "  Print the manifest's fields, its manifest hash (BLAKE3 of the canonical\n"
    "  bytes) and the keys that signed it (signatures are not checked here).\n"
    "  --json: {manifest_hash, signed_bytes (hex of the canonical bytes), manifest}.\n";
static const char help_trust[] =
    "eds update trust --key PUB [--key PUB2 ...] --threshold K --out TRUST\n"
    "                 [--previous OLD [--sign-key SK ...]]\n"
    "  Write a trust policy: publisher public keys (hex, SPKI PEM or key file; up to\n"
    "  16) of which K must sign a manifest.  With --previous, TRUST is the successor\n"
    "  of OLD (serial + 1, linked by hash) and must be signed by K keys of OLD before\n"
    "  devices take it: --sign-key now, or 'add-signature --trust' later.  Keys left\n"
    "  out of the successor are revoked.\n";
static const char help_verify[] =
    "eds update verify --manifest M --image I --trust T --state DIR [--hardware HW]\n"
    "                  [--now MS | --trusted-clock]\n"
    "                  [--agent-state ADIR --key KEY --device ID]\n"
    "                  [--evidence-chain FILE --key KEY --device ID\n"
    "                   [--evidence-payload-dir PDIR]]\n"
    "  Decide whether this device may install image I.  DIR holds the device's\n"
    "  update state; on first use it is created for --hardware HW and pins T.  A T\n"
    "  that differs from the pinned policy must be its successor, signed by the\n"
    "  pinned threshold; it then replaces it.  Checks, in order: threshold of\n"
    "  distinct valid signatures, target hardware, security version >= the stored\n"
    "  minimum, issue time >= that of the newest installed manifest, expiry (only\n"
    "  with --now MS, a trusted time, or --trusted-clock, the system clock), image\n"
    "  size and BLAKE3 hash (streamed, constant memory).  An accepted manifest is\n"
    "  remembered as pending for 'eds update commit'.  With --agent-state each\n"
    "  decision (package, version, reason, manifest hash) is signed with KEY as\n"
    "  device ID's next record in the device agent's state ADIR and queued there,\n"
    "  so 'eds agent' forwards it like a reading (ADIR must not be in use by a\n"
    "  running agent).  Without an agent, --evidence-chain appends it to the chain\n"
    "  file FILE instead (payload in PDIR if given).\n"
    "eds update verify --legacy --image I --signature HEX|FILE --hash HEX\n"
    "                  --public-key K\n"
    "  Check an edgesentry-rs update: BLAKE3(I) = HEX and an Ed25519 signature by K\n"
    "  over those 32 bytes.  The version is NOT protected (warning printed).\n";
static const char help_commit[] =
    "eds update commit --state DIR\n"
    "  After the pending update was installed and confirmed working: raise the\n"
    "  minimum security version and newest issue time to the pending manifest's\n"
    "  (never lowered), atomically.  Exit 2 when nothing is pending.\n";
static const char help_exits[] =
    "Exit codes:\n"
    "  0   success; verify: the update is accepted\n"
    "  2   usage error; unreadable or malformed manifest, trust, key, image or state\n"
    "  11  verify: threshold of distinct valid trusted signatures not met\n"
    "  12  verify: the device's hardware id is not a target\n"
    "  13  verify: rollback, security version below the device's minimum\n"
    "  14  verify: stale, issued before the newest installed manifest\n"
    "  15  verify: expired (checked only with a trusted clock)\n"
    "  16  verify: image size differs (e.g. truncated)\n"
    "  17  verify: image hash differs (also --legacy)\n"
    "  18  verify: trust policy refused (not the pinned one nor its signed successor)\n"
    "  19  verify --legacy: signature invalid\n";

typedef struct sub {
	const char *name;
	const char *opts; /* option letters it accepts */
	const char *help;
	int (*run)(const upd_args *a);
} sub;

static int run_sign(const upd_args *a);
static int run_add(const upd_args *a);
static int run_inspect(const upd_args *a);
static int run_trust(const upd_args *a);

static const sub subs[] = {
    {"sign", "ipvstkoIE", help_sign, run_sign},
    {"add-signature", "mTk", help_add, run_add},
    {"inspect", "j", help_inspect, run_inspect},
    {"trust", "kKoPg", help_trust, run_trust},
    {"verify", "miTSnCHkdeDALGxu", help_verify, update_verify},
    {"commit", "S", help_commit, update_commit},
};

static void full_help(void)
{
	printf("usage: eds update SUBCOMMAND [OPTIONS]\n\n"
	       "Signed software updates: manifests signed by a threshold of publisher keys,\n"
	       "rotating trust policies, anti-rollback (docs/update.md).\n\n");
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		printf("%s\n", subs[i].help);
	fputs(help_exits, stdout);
}

int upd_parse_int(const char *cmd, const char *flag, const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 16 || strspn(s, "0123456789") != n)
		return cli_usage(cmd, "%s: must be an integer 0 .. 2^53-1, got '%s'", flag, s);
	for (; *s; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (v > EDS_INT_MAX)
		return cli_usage(cmd, "%s: must be an integer 0 .. 2^53-1", flag);
	*out = v;
	return EDS_EXIT_OK;
}

static const struct option long_opts[] = {
    {"image", required_argument, NULL, 'i'},
    {"package", required_argument, NULL, 'p'},
    {"version", required_argument, NULL, 'v'},
    {"security-version", required_argument, NULL, 's'},
    {"target", required_argument, NULL, 't'},
    {"key", required_argument, NULL, 'k'},
    {"out", required_argument, NULL, 'o'},
    {"issued-ms", required_argument, NULL, 'I'},
    {"expires-ms", required_argument, NULL, 'E'},
    {"manifest", required_argument, NULL, 'm'},
    {"trust", required_argument, NULL, 'T'},
    {"json", no_argument, NULL, 'j'},
    {"threshold", required_argument, NULL, 'K'},
    {"previous", required_argument, NULL, 'P'},
    {"sign-key", required_argument, NULL, 'g'},
    {"state", required_argument, NULL, 'S'},
    {"now", required_argument, NULL, 'n'},
    {"trusted-clock", no_argument, NULL, 'C'},
    {"hardware", required_argument, NULL, 'H'},
    {"device", required_argument, NULL, 'd'},
    {"evidence-chain", required_argument, NULL, 'e'},
    {"evidence-payload-dir", required_argument, NULL, 'D'},
    {"agent-state", required_argument, NULL, 'A'},
    {"legacy", no_argument, NULL, 'L'},
    {"signature", required_argument, NULL, 'G'},
    {"hash", required_argument, NULL, 'x'},
    {"public-key", required_argument, NULL, 'u'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char **single_slot(upd_args *a, int c)
{
	switch (c) {
	case 'i': return &a->image;
	case 'p': return &a->package;
	case 'v': return &a->version;
	case 's': return &a->secver;
	case 'o': return &a->out;
	case 'I': return &a->issued;
	case 'E': return &a->expires;
	case 'm': return &a->manifest;
	case 'T': return &a->trust;
	case 'K': return &a->threshold;
	case 'P': return &a->previous;
	case 'S': return &a->state;
	case 'n': return &a->now;
	case 'H': return &a->hardware;
	case 'd': return &a->device;
	case 'e': return &a->evidence_chain;
	case 'D': return &a->evidence_payload_dir;
	case 'A': return &a->agent_state;
	case 'G': return &a->signature;
	case 'x': return &a->hash;
	case 'u': return &a->public_key;
	default: return NULL;
	}
}

/* Store one option; lists (--key, --target, --sign-key) repeat. */
static int store(upd_args *a, int c, const char *name)
{
	const char **list = c == 'k' ? a->keys : c == 't' ? a->targets : a->sign_keys;
	size_t *n = c == 'k' ? &a->n_keys : c == 't' ? &a->n_targets : &a->n_sign_keys;
	const char **slot = single_slot(a, c);
	if (c == 'j' || c == 'C' || c == 'L') {
		bool *flag = c == 'j' ? &a->json : c == 'C' ? &a->trusted_clock : &a->legacy;
		*flag = true;
		return EDS_EXIT_OK;
	}
	if (optarg[0] == '\0')
		return cli_usage(a->cmd, "--%s: empty value", name);
	if (slot != NULL) {
		if (*slot != NULL)
			return cli_usage(a->cmd, "--%s given twice", name);
		*slot = optarg;
		return EDS_EXIT_OK;
	}
	if (*n >= UPD_LIST_MAX)
		return cli_usage(a->cmd, "--%s: at most %d", name, UPD_LIST_MAX);
	list[(*n)++] = optarg;
	return EDS_EXIT_OK;
}

/* EDS_EXIT_OK, a usage exit code (reported), or -1 when help was shown. */
static int parse(int argc, char **argv, const sub *s, upd_args *a)
{
	int c, idx;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", long_opts, &idx)) != -1) {
		if (c == 'h') {
			fputs(s->help, stdout);
			fputs("\n", stdout);
			fputs(help_exits, stdout);
			return -1;
		}
		if (c == ':')
			return cli_usage(a->cmd, "%s needs a value", argv[optind - 1]);
		if (c == '?' || strchr(s->opts, c) == NULL)
			return cli_usage(a->cmd, "unknown option '%s'", argv[optind - 1]);
		int rc = store(a, c, long_opts[idx].name);
		if (rc != EDS_EXIT_OK)
			return rc;
	}
	if (optind < argc && strcmp(s->name, "inspect") == 0)
		a->positional = argv[optind++];
	if (optind < argc)
		return cli_usage(a->cmd, "unexpected argument '%s'", argv[optind]);
	return EDS_EXIT_OK;
}

int cmd_update(int argc, char **argv)
{
	static char cmd[64];
	if (argc < 2) {
		full_help();
		return EDS_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		full_help();
		return EDS_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		upd_args a = {0};
		snprintf(cmd, sizeof cmd, "update %s", subs[i].name);
		a.cmd = cmd;
		int rc = parse(argc - 1, argv + 1, &subs[i], &a);
		if (rc != EDS_EXIT_OK)
			return rc < 0 ? EDS_EXIT_OK : rc;
		return subs[i].run(&a);
	}
	return cli_usage("update", "unknown subcommand '%s'", argv[1]);
}

/* ---- publisher side ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sign m with every key file in paths (each secret wiped after use). */
static eds_status sign_with(eds_update_manifest *m, eds_update_trust *t, const char *const *paths,
                            size_t n)
{
	for (size_t i = 0; i < n; i++) {
		eds_secret_key sk;
		eds_status st = eds_secret_key_load(&sk, paths[i]);
		if (st == EDS_OK)
			st = m != NULL ? eds_update_manifest_sign(m, &sk)
			               : eds_update_trust_sign(t, &sk);
		eds_secret_key_wipe(&sk);
		if (st != EDS_OK)
			return eds_fail_prefix(st, "%s", paths[i]);
	}
	return EDS_OK;
}

/* Write a document's JSON text (st: how making the text went). */
static int write_doc(const char *cmd, eds_status st, const char *text, size_t len, const char *path,
                     bool replace)
{
	if (st == EDS_OK)
		st = replace ? eds_write_file_atomic(path, text, len, 0644)
		             : eds_write_file_new(path, text, len, 0644);
	return st == EDS_OK ? EDS_EXIT_OK : cli_report(cmd, st, NULL);
}

static int write_manifest(const char *cmd, const eds_update_manifest *m, const char *path,
                          bool replace)
{
	char text[EDS_UPDATE_JSON_MAX];
	size_t len = 0;
	eds_status st = eds_update_manifest_to_json(m, text, sizeof text, &len);
	return write_doc(cmd, st, text, len, path, replace);
}

static int write_trust(const char *cmd, const eds_update_trust *t, const char *path, bool replace)
{
	char text[EDS_UPDATE_JSON_MAX];
	size_t len = 0;
	eds_status st = eds_update_trust_to_json(t, text, sizeof text, &len);
	return write_doc(cmd, st, text, len, path, replace);
}

static int sign_times(const upd_args *a, uint64_t *issued, uint64_t *expires)
{
	int rc = EDS_EXIT_OK;
	*issued = now_ms();
	*expires = 0;
	if (a->issued != NULL)
		rc = upd_parse_int(a->cmd, "--issued-ms", a->issued, issued);
	if (rc == EDS_EXIT_OK && a->expires != NULL)
		rc = upd_parse_int(a->cmd, "--expires-ms", a->expires, expires);
	if (rc == EDS_EXIT_OK && a->expires != NULL && *expires <= *issued)
		rc = cli_usage(a->cmd, "--expires-ms must be later than the issue time");
	return rc;
}

static int run_sign(const upd_args *a)
{
	uint64_t secver = 0, issued, expires, size; /* = 0: GCC -O3 false positive */
	uint8_t hash[32] = {0};
	eds_update_manifest m;
	eds_status st;
	if (!a->image || !a->package || !a->version || !a->secver || !a->out || !a->n_targets ||
	    !a->n_keys)
		return cli_usage(a->cmd, "--image, --package, --version, --security-version, "
		                         "--target, --key and --out are required");
	int rc = upd_parse_int(a->cmd, "--security-version", a->secver, &secver);
	if (rc != EDS_EXIT_OK || (rc = sign_times(a, &issued, &expires)) != EDS_EXIT_OK)
		return rc;
	if ((st = eds_update_manifest_init(&m, a->package, a->version, secver, 0, hash, issued,
	                                   expires)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	for (size_t i = 0; i < a->n_targets; i++)
		if ((st = eds_update_manifest_add_target(&m, a->targets[i])) != EDS_OK)
			return cli_report(a->cmd, st, NULL);
	if ((st = eds_blake3_file(hash, a->image, &size)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	if (size > EDS_INT_MAX)
		return cli_report(
		    a->cmd, eds_fail(EDS_E_LIMIT, "%s: larger than 2^53-1 bytes", a->image), NULL);
	memcpy(m.image_hash, hash, 32);
	m.image_size = size;
	if ((st = sign_with(&m, NULL, a->keys, a->n_keys)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	return write_manifest(a->cmd, &m, a->out, false);
}

static int run_add(const upd_args *a)
{
	eds_update_manifest m;
	eds_update_trust t;
	eds_status st;
	if ((a->manifest == NULL) == (a->trust == NULL) || a->n_keys != 1)
		return cli_usage(a->cmd, "give one of --manifest or --trust, and one --key");
	if (a->manifest != NULL) {
		if ((st = eds_update_manifest_load(&m, a->manifest)) != EDS_OK ||
		    (st = sign_with(&m, NULL, a->keys, 1)) != EDS_OK)
			return cli_report(a->cmd, st, NULL);
		return write_manifest(a->cmd, &m, a->manifest, true);
	}
	if ((st = eds_update_trust_load(&t, a->trust)) != EDS_OK ||
	    (st = sign_with(NULL, &t, a->keys, 1)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	return write_trust(a->cmd, &t, a->trust, true);
}

static void print_hex_line(const char *label, const uint8_t *b, size_t n)
{
	char hex[129];
	eds_hex_encode(hex, b, n);
	printf("%-17s %s\n", label, hex);
}

static int inspect_json(const eds_update_manifest *m, const uint8_t h[32])
{
	char text[EDS_UPDATE_JSON_MAX], hex[65], canon_hex[2 * EDS_UPDATE_CANON_MAX + 1];
	uint8_t canon[EDS_UPDATE_CANON_MAX];
	size_t len;
	eds_status st = eds_update_manifest_to_json(m, text, sizeof text, NULL);
	if (st == EDS_OK)
		st = eds_update_manifest_encode(m, canon, sizeof canon, &len);
	if (st != EDS_OK)
		return cli_report("update inspect", st, NULL);
	eds_hex_encode(hex, h, 32);
	eds_hex_encode(canon_hex, canon, len);
	/* The manifest text is our own canonical JSON: embed it verbatim. */
	printf("{\"manifest_hash\": \"%s\", \"signed_bytes\": \"%s\", \"manifest\": %s}\n", hex,
	       canon_hex, text);
	return EDS_EXIT_OK;
}

static int run_inspect(const upd_args *a)
{
	eds_update_manifest m;
	uint8_t h[32];
	eds_status st;
	if (a->positional == NULL)
		return cli_usage(a->cmd, "the manifest file is required");
	if ((st = eds_update_manifest_load(&m, a->positional)) != EDS_OK ||
	    (st = eds_update_manifest_hash(&m, h)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	if (a->json)
		return inspect_json(&m, h);
	printf("package           %s\nversion           %s\nsecurity_version  %llu\n", m.package,
	       m.version, (unsigned long long)m.security_version);
	printf("image_size        %llu\n", (unsigned long long)m.image_size);
	print_hex_line("image_blake3", m.image_hash, 32);
	printf("issued_ms         %llu\n", (unsigned long long)m.issued_ms);
	if (m.has_expiry)
		printf("expires_ms        %llu\n", (unsigned long long)m.expires_ms);
	else
		printf("expires_ms        none\n");
	for (size_t i = 0; i < m.n_targets; i++)
		printf("target            %s\n", m.targets[i]);
	print_hex_line("manifest_hash", h, 32);
	for (size_t i = 0; i < m.n_signatures; i++)
		print_hex_line("signed_by", m.signatures[i].key.bytes, 32);
	return EDS_EXIT_OK;
}

static int trust_keys(const upd_args *a, eds_public_key *keys)
{
	for (size_t i = 0; i < a->n_keys; i++) {
		eds_status st = eds_public_key_load(&keys[i], a->keys[i]);
		if (st != EDS_OK)
			return cli_report(a->cmd, st, a->keys[i]);
	}
	return EDS_EXIT_OK;
}

static int run_trust(const upd_args *a)
{
	eds_public_key keys[UPD_LIST_MAX];
	eds_update_trust t, prev;
	uint64_t k = 0; /* GCC -O3 -Wmaybe-uninitialized false positive */
	eds_status st;
	if (a->n_keys == 0 || a->threshold == NULL || a->out == NULL)
		return cli_usage(a->cmd, "--key, --threshold and --out are required");
	if (a->n_sign_keys > 0 && a->previous == NULL)
		return cli_usage(a->cmd, "--sign-key signs a successor: give --previous");
	int rc = upd_parse_int(a->cmd, "--threshold", a->threshold, &k);
	if (rc != EDS_EXIT_OK || (rc = trust_keys(a, keys)) != EDS_EXIT_OK)
		return rc;
	if (k > UPD_LIST_MAX)
		return cli_usage(a->cmd, "--threshold: must be 1 .. the number of keys");
	if ((st = eds_update_trust_init(&t, keys, a->n_keys, (unsigned)k)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	if (a->previous != NULL &&
	    ((st = eds_update_trust_load(&prev, a->previous)) != EDS_OK ||
	     (st = eds_update_trust_follow(&t, &prev)) != EDS_OK ||
	     (st = sign_with(NULL, &t, a->sign_keys, a->n_sign_keys)) != EDS_OK))
		return cli_report(a->cmd, st, NULL);
	return write_trust(a->cmd, &t, a->out, false);
}
