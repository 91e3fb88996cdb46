#!/bin/bash
# test_device_import.sh - `eds device import --registry FILE`: an export's
# registry.json rebuilds the device registry of a fresh ledger exactly and a
# second import changes nothing; a running server takes imported devices at
# once; later keys and an earlier revocation are added to known devices;
# any contradiction of the ledger (a different key, a missing key, a lifted
# or raised revocation, a key at or below the head, a first key after
# sequence 1) refuses the whole import, naming the entry, and changes
# nothing; bad files and flags are one-line usage errors, and with --json a
# fatal error is also {"ok":false,"error":...} on stdout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1

ledger_through_server 3 dev-a dev-b # k.key; heads at 3
"$EDS" keygen --out r >/dev/null
expect_rc 0 "$EDS" device rotate --ledger L --id dev-b --public-key r.pub --from-sequence 10
# a sequence the ledger refuses is named by its flag (the ledger says from_sequence)
expect_rc 2 "$EDS" device rotate --ledger L --id dev-a --public-key r.pub --from-sequence 2
expect_one_line_err
expect_err "eds device: --from-sequence: 2 is already stored (head is 3); must be above"
expect_rc 2 "$EDS" device rotate --ledger L --id dev-b --public-key k.pub --from-sequence 5
expect_err "eds device: --from-sequence: must be above the last key's 10"
expect_rc 0 "$EDS" device add --ledger L --id dev-c --public-key r.pub
expect_rc 0 "$EDS" device revoke --ledger L --id dev-c --from-sequence 5
expect_rc 0 "$EDS" ledger export --ledger L --out X

# ---- round trip: the same registry, then nothing more ------------------------------
expect_rc 0 "$EDS" device import --ledger L2 --registry X/registry.json
expect_out "X/registry.json: 3 devices: 3 added, 0 changed, 0 unchanged"
"$EDS" device list --ledger L --json | jq -c '.devices[] | del(.head_sequence, .head_hash)' >want
"$EDS" device list --ledger L2 --json | jq -c '.devices[] | del(.head_sequence, .head_hash)' >got
cmp -s want got && pass || fail "imported registry differs: $(diff want got)"
expect_rc 0 "$EDS" device import --ledger L2 --registry X/registry.json --json
expect_jq '. == {devices: 3, added: 0, changed: 0, unchanged: 3}'
expect_rc 0 "$EDS" device import --ledger L --registry X/registry.json --json
expect_jq '.unchanged == 3'
if [ -w /dev/full ]; then # a report that cannot be written is exit 2
	run sh -c '"$1" device import --ledger L --registry X/registry.json >/dev/full' sh "$EDS"
	[ "$RC" -eq 2 ] && pass || fail "import to /dev/full: exit $RC, want 2"
fi

# ---- a running server accepts an imported device's records at once ----------------
jq '.devices += [{device_id: "dev-new", keys: [{public_key: .devices[0].keys[0].public_key, from_sequence: 1}]}]' \
	X/registry.json >more.json
start_server main --ledger L
sign_readings 1 2 dev-new # with k.key, dev-a's key
mv c.jsonl new.jsonl
expect_rc 0 "$EDS" device import --ledger L --registry more.json
expect_out "4 devices: 1 added, 0 changed, 3 unchanged"
expect_rc 0 "$EDS" push --url "$URL" new.jsonl --payload-dir P --json
expect_jq '.ok and .sent == 2'
stop_server main

# ---- known devices: a later key and an earlier revocation are added ----------------
K2=$("$EDS" pubkey r.key)
jq --arg k "$K2" '(.devices[] | select(.device_id == "dev-a") | .keys) += [{public_key: $k, from_sequence: 20}]
	| (.devices[] | select(.device_id == "dev-c") | .revoked_from_sequence) = 2' X/registry.json >grow.json
expect_rc 0 "$EDS" device import --ledger L2 --registry grow.json
expect_out "3 devices: 0 added, 2 changed, 1 unchanged"
expect_rc 0 "$EDS" device list --ledger L2
expect_out "dev-a 0 - 1:$("$EDS" pubkey k.key) 20:$K2"
expect_out "dev-c 0 2 1:$K2"

# ---- contradictions: refused whole, the entry named, nothing changed ---------------
"$EDS" device list --ledger L --json >before
refused() { # FILE TEXT...
	local f=$1; shift
	expect_rc 2 "$EDS" device import --ledger L --registry "$f"
	expect_one_line_err
	for t in "$@"; do expect_err "$t"; done
	"$EDS" device list --ledger L --json >after
	cmp -s before after && pass || fail "$f: a refused import changed the ledger"
}
# dev-new (good, new) comes first in the file: it must not be added either
edit() { jq "(.devices = [{device_id: \"dev-0\", keys: [.devices[0].keys[0]]}] + .devices) | $1" more.json; }
edit '(.devices[] | select(.device_id == "dev-a") | .keys[0].public_key) = "'"$K2"'"' >e1.json
refused e1.json "e1.json: devices[1] (dev-a)" "key 0 (from sequence 1) differs from the ledger's"
edit '(.devices[] | select(.device_id == "dev-b") | .keys) |= .[0:1]' >e2.json
refused e2.json "devices[2] (dev-b)" "the ledger has 2 keys, the import 1"
edit '(.devices[] | select(.device_id == "dev-c") | .revoked_from_sequence) = null' >e3.json
refused e3.json "devices[3] (dev-c)" "revoked from sequence 5 in the ledger; a revocation is never lifted"
edit '(.devices[] | select(.device_id == "dev-c") | .revoked_from_sequence) = 9' >e4.json
refused e4.json "never raised"
edit '(.devices[] | select(.device_id == "dev-a") | .keys) += [{public_key: "'"$K2"'", from_sequence: 3}]' >e5.json
refused e5.json "devices[1] (dev-a)" "from_sequence: 3 is already stored (head is 3)"
edit '(.devices[0].keys[0].from_sequence) = 2' >e6.json
refused e6.json "devices[0] (dev-0)" "its first key starts at sequence 2"
"$EDS" device list --ledger L | grep -q '^dev-0 ' && fail "dev-0 added by a refused import" || pass

# ---- bad input: one line, exit 2, no ledger made -----------------------------------
echo '{"devices": [' >trunc.json
expect_rc 2 "$EDS" device import --ledger L3 --registry trunc.json
expect_one_line_err
expect_err "trunc.json"
[ -e L3 ] && fail "a bad registry created the ledger" || pass
expect_rc 2 "$EDS" device import --ledger L3 --registry missing.json
expect_err "missing.json"
# with --json a fatal error is also an object on stdout, {"ok":false,"error":MESSAGE}
# with the stderr line's message (as eds ledger's actions print it); exit 2 still
json_error() { # the last run's stdout is that object for its one stderr line
	expect_one_line_err
	expect_jq ". == {ok: false, error: $(sed 's/^eds device: //' "$T/err" | jq -R .)}"
}
expect_rc 2 "$EDS" device import --ledger L3 --registry trunc.json --json
json_error
expect_err "trunc.json"
expect_rc 2 "$EDS" device import --ledger L3 --registry missing.json --json
json_error
[ -e L3 ] && fail "a bad registry created the ledger" || pass
expect_rc 2 "$EDS" device import --ledger more.json --registry more.json --json # not a ledger
json_error
expect_err "eds device: --ledger: more.json"
expect_rc 2 "$EDS" device import --ledger L --registry e1.json --json # refused by the ledger
json_error
expect_err "e1.json: devices[1] (dev-a)"
expect_rc 2 "$EDS" device import --ledger L
expect_err "--registry FILE is required"
expect_rc 2 "$EDS" device import --ledger L --registry more.json --id dev-a
expect_err "import takes --registry"
expect_rc 2 "$EDS" device add --ledger L --id x --public-key k.pub --registry more.json
expect_err "--registry is only for import"
expect_rc 2 "$EDS" device import --ledger L --registry <(jq . more.json) # as verify-chain --keys
expect_err "not a regular file"

# ---- a large registry shows its progress on a terminal, and only there -------------
# 70,000 devices: over 8 MiB of JSON and over 50,000 keys and devices, so each of
# the three stages (reading, checking keys, importing) draws its line.
if command -v script >/dev/null 2>&1; then
	awk -v pk="$("$EDS" pubkey k.key)" 'BEGIN { printf "{\"devices\": [\n"
		for (i = 0; i < 70000; i++) printf "%s{\"device_id\": \"fleet-%06d\", \"keys\": [{\"public_key\": \"%s\", \"from_sequence\": 1}]}\n", (i ? "," : ""), i, pk
		print "]}" }' >fleet.json
	[ "$(stat -c %s fleet.json)" -gt $((8 * 1024 * 1024)) ] && pass || fail "fleet.json is not over 8 MiB"
	script -qec "'$EDS' device import --ledger LF --registry fleet.json" /dev/null >tty.out 2>&1 ||
		fail "import on a terminal: exit $?"
	for stage in "device import (reading): .*%.* MiB/s" "device import (checking keys): .*%.* keys/s" \
		"device import: .*%.* devices/s"; do
		grep -q "$stage" tty.out && pass || fail "no '$stage' line: $(head -c 300 tty.out)"
	done
	grep -q "fleet.json: 70000 devices: 70000 added, 0 changed, 0 unchanged" tty.out && pass ||
		fail "terminal import lacks the summary"
	expect_rc 0 "$EDS" device import --ledger LF --registry fleet.json
	expect_out "70000 devices: 0 added, 0 changed, 70000 unchanged"
	expect_no_err # no terminal: no progress
	: >empty.jsonl
	script -qec "'$EDS' verify-chain --keys fleet.json empty.jsonl" /dev/null >tty.out 2>&1
	grep -q "verify-chain (checking keys): .*%.* keys/s" tty.out && pass ||
		fail "verify-chain --keys shows no key checks: $(head -c 300 tty.out)"
	for flag in --quiet --json; do
		script -qec "'$EDS' verify-chain $flag --keys fleet.json empty.jsonl" /dev/null >tty.out 2>&1
		if grep -q "keys/s" tty.out; then fail "verify-chain $flag showed progress"; else pass; fi
	done
	script -qec "'$EDS' device import --ledger LF --registry fleet.json --json" /dev/null >tty.out 2>&1
	if grep -q "/s" tty.out; then fail "import --json showed progress"; else pass; fi
else
	echo "note: script is missing: progress not checked"
fi

finish
