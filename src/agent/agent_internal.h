/*
 * agent_internal.h - the agent's buffer-store interface and shared state.
 *
 * A store keeps the chain head (meta) and the queue of signed records.
 * Every mutation that signs something goes through commit(), which is
 * all-or-nothing: that is what makes a sequence impossible to reuse.
 */
#ifndef EDS_AGENT_INTERNAL_H
#define EDS_AGENT_INTERNAL_H

#include <pthread.h>

#include "edgesentry/agent.h"

typedef struct agent_meta {
	char device_id[EDS_DEVICE_ID_MAX + 1];
	uint8_t public_key[32];
	uint64_t head_seq;
	uint8_t head_hash[EDS_HASH_LEN];
	uint64_t dropped_payloads;
	uint64_t notices;
	uint64_t server_seq;
	bool server_known;
} agent_meta;

/* One queued record.  payload is owned by whoever filled the entry. */
typedef struct agent_entry {
	eds_record record;
	uint8_t hash[EDS_HASH_LEN]; /* record_hash */
	uint8_t *payload;
	size_t payload_len;
	bool has_payload; /* false once shed */
	bool sent;        /* the server holds the record; only the payload is left */
	size_t json_len;  /* record JSON length, counted in queue bytes */
	const char *json; /* the JSON text; set for commit() only */
} agent_entry;

typedef struct agent_shed {
	uint64_t seq;
	uint8_t payload_hash[EDS_HASH_LEN];
	size_t payload_len;
} agent_shed;

typedef struct agent_stats {
	uint64_t records, bytes, oldest_seq, oldest_ts, pending;
} agent_stats;

typedef struct agent_store_ops {
	/* EDS_DONE when the store is new (meta untouched). */
	eds_status (*load_meta)(void *s, agent_meta *m);
	/* Atomically: drop the payloads of shed[], append add[], write meta. */
	eds_status (*commit)(void *s, const agent_meta *m, const agent_entry *add, size_t nadd,
	                     const agent_shed *shed, size_t nshed);
	/* Up to max oldest entries with a payload, for shedding. */
	eds_status (*shed_candidates)(void *s, agent_shed *out, size_t max, size_t *n);
	/* Oldest entries with sent == want_sent; payloads copied (free with agent_entries_free). */
	eds_status (*peek)(void *s, bool want_sent, size_t max, size_t max_bytes, agent_entry **out,
	                   size_t *n);
	/* The server holds every record up to upto (and their payloads when
	 * with_payloads): remove those done, mark the rest sent (payload still
	 * to upload), remember upto as the server's head. */
	eds_status (*mark_sent)(void *s, uint64_t upto, bool with_payloads);
	eds_status (*remove)(void *s, uint64_t seq);
	eds_status (*stats)(void *s, agent_stats *st);
	/* Make everything committed so far durable (group-fsync mode). */
	eds_status (*sync)(void *s);
	void (*close)(void *s);
} agent_store_ops;

typedef struct agent_store {
	const agent_store_ops *ops;
	void *s;
} agent_store;

eds_status agent_store_memory_open(agent_store *out);
/* sync_every > 1 selects synchronous=NORMAL (group fsync by the agent). */
eds_status agent_store_sqlite_open(agent_store *out, const char *dir, bool group_sync,
                                   bool read_only);

void agent_entries_free(agent_entry *e, size_t n);

/* Fill e->record, hash and json_len from stored record JSON. */
eds_status agent_entry_set_json(agent_entry *e, const char *json, size_t len);

struct eds_agent {
	pthread_mutex_t lock;
	agent_store store;
	eds_signer signer;
	eds_agent_options opts;
	agent_meta meta;
	unsigned unsynced; /* commits since the last sync (group mode) */
	/* forwarding */
	bool server_head_valid; /* asked the server since the last error */
	uint64_t delivered;
	eds_status last_error;
	char last_error_text[256];
	pthread_t thread;
	bool running, stop;
	pthread_cond_t wake;
	eds_transport transport;
	eds_forward_options fwd;
};

/* Make committed records durable before anything leaves the device. */
eds_status agent_sync_locked(eds_agent *a);

#endif
