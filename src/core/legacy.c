/*
 * legacy.c - edgesentry-rs records: field checks, postcard encoding, record
 * hash, payload-hash-only signatures and the chain rule (COMPAT.md).
 * JSON reading and writing live in legacy_json.c.
 *
 * Nothing here allocates: postcard bytes go to a stack buffer of
 * EDS_LEGACY_POSTCARD_MAX bytes.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/encoding.h"
#include "edgesentry/legacy.h"
#include "edgesentry/payload.h"
#include "internal.h"

/* Postcard writes a [u8; 64] as a byte sequence: its length (varint 64), then the bytes. */
#define SIG_PREFIX 0x40

static eds_status check_string(const char *field, const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap + 1);
	if (end == NULL)
		return eds_fail(EDS_E_FIELD, "%s: longer than %zu bytes or not NUL-terminated",
		                field, cap);
	if (!eds_utf8_valid(s, (size_t)(end - s)))
		return eds_fail(EDS_E_FIELD, "%s: not valid UTF-8", field);
	return EDS_OK;
}

eds_status eds_legacy_record_validate(const eds_legacy_record *r)
{
	eds_status st;
	if (r == NULL)
		return eds_fail(EDS_E_ARG, "legacy record: NULL argument");
	if ((st = check_string("device_id", r->device_id, EDS_LEGACY_DEVICE_ID_MAX)) != EDS_OK)
		return st;
	return check_string("object_ref", r->object_ref, EDS_LEGACY_OBJECT_REF_MAX);
}

/* Copy a caller's string into a fixed field after checking its length. */
static eds_status copy_string(char *dst, size_t cap, const char *field, const char *src)
{
	size_t len = strlen(src);
	if (len > cap)
		return eds_fail(EDS_E_FIELD, "%s: must be at most %zu bytes, got %zu", field, cap,
		                len);
	memcpy(dst, src, len + 1);
	return EDS_OK;
}

eds_status eds_legacy_record_init(eds_legacy_record *r, const char *device_id, uint64_t sequence,
                                  uint64_t timestamp_ms, const uint8_t *payload, size_t payload_len,
                                  const uint8_t prev_record_hash[32], const char *object_ref)
{
	eds_status st;
	if (r == NULL || device_id == NULL || object_ref == NULL ||
	    (payload == NULL && payload_len > 0))
		return eds_fail(EDS_E_ARG, "legacy record: NULL argument");
	memset(r, 0, sizeof *r);
	if ((st = copy_string(r->device_id, EDS_LEGACY_DEVICE_ID_MAX, "device_id", device_id)) !=
	        EDS_OK ||
	    (st = copy_string(r->object_ref, EDS_LEGACY_OBJECT_REF_MAX, "object_ref",
	                      object_ref)) != EDS_OK)
		return st;
	r->sequence = sequence;
	r->timestamp_ms = timestamp_ms;
	eds_blake3(r->payload_hash, payload, payload_len);
	if (prev_record_hash != NULL)
		memcpy(r->prev_record_hash, prev_record_hash, EDS_LEGACY_HASH_LEN);
	return eds_legacy_record_validate(r);
}

/* ---- postcard -------------------------------------------------------------- */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *put_string(uint8_t *p, const char *s, size_t len)
{
	p = put_varint(p, len);
	memcpy(p, s, len);
	return p + len;
}

eds_status eds_legacy_postcard_encode(const eds_legacy_record *r, uint8_t *out, size_t cap,
                                      size_t *len)
{
	uint8_t tmp[EDS_LEGACY_POSTCARD_MAX];
	if (r == NULL || out == NULL || len == NULL)
		return eds_fail(EDS_E_ARG, "legacy postcard: NULL argument");
	eds_status st = eds_legacy_record_validate(r);
	if (st != EDS_OK)
		return st;
	/* Encode into a buffer that always suffices, so the exact size is known
	 * before touching out. */
	uint8_t *p = put_string(tmp, r->device_id, strlen(r->device_id));
	p = put_varint(p, r->sequence);
	p = put_varint(p, r->timestamp_ms);
	memcpy(p, r->payload_hash, EDS_LEGACY_HASH_LEN);
	p += EDS_LEGACY_HASH_LEN;
	*p++ = SIG_PREFIX;
	memcpy(p, r->signature, EDS_LEGACY_SIG_LEN);
	p += EDS_LEGACY_SIG_LEN;
	memcpy(p, r->prev_record_hash, EDS_LEGACY_HASH_LEN);
	p += EDS_LEGACY_HASH_LEN;
	p = put_string(p, r->object_ref, strlen(r->object_ref));
	size_t need = (size_t)(p - tmp);
	if (cap < need)
		return eds_fail(EDS_E_LIMIT, "legacy postcard: buffer of %zu bytes, need %zu", cap,
		                need);
	memcpy(out, tmp, need);
	*len = need;
	return EDS_OK;
}

/* A cursor over postcard input; every getter fails cleanly at the end. */
typedef struct {
	const uint8_t *p, *end;
} cursor;

static eds_status get_varint(cursor *c, const char *field, uint64_t *v)
{
	uint64_t acc = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (c->p == c->end)
			return eds_fail(EDS_E_MALFORMED, "legacy postcard: %s: truncated", field);
		uint8_t b = *c->p++;
		/* The tenth byte holds only bit 63; more would overflow u64. */
		if (shift == 63 && b > 1)
			return eds_fail(EDS_E_MALFORMED, "legacy postcard: %s: varint exceeds u64",
			                field);
		acc |= (uint64_t)(b & 0x7F) << shift;
		if ((b & 0x80) == 0) {
			if (b == 0 && shift > 0)
				return eds_fail(EDS_E_MALFORMED,
				                "legacy postcard: %s: overlong varint", field);
			*v = acc;
			return EDS_OK;
		}
	}
	return eds_fail(EDS_E_MALFORMED, "legacy postcard: %s: varint exceeds u64", field);
}

static eds_status get_bytes(cursor *c, const char *field, void *dst, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return eds_fail(EDS_E_MALFORMED, "legacy postcard: %s: truncated", field);
	memcpy(dst, c->p, n);
	c->p += n;
	return EDS_OK;
}

static eds_status get_string(cursor *c, const char *field, char *dst, size_t cap)
{
	uint64_t n = 0;
	eds_status st = get_varint(c, field, &n);
	if (st != EDS_OK)
		return st;
	if (n > cap)
		return eds_fail(EDS_E_FIELD, "legacy postcard: %s: %llu bytes, limit is %zu", field,
		                (unsigned long long)n, cap);
	if ((st = get_bytes(c, field, dst, (size_t)n)) != EDS_OK)
		return st;
	dst[n] = '\0';
	if (memchr(dst, '\0', (size_t)n) != NULL)
		return eds_fail(EDS_E_FIELD, "legacy postcard: %s: contains a NUL byte", field);
	return EDS_OK;
}

static eds_status decode_fields(eds_legacy_record *r, cursor *c)
{
	eds_status st;
	uint64_t sig_len = 0;
	if ((st = get_string(c, "device_id", r->device_id, EDS_LEGACY_DEVICE_ID_MAX)) != EDS_OK ||
	    (st = get_varint(c, "sequence", &r->sequence)) != EDS_OK ||
	    (st = get_varint(c, "timestamp_ms", &r->timestamp_ms)) != EDS_OK ||
	    (st = get_bytes(c, "payload_hash", r->payload_hash, EDS_LEGACY_HASH_LEN)) != EDS_OK ||
	    (st = get_varint(c, "signature length", &sig_len)) != EDS_OK)
		return st;
	if (sig_len != EDS_LEGACY_SIG_LEN)
		return eds_fail(EDS_E_MALFORMED, "legacy postcard: signature: length %llu, want 64",
		                (unsigned long long)sig_len);
	if ((st = get_bytes(c, "signature", r->signature, EDS_LEGACY_SIG_LEN)) != EDS_OK ||
	    (st = get_bytes(c, "prev_record_hash", r->prev_record_hash, EDS_LEGACY_HASH_LEN)) !=
	        EDS_OK ||
	    (st = get_string(c, "object_ref", r->object_ref, EDS_LEGACY_OBJECT_REF_MAX)) != EDS_OK)
		return st;
	if (c->p != c->end)
		return eds_fail(EDS_E_MALFORMED, "legacy postcard: %zu trailing bytes",
		                (size_t)(c->end - c->p));
	return eds_legacy_record_validate(r);
}

eds_status eds_legacy_postcard_decode(eds_legacy_record *r, const uint8_t *in, size_t len)
{
	if (r == NULL || in == NULL)
		return eds_fail(EDS_E_ARG, "legacy postcard: NULL argument");
	cursor c = {in, in + len};
	memset(r, 0, sizeof *r);
	eds_status st = decode_fields(r, &c);
	if (st != EDS_OK)
		memset(r, 0, sizeof *r);
	return st;
}

eds_status eds_legacy_record_compute_hash(const eds_legacy_record *r, uint8_t out[32])
{
	uint8_t buf[EDS_LEGACY_POSTCARD_MAX];
	size_t len = 0;
	if (out == NULL)
		return eds_fail(EDS_E_ARG, "legacy record hash: NULL argument");
	eds_status st = eds_legacy_postcard_encode(r, buf, sizeof buf, &len);
	if (st != EDS_OK)
		return st;
	eds_blake3(out, buf, len);
	return EDS_OK;
}

/* ---- signatures ------------------------------------------------------------ */

eds_status eds_legacy_record_sign(eds_legacy_record *r, const eds_secret_key *sk)
{
	if (r == NULL || sk == NULL)
		return eds_fail(EDS_E_ARG, "legacy sign: NULL argument");
	return eds_ed25519_sign(r->signature, r->payload_hash, EDS_LEGACY_HASH_LEN, sk->bytes);
}

eds_status eds_legacy_record_verify(const eds_legacy_record *r, const eds_public_key *pk)
{
	if (r == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "legacy verify: NULL argument");
	return eds_ed25519_verify(r->signature, r->payload_hash, EDS_LEGACY_HASH_LEN, pk->bytes);
}

/* ---- chain ----------------------------------------------------------------- */

void eds_legacy_chain_init(eds_legacy_chain *c, const eds_legacy_chain_options *opts)
{
	memset(c, 0, sizeof *c);
	if (opts != NULL)
		c->opts = *opts;
}

/*
 * The edgesentry-rs rule, checked in its order (link, then sequence) so a
 * failure gets the same name here as there.
 */
static eds_status check_link(const eds_legacy_chain *c, const eds_legacy_record *r)
{
	if (c->records == 0) {
		if (!eds_is_zero(r->prev_record_hash, EDS_LEGACY_HASH_LEN))
			return eds_fail(EDS_E_PREV_HASH,
			                "prev_record_hash of the first record must be zero");
		return EDS_OK;
	}
	if (memcmp(r->prev_record_hash, c->head, EDS_LEGACY_HASH_LEN) != 0)
		return eds_fail(EDS_E_PREV_HASH,
		                "prev_record_hash is not the hash of the previous record (#%llu)",
		                (unsigned long long)(c->records - 1));
	/* u64 overflow is a break here (edgesentry-rs would panic or wrap). */
	if (c->last_sequence == UINT64_MAX || r->sequence != c->last_sequence + 1)
		return eds_fail(EDS_E_SEQUENCE, "sequence %llu does not follow %llu",
		                (unsigned long long)r->sequence,
		                (unsigned long long)c->last_sequence);
	return EDS_OK;
}

static eds_status check_signature(eds_legacy_chain *c, const eds_legacy_record *r)
{
	if (c->opts.public_key == NULL)
		return EDS_OK;
	if (eds_legacy_record_verify(r, c->opts.public_key) != EDS_OK)
		return eds_fail(EDS_E_SIGNATURE,
		                "signature over payload_hash does not verify with the given key");
	c->signatures_checked++;
	return EDS_OK;
}

static eds_status check_payload(eds_legacy_chain *c, const eds_legacy_record *r)
{
	char path[PATH_MAX], hex[2 * EDS_LEGACY_HASH_LEN + 1];
	struct stat sb;
	if (c->opts.payload_dir == NULL)
		return EDS_OK;
	eds_status st = eds_payload_path(path, sizeof path, c->opts.payload_dir, r->payload_hash);
	if (st != EDS_OK)
		return st;
	eds_hex_encode(hex, r->payload_hash, EDS_LEGACY_HASH_LEN);
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			return eds_fail(EDS_E_NOT_FOUND,
			                "payload %s is missing from the payload directory", hex);
		return eds_fail(EDS_E_IO, "payload %s: %s", path, strerror(errno));
	}
	/* A legacy record states no size: hold the file to its own, so the
	 * check is presence and hash. */
	if ((st = eds_payload_check(c->opts.payload_dir, r->payload_hash, (uint64_t)sb.st_size)) !=
	    EDS_OK)
		return st;
	c->payloads_checked++;
	return EDS_OK;
}

eds_status eds_legacy_chain_add(eds_legacy_chain *c, const eds_legacy_record *r)
{
	uint8_t hash[EDS_LEGACY_HASH_LEN];
	if (c == NULL || r == NULL)
		return eds_fail(EDS_E_ARG, "legacy chain: NULL argument");
	eds_status st = eds_legacy_record_compute_hash(r, hash);
	if (st != EDS_OK)
		return st;
	st = check_link(c, r);
	if (st == EDS_OK)
		st = check_signature(c, r);
	if (st == EDS_OK)
		st = check_payload(c, r);
	if (st != EDS_OK && st != EDS_E_PREV_HASH && st != EDS_E_SEQUENCE &&
	    st != EDS_E_SIGNATURE && st != EDS_E_NOT_FOUND && st != EDS_E_PAYLOAD_MISMATCH)
		return st;
	/* Continue from this record whatever it failed, so the next record is
	 * judged only by its own link. */
	if (st != EDS_OK)
		c->failed++;
	c->records++;
	c->last_sequence = r->sequence;
	memcpy(c->head, hash, EDS_LEGACY_HASH_LEN);
	return st;
}
