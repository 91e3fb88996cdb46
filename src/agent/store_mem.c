/*
 * store_mem.c - the RAM-only buffer store: a sorted array of entries.
 * Lost on exit by design (tests, devices without flash to spare).
 * commit() reserves every allocation first so it cannot fail half-way.
 */
#include <stdlib.h>
#include <string.h>

#include "agent_internal.h"
#include "internal.h"

typedef struct mem_store {
	agent_meta meta;
	bool has_meta;
	agent_entry *v; /* v[first..len) live; gone entries have record.sequence 0 */
	size_t first, len, cap;
	agent_stats st;
} mem_store;

static eds_status mem_load_meta(void *s, agent_meta *m)
{
	mem_store *ms = s;
	if (!ms->has_meta)
		return EDS_DONE;
	*m = ms->meta;
	return EDS_OK;
}

static agent_entry *find(mem_store *ms, uint64_t seq)
{
	size_t lo = ms->first, hi = ms->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t s = ms->v[mid].record.sequence;
		if (s == seq)
			return &ms->v[mid];
		if (s < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void drop_payload(mem_store *ms, agent_entry *e)
{
	ms->st.bytes -= e->payload_len;
	free(e->payload);
	e->payload = NULL;
	e->has_payload = false;
}

static void gone(mem_store *ms, agent_entry *e)
{
	if (e->has_payload)
		drop_payload(ms, e);
	ms->st.bytes -= e->json_len;
	ms->st.records--;
	if (e->sent)
		ms->st.pending--;
	e->json_len = 0;
	e->payload_len = 0;
	e->sent = false;
	e->json = "";
	/* json == "" marks a removed slot; its sequence stays for the binary search */
	while (ms->first < ms->len && ms->v[ms->first].json && !ms->v[ms->first].json[0])
		ms->first++;
}

static bool is_gone(const agent_entry *e)
{
	return e->json && !e->json[0];
}

static eds_status reserve(mem_store *ms, size_t n)
{
	if (ms->first > 0 && ms->first >= ms->len / 2) {
		memmove(ms->v, ms->v + ms->first, (ms->len - ms->first) * sizeof *ms->v);
		ms->len -= ms->first;
		ms->first = 0;
	}
	void *v = ms->v;
	eds_status st = eds_grow(&v, &ms->cap, ms->len + n, sizeof *ms->v, "memory store");
	ms->v = v;
	return st;
}

static eds_status mem_commit(void *s, const agent_meta *m, const agent_entry *add, size_t nadd,
                             const agent_shed *shed, size_t nshed)
{
	mem_store *ms = s;
	uint8_t *copies[2] = {NULL, NULL};
	if (nadd > 2)
		return eds_fail(EDS_E_INTERNAL, "memory store: at most 2 records per commit");
	eds_status st = reserve(ms, nadd);
	for (size_t i = 0; i < nadd && st == EDS_OK; i++) {
		copies[i] = malloc(add[i].payload_len ? add[i].payload_len : 1);
		if (!copies[i])
			st = eds_fail(EDS_E_NOMEM, "memory store: out of memory");
		else if (add[i].payload_len)
			memcpy(copies[i], add[i].payload, add[i].payload_len);
	}
	if (st != EDS_OK) {
		free(copies[0]);
		free(copies[1]);
		return st;
	}
	for (size_t i = 0; i < nshed; i++) {
		agent_entry *e = find(ms, shed[i].seq);
		if (e && e->has_payload)
			drop_payload(ms, e);
	}
	for (size_t i = 0; i < nadd; i++) {
		agent_entry *e = &ms->v[ms->len++];
		*e = add[i];
		e->json = NULL;
		e->payload = copies[i];
		ms->st.records++;
		ms->st.bytes += e->json_len + e->payload_len;
	}
	ms->meta = *m;
	ms->has_meta = true;
	return EDS_OK;
}

static eds_status mem_shed_candidates(void *s, agent_shed *out, size_t max, size_t *n)
{
	mem_store *ms = s;
	*n = 0;
	for (size_t i = ms->first; i < ms->len && *n < max; i++) {
		agent_entry *e = &ms->v[i];
		if (is_gone(e) || !e->has_payload)
			continue;
		out[*n].seq = e->record.sequence;
		memcpy(out[*n].payload_hash, e->record.payload_hash, EDS_HASH_LEN);
		out[*n].payload_len = e->payload_len;
		(*n)++;
	}
	return EDS_OK;
}

static eds_status mem_peek(void *s, bool want_sent, size_t max, size_t max_bytes, agent_entry **out,
                           size_t *n)
{
	mem_store *ms = s;
	*n = 0;
	*out = calloc(max ? max : 1, sizeof **out);
	if (!*out)
		return eds_fail(EDS_E_NOMEM, "memory store: out of memory");
	size_t bytes = 0;
	for (size_t i = ms->first; i < ms->len && *n < max; i++) {
		const agent_entry *e = &ms->v[i];
		if (is_gone(e) || e->sent != want_sent)
			continue;
		size_t pl = e->has_payload ? e->payload_len : 0;
		if (*n > 0 && bytes + pl > max_bytes)
			break;
		agent_entry *o = &(*out)[*n];
		*o = *e;
		o->payload = malloc(pl ? pl : 1);
		if (!o->payload) {
			agent_entries_free(*out, *n);
			*out = NULL;
			*n = 0;
			return eds_fail(EDS_E_NOMEM, "memory store: out of memory");
		}
		if (pl)
			memcpy(o->payload, e->payload, pl);
		bytes += pl;
		(*n)++;
	}
	return EDS_OK;
}

static eds_status mem_mark_sent(void *s, uint64_t upto, bool with_payloads)
{
	mem_store *ms = s;
	ms->meta.server_seq = upto;
	ms->meta.server_known = true;
	for (size_t i = ms->first; i < ms->len && ms->v[i].record.sequence <= upto; i++) {
		agent_entry *e = &ms->v[i];
		if (is_gone(e) || e->sent)
			continue;
		if (!e->has_payload || with_payloads) {
			gone(ms, e);
			continue;
		}
		e->sent = true;
		ms->st.pending++;
	}
	return EDS_OK;
}

static eds_status mem_remove(void *s, uint64_t seq)
{
	mem_store *ms = s;
	agent_entry *e = find(ms, seq);
	if (e && !is_gone(e))
		gone(ms, e);
	return EDS_OK;
}

static eds_status mem_stats(void *s, agent_stats *st)
{
	mem_store *ms = s;
	*st = ms->st;
	st->oldest_seq = st->oldest_ts = 0;
	for (size_t i = ms->first; i < ms->len; i++)
		if (!is_gone(&ms->v[i]) && !ms->v[i].sent) {
			st->oldest_seq = ms->v[i].record.sequence;
			st->oldest_ts = ms->v[i].record.timestamp_ms;
			break;
		}
	return EDS_OK;
}

static eds_status mem_sync(void *s)
{
	(void)s;
	return EDS_OK;
}

static void mem_close(void *s)
{
	mem_store *ms = s;
	for (size_t i = ms->first; i < ms->len; i++)
		free(ms->v[i].payload);
	free(ms->v);
	free(ms);
}

static const agent_store_ops mem_ops = {
    mem_load_meta, mem_commit, mem_shed_candidates, mem_peek, mem_mark_sent, mem_remove,
    mem_stats,     mem_sync,   mem_close,
};

eds_status agent_store_memory_open(agent_store *out)
{
	mem_store *ms = calloc(1, sizeof *ms);
	if (!ms)
		return eds_fail(EDS_E_NOMEM, "memory store: out of memory");
	out->ops = &mem_ops;
	out->s = ms;
	return EDS_OK;
}

void agent_entries_free(agent_entry *e, size_t n)
{
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		free(e[i].payload);
	free(e);
}
