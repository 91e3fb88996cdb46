/*
 * cmd_device.c - `eds device add|list|rotate|revoke|import --ledger DIR ...`: the
 * server's device registry and key history, kept in the ledger.  Safe to
 * run while `eds serve` uses the same ledger: the server notices changes.
 * list opens the ledger read-only (eds_ledger_options.read_only).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_flags.h"
#include "cli_json.h"
#include "device_import.h"
#include "edgesentry/ledger.h"
#include "progress.h"
#include "store/ledger_internal.h"

static const char *const cmd = "device";
/* The flags that take a value (their values are never switches or help). */
static const char *const names[] = {"--ledger", "--id", "--public-key", "--from-sequence",
                                    "--registry"};

static void help(void)
{
	printf(
	    "usage: eds device add    --ledger DIR --id ID --public-key KEY\n"
	    "       eds device rotate --ledger DIR --id ID --public-key KEY [--from-sequence N]\n"
	    "       eds device revoke --ledger DIR --id ID [--from-sequence N]\n"
	    "       eds device list   --ledger DIR [--json]\n"
	    "       eds device import --ledger DIR --registry FILE [--json]\n\n"
	    "Manage the devices an `eds serve` ledger accepts records from.  The ledger\n"
	    "keeps every key a device ever had: `rotate` adds a key for records from a\n"
	    "sequence on (records already stored keep theirs); `revoke` refuses records\n"
	    "from a sequence on.  The server picks changes up while it runs.  `list`\n"
	    "opens the ledger read-only: it writes nothing, so it also works on a copy\n"
	    "on read-only media (see eds ledger --help for the -wal/-shm case).\n"
	    "`import` registers every device of a key registry file (FORMAT.md 2, e.g.\n"
	    "an export's registry.json) in one transaction, all or nothing: unknown\n"
	    "devices are added with their keys and revocation; known ones must have\n"
	    "the ledger's keys first, and may add later keys or an earlier revocation.\n"
	    "Importing the same file again changes nothing.\n\n"
	    "Options:\n"
	    "  --ledger DIR         ledger directory (created by add and import when\n"
	    "                       absent)\n"
	    "  --id ID              device id (1..128 of A-Z a-z 0-9 . _ : -)\n"
	    "  --public-key KEY     64 hex characters, or a public key PEM file, or a\n"
	    "                       secret key file (its public half is used)\n"
	    "  --from-sequence N    first sequence the change applies to; default: the\n"
	    "                       record after the device's current head\n"
	    "  --json               list: print one JSON object instead of the lines:\n"
	    "                       {\"devices\":[{device_id, head_sequence, head_hash\n"
	    "                       (null before the first record), revoked_from (null\n"
	    "                       when not revoked), keys[] (from_sequence,\n"
	    "                       public_key)}]}; import: {devices, added, changed,\n"
	    "                       unchanged}.  A fatal error (exit 2) prints\n"
	    "                       {\"ok\":false,\"error\":MESSAGE} too\n"
	    "  --registry FILE      import: the key registry (at most 512 MiB)\n"
	    "  -h, --help           show this help\n\n"
	    "`list` prints one line per device: id, head sequence, revoked-from sequence\n"
	    "(- when not revoked), then each key as FROM:HEX.  On a terminal, `import`\n"
	    "of a large registry shows its progress on stderr (reading, key checks,\n"
	    "import).\n\n"
	    "Exit codes:\n"
	    "  0  done\n"
	    "  1  (not used by this command)\n"
	    "  2  usage error, bad key or id, unknown or existing device, ledger error\n");
}

typedef struct args {
	const char *action, *ledger, *id, *key, *from, *registry;
	bool json;
} args;

static int parse_import(const args *a)
{
	if (a->registry == NULL)
		return cli_usage(cmd, "--registry FILE is required");
	if (a->id != NULL || a->key != NULL || a->from != NULL)
		return cli_usage(
		    cmd, "import takes --registry, not --id, --public-key or --from-sequence");
	return EDS_EXIT_OK;
}

static int parse(int argc, char **argv, args *a)
{
	const char **const values[] = {&a->ledger, &a->id, &a->key, &a->from, &a->registry};
	static const char *const switches[] = {"--json"};
	bool *const on[] = {&a->json};
	const cli_switches sw = {switches, on, 1};
	int rc = cli_action_flags_once(cmd, argc, argv, names, values, 5, &sw, &a->action);
	if (rc != EDS_EXIT_OK)
		return rc;
	if (a->action == NULL)
		return cli_usage(cmd, "an action is required: add, list, rotate, revoke or import");
	static const char *const actions[] = {"add", "list", "rotate", "revoke", "import"};
	int known = 0;
	for (int i = 0; i < 5; i++)
		known |= strcmp(a->action, actions[i]) == 0;
	if (!known)
		return cli_usage(cmd, "unknown action '%s' (add, list, rotate, revoke, import)",
		                 a->action);
	if (a->ledger == NULL)
		return cli_usage(cmd, "--ledger DIR is required");
	int is_list = strcmp(a->action, "list") == 0;
	if (strcmp(a->action, "import") == 0)
		return parse_import(a);
	if (a->registry != NULL)
		return cli_usage(cmd, "--registry is only for import");
	if (!is_list && a->id == NULL)
		return cli_usage(cmd, "--id ID is required");
	int wants_key = strcmp(a->action, "add") == 0 || strcmp(a->action, "rotate") == 0;
	if (wants_key && a->key == NULL)
		return cli_usage(cmd, "--public-key KEY is required");
	if (!wants_key && a->key != NULL)
		return cli_usage(cmd, "--public-key is only for add and rotate");
	if (a->from != NULL && (is_list || strcmp(a->action, "add") == 0))
		return cli_usage(cmd, "--from-sequence is only for rotate and revoke");
	if (a->json && !is_list)
		return cli_usage(cmd, "--json is only for list and import");
	return EDS_EXIT_OK;
}

static eds_status print_device(void *ctx, const eds_ledger_device *d)
{
	(void)ctx;
	printf("%s %llu ", d->device_id, (unsigned long long)d->head_sequence);
	if (d->revoked_from_sequence)
		printf("%llu", (unsigned long long)d->revoked_from_sequence);
	else
		printf("-");
	for (size_t i = 0; i < d->key_count; i++) {
		char hex[65];
		eds_public_key_to_hex(&d->keys[i].public_key, hex);
		printf(" %llu:%s", (unsigned long long)d->keys[i].from_sequence, hex);
	}
	printf("\n");
	return EDS_OK;
}

static json_t *keys_json(const eds_ledger_device *d)
{
	json_t *keys = json_array();
	for (size_t i = 0; keys != NULL && i < d->key_count; i++) {
		char hex[65];
		eds_public_key_to_hex(&d->keys[i].public_key, hex);
		if (json_array_append_new(keys, json_pack("{s:I, s:s}", "from_sequence",
		                                          (json_int_t)d->keys[i].from_sequence,
		                                          "public_key", hex)) != 0) {
			json_decref(keys);
			return NULL;
		}
	}
	return keys;
}

static json_t *device_json(const eds_ledger_device *d)
{
	char head[2 * EDS_HASH_LEN + 1];
	eds_hex_encode(head, d->head_hash, EDS_HASH_LEN);
	json_t *revoked = d->revoked_from_sequence != 0
	                      ? json_integer((json_int_t)d->revoked_from_sequence)
	                      : json_null();
	return json_pack("{s:s, s:I, s:o, s:o, s:o}", "device_id", d->device_id, "head_sequence",
	                 (json_int_t)d->head_sequence, "head_hash",
	                 d->head_sequence != 0 ? json_string(head) : json_null(), "revoked_from",
	                 revoked, "keys", keys_json(d));
}

/* One device object at a time, so memory stays one device's for any registry. */
typedef struct list_out {
	FILE *f;
	bool first;
} list_out;

static eds_status print_device_json(void *ctx, const eds_ledger_device *d)
{
	list_out *out = ctx;
	json_t *o = device_json(d);
	if (o == NULL)
		return eds_fail(EDS_E_NOMEM, "out of memory for the JSON list");
	if (!out->first)
		fputc(',', out->f);
	json_dumpf(o, out->f, JSON_COMPACT);
	json_decref(o);
	out->first = false;
	return EDS_OK;
}

/* Copy f from its start to stdout. */
static eds_status copy_out(FILE *f)
{
	char buf[65536];
	rewind(f);
	for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;)
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	if (ferror(f) || ferror(stdout) || fflush(stdout) != 0)
		return eds_fail(EDS_E_IO, "standard output: cannot write the JSON list");
	return EDS_OK;
}

/*
 * The list goes through a temporary file, so a ledger read that fails
 * halfway prints no half object: stdout gets the whole list or, from run,
 * the error object (and the error its line on stderr).
 */
static eds_status list_json(eds_ledger *l)
{
	list_out out = {tmpfile(), true};
	if (out.f == NULL)
		return eds_fail(EDS_E_IO, "temporary file for the JSON list: %s", strerror(errno));
	fputs("{\"devices\":[", out.f);
	eds_status st = eds_ledger_device_foreach(l, print_device_json, &out);
	if (st == EDS_OK && (fputs("]}\n", out.f) == EOF || fflush(out.f) != 0))
		st = eds_fail(EDS_E_IO, "temporary file for the JSON list: %s", strerror(errno));
	if (st == EDS_OK)
		st = copy_out(out.f);
	fclose(out.f);
	return st;
}

/* What the flags' values say, checked before the ledger is opened (or created). */
typedef struct change {
	eds_public_key pk;
	uint64_t from;
	eds_registry *reg; /* import: the registry file, loaded */
} change;

static int check_values(const args *a, change *c)
{
	c->from = 0;
	c->reg = NULL;
	if (a->from != NULL && cli_u64(a->from, 1, EDS_INT_MAX, &c->from) != 0)
		return cli_usage(cmd, "--from-sequence must be 1 .. 2^53-1, not '%s'", a->from);
	eds_status st = a->id != NULL ? eds_ledger_check_id(a->id) : EDS_OK;
	if (st != EDS_OK)
		return cli_report(cmd, st, "--id");
	if (a->key != NULL && (st = eds_public_key_load(&c->pk, a->key)) != EDS_OK)
		return cli_report(cmd, st, "--public-key");
	/* Last: on success c->reg is the caller's to free. */
	if (a->registry != NULL &&
	    (st = cli_progress_load_registry(&c->reg, a->registry, "device import", !a->json)) !=
	        EDS_OK) {
		/* The detail starts with the file's name. */
		cli_json_report(cmd, a->json, st, NULL);
		return EDS_EXIT_USAGE;
	}
	return EDS_EXIT_OK;
}

/*
 * A revocation at or below the head is allowed (a key known to have leaked
 * since then), and it turns records already stored into failures of
 * `eds ledger verify`: said on stderr, so it is not a surprise.
 */
static eds_status revoke(eds_ledger *l, const char *id, uint64_t from)
{
	eds_ledger_device d;
	eds_status st = eds_ledger_device_get(l, id, &d);
	if (st == EDS_OK)
		st = eds_ledger_device_revoke(l, id, from);
	if (st == EDS_OK && from > 0 && from <= d.head_sequence)
		fprintf(stderr,
		        "eds device: note: %s's records %llu..%llu are already stored; eds ledger "
		        "verify now fails its chain at %llu (revoked_device)\n",
		        id, (unsigned long long)from, (unsigned long long)d.head_sequence,
		        (unsigned long long)from);
	return st;
}

static int run(eds_ledger *l, const args *a, const change *c)
{
	eds_status st;
	if (strcmp(a->action, "add") == 0)
		st = eds_ledger_device_add(l, a->id, &c->pk);
	else if (strcmp(a->action, "rotate") == 0)
		st = eds_ledger_device_rotate(l, a->id, &c->pk, c->from);
	else if (strcmp(a->action, "revoke") == 0)
		st = revoke(l, a->id, c->from);
	else if (strcmp(a->action, "import") == 0)
		return device_import_run(l, c->reg, a->registry, a->json);
	else if (a->json)
		st = list_json(l);
	else
		st = eds_ledger_device_foreach(l, print_device, NULL);
	/* Refusals here are registry edits, not verification results: exit 2. */
	if (st != EDS_OK) {
		const char *detail = cli_error_detail(st);
		/* The ledger names the registry's field; here the value is --from-sequence's. */
		if (strncmp(detail, "from_sequence: ", 15) == 0)
			fprintf(stderr, "eds %s: --from-sequence: %s\n", cmd, detail + 15);
		else
			cli_json_report(cmd, a->json, st, NULL);
		return EDS_EXIT_USAGE;
	}
	return EDS_EXIT_OK;
}

int cmd_device(int argc, char **argv)
{
	args a = {0};
	if (cli_help_asked(argc, argv, names, 4)) {
		help();
		return EDS_EXIT_OK;
	}
	int rc = parse(argc, argv, &a);
	if (rc != EDS_EXIT_OK)
		return rc;
	change c;
	rc = check_values(&a, &c);
	if (rc != EDS_EXIT_OK)
		return rc;
	eds_ledger *l;
	int creates = strcmp(a.action, "add") == 0 || strcmp(a.action, "import") == 0;
	eds_ledger_options lo = {
	    .durable = 1, .must_exist = !creates, .read_only = strcmp(a.action, "list") == 0};
	eds_status st = eds_ledger_open(&l, a.ledger, &lo);
	if (st != EDS_OK)
		rc = cli_json_report(cmd, a.json, st, "--ledger");
	else {
		rc = run(l, &a, &c);
		eds_ledger_close(l);
	}
	eds_registry_free(c.reg);
	return rc;
}
