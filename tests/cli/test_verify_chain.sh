#!/usr/bin/env bash
# eds verify-chain: valid chains (JSON Lines, array, stdin), every kind of
# tampering -> exit 1 with its reason, --json, keys and registry, payload
# checks, input and usage errors -> exit 2 with one line, progress bar only
# on a terminal.
. "$(dirname "$0")/lib.sh"
need_cmd jq

# A signed two-device chain with keys, registry and payloads (and the demo's
# tampered copies), all written by the library.
D=$T/demo
expect_rc 0 "$EDS" demo --keep "$D"
C=$D/chain.jsonl
REG=$D/registry.json
P=$D/payloads
[ "$(wc -l <"$C")" -eq 16 ] && pass || fail "demo chain does not have 16 records"

# edit FILTER: the chain with FILTER applied to every record (jq), to stdout.
edit() { jq -c "$1" "$C"; }
# expect_fail_line DEVICE INDEX SEQUENCE REASON: stdout has that FAIL line.
expect_fail_line() {
	expect_out "FAIL device=$1 record=#$2 line=$(($2 + 1)) sequence=$3 reason=$4: "
}

# ---- valid chains -----------------------------------------------------------
expect_rc 0 "$EDS" verify-chain "$C" --keys "$REG" --payload-dir "$P"
expect_out "2 devices, 16 records: 2 valid, 0 failed; signatures checked: 16; payloads checked: 16"
[ ! -s "$T/err" ] && pass || fail "stderr not empty on a valid, keyed run"

jq -s . "$C" >"$T/array.json"
expect_rc 0 "$EDS" verify-chain --keys "$REG" "$T/array.json"
expect_out "2 devices, 16 records: 2 valid, 0 failed; signatures checked: 16"

expect_rc 0 bash -c "cat '$C' | '$EDS' verify-chain --keys '$REG' -"
expect_out "16 records: 2 valid"

# Without a key only links are checked, and stderr says so.
expect_rc 0 "$EDS" verify-chain "$C"
expect_err "signatures were NOT checked"
expect_one_line_err
expect_out "signatures NOT checked (no key given)"

# --quiet: nothing on stdout when all is valid.
expect_rc 0 "$EDS" verify-chain --quiet --keys "$REG" "$C"
[ ! -s "$T/out" ] && pass || fail "--quiet printed on a valid chain"

# An exact retry of the previous record is not a failure.
awk 'NR == 5 { print } { print }' "$C" >"$T/dup.jsonl"
expect_rc 0 "$EDS" verify-chain --keys "$REG" "$T/dup.jsonl"
expect_out "2 devices, 17 records: 2 valid, 0 failed; signatures checked: 16; exact duplicates skipped: 1"

# ---- each tampering kind: exit 1 and its reason ---------------------------
for c in 1-payload-byte:lift-02:7:4:payload_mismatch 2-reordered-pair:lift-01:10:7:sequence_gap \
	3-deleted-record:lift-02:10:6:sequence_gap 4-forged-signature:lift-02:7:4:bad_signature \
	5-replayed-record:lift-01:16:9:bad_signature; do
	IFS=: read -r name dev idx seq reason <<<"$c"
	tp=$D/tamper/$name/payloads
	[ -d "$tp" ] || tp=$P
	expect_rc 1 "$EDS" verify-chain --keys "$REG" --payload-dir "$tp" "$D/tamper/$name/chain.jsonl"
	expect_fail_line "$dev" "$idx" "$seq" "$reason"
	expect_out "1 valid, 1 failed"
done

# A chain that starts after 1 (lift-01's first record removed).
sed 1d "$C" >"$T/nofirst.jsonl"
expect_rc 1 "$EDS" verify-chain --keys "$REG" "$T/nofirst.jsonl"
expect_out "FAIL device=lift-01 record=#1 line=2 sequence=2 reason=sequence_gap: chain starts at sequence 2, expected 1"

# prev_hash pointing elsewhere (record_hash dropped: it is optional on input).
edit 'if .device_id == "lift-02" and .sequence == 3
      then .prev_hash = ("ab" * 32) | del(.record_hash) else . end' >"$T/prev.jsonl"
expect_rc 1 "$EDS" verify-chain "$T/prev.jsonl"
expect_out "FAIL device=lift-02 record=#5 line=6 sequence=3 reason=prev_hash_mismatch: prev_hash does not link to record #3 (sequence 2)"

# A fork: a second, different lift-01 sequence 4 right after the first.
awk 'NR == 7 { print; sub(/"timestamp_ms":[0-9]+/, "\"timestamp_ms\":1"); sub(/,"record_hash":"[0-9a-f]+"/, ""); print; next } { print }' \
	"$C" >"$T/fork.jsonl"
expect_rc 1 "$EDS" verify-chain --keys "$REG" "$T/fork.jsonl"
expect_fail_line lift-01 7 4 fork
expect_out "sequence 4 is already used by record #6"

# A field edited but the stated record_hash kept: reading stops, exit 1.
edit 'if .sequence == 5 and .device_id == "lift-01" then .timestamp_ms = 5 else . end' >"$T/rh.jsonl"
expect_rc 1 "$EDS" verify-chain --keys "$REG" "$T/rh.jsonl"
expect_err "eds verify-chain: $T/rh.jsonl:9: "
expect_one_line_err

# ---- keys: one public key, hex, the registry --------------------------------
expect_rc 1 "$EDS" verify-chain --public-key "$D/keys/lift-01.pub" "$C"
expect_fail_line lift-02 1 1 bad_signature
expect_out "signature does not verify with the given public key"
expect_out "1 valid, 1 failed; signatures checked: 8"
HEX=$(jq -r '.devices[0].keys[0].public_key' "$REG")
expect_rc 1 "$EDS" verify-chain --public-key "$HEX" "$C"
expect_out "signatures checked: 8"

jq '.devices |= map(select(.device_id == "lift-01"))' "$REG" >"$T/reg1.json"
expect_rc 1 "$EDS" verify-chain --keys "$T/reg1.json" "$C"
expect_out "FAIL device=lift-02 record=#1 line=2 sequence=1 reason=unknown_device: device is not in the key registry"

jq '(.devices[] | select(.device_id == "lift-02") | .revoked_from_sequence) = 3' "$REG" >"$T/rev.json"
expect_rc 1 "$EDS" verify-chain --keys "$T/rev.json" "$C"
expect_fail_line lift-02 5 3 revoked_device
expect_out "revoked from sequence 3"

jq '(.devices[] | select(.device_id == "lift-02") | .keys[0].from_sequence) = 3' "$REG" >"$T/nokey.json"
expect_rc 1 "$EDS" verify-chain --keys "$T/nokey.json" "$C"
expect_out "FAIL device=lift-02 record=#1 line=2 sequence=1 reason=no_key: no registry key covers sequence 1"

# A rotated key: lift-01's records 1..3 by the demo key, the rest claimed by another.
jq --arg k "$(jq -r '.devices[1].keys[0].public_key' "$REG")" \
	'(.devices[] | select(.device_id == "lift-01") | .keys) += [{"public_key": $k, "from_sequence": 4}]' \
	"$REG" >"$T/rot.json"
expect_rc 1 "$EDS" verify-chain --keys "$T/rot.json" "$C"
expect_fail_line lift-01 6 4 bad_signature
expect_out "registry key for this sequence"

# ---- payloads -------------------------------------------------------------------
cp -r "$P" "$T/pay"
H=$(jq -r 'select(.device_id == "lift-01" and .sequence == 6) | .payload_hash' "$C")
rm "$T/pay/${H:0:2}/${H:2}"
expect_rc 1 "$EDS" verify-chain --keys "$REG" --payload-dir "$T/pay" "$C"
expect_fail_line lift-01 10 6 payload_missing
expect_out "payload $H is missing from the payload directory"
expect_out "payloads checked: 13"
H=$(jq -r 'select(.device_id == "lift-02" and .sequence == 2) | .payload_hash' "$C")
printf 'x' >>"$T/pay/${H:0:2}/${H:2}"
expect_rc 1 "$EDS" verify-chain --payload-dir "$T/pay" "$C"
expect_fail_line lift-02 3 2 payload_mismatch

# ---- --json -------------------------------------------------------------------
expect_rc 1 "$EDS" verify-chain --json --keys "$T/reg1.json" --payload-dir "$P" "$C"
J=$T/out
[ "$(jq -r '.valid' "$J")" = false ] && pass || fail "--json: valid should be false"
[ "$(jq -r '[.records, .devices, .devices_failed, .signatures_checked, .payloads_checked] | @csv' "$J")" = "16,2,1,8,8" ] &&
	pass || fail "--json counts: $(jq -c . "$J")"
[ "$(jq -r '.failures | length' "$J")" = 1 ] && pass || fail "--json: one failure expected"
[ "$(jq -r '.failures[0] | [.device_id, .index, .line, .sequence, .reason] | @csv' "$J")" = '"lift-02",1,2,1,"unknown_device"' ] &&
	pass || fail "--json failure: $(jq -c '.failures[0]' "$J")"
[ "$(jq -r '.failures[0].message' "$J")" = "device is not in the key registry" ] && pass || fail "--json message"
[ "$(jq -r '.key_source' "$J")" = registry ] && pass || fail "--json key_source"
[ "$(jq -r '.devices_detail | map([.device_id, .records, .last_sequence, .valid] | @csv) | join(" ")' "$J")" = '"lift-01",8,8,true "lift-02",8,0,false' ] &&
	pass || fail "--json devices_detail: $(jq -c .devices_detail "$J")"
HEAD=$(jq -r 'select(.device_id == "lift-01" and .sequence == 8) | .record_hash' "$C")
[ "$(jq -r '.devices_detail[0].head' "$J")" = "$HEAD" ] && pass || fail "--json head"
expect_rc 0 "$EDS" verify-chain --json --keys "$REG" "$C"
[ "$(jq -r '.valid' "$T/out")" = true ] && pass || fail "--json: valid chain"
[ "$(jq -r '.failures | length' "$T/out")" = 0 ] && pass || fail "--json: no failures"

# ---- input and usage errors: exit 2, one line ------------------------------------
awk 'NR == 5 { print "{\"format\": \"ESR1\", \"device_id\": " } { print }' "$C" >"$T/bad.jsonl"
expect_rc 2 "$EDS" verify-chain --keys "$REG" "$T/bad.jsonl"
expect_one_line_err
expect_err "eds verify-chain: $T/bad.jsonl:5: "
expect_rc 2 "$EDS" verify-chain "$T/absent.jsonl"
expect_one_line_err
expect_err "absent.jsonl"
expect_rc 2 "$EDS" verify-chain --public-key 12zz "$C"
expect_one_line_err
expect_err "eds verify-chain: --public-key: "
expect_rc 2 "$EDS" verify-chain --public-key "$(printf '%064d' 0 | tr 0 g)" "$C"
expect_one_line_err
expect_rc 2 "$EDS" verify-chain --keys "$T/absent.json" "$C"
expect_one_line_err
expect_rc 2 "$EDS" verify-chain --public-key "$HEX" --keys "$REG" "$C"
expect_one_line_err
expect_err "give --public-key or --keys, not both"
expect_rc 2 "$EDS" verify-chain
expect_one_line_err
expect_rc 2 "$EDS" verify-chain --payload-dir "$T/absent" "$C"
expect_one_line_err
expect_err "--payload-dir: $T/absent: not a directory"
expect_rc 2 "$EDS" verify-chain --payload-dir "" "$C"
expect_one_line_err
expect_rc 2 "$EDS" verify-chain "$C" "$C"
expect_one_line_err
expect_rc 2 "$EDS" verify-chain --bogus "$C"
expect_one_line_err
expect_rc 2 "$EDS" verify-chain --format esr2 "$C"
expect_one_line_err
expect_rc 2 "$EDS" verify-chain --format legacy --keys "$REG" "$C"
expect_one_line_err
expect_rc 0 "$EDS" verify-chain --help
expect_out "usage: eds verify-chain FILE"
for flag in --public-key --keys --payload-dir --json --quiet --format "Exit codes"; do
	expect_out "$flag"
done
: >"$T/empty.jsonl"
expect_rc 0 "$EDS" verify-chain --keys "$REG" "$T/empty.jsonl"
expect_err "holds no records"

# ---- progress bar: on a terminal only, for a large file -------------------------
# 7,000 one-record devices with long object_refs: over 8 MiB, links only.
awk -v ref="$(printf 'r%.0s' $(seq 1000))" 'BEGIN {
	z = sprintf("%064d", 0); s = sprintf("%0128d", 0)
	for (i = 0; i < 7000; i++)
		printf "{\"format\":\"ESR1\",\"device_id\":\"dev-%05d\",\"sequence\":1,\"timestamp_ms\":0,\"payload_size\":0,\"payload_hash\":\"%s\",\"prev_hash\":\"%s\",\"object_ref\":\"%s\",\"signature\":\"%s\"}\n", i, z, z, ref, s
}' >"$T/big.jsonl"
[ "$(stat -c %s "$T/big.jsonl")" -gt $((8 * 1024 * 1024)) ] && pass || fail "big file is not over 8 MiB"
expect_rc 0 "$EDS" verify-chain "$T/big.jsonl"
expect_out "7000 devices, 7000 records: 7000 valid, 0 failed"
if grep -q "records/s" "$T/err"; then fail "progress shown without a terminal"; else pass; fi
if command -v script >/dev/null 2>&1; then
	script -qec "'$EDS' verify-chain '$T/big.jsonl'" /dev/null >"$T/tty.out" 2>&1
	grep -q "verify-chain: .*%.* records .*records/s" "$T/tty.out" && pass ||
		fail "no progress line on a terminal: $(head -c 300 "$T/tty.out")"
	grep -q "7000 devices, 7000 records" "$T/tty.out" && pass || fail "terminal run lacks the summary"
	for flag in --quiet --json; do
		script -qec "'$EDS' verify-chain $flag '$T/big.jsonl'" /dev/null >"$T/tty.out" 2>&1
		if grep -q "records/s" "$T/tty.out"; then fail "$flag showed progress"; else pass; fi
	done
	script -qec "'$EDS' verify-chain '$C'" /dev/null >"$T/tty.out" 2>&1
	if grep -q "records/s" "$T/tty.out"; then fail "progress shown for a small file"; else pass; fi
fi

finish
