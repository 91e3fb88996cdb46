/*
 * fuzz_manifest.c - libFuzzer target for the update manifest and trust
 * policy readers.  The first byte picks the reader ('t': trust policy,
 * anything else: manifest); the rest is the JSON text.  Beyond "no crash, no leak, no
 * UB": an accepted document is written back and re-read to the identical
 * text and signed bytes, a manifest goes through the verifier (no image),
 * and every refusal leaves a one-line printable detail.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edgesentry/error.h"
#include "edgesentry/update.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char text1[EDS_UPDATE_JSON_MAX], text2[EDS_UPDATE_JSON_MAX];

static void manifest(const char *json, size_t len)
{
	static eds_update_manifest m, back;
	uint8_t h1[32], h2[32];
	size_t n;
	eds_status st = eds_update_manifest_from_json(&m, json, len);
	fuzz_check_status(st);
	if (st != EDS_OK)
		return;
	if (eds_update_manifest_to_json(&m, text1, sizeof text1, &n) != EDS_OK ||
	    eds_update_manifest_from_json(&back, text1, n) != EDS_OK ||
	    eds_update_manifest_to_json(&back, text2, sizeof text2, NULL) != EDS_OK ||
	    strcmp(text1, text2) != 0 || eds_update_manifest_hash(&m, h1) != EDS_OK ||
	    eds_update_manifest_hash(&back, h2) != EDS_OK || memcmp(h1, h2, 32) != 0)
		abort();
	/* Verify against a policy of the manifest's own signers (threshold all). */
	eds_update_trust t;
	eds_public_key keys[EDS_UPDATE_SIGS_MAX];
	size_t nk = 0;
	for (size_t i = 0; i < m.n_signatures; i++) {
		bool seen = false;
		for (size_t k = 0; k < nk; k++)
			seen |= memcmp(keys[k].bytes, m.signatures[i].key.bytes, 32) == 0;
		if (!seen)
			keys[nk++] = m.signatures[i].key;
	}
	if (nk == 0 || eds_update_trust_init(&t, keys, nk, (unsigned)nk) != EDS_OK)
		return;
	eds_update_policy p = {.hardware_id = m.targets[0], .trusted_clock = 1, .now_ms = 1};
	eds_update_result r;
	if (eds_update_verify(&m, &t, &p, NULL, &r) != EDS_OK ||
	    memcmp(r.manifest_hash, h1, 32) != 0)
		abort();
	if (r.sigs.valid + r.sigs.duplicate + r.sigs.unknown + r.sigs.invalid != m.n_signatures ||
	    r.sigs.unknown != 0)
		abort();
}

static void trust(const char *json, size_t len)
{
	static eds_update_trust t, back;
	uint8_t h1[32], h2[32];
	size_t n;
	eds_status st = eds_update_trust_from_json(&t, json, len);
	fuzz_check_status(st);
	if (st != EDS_OK)
		return;
	if (eds_update_trust_to_json(&t, text1, sizeof text1, &n) != EDS_OK ||
	    eds_update_trust_from_json(&back, text1, n) != EDS_OK ||
	    eds_update_trust_to_json(&back, text2, sizeof text2, NULL) != EDS_OK ||
	    strcmp(text1, text2) != 0 || eds_update_trust_hash(&t, h1) != EDS_OK ||
	    eds_update_trust_hash(&back, h2) != EDS_OK || memcmp(h1, h2, 32) != 0)
		abort();
	fuzz_check_status(eds_update_trust_check_successor(&back, &t, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready && eds_init() != EDS_OK)
		abort();
	ready = true;
	if (size == 0)
		return 0;
	if (data[0] == 't')
		trust((const char *)data + 1, size - 1);
	else
		manifest((const char *)data + 1, size - 1);
	return 0;
}
