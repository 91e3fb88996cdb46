#!/bin/bash
# test_ledger_checkpoint.sh - signed operation-log heads: `eds ledger
# checkpoint --key` prints one JSON line whose signature openssl verifies over
# the 64 bytes of docs/format.md 10, rebuilt with printf and xxd; `eds ledger
# verify --checkpoint FILE --checkpoint-key KEY` passes while the log extends
# every checkpoint (also after more records), and fails with
# oplog_head_mismatch, naming FILE:LINE, when the log is cut off before one or
# rewritten and recomputed; a checkpoint signed by another key, edited, or
# malformed refuses the file (exit 2) before the ledger is read; an unchained
# (schema 3) ledger gets no checkpoint; misplaced flags are usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
need_cmd jq
cd "$T" || exit 1

ledger_through_server 2 dev-a dev-b # 4 records, 4 events
"$EDS" keygen --out op >/dev/null || fail "keygen op"
"$EDS" keygen --out other >/dev/null || fail "keygen other"

# ---- a checkpoint: one JSON line, the head verify and stats report -------------------
before=$(cat L/ledger.sqlite* | cksum)
expect_rc 0 "$EDS" ledger checkpoint --ledger L --key op.key
expect_no_err
[ "$(cat L/ledger.sqlite* | cksum)" = "$before" ] && pass || fail "checkpoint wrote to the ledger"
cp "$T/out" cps.jsonl
[ "$(wc -l <cps.jsonl)" -eq 1 ] && pass || fail "not one line: $(cat cps.jsonl)"
"$EDS" ledger stats --ledger L --json >stats.json || fail "stats"
jq -e --slurpfile s stats.json '.format == "EDS-CHECKPOINT-1" and .oplog_id == $s[0].oplog_head_id
	and .oplog_id == 4 and .oplog_head == $s[0].oplog_head
	and (keys_unsorted == ["format","oplog_id","oplog_head","time_ms","public_key","signature"])' \
	cps.jsonl >/dev/null && pass || fail "checkpoint fields: $(cat cps.jsonl)"
jq -e --arg pk "$("$EDS" pubkey op.key)" '.public_key == $pk' cps.jsonl >/dev/null && pass ||
	fail "checkpoint names another key"
expect_rc 0 "$EDS" ledger checkpoint --ledger L --key op.key --json # the same line
jq -e '.oplog_id == 4' "$T/out" >/dev/null && pass || fail "--json checkpoint"

# ---- anyone checks it with openssl: the 64 signed bytes from the six members -----------
if command -v openssl >/dev/null && command -v xxd >/dev/null; then
	cpl=$(head -n 1 cps.jsonl)
	{
		printf 'EDS-CHECKPOINT-1'
		printf '%016x' "$(jq -r .oplog_id <<<"$cpl")" | xxd -r -p
		jq -r .oplog_head <<<"$cpl" | xxd -r -p
		printf '%016x' "$(jq -r .time_ms <<<"$cpl")" | xxd -r -p
	} >msg.bin
	[ "$(stat -c %s msg.bin)" -eq 64 ] && pass || fail "message is not 64 bytes"
	{ printf '302a300506032b6570032100'; jq -r .public_key <<<"$cpl"; } | xxd -r -p >pub.der
	jq -r .signature <<<"$cpl" | xxd -r -p >sig.bin
	openssl pkey -pubin -inform DER -in pub.der -out pub.pem 2>/dev/null || fail "openssl pkey"
	openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin \
		>ossl.out 2>&1 && grep -q "Signature Verified Successfully" ossl.out && pass ||
		fail "openssl rejects the checkpoint: $(cat ossl.out)"
	printf 'X' | dd of=msg.bin bs=1 seek=30 conv=notrunc 2>/dev/null # one byte of the head
	if openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin \
		>/dev/null 2>&1; then fail "openssl accepts a changed message"; else pass; fi
else
	echo "note: openssl or xxd is missing: the outside check is skipped"
fi

# ---- verify with it: passes, and keeps passing as the log grows ------------------------
expect_rc 0 "$EDS" ledger verify --ledger L --checkpoint cps.jsonl --checkpoint-key op.pub
expect_out "signed checkpoints (cps.jsonl): 1 checked, every head still on the chain"
sign_readings 3 4 dev-a
start_server main --ledger L
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P
# beside the running server (read-only): it sees the events committed so far
"$EDS" ledger checkpoint --ledger L --key op.key >>cps.jsonl || fail "second checkpoint"
stop_server main
echo >>cps.jsonl # an empty line is skipped
expect_rc 0 "$EDS" ledger verify --ledger L --checkpoint cps.jsonl --checkpoint-key op.pub --json
expect_jq '.valid and .checkpoints_checked == 2 and .oplog_head_id == 6'
# together with --oplog-head
h2=$("$EDS" ledger log --ledger L --json | jq -r 'select(.id == 2) | "\(.id):\(.chain_hash)"')
expect_rc 0 "$EDS" ledger verify --ledger L --oplog-head "$h2" --checkpoint cps.jsonl \
	--checkpoint-key op.pub
expect_out "operation log head 2 written down earlier: still on the chain"
expect_out "signed checkpoints (cps.jsonl): 2 checked"

# ---- the newest records and their events cut off: records and log agree, the -----------
# second checkpoint does not
ledger_copy "DELETE FROM records WHERE device_id = 'dev-a' AND sequence > 2;
	UPDATE devices SET head_sequence = 2, head_hash = (SELECT record_hash FROM records
		WHERE device_id = 'dev-a' AND sequence = 2) WHERE device_id = 'dev-a';
	DELETE FROM oplog WHERE id > 4;"
expect_rc 0 "$EDS" ledger verify --ledger "$C"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --checkpoint cps.jsonl --checkpoint-key op.pub
expect_err "eds ledger: (oplog)/6: oplog_head_mismatch: checkpoint cps.jsonl:2 (signed 20"
expect_err "operation log event 6 is missing (the newest is 4): the log was cut off before it"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --checkpoint cps.jsonl --checkpoint-key op.pub --json
failures_are "oplog_head_mismatch (oplog)/6"

# ---- an event rewritten and the chain recomputed: both checkpoints show it -------------
ledger_copy "UPDATE oplog SET source = 'elsewhere' WHERE id = 1"
ledger_rechain "$C" || fail "rechain"
expect_rc 0 "$EDS" ledger verify --ledger "$C"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --checkpoint cps.jsonl --checkpoint-key op.pub --json
failures_are "oplog_head_mismatch (oplog)/4
oplog_head_mismatch (oplog)/6"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --checkpoint cps.jsonl --checkpoint-key op.pub
expect_err "checkpoint cps.jsonl:1 (signed "
expect_err "operation log event 4: chain_hash is "

# ---- a checkpoint that does not hold: the file is refused, exit 2, nothing verified ----
expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint cps.jsonl --checkpoint-key other.pub
expect_one_line_err
expect_err "--checkpoint cps.jsonl:1: checkpoint: signed by another key than the one given"
# with --json a refused file is the fatal report on stdout, as a missing ledger is
# (a script reading stdout always gets an object); a misuse of flags prints none
for cmdline in "ledger verify --ledger L" "verify-oplog L.oplog.jsonl"; do
	"$EDS" ledger log --ledger L --json >L.oplog.jsonl
	# shellcheck disable=SC2086
	expect_rc 2 "$EDS" $cmdline --checkpoint cps.jsonl --checkpoint-key other.pub --json
	expect_one_line_err
	expect_jq '. == {valid: false, error: "--checkpoint cps.jsonl:1: checkpoint: signed by another key than the one given"}'
	# shellcheck disable=SC2086
	expect_rc 2 "$EDS" $cmdline --checkpoint nowhere.jsonl --checkpoint-key op.pub --json
	expect_jq '.valid == false and (.error | startswith("--checkpoint: nowhere.jsonl: "))'
	# shellcheck disable=SC2086
	expect_rc 2 "$EDS" $cmdline --checkpoint cps.jsonl --checkpoint-key nowhere.pub --json
	expect_jq '.valid == false and (.error | startswith("--checkpoint-key: nowhere.pub: "))'
	# shellcheck disable=SC2086
	expect_rc 2 "$EDS" $cmdline --checkpoint cps.jsonl --json
	expect_no_out
done
"$EDS" ledger checkpoint --ledger L --key other.key >mixed.jsonl
sed -n 1p cps.jsonl >>mixed.jsonl
expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint mixed.jsonl --checkpoint-key op.pub
expect_err "mixed.jsonl:1: checkpoint: signed by another key"
# the key swapped in the file too: the signature is still op's
jq -c --arg pk "$("$EDS" pubkey other.key)" '.public_key = $pk' <(sed -n 1p cps.jsonl) >swap.jsonl
expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint swap.jsonl --checkpoint-key other.pub
expect_err "swap.jsonl:1: checkpoint: the signature does not verify"
for edit in '.oplog_id = 3' '.time_ms += 1' '.oplog_head = ("00" * 31 + "01")'; do
	{ sed -n 1p cps.jsonl; jq -c "$edit" <(sed -n 2p cps.jsonl); } >edited.jsonl
	expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint edited.jsonl --checkpoint-key op.pub
	expect_err "edited.jsonl:2: checkpoint: the signature does not verify"
done
bad() { # bad JSON-TEXT PHRASE: a malformed checkpoint line
	printf '%s\n' "$1" >bad.jsonl
	expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint bad.jsonl --checkpoint-key op.pub
	expect_one_line_err
	expect_err "$2"
}
line=$(sed -n 1p cps.jsonl)
bad "${line%?}" "bad.jsonl:1: checkpoint: JSON"
bad "$(jq -c 'del(.signature)' <<<"$line")" "checkpoint.signature: required"
bad "$(jq -c '.extra = 1' <<<"$line")" "checkpoint: unknown member"
bad "$(jq -c '.format = "EDS-CHECKPOINT-2"' <<<"$line")" "checkpoint.format: must be \"EDS-CHECKPOINT-1\""
bad "$(jq -c '.oplog_id = 9007199254740992' <<<"$line")" "checkpoint.oplog_id: must be 0 .. 2^53-1"
bad "$(jq -c '.oplog_id = "4"' <<<"$line")" "checkpoint.oplog_id: required, an integer"
bad "$(jq -c '.oplog_head = "abc"' <<<"$line")" "checkpoint.oplog_head: must be 64 hex digits"
bad "$(jq -c '.oplog_id = 0' <<<"$line")" "checkpoint.oplog_head: must be zero exactly when oplog_id is 0"
bad "$(jq -c '.public_key = ("01" + "00" * 31)' <<<"$line")" "checkpoint.public_key: not a valid Ed25519 point"
bad "[1]" "checkpoint: must be a JSON object"
bad "$(printf '{"format":"%01100d"}' 0)" "checkpoint: 1113 bytes, at most 1024"
expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint missing.jsonl --checkpoint-key op.pub
expect_err "missing.jsonl"

# ---- an empty log's checkpoint: signed and checked, no head to find -----------------
"$EDS" device add --ledger E --id dev-a --public-key k.pub || fail "add"
expect_rc 0 "$EDS" ledger checkpoint --ledger E --key op.key
jq -e '.oplog_id == 0 and .oplog_head == ("00" * 32)' "$T/out" >/dev/null && pass ||
	fail "empty-log checkpoint: $(cat "$T/out")"
cp "$T/out" empty.jsonl
expect_rc 0 "$EDS" ledger verify --ledger E --checkpoint empty.jsonl --checkpoint-key op.pub --json
expect_jq '.valid and .checkpoints_checked == 0'

# ---- a big checkpoint file shows progress on a terminal --------------------------------
# 23,000 copies of one checkpoint (8.5 MB, some 3 s of signature checks): a progress
# line on a terminal, none with --quiet, and the same result as the file with one line
command -v script >/dev/null 2>&1 || fail "script (util-linux) is missing"
head -n1 cps.jsonl >one.jsonl
for _ in $(seq 1 23); do cat one.jsonl; done >k.jsonl
for _ in $(seq 1 1000); do cat k.jsonl; done >big.jsonl
"$EDS" ledger log --ledger L --json >L.oplog.jsonl
tty_run "'$EDS' ledger verify --ledger L --checkpoint big.jsonl --checkpoint-key op.pub"
expect_progress "ledger verify" checkpoints
grep -q "signed checkpoints (big.jsonl): 23000 checked" tty.out && pass || fail "big file: $(tail -c 300 tty.out)"
tty_run "'$EDS' verify-oplog L.oplog.jsonl --checkpoint big.jsonl --checkpoint-key op.pub --quiet"
expect_no_progress checkpoints "verify-oplog --quiet"

# ---- no checkpoint of an unchained log; usage errors -------------------------------
ledger_copy "ALTER TABLE oplog DROP COLUMN chain_hash; PRAGMA user_version = 3"
expect_rc 2 "$EDS" ledger checkpoint --ledger "$C" --key op.key
expect_one_line_err
expect_err "the operation log is not chained"
expect_no_out
expect_rc 2 "$EDS" ledger checkpoint --ledger L
expect_err "--key KEY is required"
expect_rc 2 "$EDS" ledger verify --ledger L --key op.key
expect_err "--key is only for checkpoint"
expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint cps.jsonl
expect_err "--checkpoint needs --checkpoint-key KEY"
expect_rc 2 "$EDS" ledger verify --ledger L --checkpoint-key op.pub
expect_err "--checkpoint-key is only with --checkpoint FILE"
expect_rc 2 "$EDS" ledger stats --ledger L --checkpoint cps.jsonl --checkpoint-key op.pub
expect_err "--checkpoint is only for verify"
expect_rc 2 "$EDS" ledger checkpoint --ledger L --key op.pub
expect_err "--key"
chmod 644 op.key
expect_rc 2 "$EDS" ledger checkpoint --ledger L --key op.key
expect_err "--key"
expect_no_out
chmod 600 op.key
expect_rc 2 "$EDS" ledger checkpoint --ledger NOPE --key op.key
expect_err "NOPE"

finish
