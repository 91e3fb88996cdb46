/*
 * record.c - ESR1 records: field rules, signed-header encoding, signing,
 * verification and the record hash (FORMAT.md 1.1 - 1.2).
 *
 * Nothing here allocates: the signed header is built in a stack buffer of
 * EDS_HEADER_MAX bytes, so a device can sign with a few KB of stack.
 */
#include <string.h>

#include "edgesentry/blake3.h"
#include "edgesentry/ed25519.h"
#include "edgesentry/record.h"
#include "internal.h"

static const uint8_t magic[4] = {'E', 'S', 'R', '1'};

static eds_status check_object_ref(const char *ref, size_t len)
{
	if (len > EDS_OBJECT_REF_MAX)
		return eds_fail(EDS_E_FIELD, "object_ref: must be at most %d bytes, got %zu",
		                EDS_OBJECT_REF_MAX, len);
	if (!eds_utf8_valid(ref, len))
		return eds_fail(EDS_E_FIELD, "object_ref: not valid UTF-8");
	if (eds_has_control(ref, len))
		return eds_fail(EDS_E_FIELD, "object_ref: contains a control character");
	return EDS_OK;
}

static eds_status check_int(const char *field, uint64_t v, uint64_t min)
{
	if (v < min || v > EDS_INT_MAX)
		return eds_fail(EDS_E_FIELD, "%s: must be %llu .. 2^53-1, got %llu", field,
		                (unsigned long long)min, (unsigned long long)v);
	return EDS_OK;
}

/* Field rules of FORMAT.md 1.1 on a record whose strings have known lengths. */
static eds_status check_fields(const eds_record *r, size_t id_len, size_t ref_len)
{
	eds_status st;
	if ((st = eds_device_id_check(r->device_id, id_len)) != EDS_OK ||
	    (st = check_int("sequence", r->sequence, 1)) != EDS_OK ||
	    (st = check_int("timestamp_ms", r->timestamp_ms, 0)) != EDS_OK ||
	    (st = check_int("payload_size", r->payload_size, 0)) != EDS_OK ||
	    (st = check_object_ref(r->object_ref, ref_len)) != EDS_OK)
		return st;
	if (r->sequence == 1 && !eds_is_zero(r->prev_hash, EDS_HASH_LEN))
		return eds_fail(EDS_E_FIELD, "prev_hash: must be 32 zero bytes when sequence is 1");
	return EDS_OK;
}

eds_status eds_record_validate(const eds_record *r)
{
	if (r == NULL)
		return eds_fail(EDS_E_ARG, "record: NULL argument");
	const char *id_end = memchr(r->device_id, '\0', sizeof r->device_id);
	const char *ref_end = memchr(r->object_ref, '\0', sizeof r->object_ref);
	if (id_end == NULL)
		return eds_fail(EDS_E_FIELD, "device_id: not NUL-terminated");
	if (ref_end == NULL)
		return eds_fail(EDS_E_FIELD, "object_ref: not NUL-terminated");
	return check_fields(r, (size_t)(id_end - r->device_id), (size_t)(ref_end - r->object_ref));
}

eds_status eds_record_init(eds_record *r, const char *device_id, uint64_t sequence,
                           uint64_t timestamp_ms, const uint8_t *payload, size_t payload_len,
                           const uint8_t prev_hash[EDS_HASH_LEN], const char *object_ref)
{
	uint8_t hash[EDS_HASH_LEN];
	if (payload == NULL && payload_len > 0)
		return eds_fail(EDS_E_ARG, "record: NULL argument");
	eds_blake3(hash, payload, payload_len);
	return eds_record_init_hashed(r, device_id, sequence, timestamp_ms, hash,
	                              (uint64_t)payload_len, prev_hash, object_ref);
}

eds_status eds_record_init_hashed(eds_record *r, const char *device_id, uint64_t sequence,
                                  uint64_t timestamp_ms, const uint8_t payload_hash[EDS_HASH_LEN],
                                  uint64_t payload_size, const uint8_t prev_hash[EDS_HASH_LEN],
                                  const char *object_ref)
{
	if (r == NULL || device_id == NULL || object_ref == NULL || payload_hash == NULL)
		return eds_fail(EDS_E_ARG, "record: NULL argument");
	size_t id_len = strlen(device_id), ref_len = strlen(object_ref);
	if (id_len > EDS_DEVICE_ID_MAX)
		return eds_device_id_check(device_id, id_len);
	if (ref_len > EDS_OBJECT_REF_MAX)
		return check_object_ref(object_ref, ref_len);

	memset(r, 0, sizeof *r);
	memcpy(r->device_id, device_id, id_len);
	memcpy(r->object_ref, object_ref, ref_len);
	r->sequence = sequence;
	r->timestamp_ms = timestamp_ms;
	r->payload_size = payload_size;
	memcpy(r->payload_hash, payload_hash, EDS_HASH_LEN);
	if (prev_hash != NULL)
		memcpy(r->prev_hash, prev_hash, EDS_HASH_LEN);
	return check_fields(r, id_len, ref_len);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

eds_status eds_record_header_encode(const eds_record *r, uint8_t *out, size_t cap, size_t *len)
{
	eds_status st = eds_record_validate(r);
	if (st != EDS_OK)
		return st;
	if (out == NULL || len == NULL)
		return eds_fail(EDS_E_ARG, "record header: NULL argument");
	size_t id_len = strlen(r->device_id), ref_len = strlen(r->object_ref);
	size_t need = 4 + 1 + id_len + 24 + 2 * EDS_HASH_LEN + 2 + ref_len;
	if (cap < need)
		return eds_fail(EDS_E_LIMIT, "record header: buffer of %zu bytes, need %zu", cap,
		                need);

	uint8_t *p = out;
	memcpy(p, magic, 4);
	p += 4;
	*p++ = (uint8_t)id_len;
	memcpy(p, r->device_id, id_len);
	p += id_len;
	eds_put_u64be(p, r->sequence);
	eds_put_u64be(p + 8, r->timestamp_ms);
	eds_put_u64be(p + 16, r->payload_size);
	p += 24;
	memcpy(p, r->payload_hash, EDS_HASH_LEN);
	memcpy(p + EDS_HASH_LEN, r->prev_hash, EDS_HASH_LEN);
	p += 2 * EDS_HASH_LEN;
	*p++ = (uint8_t)(ref_len >> 8);
	*p++ = (uint8_t)ref_len;
	memcpy(p, r->object_ref, ref_len);
	*len = need;
	return EDS_OK;
}

eds_status eds_record_header_decode(eds_record *r, const uint8_t *in, size_t len)
{
	if (r == NULL || in == NULL)
		return eds_fail(EDS_E_ARG, "record header: NULL argument");
	/* Fixed part after the device id: 3 integers, 2 hashes, ref length. */
	const size_t fixed = 24 + 2 * EDS_HASH_LEN + 2;
	if (len < 4 || memcmp(in, magic, 4) != 0)
		return eds_fail(EDS_E_MALFORMED, "record header: does not start with \"ESR1\"");
	if (len < 5)
		return eds_fail(EDS_E_MALFORMED, "record header: truncated (%zu bytes)", len);
	size_t id_len = in[4];
	if (len < 5 + id_len + fixed)
		return eds_fail(EDS_E_MALFORMED, "record header: truncated (%zu bytes)", len);
	const uint8_t *p = in + 5 + id_len;
	size_t ref_len = (size_t)p[fixed - 2] << 8 | p[fixed - 1];
	if (len != 5 + id_len + fixed + ref_len)
		return eds_fail(EDS_E_MALFORMED,
		                "record header: %zu bytes, object_ref length implies %zu", len,
		                5 + id_len + fixed + ref_len);
	if (id_len > EDS_DEVICE_ID_MAX)
		return eds_device_id_check((const char *)in + 5, id_len);
	if (ref_len > EDS_OBJECT_REF_MAX)
		return check_object_ref((const char *)p + fixed, ref_len);

	memset(r, 0, sizeof *r);
	memcpy(r->device_id, in + 5, id_len);
	r->sequence = get_u64(p);
	r->timestamp_ms = get_u64(p + 8);
	r->payload_size = get_u64(p + 16);
	memcpy(r->payload_hash, p + 24, EDS_HASH_LEN);
	memcpy(r->prev_hash, p + 24 + EDS_HASH_LEN, EDS_HASH_LEN);
	memcpy(r->object_ref, p + fixed, ref_len);
	/* A NUL inside a string would silently shorten it; check_fields sees
	 * the C-string length, so compare against the encoded lengths. */
	if (strlen(r->device_id) != id_len)
		return eds_fail(EDS_E_FIELD, "device_id: contains a NUL byte");
	if (strlen(r->object_ref) != ref_len)
		return eds_fail(EDS_E_FIELD, "object_ref: contains a control character");
	return check_fields(r, id_len, ref_len);
}

eds_status eds_record_sign(eds_record *r, const eds_secret_key *sk)
{
	uint8_t sh[EDS_HEADER_MAX];
	size_t len;
	if (r == NULL || sk == NULL)
		return eds_fail(EDS_E_ARG, "record sign: NULL argument");
	eds_status st = eds_record_header_encode(r, sh, sizeof sh, &len);
	if (st != EDS_OK)
		return st;
	return eds_ed25519_sign(r->signature, sh, len, sk->bytes);
}

eds_status eds_record_verify(const eds_record *r, const eds_public_key *pk)
{
	uint8_t sh[EDS_HEADER_MAX];
	size_t len;
	if (r == NULL || pk == NULL)
		return eds_fail(EDS_E_ARG, "record verify: NULL argument");
	eds_status st = eds_record_header_encode(r, sh, sizeof sh, &len);
	if (st != EDS_OK)
		return st;
	if (eds_ed25519_verify(r->signature, sh, len, pk->bytes) != EDS_OK)
		return eds_fail(EDS_E_SIGNATURE,
		                "signature: does not verify for device %s sequence %llu",
		                r->device_id, (unsigned long long)r->sequence);
	return EDS_OK;
}

eds_status eds_record_compute_hash(const eds_record *r, uint8_t out[EDS_HASH_LEN])
{
	uint8_t sh[EDS_HEADER_MAX];
	size_t len;
	if (r == NULL || out == NULL)
		return eds_fail(EDS_E_ARG, "record hash: NULL argument");
	eds_status st = eds_record_header_encode(r, sh, sizeof sh, &len);
	if (st != EDS_OK)
		return st;
	eds_blake3_hasher h;
	eds_blake3_init(&h);
	eds_blake3_update(&h, sh, len);
	eds_blake3_update(&h, r->signature, EDS_SIGNATURE_LEN);
	eds_blake3_finalize(&h, out, EDS_HASH_LEN);
	return EDS_OK;
}
