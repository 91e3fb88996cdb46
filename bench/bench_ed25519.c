/*
 * bench_ed25519.c - Ed25519 through EdgeSentry against bare libsodium on
 * the same message, in the same run (ARCHITECTURE.md: within 5%).
 *
 *   bench_ed25519 [VERIFY_RATE_FILE]
 *
 * The message is the signed header of a typical record, so the eds_record_*
 * rows (header encoding and field checks included) and the raw rows share
 * one baseline.  VERIFY_RATE_FILE, when given, receives the single-core
 * libsodium verify rate: the baseline of the verify-chain row.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "edgesentry/edgesentry.h"

typedef struct {
	eds_record rec;
	eds_secret_key sk;
	eds_public_key pk;
	uint8_t header[EDS_HEADER_MAX];
	size_t header_len;
	uint8_t sig[EDS_SIGNATURE_LEN];
} fixture;

static volatile uint8_t sink;

static void sodium_sign(void *ctx)
{
	fixture *f = ctx;
	uint8_t sig[64];
	crypto_sign_detached(sig, NULL, f->header, f->header_len, f->sk.bytes);
	sink ^= sig[0];
}

static void eds_sign(void *ctx)
{
	fixture *f = ctx;
	uint8_t sig[64];
	if (eds_ed25519_sign(sig, f->header, f->header_len, f->sk.bytes) != EDS_OK)
		bench_die("eds_ed25519_sign: %s", eds_last_error());
	sink ^= sig[0];
}

static void record_sign(void *ctx)
{
	fixture *f = ctx;
	if (eds_record_sign(&f->rec, &f->sk) != EDS_OK)
		bench_die("eds_record_sign: %s", eds_last_error());
	sink ^= f->rec.signature[0];
}

static void sodium_verify(void *ctx)
{
	fixture *f = ctx;
	if (crypto_sign_verify_detached(f->sig, f->header, f->header_len, f->pk.bytes) != 0)
		bench_die("crypto_sign_verify_detached: signature rejected");
}

static void eds_verify(void *ctx)
{
	fixture *f = ctx;
	if (eds_ed25519_verify(f->sig, f->header, f->header_len, f->pk.bytes) != EDS_OK)
		bench_die("eds_ed25519_verify: %s", eds_last_error());
}

static void record_verify(void *ctx)
{
	fixture *f = ctx;
	if (eds_record_verify(&f->rec, &f->pk) != EDS_OK)
		bench_die("eds_record_verify: %s", eds_last_error());
}

static void setup(fixture *f)
{
	static const char payload[] = "{\"lift\":\"lift-0001\",\"door_cycles\":1180,\"ok\":true}";
	uint8_t seed[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0xA0 + i);
	if (eds_init() != EDS_OK || eds_secret_key_from_seed(&f->sk, seed) != EDS_OK)
		bench_die("key setup: %s", eds_last_error());
	eds_secret_key_public(&f->sk, &f->pk);
	if (eds_record_init(&f->rec, "lift-0001", 1, 1700000000000ULL, (const uint8_t *)payload,
	                    sizeof payload - 1, NULL,
	                    "lift-0001/inspection-000001.json") != EDS_OK ||
	    eds_record_header_encode(&f->rec, f->header, sizeof f->header, &f->header_len) !=
	        EDS_OK ||
	    eds_record_sign(&f->rec, &f->sk) != EDS_OK)
		bench_die("record setup: %s", eds_last_error());
	/* the raw rows sign and verify exactly the bytes eds_record_sign signs */
	memcpy(f->sig, f->rec.signature, sizeof f->sig);
}

enum { S_SODIUM, S_EDS, S_RECORD, V_SODIUM, V_EDS, V_RECORD, N_CASES };

int main(int argc, char **argv)
{
	static fixture f;
	char label[160], base_label[160];

	if (argc > 2)
		bench_die("usage: bench_ed25519 [VERIFY_RATE_FILE]");
	setup(&f);
	bench_case c[N_CASES] = {
	    [S_SODIUM] = {.op = sodium_sign, .ctx = &f},
	    [S_EDS] = {.op = eds_sign, .ctx = &f},
	    [S_RECORD] = {.op = record_sign, .ctx = &f},
	    [V_SODIUM] = {.op = sodium_verify, .ctx = &f},
	    [V_EDS] = {.op = eds_verify, .ctx = &f},
	    [V_RECORD] = {.op = record_verify, .ctx = &f},
	};
	bench_run(c, N_CASES);

	snprintf(base_label, sizeof base_label, "libsodium crypto_sign_detached, %zu B",
	         f.header_len);
	snprintf(label, sizeof label, "Ed25519 sign, eds_ed25519_sign, %zu B", f.header_len);
	bench_row_cases(label, &c[S_EDS], 1, base_label, &c[S_SODIUM], 1, 1e3, "k/s", ">= 0.95");
	snprintf(label, sizeof label, "Ed25519 sign, eds_record_sign (%zu B header)", f.header_len);
	bench_row_cases(label, &c[S_RECORD], 1, base_label, &c[S_SODIUM], 1, 1e3, "k/s", ">= 0.95");
	snprintf(base_label, sizeof base_label, "libsodium crypto_sign_verify_detached, %zu B",
	         f.header_len);
	snprintf(label, sizeof label, "Ed25519 verify, eds_ed25519_verify, %zu B", f.header_len);
	bench_row_cases(label, &c[V_EDS], 1, base_label, &c[V_SODIUM], 1, 1e3, "k/s", ">= 0.95");
	snprintf(label, sizeof label, "Ed25519 verify, eds_record_verify (%zu B header)",
	         f.header_len);
	bench_row_cases(label, &c[V_RECORD], 1, base_label, &c[V_SODIUM], 1, 1e3, "k/s", ">= 0.95");

	if (argc == 2) {
		FILE *out = fopen(argv[1], "w");
		if (out == NULL || fprintf(out, "%.0f\n", c[V_SODIUM].best) < 0 || fclose(out) != 0)
			bench_die("%s: cannot write", argv[1]);
	}
	eds_secret_key_wipe(&f.sk);
	return 0;
}
