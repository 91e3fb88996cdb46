/*
 * record_internal.h - record JSON helpers shared inside the library (the
 * record file reader, and any module that receives a record nested in a
 * larger JSON document, e.g. the ingest API body).  Not installed.
 */
#ifndef EDS_CORE_RECORD_INTERNAL_H
#define EDS_CORE_RECORD_INTERNAL_H

#include <jansson.h>
#include <stddef.h>

#include "edgesentry/record.h"
#include "edgesentry/record_file.h"

/**
 * Parse JSON text with the record rules every EdgeSentry reader applies:
 * duplicate keys and NUL inside strings refused.  Returns the document, or
 * NULL with *st set (EDS_E_MALFORMED, or EDS_E_FIELD naming an integer field
 * whose value is beyond 64 bits).  The caller json_decref()s the result.
 */
json_t *eds_json_load_strict(const char *json, size_t len, eds_status *st);

/**
 * eds_record_from_json for an already parsed object (the caller parsed it
 * with eds_json_load_strict or equivalent flags).  Same errors.
 */
eds_status eds_record_from_jansson(eds_record *r, const json_t *obj);

/**
 * eds_record_from_json that also gives the record_hash (hash may be NULL):
 * the stated one once checked, else computed.  A chain verifier takes it
 * instead of hashing the record a second time.  Same errors.
 */
eds_status eds_record_from_json_hashed(eds_record *r, const char *json, size_t len, uint8_t *hash);

/**
 * Read a record written exactly in the canonical form (eds_record_to_json's
 * output: compact, keys in FORMAT.md order, record_hash present, plain
 * printable ASCII strings) at the start of text, without a JSON parser, for
 * a caller that finds records inside a larger document.  Returns 0 when text
 * does not start with that form (r is then unspecified and *st untouched):
 * the caller must then read the text another way.  Otherwise returns the
 * length of the record's text and sets *st to exactly what
 * eds_record_from_json answers for that text (field rules, stated
 * record_hash).
 */
size_t eds_record_from_canonical(eds_record *r, const char *text, size_t len, eds_status *st);

/** eds_record_reader_next that also gives the record_hash, as above. */
eds_status eds_record_reader_next_hashed(eds_record_reader *rd, eds_record *r, uint8_t *hash);

#endif
