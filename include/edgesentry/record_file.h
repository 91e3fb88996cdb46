/*
 * edgesentry/record_file.h - reading and appending record files.
 *
 * A record file is JSON Lines (one record per line) or a single JSON array
 * of records; the reader detects which from the first non-blank byte and
 * streams either form in constant memory (one record at a time), so files
 * of any size can be verified.  Blank lines in JSON Lines are skipped.
 * A reader handle is not thread-safe.
 */
#ifndef EDGESENTRY_RECORD_FILE_H
#define EDGESENTRY_RECORD_FILE_H

#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest line (or array element) the reader accepts, in bytes. */
#define EDS_RECORD_LINE_MAX 65536

typedef struct eds_record_reader eds_record_reader;

/**
 * Open path ("-" reads standard input).  Errors: EDS_E_ARG, EDS_E_NOMEM,
 * EDS_E_NOT_FOUND (no such file), EDS_E_IO (e.g. a directory); the detail
 * names the path.
 */
eds_status eds_record_reader_open(eds_record_reader **out, const char *path);

/**
 * Read the next record into r.  Returns EDS_OK, EDS_DONE at the end, or an
 * error whose detail starts with "PATH:LINE: " (EDS_E_MALFORMED for bad
 * JSON or a truncated file, EDS_E_LIMIT for a line over EDS_RECORD_LINE_MAX,
 * EDS_E_FIELD / EDS_E_HASH_MISMATCH from eds_record_from_json).  After an
 * error the reader cannot continue.
 */
eds_status eds_record_reader_next(eds_record_reader *rd, eds_record *r);

/** 0-based index of the record last returned. */
uint64_t eds_record_reader_index(const eds_record_reader *rd);

/** 1-based line number where the record last returned starts. */
uint64_t eds_record_reader_line(const eds_record_reader *rd);

/** Bytes consumed so far. */
uint64_t eds_record_reader_offset(const eds_record_reader *rd);

/** The file size (0 when unknown, e.g. a pipe). */
uint64_t eds_record_reader_size(const eds_record_reader *rd);

/**
 * Nonzero when the input is a JSON array rather than JSON Lines (known once
 * eds_record_reader_next has been called; a writer must not append lines to
 * an array file).
 */
int eds_record_reader_is_array(const eds_record_reader *rd);

/** Close and free.  NULL is ignored. */
void eds_record_reader_close(eds_record_reader *rd);

/**
 * Read a file holding exactly one record: one JSON object (compact or
 * pretty-printed, optionally followed by a newline, i.e. a one-line JSON
 * Lines file) or a JSON array of one record.  "-" reads standard input.
 * The file may be at most EDS_RECORD_LINE_MAX bytes.  Errors as
 * eds_record_from_json plus EDS_E_IO, EDS_E_NOT_FOUND, EDS_E_LIMIT and
 * EDS_E_MALFORMED for more than one record; the detail starts with the path.
 */
eds_status eds_record_load(eds_record *r, const char *path);

/**
 * Append r as one JSON line to path (created 0644 if absent), then fsync.
 * A file that does not end in a newline gets one first, so a torn last
 * line never merges with the new record.  Errors: EDS_E_ARG, EDS_E_IO,
 * EDS_E_FIELD.
 */
eds_status eds_record_append(const char *path, const eds_record *r);

#ifdef __cplusplus
}
#endif
#endif
