/*
 * verify.c - the device-side update decision: signatures against the trust
 * policy, target, anti-rollback, monotonic issue time, expiry (trusted
 * clock only), then the image streamed through BLAKE3 in constant memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ed25519.h"
#include "internal.h"
#include "update_internal.h"

const char *eds_update_reason_name(eds_update_reason r)
{
	static const char *const names[] = {"accept", "threshold", "target", "rollback",
	                                    "stale",  "expired",   "size",   "hash"};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

static eds_status decide(eds_update_result *res, eds_update_reason r, const char *fmt, ...)
    EDS_PRINTF(3, 4);

static eds_status decide(eds_update_result *res, eds_update_reason r, const char *fmt, ...)
{
	va_list ap;
	res->reason = r;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof res->detail, fmt, ap);
	va_end(ap);
	return EDS_OK;
}

static eds_status check_signatures(const eds_update_manifest *m, const eds_update_trust *t,
                                   eds_update_result *res)
{
	uint8_t buf[EDS_UPDATE_CANON_MAX];
	size_t len;
	eds_status st = eds_update_manifest_encode(m, buf, sizeof buf, &len);
	if (st != EDS_OK)
		return st;
	eds_blake3(res->manifest_hash, buf, len);
	upd_count_sigs(t->keys, t->n_keys, m->signatures, m->n_signatures, buf, len, &res->sigs);
	return EDS_OK;
}

static int targets_device(const eds_update_manifest *m, const char *hw)
{
	for (size_t i = 0; i < m->n_targets; i++)
		if (strcmp(m->targets[i], hw) == 0)
			return 1;
	return 0;
}

/* Every check that needs no image, in the documented order. */
static void check_metadata(const eds_update_manifest *m, const eds_update_trust *t,
                           const eds_update_policy *p, eds_update_result *res)
{
	const eds_update_sig_count *c = &res->sigs;
	if (c->valid < t->threshold)
		decide(res, EDS_UPDATE_THRESHOLD,
		       "%u distinct valid trusted signature(s), %u required (%u unknown key(s), "
		       "%u invalid, %u duplicate)",
		       c->valid, t->threshold, c->unknown, c->invalid, c->duplicate);
	else if (!targets_device(m, p->hardware_id))
		decide(res, EDS_UPDATE_TARGET, "hardware id %s is not among the %zu target(s)",
		       p->hardware_id, m->n_targets);
	else if (m->security_version < p->min_security_version)
		decide(res, EDS_UPDATE_ROLLBACK,
		       "security_version %llu is below the device minimum %llu",
		       (unsigned long long)m->security_version,
		       (unsigned long long)p->min_security_version);
	else if (m->issued_ms < p->last_issued_ms)
		decide(res, EDS_UPDATE_STALE,
		       "issued_ms %llu is before the newest installed manifest (%llu)",
		       (unsigned long long)m->issued_ms, (unsigned long long)p->last_issued_ms);
	else if (p->trusted_clock && m->has_expiry && m->expires_ms <= p->now_ms)
		decide(res, EDS_UPDATE_EXPIRED, "expired at %llu ms, trusted now is %llu ms",
		       (unsigned long long)m->expires_ms, (unsigned long long)p->now_ms);
	else
		res->reason = EDS_UPDATE_ACCEPT;
}

static eds_status check_image(const eds_update_manifest *m, const char *path,
                              eds_update_result *res)
{
	uint8_t h[32];
	eds_status st = eds_blake3_file(h, path, &res->image_size);
	if (st != EDS_OK)
		return st;
	if (res->image_size != m->image_size)
		return decide(res, EDS_UPDATE_SIZE, "image is %llu bytes, the manifest says %llu",
		              (unsigned long long)res->image_size,
		              (unsigned long long)m->image_size);
	if (memcmp(h, m->image_hash, 32) != 0)
		return decide(res, EDS_UPDATE_HASH, "image BLAKE3 differs from image_blake3");
	return decide(res, EDS_UPDATE_ACCEPT, "accepted");
}

eds_status eds_update_verify(const eds_update_manifest *m, const eds_update_trust *trust,
                             const eds_update_policy *policy, const char *image_path,
                             eds_update_result *res)
{
	eds_status st;
	if (m == NULL || trust == NULL || policy == NULL || policy->hardware_id == NULL ||
	    res == NULL)
		return eds_fail(EDS_E_ARG, "update verify: NULL argument");
	memset(res, 0, sizeof *res);
	if ((st = upd_check_id("hardware id", policy->hardware_id, EDS_UPDATE_TARGET_MAX, 0)) !=
	        EDS_OK ||
	    (st = eds_update_manifest_validate(m)) != EDS_OK ||
	    (st = eds_update_trust_validate(trust)) != EDS_OK ||
	    (st = check_signatures(m, trust, res)) != EDS_OK)
		return st;
	check_metadata(m, trust, policy, res);
	if (res->reason != EDS_UPDATE_ACCEPT || image_path == NULL)
		return res->reason != EDS_UPDATE_ACCEPT
		           ? EDS_OK
		           : decide(res, EDS_UPDATE_ACCEPT, "accepted");
	return check_image(m, image_path, res);
}

eds_status eds_update_verify_legacy(const char *image_path, const uint8_t hash[32],
                                    const uint8_t sig[64], const eds_public_key *pk)
{
	uint8_t actual[32];
	if (image_path == NULL || hash == NULL || sig == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "legacy update: NULL argument");
	eds_status st = eds_blake3_file(actual, image_path, NULL);
	if (st != EDS_OK)
		return st;
	if (memcmp(actual, hash, 32) != 0)
		return eds_fail(EDS_E_HASH_MISMATCH, "%s: BLAKE3 differs from the stated hash",
		                image_path);
	if (eds_ed25519_verify(sig, hash, 32, pk->bytes) != EDS_OK)
		return eds_fail(
		    EDS_E_SIGNATURE,
		    "signature is not a valid Ed25519 signature of the hash by the key");
	return EDS_OK;
}
