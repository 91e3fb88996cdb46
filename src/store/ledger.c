/*
 * ledger.c - the back-end-neutral half of the ledger: argument checks and
 * rules that must not depend on the storage engine (which key verifies
 * which sequence), then a call through the back end's function table.
 */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ledger.h"
#include "internal.h"
#include "ledger_internal.h"

struct eds_ledger {
	const eds_ledger_ops *ops;
	void *impl;
	int durable;
	int claim_fd;  /* eds_ledger_claim's lock on payload_dir, else -1 */
	int read_only; /* every write is refused (eds_ledger_set_read_only) */
	char payload_dir[];
};

eds_status eds_ledger_wrap(eds_ledger **out, const eds_ledger_ops *ops, void *impl,
                           const char *payload_dir, int durable)
{
	if (out == NULL || ops == NULL || impl == NULL || payload_dir == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	size_t n = strlen(payload_dir) + 1;
	eds_ledger *l = malloc(sizeof *l + n);
	if (l == NULL)
		return eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	l->ops = ops;
	l->impl = impl;
	l->durable = durable;
	l->claim_fd = -1;
	l->read_only = 0;
	memcpy(l->payload_dir, payload_dir, n);
	*out = l;
	return EDS_OK;
}

void eds_ledger_close(eds_ledger *l)
{
	if (l == NULL)
		return;
	eds_ledger_release(l);
	l->ops->close(l->impl);
	eds_payload_stage_forget(l->payload_dir);
	free(l);
}

void eds_ledger_set_read_only(eds_ledger *l)
{
	l->read_only = 1;
}

/*
 * EDS_OK when l may be written; else the refusal every write of a
 * read-only ledger gets, before it reaches the back end.
 */
static eds_status writable(const eds_ledger *l)
{
	if (l == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	if (l->read_only)
		return eds_fail(EDS_E_UNSUPPORTED, "%s: ledger opened read-only", l->payload_dir);
	return EDS_OK;
}

eds_status eds_ledger_claim(eds_ledger *l)
{
	/* Only a writer claims: readers never take (nor wait for) the lock. */
	eds_status ws = writable(l);
	if (ws != EDS_OK)
		return ws;
	if (l->claim_fd >= 0)
		return eds_fail(EDS_E_EXISTS, "ledger %s: already claimed by an ingest service",
		                l->payload_dir);
	char what[PATH_MAX + 16];
	snprintf(what, sizeof what, "%s: ledger", l->payload_dir);
	/* The directory itself, not a lock file: nothing to add to FORMAT.md 3's layout. */
	return eds_lock_exclusive(l->payload_dir, O_RDONLY | O_DIRECTORY, what,
	                          "one ingest service, e.g. eds serve, per ledger", &l->claim_fd);
}

void eds_ledger_release(eds_ledger *l)
{
	if (l != NULL && l->claim_fd >= 0) {
		close(l->claim_fd);
		l->claim_fd = -1;
	}
}

const char *eds_ledger_payload_dir(const eds_ledger *l)
{
	return l->payload_dir;
}

int eds_ledger_durable(const eds_ledger *l)
{
	return l != NULL && l->durable;
}

eds_status eds_ledger_check_id(const char *device_id)
{
	if (device_id == NULL)
		return eds_fail(EDS_E_ARG, "device_id: NULL");
	return eds_device_id_check(device_id, strnlen(device_id, EDS_DEVICE_ID_MAX + 1));
}

eds_status eds_ledger_device_add(eds_ledger *l, const char *device_id, const eds_public_key *pk)
{
	if (l == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	eds_status st = writable(l);
	if (st == EDS_OK)
		st = eds_ledger_check_id(device_id);
	if (st != EDS_OK)
		return st;
	return l->ops->device_add(l->impl, device_id, pk, eds_now_ms());
}

/* The arguments of a key rotation or revocation (0 from_sequence: after the head). */
static eds_status check_key_change(const char *device_id, uint64_t from_sequence)
{
	eds_status st = eds_ledger_check_id(device_id);
	if (st == EDS_OK && from_sequence > EDS_INT_MAX)
		st = eds_fail(EDS_E_FIELD, "from_sequence: must be at most 2^53-1");
	return st;
}

eds_status eds_ledger_device_rotate(eds_ledger *l, const char *device_id, const eds_public_key *pk,
                                    uint64_t from_sequence)
{
	if (l == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	eds_status st = writable(l);
	if (st == EDS_OK)
		st = check_key_change(device_id, from_sequence);
	if (st != EDS_OK)
		return st;
	return l->ops->device_rotate(l->impl, device_id, pk, from_sequence, eds_now_ms());
}

eds_status eds_ledger_device_revoke(eds_ledger *l, const char *device_id, uint64_t from_sequence)
{
	eds_status st = writable(l);
	if (st == EDS_OK)
		st = check_key_change(device_id, from_sequence);
	if (st != EDS_OK)
		return st;
	return l->ops->device_revoke(l->impl, device_id, from_sequence, eds_now_ms());
}

/* The caller's next, then the checks every back end may rely on. */
typedef struct import_check {
	eds_ledger_import_fn next;
	void *ctx;
} import_check;

static eds_status check_imported(const eds_ledger_device *d)
{
	eds_status st = eds_ledger_check_id(d->device_id);
	if (st != EDS_OK)
		return st;
	if (d->key_count == 0 || d->key_count > EDS_LEDGER_MAX_KEYS)
		return eds_fail(d->key_count ? EDS_E_LIMIT : EDS_E_FIELD,
		                "device %s: %zu keys; a ledger device has 1 to %d", d->device_id,
		                d->key_count, EDS_LEDGER_MAX_KEYS);
	for (size_t k = 0; k < d->key_count; k++) {
		uint64_t from = d->keys[k].from_sequence;
		if (from == 0 || from > EDS_INT_MAX ||
		    (k > 0 && from <= d->keys[k - 1].from_sequence))
			return eds_fail(EDS_E_FIELD,
			                "device %s: key %zu: from_sequence %llu must be 1..2^53-1 "
			                "and above the previous key's",
			                d->device_id, k, (unsigned long long)from);
	}
	if (d->revoked_from_sequence > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "device %s: revoked_from_sequence over 2^53-1",
		                d->device_id);
	return EDS_OK;
}

static eds_status next_checked(void *ctx, eds_ledger_device *d)
{
	const import_check *ic = ctx;
	memset(d, 0, sizeof *d);
	eds_status st = ic->next(ic->ctx, d);
	d->device_id[EDS_DEVICE_ID_MAX] = '\0';
	return st == EDS_OK ? check_imported(d) : st;
}

eds_status eds_ledger_device_import(eds_ledger *l, eds_ledger_import_fn next, void *ctx,
                                    eds_ledger_import_counts *counts)
{
	eds_ledger_import_counts ignored;
	if (l == NULL || next == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	eds_status st = writable(l);
	if (st != EDS_OK)
		return st;
	if (l->ops->device_import == NULL)
		return eds_fail(EDS_E_UNSUPPORTED, "ledger %s: no device import", l->ops->name);
	import_check ic = {next, ctx};
	memset(counts ? counts : &ignored, 0, sizeof ignored);
	return l->ops->device_import(l->impl, next_checked, &ic, eds_now_ms(),
	                             counts ? counts : &ignored);
}

eds_status eds_ledger_device_get(eds_ledger *l, const char *device_id, eds_ledger_device *out)
{
	if (l == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	eds_status st = eds_ledger_check_id(device_id);
	if (st != EDS_OK)
		return st;
	return l->ops->device_get(l->impl, device_id, out);
}

eds_status eds_ledger_device_foreach(eds_ledger *l, eds_ledger_device_fn fn, void *ctx)
{
	if (l == NULL || fn == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	return l->ops->device_foreach(l->impl, fn, ctx);
}

eds_status eds_ledger_key_for(const eds_ledger_key *keys, size_t key_count,
                              uint64_t revoked_from_sequence, const char *device_id,
                              uint64_t sequence, eds_public_key *pk)
{
	if ((keys == NULL && key_count > 0) || pk == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	if (revoked_from_sequence != 0 && sequence >= revoked_from_sequence)
		return eds_fail(EDS_E_REVOKED, "device %s is revoked from sequence %llu", device_id,
		                (unsigned long long)revoked_from_sequence);
	/* Keys are kept in ascending from_sequence: the last one that starts at or before wins. */
	for (size_t i = key_count; i > 0; i--) {
		if (keys[i - 1].from_sequence <= sequence) {
			*pk = keys[i - 1].public_key;
			return EDS_OK;
		}
	}
	return eds_fail(EDS_E_KEY, "device %s has no key for sequence %llu", device_id,
	                (unsigned long long)sequence);
}

eds_status eds_ledger_device_key(const eds_ledger_device *d, uint64_t sequence, eds_public_key *pk)
{
	if (d == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	return eds_ledger_key_for(d->keys, d->key_count, d->revoked_from_sequence, d->device_id,
	                          sequence, pk);
}

eds_status eds_ledger_record_get(eds_ledger *l, const char *device_id, uint64_t sequence,
                                 eds_ledger_record *out)
{
	if (l == NULL || device_id == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	return l->ops->record_get(l->impl, device_id, sequence, out);
}

eds_status eds_ledger_record_foreach(eds_ledger *l, eds_ledger_record_fn fn, void *ctx)
{
	if (l == NULL || fn == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	return l->ops->record_foreach(l->impl, fn, ctx);
}

eds_status eds_ledger_payload_lookup(eds_ledger *l, const uint8_t hash[EDS_HASH_LEN],
                                     uint64_t *size, int *stored)
{
	if (l == NULL || hash == NULL || size == NULL || stored == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	return l->ops->payload_lookup(l->impl, hash, size, stored);
}

eds_status eds_ledger_commit(eds_ledger *l, const eds_ledger_batch *batch)
{
	if (l == NULL || batch == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	eds_status st = writable(l);
	return st == EDS_OK ? l->ops->commit(l->impl, batch) : st;
}

static int journals(const eds_ledger *l)
{
	return l->durable && l->ops->commit_journaled != NULL;
}

/*
 * Journaling pays for small payloads: their bytes cost little in the log,
 * their files much in a flush.  Big ones are cheaper to flush as files (and
 * a group of them must not make one huge transaction), so such a group
 * flushes its files first and journals only their hashes.
 */
static int journal_fits(const eds_ledger_batch *b)
{
	size_t total = 0;
	for (size_t i = 0; i < b->payload_count; i++) {
		if (b->payloads[i].len > EDS_LEDGER_JOURNAL_PAYLOAD_MAX)
			return 0;
		total += b->payloads[i].len;
	}
	return total <= EDS_LEDGER_JOURNAL_GROUP_MAX;
}

eds_status eds_ledger_commit_journaled(eds_ledger *l, const eds_ledger_batch *batch)
{
	if (l == NULL || batch == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	eds_status st = writable(l);
	if (st != EDS_OK)
		return st;
	if (journals(l) && journal_fits(batch))
		return l->ops->commit_journaled(l->impl, batch);
	st = l->durable ? eds_payload_sync(l->payload_dir) : EDS_OK;
	if (st != EDS_OK || !journals(l))
		return st == EDS_OK ? l->ops->commit(l->impl, batch) : st;
	eds_ledger_batch hashes_only = *batch;
	hashes_only.payloads = NULL;
	hashes_only.payload_count = 0;
	return l->ops->commit_journaled(l->impl, &hashes_only);
}

eds_status eds_ledger_sync(eds_ledger *l)
{
	uint64_t mark = 0;
	eds_status st = writable(l);
	if (st == EDS_OK && journals(l))
		st = l->ops->journal_mark(l->impl, &mark);
	/* Entries after the mark may name files staged after the flush began. */
	if (st == EDS_OK && mark > 0)
		st = eds_payload_sync(l->payload_dir);
	if (st == EDS_OK && mark > 0)
		st = l->ops->journal_drop(l->impl, mark);
	return st;
}

eds_status eds_ledger_event_foreach(eds_ledger *l, uint64_t after_id, const char *device_id,
                                    eds_ledger_event_fn fn, void *ctx)
{
	if (l == NULL || fn == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	if (l->ops->event_foreach == NULL)
		return eds_fail(EDS_E_UNSUPPORTED, "ledger back end %s: no operation log",
		                l->ops->name);
	return l->ops->event_foreach(l->impl, after_id, device_id, fn, ctx);
}

eds_status eds_ledger_match_events(eds_ledger *l, eds_ledger_mismatch_fn fn, void *ctx)
{
	if (l == NULL || fn == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	if (l->ops->match_events == NULL)
		return eds_fail(EDS_E_UNSUPPORTED, "ledger back end %s: no operation log to match",
		                l->ops->name);
	return l->ops->match_events(l->impl, fn, ctx);
}

eds_status eds_ledger_check_store(eds_ledger *l)
{
	if (l == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	if (l->ops->check_store == NULL)
		return eds_fail(EDS_E_UNSUPPORTED, "ledger back end %s: no storage check",
		                l->ops->name);
	return l->ops->check_store(l->impl);
}

eds_status eds_ledger_probe(eds_ledger *l)
{
	eds_status st = writable(l);
	if (st == EDS_OK)
		st = eds_payload_probe(l->payload_dir);
	if (st == EDS_OK && l->ops->probe != NULL)
		st = l->ops->probe(l->impl);
	return st;
}

eds_status eds_ledger_recover(eds_ledger *l, size_t *restored, size_t *demoted)
{
	size_t r = 0, d = 0;
	eds_status st = writable(l);
	if (st == EDS_OK && l->ops->recover != NULL)
		st = l->ops->recover(l->impl, l->payload_dir, &r, &d);
	if (restored != NULL)
		*restored = r;
	if (demoted != NULL)
		*demoted = d;
	return st;
}

eds_status eds_ledger_backup_db(eds_ledger *l, const char *db_path)
{
	if (l->ops->backup == NULL)
		return eds_fail(EDS_E_UNSUPPORTED, "ledger back end %s: no backup", l->ops->name);
	return l->ops->backup(l->impl, db_path);
}

eds_status eds_ledger_changed(eds_ledger *l, int *changed)
{
	if (l == NULL || changed == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	return l->ops->changed(l->impl, changed);
}

eds_status eds_ledger_stats_get(eds_ledger *l, eds_ledger_stats *out)
{
	if (l == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	memset(out, 0, sizeof *out);
	return l->ops->stats(l->impl, out);
}

static eds_status add_registry_device(void *ctx, const eds_ledger_device *d)
{
	json_t *keys = json_array(), *dev = json_object();
	int bad = keys == NULL || dev == NULL;
	for (size_t i = 0; !bad && i < d->key_count; i++) {
		char hex[65];
		eds_public_key_to_hex(&d->keys[i].public_key, hex);
		bad = json_array_append_new(keys, json_pack("{s:s, s:I}", "public_key", hex,
		                                            "from_sequence",
		                                            (json_int_t)d->keys[i].from_sequence));
	}
	json_t *revoked = d->revoked_from_sequence
	                      ? json_integer((json_int_t)d->revoked_from_sequence)
	                      : json_null();
	bad = bad || json_object_set_new(dev, "device_id", json_string(d->device_id)) ||
	      json_object_set(dev, "keys", keys) ||
	      json_object_set_new(dev, "revoked_from_sequence", revoked) ||
	      json_array_append(ctx, dev);
	json_decref(keys);
	json_decref(dev);
	return bad ? eds_fail(EDS_E_NOMEM, "registry JSON: out of memory") : EDS_OK;
}

eds_status eds_ledger_registry_json(eds_ledger *l, char **out)
{
	if (l == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	json_t *devices = json_array();
	if (devices == NULL)
		return eds_fail(EDS_E_NOMEM, "registry JSON: out of memory");
	eds_status st = eds_ledger_device_foreach(l, add_registry_device, devices);
	json_t *root = st == EDS_OK ? json_pack("{s:O}", "devices", devices) : NULL;
	if (st == EDS_OK && (root == NULL || (*out = json_dumps(root, JSON_INDENT(1))) == NULL))
		st = eds_fail(EDS_E_NOMEM, "registry JSON: out of memory");
	json_decref(root);
	json_decref(devices);
	return st;
}

/* ---- operation-log chain ------------------------------------------------ */

static size_t put_u64be(uint8_t *p, uint64_t v)
{
	eds_put_u64be(p, v);
	return 8;
}

/* A u8 length and the bytes of s, taken up to its NUL or cap (every cap is < 256). */
static size_t put_text(uint8_t *p, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return n + 1;
}

/*
 * One function encodes and hashes, for the writer and every verifier alike:
 * two encodings that drift apart would turn every event into a broken link.
 */
void eds_ledger_event_chain(const uint8_t prev[EDS_HASH_LEN], uint64_t id,
                            const eds_ledger_event *ev, uint8_t out[EDS_HASH_LEN])
{
	uint8_t in[EDS_LEDGER_OPLOG_INPUT_MAX];
	size_t n = sizeof EDS_LEDGER_OPLOG_DOMAIN - 1;
	memcpy(in, EDS_LEDGER_OPLOG_DOMAIN, n);
	memcpy(in + n, prev, EDS_HASH_LEN);
	n += EDS_HASH_LEN;
	n += put_u64be(in + n, id);
	n += put_u64be(in + n, ev->time_ms);
	n += put_text(in + n, ev->source, sizeof ev->source);
	n += put_text(in + n, ev->device_id, sizeof ev->device_id);
	n += put_text(in + n, ev->decision, sizeof ev->decision);
	n += put_text(in + n, ev->reason, sizeof ev->reason);
	n += put_u64be(in + n, ev->sequence);
	memcpy(in + n, ev->record_hash, EDS_HASH_LEN);
	n += EDS_HASH_LEN;
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	eds_blake3_update(&h, in, n);
	eds_blake3_finalize(&h, out, EDS_HASH_LEN);
}
