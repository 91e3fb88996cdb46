/*
 * ledger_sqlite.c - the embedded ledger back end: one SQLite database in WAL
 * mode, <dir>/ledger.sqlite, next to the payload directory <dir>/payloads.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so COMMIT returns only
 * after the WAL is fsynced; NORMAL would be faster but can lose the last
 * transactions on a power cut, and a 201 promises the record survives that.
 * The ingest writer's group commits also journal the bytes of the payloads
 * they mark stored (table `unconfirmed`, sq_commit_journaled), so they need
 * not wait for the payload files: eds_ledger_sync flushes those later and
 * drops the entries, and sq_recover writes lost files again after a crash.
 * One connection serialised by a mutex: the ingest service funnels every
 * write through its single writer thread anyway (group commit), and reads
 * from other threads are rare (cache misses, payload PUT look-ups).
 *
 * The heads in `devices` are a second line of defence: a commit moves a
 * head only from sequence-1 to sequence, so even two servers on one ledger
 * could never interleave a chain.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ledger.h"
#include "edgesentry/payload.h"
#include "internal.h"
#include "ledger_internal.h"

/* 2: table unconfirmed; 3: its column payloads; 4: oplog.chain_hash */
#define SCHEMA_VERSION  4
#define SCHEMA_CHAINED  4 /* the first with the operation-log chain */
#define SCHEMA_TEXT_(v) #v
#define SCHEMA_TEXT(v)  SCHEMA_TEXT_(v)

enum stmt_id {
	S_DEV_GET,
	S_KEYS_GET,
	S_DEV_ALL,
	S_DEV_ADD,
	S_KEY_ADD,
	S_DEV_REVOKE,
	S_REC_GET,
	S_REC_ALL,
	S_REC_ADD,
	S_HEAD_MOVE,
	S_PAYLOAD_GET,
	S_PAYLOAD_STORED,
	S_EVENT_ADD,
	S_DATA_VERSION,
	S_NOTE_ADD,
	S_NOTE_DROP,
	S_NOTE_MARK,
	S_PAYLOAD_DEMOTE,
	S_EVENT_ALL,
	S_EVENT_LAST,
	S_MATCH_RECORDS,
	S_MATCH_EVENTS,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_DEV_GET] = "SELECT device_id, revoked_from_sequence, head_sequence, head_hash "
                  "FROM devices WHERE device_id = ?1",
    [S_KEYS_GET] = "SELECT public_key, from_sequence, added_ms FROM device_keys "
                   "WHERE device_id = ?1 ORDER BY from_sequence",
    [S_DEV_ALL] = "SELECT device_id, revoked_from_sequence, head_sequence, head_hash "
                  "FROM devices ORDER BY device_id",
    [S_DEV_ADD] = "INSERT INTO devices(device_id, created_ms, revoked_from_sequence, "
                  "head_sequence, head_hash) VALUES (?1, ?2, 0, 0, zeroblob(32))",
    [S_KEY_ADD] = "INSERT INTO device_keys(device_id, from_sequence, public_key, added_ms) "
                  "VALUES (?1, ?2, ?3, ?4)",
    [S_DEV_REVOKE] = "UPDATE devices SET revoked_from_sequence = ?2 WHERE device_id = ?1",
    [S_REC_GET] = "SELECT * FROM records WHERE device_id = ?1 AND sequence = ?2",
    [S_REC_ALL] = "SELECT * FROM records ORDER BY device_id, sequence",
    [S_REC_ADD] = "INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                  "?11, ?12)",
    [S_HEAD_MOVE] = "UPDATE devices SET head_sequence = ?2, head_hash = ?3 "
                    "WHERE device_id = ?1 AND head_sequence = ?4",
    /* min: "stored" only when no record still waits for the payload, so that a
     * PUT completes a record sent without it after another brought the file */
    [S_PAYLOAD_GET] = "SELECT payload_size, min(payload_stored) FROM records "
                      "WHERE payload_hash = ?1 GROUP BY payload_size",
    [S_PAYLOAD_STORED] = "UPDATE records SET payload_stored = 1 "
                         "WHERE payload_hash = ?1 AND payload_stored = 0",
    [S_EVENT_ADD] = "INSERT INTO oplog(time_ms, source, device_id, sequence, decision, reason, "
                    "record_hash, id, chain_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_NOTE_ADD] = "INSERT INTO unconfirmed(hashes, payloads) VALUES (?1, ?2)",
    [S_NOTE_DROP] = "DELETE FROM unconfirmed WHERE id <= ?1",
    [S_NOTE_MARK] = "SELECT ifnull(max(id), 0) FROM unconfirmed",
    [S_PAYLOAD_DEMOTE] = "UPDATE records SET payload_stored = 0 WHERE payload_hash = ?1",
    [S_EVENT_ALL] = "SELECT id, time_ms, source, device_id, sequence, decision, reason, "
                    "record_hash, chain_hash FROM oplog "
                    "WHERE id > ?1 AND (?2 IS NULL OR device_id = ?2) ORDER BY id",
    [S_EVENT_LAST] = "SELECT id, chain_hash FROM oplog ORDER BY id DESC LIMIT 1",
    /*
     * The two ways of eds_ledger_match_events, each one pass in key order:
     * records against an automatic index SQLite builds over the accepted
     * events for this statement (a LEFT JOIN gets one, a NOT EXISTS would
     * scan the log once per record), and the accepted events against the
     * records' primary key.  No index of its own: every event would pay
     * for it at ingest.  A zero record_hash is an unknown one.
     */
    [S_MATCH_RECORDS] = "SELECT 1, r.device_id, r.sequence, r.record_hash, 0, 0 FROM records r "
                        "LEFT JOIN oplog o ON o.decision = 'accepted' AND "
                        "o.device_id = r.device_id AND o.sequence = r.sequence AND "
                        "(o.record_hash = r.record_hash OR o.record_hash = zeroblob(32)) "
                        "WHERE o.id IS NULL ORDER BY r.device_id, r.sequence",
    [S_MATCH_EVENTS] = "SELECT 2, o.device_id, o.sequence, o.record_hash, o.id, EXISTS ("
                       "SELECT 1 FROM records x WHERE x.device_id = o.device_id AND "
                       "x.sequence = o.sequence) FROM oplog o WHERE o.decision = 'accepted' "
                       "AND NOT EXISTS (SELECT 1 FROM records r WHERE "
                       "r.device_id = o.device_id AND r.sequence = o.sequence AND "
                       "(r.record_hash = o.record_hash OR o.record_hash = zeroblob(32))) "
                       "ORDER BY o.id",
};

/* S_EVENT_ALL of a schema before 4 (read-only, not upgraded): no chain to read. */
static const char event_all_unchained[] =
    "SELECT id, time_ms, source, device_id, sequence, decision, reason, record_hash, NULL "
    "FROM oplog WHERE id > ?1 AND (?2 IS NULL OR device_id = ?2) ORDER BY id";

/*
 * The statements a read-only ledger prepares: they read tables every schema
 * since 1 has (the others may name `unconfirmed`, which schema 1 lacks).
 */
static const unsigned char stmt_reads[S_COUNT] = {
    [S_DEV_GET] = 1,    [S_KEYS_GET] = 1,      [S_DEV_ALL] = 1,      [S_REC_GET] = 1,
    [S_REC_ALL] = 1,    [S_PAYLOAD_GET] = 1,   [S_DATA_VERSION] = 1, [S_EVENT_ALL] = 1,
    [S_EVENT_LAST] = 1, [S_MATCH_RECORDS] = 1, [S_MATCH_EVENTS] = 1,
};

/* Column order of `records` is the order of S_REC_ADD's parameters. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS devices("
    " device_id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL,"
    " revoked_from_sequence INTEGER NOT NULL, head_sequence INTEGER NOT NULL,"
    " head_hash BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS device_keys("
    " device_id TEXT NOT NULL REFERENCES devices(device_id), from_sequence INTEGER NOT NULL,"
    " public_key BLOB NOT NULL, added_ms INTEGER NOT NULL,"
    " PRIMARY KEY(device_id, from_sequence)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS records("
    " device_id TEXT NOT NULL, sequence INTEGER NOT NULL, timestamp_ms INTEGER NOT NULL,"
    " payload_size INTEGER NOT NULL, payload_hash BLOB NOT NULL, prev_hash BLOB NOT NULL,"
    " object_ref TEXT NOT NULL, signature BLOB NOT NULL, record_hash BLOB NOT NULL,"
    " received_ms INTEGER NOT NULL, source TEXT NOT NULL, payload_stored INTEGER NOT NULL,"
    " PRIMARY KEY(device_id, sequence)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS records_payload ON records(payload_hash);"
    "CREATE INDEX IF NOT EXISTS records_pending ON records(payload_hash)"
    " WHERE payload_stored = 0;"
    "CREATE TABLE IF NOT EXISTS oplog("
    " id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, source TEXT NOT NULL,"
    " device_id TEXT NOT NULL, sequence INTEGER NOT NULL, decision TEXT NOT NULL,"
    " reason TEXT NOT NULL, record_hash BLOB NOT NULL, chain_hash BLOB);"
    /*
     * The payload journal: per group commit, the hashes it marked stored and
     * their bytes (sq_commit_journaled), until a flush of the payload files
     * covered them (sq_journal_drop) or a restart checked them (sq_recover).
     * Schema 2 rows have no bytes (payloads NULL).
     */
    "CREATE TABLE IF NOT EXISTS unconfirmed(id INTEGER PRIMARY KEY, hashes BLOB NOT NULL,"
    " payloads BLOB);";

typedef struct sq {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *stmt[S_COUNT];
	int data_version;
	int durable;
	int unsynced; /* synchronous is NORMAL for a transaction that need not be durable */
	int read_only;
	int immutable;    /* read-only, opened with immutable=1: seen must hold after each read */
	int schema;       /* user_version as found (a read-only ledger is not upgraded) */
	struct stat seen; /* immutable: ledger.sqlite as it was when opened */
	char path[PATH_MAX];
} sq;

static eds_status db_fail(sq *s, const char *what)
{
	return eds_fail(EDS_E_IO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static sqlite3_stmt *stmt(sq *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static eds_status exec(sq *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? EDS_OK : db_fail(s, sql);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_blob(sqlite3_stmt *st, int i, const uint8_t *v, int n)
{
	sqlite3_bind_blob(st, i, v, n, SQLITE_STATIC);
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);
	return v < 0 ? 0 : (uint64_t)v;
}

/* Copy a fixed-size blob column; a wrong size means the file was edited by hand. */
static eds_status col_blob(sq *s, sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
	if ((size_t)sqlite3_column_bytes(st, i) != n)
		return eds_fail(EDS_E_IO, "%s: column %s: want %zu bytes, got %d", s->path,
		                sqlite3_column_name(st, i), n, sqlite3_column_bytes(st, i));
	memcpy(out, sqlite3_column_blob(st, i), n);
	return EDS_OK;
}

static eds_status col_text(sq *s, sqlite3_stmt *st, int i, char *out, size_t cap)
{
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (n >= cap)
		return eds_fail(EDS_E_IO, "%s: column %s: longer than %zu bytes", s->path,
		                sqlite3_column_name(st, i), cap - 1);
	if (n > 0)
		memcpy(out, sqlite3_column_text(st, i), n);
	out[n] = '\0';
	return EDS_OK;
}

/* Same inode, size, mtime and ctime: the file was not written meanwhile. */
static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * End of every read: an immutable open trusts the file not to change (SQLite
 * caches its pages and takes no lock), so what was read is only good while
 * ledger.sqlite is still the file seen at open.  Else e is replaced by the
 * error; otherwise e is returned as it is.
 */
static eds_status unchanged(sq *s, eds_status e)
{
	struct stat now;
	if (!s->immutable || (stat(s->path, &now) == 0 && same_file(&now, &s->seen)))
		return e;
	return eds_fail(EDS_E_IO,
	                "%s: changed while read (opened immutable, as no -wal file was there); "
	                "what was read may be torn: read it again",
	                s->path);
}

/* ---- open / close ------------------------------------------------------- */

static void sq_close(void *impl)
{
	sq *s = impl;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static eds_status make_dir(const char *path)
{
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%s: cannot create directory: %s", path, strerror(errno));
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return eds_fail(EDS_E_IO, "%s: not a directory", path);
	return EDS_OK;
}

/* The first column of the one row sql yields (a count, a pragma's value). */
static eds_status count(sq *s, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, sql);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? col_u64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? EDS_OK : db_fail(s, sql);
}

/*
 * The schema version of the database, read before anything is written to
 * it: a file that is not a database fails with SQLite's reason ("file is
 * not a database"), and the database of another program (tables, but no
 * version; a creation that never committed leaves none) is refused
 * untouched.
 */
static eds_status identify(sq *s, int *version)
{
	uint64_t v = 0, tables = 0;
	eds_status e = count(s, "PRAGMA user_version", &v);
	if (e == EDS_OK && v == 0)
		e = count(s, "SELECT count(*) FROM sqlite_master", &tables);
	if (e == EDS_OK && tables > 0)
		return eds_fail(EDS_E_UNSUPPORTED,
		                "%s: a SQLite database of something else, not a ledger", s->path);
	*version = v > INT_MAX ? INT_MAX : (int)v;
	return e;
}

static eds_status chain_upgrade(sq *s);

static eds_status check_schema(sq *s, int v)
{
	if (v > SCHEMA_VERSION)
		return eds_fail(EDS_E_UNSUPPORTED, "%s: schema version %d is newer than %d",
		                s->path, v, SCHEMA_VERSION);
	s->schema = v;
	if (v == SCHEMA_VERSION)
		return EDS_OK;
	/* Every read works on schema 1 and 2 (sq_stats counts no journal without its
	 * table); 0 is a database no ledger ever finished creating. */
	if (s->read_only && v < 1)
		return eds_fail(EDS_E_UNSUPPORTED,
		                "%s: schema version %d: not a ledger yet (it is created by opening "
		                "it read-write)",
		                s->path, v);
	if (s->read_only)
		return EDS_OK;
	eds_status st2 = exec(s, "BEGIN IMMEDIATE");
	/* Schema 2 made `unconfirmed` without the column; older ones not at all. */
	if (st2 == EDS_OK && v == 2)
		st2 = exec(s, "ALTER TABLE unconfirmed ADD COLUMN payloads BLOB");
	if (st2 == EDS_OK)
		st2 = exec(s, schema_sql);
	/* Every statement is IF NOT EXISTS: the same text upgrades an older schema. */
	if (st2 == EDS_OK && v >= 1 && v < SCHEMA_CHAINED)
		st2 = chain_upgrade(s);
	if (st2 == EDS_OK)
		st2 = exec(s, "PRAGMA user_version = " SCHEMA_TEXT(SCHEMA_VERSION));
	if (st2 != EDS_OK) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return st2;
	}
	s->schema = SCHEMA_VERSION;
	return exec(s, "COMMIT");
}

/*
 * A read-only ledger beside a live server (a -wal file) reads one snapshot:
 * a read transaction started here and held until eds_ledger_changed moves it
 * on (or the close), so a walk of the records and a later walk of the chain
 * heads agree even while the server commits in between.  (An immutable open
 * is a snapshot anyway.)
 */
static eds_status begin_snapshot(sq *s)
{
	eds_status st = exec(s, "BEGIN");
	return st == EDS_OK ? exec(s, "SELECT 1 FROM devices LIMIT 1") : st;
}

/*
 * The text statement i is prepared from, or NULL when this handle needs
 * none: a read-only one only reads, and before schema 4 (read-only, so not
 * upgraded) there is no chain_hash column to read.
 */
static const char *stmt_text(const sq *s, int i)
{
	if (s->read_only && !stmt_reads[i])
		return NULL;
	if (s->schema >= SCHEMA_CHAINED)
		return stmt_sql[i];
	return i == S_EVENT_ALL ? event_all_unchained : i == S_EVENT_LAST ? NULL : stmt_sql[i];
}

static eds_status configure(sq *s, int durable)
{
	sqlite3_busy_timeout(s->db, 10000);
	int version = 0;
	eds_status st = identify(s, &version);
	if (s->read_only) /* never a checkpoint (a write) when it is the last connection */
		sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	else if (st == EDS_OK)
		st = exec(s, "PRAGMA journal_mode = WAL");
	if (st == EDS_OK && !s->read_only)
		st = exec(s, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF");
	if (st == EDS_OK)
		st = check_schema(s, version);
	if (st == EDS_OK && s->read_only && !s->immutable)
		st = begin_snapshot(s);
	for (int i = 0; st == EDS_OK && i < S_COUNT; i++) {
		const char *sql = stmt_text(s, i);
		if (sql != NULL && sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		                                      &s->stmt[i], NULL) != SQLITE_OK)
			st = db_fail(s, sql);
	}
	return unchanged(s, st);
}

/*
 * "file:" URI of path for sqlite3_open_v2 with SQLITE_OPEN_URI, then query:
 * every byte but unreserved ones and '/' percent-encoded (a '?', '#' or '%'
 * in a directory name must not end or alter the path); an absolute path
 * gets an empty authority ("file:///..."), so "//x" is no host name.
 */
static eds_status file_uri(char *out, size_t cap, const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = (size_t)snprintf(out, cap, "file:%s", path[0] == '/' ? "//" : "");
	for (const unsigned char *p = (const unsigned char *)path; *p && n + 4 < cap; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n + strlen(query) + 1 >= cap)
		return eds_fail(EDS_E_ARG, "%s: ledger path too long", path);
	memcpy(out + n, query, strlen(query) + 1);
	return EDS_OK;
}

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/*
 * The read-only open of s->path (dir is its directory): immutable without a
 * -wal file, else a plain read-only connection, which needs the -shm file
 * (SQLite cannot read the WAL without it, and creates it when it may).
 */
static eds_status open_read_only(sq *s, const char *dir)
{
	char side[PATH_MAX + 8], uri[3 * PATH_MAX + 64];
	snprintf(side, sizeof side, "%s-wal", s->path);
	s->immutable = !exists(side);
	snprintf(side, sizeof side, "%s-shm", s->path);
	if (!s->immutable && !exists(side) && access(dir, W_OK) != 0)
		return eds_fail(
		    EDS_E_IO,
		    "%s-wal exists (a server runs on the ledger, or crashed) but %s does "
		    "not, and SQLite cannot create it in %s (%s): an empty %s file next to "
		    "it suffices",
		    s->path, side, dir, strerror(errno), side);
	if (s->immutable && stat(s->path, &s->seen) != 0)
		return eds_fail(EDS_E_IO, "%s: %s", s->path, strerror(errno));
	eds_status st =
	    file_uri(uri, sizeof uri, s->path, s->immutable ? "?mode=ro&immutable=1" : "?mode=ro");
	if (st == EDS_OK &&
	    sqlite3_open_v2(uri, &s->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		st = s->db ? db_fail(s, "open") : eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	return st;
}

static const eds_ledger_ops sqlite_ops;

eds_status eds_ledger_open(eds_ledger **out, const char *dir, const eds_ledger_options *opts)
{
	if (out == NULL || dir == NULL)
		return eds_fail(EDS_E_ARG, "ledger: NULL argument");
	int durable = opts == NULL || opts->durable;
	char payloads[PATH_MAX];
	if ((size_t)snprintf(payloads, sizeof payloads, "%s/payloads", dir) >= sizeof payloads)
		return eds_fail(EDS_E_ARG, "%s: ledger path too long", dir);
	char db[PATH_MAX + 16];
	snprintf(db, sizeof db, "%s/ledger.sqlite", dir);
	int read_only = opts != NULL && opts->read_only;
	struct stat sb;
	int found = stat(db, &sb) == 0;
	if (opts != NULL && (opts->must_exist || read_only) && !found)
		return eds_fail(EDS_E_NOT_FOUND, "%s: no ledger here (no ledger.sqlite)", dir);
	/* A FIFO would block SQLite's open for ever; a directory fails less clearly. */
	if (found && !S_ISREG(sb.st_mode))
		return eds_fail(EDS_E_IO, "%s: not a regular file", db);
	eds_status st = read_only ? EDS_OK : make_dir(dir);
	if (st == EDS_OK && !read_only)
		st = make_dir(payloads);
	if (st != EDS_OK)
		return st;
	sq *s = calloc(1, sizeof *s);
	if (s == NULL)
		return eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->durable = durable;
	s->read_only = read_only;
	snprintf(s->path, sizeof s->path, "%s/ledger.sqlite", dir);
	if (read_only)
		st = open_read_only(s, dir);
	else if (sqlite3_open_v2(s->path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                         NULL) != SQLITE_OK)
		st = s->db ? db_fail(s, "open") : eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	if (st == EDS_OK)
		st = configure(s, durable);
	if (st == EDS_OK)
		st = eds_ledger_wrap(out, &sqlite_ops, s, payloads, durable);
	if (st == EDS_OK && read_only)
		eds_ledger_set_read_only(*out);
	if (st != EDS_OK)
		sq_close(s);
	return st;
}

/* ---- devices ------------------------------------------------------------ */

static eds_status load_keys(sq *s, eds_ledger_device *d)
{
	sqlite3_stmt *st = stmt(s, S_KEYS_GET);
	bind_text(st, 1, d->device_id);
	d->key_count = 0;
	eds_status e = EDS_OK;
	int rc;
	while (e == EDS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (d->key_count == EDS_LEDGER_MAX_KEYS) {
			e = eds_fail(EDS_E_LIMIT, "device %s: more than %d keys", d->device_id,
			             EDS_LEDGER_MAX_KEYS);
			break;
		}
		eds_ledger_key *k = &d->keys[d->key_count++];
		e = col_blob(s, st, 0, k->public_key.bytes, 32);
		k->from_sequence = col_u64(st, 1);
		k->added_ms = col_u64(st, 2);
	}
	if (e == EDS_OK && rc != SQLITE_DONE)
		e = db_fail(s, "device keys");
	sqlite3_reset(st); /* see device_get_locked */
	return e;
}

/* Fill d from the current row of a devices query (then its keys). */
static eds_status device_row(sq *s, sqlite3_stmt *st, void *row)
{
	eds_ledger_device *d = row;
	eds_status e = col_text(s, st, 0, d->device_id, sizeof d->device_id);
	if (e == EDS_OK)
		e = col_blob(s, st, 3, d->head_hash, EDS_HASH_LEN);
	d->revoked_from_sequence = col_u64(st, 1);
	d->head_sequence = col_u64(st, 2);
	return e == EDS_OK ? load_keys(s, d) : e;
}

/*
 * The statement is reset before returning: one left on a row keeps this
 * connection's WAL snapshot open, and the next group commit would then fail
 * with SQLITE_BUSY_SNAPSHOT if another process (eds device add) wrote since.
 */
static eds_status device_get_locked(sq *s, const char *id, eds_ledger_device *d)
{
	sqlite3_stmt *st = stmt(s, S_DEV_GET);
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	eds_status e;
	if (rc == SQLITE_ROW)
		e = device_row(s, st, d);
	else if (rc == SQLITE_DONE)
		e = eds_fail(EDS_E_NOT_FOUND, "device %s: not registered", id);
	else
		e = db_fail(s, "device look-up");
	sqlite3_reset(st);
	return e;
}

static eds_status sq_device_get(void *impl, const char *id, eds_ledger_device *out)
{
	sq *s = impl;
	pthread_mutex_lock(&s->lock);
	eds_status e = device_get_locked(s, id, out);
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

static eds_status add_key(sq *s, const char *id, const eds_public_key *pk, uint64_t from,
                          uint64_t now)
{
	sqlite3_stmt *st = stmt(s, S_KEY_ADD);
	bind_text(st, 1, id);
	bind_u64(st, 2, from);
	bind_blob(st, 3, pk->bytes, 32);
	bind_u64(st, 4, now);
	return sqlite3_step(st) == SQLITE_DONE ? EDS_OK : db_fail(s, "add key");
}

/*
 * Run fn inside BEGIN IMMEDIATE ... COMMIT under the mutex, rolling back on
 * any error so a failed registry change leaves nothing behind.
 */
typedef eds_status (*txn_fn)(sq *s, void *arg);

/*
 * Dropping journal entries need not be durable (a lost drop only makes the
 * next start check a few files that are fine), so it runs with
 * synchronous=NORMAL: in WAL mode COMMIT then writes without fsync, and the
 * next FULL commit flushes it along.  Every other transaction keeps FULL.
 */
static eds_status set_unsynced(sq *s, int unsynced)
{
	if (!s->durable || s->unsynced == unsynced)
		return EDS_OK;
	s->unsynced = unsynced;
	return exec(s, unsynced ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
}

static eds_status in_txn_mode(sq *s, txn_fn fn, void *arg, int unsynced)
{
	pthread_mutex_lock(&s->lock);
	eds_status e = set_unsynced(s, unsynced);
	if (e == EDS_OK)
		e = exec(s, "BEGIN IMMEDIATE");
	if (e == EDS_OK) {
		e = fn(s, arg);
		if (e == EDS_OK)
			e = exec(s, "COMMIT");
		if (e != EDS_OK)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&s->lock);
	return e;
}

static eds_status in_txn(sq *s, txn_fn fn, void *arg)
{
	return in_txn_mode(s, fn, arg, 0);
}

typedef struct dev_change {
	const char *id;
	const eds_public_key *pk;
	uint64_t from;
	uint64_t now;
} dev_change;

static eds_status do_add(sq *s, void *arg)
{
	dev_change *c = arg;
	eds_ledger_device *d = malloc(sizeof *d);
	if (d == NULL)
		return eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	eds_status e = device_get_locked(s, c->id, d);
	free(d);
	if (e == EDS_OK)
		return eds_fail(EDS_E_EXISTS, "device %s: already registered", c->id);
	if (e != EDS_E_NOT_FOUND)
		return e;
	sqlite3_stmt *st = stmt(s, S_DEV_ADD);
	bind_text(st, 1, c->id);
	bind_u64(st, 2, c->now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "add device");
	return add_key(s, c->id, c->pk, 1, c->now);
}

static eds_status sq_device_add(void *impl, const char *id, const eds_public_key *pk, uint64_t now)
{
	dev_change c = {id, pk, 1, now};
	return in_txn(impl, do_add, &c);
}

static eds_status check_rotate(const eds_ledger_device *d, uint64_t from)
{
	if (d->revoked_from_sequence != 0 && from >= d->revoked_from_sequence)
		return eds_fail(EDS_E_REVOKED, "device %s: revoked from sequence %llu",
		                d->device_id, (unsigned long long)d->revoked_from_sequence);
	if (from <= d->head_sequence)
		return eds_fail(
		    EDS_E_FIELD,
		    "from_sequence: %llu is already stored (head is %llu); must be above",
		    (unsigned long long)from, (unsigned long long)d->head_sequence);
	if (d->key_count > 0 && from <= d->keys[d->key_count - 1].from_sequence)
		return eds_fail(EDS_E_FIELD, "from_sequence: must be above the last key's %llu",
		                (unsigned long long)d->keys[d->key_count - 1].from_sequence);
	if (d->key_count == EDS_LEDGER_MAX_KEYS)
		return eds_fail(EDS_E_LIMIT, "device %s: already has %d keys", d->device_id,
		                EDS_LEDGER_MAX_KEYS);
	return EDS_OK;
}

static eds_status check_revoke(const eds_ledger_device *d, uint64_t from)
{
	if (d->revoked_from_sequence != 0 && from > d->revoked_from_sequence)
		return eds_fail(EDS_E_FIELD, "device %s: already revoked from sequence %llu",
		                d->device_id, (unsigned long long)d->revoked_from_sequence);
	return EDS_OK;
}

/*
 * The sequence a key change takes effect at (the one asked for, or the one
 * after the head), after check accepts it against the stored device.  The
 * device is on the heap: it holds up to EDS_LEDGER_MAX_KEYS keys.
 */
static eds_status change_from(sq *s, const dev_change *c,
                              eds_status (*check)(const eds_ledger_device *, uint64_t),
                              uint64_t *from)
{
	eds_ledger_device *d = malloc(sizeof *d);
	if (d == NULL)
		return eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	eds_status e = device_get_locked(s, c->id, d);
	if (e == EDS_OK) {
		*from = c->from ? c->from : d->head_sequence + 1;
		e = check(d, *from);
	}
	free(d);
	return e;
}

static eds_status do_rotate(sq *s, void *arg)
{
	dev_change *c = arg;
	uint64_t from = 0;
	eds_status e = change_from(s, c, check_rotate, &from);
	return e == EDS_OK ? add_key(s, c->id, c->pk, from, c->now) : e;
}

static eds_status sq_device_rotate(void *impl, const char *id, const eds_public_key *pk,
                                   uint64_t from, uint64_t now)
{
	dev_change c = {id, pk, from, now};
	return in_txn(impl, do_rotate, &c);
}

static eds_status set_revoked(sq *s, const char *id, uint64_t from)
{
	sqlite3_stmt *st = stmt(s, S_DEV_REVOKE);
	bind_text(st, 1, id);
	bind_u64(st, 2, from);
	return sqlite3_step(st) == SQLITE_DONE ? EDS_OK : db_fail(s, "revoke");
}

static eds_status do_revoke(sq *s, void *arg)
{
	dev_change *c = arg;
	uint64_t from = 0;
	eds_status e = change_from(s, c, check_revoke, &from);
	return e == EDS_OK ? set_revoked(s, c->id, from) : e;
}

static eds_status sq_device_revoke(void *impl, const char *id, uint64_t from, uint64_t now)
{
	dev_change c = {id, NULL, from, now};
	return in_txn(impl, do_revoke, &c);
}

/* ---- import: many devices in one transaction ------------------------------ */

typedef struct import_run {
	eds_ledger_import_fn next;
	void *ctx;
	uint64_t now;
	eds_ledger_import_counts *counts;
	eds_ledger_device *in, *have; /* the device imported; the ledger's */
} import_run;

static eds_status import_new(sq *s, const eds_ledger_device *d, uint64_t now)
{
	if (d->keys[0].from_sequence != 1)
		return eds_fail(EDS_E_FIELD,
		                "device %s: its first key starts at sequence %llu; a ledger's "
		                "first key covers the chain from sequence 1",
		                d->device_id, (unsigned long long)d->keys[0].from_sequence);
	sqlite3_stmt *st = stmt(s, S_DEV_ADD);
	bind_text(st, 1, d->device_id);
	bind_u64(st, 2, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "add device");
	eds_status e = EDS_OK;
	for (size_t k = 0; k < d->key_count && e == EDS_OK; k++)
		e = add_key(s, d->device_id, &d->keys[k].public_key, d->keys[k].from_sequence, now);
	if (e == EDS_OK && d->revoked_from_sequence != 0)
		e = set_revoked(s, d->device_id, d->revoked_from_sequence);
	return e;
}

/* The ledger's keys must open the import's list unchanged. */
static eds_status same_keys(const eds_ledger_device *have, const eds_ledger_device *in)
{
	if (in->key_count < have->key_count)
		return eds_fail(EDS_E_EXISTS,
		                "device %s: the ledger has %zu keys, the import %zu; a key is "
		                "never removed",
		                in->device_id, have->key_count, in->key_count);
	for (size_t k = 0; k < have->key_count; k++)
		if (have->keys[k].from_sequence != in->keys[k].from_sequence ||
		    memcmp(have->keys[k].public_key.bytes, in->keys[k].public_key.bytes, 32) != 0)
			return eds_fail(EDS_E_EXISTS,
			                "device %s: key %zu (from sequence %llu) differs from the "
			                "ledger's",
			                in->device_id, k,
			                (unsigned long long)in->keys[k].from_sequence);
	return EDS_OK;
}

/* An import may move a revocation earlier, never later or away. */
static eds_status check_revocation(const eds_ledger_device *have, const eds_ledger_device *in)
{
	uint64_t was = have->revoked_from_sequence, now = in->revoked_from_sequence;
	if (was != 0 && (now == 0 || now > was))
		return eds_fail(EDS_E_EXISTS,
		                "device %s: revoked from sequence %llu in the ledger; a "
		                "revocation is never %s",
		                in->device_id, (unsigned long long)was, now ? "raised" : "lifted");
	return EDS_OK;
}

/* A known device: add the keys it lacks, lower its revocation; *changed says whether. */
static eds_status import_known(sq *s, eds_ledger_device *have, const eds_ledger_device *in,
                               uint64_t now, int *changed)
{
	eds_status e = same_keys(have, in);
	if (e == EDS_OK)
		e = check_revocation(have, in);
	for (size_t k = have->key_count; k < in->key_count && e == EDS_OK; k++) {
		const eds_ledger_key *key = &in->keys[k];
		e = check_rotate(have, key->from_sequence);
		if (e == EDS_OK)
			e = add_key(s, in->device_id, &key->public_key, key->from_sequence, now);
		have->keys[have->key_count++] = *key;
		*changed = 1;
	}
	uint64_t rev = in->revoked_from_sequence;
	if (e == EDS_OK && rev != 0 && rev != have->revoked_from_sequence) {
		e = set_revoked(s, in->device_id, rev);
		*changed = 1;
	}
	return e;
}

static eds_status import_one(sq *s, import_run *r)
{
	eds_status e = device_get_locked(s, r->in->device_id, r->have);
	if (e == EDS_E_NOT_FOUND) {
		r->counts->added++;
		return import_new(s, r->in, r->now);
	}
	int changed = 0;
	if (e == EDS_OK)
		e = import_known(s, r->have, r->in, r->now, &changed);
	if (changed)
		r->counts->changed++;
	else
		r->counts->unchanged++;
	return e;
}

static eds_status do_import(sq *s, void *arg)
{
	import_run *r = arg;
	eds_status e;
	while ((e = r->next(r->ctx, r->in)) == EDS_OK)
		if ((e = import_one(s, r)) != EDS_OK)
			return e;
	return e == EDS_DONE ? EDS_OK : e;
}

static eds_status sq_device_import(void *impl, eds_ledger_import_fn next, void *ctx, uint64_t now,
                                   eds_ledger_import_counts *counts)
{
	/* Two devices of up to EDS_LEDGER_MAX_KEYS keys: on the heap. */
	import_run r = {next, ctx, now, counts, malloc(sizeof *r.in), malloc(sizeof *r.have)};
	eds_status e = r.in && r.have ? in_txn(impl, do_import, &r)
	                              : eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	free(r.in);
	free(r.have);
	if (e != EDS_OK)
		*counts = (eds_ledger_import_counts){0, 0, 0};
	return e;
}

/* The ledger's callbacks differ only in their row type; these pass a row on untyped. */
typedef struct dev_visit {
	eds_ledger_device_fn fn;
	void *ctx;
} dev_visit;

typedef struct rec_visit {
	eds_ledger_record_fn fn;
	void *ctx;
} rec_visit;

static eds_status visit_device(void *arg, const void *row)
{
	const dev_visit *v = arg;
	return v->fn(v->ctx, row);
}

static eds_status visit_record(void *arg, const void *row)
{
	const rec_visit *v = arg;
	return v->fn(v->ctx, row);
}

typedef eds_status (*row_fill_fn)(sq *s, sqlite3_stmt *st, void *row);

/* The walk of foreach_bound, for a caller that holds the mutex. */
static eds_status step_rows(sq *s, sqlite3_stmt *st, void *row, row_fill_fn fill,
                            eds_status (*visit)(void *arg, const void *row), void *arg,
                            const char *what)
{
	eds_status e = EDS_OK;
	int rc;
	while (e == EDS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		e = fill(s, st, row);
		if (e == EDS_OK)
			e = visit(arg, row);
	}
	if (e == EDS_OK && rc != SQLITE_DONE)
		e = db_fail(s, what);
	sqlite3_reset(st);
	return e;
}

/*
 * Step statement id over every row, filling one heap row (they are large)
 * with fill and handing it to visit, all under the connection's mutex; the
 * first error from either stops the walk.
 */
static eds_status foreach_bound(sq *s, sqlite3_stmt *(*prepare)(sq *s, const void *arg),
                                const void *bind_arg, size_t row_size, row_fill_fn fill,
                                eds_status (*visit)(void *arg, const void *row), void *arg,
                                const char *what)
{
	void *row = malloc(row_size);
	if (row == NULL)
		return eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	pthread_mutex_lock(&s->lock);
	eds_status e = step_rows(s, prepare(s, bind_arg), row, fill, visit, arg, what);
	pthread_mutex_unlock(&s->lock);
	free(row);
	return unchanged(s, e);
}

/* A statement without parameters; arg: its enum stmt_id. */
static sqlite3_stmt *unbound(sq *s, const void *arg)
{
	return stmt(s, *(const enum stmt_id *)arg);
}

static eds_status foreach_row(sq *s, enum stmt_id id, size_t row_size, row_fill_fn fill,
                              eds_status (*visit)(void *arg, const void *row), void *arg,
                              const char *what)
{
	return foreach_bound(s, unbound, &id, row_size, fill, visit, arg, what);
}

static eds_status sq_device_foreach(void *impl, eds_ledger_device_fn fn, void *ctx)
{
	dev_visit v = {fn, ctx};
	return foreach_row(impl, S_DEV_ALL, sizeof(eds_ledger_device), device_row, visit_device, &v,
	                   "list devices");
}

/* ---- records ------------------------------------------------------------ */

static eds_status record_row(sq *s, sqlite3_stmt *st, void *row)
{
	eds_ledger_record *out = row;
	eds_record *r = &out->record;
	memset(out, 0, sizeof *out);
	eds_status e = col_text(s, st, 0, r->device_id, sizeof r->device_id);
	r->sequence = col_u64(st, 1);
	r->timestamp_ms = col_u64(st, 2);
	r->payload_size = col_u64(st, 3);
	if (e == EDS_OK)
		e = col_blob(s, st, 4, r->payload_hash, EDS_HASH_LEN);
	if (e == EDS_OK)
		e = col_blob(s, st, 5, r->prev_hash, EDS_HASH_LEN);
	if (e == EDS_OK)
		e = col_text(s, st, 6, r->object_ref, sizeof r->object_ref);
	if (e == EDS_OK)
		e = col_blob(s, st, 7, r->signature, EDS_SIGNATURE_LEN);
	if (e == EDS_OK)
		e = col_blob(s, st, 8, out->record_hash, EDS_HASH_LEN);
	out->received_ms = col_u64(st, 9);
	if (e == EDS_OK)
		e = col_text(s, st, 10, out->source, sizeof out->source);
	out->payload_stored = sqlite3_column_int(st, 11) != 0;
	return e;
}

static eds_status sq_record_get(void *impl, const char *id, uint64_t seq, eds_ledger_record *out)
{
	sq *s = impl;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = stmt(s, S_REC_GET);
	bind_text(st, 1, id);
	bind_u64(st, 2, seq);
	int rc = sqlite3_step(st);
	eds_status e;
	if (rc == SQLITE_ROW)
		e = record_row(s, st, out);
	else if (rc == SQLITE_DONE)
		e = eds_fail(EDS_E_NOT_FOUND, "record %s/%llu: not stored", id,
		             (unsigned long long)seq);
	else
		e = db_fail(s, "record look-up");
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

static eds_status sq_record_foreach(void *impl, eds_ledger_record_fn fn, void *ctx)
{
	rec_visit v = {fn, ctx};
	return foreach_row(impl, S_REC_ALL, sizeof(eds_ledger_record), record_row, visit_record, &v,
	                   "list records");
}

/* ---- operation log ------------------------------------------------------ */

typedef struct event_row {
	uint64_t id;
	eds_ledger_event ev;
} event_row;

typedef struct event_query {
	uint64_t after_id;
	const char *device_id;
} event_query;

typedef struct event_visit {
	eds_ledger_event_fn fn;
	void *ctx;
} event_visit;

static sqlite3_stmt *bind_events(sq *s, const void *arg)
{
	const event_query *q = arg;
	sqlite3_stmt *st = stmt(s, S_EVENT_ALL);
	bind_u64(st, 1, q->after_id);
	if (q->device_id != NULL)
		bind_text(st, 2, q->device_id);
	return st;
}

/*
 * A chain_hash column: NULL (a schema before 4) or anything but 32 bytes
 * (edited by hand) reads as zero, no error: on a chained ledger that is a
 * broken link, which eds ledger verify names, rather than a log that
 * cannot be read at all.
 */
static void col_chain(sqlite3_stmt *st, int i, uint8_t out[EDS_HASH_LEN])
{
	if (sqlite3_column_type(st, i) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, i) == EDS_HASH_LEN)
		memcpy(out, sqlite3_column_blob(st, i), EDS_HASH_LEN);
	else
		memset(out, 0, EDS_HASH_LEN);
}

/* The columns as put_event wrote them; anything longer or shorter was edited. */
static eds_status event_fill(sq *s, sqlite3_stmt *st, void *row)
{
	event_row *out = row;
	memset(out, 0, sizeof *out);
	out->id = col_u64(st, 0);
	out->ev.time_ms = col_u64(st, 1);
	out->ev.sequence = col_u64(st, 4);
	eds_status e = col_text(s, st, 2, out->ev.source, sizeof out->ev.source);
	if (e == EDS_OK)
		e = col_text(s, st, 3, out->ev.device_id, sizeof out->ev.device_id);
	if (e == EDS_OK)
		e = col_text(s, st, 5, out->ev.decision, sizeof out->ev.decision);
	if (e == EDS_OK)
		e = col_text(s, st, 6, out->ev.reason, sizeof out->ev.reason);
	if (e == EDS_OK)
		e = col_blob(s, st, 7, out->ev.record_hash, EDS_HASH_LEN);
	col_chain(st, 8, out->ev.chain_hash);
	return e;
}

static eds_status visit_event(void *arg, const void *row)
{
	const event_visit *v = arg;
	const event_row *r = row;
	return v->fn(v->ctx, r->id, &r->ev);
}

static eds_status sq_event_foreach(void *impl, uint64_t after_id, const char *device_id,
                                   eds_ledger_event_fn fn, void *ctx)
{
	event_query q = {after_id, device_id};
	event_visit v = {fn, ctx};
	return foreach_bound(impl, bind_events, &q, sizeof(event_row), event_fill, visit_event, &v,
	                     "read the operation log");
}

/* The newest event's id and chain_hash; 0 and zeros when the log is empty. */
static eds_status oplog_head(sq *s, uint64_t *id, uint8_t hash[EDS_HASH_LEN])
{
	sqlite3_stmt *st = stmt(s, S_EVENT_LAST);
	int rc = sqlite3_step(st);
	eds_status e = EDS_OK;
	*id = 0;
	memset(hash, 0, EDS_HASH_LEN);
	if (rc == SQLITE_ROW) {
		*id = col_u64(st, 0);
		col_chain(st, 1, hash);
	} else if (rc != SQLITE_DONE) {
		e = db_fail(s, "operation log head");
	}
	sqlite3_reset(st);
	return e;
}

/* ---- records against the operation log -------------------------------- */

typedef struct match_visit {
	eds_ledger_mismatch_fn fn;
	void *ctx;
} match_visit;

/* A row of S_MATCH_RECORDS or S_MATCH_EVENTS (kind first). */
static eds_status mismatch_fill(sq *s, sqlite3_stmt *st, void *row)
{
	eds_ledger_mismatch *m = row;
	memset(m, 0, sizeof *m);
	m->kind = sqlite3_column_int(st, 0) == 1 ? EDS_LEDGER_RECORD_NOT_LOGGED
	                                         : EDS_LEDGER_LOGGED_RECORD_MISSING;
	m->sequence = col_u64(st, 2);
	m->event_id = col_u64(st, 4);
	m->other_stored = sqlite3_column_int(st, 5) != 0;
	eds_status e = col_text(s, st, 1, m->device_id, sizeof m->device_id);
	return e == EDS_OK ? col_blob(s, st, 3, m->record_hash, EDS_HASH_LEN) : e;
}

static eds_status visit_mismatch(void *arg, const void *row)
{
	const match_visit *v = arg;
	return v->fn(v->ctx, row);
}

static eds_status sq_match_events(void *impl, eds_ledger_mismatch_fn fn, void *ctx)
{
	sq *s = impl;
	match_visit v = {fn, ctx};
	eds_ledger_mismatch row;
	pthread_mutex_lock(&s->lock);
	/*
	 * Both ways in one read transaction, so that a commit of another
	 * process between them cannot show as a mismatch; a read-only handle
	 * is inside its snapshot already.
	 */
	int own = sqlite3_get_autocommit(s->db);
	eds_status e = own ? exec(s, "BEGIN") : EDS_OK;
	if (e == EDS_OK)
		e = step_rows(s, stmt(s, S_MATCH_RECORDS), &row, mismatch_fill, visit_mismatch, &v,
		              "match the records to the operation log");
	if (e == EDS_OK)
		e = step_rows(s, stmt(s, S_MATCH_EVENTS), &row, mismatch_fill, visit_mismatch, &v,
		              "match the operation log to the records");
	if (own)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); /* reads only: nothing to lose */
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

/* ---- schema 4's upgrade: the chain over the events logged before it ---- */

#define UPGRADE_CHUNK 1024 /* events read, then updated, at a time */

/* A ledger rewound by hand to an older version may have the column already. */
static eds_status add_chain_column(sq *s)
{
	uint64_t n = 0;
	eds_status e = count(
	    s, "SELECT count(*) FROM pragma_table_info('oplog') WHERE name = 'chain_hash'", &n);
	return e != EDS_OK || n > 0 ? e : exec(s, "ALTER TABLE oplog ADD COLUMN chain_hash BLOB");
}

/*
 * Up to UPGRADE_CHUNK events after *after into rows (*n of them), read in
 * full before any is updated: SQLite leaves undefined what a SELECT sees
 * of a table the same connection changes while it steps.
 */
static eds_status read_chunk(sq *s, sqlite3_stmt *rd, uint64_t after, event_row *rows, size_t *n)
{
	eds_status e = EDS_OK;
	int rc;
	*n = 0;
	sqlite3_reset(rd);
	bind_u64(rd, 1, after);
	while (e == EDS_OK && (rc = sqlite3_step(rd)) == SQLITE_ROW)
		e = event_fill(s, rd, &rows[(*n)++]);
	if (e == EDS_OK && rc != SQLITE_DONE)
		e = db_fail(s, "read the operation log");
	sqlite3_reset(rd);
	return e;
}

/* Link each row of the chunk to prev (which ends as the last one's hash) and store it. */
static eds_status chain_chunk(sq *s, sqlite3_stmt *wr, const event_row *rows, size_t n,
                              uint8_t prev[EDS_HASH_LEN])
{
	for (size_t i = 0; i < n; i++) {
		eds_ledger_event_chain(prev, rows[i].id, &rows[i].ev, prev);
		sqlite3_reset(wr);
		bind_u64(wr, 1, rows[i].id);
		bind_blob(wr, 2, prev, EDS_HASH_LEN);
		if (sqlite3_step(wr) != SQLITE_DONE)
			return db_fail(s, "chain the operation log");
	}
	return EDS_OK;
}

/*
 * Inside the upgrade's transaction, so all or nothing: the column, then
 * chain_hash for every event already logged, in id order, as the writer
 * would have computed it.
 */
static eds_status chain_upgrade(sq *s)
{
	static const char read_sql[] =
	    "SELECT id, time_ms, source, device_id, sequence, decision, reason, record_hash, NULL "
	    "FROM oplog WHERE id > ?1 ORDER BY id LIMIT " SCHEMA_TEXT(UPGRADE_CHUNK);
	sqlite3_stmt *rd = NULL, *wr = NULL;
	event_row *rows = malloc(UPGRADE_CHUNK * sizeof *rows);
	eds_status e =
	    rows != NULL ? add_chain_column(s) : eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	if (e == EDS_OK &&
	    (sqlite3_prepare_v2(s->db, read_sql, -1, &rd, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v2(s->db, "UPDATE oplog SET chain_hash = ?2 WHERE id = ?1", -1, &wr,
	                        NULL) != SQLITE_OK))
		e = db_fail(s, "prepare the operation log's chain");
	uint8_t prev[EDS_HASH_LEN] = {0};
	size_t n = 0;
	for (uint64_t after = 0; e == EDS_OK; after = rows[n - 1].id) {
		e = read_chunk(s, rd, after, rows, &n);
		if (e == EDS_OK)
			e = chain_chunk(s, wr, rows, n, prev);
		if (n < UPGRADE_CHUNK)
			break;
	}
	sqlite3_finalize(rd);
	sqlite3_finalize(wr);
	free(rows);
	return e;
}

/* Size and stored flag of a payload hash (lock held).  Errors: EDS_E_NOT_FOUND, EDS_E_IO. */
static eds_status payload_get(sq *s, const uint8_t hash[EDS_HASH_LEN], uint64_t *size, int *stored)
{
	sqlite3_stmt *st = stmt(s, S_PAYLOAD_GET);
	bind_blob(st, 1, hash, EDS_HASH_LEN);
	int rc = sqlite3_step(st);
	eds_status e = EDS_OK;
	if (rc == SQLITE_ROW) {
		/* Records sharing a hash but not a size cannot all be right; take the first. */
		*size = col_u64(st, 0);
		*stored = sqlite3_column_int(st, 1) != 0;
	} else if (rc == SQLITE_DONE) {
		e = eds_fail(EDS_E_NOT_FOUND, "payload: no stored record refers to it");
	} else {
		e = db_fail(s, "payload look-up");
	}
	sqlite3_reset(st);
	return e;
}

static eds_status sq_payload_lookup(void *impl, const uint8_t hash[EDS_HASH_LEN], uint64_t *size,
                                    int *stored)
{
	sq *s = impl;
	pthread_mutex_lock(&s->lock);
	eds_status e = payload_get(s, hash, size, stored);
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

/* ---- commit ------------------------------------------------------------- */

static eds_status put_record(sq *s, const eds_ledger_record *lr)
{
	const eds_record *r = &lr->record;
	sqlite3_stmt *st = stmt(s, S_REC_ADD);
	bind_text(st, 1, r->device_id);
	bind_u64(st, 2, r->sequence);
	bind_u64(st, 3, r->timestamp_ms);
	bind_u64(st, 4, r->payload_size);
	bind_blob(st, 5, r->payload_hash, EDS_HASH_LEN);
	bind_blob(st, 6, r->prev_hash, EDS_HASH_LEN);
	bind_text(st, 7, r->object_ref);
	bind_blob(st, 8, r->signature, EDS_SIGNATURE_LEN);
	bind_blob(st, 9, lr->record_hash, EDS_HASH_LEN);
	bind_u64(st, 10, lr->received_ms);
	bind_text(st, 11, lr->source);
	sqlite3_bind_int(st, 12, lr->payload_stored != 0);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		return eds_fail(EDS_E_EXISTS, "record %s/%llu: already stored", r->device_id,
		                (unsigned long long)r->sequence);
	return rc == SQLITE_DONE ? EDS_OK : db_fail(s, "insert record");
}

/* End of the run starting at i: records of one device with consecutive sequences. */
static size_t run_end(const eds_ledger_batch *b, size_t i)
{
	const eds_ledger_record *r = b->records;
	size_t j = i + 1;
	while (j < b->record_count && r[j].record.sequence == r[j - 1].record.sequence + 1 &&
	       strcmp(r[j].record.device_id, r[i].record.device_id) == 0)
		j++;
	return j;
}

/*
 * Move a device's head over a run of its records from first-1 to last: one
 * UPDATE per run instead of per record (a client's batch is one run), with
 * the same guarantee, since the run is consecutive and its first record
 * must follow the stored head.
 */
static eds_status move_head(sq *s, const eds_ledger_record *first, const eds_ledger_record *last)
{
	const eds_record *r = &first->record;
	sqlite3_stmt *st = stmt(s, S_HEAD_MOVE);
	bind_text(st, 1, r->device_id);
	bind_u64(st, 2, last->record.sequence);
	bind_blob(st, 3, last->record_hash, EDS_HASH_LEN);
	bind_u64(st, 4, r->sequence - 1);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "move head");
	if (sqlite3_changes(s->db) != 1)
		return eds_fail(EDS_E_SEQUENCE, "record %s/%llu: not the next record of the ledger",
		                r->device_id, (unsigned long long)r->sequence);
	return EDS_OK;
}

static eds_status put_records(sq *s, const eds_ledger_batch *b)
{
	eds_status e = EDS_OK;
	for (size_t i = 0, end; e == EDS_OK && i < b->record_count; i = end) {
		end = run_end(b, i);
		for (size_t k = i; e == EDS_OK && k < end; k++)
			e = put_record(s, &b->records[k]);
		if (e == EDS_OK)
			e = move_head(s, &b->records[i], &b->records[end - 1]);
	}
	return e;
}

static eds_status put_event(sq *s, const eds_ledger_event *ev, uint64_t id,
                            const uint8_t chain[EDS_HASH_LEN])
{
	sqlite3_stmt *st = stmt(s, S_EVENT_ADD);
	bind_u64(st, 8, id);
	bind_blob(st, 9, chain, EDS_HASH_LEN);
	bind_u64(st, 1, ev->time_ms);
	bind_text(st, 2, ev->source);
	bind_text(st, 3, ev->device_id);
	bind_u64(st, 4, ev->sequence);
	bind_text(st, 5, ev->decision);
	bind_text(st, 6, ev->reason);
	bind_blob(st, 7, ev->record_hash, EDS_HASH_LEN);
	return sqlite3_step(st) == SQLITE_DONE ? EDS_OK : db_fail(s, "insert event");
}

static eds_status mark_stored(sq *s, const uint8_t hash[EDS_HASH_LEN])
{
	sqlite3_stmt *st = stmt(s, S_PAYLOAD_STORED);
	bind_blob(st, 1, hash, EDS_HASH_LEN);
	return sqlite3_step(st) == SQLITE_DONE ? EDS_OK : db_fail(s, "mark payload stored");
}

/*
 * The batch's events, each linked to the one before.  The head is read in
 * this transaction, not kept in memory: it is then right whichever handle
 * or process wrote last, and a commit that rolls back leaves nothing to
 * undo.  One indexed look-up per commit, not per event.
 */
static eds_status put_events(sq *s, const eds_ledger_batch *b)
{
	if (b->event_count == 0)
		return EDS_OK;
	uint64_t id;
	uint8_t chain[EDS_HASH_LEN];
	eds_status e = oplog_head(s, &id, chain);
	for (size_t i = 0; e == EDS_OK && i < b->event_count; i++) {
		eds_ledger_event_chain(chain, ++id, &b->events[i], chain);
		e = put_event(s, &b->events[i], id, chain);
	}
	return e;
}

static eds_status do_commit(sq *s, void *arg)
{
	const eds_ledger_batch *b = arg;
	eds_status e = put_records(s, b);
	for (size_t i = 0; e == EDS_OK && i < b->stored_payload_count; i++)
		e = mark_stored(s, b->stored_payloads + i * EDS_HASH_LEN);
	return e == EDS_OK ? put_events(s, b) : e;
}

static eds_status sq_commit(void *impl, const eds_ledger_batch *b)
{
	return in_txn(impl, do_commit, (void *)b);
}

/* ---- journaled commits: the payload bytes wait in the ledger for their files */

/* The payload hashes a batch marks stored, back to back (NULL when none). */
static uint8_t *batch_hashes(const eds_ledger_batch *b, size_t *n)
{
	*n = 0;
	uint8_t *h = malloc((b->record_count + b->stored_payload_count + 1) * EDS_HASH_LEN);
	if (h == NULL)
		return NULL;
	for (size_t i = 0; i < b->record_count; i++)
		if (b->records[i].payload_stored)
			memcpy(h + (*n)++ * EDS_HASH_LEN, b->records[i].record.payload_hash,
			       EDS_HASH_LEN);
	if (b->stored_payload_count > 0) /* stored_payloads may be NULL otherwise */
		memcpy(h + *n * EDS_HASH_LEN, b->stored_payloads,
		       b->stored_payload_count * EDS_HASH_LEN);
	*n += b->stored_payload_count;
	return h;
}

/* Journal entry bytes: per payload its hash, its length (8 bytes, little endian), its bytes. */
#define JOURNAL_HEAD (EDS_HASH_LEN + 8)

static uint8_t *journal_bytes(const eds_ledger_batch *b, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < b->payload_count; i++)
		*n += JOURNAL_HEAD + b->payloads[i].len;
	uint8_t *out = malloc(*n ? *n : 1), *p = out;
	for (size_t i = 0; out != NULL && i < b->payload_count; i++) {
		const eds_ledger_payload *pl = &b->payloads[i];
		memcpy(p, pl->hash, EDS_HASH_LEN);
		for (int k = 0; k < 8; k++)
			p[EDS_HASH_LEN + k] = (uint8_t)((uint64_t)pl->len >> (8 * k));
		if (pl->len > 0)
			memcpy(p + JOURNAL_HEAD, pl->data, pl->len);
		p += JOURNAL_HEAD + pl->len;
	}
	return out;
}

/* The bytes journaled for hash in entry bytes j (n long); 0 when absent or damaged. */
static int journal_find(const uint8_t *j, size_t n, const uint8_t *hash, const uint8_t **data,
                        size_t *len)
{
	while (n >= JOURNAL_HEAD) {
		uint64_t l = 0;
		for (int k = 0; k < 8; k++)
			l |= (uint64_t)j[EDS_HASH_LEN + k] << (8 * k);
		if (l > n - JOURNAL_HEAD)
			return 0;
		if (memcmp(j, hash, EDS_HASH_LEN) == 0) {
			*data = j + JOURNAL_HEAD;
			*len = (size_t)l;
			return 1;
		}
		j += JOURNAL_HEAD + l;
		n -= JOURNAL_HEAD + (size_t)l;
	}
	return 0;
}

static eds_status do_commit_journaled(sq *s, void *arg)
{
	const eds_ledger_batch *b = arg;
	eds_status e = do_commit(s, arg);
	size_t nh = 0, nj = 0;
	uint8_t *h = e == EDS_OK ? batch_hashes(b, &nh) : NULL;
	uint8_t *j = h != NULL ? journal_bytes(b, &nj) : NULL;
	if (e == EDS_OK && (h == NULL || j == NULL))
		e = eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	if (e == EDS_OK && nh > 0) {
		sqlite3_stmt *st = stmt(s, S_NOTE_ADD);
		sqlite3_bind_blob(st, 1, h, (int)(nh * EDS_HASH_LEN), SQLITE_STATIC);
		if (nj > (size_t)INT_MAX)
			e = eds_fail(EDS_E_LIMIT, "ledger: a group's payloads exceed 2 GiB");
		else if (sqlite3_bind_blob(st, 2, j, (int)nj, SQLITE_STATIC) != SQLITE_OK ||
		         sqlite3_step(st) != SQLITE_DONE)
			e = db_fail(s, "journal payloads");
		sqlite3_clear_bindings(st);
	}
	free(j);
	free(h);
	return e;
}

static eds_status sq_commit_journaled(void *impl, const eds_ledger_batch *b)
{
	return in_txn(impl, do_commit_journaled, (void *)b);
}

static eds_status sq_journal_mark(void *impl, uint64_t *mark)
{
	sq *s = impl;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = stmt(s, S_NOTE_MARK);
	eds_status e = EDS_OK;
	if (sqlite3_step(st) == SQLITE_ROW)
		*mark = col_u64(st, 0);
	else
		e = db_fail(s, "journal mark");
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

static eds_status do_journal_drop(sq *s, void *arg)
{
	sqlite3_stmt *st = stmt(s, S_NOTE_DROP);
	sqlite3_bind_int64(st, 1, (sqlite3_int64) * (const uint64_t *)arg);
	return sqlite3_step(st) == SQLITE_DONE ? EDS_OK : db_fail(s, "drop journal entries");
}

static eds_status sq_journal_drop(void *impl, uint64_t mark)
{
	return in_txn_mode(impl, do_journal_drop, &mark, 1);
}

static eds_status sq_changed(void *impl, int *changed)
{
	sq *s = impl;
	pthread_mutex_lock(&s->lock);
	/* A read-only snapshot (begin_snapshot) moves on to the newest commit here. */
	eds_status e = EDS_OK;
	if (s->read_only && !s->immutable) {
		/* Every read resets its statement, so none holds the old snapshot open. */
		e = exec(s, "COMMIT");
		if (e == EDS_OK)
			e = begin_snapshot(s);
	}
	/* Asked before every group commit: prepared once, like every statement here. */
	sqlite3_stmt *st = stmt(s, S_DATA_VERSION);
	if (e == EDS_OK && sqlite3_step(st) == SQLITE_ROW) {
		int v = sqlite3_column_int(st, 0);
		*changed = v != s->data_version;
		s->data_version = v;
	} else if (e == EDS_OK) {
		e = db_fail(s, "data_version");
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static eds_status sq_stats(void *impl, eds_ledger_stats *out)
{
	sq *s = impl;
	char wal[PATH_MAX + 4];
	snprintf(wal, sizeof wal, "%s-wal", s->path);
	out->bytes = file_size(s->path) + file_size(wal);
	pthread_mutex_lock(&s->lock);
	/* Chains are contiguous from 1, so the record count is the sum of the heads. */
	eds_status e = count(s, "SELECT count(*) FROM devices", &out->devices);
	if (e == EDS_OK)
		e = count(s, "SELECT ifnull(sum(head_sequence), 0) FROM devices", &out->records);
	if (e == EDS_OK)
		e = count(s, "SELECT count(*) FROM records WHERE payload_stored = 0",
		          &out->pending_payloads);
	/* The newest event's id is the count of events; a chained log reads it with its head. */
	out->oplog_chained = s->schema >= SCHEMA_CHAINED;
	if (e == EDS_OK && out->oplog_chained)
		e = oplog_head(s, &out->events, out->oplog_head);
	else if (e == EDS_OK)
		e = count(s, "SELECT ifnull(max(id), 0) FROM oplog", &out->events);
	/* Schema 1 (read-only, not upgraded) has no journal: nothing is journaled. */
	if (e == EDS_OK && s->schema >= 2)
		e = count(s, "SELECT ifnull(sum(length(hashes)), 0) / 32 FROM unconfirmed",
		          &out->journaled_payloads);
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

/* ---- recovery ------------------------------------------------------------- */

typedef struct recovery {
	const char *root;
	size_t restored, demoted;
} recovery;

/* Write hash's file again from journaled bytes that still hash to it. */
static int restore_file(const recovery *rc, const uint8_t *hash, uint64_t size, const uint8_t *j,
                        size_t nj)
{
	const uint8_t *data;
	size_t len;
	uint8_t h[EDS_HASH_LEN];
	if (j == NULL || !journal_find(j, nj, hash, &data, &len) || len != size)
		return 0;
	eds_blake3(h, data, len);
	return memcmp(h, hash, EDS_HASH_LEN) == 0 &&
	       eds_payload_stage(rc->root, hash, data, len) == EDS_OK;
}

/*
 * A journaled payload whose file is missing or damaged: written again from
 * the journal, or, with no bytes there (a schema 2 entry), its records go
 * back to pending.
 */
static eds_status recover_hash(sq *s, recovery *rc, const uint8_t *hash, const uint8_t *j,
                               size_t nj)
{
	uint64_t size = 0;
	int stored = 0;
	eds_status e = payload_get(s, hash, &size, &stored);
	if (e == EDS_E_NOT_FOUND || (e == EDS_OK && !stored))
		return EDS_OK; /* nothing claims the file */
	if (e != EDS_OK || eds_payload_check(rc->root, hash, size) == EDS_OK)
		return e;
	if (restore_file(rc, hash, size, j, nj)) {
		rc->restored++;
		return EDS_OK;
	}
	sqlite3_stmt *st = stmt(s, S_PAYLOAD_DEMOTE);
	bind_blob(st, 1, hash, EDS_HASH_LEN);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(s, "mark payload pending");
	rc->demoted += (size_t)sqlite3_changes(s->db);
	return EDS_OK;
}

static eds_status do_recover(sq *s, void *arg)
{
	recovery *rc = arg;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT hashes, payloads FROM unconfirmed", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_fail(s, "read the payload journal");
	eds_status e = EDS_OK;
	int rc_step;
	while (e == EDS_OK && (rc_step = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *h = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0) / EDS_HASH_LEN;
		const uint8_t *j = sqlite3_column_blob(st, 1);
		size_t nj = (size_t)sqlite3_column_bytes(st, 1);
		for (size_t i = 0; e == EDS_OK && i < n; i++)
			e = recover_hash(s, rc, h + i * EDS_HASH_LEN, j, nj);
	}
	if (e == EDS_OK && rc_step != SQLITE_DONE)
		e = db_fail(s, "read the payload journal");
	sqlite3_finalize(st);
	/* The entries go only once the files written again are durable. */
	if (e == EDS_OK && rc->restored > 0)
		e = eds_payload_sync(rc->root);
	return e == EDS_OK ? exec(s, "DELETE FROM unconfirmed") : e;
}

static eds_status sq_recover(void *impl, const char *payload_dir, size_t *restored, size_t *demoted)
{
	recovery rc = {payload_dir, 0, 0};
	eds_status e = in_txn(impl, do_recover, &rc);
	*restored = e == EDS_OK ? rc.restored : 0;
	*demoted = e == EDS_OK ? rc.demoted : 0;
	return e;
}

/* ---- backup --------------------------------------------------------------- */

/*
 * SQLite's online backup, in one step: it reads every page inside one read
 * transaction (the snapshot a read-only handle holds, else a new one), so
 * a server committing meanwhile neither blocks it nor tears the copy.  The
 * copy's own transaction is synced (synchronous=FULL) before it returns.
 */
static eds_status copy_db(sq *s, sqlite3 *dst, const char *db_path)
{
	if (sqlite3_exec(dst, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
		return eds_fail(EDS_E_IO, "%s: %s", db_path, sqlite3_errmsg(dst));
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", s->db, "main");
	if (b == NULL)
		return eds_fail(EDS_E_IO, "%s: backup: %s", db_path, sqlite3_errmsg(dst));
	int rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return eds_fail(rc == SQLITE_NOMEM ? EDS_E_NOMEM : EDS_E_IO, "%s: backup: %s",
		                db_path, sqlite3_errstr(rc));
	return EDS_OK;
}

static eds_status sq_backup(void *impl, const char *db_path)
{
	sq *s = impl;
	sqlite3 *dst = NULL;
	eds_status e;
	if (exists(db_path))
		return eds_fail(EDS_E_EXISTS, "%s: exists", db_path);
	pthread_mutex_lock(&s->lock);
	if (sqlite3_open_v2(db_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		e = dst ? eds_fail(EDS_E_IO, "%s: %s", db_path, sqlite3_errmsg(dst))
		        : eds_fail(EDS_E_NOMEM, "ledger: out of memory");
	else
		e = copy_db(s, dst, db_path);
	pthread_mutex_unlock(&s->lock);
	if (sqlite3_close(dst) != SQLITE_OK && e == EDS_OK)
		e = eds_fail(EDS_E_IO, "%s: close: %s", db_path, sqlite3_errmsg(dst));
	return unchanged(s, e);
}

/*
 * Setting user_version to the value it has writes the database header page
 * to the WAL (an empty transaction would write nothing) and, on a durable
 * ledger, syncs it: the smallest real commit, with no data changed.
 */
static eds_status rewrite_version(sq *s, void *arg)
{
	(void)arg;
	return exec(s, "PRAGMA user_version = " SCHEMA_TEXT(SCHEMA_VERSION));
}

static eds_status sq_probe(void *impl)
{
	return in_txn(impl, rewrite_version, NULL);
}

/* quick_check's first line: "ok", or the first problem (after a heading). */
static eds_status check_line(const char *line, const char *path)
{
	static const char heading[] = "*** in database main ***\n";
	if (line != NULL && strcmp(line, "ok") == 0)
		return EDS_OK;
	line = line != NULL ? line : "?";
	if (strncmp(line, heading, sizeof heading - 1) == 0)
		line += sizeof heading - 1;
	return eds_fail(EDS_E_IO, "%s: damaged: %.200s", path, line);
}

/* quick_check: every page and the b-tree structure, without the slower
 * index-against-table comparison of integrity_check. */
static eds_status sq_check_store(void *impl)
{
	sq *s = impl;
	sqlite3_stmt *st = NULL;
	eds_status e;
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		e = db_fail(s, "quick_check");
	else
		e = check_line((const char *)sqlite3_column_text(st, 0), s->path);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return unchanged(s, e);
}

static const eds_ledger_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .device_add = sq_device_add,
    .device_rotate = sq_device_rotate,
    .device_revoke = sq_device_revoke,
    .device_get = sq_device_get,
    .device_foreach = sq_device_foreach,
    .record_get = sq_record_get,
    .record_foreach = sq_record_foreach,
    .payload_lookup = sq_payload_lookup,
    .commit = sq_commit,
    .commit_journaled = sq_commit_journaled,
    .journal_mark = sq_journal_mark,
    .journal_drop = sq_journal_drop,
    .recover = sq_recover,
    .changed = sq_changed,
    .stats = sq_stats,
    .backup = sq_backup,
    .probe = sq_probe,
    .check_store = sq_check_store,
    .event_foreach = sq_event_foreach,
    .device_import = sq_device_import,
    .match_events = sq_match_events,
};
