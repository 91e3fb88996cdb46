/*
 * fuzz_pem.c - libFuzzer target for the key readers: PKCS#8 and SPKI PEM,
 * and (through eds_key_parse_text) the edgesentry-rs key JSON.
 *
 * Beyond "no crash, no leak, no UB" it checks two properties: a key that
 * parses is written back and re-read to the same key, and every refusal
 * leaves a one-line printable detail (the CLI prints it as is).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/error.h"
#include "edgesentry/key.h"
#include "fuzz_util.h"
#include "key_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void secret_round_trip(const eds_secret_key *sk)
{
	char pem[256];
	size_t len = 0;
	eds_secret_key back;
	if (eds_secret_key_to_pem(sk, pem, sizeof pem, &len) != EDS_OK ||
	    eds_secret_key_from_pem(&back, pem, len) != EDS_OK ||
	    memcmp(back.bytes, sk->bytes, sizeof back.bytes) != 0)
		abort();
	eds_secret_key_wipe(&back);
}

static void public_round_trip(const eds_public_key *pk)
{
	char pem[256];
	size_t len = 0;
	eds_public_key back;
	if (eds_public_key_to_pem(pk, pem, sizeof pem, &len) != EDS_OK ||
	    eds_public_key_from_pem(&back, pem, len) != EDS_OK ||
	    memcmp(back.bytes, pk->bytes, sizeof back.bytes) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	eds_secret_key sk;
	eds_public_key pk;
	bool has_secret = false;
	const char *text = (const char *)data;
	eds_status st;

	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = true;
	if ((st = eds_secret_key_from_pem(&sk, text, size)) == EDS_OK)
		secret_round_trip(&sk);
	fuzz_check_status(st);
	if ((st = eds_public_key_from_pem(&pk, text, size)) == EDS_OK)
		public_round_trip(&pk);
	fuzz_check_status(st);
	st = eds_key_parse_text(text, size, &sk, &has_secret, &pk);
	fuzz_check_status(st);
	if (st == EDS_OK && has_secret)
		secret_round_trip(&sk);
	if (st == EDS_OK)
		public_round_trip(&pk);
	eds_secret_key_wipe(&sk);
	return 0;
}
