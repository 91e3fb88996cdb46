/*
 * edgesentry/error.h - status codes, error messages and library start-up.
 *
 * Every fallible call in libedgesentry returns an eds_status: EDS_OK (0) on
 * success, a negative EDS_E_* code on failure, and for iterators EDS_DONE (1)
 * when there is nothing more.  On failure the call also records a one-line,
 * human-readable detail (naming the field, line or file that is wrong) that
 * eds_last_error() returns until the next failure on the same thread.
 *
 * Native names deliberately avoid the EDS_ERR_* codes and functions of the
 * edgesentry-rs C bridge (edgesentry_bridge.h) so both headers can be included
 * in one translation unit.  EDS_OK is defined as a macro with the exact token
 * sequence the bridge uses, so the two definitions are compatible.
 */
#ifndef EDGESENTRY_ERROR_H
#define EDGESENTRY_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef EDS_OK
#define EDS_OK 0
#endif

/** Status codes.  Values are part of the ABI: never renumber, only append. */
typedef enum eds_status {
	EDS_STATUS_OK = 0,            /**< same value as EDS_OK */
	EDS_DONE = 1,                 /**< iterator exhausted (not an error) */
	EDS_E_ARG = -1,               /**< invalid argument (NULL, bad size) */
	EDS_E_NOMEM = -2,             /**< out of memory */
	EDS_E_IO = -3,                /**< a file or stream operation failed */
	EDS_E_MALFORMED = -4,         /**< bad syntax: JSON, PEM, hex, base64 */
	EDS_E_FIELD = -5,             /**< a field breaks its rule (range, charset) */
	EDS_E_LIMIT = -6,             /**< input larger than an explicit limit */
	EDS_E_KEY = -7,               /**< key invalid or not usable */
	EDS_E_PERM = -8,              /**< unsafe file permissions (secret key) */
	EDS_E_SIGNATURE = -9,         /**< signature does not verify */
	EDS_E_HASH_MISMATCH = -10,    /**< stated record_hash differs from computed */
	EDS_E_PAYLOAD_MISMATCH = -11, /**< payload bytes differ in hash or size */
	EDS_E_SEQUENCE = -12,         /**< sequence not the next one (gap, reorder) */
	EDS_E_PREV_HASH = -13,        /**< prev_hash does not link to previous */
	EDS_E_FORK = -14,             /**< different record for a used sequence */
	EDS_E_UNKNOWN_DEVICE = -15,   /**< device not in the key registry */
	EDS_E_REVOKED = -16,          /**< device revoked at this sequence */
	EDS_E_NOT_FOUND = -17,        /**< named thing does not exist */
	EDS_E_EXISTS = -18,           /**< refused to overwrite an existing thing */
	EDS_E_UNSUPPORTED = -19,      /**< feature or format not supported */
	EDS_E_INTERNAL = -20          /**< library bug or crypto init failure */
} eds_status;

/**
 * Initialise the library (libsodium, CPU feature detection).  Call once
 * before anything else; later calls are cheap no-ops.  Thread-safe.
 * Returns EDS_OK or EDS_E_INTERNAL when the crypto library cannot start.
 */
eds_status eds_init(void);

/** A fixed, static English description of a status code.  Never NULL. */
const char *eds_strerror(eds_status status);

/**
 * Detail of the last failure on the calling thread, e.g.
 * "record.sequence: must be 1 .. 2^53-1".  Never NULL; "" before any
 * failure.  The string is owned by the library and valid until the next
 * failing call on this thread.  Successful calls do not clear it.  It is
 * one line of valid UTF-8, at most 511 bytes: control characters and
 * malformed UTF-8 quoted from the input show as '?', and a UTF-8 sequence
 * cut by the size limit is dropped whole.
 */
const char *eds_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
