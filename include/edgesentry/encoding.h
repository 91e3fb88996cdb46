/*
 * edgesentry/encoding.h - hex and base64 helpers used by every text format.
 */
#ifndef EDGESENTRY_ENCODING_H
#define EDGESENTRY_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Write the lowercase hex of bin[0..len) into out, NUL-terminated.
 * out must hold 2*len+1 bytes.  Cannot fail.
 */
void eds_hex_encode(char *out, const uint8_t *bin, size_t len);

/**
 * Decode exactly 2*len hex characters (either case) from hex[0..hex_len)
 * into out[0..len).  Errors: EDS_E_ARG for NULL; EDS_E_MALFORMED when
 * hex_len != 2*len or a character is not hex.  out is unspecified on error.
 */
eds_status eds_hex_decode(uint8_t *out, size_t len, const char *hex, size_t hex_len);

#ifdef __cplusplus
}
#endif
#endif
