#!/usr/bin/env bash
# A million-device key registry (189 MB of JSON, one key per device), opt-in
# with EDS_LARGE_TESTS=1 since it takes about a minute of CPU and 1.5 GB of
# memory: it loads under EDS_REGISTRY_FILE_MAX, the last device's record
# verifies against it, and an invalid key near the end (found by the
# parallel point check) is named by its place in the file.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
if [ "${EDS_LARGE_TESTS:-0}" != 1 ]; then
	echo "SKIPPED: set EDS_LARGE_TESTS=1 to load a 1,000,000-device registry"
	exit 77
fi
N=1000000
expect_rc 0 "$EDS" keygen --out dev --seed "$(printf '%064x' 7)"
PK=$("$EDS" pubkey dev.key)
BAD=0100000000000000000000000000000000000000000000000000000000000000 # neutral point
# registry N BADINDEX: devices dev-0000000.. with key PK, BAD at index BADINDEX (-1: none).
registry() {
	awk -v n="$N" -v pk="$PK" -v badi="$1" -v bad="$BAD" 'BEGIN {
		printf "{\"devices\": [\n"
		for (i = 0; i < n; i++)
			printf "  {\"device_id\": \"site-%03d-device-%07d\", \"keys\": [{\"public_key\": \"%s\", \"from_sequence\": 1}], \"revoked_from_sequence\": null}%s\n",
				i % 997, i, (i == badi ? bad : pk), (i < n - 1 ? "," : "")
		printf "]}\n"
	}'
}
registry -1 >reg.json
echo reading >payload
last=$(printf 'site-%03d-device-%07d' $(((N - 1) % 997)) $((N - 1)))
expect_rc 0 "$EDS" sign --key dev.key --device "$last" --chain chain.jsonl --payload payload
expect_rc 0 "$EDS" verify-chain chain.jsonl --keys reg.json --quiet
registry $((N - 2)) >bad.json
expect_rc 2 "$EDS" verify-chain chain.jsonl --keys bad.json --quiet
expect_one_line_err
expect_err "devices[$((N - 2))].keys[0].public_key: public key is not a valid Ed25519 point"
finish
