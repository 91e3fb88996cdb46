/*
 * bridge.c - the edgesentry-rs C bridge ABI (edgesentry_bridge.h) as a thin
 * layer over the native legacy-record API (edgesentry/legacy.h).
 *
 * What the layer adds is only what the Rust bridge does on its side of the
 * boundary: its return codes and messages, its argument checks in its order,
 * and its reading of the fixed string buffers (up to the first NUL, or the
 * whole buffer; invalid UTF-8 replaced by U+FFFD as String::from_utf8_lossy
 * does) so record hashes agree even for records filled in by hand.
 */
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "edgesentry/legacy.h"
#include "edgesentry_bridge.h"
#include "internal.h"

/* The Rust #[repr(C)] layout, byte for byte. */
_Static_assert(sizeof(EdsAuditRecord) == 912, "EdsAuditRecord size");
_Static_assert(alignof(EdsAuditRecord) == 8, "EdsAuditRecord alignment");
_Static_assert(offsetof(EdsAuditRecord, sequence) == 0, "sequence offset");
_Static_assert(offsetof(EdsAuditRecord, timestamp_ms) == 8, "timestamp_ms offset");
_Static_assert(offsetof(EdsAuditRecord, payload_hash) == 16, "payload_hash offset");
_Static_assert(offsetof(EdsAuditRecord, signature) == 48, "signature offset");
_Static_assert(offsetof(EdsAuditRecord, prev_record_hash) == 112, "prev_record_hash offset");
_Static_assert(offsetof(EdsAuditRecord, device_id) == 144, "device_id offset");
_Static_assert(offsetof(EdsAuditRecord, object_ref) == 400, "object_ref offset");
/* U+FFFD (3 bytes) per input byte at worst must fit the native record. */
_Static_assert(3 * sizeof(((EdsAuditRecord *)0)->device_id) <= EDS_LEGACY_DEVICE_ID_MAX,
               "lossy device_id fits");
_Static_assert(3 * sizeof(((EdsAuditRecord *)0)->object_ref) <= EDS_LEGACY_OBJECT_REF_MAX,
               "lossy object_ref fits");

static _Thread_local char last_error[512];

const char *eds_last_error_message(void)
{
	return last_error;
}

static int32_t fail(int32_t code, const char *fmt, ...) EDS_PRINTF(2, 3);

static int32_t fail(int32_t code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* clang-tidy 14's analyzer loses va_start when it inlines fail() into its
	 * callers in this file, a known false positive. */
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return code;
}

/* The Rust bridge needs no set-up call, so every entry point starts libsodium (idempotent). */
static int32_t start(const char *fn)
{
	if (eds_init() != EDS_OK)
		return fail(EDS_ERR_PANIC, "%s: %s", fn, eds_last_error());
	return EDS_OK;
}

/* ---- reading EdsAuditRecord the way the Rust bridge does ----------------------- */

/* Length of a valid sequence led by b (0: b cannot lead one) and its second byte's range. */
static size_t utf8_lead(uint8_t b, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF) {
		*lo = b == 0xE0 ? 0xA0 : 0x80; /* no overlongs */
		*hi = b == 0xED ? 0x9F : 0xBF; /* no surrogates */
		return 3;
	}
	if (b >= 0xF0 && b <= 0xF4) {
		*lo = b == 0xF0 ? 0x90 : 0x80;
		*hi = b == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
		return 4;
	}
	return 0;
}

/*
 * Copy a fixed string buffer as String::from_utf8_lossy reads it: each
 * maximal invalid subsequence becomes one U+FFFD.  dst holds 3 * cap + 1.
 */
static void read_lossy(char *dst, const uint8_t *src, size_t cap)
{
	const uint8_t *nul = memchr(src, 0, cap);
	size_t len = nul != NULL ? (size_t)(nul - src) : cap, i = 0, o = 0;
	while (i < len) {
		uint8_t lo = 0x80, hi = 0xBF;
		size_t n = src[i] < 0x80 ? 1 : utf8_lead(src[i], &lo, &hi), k = 1;
		while (n > 1 && k < n && i + k < len && src[i + k] >= (k == 1 ? lo : 0x80) &&
		       src[i + k] <= (k == 1 ? hi : 0xBF))
			k++;
		if (n > 0 && k == n) {
			memcpy(dst + o, src + i, n);
			o += n;
		} else {
			memcpy(dst + o, "\xEF\xBF\xBD", 3);
			o += 3;
		}
		i += k;
	}
	dst[o] = '\0';
}

static void from_bridge(eds_legacy_record *r, const EdsAuditRecord *b)
{
	memset(r, 0, sizeof *r);
	read_lossy(r->device_id, b->device_id, sizeof b->device_id);
	read_lossy(r->object_ref, b->object_ref, sizeof b->object_ref);
	r->sequence = b->sequence;
	r->timestamp_ms = b->timestamp_ms;
	memcpy(r->payload_hash, b->payload_hash, sizeof r->payload_hash);
	memcpy(r->signature, b->signature, sizeof r->signature);
	memcpy(r->prev_record_hash, b->prev_record_hash, sizeof r->prev_record_hash);
}

/*
 * The Rust bridge refuses a public key only when it does not decompress to a
 * curve point (ed25519-dalek's VerifyingKey::from_bytes).  libsodium's
 * point addition checks exactly that and nothing more (small-order and
 * non-canonical points pass), unlike crypto_core_ed25519_is_valid_point.
 */
static int decodes_to_point(const uint8_t pk[32])
{
	static const uint8_t identity[32] = {1};
	uint8_t sum[32];
	return crypto_core_ed25519_add(sum, pk, identity) == 0;
}

/* ---- the ABI ---------------------------------------------------------------------- */

int32_t eds_keygen(uint8_t *private_key_out, uint8_t *public_key_out)
{
	eds_secret_key sk;
	int32_t rc = start("eds_keygen");
	if (rc != EDS_OK)
		return rc;
	if (private_key_out == NULL || public_key_out == NULL)
		return fail(EDS_ERR_NULL_PTR,
		            "eds_keygen: private_key_out or public_key_out is NULL");
	if (eds_secret_key_generate(&sk) != EDS_OK)
		return fail(EDS_ERR_PANIC, "eds_keygen: %s", eds_last_error());
	/* libsodium's secret key is the seed followed by the public key. */
	memcpy(private_key_out, sk.bytes, 32);
	memcpy(public_key_out, sk.bytes + 32, 32);
	eds_secret_key_wipe(&sk);
	return EDS_OK;
}

/* The string checks of eds_sign_record, in the Rust bridge's order. */
static int32_t check_strings(const char *device_id, const char *object_ref)
{
	size_t id_len = strlen(device_id), ref_len = strlen(object_ref);
	if (!eds_utf8_valid(device_id, id_len))
		return fail(EDS_ERR_INVALID_UTF8, "eds_sign_record: device_id is not valid UTF-8");
	if (!eds_utf8_valid(object_ref, ref_len))
		return fail(EDS_ERR_INVALID_UTF8, "eds_sign_record: object_ref is not valid UTF-8");
	if (id_len >= sizeof(((EdsAuditRecord *)0)->device_id))
		return fail(EDS_ERR_STRING_TOO_LONG,
		            "eds_sign_record: device_id exceeds maximum length of 255 characters");
	if (ref_len >= sizeof(((EdsAuditRecord *)0)->object_ref))
		return fail(EDS_ERR_STRING_TOO_LONG,
		            "eds_sign_record: object_ref exceeds maximum length of 511 characters");
	return EDS_OK;
}

static void to_bridge(EdsAuditRecord *out, const eds_legacy_record *r)
{
	memset(out, 0, sizeof *out);
	out->sequence = r->sequence;
	out->timestamp_ms = r->timestamp_ms;
	memcpy(out->payload_hash, r->payload_hash, sizeof out->payload_hash);
	memcpy(out->signature, r->signature, sizeof out->signature);
	memcpy(out->prev_record_hash, r->prev_record_hash, sizeof out->prev_record_hash);
	/* check_strings guaranteed that both fit with their NUL. */
	memcpy(out->device_id, r->device_id, strlen(r->device_id));
	memcpy(out->object_ref, r->object_ref, strlen(r->object_ref));
}

int32_t eds_sign_record(const char *device_id, uint64_t sequence, uint64_t timestamp_ms,
                        const uint8_t *payload, uintptr_t payload_len,
                        const uint8_t *prev_record_hash, const char *object_ref,
                        const uint8_t *private_key, struct EdsAuditRecord *out)
{
	eds_legacy_record r;
	eds_secret_key sk;
	int32_t rc = start("eds_sign_record");
	if (rc != EDS_OK)
		return rc;
	if (device_id == NULL || payload == NULL || object_ref == NULL || private_key == NULL ||
	    out == NULL)
		return fail(EDS_ERR_NULL_PTR,
		            "eds_sign_record: one or more required pointer arguments is NULL");
	if ((rc = check_strings(device_id, object_ref)) != EDS_OK)
		return rc;
	eds_status st = eds_legacy_record_init(&r, device_id, sequence, timestamp_ms, payload,
	                                       (size_t)payload_len, prev_record_hash, object_ref);
	if (st == EDS_OK && (st = eds_secret_key_from_seed(&sk, private_key)) == EDS_OK) {
		st = eds_legacy_record_sign(&r, &sk);
		eds_secret_key_wipe(&sk);
	}
	if (st != EDS_OK)
		return fail(EDS_ERR_PANIC, "eds_sign_record: %s", eds_last_error());
	to_bridge(out, &r);
	return EDS_OK;
}

int32_t eds_record_hash(const struct EdsAuditRecord *record, uint8_t *hash_out)
{
	eds_legacy_record r;
	if (record == NULL || hash_out == NULL)
		return fail(EDS_ERR_NULL_PTR, "eds_record_hash: record or hash_out is NULL");
	from_bridge(&r, record);
	if (eds_legacy_record_compute_hash(&r, hash_out) != EDS_OK)
		return fail(EDS_ERR_PANIC, "eds_record_hash: %s", eds_last_error());
	return EDS_OK;
}

int32_t eds_verify_record(const struct EdsAuditRecord *record, const uint8_t *public_key)
{
	eds_legacy_record r;
	eds_public_key pk;
	int32_t rc = start("eds_verify_record");
	if (rc != EDS_OK)
		return rc;
	if (record == NULL || public_key == NULL)
		return fail(EDS_ERR_NULL_PTR, "eds_verify_record: record or public_key is NULL");
	if (!decodes_to_point(public_key))
		return fail(EDS_ERR_INVALID_KEY,
		            "eds_verify_record: public_key is not a valid Ed25519 point");
	from_bridge(&r, record);
	memcpy(pk.bytes, public_key, sizeof pk.bytes);
	return eds_legacy_record_verify(&r, &pk) == EDS_OK ? 1 : 0;
}

int32_t eds_verify_update(const uint8_t *payload, uintptr_t payload_len,
                          const uint8_t *payload_hash, const uint8_t *signature,
                          const uint8_t *publisher_key)
{
	uint8_t actual[EDS_BLAKE3_OUT_LEN];
	int32_t rc = start("eds_verify_update");
	if (rc != EDS_OK)
		return rc;
	if (payload == NULL || payload_hash == NULL || signature == NULL || publisher_key == NULL)
		return fail(EDS_ERR_NULL_PTR,
		            "eds_verify_update: one or more required pointer arguments is NULL");
	if (!decodes_to_point(publisher_key))
		return fail(EDS_ERR_INVALID_KEY,
		            "eds_verify_update: publisher_key is not a valid Ed25519 point");
	eds_blake3(actual, payload, (size_t)payload_len);
	if (memcmp(actual, payload_hash, sizeof actual) != 0)
		return fail(EDS_ERR_HASH_MISMATCH,
		            "eds_verify_update: BLAKE3(payload) does not match payload_hash");
	if (eds_ed25519_verify(signature, actual, sizeof actual, publisher_key) != EDS_OK)
		return fail(EDS_ERR_BAD_SIGNATURE,
		            "eds_verify_update: signature over payload_hash is not valid");
	return EDS_OK;
}

/* The Rust bridge's wording for a broken chain, from the native failure. */
static int32_t chain_failure(eds_status st, uint64_t index, uint64_t prev_seq, uint64_t seq)
{
	/* What edgesentry-rs prints as expected (it wraps at u64::MAX in release builds). */
	uint64_t expected = prev_seq + 1;
	if (st == EDS_E_SEQUENCE)
		return fail(
		    EDS_ERR_CHAIN_INVALID,
		    "eds_verify_chain: chain verification failed: invalid sequence at index "
		    "%llu: expected %llu, actual %llu",
		    (unsigned long long)index, (unsigned long long)expected,
		    (unsigned long long)seq);
	if (st == EDS_E_PREV_HASH)
		return fail(EDS_ERR_CHAIN_INVALID,
		            "eds_verify_chain: chain verification failed: invalid previous hash at "
		            "index %llu",
		            (unsigned long long)index);
	return fail(EDS_ERR_PANIC, "eds_verify_chain: %s", eds_last_error());
}

int32_t eds_verify_chain(const struct EdsAuditRecord *records, uintptr_t count)
{
	eds_legacy_chain c;
	eds_legacy_record r;
	if (count == 0)
		return EDS_OK;
	if (records == NULL)
		return fail(EDS_ERR_NULL_PTR,
		            "eds_verify_chain: records is NULL but count is non-zero");
	eds_legacy_chain_init(&c, NULL);
	for (uintptr_t i = 0; i < count; i++) {
		uint64_t prev_seq = c.last_sequence;
		from_bridge(&r, &records[i]);
		eds_status st = eds_legacy_chain_add(&c, &r);
		if (st != EDS_OK)
			return chain_failure(st, i, prev_seq, r.sequence);
	}
	return EDS_OK;
}
