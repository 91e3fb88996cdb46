/*
 * update_internal.h - helpers shared by the update module's files (strict
 * JSON fields, canonical encoding, signature lists).  Not installed.
 */
#ifndef EDS_UPDATE_INTERNAL_H
#define EDS_UPDATE_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "edgesentry/update.h"

/** A growing canonical buffer; overflow sets bad (encoders then fail with EDS_E_LIMIT). */
typedef struct upd_buf {
	uint8_t *p;
	size_t len, cap;
	int bad;
} upd_buf;

void upd_put(upd_buf *b, const void *data, size_t len);
void upd_put_u8(upd_buf *b, unsigned v);
void upd_put_u64(upd_buf *b, uint64_t v);
void upd_put_str8(upd_buf *b, const char *s);

/** 1..max bytes of A-Z a-z 0-9 . _ : - (and '/' when slash); field names it in errors. */
eds_status upd_check_id(const char *field, const char *s, size_t max, int slash);

/** Refuse any key of obj not in the NULL-terminated allowed list. */
eds_status upd_only_keys(const char *what, const json_t *obj, const char *const *allowed);
/** A required integer 0 .. 2^53-1. */
eds_status upd_get_int(const json_t *obj, const char *key, uint64_t *out);
/** A required lowercase hex string of exactly n bytes. */
eds_status upd_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n);
/** A required string of at most max bytes, copied into out (max + 1 bytes). */
eds_status upd_get_str(const json_t *obj, const char *key, char *out, size_t max);
/**
 * Parse the "signatures" array of {public_key, signature} objects.  A key may
 * appear twice (verification counts it once and reports the duplicate).
 */
eds_status upd_get_sigs(const json_t *obj, eds_update_signature *sigs, size_t *n);
/** JSON text of root into buf (pretty, trailing newline); frees root. */
eds_status upd_dump(json_t *root, char *buf, size_t cap, size_t *len);
json_t *upd_hex(const uint8_t *bin, size_t n);
json_t *upd_sigs_json(const eds_update_signature *sigs, size_t n);
/**
 * A strict JSON document of this module (manifest, trust policy, device
 * state): an object with only keys, "format" equal to format, and the rest
 * read by fill into an out of size bytes.
 */
typedef struct upd_doc {
	const char *what; /* "manifest": names the document in errors */
	const char *format;
	const char *const *keys; /* allowed keys, NULL-terminated */
	eds_status (*fill)(void *out, const json_t *root);
	size_t size;
} upd_doc;

/** Parse json[0..len) (at most EDS_UPDATE_JSON_MAX bytes) as d into out (zeroed first). */
eds_status upd_doc_from_json(const upd_doc *d, void *out, const char *json, size_t len);
/** upd_doc_from_json on the file at path; errors name the path. */
eds_status upd_doc_load(const upd_doc *d, void *out, const char *path);

/** Count signatures over msg against keys (see eds_update_sig_count). */
void upd_count_sigs(const eds_public_key *keys, size_t n_keys, const eds_update_signature *sigs,
                    size_t n_sigs, const uint8_t *msg, size_t len, eds_update_sig_count *c);
/** Append a signature by sk over msg; EDS_E_EXISTS when sk already signed. */
eds_status upd_add_sig(eds_update_signature *sigs, size_t *n, const eds_secret_key *sk,
                       const uint8_t *msg, size_t len);

#endif
