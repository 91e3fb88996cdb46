/*
 * edgesentry/registry.h - the key registry of FORMAT.md section 2: which
 * public key verifies which sequence range of which device, and revocation.
 *
 * An eds_registry is immutable after loading and safe to share between
 * threads for lookups.
 */
#ifndef EDGESENTRY_REGISTRY_H
#define EDGESENTRY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Limits on registry input (docs/format.md 7, docs/architecture.md 5).
 * EDS_REGISTRY_FILE_MAX (512 MiB) holds EDS_REGISTRY_MAX_DEVICES devices at
 * about 500 bytes each: a million devices with one key are about 190 MB
 * of JSON, with a rotated second key about 290 MB.  Loading holds the text
 * and jansson's tree at once, about 8 times the file size at peak (1.5 GB
 * for the 190 MB file); the loaded registry keeps about 100 bytes per
 * device.
 */
#define EDS_REGISTRY_FILE_MAX            (512u * 1024u * 1024u)
#define EDS_REGISTRY_MAX_DEVICES         1000000u
#define EDS_REGISTRY_MAX_KEYS_PER_DEVICE 1024u

typedef struct eds_registry eds_registry;

/**
 * Parse registry JSON.  Rejects unknown and duplicate keys, duplicate
 * device ids, keys whose from_sequence is not strictly increasing or does
 * not start at >= 1, invalid hex or curve points, and sizes over the limits.
 * Every device needs "device_id" (the record rules of FORMAT.md 1.1) and
 * "keys" (1 .. EDS_REGISTRY_MAX_KEYS_PER_DEVICE entries, each with
 * "public_key" and "from_sequence" 1 .. 2^53-1); "revoked_from_sequence" is
 * optional (absent means null, else 1 .. 2^53-1).  An empty "devices" list
 * is a valid registry.  On success *out owns a new registry (free with
 * eds_registry_free); on failure *out is NULL.
 * Errors: EDS_E_ARG, EDS_E_NOMEM, EDS_E_MALFORMED (JSON syntax, unknown or
 * missing member, wrong type), EDS_E_FIELD (a value breaks its rule,
 * duplicate device id), EDS_E_KEY (invalid public key), EDS_E_LIMIT; the
 * detail names the JSON path, e.g. "devices[3].keys[1].from_sequence".
 * Cost: each key is checked with a full curve-point validation (about as
 * costly as one signature verification, ~45 us), after the structural
 * checks and, past 2048 keys, in parallel on one thread per online CPU; the
 * first invalid key in file order is reported.  Loading is linear in the
 * size of the input; lookups are binary searches.
 */
eds_status eds_registry_parse(eds_registry **out, const char *json, size_t len);

/**
 * Read and parse a registry file (at most EDS_REGISTRY_FILE_MAX bytes, else
 * EDS_E_LIMIT).  As eds_registry_parse, plus EDS_E_NOT_FOUND and EDS_E_IO;
 * every detail starts with path.
 */
eds_status eds_registry_load(eds_registry **out, const char *path);

/** What eds_registry_load_progress is doing when it reports. */
typedef enum eds_registry_phase {
	EDS_REGISTRY_READING = 1,       /**< parsing the JSON: done and total are bytes */
	EDS_REGISTRY_CHECKING_KEYS = 2, /**< checking curve points: done and total are keys */
} eds_registry_phase;

/**
 * Progress of eds_registry_load_progress, for the two slow parts of a large
 * registry (for a million devices here, about 10 s of parsing and 20 s of
 * key checks on two cores).  Called on the loading thread, never on a
 * worker: while parsing, every 4 MiB of JSON and at the end; then with 0
 * keys once the structure is checked, after each slice of 65,536 keys and
 * with done == total at the end (unless a key is invalid, which stops the
 * checks).  A registry with errors may stop reporting at any point.
 */
typedef void (*eds_registry_progress_fn)(void *ctx, eds_registry_phase phase, uint64_t done,
                                         uint64_t total);

/**
 * eds_registry_load, reporting how the key checks advance to fn (with ctx,
 * borrowed) so a tool can show progress; fn NULL is eds_registry_load.
 * Same result, errors and ownership as eds_registry_load.
 */
eds_status eds_registry_load_progress(eds_registry **out, const char *path,
                                      eds_registry_progress_fn fn, void *ctx);

/** Release a registry.  NULL is ignored. */
void eds_registry_free(eds_registry *reg);

/**
 * The key that must verify record `sequence` of `device_id`: the entry with
 * the largest from_sequence <= sequence.  Errors: EDS_E_UNKNOWN_DEVICE
 * (device absent), EDS_E_REVOKED (sequence >= revoked_from_sequence),
 * EDS_E_KEY (no key covers that sequence).
 */
eds_status eds_registry_lookup(const eds_registry *reg, const char *device_id, uint64_t sequence,
                               eds_public_key *pk);

/** Number of devices. */
size_t eds_registry_device_count(const eds_registry *reg);

/** One device of a registry, as eds_registry_device_at reads it out. */
typedef struct eds_registry_device {
	const char *device_id;          /**< borrowed: valid while the registry lives */
	size_t index;                   /**< its position in the input's "devices" list */
	size_t key_count;               /**< 1 .. EDS_REGISTRY_MAX_KEYS_PER_DEVICE */
	uint64_t revoked_from_sequence; /**< 0: not revoked */
} eds_registry_device;

/**
 * Device i (0 .. eds_registry_device_count - 1), in device_id order (bytewise),
 * for walking a whole registry, e.g. to import it into a ledger.
 * Errors: EDS_E_ARG (NULL argument, i out of range).
 */
eds_status eds_registry_device_at(const eds_registry *reg, size_t i, eds_registry_device *out);

/**
 * Key k (0 .. key_count - 1, ascending from_sequence) of device i: the
 * public key and the first sequence it verifies.
 * Errors: EDS_E_ARG (NULL argument, i or k out of range).
 */
eds_status eds_registry_key_at(const eds_registry *reg, size_t i, size_t k, eds_public_key *pk,
                               uint64_t *from_sequence);

#ifdef __cplusplus
}
#endif
#endif
