/*
 * cmd_update_verify.c - the device side of `eds update`: verify (native and
 * --legacy), commit, and decisions signed into the device's audit chain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "update_cli.h"

/* ---- evidence: each decision as the device's next ESR1 record ---- */

static int evidence_args(const upd_args *a)
{
	if (a->evidence_chain == NULL && a->agent_state == NULL) {
		if (a->n_keys || a->device || a->evidence_payload_dir)
			return cli_usage(a->cmd, "--key, --device and --evidence-payload-dir need "
			                         "--agent-state or --evidence-chain");
		return EDS_EXIT_OK;
	}
	if (a->evidence_chain != NULL && a->agent_state != NULL)
		return cli_usage(a->cmd, "give --agent-state or --evidence-chain, not both");
	if (a->agent_state != NULL && a->evidence_payload_dir != NULL)
		return cli_usage(a->cmd, "--evidence-payload-dir goes with --evidence-chain (the "
		                         "agent queues the payload with its record)");
	if (a->n_keys != 1 || a->device == NULL)
		return cli_usage(a->cmd, "%s needs one --key and --device",
		                 a->agent_state ? "--agent-state" : "--evidence-chain");
	return EDS_EXIT_OK;
}

/* The decision record's payload: compact JSON, keys in a fixed order. */
static int decision_json(char *out, size_t cap, const eds_update_manifest *m, const char *reason,
                         const uint8_t mhash[32])
{
	char hex[65];
	eds_hex_encode(hex, mhash, 32);
	int n = snprintf(out, cap,
	                 "{\"event\":\"update-decision\",\"decision\":\"%s\",\"reason\":\"%s\","
	                 "\"package\":\"%s\",\"version\":\"%s\",\"security_version\":%llu,"
	                 "\"manifest_hash\":\"%s\"}",
	                 strcmp(reason, "accept") == 0 ? "accept" : "reject", reason, m->package,
	                 m->version, (unsigned long long)m->security_version, hex);
	return n > 0 && (size_t)n < cap ? n : -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Append the decision to the --evidence-chain file (no agent on this device). */
static int decision_to_chain(const upd_args *a, const char *payload, size_t n, const char *ref)
{
	eds_record r;
	eds_secret_key sk;
	uint8_t ph[32];
	eds_status st;
	if (a->evidence_payload_dir != NULL &&
	    (st = eds_payload_put(a->evidence_payload_dir, (const uint8_t *)payload, n, ph)) !=
	        EDS_OK)
		return cli_report(a->cmd, st, "evidence payload");
	if ((st = eds_record_init(&r, a->device, 1, now_ms(), (const uint8_t *)payload, n, NULL,
	                          ref)) != EDS_OK ||
	    (st = eds_secret_key_load(&sk, a->keys[0])) != EDS_OK)
		return cli_report(a->cmd, st, "evidence");
	int rc = cli_chain_append(a->cmd, a->evidence_chain, &r, &sk);
	eds_secret_key_wipe(&sk);
	if (rc == EDS_EXIT_OK)
		printf("evidence: %s sequence %llu appended to %s\n", a->device,
		       (unsigned long long)r.sequence, a->evidence_chain);
	return rc;
}

/*
 * Sign the decision into the agent's chain and queue (one transaction, as
 * for a reading), so `eds agent` forwards it with the device's readings.
 */
static int decision_to_agent(const upd_args *a, const char *payload, size_t n, const char *ref)
{
	eds_signer sg = {0};
	eds_agent *ag = NULL;
	eds_agent_options o;
	eds_record r;
	eds_agent_options_init(&o);
	o.device_id = a->device;
	eds_status st = eds_signer_from_key_file(&sg, a->keys[0]);
	if (st == EDS_OK && (st = eds_agent_open(&ag, a->agent_state, &sg, &o)) != EDS_OK)
		eds_signer_close(&sg);
	if (st == EDS_OK) {
		st = eds_agent_record(ag, (const uint8_t *)payload, n, ref, &r);
		eds_agent_close(ag);
	}
	if (st != EDS_OK)
		return cli_report(a->cmd, st, "evidence");
	printf("evidence: %s sequence %llu queued in agent state %s\n", a->device,
	       (unsigned long long)r.sequence, a->agent_state);
	return EDS_EXIT_OK;
}

/* Sign the decision as evidence; returns an exit code (0 when not configured). */
static int record_decision(const upd_args *a, const eds_update_manifest *m, const char *reason,
                           const uint8_t mhash[32])
{
	char payload[1024], ref[EDS_OBJECT_REF_MAX + 1], hex[65];
	if (a->evidence_chain == NULL && a->agent_state == NULL)
		return EDS_EXIT_OK;
	int n = decision_json(payload, sizeof payload, m, reason, mhash);
	if (n < 0)
		return cli_report(a->cmd, eds_fail(EDS_E_LIMIT, "decision record too long"), NULL);
	eds_hex_encode(hex, mhash, 32);
	snprintf(ref, sizeof ref, "%s/update/%.16s-%s.json", a->device, hex, reason);
	return a->agent_state ? decision_to_agent(a, payload, (size_t)n, ref)
	                      : decision_to_chain(a, payload, (size_t)n, ref);
}

/* ---- verify ---- */

/* Device state: loaded, or created for --hardware on first use. */
static int load_state(const upd_args *a, eds_update_state *s)
{
	eds_status st = eds_update_state_load(s, a->state);
	if (st == EDS_E_NOT_FOUND) {
		if (a->hardware == NULL)
			return cli_usage(a->cmd, "%s holds no update state yet: give --hardware HW",
			                 a->state);
		memset(s, 0, sizeof *s);
		if (strlen(a->hardware) > EDS_UPDATE_TARGET_MAX)
			return cli_usage(a->cmd, "--hardware: at most %d characters",
			                 EDS_UPDATE_TARGET_MAX);
		memcpy(s->hardware_id, a->hardware, strlen(a->hardware) + 1);
		if (mkdir(a->state, 0700) != 0 && errno != EEXIST)
			st = eds_fail(EDS_E_IO, "%s: %s", a->state, strerror(errno));
		else
			st = eds_update_state_save(s, a->state);
	} else if (st == EDS_OK && a->hardware != NULL &&
	           strcmp(a->hardware, s->hardware_id) != 0) {
		return cli_usage(a->cmd, "--hardware %s differs from %s in %s", a->hardware,
		                 s->hardware_id, a->state);
	}
	return st == EDS_OK ? EDS_EXIT_OK : cli_report(a->cmd, st, NULL);
}

static int clock_policy(const upd_args *a, eds_update_policy *p)
{
	if (a->now != NULL && a->trusted_clock)
		return cli_usage(a->cmd, "give --now or --trusted-clock, not both");
	p->trusted_clock = a->now != NULL || a->trusted_clock;
	if (a->trusted_clock)
		p->now_ms = now_ms();
	return a->now != NULL ? upd_parse_int(a->cmd, "--now", a->now, &p->now_ms) : EDS_EXIT_OK;
}

static void report_accept(const upd_args *a, const eds_update_manifest *m,
                          const eds_update_result *res, const eds_update_policy *p)
{
	char hex[65];
	eds_hex_encode(hex, res->manifest_hash, 32);
	printf("accepted: %s %s (security version %llu) for %s\n", m->package, m->version,
	       (unsigned long long)m->security_version, p->hardware_id);
	printf("manifest_hash: %s\n", hex);
	printf("signatures: %u valid, %u unknown key(s) ignored, %u duplicate, %u invalid\n",
	       res->sigs.valid, res->sigs.unknown, res->sigs.duplicate, res->sigs.invalid);
	if (!p->trusted_clock)
		printf("expiry: not checked (no trusted clock); issue time checked against the "
		       "newest installed manifest\n");
	printf("pending: run 'eds update commit --state %s' once the install is confirmed\n",
	       a->state);
}

/*
 * After a decision: record it, then remember an accepted manifest as
 * pending.  An accept that could not be recorded as evidence is not acted
 * on (the device must not install what its audit chain does not show).
 */
static int conclude(const upd_args *a, const eds_update_manifest *m, eds_update_state *s,
                    const eds_update_result *res, const eds_update_policy *p)
{
	const char *reason = eds_update_reason_name(res->reason);
	int rc = record_decision(a, m, reason, res->manifest_hash);
	if (res->reason != EDS_UPDATE_ACCEPT) {
		fprintf(stderr, "eds %s: rejected (%s): %s\n", a->cmd, reason, res->detail);
		return 10 + (int)res->reason;
	}
	if (rc != EDS_EXIT_OK)
		return rc;
	s->has_pending = 1;
	memcpy(s->pending_hash, res->manifest_hash, 32);
	s->pending_security_version = m->security_version;
	s->pending_issued_ms = m->issued_ms;
	eds_status st = eds_update_state_save(s, a->state);
	if (st != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	report_accept(a, m, res, p);
	return EDS_EXIT_OK;
}

/* Pin or rotate the trust policy; a refusal is a decision too (exit 18). */
static int pin_trust(const upd_args *a, const eds_update_manifest *m, eds_update_trust *t)
{
	eds_update_trust offered;
	int changed;
	eds_status st = eds_update_trust_load(&offered, a->trust);
	if (st != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	st = eds_update_trust_pin(a->state, &offered, t, &changed);
	if (st == EDS_E_SEQUENCE || st == EDS_E_PREV_HASH || st == EDS_E_SIGNATURE) {
		char detail[512];
		uint8_t h[32] = {0};
		snprintf(detail, sizeof detail, "%s", eds_last_error());
		if (eds_update_manifest_hash(m, h) == EDS_OK)
			record_decision(a, m, "trust", h);
		fprintf(stderr, "eds %s: rejected (trust): %s: %s\n", a->cmd, a->trust, detail);
		return UPD_EXIT_TRUST;
	}
	if (st != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	if (changed)
		printf("trust: pinned policy serial %llu (%zu keys, threshold %u)\n",
		       (unsigned long long)t->serial, t->n_keys, t->threshold);
	return EDS_EXIT_OK;
}

static int verify_legacy(const upd_args *a);

int update_verify(const upd_args *a)
{
	eds_update_manifest m;
	eds_update_trust t;
	eds_update_state s;
	eds_update_policy p = {0};
	eds_update_result res;
	eds_status st;
	if (a->legacy)
		return verify_legacy(a);
	if (!a->manifest || !a->image || !a->trust || !a->state)
		return cli_usage(a->cmd, "--manifest, --image, --trust and --state are required");
	if (a->signature || a->hash || a->public_key)
		return cli_usage(a->cmd, "--signature, --hash and --public-key go with --legacy");
	int rc = evidence_args(a);
	if (rc != EDS_EXIT_OK || (rc = clock_policy(a, &p)) != EDS_EXIT_OK)
		return rc;
	if ((st = eds_update_manifest_load(&m, a->manifest)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	if ((rc = load_state(a, &s)) != EDS_EXIT_OK || (rc = pin_trust(a, &m, &t)) != EDS_EXIT_OK)
		return rc;
	p.hardware_id = s.hardware_id;
	p.min_security_version = s.min_security_version;
	p.last_issued_ms = s.last_issued_ms;
	if ((st = eds_update_verify(&m, &t, &p, a->image, &res)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	return conclude(a, &m, &s, &res, &p);
}

/* --signature: 128 hex digits, or a file holding them (trailing newline allowed). */
static eds_status legacy_signature(const char *arg, uint8_t sig[64])
{
	size_t n = strlen(arg);
	if (n == 128 && eds_hex_decode(sig, 64, arg, n) == EDS_OK)
		return EDS_OK;
	char *text;
	eds_status st = eds_read_file(arg, 1024, &text, &n);
	if (st != EDS_OK)
		return st;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	st = n == 128 ? eds_hex_decode(sig, 64, text, n) : EDS_E_MALFORMED;
	free(text);
	return st == EDS_OK ? st : eds_fail(EDS_E_MALFORMED, "%s: must hold 128 hex digits", arg);
}

static int verify_legacy(const upd_args *a)
{
	uint8_t sig[64], hash[32];
	eds_public_key pk;
	eds_status st;
	if (!a->image || !a->signature || !a->hash || !a->public_key)
		return cli_usage(a->cmd,
		                 "--legacy needs --image, --signature, --hash and --public-key");
	if (a->manifest || a->trust || a->state || a->now || a->trusted_clock || a->hardware ||
	    a->evidence_chain || a->agent_state || a->n_keys || a->device ||
	    a->evidence_payload_dir)
		return cli_usage(a->cmd, "--legacy takes only --image, --signature, --hash and "
		                         "--public-key");
	if (strlen(a->hash) != 64 || eds_hex_decode(hash, 32, a->hash, 64) != EDS_OK)
		return cli_usage(a->cmd, "--hash: must be 64 hex digits");
	if ((st = legacy_signature(a->signature, sig)) != EDS_OK ||
	    (st = eds_public_key_load(&pk, a->public_key)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	printf("warning: legacy update check: the signature covers only the image hash; the "
	       "version, target and rollback are NOT protected\n");
	fflush(stdout);
	st = eds_update_verify_legacy(a->image, hash, sig, &pk);
	if (st == EDS_E_HASH_MISMATCH || st == EDS_E_SIGNATURE) {
		fprintf(stderr, "eds %s: rejected (%s): %s\n", a->cmd,
		        st == EDS_E_SIGNATURE ? "signature" : "hash", eds_last_error());
		return st == EDS_E_SIGNATURE ? UPD_EXIT_LEGACY_SIGNATURE : 10 + EDS_UPDATE_HASH;
	}
	if (st != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	printf("accepted (legacy): image hash and publisher signature match\n");
	return EDS_EXIT_OK;
}

/* ---- commit ---- */

int update_commit(const upd_args *a)
{
	eds_update_state s;
	eds_status st;
	if (a->state == NULL)
		return cli_usage(a->cmd, "--state is required");
	if ((st = eds_update_state_load(&s, a->state)) != EDS_OK ||
	    (st = eds_update_state_commit(&s, a->state)) != EDS_OK)
		return cli_report(a->cmd, st, NULL);
	printf("committed: minimum security version %llu, newest issue time %llu ms\n",
	       (unsigned long long)s.min_security_version, (unsigned long long)s.last_issued_ms);
	return EDS_EXIT_OK;
}
