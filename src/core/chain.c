/*
 * chain.c - streaming verification of per-device record chains
 * (FORMAT.md 1.3, include/edgesentry/chain.h).
 *
 * State is one entry per device (chain head, counters) in a growing array,
 * found through an open-addressing hash table of indexes into it; nothing
 * is kept per record, so any number of records verifies in memory
 * proportional to the number of devices.
 */
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_internal.h"
#include "edgesentry/blake3.h"
#include "edgesentry/chain.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/encoding.h"
#include "edgesentry/payload.h"
#include "internal.h"
#include "work_pool.h"

/* A slot holds a device's index + 1; 0 marks an empty slot. */
#define EMPTY_SLOT 0u
#define MIN_SLOTS  64u

typedef struct device {
	eds_chain_device pub;
	uint64_t head_index; /* input index of the record whose hash is pub.head */
} device;

/*
 * What one record contributes, computed once and independent of every
 * other record (so a batch is prepared in parallel): its signed header,
 * hash, and the verdict of its signature.  A verdict only counts when the
 * sequential checks reach the signature step, so the outcome is the same
 * as checking one record at a time.
 */
typedef struct record_view {
	const eds_record *r;
	const uint8_t *known_hash; /* the caller's hash of r (the reader's), or NULL */
	uint64_t index;
	uint8_t header[EDS_HEADER_MAX];
	size_t header_len;
	uint8_t hash[EDS_HASH_LEN];
	eds_status header_st, sig_st;
	char detail[256]; /* the error detail of the failed step above */
} record_view;

struct eds_chain_verifier {
	const eds_public_key *public_key;
	const eds_registry *registry;
	char *payload_dir;
	eds_chain_pending_fn payload_pending;
	void *pending_ctx;
	device *devices;
	size_t device_cap;
	uint32_t *slots;
	size_t slot_count; /* a power of two, at least twice the device count */
	/* Keyed (SipHash) so crafted device ids cannot force collisions. */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	eds_chain_failure *failures;
	size_t failure_count, failure_cap;
	eds_chain_summary sum;
	eds_status fatal; /* EDS_OK until out of memory or over a limit */
	unsigned threads; /* for batches; the pool starts at the first one */
	eds_pool *pool;
	record_view *views;
	size_t view_cap;
};

const char *eds_chain_reason_code(eds_status reason)
{
	switch (reason) {
	case EDS_E_FIELD: return "invalid_field";
	case EDS_E_SEQUENCE: return "sequence_gap";
	case EDS_E_PREV_HASH: return "prev_hash_mismatch";
	case EDS_E_FORK: return "fork";
	case EDS_E_SIGNATURE: return "bad_signature";
	case EDS_E_UNKNOWN_DEVICE: return "unknown_device";
	case EDS_E_REVOKED: return "revoked_device";
	case EDS_E_KEY: return "no_key";
	case EDS_E_PAYLOAD_MISMATCH: return "payload_mismatch";
	case EDS_E_NOT_FOUND: return "payload_missing";
	case EDS_E_IO: return "io_error";
	default: return "error";
	}
}

eds_status eds_chain_reason_status(const char *code, eds_status otherwise)
{
	static const eds_status refusals[] = {
	    EDS_E_FORK,           EDS_E_SIGNATURE, EDS_E_SEQUENCE,         EDS_E_PREV_HASH,
	    EDS_E_UNKNOWN_DEVICE, EDS_E_REVOKED,   EDS_E_PAYLOAD_MISMATCH,
	};
	for (size_t i = 0; code != NULL && i < sizeof refusals / sizeof refusals[0]; i++)
		if (strcmp(code, eds_chain_reason_code(refusals[i])) == 0)
			return refusals[i];
	return otherwise;
}

eds_status eds_chain_verifier_new(eds_chain_verifier **out, const eds_chain_options *opts)
{
	if (out == NULL)
		return eds_fail(EDS_E_ARG, "chain verifier: NULL argument");
	*out = NULL;
	if (opts != NULL && opts->public_key != NULL && opts->registry != NULL)
		return eds_fail(EDS_E_ARG,
		                "chain verifier: give a public key or a registry, not both");
	eds_chain_verifier *v = calloc(1, sizeof *v);
	if (v == NULL)
		return eds_fail(EDS_E_NOMEM, "chain verifier: out of memory");
	if (opts != NULL) {
		v->public_key = opts->public_key;
		v->registry = opts->registry;
		v->threads = opts->threads;
		v->payload_pending = opts->payload_pending;
		v->pending_ctx = opts->pending_ctx;
		if (opts->payload_dir != NULL &&
		    (v->payload_dir = strdup(opts->payload_dir)) == NULL) {
			free(v);
			return eds_fail(EDS_E_NOMEM, "chain verifier: out of memory");
		}
	}
	crypto_shorthash_keygen(v->hash_key);
	*out = v;
	return EDS_OK;
}

void eds_chain_verifier_free(eds_chain_verifier *v)
{
	if (v == NULL)
		return;
	eds_pool_free(v->pool);
	free(v->views);
	free(v->payload_dir);
	free(v->devices);
	free(v->slots);
	free(v->failures);
	free(v);
}

/* ---- the device table ------------------------------------------------------ */

static size_t slot_of(const eds_chain_verifier *v, const char *id)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t x = 0;
	crypto_shorthash(h, (const unsigned char *)id, strlen(id), v->hash_key);
	for (size_t i = 0; i < sizeof h; i++)
		x = x << 8 | h[i];
	return (size_t)(x & (v->slot_count - 1));
}

/* Index of device id in v->devices, or SIZE_MAX when absent. */
static size_t find_device(const eds_chain_verifier *v, const char *id)
{
	if (v->slot_count == 0)
		return SIZE_MAX;
	for (size_t s = slot_of(v, id);; s = (s + 1) & (v->slot_count - 1)) {
		uint32_t slot = v->slots[s];
		if (slot == EMPTY_SLOT)
			return SIZE_MAX;
		if (strcmp(v->devices[slot - 1].pub.device_id, id) == 0)
			return slot - 1;
	}
}

static void insert_slot(eds_chain_verifier *v, size_t index)
{
	size_t s = slot_of(v, v->devices[index].pub.device_id);
	while (v->slots[s] != EMPTY_SLOT)
		s = (s + 1) & (v->slot_count - 1);
	v->slots[s] = (uint32_t)(index + 1);
}

/* Keep the table at most half full so probe runs stay short. */
static eds_status grow_slots(eds_chain_verifier *v)
{
	size_t n = v->slot_count == 0 ? MIN_SLOTS : v->slot_count * 2;
	uint32_t *slots = calloc(n, sizeof *slots);
	if (slots == NULL)
		return eds_fail(EDS_E_NOMEM, "chain verifier: out of memory for %zu devices",
		                (size_t)v->sum.devices);
	free(v->slots);
	v->slots = slots;
	v->slot_count = n;
	for (size_t i = 0; i < v->sum.devices; i++)
		insert_slot(v, i);
	return EDS_OK;
}

static eds_status add_device(eds_chain_verifier *v, const char *id, size_t *index)
{
	size_t n = (size_t)v->sum.devices;
	if (n >= EDS_CHAIN_MAX_DEVICES)
		return eds_fail(EDS_E_LIMIT, "chain verifier: more than %u devices",
		                EDS_CHAIN_MAX_DEVICES);
	if (n == v->device_cap) {
		size_t cap = n == 0 ? 16 : 2 * n;
		device *d = realloc(v->devices, cap * sizeof *d);
		if (d == NULL)
			return eds_fail(EDS_E_NOMEM,
			                "chain verifier: out of memory for %zu devices", n);
		v->devices = d;
		v->device_cap = cap;
	}
	if (2 * (n + 1) > v->slot_count) {
		eds_status st = grow_slots(v);
		if (st != EDS_OK)
			return st;
	}
	device *d = &v->devices[n];
	memset(d, 0, sizeof *d);
	memcpy(d->pub.device_id, id, strlen(id) + 1);
	v->sum.devices++;
	insert_slot(v, n);
	*index = n;
	return EDS_OK;
}

/* ---- the checks, in the order chain.h documents ---------------------------- */

static eds_status check_sequence(const device *d, const record_view *rv)
{
	const unsigned long long seq = rv->r->sequence, last = d->pub.last_sequence,
	                         head = d->head_index;
	if (last == 0 && seq != 1)
		return eds_fail(EDS_E_SEQUENCE, "chain starts at sequence %llu, expected 1", seq);
	if (seq == last + 1)
		return EDS_OK;
	if (seq == last) {
		if (memcmp(rv->hash, d->pub.head, EDS_HASH_LEN) == 0)
			return EDS_DONE;
		return eds_fail(EDS_E_FORK,
		                "sequence %llu is already used by record #%llu with a different "
		                "record_hash (fork)",
		                seq, head);
	}
	if (seq < last)
		return eds_fail(EDS_E_SEQUENCE,
		                "sequence %llu is behind the chain head (record #%llu, sequence "
		                "%llu): reordered or replayed",
		                seq, head, last);
	return eds_fail(EDS_E_SEQUENCE,
	                "sequence gap: expected %llu after record #%llu (sequence %llu), got %llu",
	                last + 1, head, last, seq);
}

static eds_status check_link(const device *d, const record_view *rv)
{
	/* Record 1's zero prev_hash was checked with the other field rules. */
	if (rv->r->sequence == 1 || memcmp(rv->r->prev_hash, d->pub.head, EDS_HASH_LEN) == 0)
		return EDS_OK;
	return eds_fail(EDS_E_PREV_HASH, "prev_hash does not link to record #%llu (sequence %llu)",
	                (unsigned long long)d->head_index,
	                (unsigned long long)d->pub.last_sequence);
}

static eds_status signing_key(const eds_chain_verifier *v, const eds_record *r, eds_public_key *pk)
{
	if (v->public_key != NULL) {
		*pk = *v->public_key;
		return EDS_OK;
	}
	eds_status st = eds_registry_lookup(v->registry, r->device_id, r->sequence, pk);
	switch (st) {
	case EDS_OK: return EDS_OK;
	case EDS_E_UNKNOWN_DEVICE: return eds_fail(st, "device is not in the key registry");
	case EDS_E_KEY:
		return eds_fail(st, "no registry key covers sequence %llu",
		                (unsigned long long)r->sequence);
	default: return eds_fail_prefix(st, "key registry");
	}
}

/* The signature verdict: pure, so worker threads run it for a batch. */
static eds_status verify_signature(const eds_chain_verifier *v, const record_view *rv)
{
	eds_public_key pk;
	eds_status st = signing_key(v, rv->r, &pk);
	if (st != EDS_OK)
		return st;
	if (eds_ed25519_verify(rv->r->signature, rv->header, rv->header_len, pk.bytes) != EDS_OK)
		return eds_fail(EDS_E_SIGNATURE, "signature does not verify with %s",
		                v->registry != NULL ? "the registry key for this sequence"
		                                    : "the given public key");
	return EDS_OK;
}

static bool keyed(const eds_chain_verifier *v)
{
	return v->public_key != NULL || v->registry != NULL;
}

/* Keep a failed step's status and detail in the view (the detail is per thread). */
static eds_status keep_detail(record_view *rv, eds_status st)
{
	if (st != EDS_OK)
		snprintf(rv->detail, sizeof rv->detail, "%s", eds_last_error());
	return st;
}

/* Header, hash and signature verdict of one record: thread-safe. */
static void prepare_view(const eds_chain_verifier *v, record_view *rv)
{
	rv->sig_st = EDS_OK;
	rv->header_st = keep_detail(
	    rv, eds_record_header_encode(rv->r, rv->header, sizeof rv->header, &rv->header_len));
	if (rv->header_st != EDS_OK)
		return;
	if (rv->known_hash != NULL) {
		memcpy(rv->hash, rv->known_hash, EDS_HASH_LEN);
	} else {
		eds_blake3_hasher h;
		eds_blake3_init(&h);
		eds_blake3_update(&h, rv->header, rv->header_len);
		eds_blake3_update(&h, rv->r->signature, EDS_SIGNATURE_LEN);
		eds_blake3_finalize(&h, rv->hash, EDS_HASH_LEN);
	}
	if (keyed(v))
		rv->sig_st = keep_detail(rv, verify_signature(v, rv));
}

/* A prepared step's failure, raised again on the verifier's thread. */
static eds_status replay(eds_status st, const record_view *rv)
{
	return st == EDS_OK ? EDS_OK : eds_fail(st, "%s", rv->detail);
}

static eds_status check_signature(eds_chain_verifier *v, const record_view *rv)
{
	eds_status st = replay(rv->sig_st, rv);
	if (st == EDS_OK && keyed(v))
		v->sum.signatures_checked++;
	return st;
}

/* A one-line reason naming the payload by hash, not by its (long) path. */
static eds_status payload_failure(eds_status st, const char *dir, const uint8_t *hash)
{
	char hex[2 * EDS_HASH_LEN + 1], path[PATH_MAX], why[256];
	eds_hex_encode(hex, hash, EDS_HASH_LEN);
	if (st == EDS_E_NOT_FOUND)
		return eds_fail(st, "payload %s is missing from the payload directory", hex);
	/* payload.c's detail is "payload PATH: what"; keep the what. */
	const char *detail = eds_last_error();
	if (eds_payload_path(path, sizeof path, dir, hash) == EDS_OK) {
		size_t n = strlen(path);
		if (strncmp(detail, "payload ", 8) == 0 && strncmp(detail + 8, path, n) == 0 &&
		    strncmp(detail + 8 + n, ": ", 2) == 0)
			detail += 8 + n + 2;
	}
	snprintf(why, sizeof why, "%s", detail);
	return eds_fail(st, "payload %.16s...: %s", hex, why);
}

static eds_status check_payload(eds_chain_verifier *v, const record_view *rv)
{
	if (v->payload_dir == NULL)
		return EDS_OK;
	eds_status st = eds_payload_check(v->payload_dir, rv->r->payload_hash, rv->r->payload_size);
	if (st == EDS_E_NOT_FOUND && v->payload_pending != NULL &&
	    v->payload_pending(v->pending_ctx, rv->r)) {
		v->sum.payloads_pending++;
		return EDS_OK;
	}
	if (st != EDS_OK)
		return payload_failure(st, v->payload_dir, rv->r->payload_hash);
	v->sum.payloads_checked++;
	return EDS_OK;
}

/* EDS_OK: the record extends the chain; EDS_DONE: an exact retry; else the failure. */
static eds_status check_record(eds_chain_verifier *v, const device *d, const record_view *rv)
{
	eds_status st = replay(rv->header_st, rv);
	if (st != EDS_OK)
		return st;
	if ((st = check_sequence(d, rv)) != EDS_OK || (st = check_link(d, rv)) != EDS_OK ||
	    (st = check_signature(v, rv)) != EDS_OK)
		return st;
	return check_payload(v, rv);
}

/* Keep the failure (message = the current detail) and mark the device failed. */
static eds_status record_failure(eds_chain_verifier *v, device *d, const record_view *rv,
                                 eds_status reason)
{
	if (v->failure_count == v->failure_cap) {
		size_t cap = v->failure_cap == 0 ? 8 : 2 * v->failure_cap;
		eds_chain_failure *f = realloc(v->failures, cap * sizeof *f);
		if (f == NULL)
			return v->fatal = eds_fail(EDS_E_NOMEM, "chain verifier: out of memory");
		v->failures = f;
		v->failure_cap = cap;
	}
	eds_chain_failure *f = &v->failures[v->failure_count++];
	memset(f, 0, sizeof *f);
	memcpy(f->device_id, d->pub.device_id, sizeof f->device_id);
	f->index = rv->index;
	f->sequence = rv->r->sequence;
	f->reason = reason;
	snprintf(f->message, sizeof f->message, "%s", eds_last_error());
	d->pub.failed = 1;
	v->sum.devices_failed++;
	return reason;
}

/* The device a record names; an unterminated id is cut (it then fails validation). */
static void device_key(const eds_record *r, char id[EDS_DEVICE_ID_MAX + 1])
{
	const char *end = memchr(r->device_id, '\0', EDS_DEVICE_ID_MAX);
	size_t len = end != NULL ? (size_t)(end - r->device_id) : EDS_DEVICE_ID_MAX;
	memcpy(id, r->device_id, len);
	id[len] = '\0';
}

/* Feed one record whose view is prepared, or is prepared here (view NULL). */
static eds_status add_record(eds_chain_verifier *v, const eds_record *r, record_view *prepared)
{
	char id[EDS_DEVICE_ID_MAX + 1];
	record_view local;
	if (v->fatal != EDS_OK)
		return eds_fail(v->fatal, "chain verifier: stopped by an earlier error");
	device_key(r, id);
	size_t i = find_device(v, id);
	if (i == SIZE_MAX) {
		eds_status st = add_device(v, id, &i);
		if (st != EDS_OK)
			return v->fatal = st;
	}
	device *d = &v->devices[i];
	/* local is filled field by field below before any read. */
	// cppcheck-suppress uninitvar
	record_view *rv = prepared != NULL ? prepared : &local;
	rv->r = r;
	rv->index = v->sum.records++;
	d->pub.records++;
	if (d->pub.failed)
		return EDS_OK;
	if (prepared == NULL) {
		rv->known_hash = NULL;
		prepare_view(v, rv);
	}

	eds_status st = check_record(v, d, rv);
	if (st == EDS_DONE) {
		v->sum.duplicates++;
		return EDS_OK;
	}
	if (st != EDS_OK)
		return record_failure(v, d, rv, st);
	d->pub.last_sequence = r->sequence;
	memcpy(d->pub.head, rv->hash, EDS_HASH_LEN);
	d->head_index = rv->index;
	return EDS_OK;
}

eds_status eds_chain_verifier_add(eds_chain_verifier *v, const eds_record *r)
{
	if (v == NULL || r == NULL)
		return eds_fail(EDS_E_ARG, "chain verifier: NULL argument");
	return add_record(v, r, NULL);
}

static void prepare_range(void *ctx, size_t begin, size_t end)
{
	eds_chain_verifier *v = ctx;
	for (size_t i = begin; i < end; i++)
		prepare_view(v, &v->views[i]);
}

static eds_status batch_setup(eds_chain_verifier *v, size_t n)
{
	if (v->pool == NULL) {
		eds_status st = eds_pool_new(&v->pool, v->threads);
		if (st != EDS_OK)
			return st;
	}
	if (n > v->view_cap) {
		record_view *views = realloc(v->views, n * sizeof *views);
		if (views == NULL)
			return eds_fail(EDS_E_NOMEM,
			                "chain verifier: out of memory for a batch of %zu", n);
		v->views = views;
		v->view_cap = n;
	}
	return EDS_OK;
}

eds_status eds_chain_verifier_add_batch_hashed(eds_chain_verifier *v, const eds_record *records,
                                               const uint8_t (*hashes)[EDS_HASH_LEN], size_t n)
{
	if (v == NULL || (records == NULL && n > 0))
		return eds_fail(EDS_E_ARG, "chain verifier: NULL argument");
	if (v->fatal != EDS_OK)
		return eds_fail(v->fatal, "chain verifier: stopped by an earlier error");
	if (n > EDS_CHAIN_BATCH_MAX)
		return eds_fail(EDS_E_ARG, "chain verifier: batch of %zu records, at most %u", n,
		                EDS_CHAIN_BATCH_MAX);
	eds_status st = batch_setup(v, n);
	if (st != EDS_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		v->views[i].r = &records[i];
		v->views[i].known_hash = hashes != NULL ? hashes[i] : NULL;
	}
	/* Small ranges: signature checks cost alike, but other load on the
	 * machine may stall one thread. */
	eds_pool_run(v->pool, prepare_range, v, n, 16);
	for (size_t i = 0; i < n; i++) {
		st = add_record(v, &records[i], &v->views[i]);
		if (st == EDS_E_NOMEM || st == EDS_E_LIMIT)
			return st;
	}
	return EDS_OK;
}

eds_status eds_chain_verifier_add_batch(eds_chain_verifier *v, const eds_record *records, size_t n)
{
	return eds_chain_verifier_add_batch_hashed(v, records, NULL, n);
}

void eds_chain_verifier_summary(const eds_chain_verifier *v, eds_chain_summary *s)
{
	if (s == NULL)
		return;
	if (v == NULL)
		memset(s, 0, sizeof *s);
	else
		*s = v->sum;
}

size_t eds_chain_verifier_failures(const eds_chain_verifier *v, const eds_chain_failure **list)
{
	if (list != NULL)
		*list = v != NULL ? v->failures : NULL;
	return v != NULL ? v->failure_count : 0;
}

size_t eds_chain_verifier_device_count(const eds_chain_verifier *v)
{
	return v != NULL ? (size_t)v->sum.devices : 0;
}

eds_status eds_chain_verifier_device(const eds_chain_verifier *v, size_t i, eds_chain_device *out)
{
	if (v == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "chain verifier: NULL argument");
	if (i >= v->sum.devices)
		return eds_fail(EDS_E_ARG, "chain verifier: device %zu of %zu", i,
		                (size_t)v->sum.devices);
	*out = v->devices[i].pub;
	return EDS_OK;
}
