/*
 * bridge_example.c - a program written only against edgesentry_bridge.h,
 * exactly as a user of the edgesentry-rs C bridge writes it.  It builds
 * unchanged against either implementation:
 *
 *   cc bridge_example.c -ledgesentry_bridge -o bridge_example
 *
 * Walks through: key generation, a 3-record chain, record hashes, record and
 * chain verification, a firmware update check, tamper detection and the
 * error paths.  Every result is checked; the exit status is 0 only if all
 * checks pass (checks do not depend on assert(), which NDEBUG removes).
 */
#include <stdio.h>
#include <string.h>

#include "edgesentry_bridge.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s (last error: \"%s\")\n",          \
			        __FILE__, __LINE__, #cond, eds_last_error_message());              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void print_hex(const char *label, const uint8_t *buf, size_t len)
{
	printf("  %-13s ", label);
	for (size_t i = 0; i < len && i < 8; i++)
		printf("%02x", buf[i]);
	printf("... (%zu bytes)\n", len);
}

/* 1-3: keys, a chain of three signed records linked by their hashes. */
static void build_chain(const uint8_t *private_key, EdsAuditRecord chain[3])
{
	static const char *const payloads[3] = {
	    "check=door,status=ok,open_close_cycle=3",
	    "check=vibration,status=ok,rms=0.18",
	    "check=emergency_brake,status=ok,response_ms=120",
	};
	static const char *const refs[3] = {
	    "lift-01/inspection-1.bin",
	    "lift-01/inspection-2.bin",
	    "lift-01/inspection-3.bin",
	};
	uint8_t prev_hash[32];
	memset(chain, 0, 3 * sizeof chain[0]);
	for (int i = 0; i < 3; i++) {
		int32_t rc = eds_sign_record(
		    "lift-01", (uint64_t)i + 1, 1700000000000ULL + (uint64_t)i * 60000,
		    (const uint8_t *)payloads[i], strlen(payloads[i]), i == 0 ? NULL : prev_hash,
		    refs[i], private_key, &chain[i]);
		CHECK(rc == EDS_OK);
		CHECK(eds_record_hash(&chain[i], prev_hash) == EDS_OK);
		printf("  [%d] sequence=%llu device=%s\n", i + 1,
		       (unsigned long long)chain[i].sequence, (const char *)chain[i].device_id);
		print_hex("record hash", prev_hash, 32);
	}
}

/* 4-5: record and chain verification, and tampering. */
static void verify_chain(const uint8_t *public_key, EdsAuditRecord chain[3])
{
	for (int i = 0; i < 3; i++)
		CHECK(eds_verify_record(&chain[i], public_key) == 1);
	CHECK(eds_verify_chain(chain, 3) == EDS_OK);
	printf("  chain of 3: VALID\n");

	chain[1].payload_hash[0] ^= 0x01;
	CHECK(eds_verify_record(&chain[1], public_key) == 0);
	CHECK(eds_verify_chain(chain, 3) == EDS_ERR_CHAIN_INVALID);
	printf("  tampered:   INVALID (%s)\n", eds_last_error_message());
	chain[1].payload_hash[0] ^= 0x01;

	EdsAuditRecord swapped[3] = {chain[0], chain[2], chain[1]};
	CHECK(eds_verify_chain(swapped, 3) == EDS_ERR_CHAIN_INVALID);
	CHECK(eds_verify_chain(chain, 3) == EDS_OK);
}

/* 6: a signed firmware update, checked before installing it. */
static void verify_update(const uint8_t *private_key, const uint8_t *public_key)
{
	const char *image = "firmware-v2.0.0-image";
	EdsAuditRecord signed_image;
	CHECK(eds_sign_record("fw-publisher", 1, 0, (const uint8_t *)image, strlen(image), NULL,
	                      "fw/v2.0.0.bin", private_key, &signed_image) == EDS_OK);
	CHECK(eds_verify_update((const uint8_t *)image, strlen(image), signed_image.payload_hash,
	                        signed_image.signature, public_key) == EDS_OK);
	CHECK(eds_verify_update((const uint8_t *)image, strlen(image) - 1,
	                        signed_image.payload_hash, signed_image.signature,
	                        public_key) == EDS_ERR_HASH_MISMATCH);
	signed_image.signature[5] ^= 0x10;
	CHECK(eds_verify_update((const uint8_t *)image, strlen(image), signed_image.payload_hash,
	                        signed_image.signature, public_key) == EDS_ERR_BAD_SIGNATURE);
	printf("  update: accepted when intact, refused when changed\n");
}

/* 7: the documented error paths. */
static void error_paths(const uint8_t *private_key, const uint8_t *public_key,
                        const EdsAuditRecord *record)
{
	EdsAuditRecord out;
	uint8_t hash[32], not_a_point[32] = {2};
	char long_id[300];
	memset(long_id, 'x', 256);
	long_id[256] = '\0';

	CHECK(eds_keygen(NULL, hash) == EDS_ERR_NULL_PTR);
	CHECK(eds_sign_record(NULL, 1, 0, (const uint8_t *)"p", 1, NULL, "o", private_key, &out) ==
	      EDS_ERR_NULL_PTR);
	CHECK(eds_sign_record("d\xff", 1, 0, (const uint8_t *)"p", 1, NULL, "o", private_key,
	                      &out) == EDS_ERR_INVALID_UTF8);
	CHECK(eds_sign_record(long_id, 1, 0, (const uint8_t *)"p", 1, NULL, "o", private_key,
	                      &out) == EDS_ERR_STRING_TOO_LONG);
	CHECK(eds_record_hash(NULL, hash) == EDS_ERR_NULL_PTR);
	CHECK(eds_verify_record(record, NULL) == EDS_ERR_NULL_PTR);
	CHECK(eds_verify_record(record, not_a_point) == EDS_ERR_INVALID_KEY);
	CHECK(eds_verify_update(NULL, 0, hash, record->signature, public_key) == EDS_ERR_NULL_PTR);
	CHECK(eds_verify_chain(NULL, 0) == EDS_OK);
	CHECK(eds_verify_chain(NULL, 1) == EDS_ERR_NULL_PTR);
	CHECK(strlen(eds_last_error_message()) > 0);
	printf("  error paths: all return their documented codes\n");
}

int main(void)
{
	uint8_t private_key[32], public_key[32];
	EdsAuditRecord chain[3];

	CHECK(eds_last_error_message() != NULL && eds_last_error_message()[0] == '\0');
	printf("[1] key pair\n");
	CHECK(eds_keygen(private_key, public_key) == EDS_OK);
	print_hex("public key", public_key, 32);
	printf("[2] chain\n");
	build_chain(private_key, chain);
	printf("[3] verification\n");
	verify_chain(public_key, chain);
	printf("[4] firmware update\n");
	verify_update(private_key, public_key);
	printf("[5] errors\n");
	error_paths(private_key, public_key, &chain[0]);
	memset(private_key, 0, sizeof private_key);

	if (failures != 0) {
		printf("%d check(s) FAILED\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
