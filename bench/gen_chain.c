/*
 * gen_chain.c - write a signed ESR1 chain of COUNT records as JSON Lines, for
 * the verify-chain benchmark, and print the device's public key hex.
 *
 *   bench_gen_chain OUT COUNT
 *
 * The key comes from a fixed seed so every run makes the same chain.  OUT is
 * written to OUT.tmp and renamed, so an interrupted run never leaves a short
 * chain behind to be reused as a cached one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "edgesentry/edgesentry.h"

#define DEVICE "bench-0001"

static void append_record(FILE *out, const eds_secret_key *sk, uint64_t seq,
                          uint8_t prev[EDS_HASH_LEN])
{
	eds_record r;
	char payload[96], ref[64], json[EDS_RECORD_JSON_MAX];
	size_t len;

	int plen = snprintf(payload, sizeof payload, "{\"reading\":%" PRIu64 ",\"temp_c\":%d.%d}",
	                    seq, 20 + (int)(seq % 7), (int)(seq % 10));
	snprintf(ref, sizeof ref, DEVICE "/reading-%" PRIu64 ".json", seq);
	if (eds_record_init(&r, DEVICE, seq, 1700000000000ULL + 1000 * seq,
	                    (const uint8_t *)payload, (size_t)plen, seq == 1 ? NULL : prev,
	                    ref) != EDS_OK ||
	    eds_record_sign(&r, sk) != EDS_OK || eds_record_compute_hash(&r, prev) != EDS_OK ||
	    eds_record_to_json(&r, json, sizeof json, &len) != EDS_OK)
		bench_die("record %" PRIu64 ": %s", seq, eds_last_error());
	json[len] = '\n';
	if (fwrite(json, 1, len + 1, out) != len + 1)
		bench_die("write: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	eds_secret_key sk;
	eds_public_key pk;
	uint8_t seed[32], prev[EDS_HASH_LEN] = {0};
	char tmp[4096], hex[65];

	if (argc != 3)
		bench_die("usage: bench_gen_chain OUT COUNT");
	char *end;
	unsigned long long count = strtoull(argv[2], &end, 10);
	if (end == argv[2] || *end != '\0' || count == 0 || count > EDS_INT_MAX)
		bench_die("COUNT: want 1 .. 2^53-1, got '%s'", argv[2]);
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]) >= sizeof tmp)
		bench_die("OUT: path too long");
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0x5A ^ i);
	if (eds_init() != EDS_OK || eds_secret_key_from_seed(&sk, seed) != EDS_OK)
		bench_die("key: %s", eds_last_error());

	FILE *out = fopen(tmp, "w");
	if (out == NULL)
		bench_die("%s: %s", tmp, strerror(errno));
	for (uint64_t seq = 1; seq <= count; seq++)
		append_record(out, &sk, seq, prev);
	if (fclose(out) != 0 || rename(tmp, argv[1]) != 0)
		bench_die("%s: %s", argv[1], strerror(errno));
	eds_secret_key_public(&sk, &pk);
	eds_secret_key_wipe(&sk);
	eds_public_key_to_hex(&pk, hex);
	printf("%s\n", hex);
	return 0;
}
