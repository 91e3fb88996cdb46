#!/usr/bin/env bash
# eds demo: the genuine chain verifies, all five tamperings are detected with
# their specific reasons; part 2 (agents, server, gate, auditor) behaves as
# documented; --json reports the same, --keep leaves files that
# `eds verify-chain` and `eds ledger verify` check, and the temporary
# directory is removed.
. "$(dirname "$0")/lib.sh"
need_cmd jq

export TMPDIR=$T/tmp
mkdir "$TMPDIR"

expect_rc 0 "$EDS" demo
expect_out "2 devices, 16 records: 2 valid, 0 failed; signatures checked: 16; payloads checked: 16"
expect_out "demo: genuine chain valid; 5 of 5 tampering cases detected"
[ ! -s "$T/err" ] && pass || fail "demo wrote to stderr"
[ -z "$(ls -A "$TMPDIR")" ] && pass || fail "the temporary directory was left behind: $(ls "$TMPDIR")"

# Each case: its FAIL line with the specific reason, and DETECTED.
expect_out "[1/5] changed payload byte"
expect_out "FAIL device=lift-02 record=#7 line=8 sequence=4 reason=payload_mismatch: payload "
expect_out "[2/5] reordered pair"
expect_out "FAIL device=lift-01 record=#10 line=11 sequence=7 reason=sequence_gap: sequence gap: expected 6"
expect_out "[3/5] deleted record"
expect_out "FAIL device=lift-02 record=#10 line=11 sequence=6 reason=sequence_gap: sequence gap: expected 5"
expect_out "[4/5] forged signature"
expect_out "FAIL device=lift-02 record=#7 line=8 sequence=4 reason=bad_signature: signature does not verify"
expect_out "[5/5] record replayed under a new sequence"
expect_out "FAIL device=lift-01 record=#16 line=17 sequence=9 reason=bad_signature: signature does not verify"
expect_out "ESR1 signs every field"
[ "$(grep -c -- '-> DETECTED (expected reason' "$T/out")" -eq 5 ] && pass ||
	fail "not 5 DETECTED lines"

# Part 2: agents queue offline and across a restart, deliver over HTTP to a
# real server on loopback, the gate refuses each attack with its code, the
# auditor's offline check is clean and then catches the insider's edit.
expect_out "lift-02: uplink down: 4 readings signed and queued durably"
expect_out "lift-02: 4 still queued; 4 more readings signed from sequence 5 on"
expect_out "lift-02: uplink back: 8 records confirmed durable by the server, 0 left in the queue"
for c in "swapped-payload.*payload_mismatch" "rewritten-history.*-> fork" "back-dated.*bad_signature" \
	"hidden-record.*sequence_gap" "unknown-device.*unknown_device" "replay.*-> duplicate" \
	"outside-address.*forbidden_source"; do
	grep -q -- "$c" "$T/out" && pass || fail "attack line /$c/ missing"
done
expect_out "16 records of 2 devices: 16 signatures and 16 payloads check out, 0 devices failed"
expect_out "FAIL device=lift-02 sequence=8 reason=payload_mismatch"
expect_out "device to server to auditor: everything as expected"
! grep -q UNEXPECTED "$T/out" && pass || fail "an UNEXPECTED line: $(grep UNEXPECTED "$T/out")"

# --json: the same facts, machine-readable.
expect_rc 0 "$EDS" demo --json
J=$T/out
[ "$(jq -r '.ok' "$J")" = true ] && pass || fail "--json: ok is not true"
[ "$(jq -r '[.detected, .total] | @csv' "$J")" = "5,5" ] && pass || fail "--json: detected/total"
[ "$(jq -r '.genuine | [.valid, .records, .devices, .signatures_checked, .payloads_checked] | @csv' "$J")" = "true,16,2,16,16" ] &&
	pass || fail "--json genuine: $(jq -c .genuine "$J")"
[ "$(jq -r '.cases | map(.expected_reason + ":" + (.detected | tostring) + ":" + .failures[0].reason + ":" + .failures[0].device_id) | join(" ")' "$J")" = \
	"payload_mismatch:true:payload_mismatch:lift-02 sequence_gap:true:sequence_gap:lift-01 sequence_gap:true:sequence_gap:lift-02 bad_signature:true:bad_signature:lift-02 bad_signature:true:bad_signature:lift-01" ] &&
	pass || fail "--json cases: $(jq -c '.cases | map([.name, .detected, .failures])' "$J")"
[ "$(jq -r '.pipeline | [.ok, .delivered, .audit.records, .audit.devices_failed, .audit_after_insider_edit.devices_failed, .insider_edit_detected] | @csv' "$J")" = "true,16,16,0,1,true" ] &&
	pass || fail "--json pipeline: $(jq -c .pipeline "$J")"
[ "$(jq -r '.pipeline.attacks | map(select(.as_expected and .got == .expected)) | length' "$J")" = 7 ] &&
	pass || fail "--json attacks: $(jq -c .pipeline.attacks "$J")"

# --keep: files that verify-chain checks (valid) and tampered copies (invalid).
K=$T/kept
expect_rc 0 "$EDS" demo --keep "$K"
expect_out "files kept in $K"
expect_out "eds ledger verify --ledger $K/server"
for f in registry.json chain.jsonl keys/lift-01.key keys/lift-01.pub keys/lift-02.key keys/lift-02.pub; do
	[ -s "$K/$f" ] && pass || fail "--keep: $f missing"
done
[ "$(stat -c %a "$K/keys/lift-01.key")" = 600 ] && pass || fail "secret key is not mode 0600"
expect_rc 0 "$EDS" verify-chain --keys "$K/registry.json" --payload-dir "$K/payloads" "$K/chain.jsonl"
expect_out "2 devices, 16 records: 2 valid, 0 failed; signatures checked: 16; payloads checked: 16"
expect_rc 0 "$EDS" verify-chain --public-key "$K/keys/lift-01.pub" <(grep '"lift-01"' "$K/chain.jsonl")
expect_out "1 device, 8 records: 1 valid, 0 failed; signatures checked: 8"
n=0
for c in "$K"/tamper/*/; do
	p=$c/payloads
	[ -d "$p" ] || p=$K/payloads
	expect_rc 1 "$EDS" verify-chain --keys "$K/registry.json" --payload-dir "$p" "$c/chain.jsonl"
	n=$((n + 1))
done
[ "$n" -eq 5 ] && pass || fail "--keep: $n tamper cases, want 5"
# the server's ledger as kept: its audit reports the insider's edit, and the
# agents' state is there for `eds agent status`
expect_rc 1 "$EDS" ledger verify --ledger "$K/server"
expect_err "payload"
[ -d "$K/agents/lift-01" ] && [ -d "$K/agents/lift-02" ] && pass || fail "--keep: agents/ missing"

# --keep refuses a non-empty directory; bad usage.
expect_rc 2 "$EDS" demo --keep "$K"
expect_one_line_err
expect_err "not empty"
expect_rc 2 "$EDS" demo --bogus
expect_one_line_err
expect_rc 2 "$EDS" demo extra
expect_one_line_err
expect_rc 0 "$EDS" demo --help
expect_out "--keep DIR"
expect_out "--json"
expect_out "Exit codes"

finish
