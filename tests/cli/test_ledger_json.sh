#!/bin/bash
# test_ledger_json.sh - the machine-readable side of `eds ledger verify` and
# `eds device list`: --json reports of a good ledger and of a damaged one
# (the same failures the text mode prints, capped at 1000 with the rest
# counted), --quiet, the JSON of a fatal error (device list's too), device list --json after
# add/rotate/revoke, usage errors; and the progress line of ledger verify
# and export on a terminal for a ledger of 50,000 records, never without a
# terminal, with --json or --quiet, or for a small ledger.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
cd "$T" || exit 1

# payload_file DEVICE SEQUENCE: the ledger's payload file of that record.
payload_file() {
	local h
	h=$(jq -r --arg d "$1" --argjson s "$2" \
		'select(.device_id == $d and .sequence == $s) | .payload_hash' c.jsonl)
	echo "L/payloads/${h:0:2}/${h:2}"
}

# ---- a ledger of 2 devices x 5 records with their payloads, through a server ----
"$EDS" keygen --out k2 >/dev/null
ledger_through_server 5 dev-a dev-b

# ---- stats: the counts at once, read-only ------------------------------------------
expect_rc 0 "$EDS" ledger stats --ledger L --json
expect_no_err
expect_jq '.ok and .devices == 2 and .records == 10 and .pending_payloads == 0
	and .events == 10 and .journaled_payloads == 0 and .bytes > 0'
expect_rc 0 "$EDS" ledger stats --ledger L
expect_out "records:            10"
expect_out "payloads pending:   0"
sum=$(cat L/ledger.sqlite* | sha256sum)
chmod -R a-w L
expect_rc 0 "$EDS" ledger stats --ledger L
chmod -R u+w L
[ "$(cat L/ledger.sqlite* | sha256sum)" = "$sum" ] && pass || fail "ledger stats changed the ledger"
expect_rc 2 "$EDS" ledger stats --ledger nowhere --json
expect_jq '.ok == false and (.error | test("no ledger"))'
expect_rc 2 "$EDS" ledger stats --ledger L --threads 2
expect_err "--threads is only for verify"

# ---- a good ledger ------------------------------------------------------------------
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "ledger OK: 2 devices, 10 records, 10 signatures, 10 payloads checked, 0 pending"
expect_rc 0 "$EDS" ledger verify --ledger L --json
expect_no_err
expect_jq '.valid == true and .records == 10 and .devices == 2 and .signatures_checked == 10
	and .payloads_checked == 10 and .payloads_pending == 0 and .journaled_payloads == 0
	and .failure_count == 0 and .failures == [] and .failures_omitted == 0'
[ "$(wc -l <"$T/out")" -eq 1 ] && [ "$(jq -s length "$T/out")" -eq 1 ] && pass ||
	fail "--json printed more than one object: $(cat "$T/out")"
expect_rc 0 "$EDS" ledger verify --ledger L --json --threads 1
expect_jq '.valid == true and .signatures_checked == 10'
expect_rc 0 "$EDS" ledger verify --ledger L --quiet
[ ! -s "$T/out" ] && pass || fail "--quiet printed a summary: $(cat "$T/out")"
expect_no_err

# export and recover --json: one object, the counts of the text summary
expect_rc 0 "$EDS" ledger export --ledger L --out XJ --json
expect_no_err
expect_jq '. == {"ok":true,"out":"XJ","records":10,"payloads":10,"pending":0,"missing":0,"events":10}'
[ "$(wc -l <XJ/records.jsonl)" -eq 10 ] && pass || fail "export --json wrote $(wc -l <XJ/records.jsonl) records"
expect_rc 0 "$EDS" ledger recover --ledger L --json
expect_no_err
expect_jq '. == {"ok":true,"restored":0,"demoted":0}'

# ---- a damaged ledger: a payload deleted, one altered, a stored hash and a head changed ----
# (the stored hash no longer the one the operation log accepted: two failures more)
rm "$(payload_file dev-a 2)" || fail "rm payload"
echo altered >"$(payload_file dev-b 4)" || fail "alter payload"
sqlite3 L/ledger.sqlite "
UPDATE records SET record_hash = zeroblob(32) WHERE device_id = 'dev-b' AND sequence = 1;
UPDATE devices SET head_sequence = 4 WHERE device_id = 'dev-a';" || fail "sqlite3"
expect_rc 1 "$EDS" ledger verify --ledger L
cp "$T/err" text.err
expect_err "eds ledger: dev-a/2: "
expect_err "eds ledger: dev-b/4: "
expect_err "eds ledger: dev-b/1: stored record_hash differs from the record's"
expect_err "eds ledger: dev-a: stored head 4 does not match its 5 records"
expect_err "eds ledger: dev-b/1: record_not_logged: "
expect_err "eds ledger: dev-b/1: logged_record_missing: operation log event "
expect_err "eds ledger: 6 failures in 10 records"
expect_rc 1 "$EDS" ledger verify --ledger L --json
expect_no_err
expect_jq '.valid == false and .records == 10 and .failure_count == 6 and .failures_omitted == 0
	and (.failures | length) == 6 and .payloads_checked == 8'
expect_jq '.failures | any(.device_id == "dev-a" and .sequence == 2 and .reason == "payload_missing")'
expect_jq '.failures | any(.device_id == "dev-b" and .sequence == 4 and .reason == "payload_mismatch")'
expect_jq '.failures | any(.device_id == "dev-b" and .sequence == 1
	and .reason == "record_hash_mismatch" and .message == "stored record_hash differs from the record'"'"'s")'
expect_jq '.failures | any(.device_id == "dev-a" and .sequence == 4 and .reason == "head_mismatch"
	and .message == "stored head 4 does not match its 5 records")'
expect_jq '[.failures[] | select(.device_id == "dev-b" and .sequence == 1) | .reason]
	== ["record_hash_mismatch", "record_not_logged", "logged_record_missing"]'
# the JSON lists what the text printed, in the same order, message for message (the
# text shows some reasons before the message)
jq -r '.failures[] | "\(.device_id) \(.message)"' "$T/out" >json.msgs
sed -n 's|^eds ledger: \([^/:]*\)[^ ]* \([a-z_]*: \)\{0,1\}\(.*\)|\1 \3|p' text.err | head -6 >text.msgs
cmp -s json.msgs text.msgs && pass || { fail "JSON failures differ from the text's"; diff text.msgs json.msgs >&2; }
expect_rc 1 "$EDS" ledger verify --ledger L --quiet
[ ! -s "$T/out" ] && pass || fail "--quiet printed to stdout: $(cat "$T/out")"
[ "$(wc -l <"$T/err")" -eq 6 ] && pass || fail "--quiet: want the 6 failure lines: $(cat "$T/err")"
if grep -q "failures in" "$T/err"; then fail "--quiet printed the summary"; else pass; fi

# ---- a fatal error: one line on stderr, exit 2, and an object with error ---------------
expect_rc 2 "$EDS" ledger verify --ledger nowhere --json
expect_one_line_err
expect_jq '.valid == false and (.error | test("no ledger"))'
expect_rc 2 "$EDS" ledger verify --ledger nowhere
[ ! -s "$T/out" ] && pass || fail "text mode printed to stdout on a fatal error"

# export of the damaged ledger: written, ok false and exit 1 for the 2 payloads
expect_rc 1 "$EDS" ledger export --ledger L --out XD --json
expect_jq '.ok == false and .records == 10 and .payloads == 8 and .missing == 2'
expect_no_err
# fatal errors of export and recover: {"ok":false,"error":...}, exit 2
expect_rc 2 "$EDS" ledger export --ledger L --out XJ --json
expect_one_line_err
expect_jq '.ok == false and (.error | test("records.jsonl"))'
expect_rc 2 "$EDS" ledger recover --ledger nowhere --json
expect_one_line_err
expect_jq '.ok == false and (.error | test("no ledger"))'
# device list's too: the object of eds ledger's actions, its error the stderr line's
# message; without --json stdout stays empty
expect_rc 2 "$EDS" device list --ledger nowhere --json
expect_one_line_err
expect_jq '. == {ok: false, error: "--ledger: nowhere: no ledger here (no ledger.sqlite)"}'
expect_err "eds device: --ledger: nowhere: no ledger here (no ledger.sqlite)"
expect_rc 2 "$EDS" device list --ledger nowhere
expect_no_out

# ---- usage errors --------------------------------------------------------------------
expect_rc 2 "$EDS" ledger recover --ledger L --quiet
expect_one_line_err
expect_err "--quiet is only for verify"
expect_rc 2 "$EDS" device add --ledger L --id dev-c --public-key k.pub --json
expect_one_line_err
expect_err "--json is only for list"
expect_rc 2 "$EDS" device list --ledger L --json=yes
expect_one_line_err
# a flag's value is never a switch: "--out --json" exports into a directory named --json
# (exit 1: payload files damaged above are not copied, and are named as missing)
expect_rc 1 "$EDS" ledger export --ledger L --out --json
[ -f ./--json/records.jsonl ] && pass || fail "--out --json did not export into ./--json: $(cat "$T/err")"
expect_err "2 records' payload files are missing or damaged in the ledger"
expect_rc 2 "$EDS" ledger verify --ledger --json
expect_err "no ledger"

# ---- device list --json after add, rotate, revoke --------------------------------
expect_rc 0 "$EDS" device add --ledger L --id dev-c --public-key k.pub
expect_rc 0 "$EDS" device rotate --ledger L --id dev-a --public-key k2.pub --from-sequence 6
expect_rc 0 "$EDS" device revoke --ledger L --id dev-b --from-sequence 8
K1=$("$EDS" pubkey k.pub)
K2=$("$EDS" pubkey k2.pub)
HA=$(jq -r 'select(.device_id == "dev-a" and .sequence == 5) | .record_hash' c.jsonl)
expect_rc 0 "$EDS" device list --ledger L --json
expect_no_err
expect_jq '[.devices[].device_id] == ["dev-a", "dev-b", "dev-c"]'
expect_jq ".devices[0] == {device_id: \"dev-a\", head_sequence: 4, head_hash: \"$HA\",
	revoked_from: null, keys: [{from_sequence: 1, public_key: \"$K1\"},
	{from_sequence: 6, public_key: \"$K2\"}]}"
expect_jq '.devices[1].revoked_from == 8 and .devices[1].head_sequence == 5
	and (.devices[1].keys | length) == 1'
expect_jq ".devices[2] == {device_id: \"dev-c\", head_sequence: 0, head_hash: null,
	revoked_from: null, keys: [{from_sequence: 1, public_key: \"$K1\"}]}"
# the same facts as the text lines
jq -r '.devices[] | "\(.device_id) \(.head_sequence) \(.revoked_from // "-")"
	+ ([.keys[] | " \(.from_sequence):\(.public_key)"] | join(""))' "$T/out" >json.list
expect_rc 0 "$EDS" device list --ledger L
cmp -s json.list "$T/out" && pass || { fail "device list --json differs from the text"; diff "$T/out" json.list >&2; }

# ---- progress: a ledger of 50,000 records (rows written straight into SQLite) -----------
GEN=$EDS_BUILD_DIR/bench/bench_gen_chain
# Both are always there (the build makes one, util-linux has the other): a miss is a failure.
[ -x "$GEN" ] || fail "bench_gen_chain is not built: $GEN"
command -v script >/dev/null 2>&1 || fail "script (util-linux) is missing"
if [ -x "$GEN" ] && command -v script >/dev/null 2>&1; then
	PUB=$("$GEN" big.jsonl 50000) || fail "bench_gen_chain"
	"$EDS" device add --ledger B --id bench-0001 --public-key "$PUB" || fail "add"
	{ echo "BEGIN;"; ledger_sql big.jsonl bench-0001; echo "COMMIT;"; } |
		sqlite3 B/ledger.sqlite || fail "sqlite3"
	ledger_rechain B || fail "chain the operation log"
	tty_run "'$EDS' ledger verify --ledger B"
	expect_progress "ledger verify" records
	grep -q "ledger OK: 1 devices, 50000 records" tty.out && pass || fail "terminal run lacks the summary"
	for flag in --json --quiet; do
		tty_run "'$EDS' ledger verify --ledger B $flag"
		expect_no_progress records "$flag"
	done
	tty_run "'$EDS' ledger export --ledger B --out BX"
	expect_progress "ledger export" records
	grep -q "exported 50000 records" tty.out && pass || fail "terminal export lacks the summary"
	tty_run "'$EDS' ledger backup --ledger B --out BB"
	expect_progress "ledger backup" records
	grep -q "backed up 50000 records" tty.out && pass || fail "terminal backup lacks the summary"
	tty_run "'$EDS' ledger verify --ledger L"
	expect_no_progress records "a small ledger"
	# 1,100 stored hashes changed, each three failures (record_hash_mismatch, and the
	# "accepted" events name the old hashes: record_not_logged, logged_record_missing):
	# the JSON lists the first 1,000 and counts the rest
	sqlite3 B/ledger.sqlite "UPDATE records SET record_hash = zeroblob(32) WHERE sequence <= 1100;" ||
		fail "sqlite3"
	expect_rc 1 "$EDS" ledger verify --ledger B --json
	expect_no_err
	expect_jq '.failure_count == 3300 and (.failures | length) == 1000 and .failures_omitted == 2300
		and .failures[999].sequence == 1000 and .failures[999].reason == "record_hash_mismatch"'
	expect_rc 1 "$EDS" ledger verify --ledger B
	expect_err "eds ledger: 3300 failures in 50000 records"
	if grep -q "records/s" "$T/err"; then fail "progress shown without a terminal"; else pass; fi
else
	echo "note: bench_gen_chain or script is missing: progress not checked"
fi
finish
