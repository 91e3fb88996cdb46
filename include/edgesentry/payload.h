/*
 * edgesentry/payload.h - the content-addressed payload directory
 * (FORMAT.md section 3): a payload lives at <root>/<h[0..2]>/<h[2..64]>
 * where h is the lowercase hex BLAKE3 hash of its bytes.
 */
#ifndef EDGESENTRY_PAYLOAD_H
#define EDGESENTRY_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Path of the payload with hash h under root, into buf.  Errors: EDS_E_ARG,
 * EDS_E_LIMIT when cap is too small.
 */
eds_status eds_payload_path(char *buf, size_t cap, const char *root, const uint8_t hash[32]);

/**
 * Store data under root by its hash: temporary file, fsync, rename, fsync of
 * the directory (durable on return).  An existing identical file is kept.
 * Errors: EDS_E_ARG, EDS_E_IO.
 */
eds_status eds_payload_put(const char *root, const uint8_t *data, size_t len, uint8_t hash_out[32]);

/** Like eds_payload_put, streaming from a file (constant memory). */
eds_status eds_payload_put_file(const char *root, const char *src_path, uint8_t hash_out[32],
                                uint64_t *size_out);

/**
 * Check that the payload file for hash exists under root, hashes to it and
 * has `size` bytes.  Errors: EDS_E_NOT_FOUND (missing), EDS_E_PAYLOAD_MISMATCH
 * (hash or size differ; detail says which), EDS_E_IO.
 */
eds_status eds_payload_check(const char *root, const uint8_t hash[32], uint64_t size);

#ifdef __cplusplus
}
#endif
#endif
