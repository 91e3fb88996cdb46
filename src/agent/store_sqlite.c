/*
 * store_sqlite.c - the durable buffer store: <state_dir>/agent.db, SQLite
 * in WAL mode.
 *
 * Durability: synchronous=FULL by default, so COMMIT returns after the WAL
 * is fsynced and a record the caller saw signed survives a power cut.  In
 * group mode synchronous=NORMAL: commits reach the OS at once (a process
 * crash loses nothing) and sync() fsyncs the WAL file explicitly, which
 * the agent does every N records and before anything is forwarded, so a
 * record the server may hold is always durable here and its sequence can
 * never be signed again with other content.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_internal.h"
#include "internal.h"

enum {
	Q_INSERT,
	Q_META_PUT,
	Q_META_GET,
	Q_SHED,
	Q_SHED_CAND,
	Q_PEEK,
	Q_GET_ONE,
	Q_DELETE,
	Q_SENT_GONE,
	Q_SENT_DEL,
	Q_SENT_NEW,
	Q_SENT_SET,
	Q_SERVER,
	Q_OLDEST,
	Q_COUNT
};

static const char *const q_sql[Q_COUNT] = {
    [Q_INSERT] = "INSERT INTO queue(seq, ts, record, rec_len, payload_hash, payload, payload_len, "
                 "sent) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
    [Q_META_PUT] = "INSERT OR REPLACE INTO meta(id, device_id, public_key, head_seq, head_hash, "
                   "dropped, notices, server_seq, server_known) "
                   "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_META_GET] = "SELECT device_id, public_key, head_seq, head_hash, dropped, notices, "
                   "server_seq, server_known FROM meta WHERE id = 1",
    [Q_SHED] = "UPDATE queue SET payload = NULL WHERE seq = ?1 AND payload IS NOT NULL",
    [Q_SHED_CAND] = "SELECT seq, payload_hash, payload_len FROM queue "
                    "WHERE payload IS NOT NULL ORDER BY seq LIMIT ?1",
    [Q_PEEK] = "SELECT record, payload FROM queue WHERE sent = ?1 ORDER BY seq LIMIT ?2",
    [Q_GET_ONE] = "SELECT rec_len, payload IS NOT NULL, payload_len, sent FROM queue "
                  "WHERE seq = ?1",
    [Q_DELETE] = "DELETE FROM queue WHERE seq = ?1",
    [Q_SENT_GONE] = "SELECT count(*), total(rec_len + CASE WHEN payload IS NULL THEN 0 ELSE "
                    "payload_len END) FROM queue WHERE seq <= ?1 AND sent = 0 AND "
                    "(payload IS NULL OR ?2)",
    [Q_SENT_DEL] = "DELETE FROM queue WHERE seq <= ?1 AND sent = 0 AND (payload IS NULL OR ?2)",
    [Q_SENT_NEW] = "SELECT count(*) FROM queue WHERE seq <= ?1 AND sent = 0",
    [Q_SENT_SET] = "UPDATE queue SET sent = 1 WHERE seq <= ?1 AND sent = 0",
    [Q_SERVER] = "UPDATE meta SET server_seq = ?1, server_known = 1 WHERE id = 1",
    [Q_OLDEST] = "SELECT seq, ts FROM queue WHERE sent = 0 ORDER BY seq LIMIT 1",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY CHECK (id = 1), "
    " device_id TEXT NOT NULL, public_key BLOB NOT NULL, head_seq INTEGER NOT NULL, "
    " head_hash BLOB NOT NULL, dropped INTEGER NOT NULL, notices INTEGER NOT NULL, "
    " server_seq INTEGER NOT NULL, server_known INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS queue(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, "
    " record TEXT NOT NULL, rec_len INTEGER NOT NULL, payload_hash BLOB NOT NULL, "
    " payload BLOB, payload_len INTEGER NOT NULL, sent INTEGER NOT NULL);";

typedef struct sql_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	char wal_path[4096];
	int lock_fd;    /* flock on agent.lock while writable, else -1 */
	agent_stats st; /* records, bytes, pending kept current; oldest queried */
} sql_store;

static eds_status db_fail(sql_store *ss, const char *what)
{
	return eds_fail(EDS_E_IO, "agent store: %s: %s", what, sqlite3_errmsg(ss->db));
}

static eds_status exec(sql_store *ss, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(ss->db, sql, NULL, NULL, &err) == SQLITE_OK)
		return EDS_OK;
	eds_status st = eds_fail(EDS_E_IO, "agent store: %s: %s", sql, err ? err : "?");
	sqlite3_free(err);
	return st;
}

/* Reset q for reuse and bind an integer to ?1. */
static sqlite3_stmt *q1(sql_store *ss, int id, sqlite3_int64 v)
{
	sqlite3_stmt *s = ss->q[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_int64(s, 1, v);
	return s;
}

static eds_status step_done(sql_store *ss, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? EDS_OK : db_fail(ss, what);
}

/* A sum from SQLite's total() as a count; false when a damaged file makes it no count. */
static bool as_count(double v, uint64_t *out)
{
	if (!(v >= 0.0 && v < 18446744073709551616.0)) /* also refuses NaN */
		return false;
	*out = (uint64_t)v;
	return true;
}

static eds_status load_counters(sql_store *ss)
{
	sqlite3_stmt *s = NULL;
	const char *sql = "SELECT count(*), total(rec_len + CASE WHEN payload IS NULL THEN 0 "
	                  "ELSE payload_len END), total(sent) FROM queue";
	if (sqlite3_prepare_v2(ss->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_fail(ss, "count");
	eds_status st = EDS_OK;
	if (sqlite3_step(s) == SQLITE_ROW) {
		ss->st.records = (uint64_t)sqlite3_column_int64(s, 0);
		if (!as_count(sqlite3_column_double(s, 1), &ss->st.bytes) ||
		    !as_count(sqlite3_column_double(s, 2), &ss->st.pending))
			st = eds_fail(
			    EDS_E_MALFORMED,
			    "agent store: queue sizes are negative or too large (damaged file)");
	} else {
		st = db_fail(ss, "count");
	}
	sqlite3_finalize(s);
	return st;
}

static eds_status sql_load_meta(void *p, agent_meta *m)
{
	sql_store *ss = p;
	sqlite3_stmt *s = ss->q[Q_META_GET];
	sqlite3_reset(s);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return EDS_DONE;
	if (rc != SQLITE_ROW)
		return db_fail(ss, "read meta");
	memset(m, 0, sizeof *m);
	const char *dev = (const char *)sqlite3_column_text(s, 0);
	eds_status st = EDS_OK;
	if (!dev || strlen(dev) > EDS_DEVICE_ID_MAX || sqlite3_column_bytes(s, 1) != 32 ||
	    sqlite3_column_bytes(s, 3) != EDS_HASH_LEN) {
		st = eds_fail(EDS_E_MALFORMED, "agent store: meta row is corrupt");
	} else {
		snprintf(m->device_id, sizeof m->device_id, "%s", dev);
		memcpy(m->public_key, sqlite3_column_blob(s, 1), 32);
		m->head_seq = (uint64_t)sqlite3_column_int64(s, 2);
		memcpy(m->head_hash, sqlite3_column_blob(s, 3), EDS_HASH_LEN);
		m->dropped_payloads = (uint64_t)sqlite3_column_int64(s, 4);
		m->notices = (uint64_t)sqlite3_column_int64(s, 5);
		m->server_seq = (uint64_t)sqlite3_column_int64(s, 6);
		m->server_known = sqlite3_column_int(s, 7) != 0;
	}
	sqlite3_reset(s);
	return st;
}

static eds_status put_meta(sql_store *ss, const agent_meta *m)
{
	sqlite3_stmt *s = ss->q[Q_META_PUT];
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, m->device_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, m->public_key, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)m->head_seq);
	sqlite3_bind_blob(s, 4, m->head_hash, EDS_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)m->dropped_payloads);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)m->notices);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)m->server_seq);
	sqlite3_bind_int(s, 8, m->server_known);
	return step_done(ss, s, "write meta");
}

static eds_status insert(sql_store *ss, const agent_entry *e)
{
	sqlite3_stmt *s = q1(ss, Q_INSERT, (sqlite3_int64)e->record.sequence);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)e->record.timestamp_ms);
	sqlite3_bind_text(s, 3, e->json, (int)e->json_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)e->json_len);
	sqlite3_bind_blob(s, 5, e->record.payload_hash, EDS_HASH_LEN, SQLITE_STATIC);
	/* zero-length payloads must stay non-NULL: NULL means "shed" */
	sqlite3_bind_blob(s, 6, e->payload_len ? (const void *)e->payload : (const void *)"",
	                  (int)e->payload_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)e->payload_len);
	return step_done(ss, s, "queue record");
}

static eds_status commit_body(sql_store *ss, const agent_meta *m, const agent_entry *add,
                              size_t nadd, const agent_shed *shed, size_t nshed)
{
	eds_status st = EDS_OK;
	for (size_t i = 0; i < nshed && st == EDS_OK; i++)
		st = step_done(ss, q1(ss, Q_SHED, (sqlite3_int64)shed[i].seq), "drop payload");
	for (size_t i = 0; i < nadd && st == EDS_OK; i++)
		st = insert(ss, &add[i]);
	if (st == EDS_OK)
		st = put_meta(ss, m);
	return st;
}

static eds_status sql_commit(void *p, const agent_meta *m, const agent_entry *add, size_t nadd,
                             const agent_shed *shed, size_t nshed)
{
	sql_store *ss = p;
	eds_status st = exec(ss, "BEGIN IMMEDIATE");
	if (st != EDS_OK)
		return st;
	st = commit_body(ss, m, add, nadd, shed, nshed);
	if (st == EDS_OK)
		st = exec(ss, "COMMIT");
	if (st != EDS_OK) {
		exec(ss, "ROLLBACK");
		return st;
	}
	for (size_t i = 0; i < nshed; i++)
		ss->st.bytes -= shed[i].payload_len;
	for (size_t i = 0; i < nadd; i++) {
		ss->st.records++;
		ss->st.bytes += add[i].json_len + add[i].payload_len;
	}
	return EDS_OK;
}

static eds_status sql_shed_candidates(void *p, agent_shed *out, size_t max, size_t *n)
{
	sql_store *ss = p;
	sqlite3_stmt *s = q1(ss, Q_SHED_CAND, (sqlite3_int64)max);
	*n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		if (sqlite3_column_bytes(s, 1) != EDS_HASH_LEN)
			continue;
		out[*n].seq = (uint64_t)sqlite3_column_int64(s, 0);
		memcpy(out[*n].payload_hash, sqlite3_column_blob(s, 1), EDS_HASH_LEN);
		out[*n].payload_len = (size_t)sqlite3_column_int64(s, 2);
		(*n)++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? EDS_OK : db_fail(ss, "shed candidates");
}

/* Copy one peeked row into e. */
static eds_status row_entry(sqlite3_stmt *s, agent_entry *e, bool sent)
{
	memset(e, 0, sizeof *e);
	eds_status st = agent_entry_set_json(e, (const char *)sqlite3_column_text(s, 0),
	                                     (size_t)sqlite3_column_bytes(s, 0));
	if (st != EDS_OK)
		return st;
	e->sent = sent;
	e->has_payload = sqlite3_column_type(s, 1) != SQLITE_NULL;
	e->payload_len = e->has_payload ? (size_t)sqlite3_column_bytes(s, 1) : 0;
	e->payload = malloc(e->payload_len ? e->payload_len : 1);
	if (!e->payload)
		return eds_fail(EDS_E_NOMEM, "agent store: out of memory");
	if (e->payload_len)
		memcpy(e->payload, sqlite3_column_blob(s, 1), e->payload_len);
	return EDS_OK;
}

static eds_status sql_peek(void *p, bool want_sent, size_t max, size_t max_bytes, agent_entry **out,
                           size_t *n)
{
	sql_store *ss = p;
	*n = 0;
	*out = calloc(max ? max : 1, sizeof **out);
	if (!*out)
		return eds_fail(EDS_E_NOMEM, "agent store: out of memory");
	sqlite3_stmt *s = q1(ss, Q_PEEK, want_sent);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	size_t bytes = 0;
	eds_status st = EDS_OK;
	while (*n < max && sqlite3_step(s) == SQLITE_ROW) {
		size_t pl = sqlite3_column_type(s, 1) == SQLITE_NULL
		                ? 0
		                : (size_t)sqlite3_column_bytes(s, 1);
		if (*n > 0 && bytes + pl > max_bytes)
			break;
		st = row_entry(s, &(*out)[*n], want_sent);
		if (st != EDS_OK)
			break;
		bytes += pl;
		(*n)++;
	}
	sqlite3_reset(s);
	if (st != EDS_OK) {
		agent_entries_free(*out, *n + 1);
		*out = NULL;
		*n = 0;
	}
	return st;
}

static sqlite3_int64 scalar(sql_store *ss, int id, sqlite3_int64 arg, int arg2, int col, bool *ok)
{
	sqlite3_stmt *s = q1(ss, id, arg);
	if (id == Q_SENT_GONE)
		sqlite3_bind_int(s, 2, arg2);
	sqlite3_int64 v = 0;
	uint64_t sum = 0;
	bool row = sqlite3_step(s) == SQLITE_ROW;
	if (row && col != 1)
		v = sqlite3_column_int64(s, 0);
	else if (row && as_count(sqlite3_column_double(s, 1), &sum) && sum <= INT64_MAX)
		v = (sqlite3_int64)sum;
	else
		*ok = false; /* no row, or a damaged file: no size a real queue could have */
	sqlite3_reset(s);
	return v;
}

static eds_status sql_mark_sent(void *p, uint64_t upto, bool with_payloads)
{
	sql_store *ss = p;
	sqlite3_int64 u = (sqlite3_int64)upto;
	int wp = with_payloads;
	eds_status st = exec(ss, "BEGIN IMMEDIATE");
	if (st != EDS_OK)
		return st;
	bool ok = true;
	sqlite3_int64 gone = scalar(ss, Q_SENT_GONE, u, wp, 0, &ok);
	sqlite3_int64 gone_bytes = scalar(ss, Q_SENT_GONE, u, wp, 1, &ok);
	sqlite3_stmt *del = q1(ss, Q_SENT_DEL, u);
	sqlite3_bind_int(del, 2, wp);
	st = ok ? step_done(ss, del, "remove") : db_fail(ss, "count");
	sqlite3_int64 fresh = st == EDS_OK ? scalar(ss, Q_SENT_NEW, u, 0, 0, &ok) : 0;
	if (st == EDS_OK && !ok)
		st = db_fail(ss, "count");
	if (st == EDS_OK)
		st = step_done(ss, q1(ss, Q_SENT_SET, u), "mark sent");
	if (st == EDS_OK)
		st = step_done(ss, q1(ss, Q_SERVER, u), "server head");
	if (st == EDS_OK)
		st = exec(ss, "COMMIT");
	if (st != EDS_OK) {
		exec(ss, "ROLLBACK");
		return st;
	}
	ss->st.records -= (uint64_t)gone;
	ss->st.bytes -= (uint64_t)gone_bytes;
	ss->st.pending += (uint64_t)fresh;
	return EDS_OK;
}

static eds_status sql_remove(void *p, uint64_t seq)
{
	sql_store *ss = p;
	sqlite3_stmt *s = q1(ss, Q_GET_ONE, (sqlite3_int64)seq);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return EDS_OK;
	}
	uint64_t bytes = (uint64_t)sqlite3_column_int64(s, 0);
	if (sqlite3_column_int(s, 1))
		bytes += (uint64_t)sqlite3_column_int64(s, 2);
	bool sent = sqlite3_column_int(s, 3) != 0;
	sqlite3_reset(s);
	eds_status st = step_done(ss, q1(ss, Q_DELETE, (sqlite3_int64)seq), "remove");
	if (st != EDS_OK)
		return st;
	ss->st.records--;
	ss->st.bytes -= bytes;
	if (sent)
		ss->st.pending--;
	return EDS_OK;
}

static eds_status sql_stats(void *p, agent_stats *out)
{
	sql_store *ss = p;
	*out = ss->st;
	out->oldest_seq = out->oldest_ts = 0;
	sqlite3_stmt *s = ss->q[Q_OLDEST];
	sqlite3_reset(s);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->oldest_seq = (uint64_t)sqlite3_column_int64(s, 0);
		out->oldest_ts = (uint64_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? EDS_OK : db_fail(ss, "oldest");
}

static eds_status sql_sync(void *p)
{
	sql_store *ss = p;
	int fd = open(ss->wal_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
		           ? EDS_OK
		           : eds_fail(EDS_E_IO, "%s: %s", ss->wal_path, strerror(errno));
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	return rc == 0 ? EDS_OK : eds_fail(EDS_E_IO, "fsync %s: %s", ss->wal_path, strerror(err));
}

static void sql_close(void *p)
{
	sql_store *ss = p;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(ss->q[i]);
	sqlite3_close(ss->db);
	if (ss->lock_fd >= 0)
		close(ss->lock_fd); /* releases the flock */
	free(ss);
}

static const agent_store_ops sql_ops = {
    sql_load_meta, sql_commit, sql_shed_candidates, sql_peek, sql_mark_sent, sql_remove,
    sql_stats,     sql_sync,   sql_close,
};

static eds_status setup(sql_store *ss, bool group_sync, bool read_only)
{
	eds_status st = exec(ss, "PRAGMA busy_timeout = 5000");
	if (st == EDS_OK && !read_only)
		st = exec(ss, "PRAGMA journal_mode = WAL");
	if (st == EDS_OK && !read_only)
		st = exec(ss,
		          group_sync ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
	if (st == EDS_OK && !read_only)
		st = exec(ss, schema);
	for (int i = 0; i < Q_COUNT && st == EDS_OK; i++)
		if (sqlite3_prepare_v2(ss->db, q_sql[i], -1, &ss->q[i], NULL) != SQLITE_OK)
			/* read-only: an agent is creating the state right now */
			st = read_only
			         ? eds_fail(EDS_E_NOT_FOUND, "agent state is not initialised yet")
			         : db_fail(ss, "prepare");
	if (st == EDS_OK)
		st = load_counters(ss);
	return st;
}

/*
 * One writer per state directory: the agent keeps the chain head in memory,
 * so a second process signing into the same state (another `eds agent`, or
 * `eds update verify --agent-state`) would sign the same sequence twice, a
 * fork.  flock, not SQLite's locks: those serialise transactions, not the
 * cached head.  Released when the process dies, so kill -9 leaves no stale lock.
 */
static eds_status lock_state(sql_store *ss, const char *dir)
{
	char path[4096], what[4200];
	int n = snprintf(path, sizeof path, "%s/agent.lock", dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return eds_fail(EDS_E_ARG, "%s: state directory path too long", dir);
	snprintf(what, sizeof what, "%s: agent state", dir);
	return eds_lock_exclusive(path, O_RDWR | O_CREAT, what, "one writer at a time",
	                          &ss->lock_fd);
}

eds_status agent_store_sqlite_open(agent_store *out, const char *dir, bool group_sync,
                                   bool read_only)
{
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		if (read_only || errno != ENOENT)
			return eds_fail(read_only ? EDS_E_NOT_FOUND : EDS_E_IO, "%s: %s", dir,
			                strerror(errno));
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return eds_fail(EDS_E_IO, "%s: cannot create: %s", dir, strerror(errno));
		eds_fsync_dir_of(dir);
	} else if (!S_ISDIR(sb.st_mode)) {
		return eds_fail(EDS_E_IO, "%s: not a directory", dir);
	}
	sql_store *ss = calloc(1, sizeof *ss);
	if (!ss)
		return eds_fail(EDS_E_NOMEM, "agent store: out of memory");
	ss->lock_fd = -1;
	eds_status st = read_only ? EDS_OK : lock_state(ss, dir);
	if (st != EDS_OK) {
		sql_close(ss);
		return st;
	}
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/agent.db", dir);
	snprintf(ss->wal_path, sizeof ss->wal_path, "%s/agent.db-wal", dir);
	if (n < 0 || (size_t)n + 4 >= sizeof path) {
		sql_close(ss);
		return eds_fail(EDS_E_ARG, "%s: state directory path too long", dir);
	}
	if (read_only && stat(path, &sb) != 0) {
		sql_close(ss);
		return eds_fail(EDS_E_NOT_FOUND, "%s: no agent state (agent.db) there", dir);
	}
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &ss->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		st = db_fail(ss, path);
	if (st == EDS_OK)
		st = setup(ss, group_sync, read_only);
	if (st != EDS_OK) {
		sql_close(ss);
		return st;
	}
	out->ops = &sql_ops;
	out->s = ss;
	return EDS_OK;
}
