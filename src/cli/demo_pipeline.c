/*
 * demo_pipeline.c - the second half of `eds demo` (see demo_pipeline.h):
 * device -> agent queue -> HTTP ingest server -> durable ledger -> auditor,
 * in one process on loopback, so `make demo` needs no server set up.
 *
 * Every step checks its own outcome and clears p->ok when the system did
 * not behave as documented, so the demo doubles as an end-to-end smoke test
 * (tests/cli/test_demo.sh runs it).
 */
#include "demo_pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "edgesentry/edgesentry.h"
#include "edgesentry/http_server.h"
#include "edgesentry/ingest.h"
#include "edgesentry/ledger.h"
#include "edgesentry/netpolicy.h"
#include "internal.h"

#define DEVS     DEMO_PIPELINE_DEVICES
#define READINGS 8 /* per device: 4 while the uplink is down, 4 after a restart */
#define OFFLINE  4
#define ATTACKER "lift-99"

typedef struct sent {
	eds_record rec;
	uint8_t hash[EDS_HASH_LEN];
	char payload[128];
	size_t len;
} sent;

typedef struct pipeline {
	const char *dir;
	const char *const *ids;
	const eds_secret_key *keys;
	bool text;
	bool ok;
	json_t *out; /* the "pipeline" report object */
	eds_ledger *ledger;
	eds_ingest *svc;
	eds_netpolicy *policy;
	eds_server *server;
	char url[64];
	eds_agent *agents[DEVS];
	sent sent[DEVS][READINGS];
} pipeline;

static void say(const pipeline *p, const char *fmt, ...) EDS_PRINTF(2, 3);
static void say(const pipeline *p, const char *fmt, ...)
{
	va_list ap;
	if (!p->text)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* A step that did not behave as documented: say so and fail the demo. */
static void expect(pipeline *p, bool cond, const char *what)
{
	if (!cond) {
		p->ok = false;
		say(p, "   UNEXPECTED: %s\n", what);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static eds_status path_of(char buf[PATH_MAX], const char *dir, const char *a, const char *b)
{
	int n = b != NULL ? snprintf(buf, PATH_MAX, "%s/%s/%s", dir, a, b)
	                  : snprintf(buf, PATH_MAX, "%s/%s", dir, a);
	if (n < 0 || n >= PATH_MAX)
		return eds_fail(EDS_E_LIMIT, "%s/%s: path too long", dir, a);
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return eds_fail(EDS_E_IO, "%s: cannot create: %s", buf, strerror(errno));
	return EDS_OK;
}

/* ---- the server: ledger, gate, allowlist, HTTP on 127.0.0.1 ---------------- */

static eds_status register_devices(pipeline *p)
{
	for (size_t i = 0; i < DEVS; i++) {
		eds_public_key pk;
		eds_secret_key_public(&p->keys[i], &pk);
		eds_status st = eds_ledger_device_add(p->ledger, p->ids[i], &pk);
		if (st != EDS_OK)
			return st;
	}
	return EDS_OK;
}

static eds_status start_server(pipeline *p)
{
	char dir[PATH_MAX];
	eds_status st = path_of(dir, p->dir, "server", NULL);
	if (st == EDS_OK)
		st = eds_ledger_open(&p->ledger, dir, NULL);
	if (st == EDS_OK)
		st = register_devices(p);
	if (st == EDS_OK)
		st = eds_ingest_new(&p->svc, p->ledger, NULL);
	/* Deny by default: only the gateway's own address is on the list. */
	if (st == EDS_OK)
		st = eds_netpolicy_new(&p->policy);
	if (st == EDS_OK)
		st = eds_netpolicy_add(p->policy, "127.0.0.1/32");
	eds_server_options so = {.listen = "127.0.0.1:0"};
	if (st == EDS_OK)
		st = eds_server_start(&p->server, p->svc, p->policy, &so);
	if (st != EDS_OK)
		return st;
	snprintf(p->url, sizeof p->url, "http://127.0.0.1:%u",
	         (unsigned)eds_server_port(p->server));
	say(p,
	    "5. Ingest server on %s: durable ledger in server/, allowlist 127.0.0.1/32\n"
	    "   (deny by default: any other address is refused)\n",
	    p->url + 7);
	return EDS_OK;
}

static void stop_server(pipeline *p)
{
	eds_server_stop(p->server, 1000);
	eds_ingest_free(p->svc);
	eds_netpolicy_free(p->policy);
	eds_ledger_close(p->ledger);
	p->server = NULL;
	p->svc = NULL;
	p->policy = NULL;
	p->ledger = NULL;
}

/* ---- the devices: agents with crash-safe state and an offline queue -------- */

static eds_status open_agent(pipeline *p, size_t i)
{
	char dir[PATH_MAX];
	eds_status st = path_of(dir, p->dir, "agents", NULL);
	if (st == EDS_OK)
		st = path_of(dir, p->dir, "agents", p->ids[i]);
	eds_signer signer = {0};
	if (st == EDS_OK)
		st = eds_signer_from_key(&signer, &p->keys[i]);
	eds_agent_options o;
	eds_agent_options_init(&o);
	o.device_id = p->ids[i];
	if (st == EDS_OK)
		st = eds_agent_open(&p->agents[i], dir, &signer, &o);
	if (st != EDS_OK)
		eds_signer_close(&signer); /* the agent owns it only on success */
	return st;
}

static void close_agents(pipeline *p)
{
	for (size_t i = 0; i < DEVS; i++) {
		eds_agent_close(p->agents[i]);
		p->agents[i] = NULL;
	}
}

static eds_status record_readings(pipeline *p, size_t i, size_t from, size_t to)
{
	for (size_t k = from; k < to; k++) {
		sent *s = &p->sent[i][k];
		/* lift-02's last reading is the failed load test a tamperer would hide */
		bool fails = i == 1 && k == READINGS - 1;
		int n =
		    snprintf(s->payload, sizeof s->payload,
		             "{\"lift\":\"%s\",\"reading\":%zu,\"load_kg\":%zu,\"result\":\"%s\"}",
		             p->ids[i], k + 1, 400 + 50 * k, fails ? "fail" : "pass");
		s->len = (size_t)n;
		eds_status st = eds_agent_record(p->agents[i], (const uint8_t *)s->payload, s->len,
		                                 "", &s->rec);
		if (st == EDS_OK)
			st = eds_record_compute_hash(&s->rec, s->hash);
		if (st != EDS_OK)
			return st;
	}
	return EDS_OK;
}

static eds_status agent_status(pipeline *p, size_t i, eds_agent_status *st)
{
	return eds_agent_get_status(p->agents[i], st);
}

/* One forwarding attempt against url; returns the forwarder's status. */
static eds_status forward_to(pipeline *p, size_t i, const char *url, bool until_empty)
{
	eds_http_transport_options ho = {.url = url, .timeout_ms = 2000};
	eds_transport t = {0};
	eds_status st = eds_transport_http(&t, &ho);
	if (st != EDS_OK)
		return st;
	eds_forward_options fo;
	eds_forward_options_init(&fo);
	/* At most READINGS records, so a bounded number of steps empties the queue. */
	for (int step = 0; step < 4 * READINGS; step++) {
		st = eds_agent_forward_once(p->agents[i], &t, &fo, NULL);
		if (st != EDS_OK || !until_empty)
			break;
	}
	eds_transport_close(&t);
	return st;
}

static eds_status offline_phase(pipeline *p)
{
	say(p, "6. Device agents sign readings into crash-safe chains and queue them until the\n"
	       "   server confirms them (agents/<device>/)\n");
	for (size_t i = 0; i < DEVS; i++) {
		eds_status st = open_agent(p, i);
		if (st == EDS_OK)
			st = record_readings(p, i, 0, OFFLINE);
		if (st != EDS_OK)
			return st;
		/* Nothing listens on port 1: the uplink is down. */
		eds_status down = forward_to(p, i, "http://127.0.0.1:1", false);
		expect(p, down != EDS_OK && down != EDS_DONE,
		       "forwarding reported success with the uplink down");
		eds_agent_status as;
		if ((st = agent_status(p, i, &as)) != EDS_OK)
			return st;
		say(p, "   %s: uplink down: %" PRIu64 " readings signed and queued durably\n",
		    p->ids[i], as.queued_records);
		expect(p, as.queued_records == OFFLINE && as.delivered_records == 0,
		       "records left the queue while the uplink was down");
	}
	return EDS_OK;
}

static eds_status restart_phase(pipeline *p)
{
	close_agents(p);
	say(p, "   power cut: both agents restart from their state\n");
	for (size_t i = 0; i < DEVS; i++) {
		eds_agent_status as;
		eds_status st = open_agent(p, i);
		if (st == EDS_OK)
			st = agent_status(p, i, &as);
		if (st != EDS_OK)
			return st;
		expect(p, as.queued_records == OFFLINE && as.head_sequence == OFFLINE,
		       "queue or chain head lost across the restart");
		if ((st = record_readings(p, i, OFFLINE, READINGS)) != EDS_OK)
			return st;
		say(p,
		    "   %s: %" PRIu64 " still queued; 4 more readings signed from sequence %d on\n",
		    p->ids[i], as.queued_records, OFFLINE + 1);
	}
	return EDS_OK;
}

static eds_status deliver_phase(pipeline *p, uint64_t *delivered)
{
	*delivered = 0;
	for (size_t i = 0; i < DEVS; i++) {
		eds_agent_status as;
		eds_status st = forward_to(p, i, p->url, true);
		if (st != EDS_DONE && st != EDS_OK)
			return st;
		if ((st = agent_status(p, i, &as)) != EDS_OK)
			return st;
		say(p,
		    "   %s: uplink back: %" PRIu64
		    " records confirmed durable by the server, %" PRIu64 " left in the queue\n",
		    p->ids[i], as.delivered_records, as.queued_records);
		expect(p, as.delivered_records == READINGS && as.queued_records == 0,
		       "not every record was delivered");
		*delivered += as.delivered_records;
	}
	return EDS_OK;
}

/* ---- attacks on the gate ----------------------------------------------------- */

typedef struct attack {
	const char *name;
	const char *story;
	eds_ingest_outcome expect;
	eds_record rec;
	const char *payload;
	size_t len;
} attack;

static eds_status sign_new(eds_record *r, const char *id, uint64_t seq, const char *payload,
                           const uint8_t prev[EDS_HASH_LEN], const eds_secret_key *sk)
{
	eds_status st = eds_record_init(r, id, seq, now_ms(), (const uint8_t *)payload,
	                                strlen(payload), prev, "");
	return st != EDS_OK ? st : eds_record_sign(r, sk);
}

static attack make_attack(const char *name, const char *story, eds_ingest_outcome expect,
                          const eds_record *rec, const char *payload, size_t len)
{
	attack a = {.name = name, .story = story, .expect = expect, .payload = payload, .len = len};
	if (rec != NULL)
		a.rec = *rec;
	return a;
}

/* All on lift-02, whose last reading is the failed load test. */
static eds_status make_attacks(pipeline *p, attack *a, const eds_secret_key *stranger)
{
	const sent *last = &p->sent[1][READINGS - 1], *prev = &p->sent[1][READINGS - 2];
	static const char pass[] = "{\"lift\":\"lift-02\",\"reading\":8,\"load_kg\":750,"
	                           "\"result\":\"pass\"}";
	const size_t plen = sizeof pass - 1;
	a[0] = make_attack("swapped-payload", "the failed load test's payload swapped for a pass",
	                   EDS_INGEST_PAYLOAD_MISMATCH, &last->rec, pass, plen);
	a[1] =
	    make_attack("rewritten-history", "record 8 re-signed with the device key, now a pass",
	                EDS_INGEST_FORK, NULL, pass, plen);
	a[2] = make_attack("back-dated", "record 8 moved an hour earlier after signing",
	                   EDS_INGEST_BAD_SIGNATURE, &last->rec, last->payload, last->len);
	a[2].rec.timestamp_ms -= 3600000;
	a[3] = make_attack("hidden-record", "record 9 withheld, record 10 sent",
	                   EDS_INGEST_SEQUENCE_GAP, NULL, pass, plen);
	a[4] = make_attack("unknown-device", "a record from a device nobody registered",
	                   EDS_INGEST_UNKNOWN_DEVICE, NULL, pass, plen);
	a[5] = make_attack("replay", "record 8 sent again, byte for byte (harmless retry)",
	                   EDS_INGEST_DUPLICATE, &last->rec, last->payload, last->len);
	eds_status st = sign_new(&a[1].rec, p->ids[1], READINGS, pass, prev->hash, &p->keys[1]);
	if (st == EDS_OK)
		st = sign_new(&a[3].rec, p->ids[1], READINGS + 2, pass, last->hash, &p->keys[1]);
	if (st == EDS_OK)
		st = sign_new(&a[4].rec, ATTACKER, 1, pass, NULL, stranger);
	return st;
}

#define ATTACKS 6

static void report_attack(pipeline *p, json_t *list, const attack *a, const char *got,
                          bool as_expected)
{
	say(p, "   %-18s %-52s -> %s%s\n", a->name, a->story, got,
	    as_expected ? "" : "  (UNEXPECTED)");
	json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "case", a->name, "expected",
	                      eds_ingest_code(a->expect), "got", got, "as_expected", as_expected);
	if (o != NULL)
		json_array_append_new(list, o);
	if (!as_expected)
		p->ok = false;
}

static eds_status attack_phase(pipeline *p)
{
	attack a[ATTACKS];
	eds_secret_key stranger;
	eds_status st = eds_secret_key_generate(&stranger);
	if (st == EDS_OK)
		st = make_attacks(p, a, &stranger);
	eds_secret_key_wipe(&stranger);
	if (st != EDS_OK)
		return st;
	json_t *list = json_array();
	say(p,
	    "7. Attacks on the server's integrity gate: none gets anything new into the ledger\n");
	const eds_ingest_context ctx = {.source = "127.0.0.1"};
	for (size_t k = 0; k < ATTACKS; k++) {
		eds_ingest_item it = {a[k].rec, (const uint8_t *)a[k].payload, a[k].len};
		eds_ingest_result r;
		if ((st = eds_ingest_submit(p->svc, &ctx, &it, 1, &r)) != EDS_OK)
			break;
		report_attack(p, list, &a[k], eds_ingest_code(r.outcome), r.outcome == a[k].expect);
	}
	/* The allowlist decides from the peer address before a body is read. */
	attack outsider =
	    make_attack("outside-address", "a request from 203.0.113.7 (not on the list)",
	                EDS_INGEST_FORBIDDEN_SOURCE, NULL, NULL, 0);
	bool refused = !eds_netpolicy_allows_text(p->policy, "203.0.113.7");
	if (st == EDS_OK)
		report_attack(p, list, &outsider,
		              refused ? eds_ingest_code(EDS_INGEST_FORBIDDEN_SOURCE) : "allowed",
		              refused);
	json_object_set_new(p->out, "attacks", list);
	return st;
}

/* ---- the auditor: re-verify the ledger offline -------------------------------- */

/* Verification failures are recorded by the verifier; only a fatal error stops. */
static eds_status add_record(void *ctx, const eds_ledger_record *r)
{
	eds_status st = eds_chain_verifier_add(ctx, &r->record);
	return st == EDS_E_NOMEM || st == EDS_E_LIMIT ? st : EDS_OK;
}

/* Verify every record of the ledger at dir as an outside auditor would: read-only. */
static eds_status audit(const char *dir, eds_chain_summary *sum, eds_chain_failure *first)
{
	eds_ledger *l = NULL;
	eds_registry *reg = NULL;
	eds_chain_verifier *v = NULL;
	char *json = NULL;
	eds_ledger_options lo = {.durable = 1, .must_exist = 1, .read_only = 1};
	eds_status st = eds_ledger_open(&l, dir, &lo);
	if (st == EDS_OK)
		st = eds_ledger_registry_json(l, &json);
	if (st == EDS_OK)
		st = eds_registry_parse(&reg, json, strlen(json));
	eds_chain_options co = {.registry = reg,
	                        .payload_dir = l != NULL ? eds_ledger_payload_dir(l) : NULL};
	if (st == EDS_OK)
		st = eds_chain_verifier_new(&v, &co);
	if (st == EDS_OK)
		st = eds_ledger_record_foreach(l, add_record, v);
	if (st == EDS_OK) {
		eds_chain_verifier_summary(v, sum);
		memset(first, 0, sizeof *first);
		const eds_chain_failure *list = NULL;
		if (eds_chain_verifier_failures(v, &list) > 0)
			*first = list[0];
	}
	eds_chain_verifier_free(v);
	eds_registry_free(reg);
	free(json);
	eds_ledger_close(l);
	return st;
}

/* An insider with disk access edits lift-02's stored failed load test. */
static eds_status insider_edit(pipeline *p, const char *ledger_dir)
{
	char root[PATH_MAX], file[PATH_MAX];
	const sent *s = &p->sent[1][READINGS - 1];
	if (snprintf(root, sizeof root, "%s/payloads", ledger_dir) >= (int)sizeof root)
		return eds_fail(EDS_E_LIMIT, "%s: path too long", ledger_dir);
	eds_status st = eds_payload_path(file, sizeof file, root, s->rec.payload_hash);
	if (st != EDS_OK)
		return st;
	char edited[sizeof s->payload];
	memcpy(edited, s->payload, sizeof edited); /* NUL-terminated by snprintf */
	char *verdict = strstr(edited, "\"fail\"");
	if (verdict == NULL)
		return eds_fail(EDS_E_INTERNAL, "demo: lift-02's last reading is not a failure");
	memcpy(verdict, "\"pass\"", 6);
	/* Stored payloads are read-only; an insider just changes that first. */
	if (chmod(file, 0600) != 0)
		return eds_fail(EDS_E_IO, "%s: %s", file, strerror(errno));
	FILE *f = fopen(file, "wb");
	if (f == NULL)
		return eds_fail(EDS_E_IO, "%s: %s", file, strerror(errno));
	bool ok = fwrite(edited, 1, s->len, f) == s->len;
	if (fclose(f) != 0 || !ok)
		return eds_fail(EDS_E_IO, "%s: cannot write", file);
	return EDS_OK;
}

static void audit_json(pipeline *p, const char *key, const eds_chain_summary *s)
{
	json_object_set_new(p->out, key,
	                    json_pack("{s:I, s:I, s:I, s:I}", "records", (json_int_t)s->records,
	                              "devices", (json_int_t)s->devices, "signatures_checked",
	                              (json_int_t)s->signatures_checked, "devices_failed",
	                              (json_int_t)s->devices_failed));
}

static eds_status audit_phase(pipeline *p)
{
	char dir[PATH_MAX];
	eds_chain_summary s;
	eds_chain_failure f;
	snprintf(dir, sizeof dir, "%s/server", p->dir);
	say(p, "8. An auditor re-verifies the ledger offline (server stopped; only the registry,\n"
	       "   the records and the payload files)\n");
	eds_status st = audit(dir, &s, &f);
	if (st != EDS_OK)
		return st;
	say(p,
	    "   %" PRIu64 " records of %" PRIu64 " devices: %" PRIu64 " signatures and %" PRIu64
	    " payloads check out, %" PRIu64 " devices failed\n",
	    s.records, s.devices, s.signatures_checked, s.payloads_checked, s.devices_failed);
	expect(p,
	       s.records == DEVS * READINGS && s.devices_failed == 0 &&
	           s.signatures_checked == DEVS * READINGS,
	       "the audit of the genuine ledger did not come out clean");
	audit_json(p, "audit", &s);
	if ((st = insider_edit(p, dir)) != EDS_OK || (st = audit(dir, &s, &f)) != EDS_OK)
		return st;
	bool caught =
	    s.devices_failed == 1 && strcmp(f.device_id, p->ids[1]) == 0 && f.sequence == READINGS;
	say(p, "   an insider edits lift-02's stored load test to \"pass\" on the server's disk\n");
	if (s.devices_failed > 0)
		say(p, "         FAIL device=%s sequence=%" PRIu64 " reason=%s: %s\n", f.device_id,
		    f.sequence, eds_chain_reason_code(f.reason), f.message);
	say(p, "         -> %s\n", caught ? "DETECTED" : "NOT DETECTED");
	expect(p, caught, "the insider's edit went undetected");
	audit_json(p, "audit_after_insider_edit", &s);
	json_object_set_new(p->out, "insider_edit_detected", json_boolean(caught));
	return EDS_OK;
}

/* The ledger's heads must be where the devices themselves say their chains end. */
static void compare_heads(pipeline *p)
{
	for (size_t i = 0; i < DEVS; i++) {
		eds_agent_status as;
		uint64_t seq = 0;
		uint8_t hash[EDS_HASH_LEN];
		bool same = agent_status(p, i, &as) == EDS_OK &&
		            eds_ingest_head(p->svc, p->ids[i], &seq, hash) == EDS_OK &&
		            seq == as.head_sequence &&
		            memcmp(hash, as.head_hash, EDS_HASH_LEN) == 0;
		expect(p, same, "the server's chain head differs from the device's");
	}
}

static eds_status run(pipeline *p, uint64_t *delivered)
{
	eds_status st = start_server(p);
	if (st == EDS_OK)
		st = offline_phase(p);
	if (st == EDS_OK)
		st = restart_phase(p);
	if (st == EDS_OK)
		st = deliver_phase(p, delivered);
	if (st == EDS_OK)
		compare_heads(p);
	if (st == EDS_OK)
		st = attack_phase(p);
	close_agents(p);
	stop_server(p);
	return st == EDS_OK ? audit_phase(p) : st;
}

eds_status demo_pipeline_run(const char *dir, const char *const ids[DEMO_PIPELINE_DEVICES],
                             const eds_secret_key keys[DEMO_PIPELINE_DEVICES], bool text,
                             json_t *report, bool *ok)
{
	pipeline *p = calloc(1, sizeof *p);
	json_t *out = json_object();
	if (p == NULL || out == NULL) {
		free(p);
		json_decref(out);
		return eds_fail(EDS_E_NOMEM, "out of memory");
	}
	*p = (pipeline){.dir = dir, .ids = ids, .keys = keys, .text = text, .ok = true, .out = out};
	uint64_t delivered = 0;
	eds_status st = run(p, &delivered);
	*ok = st == EDS_OK && p->ok;
	json_object_set_new(out, "delivered", json_integer((json_int_t)delivered));
	json_object_set_new(out, "ok", json_boolean(*ok));
	if (report != NULL)
		json_object_set_new(report, "pipeline", out);
	else
		json_decref(out);
	free(p);
	return st;
}
