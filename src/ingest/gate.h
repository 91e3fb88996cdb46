/*
 * gate.h - the integrity gate's individual checks (FORMAT.md 1.3 and 4),
 * as pure functions so they can be tested one by one and reused by every
 * transport.  Not installed.  Each check returns EDS_INGEST_ACCEPTED when it
 * passes, else the outcome, with one sentence in msg.
 */
#ifndef EDS_INGEST_GATE_H
#define EDS_INGEST_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"

#define GATE_MSG_MAX 192

/** Client-certificate identity (NULL: none presented) must name the record's device. */
eds_ingest_outcome gate_check_identity(const eds_record *r, const char *identity, char *msg);

/** The record may not claim a time more than skew_ms ahead of now_ms; old is fine. */
eds_ingest_outcome gate_check_skew(const eds_record *r, uint64_t now_ms, uint64_t skew_ms,
                                   char *msg);

/** Pick the key for r's sequence from a key history: UNKNOWN_DEVICE or REVOKED_DEVICE. */
eds_ingest_outcome gate_check_key(const eds_record *r, const eds_ledger_key *keys, size_t n,
                                  uint64_t revoked_from, eds_public_key *pk, char *msg);

/** The signature over the whole ESR1 header. */
eds_ingest_outcome gate_check_signature(const eds_record *r, const eds_public_key *pk, char *msg);

/** Payload bytes, when present, must have the record's size and hash. */
eds_ingest_outcome gate_check_payload(const eds_record *r, const uint8_t *payload, size_t len,
                                      char *msg);

/**
 * Chain position against the head (head_seq 0: no record yet).  When
 * r->sequence <= head_seq, stored_hash is the record_hash already stored at
 * that sequence: equal -> DUPLICATE, else FORK.  Otherwise the sequence must
 * be head_seq + 1 (SEQUENCE_GAP) and prev_hash the head's hash (PREV_HASH).
 */
eds_ingest_outcome gate_check_chain(const eds_record *r, const uint8_t record_hash[EDS_HASH_LEN],
                                    uint64_t head_seq, const uint8_t head_hash[EDS_HASH_LEN],
                                    const uint8_t *stored_hash, char *msg);

#endif
