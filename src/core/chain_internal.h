/*
 * chain_internal.h - chain verification entry points for callers inside the
 * project that already hold each record's hash (the record file reader
 * checks the stated record_hash, so it has computed it).  Not installed.
 */
#ifndef EDS_CORE_CHAIN_INTERNAL_H
#define EDS_CORE_CHAIN_INTERNAL_H

#include <stdint.h>

#include "edgesentry/chain.h"

/**
 * eds_chain_verifier_add_batch with hashes[i] = record i's record_hash as
 * eds_record_compute_hash gives it (hashes NULL: computed here), so the
 * workers do not hash every record a second time.  A wrong hash there
 * would break the link checks: pass only hashes computed from the records.
 */
eds_status eds_chain_verifier_add_batch_hashed(eds_chain_verifier *v, const eds_record *records,
                                               const uint8_t (*hashes)[EDS_HASH_LEN], size_t n);

/**
 * The inverse of eds_chain_reason_code for the ingest API's refusal codes
 * (FORMAT.md 4: fork, bad_signature, sequence_gap, prev_hash_mismatch,
 * unknown_device, revoked_device, payload_mismatch), so every client maps a
 * server's answer to the status a local verification would give.  Any other
 * code (NULL included) gives otherwise.
 */
eds_status eds_chain_reason_status(const char *code, eds_status otherwise);

#endif
