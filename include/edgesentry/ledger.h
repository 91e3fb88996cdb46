/*
 * edgesentry/ledger.h - the server's durable state: device registry with key
 * history, accepted records, chain heads and the operation log of every
 * decision, plus the content-addressed payload directory (FORMAT.md 3).
 *
 * A ledger is a back end behind a table of function pointers (eds_ledger_ops)
 * and an opaque handle, so a PostgreSQL ledger can be added next to the
 * embedded SQLite one without touching the ingest gate.  The eds_ledger_*
 * wrappers are what every caller uses.
 *
 * Thread-safety: an eds_ledger may be used from several threads at once; the
 * back end serialises as it needs.  Several processes may open the same
 * SQLite ledger (e.g. `eds device add` while `eds serve` runs).
 */
#ifndef EDGESENTRY_LEDGER_H
#define EDGESENTRY_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "edgesentry/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest source address text kept per record / event ("[v6]:port" fits). */
#define EDS_SOURCE_MAX 64
/** Most keys one device may have over its history in a ledger. */
#define EDS_LEDGER_MAX_KEYS 64
/** Largest payload eds_ledger_commit_journaled keeps in the journal (64 KiB). */
#define EDS_LEDGER_JOURNAL_PAYLOAD_MAX ((size_t)64 << 10)
/** Most payload bytes one journaled commit keeps in the journal (16 MiB). */
#define EDS_LEDGER_JOURNAL_GROUP_MAX ((size_t)16 << 20)

typedef struct eds_ledger eds_ledger;

typedef struct eds_ledger_key {
	eds_public_key public_key;
	uint64_t from_sequence;
	uint64_t added_ms;
} eds_ledger_key;

/** A registered device: key history (ascending from_sequence) and chain head. */
typedef struct eds_ledger_device {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t revoked_from_sequence; /**< 0: not revoked */
	uint64_t head_sequence;         /**< 0: no record yet */
	uint8_t head_hash[EDS_HASH_LEN];
	size_t key_count;
	eds_ledger_key keys[EDS_LEDGER_MAX_KEYS];
} eds_ledger_device;

/** One stored record with what the server knows about its arrival. */
typedef struct eds_ledger_record {
	eds_record record;
	uint8_t record_hash[EDS_HASH_LEN];
	uint64_t received_ms;
	char source[EDS_SOURCE_MAX];
	int payload_stored; /**< 0: payload still pending (PUT not yet received) */
} eds_ledger_record;

/** One line of the operation log. */
typedef struct eds_ledger_event {
	uint64_t time_ms;
	char source[EDS_SOURCE_MAX];
	char device_id[EDS_DEVICE_ID_MAX + 1]; /**< "" when unknown (malformed input) */
	uint64_t sequence;                     /**< 0 when unknown */
	char decision[16];                     /**< accepted, duplicate, rejected, payload */
	char reason[32];                       /**< error code of FORMAT.md 4, or "" */
	uint8_t record_hash[EDS_HASH_LEN];     /**< zero when unknown */
	/**
	 * Read back (eds_ledger_event_foreach): the event's link of the
	 * operation-log chain (eds_ledger_event_chain) as stored; zero when
	 * the ledger has none (a schema before 4, opened read-only).  Ignored
	 * when committing: the back end computes it.
	 */
	uint8_t chain_hash[EDS_HASH_LEN];
} eds_ledger_event;

/** Domain prefix of every operation-log chain hash (11 bytes, no NUL). */
#define EDS_LEDGER_OPLOG_DOMAIN "EDS-OPLOG-1"
/** Most bytes one chain hash takes in: prefix, previous hash, the encoded event. */
#define EDS_LEDGER_OPLOG_INPUT_MAX                                                                 \
	(11 + 2 * EDS_HASH_LEN + 3 * 8 + 4 + EDS_SOURCE_MAX + EDS_DEVICE_ID_MAX + 1 + 16 + 32)

/** The bytes of one payload a batch marks stored (see eds_ledger_commit_journaled). */
typedef struct eds_ledger_payload {
	const uint8_t *hash; /**< EDS_HASH_LEN bytes: BLAKE3 of data */
	const uint8_t *data; /**< may be NULL when len is 0 */
	size_t len;
} eds_ledger_payload;

/**
 * What one transaction writes: new records (each also moves its device's
 * head), payloads that became stored, and log events.  All or nothing.
 */
typedef struct eds_ledger_batch {
	const eds_ledger_record *records;
	size_t record_count;
	const uint8_t
	    *stored_payloads; /**< stored_payload_count hashes of 32 bytes, back to back */
	size_t stored_payload_count;
	const eds_ledger_event *events;
	size_t event_count;
	/**
	 * The bytes of the payloads this batch marks stored (records with
	 * payload_stored, and stored_payloads), kept by
	 * eds_ledger_commit_journaled until their files are durable; ignored by
	 * eds_ledger_commit.  May be NULL (count 0).
	 */
	const eds_ledger_payload *payloads;
	size_t payload_count;
} eds_ledger_batch;

typedef struct eds_ledger_stats {
	uint64_t devices;
	uint64_t records;
	uint64_t pending_payloads;
	uint64_t events;
	uint64_t bytes;              /**< size of the back end's storage (database + WAL) */
	uint64_t journaled_payloads; /**< in the payload journal: files maybe not yet durable */
	int oplog_chained;           /**< 1: the operation log is hash-chained (schema 4 on) */
	uint8_t oplog_head[EDS_HASH_LEN]; /**< chain_hash of the newest event; zero: none */
} eds_ledger_stats;

/** Iteration callbacks: return EDS_OK to go on; anything else stops and is returned. */
typedef eds_status (*eds_ledger_device_fn)(void *ctx, const eds_ledger_device *d);
typedef eds_status (*eds_ledger_record_fn)(void *ctx, const eds_ledger_record *r);
/**
 * The next device for eds_ledger_device_import to take into the registry:
 * fill *d (device_id, key_count, keys[].public_key and from_sequence,
 * revoked_from_sequence; the rest is ignored) and return EDS_OK, or return
 * EDS_DONE after the last one.  Any other status stops the import, which
 * then changes nothing, and is returned.  Runs inside the ledger's write
 * transaction: it must not call the ledger.
 */
typedef eds_status (*eds_ledger_import_fn)(void *ctx, eds_ledger_device *d);
/** What eds_ledger_device_import did. */
typedef struct eds_ledger_import_counts {
	uint64_t added;     /**< devices registered now */
	uint64_t changed;   /**< known devices that gained keys or an earlier revocation */
	uint64_t unchanged; /**< known devices the import already matched */
} eds_ledger_import_counts;
/** One operation-log event read back, with its id (1, 2, ... in the order written). */
typedef eds_status (*eds_ledger_event_fn)(void *ctx, uint64_t id, const eds_ledger_event *ev);

/** How a stored record and the operation log disagree (eds_ledger_match_events). */
typedef enum eds_ledger_mismatch_kind {
	/** A stored record that no "accepted" event names. */
	EDS_LEDGER_RECORD_NOT_LOGGED = 1,
	/** An "accepted" event whose record is not stored (or another one is, there). */
	EDS_LEDGER_LOGGED_RECORD_MISSING = 2
} eds_ledger_mismatch_kind;

/** One disagreement between the records and the operation log. */
typedef struct eds_ledger_mismatch {
	eds_ledger_mismatch_kind kind;
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint64_t sequence;
	/** RECORD_NOT_LOGGED: the stored record's; LOGGED_RECORD_MISSING: the event's. */
	uint8_t record_hash[EDS_HASH_LEN];
	uint64_t event_id; /**< LOGGED_RECORD_MISSING: the accepted event; else 0 */
	/**
	 * LOGGED_RECORD_MISSING: nonzero when a record of that device and
	 * sequence is stored, but with another record_hash (replaced, not cut
	 * off); else 0.
	 */
	int other_stored;
} eds_ledger_mismatch;

/** Called for each mismatch; as the other iteration callbacks, a non-OK status stops. */
typedef eds_status (*eds_ledger_mismatch_fn)(void *ctx, const eds_ledger_mismatch *m);

/** A back end.  Every function gets the back end's own handle first. */
typedef struct eds_ledger_ops {
	const char *name;
	void (*close)(void *impl);
	eds_status (*device_add)(void *impl, const char *device_id, const eds_public_key *pk,
	                         uint64_t now_ms);
	eds_status (*device_rotate)(void *impl, const char *device_id, const eds_public_key *pk,
	                            uint64_t from_sequence, uint64_t now_ms);
	eds_status (*device_revoke)(void *impl, const char *device_id, uint64_t from_sequence,
	                            uint64_t now_ms);
	eds_status (*device_get)(void *impl, const char *device_id, eds_ledger_device *out);
	eds_status (*device_foreach)(void *impl, eds_ledger_device_fn fn, void *ctx);
	eds_status (*record_get)(void *impl, const char *device_id, uint64_t sequence,
	                         eds_ledger_record *out);
	eds_status (*record_foreach)(void *impl, eds_ledger_record_fn fn, void *ctx);
	eds_status (*payload_lookup)(void *impl, const uint8_t hash[EDS_HASH_LEN], uint64_t *size,
	                             int *stored);
	eds_status (*commit)(void *impl, const eds_ledger_batch *batch);
	/**
	 * Optional, all four or none (see eds_ledger_commit_journaled).
	 * commit_journaled: commit durably, and in the same transaction journal
	 * the hashes of the payloads the batch marks stored with the bytes of
	 * batch->payloads.  journal_mark: *mark = the newest journal entry (0:
	 * none).  journal_drop: forget the entries up to mark (their files are
	 * durable now); need not be durable itself.  recover: for every
	 * journaled hash a stored record claims whose file under payload_dir is
	 * missing or damaged, write the file again from the journaled bytes
	 * (*restored) or, without them, mark its records pending (*demoted);
	 * then make the files durable and empty the journal.
	 */
	eds_status (*commit_journaled)(void *impl, const eds_ledger_batch *batch);
	eds_status (*journal_mark)(void *impl, uint64_t *mark);
	eds_status (*journal_drop)(void *impl, uint64_t mark);
	eds_status (*recover)(void *impl, const char *payload_dir, size_t *restored,
	                      size_t *demoted);
	eds_status (*changed)(void *impl, int *changed);
	eds_status (*stats)(void *impl, eds_ledger_stats *out);
	/**
	 * Optional (NULL: eds_ledger_backup is unsupported): write the whole
	 * database, as one consistent snapshot (a read-only handle's current
	 * one), to the new file db_path, so that eds_ledger_open of its
	 * directory opens it.
	 */
	eds_status (*backup)(void *impl, const char *db_path);
	/**
	 * Optional (NULL: eds_ledger_probe checks the payload directory only):
	 * one small durable write transaction that changes no data, to learn
	 * whether the store takes writes again after a failed commit.
	 */
	eds_status (*probe)(void *impl);
	/**
	 * Optional (NULL: eds_ledger_check_store is unsupported): the back
	 * end's own check of its storage's structure - every page, table and
	 * index, including those no record walk reads (the operation log).
	 * EDS_E_IO names the first problem.
	 */
	eds_status (*check_store)(void *impl);
	/**
	 * Optional (NULL: eds_ledger_event_foreach is unsupported): see
	 * eds_ledger_event_foreach.
	 */
	eds_status (*event_foreach)(void *impl, uint64_t after_id, const char *device_id,
	                            eds_ledger_event_fn fn, void *ctx);
	/**
	 * Optional (NULL: eds_ledger_device_import is unsupported): see
	 * eds_ledger_device_import; every device next yields has passed its
	 * checks of the arguments already.
	 */
	eds_status (*device_import)(void *impl, eds_ledger_import_fn next, void *ctx,
	                            uint64_t now_ms, eds_ledger_import_counts *counts);
	/**
	 * Optional (NULL: eds_ledger_match_events is unsupported): see
	 * eds_ledger_match_events.
	 */
	eds_status (*match_events)(void *impl, eds_ledger_mismatch_fn fn, void *ctx);
} eds_ledger_ops;

typedef struct eds_ledger_options {
	/**
	 * Nonzero (the default): a commit returns only when the transaction and
	 * every payload file written before it are on stable storage.  Zero turns
	 * every fsync off - only for benchmarks and throw-away test ledgers.
	 */
	int durable;
	/** Nonzero: refuse (EDS_E_NOT_FOUND) a directory without a ledger instead of creating one.
	 */
	int must_exist;
	/**
	 * Nonzero: open for reading only, e.g. an auditor's copy on read-only
	 * media or the ledger of a running server.  Implies must_exist; nothing
	 * is ever created (directory, database, payload directory), no schema
	 * upgrade runs (an older schema is read as it is), and every write -
	 * device add/rotate/revoke, commit, commit_journaled, sync, recover,
	 * claim - fails with EDS_E_UNSUPPORTED "ledger opened read-only".
	 * Without a -wal file beside ledger.sqlite the database is opened
	 * immutable (no -shm, no lock: works on read-only media); as that trusts
	 * the file not to change, each read then checks that its inode, size,
	 * mtime and ctime are still those seen at open, else fails with EDS_E_IO
	 * "... changed while read".  With a -wal file (a server runs, or
	 * crashed) it is a plain read-only open that reads one snapshot: every
	 * transaction committed before the open, and then before each
	 * eds_ledger_changed call, which moves it on (while it is held, the
	 * server's WAL cannot be restarted from its beginning: do not keep
	 * such a handle open for days).  SQLite then needs the -shm file: when
	 * it is missing and the directory is not writable the open fails with
	 * EDS_E_IO (an empty ledger.sqlite-shm file next to it suffices).
	 * No claim is taken.
	 */
	int read_only;
} eds_ledger_options;

/**
 * Open (creating when absent) the embedded SQLite ledger in directory dir:
 * dir/ledger.sqlite (WAL, synchronous=FULL) and dir/payloads/.  opts may be
 * NULL (durable).  Errors: EDS_E_ARG, EDS_E_IO (detail names the file and
 * the SQLite message), EDS_E_NOMEM, EDS_E_UNSUPPORTED (newer schema),
 * EDS_E_NOT_FOUND (must_exist or read_only, and no ledger.sqlite in dir).
 */
eds_status eds_ledger_open(eds_ledger **out, const char *dir, const eds_ledger_options *opts);

/**
 * Wrap another back end.  payload_dir is where payload files live.  The
 * ledger takes ownership of impl (ops->close runs on eds_ledger_close).
 */
eds_status eds_ledger_wrap(eds_ledger **out, const eds_ledger_ops *ops, void *impl,
                           const char *payload_dir, int durable);

/**
 * Close and free; also closes the payload directory's fd that
 * eds_payload_stage keeps (see eds_payload_stage_forget).  NULL is ignored.
 */
void eds_ledger_close(eds_ledger *l);

/** The payload directory (FORMAT.md 3) of this ledger. */
const char *eds_ledger_payload_dir(const eds_ledger *l);

/** Nonzero when commits are durable (see eds_ledger_options); 0 for NULL. */
int eds_ledger_durable(const eds_ledger *l);

/**
 * Claim the ledger for one ingest service (eds_ingest_new does this): an
 * exclusive lock on its payload directory, held until eds_ledger_release
 * or eds_ledger_close, or until the process dies (kill -9 leaves nothing
 * stale).  One service per ledger because each keeps the chain heads in
 * memory and its start-up recovery (eds_ledger_recover) drops payload
 * journal entries another service still relies on.  Reading the ledger
 * (verify, export) and registering devices need no claim.
 * Errors: EDS_E_EXISTS (claimed by another process, or already by this
 * handle), EDS_E_IO.
 */
eds_status eds_ledger_claim(eds_ledger *l);

/** Give up a claim taken with eds_ledger_claim; no claim: nothing happens. */
void eds_ledger_release(eds_ledger *l);

/**
 * Register a device with its first key (from_sequence 1).
 * Errors: EDS_E_FIELD (bad device_id), EDS_E_EXISTS, EDS_E_IO.
 */
eds_status eds_ledger_device_add(eds_ledger *l, const char *device_id, const eds_public_key *pk);

/**
 * New key for records from from_sequence on (0: the record after the
 * current head).  from_sequence must be above the last key's and above the
 * head (records already stored keep their key).  Errors: EDS_E_NOT_FOUND,
 * EDS_E_FIELD, EDS_E_LIMIT (too many keys), EDS_E_REVOKED, EDS_E_IO.
 */
eds_status eds_ledger_device_rotate(eds_ledger *l, const char *device_id, const eds_public_key *pk,
                                    uint64_t from_sequence);

/**
 * Refuse records from from_sequence on (0: after the current head).  Only
 * lowers an existing revocation, never raises it.  Errors: EDS_E_NOT_FOUND,
 * EDS_E_FIELD, EDS_E_IO.
 */
eds_status eds_ledger_device_revoke(eds_ledger *l, const char *device_id, uint64_t from_sequence);

/**
 * Register many devices at once, e.g. from a key registry file (FORMAT.md
 * 2), in one transaction: all of it or, on any error, nothing.  For each
 * device next yields:
 * - unknown: it is added with its keys and revocation; its first key must
 *   start at sequence 1 (the ledger's first key always does);
 * - known: the ledger's keys must be the first keys of the import, the
 *   same from_sequence and public key; further keys are added as by
 *   eds_ledger_device_rotate (above the head and the last key); an earlier
 *   revocation is applied as by eds_ledger_device_revoke.  A revocation is
 *   never raised or lifted and a key never removed: an import that would
 *   is refused.
 * So importing the same list twice changes nothing the second time.
 * Checks of each device: a valid id, 1 .. EDS_LEDGER_MAX_KEYS keys with
 * strictly rising from_sequence in 1 .. 2^53-1, revoked_from_sequence 0 or
 * in 1 .. 2^53-1.  counts may be NULL.
 * Errors: EDS_E_ARG, EDS_E_FIELD, EDS_E_LIMIT (more keys than a ledger
 * device holds), EDS_E_EXISTS (the import contradicts the ledger: a key
 * differs or is missing, a revocation would be raised or lifted),
 * EDS_E_REVOKED (a key from at or after the revocation), EDS_E_UNSUPPORTED
 * (read-only, or a back end without it), EDS_E_IO, and whatever next
 * returns; the detail names the device.
 */
eds_status eds_ledger_device_import(eds_ledger *l, eds_ledger_import_fn next, void *ctx,
                                    eds_ledger_import_counts *counts);

/** Look up a device.  Errors: EDS_E_NOT_FOUND, EDS_E_IO. */
eds_status eds_ledger_device_get(eds_ledger *l, const char *device_id, eds_ledger_device *out);

/** Every device in device_id order.  Errors: EDS_E_ARG, EDS_E_IO, or what fn returns. */
eds_status eds_ledger_device_foreach(eds_ledger *l, eds_ledger_device_fn fn, void *ctx);

/**
 * The key of a key history (ascending from_sequence) that must verify
 * record `sequence`: the largest from_sequence <= sequence.  device_id only
 * names the device in the detail.  Errors: EDS_E_REVOKED (sequence >=
 * revoked_from_sequence, when that is nonzero), EDS_E_KEY (no key).
 */
eds_status eds_ledger_key_for(const eds_ledger_key *keys, size_t key_count,
                              uint64_t revoked_from_sequence, const char *device_id,
                              uint64_t sequence, eds_public_key *pk);

/**
 * The key that must verify record `sequence` of d: the largest
 * from_sequence <= sequence.  Errors: EDS_E_REVOKED, EDS_E_KEY (no key).
 */
eds_status eds_ledger_device_key(const eds_ledger_device *d, uint64_t sequence, eds_public_key *pk);

/** One stored record.  Errors: EDS_E_NOT_FOUND, EDS_E_IO. */
eds_status eds_ledger_record_get(eds_ledger *l, const char *device_id, uint64_t sequence,
                                 eds_ledger_record *out);

/** Every record, ordered by device_id then sequence.  Errors: EDS_E_ARG, EDS_E_IO (the
 *  read failed), or what fn returns. */
eds_status eds_ledger_record_foreach(eds_ledger *l, eds_ledger_record_fn fn, void *ctx);

/**
 * The operation log: fn for each event whose id is above after_id (0: all),
 * in the order written; device_id non-NULL: only that device's events.
 * Works on a read-only ledger.  A non-OK status from fn stops the walk and
 * is returned.  Errors: EDS_E_IO (a row the server would not have written,
 * or the read failed), EDS_E_UNSUPPORTED (a back end without the log).
 */
eds_status eds_ledger_event_foreach(eds_ledger *l, uint64_t after_id, const char *device_id,
                                    eds_ledger_event_fn fn, void *ctx);

/**
 * One link of the operation-log chain (docs/format.md, "Operation log
 * chain"): out = BLAKE3("EDS-OPLOG-1" || prev || encoding of (id, *ev)),
 * where prev is the previous event's chain_hash (32 zero bytes before
 * event 1) and the encoding is u64 big-endian id and time_ms, then source,
 * device_id, decision and reason each as a u8 length and its bytes, then
 * u64 big-endian sequence and the 32-byte record_hash (ev->chain_hash is
 * not part of it).  The writer and eds ledger verify both use this one
 * function, the reference for outside verifiers.  out may be prev (the
 * next link in place).  Strings are taken up to
 * their NUL or their array's end (at most EDS_LEDGER_OPLOG_INPUT_MAX bytes
 * are hashed).
 */
void eds_ledger_event_chain(const uint8_t prev[EDS_HASH_LEN], uint64_t id,
                            const eds_ledger_event *ev, uint8_t out[EDS_HASH_LEN]);

/**
 * Cross-check the records against the operation log, both ways: the ingest
 * gate logs an "accepted" event with the device_id, sequence and
 * record_hash of every record it stores, in the same transaction, so
 * - a stored record without such an event (put into the database behind
 *   the gate's back, or its event deleted) is EDS_LEDGER_RECORD_NOT_LOGGED;
 * - an "accepted" event without its record (records deleted afterwards,
 *   e.g. the newest of a device cut off, which the records' own chain
 *   cannot show; or a record replaced) is EDS_LEDGER_LOGGED_RECORD_MISSING.
 * An event whose record_hash is zero (unknown) matches on device_id and
 * sequence alone; the server has always logged the hash, so only a
 * hand-made ledger has such events.  Other decisions ("duplicate" for a
 * retry, "rejected", "payload") are not matched.  fn gets every record not
 * logged in device_id, sequence order, then every logged record missing in
 * event id order; nothing when they agree.  Both ways read one snapshot.
 * fn must not call the ledger.  Works on a read-only ledger and on every
 * schema (records and events have had these columns from the first).
 * Errors: EDS_E_ARG, EDS_E_IO (the read failed, or a row the server would
 * not have written), EDS_E_UNSUPPORTED (a back end without it), or what fn
 * returns.
 */
eds_status eds_ledger_match_events(eds_ledger *l, eds_ledger_mismatch_fn fn, void *ctx);

/**
 * Whether a stored record refers to payload hash: *size gets its
 * payload_size, *stored whether the payload is stored for every record
 * that refers to it (0 while one of them is still pending, even when the
 * file came with another record: its PUT is still to be taken).
 * Errors: EDS_E_NOT_FOUND, EDS_E_IO.
 */
eds_status eds_ledger_payload_lookup(eds_ledger *l, const uint8_t hash[EDS_HASH_LEN],
                                     uint64_t *size, int *stored);

/**
 * Write a batch in one transaction.  The caller has already made the
 * payload files durable (eds_payload_stage + eds_payload_sync); see
 * eds_ledger_commit_journaled for the form without that flush.  The
 * back end does not re-check chain rules; that is the gate's job.
 * Errors: EDS_E_IO (nothing written), EDS_E_EXISTS (a record already
 * stored: nothing written).
 */
eds_status eds_ledger_commit(eds_ledger *l, const eds_ledger_batch *batch);

/**
 * Group commit without waiting for the payload files: on return the batch
 * is durable (on a durable ledger), and so are the bytes of its payloads
 * (batch->payloads), which the same transaction keeps in a journal.  The
 * payload files staged with eds_payload_stage need not be durable yet:
 * eds_ledger_sync, run every so often from any thread, makes them durable
 * and then drops the journal entries it covered, and after a crash
 * eds_ledger_recover writes any lost or damaged file again from the
 * journal.  So a record answered "stored" never loses its payload, and a
 * commit costs one flush of the ledger's log instead of a flush of every
 * new file.  A payload hash the batch marks stored without its bytes in
 * batch->payloads is journaled too and, if its file is lost, goes back to
 * pending at recovery (its record was never acknowledged).  A batch with a
 * payload over EDS_LEDGER_JOURNAL_PAYLOAD_MAX bytes, or over
 * EDS_LEDGER_JOURNAL_GROUP_MAX in all, and a back end without journal
 * operations, commit the classic way: one flush of the payload files staged
 * so far, then a durable commit (journaling hashes only).  Same errors as
 * eds_ledger_commit.
 */
eds_status eds_ledger_commit_journaled(eds_ledger *l, const eds_ledger_batch *batch);

/**
 * Make every payload file staged so far durable (one syncfs of the payload
 * directory's file system), then drop the journal entries of the commits
 * that came before it.  Safe to call from another thread than the one
 * committing.  Does nothing on a ledger that is not durable or has nothing
 * journaled.  Errors: EDS_E_IO (the journal is kept; call again later).
 */
eds_status eds_ledger_sync(eds_ledger *l);

/**
 * Check the structure of the ledger's storage (SQLite: PRAGMA
 * quick_check, which reads every page): damage that a walk of the records
 * would not meet, e.g. in the operation log or an index.  Works on a
 * read-only ledger.  Errors: EDS_E_IO (damaged: the message is the first
 * problem the store found, or the read failed), EDS_E_UNSUPPORTED (the
 * back end has no such check).
 */
eds_status eds_ledger_check_store(eds_ledger *l);

/**
 * Whether the ledger takes writes again, after a commit failed (a full
 * disk, an I/O error): a page is written and synced in the payload
 * directory, then, where the back end has the probe operation, a write
 * transaction that changes no data commits (durably on a durable ledger).
 * Nothing visible changes.  A server's health check calls it so that it
 * reports healthy again without waiting for a device to try.  Errors:
 * EDS_E_IO (still not writable), EDS_E_UNSUPPORTED (read-only ledger).
 */
eds_status eds_ledger_probe(eds_ledger *l);

/**
 * After a crash, before serving again: see eds_ledger_commit_journaled.
 * Cheap when there is nothing to recover (one empty table read).
 * *restored and *demoted (each may be NULL): payload files written again
 * from the journal, and records that went back to payload pending.
 * Errors: EDS_E_IO.
 */
eds_status eds_ledger_recover(eds_ledger *l, size_t *restored, size_t *demoted);

/** What eds_ledger_backup copied and found (counts of records, except where named). */
typedef struct eds_ledger_backup_stats {
	uint64_t records;  /**< records in the copy */
	uint64_t payloads; /**< payload files copied, each checked against its hash first */
	uint64_t pending;  /**< records in the copy still waiting for their payload */
	/**
	 * Records stored with a payload whose file was missing or damaged in the
	 * ledger and could not be restored: the copy lacks the file as the
	 * ledger does (`eds ledger verify` of either names them).
	 */
	uint64_t missing;
	size_t restored; /**< payload files the copy's recovery wrote from its journal */
	size_t demoted;  /**< records that recovery sent back to pending (counted in pending) */
} eds_ledger_backup_stats;

/** Progress of a long ledger operation: records handled so far. */
typedef void (*eds_ledger_progress_fn)(void *ctx, uint64_t records);

/**
 * Back up the ledger into the new directory dir, while a server may keep
 * writing to it: the database as one consistent snapshot (ops->backup;
 * l may be read-only), then every payload file its records mark stored,
 * each checked against its hash before it is copied, then the copy's
 * start-up recovery (eds_ledger_recover), so the copy needs none.  The
 * copy is built in "<dir>.partial-XXXXXX" next to dir and renamed to dir
 * only when complete and durable: dir is either a whole ledger or absent
 * (a failed backup removes its partial directory).  progress (may be NULL)
 * is called every 4096 records with ctx.  l's database is locked for this
 * handle's other users while it is copied (a server in another process
 * is not held up).  *out (may be NULL) is zeroed first; missing payloads
 * are no error, they are counted in out->missing.
 * Errors: EDS_E_ARG, EDS_E_EXISTS (dir exists), EDS_E_UNSUPPORTED (a back
 * end without backup), EDS_E_IO, EDS_E_NOMEM.
 */
eds_status eds_ledger_backup(eds_ledger *l, const char *dir, eds_ledger_progress_fn progress,
                             void *ctx, eds_ledger_backup_stats *out);

/**
 * *changed = nonzero when another process modified the ledger since the
 * previous call (so cached device keys must be reloaded).  On a read-only
 * ledger opened beside a -wal file it first moves the handle's snapshot on
 * to the newest commit (see eds_ledger_options.read_only).
 * Errors: EDS_E_ARG, EDS_E_IO.
 */
eds_status eds_ledger_changed(eds_ledger *l, int *changed);

/**
 * Fill *out (the caller's) with the ledger's current totals; zeroed first.
 * Errors: EDS_E_ARG, EDS_E_IO.
 */
eds_status eds_ledger_stats_get(eds_ledger *l, eds_ledger_stats *out);

/**
 * The device registry as key registry JSON (FORMAT.md 2), for verifiers:
 * *out is a new NUL-terminated string (free() it).  Errors: EDS_E_NOMEM,
 * EDS_E_IO.
 */
eds_status eds_ledger_registry_json(eds_ledger *l, char **out);

/**
 * Write a payload file under root without fsync: an anonymous file linked
 * under its name when complete (or temporary name and rename); a file
 * already there whose BLAKE3 matches the name is kept, any other is
 * replaced.  Durable only after eds_payload_sync (or eds_ledger_sync).
 * This is the group-commit half of eds_payload_put: one sync then covers a
 * whole batch of files.  Thread-safe.  Errors: EDS_E_ARG, EDS_E_IO.
 */
eds_status eds_payload_stage(const char *root, const uint8_t hash[EDS_HASH_LEN],
                             const uint8_t *data, size_t len);

/**
 * Remove the payload file of hash under root, staged for a record that was
 * then refused: without it, every refused record would leave a file no
 * record refers to.  The caller makes sure nothing refers to it and no
 * stage of the same hash is under way (the ingest service counts them).
 * Not durable: a crash may bring the file back, which is harmless.  A
 * missing file is fine.  Thread-safe.  Errors: EDS_E_ARG, EDS_E_IO.
 */
eds_status eds_payload_unstage(const char *root, const uint8_t hash[EDS_HASH_LEN]);

/**
 * Make every file staged under root so far durable, with their directory
 * entries (one syncfs of root's file system).  Errors: EDS_E_IO.
 */
eds_status eds_payload_sync(const char *root);

/**
 * Close the directory fd eds_payload_stage keeps open for root (at once, or
 * when the last call still using it returns).  The next stage into root
 * opens it again.  eds_ledger_close calls it for its payload directory, so
 * opening and closing ledgers does not pile up fds.  Thread-safe.
 */
void eds_payload_stage_forget(const char *root);

#ifdef __cplusplus
}
#endif
#endif
