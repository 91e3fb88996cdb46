/*
 * registry.c - the key registry of FORMAT.md section 2.
 *
 * The JSON is checked strictly (unknown and duplicate members, types,
 * device id rules, ranges, order) and copied into flat arrays: devices
 * sorted by id, so a lookup is a binary search (about 20 string compares
 * for a million devices), and each device's keys in from_sequence order
 * (the format requires it strictly increasing), so picking the key for a
 * sequence is a binary search too.
 *
 * The curve-point check of every key costs about one signature
 * verification (~40 us), 40 s for a million-device registry on one core:
 * it runs after the structural pass, over the work pool (check_points).
 */
#include <jansson.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/ed25519.h"
#include "edgesentry/encoding.h"
#include "edgesentry/record.h"
#include "edgesentry/registry.h"
#include "internal.h"
#include "work_pool.h"

/* Sequence numbers follow FORMAT.md 1.1: 1 .. 2^53-1. */
#define SEQ_MAX ((1ull << 53) - 1)
/* Keys per parallel work item, and fewer keys than this are checked inline. */
#define POINT_GRAIN 1024
/* Longest JSON path in an error message, e.g. "devices[999999].keys[1023].from_sequence". */
#define JPATH_MAX 64

typedef struct {
	uint64_t from;
	eds_public_key pk;
} reg_key;

typedef struct {
	const char *id;   /* into eds_registry.names */
	size_t index;     /* position in the input, for messages */
	size_t first_key; /* into eds_registry.keys */
	size_t nkeys;
	uint64_t revoked; /* revoked_from_sequence; 0 when not revoked */
} reg_device;

struct eds_registry {
	reg_device *devices;
	size_t ndevices;
	reg_key *keys;
	char *names; /* every device id, NUL-terminated, back to back */
};

/* Where parse_device writes next. */
typedef struct {
	size_t key_used, key_cap;
	size_t name_used, name_cap;
} fill_state;

/* Short enough and printable, so it can be quoted in a one-line message. */
static bool printable_ascii(const char *s, size_t max)
{
	size_t i = 0;
	for (; i < max && s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return s[i] == '\0';
}

static eds_status check_members(json_t *obj, const char *path, const char *const *allowed)
{
	const char *name;
	json_t *value;
	json_object_foreach(obj, name, value)
	{
		size_t i = 0;
		while (allowed[i] != NULL && strcmp(allowed[i], name) != 0)
			i++;
		if (allowed[i] == NULL && printable_ascii(name, 40))
			return eds_fail(EDS_E_MALFORMED, "%s: unknown member \"%s\"", path, name);
		if (allowed[i] == NULL)
			return eds_fail(EDS_E_MALFORMED, "%s: unknown member", path);
	}
	return EDS_OK;
}

/* An integer 1 .. 2^53-1 (exact in every JSON reader that uses doubles). */
static eds_status get_sequence(json_t *v, const char *path, uint64_t *out)
{
	if (!json_is_integer(v))
		return eds_fail(EDS_E_MALFORMED, "%s: must be an integer", path);
	json_int_t n = json_integer_value(v);
	if (n < 1 || (unsigned long long)n > SEQ_MAX)
		return eds_fail(EDS_E_FIELD, "%s: must be 1 .. 2^53-1, got %lld", path,
		                (long long)n);
	*out = (uint64_t)n;
	return EDS_OK;
}

static eds_status parse_key(json_t *k, size_t dev, size_t j, uint64_t prev, reg_key *out)
{
	static const char *const members[] = {"public_key", "from_sequence", NULL};
	char path[JPATH_MAX];
	eds_status st;
	snprintf(path, sizeof path, "devices[%zu].keys[%zu]", dev, j);
	if (!json_is_object(k))
		return eds_fail(EDS_E_MALFORMED, "%s: must be an object", path);
	if ((st = check_members(k, path, members)) != EDS_OK)
		return st;
	json_t *hex = json_object_get(k, "public_key");
	if (!json_is_string(hex))
		return eds_fail(EDS_E_MALFORMED, "%s.public_key: required, a string of 64 hex",
		                path);
	/* Hex only: check_points validates the curve points of all keys later. */
	if (eds_hex_decode(out->pk.bytes, sizeof out->pk.bytes, json_string_value(hex),
	                   json_string_length(hex)) != EDS_OK)
		return eds_fail(EDS_E_MALFORMED,
		                "%s.public_key: public key: expected 64 hex characters", path);
	json_t *from = json_object_get(k, "from_sequence");
	if (from == NULL)
		return eds_fail(EDS_E_MALFORMED, "%s.from_sequence: required", path);
	snprintf(path, sizeof path, "devices[%zu].keys[%zu].from_sequence", dev, j);
	if ((st = get_sequence(from, path, &out->from)) != EDS_OK)
		return st;
	if (j > 0 && out->from <= prev)
		return eds_fail(EDS_E_FIELD,
		                "%s: must be greater than keys[%zu].from_sequence (%llu), got %llu",
		                path, j - 1, (unsigned long long)prev,
		                (unsigned long long)out->from);
	return EDS_OK;
}

static eds_status parse_keys(eds_registry *reg, json_t *keys, size_t dev, fill_state *fs,
                             reg_device *d)
{
	if (!json_is_array(keys))
		return eds_fail(EDS_E_MALFORMED, "devices[%zu].keys: required, an array", dev);
	size_t n = json_array_size(keys);
	if (n == 0)
		return eds_fail(EDS_E_FIELD, "devices[%zu].keys: must list at least one key", dev);
	if (n > EDS_REGISTRY_MAX_KEYS_PER_DEVICE)
		return eds_fail(EDS_E_LIMIT, "devices[%zu].keys: %zu keys, limit is %u", dev, n,
		                EDS_REGISTRY_MAX_KEYS_PER_DEVICE);
	if (n > fs->key_cap - fs->key_used)
		return eds_fail(EDS_E_INTERNAL, "registry: key count changed while parsing");
	d->first_key = fs->key_used;
	d->nkeys = n;
	for (size_t j = 0; j < n; j++) {
		reg_key *k = &reg->keys[d->first_key + j];
		eds_status st = parse_key(json_array_get(keys, j), dev, j, j ? k[-1].from : 0, k);
		if (st != EDS_OK)
			return st;
	}
	fs->key_used += n;
	return EDS_OK;
}

static eds_status parse_device_id(eds_registry *reg, json_t *id, size_t dev, fill_state *fs,
                                  reg_device *d)
{
	if (!json_is_string(id))
		return eds_fail(EDS_E_MALFORMED, "devices[%zu].device_id: required, a string", dev);
	size_t len = json_string_length(id);
	eds_status st = eds_device_id_check(json_string_value(id), len);
	if (st != EDS_OK)
		return eds_fail_prefix(st, "devices[%zu]", dev);
	if (len + 1 > fs->name_cap - fs->name_used)
		return eds_fail(EDS_E_INTERNAL, "registry: name size changed while parsing");
	char *copy = reg->names + fs->name_used;
	memcpy(copy, json_string_value(id), len + 1);
	fs->name_used += len + 1;
	d->id = copy;
	return EDS_OK;
}

static eds_status parse_device(eds_registry *reg, json_t *dj, size_t dev, fill_state *fs)
{
	static const char *const members[] = {"device_id", "keys", "revoked_from_sequence", NULL};
	char path[JPATH_MAX];
	reg_device *d = &reg->devices[dev];
	eds_status st;
	snprintf(path, sizeof path, "devices[%zu]", dev);
	if (!json_is_object(dj))
		return eds_fail(EDS_E_MALFORMED, "%s: must be an object", path);
	if ((st = check_members(dj, path, members)) != EDS_OK ||
	    (st = parse_device_id(reg, json_object_get(dj, "device_id"), dev, fs, d)) != EDS_OK ||
	    (st = parse_keys(reg, json_object_get(dj, "keys"), dev, fs, d)) != EDS_OK)
		return st;
	d->index = dev;
	d->revoked = 0;
	json_t *rev = json_object_get(dj, "revoked_from_sequence");
	if (rev == NULL || json_is_null(rev))
		return EDS_OK;
	snprintf(path, sizeof path, "devices[%zu].revoked_from_sequence", dev);
	return get_sequence(rev, path, &d->revoked);
}

/* Sizes of the flat arrays, so each is allocated once and pointers into
 * them stay valid.  Malformed entries are counted as nothing; the full
 * check comes after. */
static void count_sizes(json_t *devices, size_t *nkeys, size_t *name_bytes)
{
	size_t i;
	json_t *dj;
	*nkeys = 0;
	*name_bytes = 0;
	json_array_foreach(devices, i, dj)
	{
		json_t *keys = json_object_get(dj, "keys");
		json_t *id = json_object_get(dj, "device_id");
		if (json_is_array(keys))
			*nkeys += json_array_size(keys);
		if (json_is_string(id) && json_string_length(id) <= EDS_DEVICE_ID_MAX)
			*name_bytes += json_string_length(id) + 1;
	}
}

typedef struct {
	const reg_key *keys;
	atomic_size_t first_bad; /* lowest index of an invalid key, SIZE_MAX: none */
} point_job;

static void check_point_range(void *ctx, size_t begin, size_t end)
{
	point_job *job = ctx;
	for (size_t i = begin; i < end; i++) {
		if (crypto_core_ed25519_is_valid_point(job->keys[i].pk.bytes))
			continue;
		size_t cur = atomic_load(&job->first_bad);
		while (i < cur && !atomic_compare_exchange_weak(&job->first_bad, &cur, i))
			;
		return; /* later keys of this range cannot be the first */
	}
}

/* Keys per progress report: about a second of checks on two cores. */
#define PROGRESS_SLICE (64u * POINT_GRAIN)

/* Who wants to hear how the key checks advance (eds_registry_load_progress). */
typedef struct {
	eds_registry_progress_fn fn;
	void *ctx;
} progress_hook;

/*
 * Check keys [0, nkeys) in slices when someone watches, so the report
 * comes from this thread between pool runs (a callback never runs on a
 * worker); one run otherwise.
 */
static void run_point_checks(eds_pool *pool, point_job *job, size_t nkeys,
                             const progress_hook *hook)
{
	size_t slice = hook->fn != NULL ? PROGRESS_SLICE : nkeys;
	for (size_t done = 0; done < nkeys && atomic_load(&job->first_bad) == SIZE_MAX;) {
		size_t n = nkeys - done < slice ? nkeys - done : slice;
		point_job part = {job->keys + done, SIZE_MAX};
		if (pool == NULL)
			check_point_range(&part, 0, n);
		else
			eds_pool_run(pool, check_point_range, &part, n, POINT_GRAIN);
		size_t bad = atomic_load(&part.first_bad);
		if (bad != SIZE_MAX)
			atomic_store(&job->first_bad, done + bad);
		done += n;
		if (hook->fn != NULL)
			hook->fn(hook->ctx, EDS_REGISTRY_CHECKING_KEYS, done, nkeys);
	}
}

/*
 * Every key's curve point (eds_ed25519_public_key_check), in parallel when
 * there are many.  Devices are still in input order, so the first invalid
 * key in the file is the one reported, with the same detail as a parse of
 * that key alone would give.
 */
static eds_status check_points(const eds_registry *reg, size_t nkeys, const progress_hook *hook)
{
	point_job job = {reg->keys, SIZE_MAX};
	eds_pool *pool = NULL;
	if (hook->fn != NULL)
		hook->fn(hook->ctx, EDS_REGISTRY_CHECKING_KEYS, 0, nkeys);
	if (nkeys >= 2 * POINT_GRAIN && eds_pool_cpus() > 1)
		(void)eds_pool_new(&pool, 0); /* on failure pool stays NULL: check inline */
	run_point_checks(pool, &job, nkeys, hook);
	eds_pool_free(pool);
	size_t bad = atomic_load(&job.first_bad);
	if (bad == SIZE_MAX)
		return EDS_OK;
	size_t dev = 0;
	while (bad >= reg->devices[dev].first_key + reg->devices[dev].nkeys)
		dev++;
	eds_status st = eds_ed25519_public_key_check(reg->keys[bad].pk.bytes);
	return eds_fail_prefix(st, "devices[%zu].keys[%zu].public_key", dev,
	                       bad - reg->devices[dev].first_key);
}

static int compare_devices(const void *a, const void *b)
{
	return strcmp(((const reg_device *)a)->id, ((const reg_device *)b)->id);
}

static eds_status sort_devices(eds_registry *reg)
{
	qsort(reg->devices, reg->ndevices, sizeof *reg->devices, compare_devices);
	for (size_t i = 1; i < reg->ndevices; i++) {
		const reg_device *a = &reg->devices[i - 1], *b = &reg->devices[i];
		if (strcmp(a->id, b->id) != 0)
			continue;
		size_t first = a->index < b->index ? a->index : b->index;
		size_t again = a->index < b->index ? b->index : a->index;
		return eds_fail(EDS_E_FIELD,
		                "devices[%zu].device_id: \"%s\" is already listed as devices[%zu]",
		                again, a->id, first);
	}
	return EDS_OK;
}

static eds_status allocate(eds_registry *reg, size_t ndevices, size_t nkeys, size_t name_bytes)
{
	/* calloc(0) may return NULL; one spare element keeps "empty" distinct from "failed". */
	reg->devices = calloc(ndevices + 1, sizeof *reg->devices);
	reg->keys = calloc(nkeys + 1, sizeof *reg->keys);
	reg->names = malloc(name_bytes + 1);
	if (reg->devices == NULL || reg->keys == NULL || reg->names == NULL)
		return eds_fail(EDS_E_NOMEM, "registry: out of memory for %zu devices", ndevices);
	return EDS_OK;
}

static eds_status build(eds_registry *reg, json_t *root, const progress_hook *hook)
{
	static const char *const members[] = {"devices", NULL};
	fill_state fs = {0, 0, 0, 0};
	eds_status st;
	if (!json_is_object(root))
		return eds_fail(EDS_E_MALFORMED, "registry: must be a JSON object");
	if ((st = check_members(root, "registry", members)) != EDS_OK)
		return st;
	json_t *devices = json_object_get(root, "devices");
	if (!json_is_array(devices))
		return eds_fail(EDS_E_MALFORMED, "registry.devices: required, an array");
	size_t n = json_array_size(devices);
	if (n > EDS_REGISTRY_MAX_DEVICES)
		return eds_fail(EDS_E_LIMIT, "registry.devices: %zu devices, limit is %u", n,
		                EDS_REGISTRY_MAX_DEVICES);
	count_sizes(devices, &fs.key_cap, &fs.name_cap);
	if ((st = allocate(reg, n, fs.key_cap, fs.name_cap)) != EDS_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		if ((st = parse_device(reg, json_array_get(devices, i), i, &fs)) != EDS_OK)
			return st;
		reg->ndevices = i + 1;
	}
	if ((st = check_points(reg, fs.key_used, hook)) != EDS_OK)
		return st;
	return sort_devices(reg);
}

/* The JSON text fed to jansson in pieces, so reading can report progress. */
typedef struct {
	const char *json;
	size_t len, pos, next_report;
	const progress_hook *hook;
} text_feed;

/* Bytes per progress report while reading: a few a second on this machine. */
#define READ_REPORT_BYTES (4u * 1024u * 1024u)

static size_t feed_text(void *buf, size_t buflen, void *data)
{
	text_feed *f = data;
	size_t n = f->len - f->pos < buflen ? f->len - f->pos : buflen;
	memcpy(buf, f->json + f->pos, n);
	f->pos += n;
	if (f->hook->fn != NULL && n > 0 && (f->pos >= f->next_report || f->pos == f->len)) {
		f->hook->fn(f->hook->ctx, EDS_REGISTRY_READING, f->pos, f->len);
		f->next_report = f->pos + READ_REPORT_BYTES;
	}
	return n;
}

static eds_status parse(eds_registry **out, const char *json, size_t len, const progress_hook *hook)
{
	json_error_t err;
	text_feed feed = {json, len, 0, 0, hook};
	*out = NULL;
	json_t *root = json_load_callback(feed_text, &feed, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) /* eds_fail makes jansson's excerpt of the input one line */
		return eds_fail(EDS_E_MALFORMED, "registry: JSON line %d, column %d: %s", err.line,
		                err.column, err.text);
	eds_registry *reg = calloc(1, sizeof *reg);
	eds_status st =
	    reg != NULL ? build(reg, root, hook) : eds_fail(EDS_E_NOMEM, "registry: out of memory");
	json_decref(root);
	if (st != EDS_OK) {
		eds_registry_free(reg);
		return st;
	}
	*out = reg;
	return EDS_OK;
}

eds_status eds_registry_parse(eds_registry **out, const char *json, size_t len)
{
	static const progress_hook none = {NULL, NULL};
	if (out == NULL || json == NULL)
		return eds_fail(EDS_E_ARG, "registry: NULL argument");
	return parse(out, json, len, &none);
}

eds_status eds_registry_load_progress(eds_registry **out, const char *path,
                                      eds_registry_progress_fn fn, void *ctx)
{
	const progress_hook hook = {fn, ctx};
	char *text = NULL;
	size_t len = 0;
	if (out == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "registry: NULL argument");
	*out = NULL;
	eds_status st = eds_read_file(path, EDS_REGISTRY_FILE_MAX, &text, &len);
	if (st != EDS_OK)
		return st;
	st = parse(out, text, len, &hook);
	free(text);
	if (st != EDS_OK)
		return eds_fail_prefix(st, "%s", path);
	return EDS_OK;
}

eds_status eds_registry_load(eds_registry **out, const char *path)
{
	return eds_registry_load_progress(out, path, NULL, NULL);
}

void eds_registry_free(eds_registry *reg)
{
	if (reg == NULL)
		return;
	free(reg->devices);
	free(reg->keys);
	free(reg->names);
	free(reg);
}

size_t eds_registry_device_count(const eds_registry *reg)
{
	return reg != NULL ? reg->ndevices : 0;
}

eds_status eds_registry_device_at(const eds_registry *reg, size_t i, eds_registry_device *out)
{
	if (reg == NULL || out == NULL || i >= reg->ndevices)
		return eds_fail(EDS_E_ARG, "registry: no device %zu", i);
	const reg_device *d = &reg->devices[i];
	*out = (eds_registry_device){d->id, d->index, d->nkeys, d->revoked};
	return EDS_OK;
}

eds_status eds_registry_key_at(const eds_registry *reg, size_t i, size_t k, eds_public_key *pk,
                               uint64_t *from_sequence)
{
	if (reg == NULL || pk == NULL || from_sequence == NULL || i >= reg->ndevices ||
	    k >= reg->devices[i].nkeys)
		return eds_fail(EDS_E_ARG, "registry: no key %zu of device %zu", k, i);
	const reg_key *key = &reg->keys[reg->devices[i].first_key + k];
	*pk = key->pk;
	*from_sequence = key->from;
	return EDS_OK;
}

static const reg_device *find_device(const eds_registry *reg, const char *id)
{
	reg_device probe = {id, 0, 0, 0, 0};
	return bsearch(&probe, reg->devices, reg->ndevices, sizeof *reg->devices, compare_devices);
}

/* The last key whose from_sequence <= sequence, or NULL. */
static const reg_key *find_key(const eds_registry *reg, const reg_device *d, uint64_t sequence)
{
	const reg_key *keys = reg->keys + d->first_key;
	size_t lo = 0, hi = d->nkeys; /* keys[0 .. lo) start at or before sequence */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (keys[mid].from <= sequence)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? &keys[lo - 1] : NULL;
}

eds_status eds_registry_lookup(const eds_registry *reg, const char *device_id, uint64_t sequence,
                               eds_public_key *pk)
{
	if (reg == NULL || device_id == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "registry: NULL argument");
	const reg_device *d = find_device(reg, device_id);
	if (d == NULL && printable_ascii(device_id, EDS_DEVICE_ID_MAX))
		return eds_fail(EDS_E_UNKNOWN_DEVICE, "device %s is not in the key registry",
		                device_id);
	if (d == NULL)
		return eds_fail(EDS_E_UNKNOWN_DEVICE, "device is not in the key registry");
	if (d->revoked != 0 && sequence >= d->revoked)
		return eds_fail(EDS_E_REVOKED, "device %s is revoked from sequence %llu (got %llu)",
		                d->id, (unsigned long long)d->revoked,
		                (unsigned long long)sequence);
	const reg_key *k = find_key(reg, d, sequence);
	if (k == NULL)
		return eds_fail(
		    EDS_E_KEY,
		    "device %s has no key for sequence %llu (its first key starts at %llu)", d->id,
		    (unsigned long long)sequence, (unsigned long long)reg->keys[d->first_key].from);
	*pk = k->pk;
	return EDS_OK;
}
