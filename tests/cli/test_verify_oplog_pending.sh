#!/bin/bash
# test_verify_oplog_pending.sh - `eds verify-oplog FILE --pending PENDING`
# checks an export's pending.jsonl against its operation log: records are
# pushed to a real `eds serve`, some without their payload, one of those
# completed by a PUT, another accepted after a PUT of its payload hash (it
# stays pending); the genuine export passes (text, --json pending_checked,
# with --records); a stored record's line appended, or a line edited to name
# it, fails (pending_payload_stored) naming PENDING:LINE and both events; a
# listed record no accepted event names fails (pending_not_logged); bad lines
# exit 2 naming PENDING:LINE.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1

"$EDS" keygen --out k >/dev/null || fail "keygen"
for d in dev-a dev-b dev-c; do
	"$EDS" device add --ledger L --id "$d" --public-key k.pub || fail "add $d"
done
sign_readings 1 3 dev-a # c.jsonl: dev-a/1..3, payloads in P
echo "shared reading" >same
"$EDS" sign --key k.key --device dev-b --chain c.jsonl --payload same >/dev/null || fail "sign b"
"$EDS" sign --key k.key --device dev-c --chain c.jsonl --payload same >/dev/null || fail "sign c"
rec() { sed -n "${1}p" c.jsonl; }
phash() { rec "$1" | jq -r .payload_hash; }
file_of() { local h; h=$(phash "$1"); echo "P/${h:0:2}/${h:2}"; }

start_server main --ledger L
item "$(rec 1)" "$(file_of 1)" >b; post_json b; expect_code 201 # dev-a/1 with its payload
item "$(rec 2)" >b; post_json b; expect_code 201                 # dev-a/2 pending ...
item "$(rec 3)" >b; post_json b; expect_code 201                 # dev-a/3 pending
req PUT "/api/v1/payloads/$(phash 2)" --data-binary "@$(file_of 2)"
expect_code 201 # ... dev-a/2 stored: a payload event
item "$(rec 4)" >b; post_json b; expect_code 201 # dev-b/1 pending ...
req PUT "/api/v1/payloads/$(phash 4)" --data-binary @same
expect_code 201                                  # ... stored
item "$(rec 5)" >b; post_json b; expect_code 201 # dev-c/1, the same payload: pending
stop_server main
expect_rc 0 "$EDS" ledger export --ledger L --out E
O=E/oplog.jsonl
PE=E/pending.jsonl
[ "$(jq -r '"\(.device_id)/\(.sequence)"' $PE | sort | tr '\n' ' ')" = "dev-a/3 dev-c/1 " ] &&
	pass || fail "pending.jsonl: $(cat $PE)"
# the events: accepted per place, payload per hash
acc() { jq -r --arg d "$1" "select(.decision == \"accepted\" and .device_id == \$d
	and .sequence == $2) | .id" $O; }
put() { jq -r --arg h "$1" 'select(.decision == "payload" and .record_hash == $h) | .id' $O; }
acc_a2=$(acc dev-a 2) put_a2=$(put "$(phash 2)")
[ -n "$acc_a2" ] && [ -n "$put_a2" ] && [ "$acc_a2" -lt "$put_a2" ] && pass ||
	fail "no accept before the payload event of dev-a/2: $(cat $O)"
[ "$(put "$(phash 5)")" -lt "$(acc dev-c 1)" ] && pass ||
	fail "dev-c/1 not accepted after the payload event of its hash"

# ---- the genuine export passes --------------------------------------------------
expect_rc 0 "$EDS" verify-oplog $O --pending $PE
expect_no_err
expect_out "pending list ($PE) agrees with the operation log: 2 records, each accepted, no payload stored since"
expect_rc 0 "$EDS" verify-oplog $O --pending $PE --records E/records.jsonl --json
expect_jq '.valid and .pending_checked == 2 and .records_checked == 5 and .accepted_checked == 5
	and .failure_count == 0'
# and verify-chain agrees: the listed payloads are the missing ones
expect_rc 0 "$EDS" verify-chain E/records.jsonl --keys E/registry.json --payload-dir E/payloads \
	--pending $PE
: >none.jsonl
expect_rc 0 "$EDS" verify-oplog $O --pending none.jsonl --json
expect_jq '.valid and .pending_checked == 0'

# ---- a stored payload listed: pending_payload_stored -----------------------------
a2='{"device_id":"dev-a","sequence":2,"payload_hash":"'"$(phash 2)"'"}'
{ cat $PE; echo "$a2"; } >appended.jsonl
expect_rc 1 "$EDS" verify-oplog $O --pending appended.jsonl
expect_err "eds verify-oplog: dev-a/2: pending_payload_stored: appended.jsonl:3 lists this record's payload as pending, but operation log event $put_a2 stored it"
expect_err "after event $acc_a2 accepted the record"
expect_err "1 failures in"
expect_rc 1 "$EDS" verify-oplog $O --pending appended.jsonl --json
failures_are "pending_payload_stored dev-a/2"
expect_jq '.valid == false and .pending_checked == 3 and .failure_count == 1
	and (.failures[0].message | startswith("appended.jsonl:3 lists"))'
# a line edited to name it (its first line)
{ echo "$a2"; sed 1d $PE; } >edited.jsonl
expect_rc 1 "$EDS" verify-oplog $O --pending edited.jsonl --quiet
expect_no_out
expect_err "dev-a/2: pending_payload_stored: edited.jsonl:1 lists"
# dev-b/1, stored by the PUT after its accept, whose hash dev-c/1 still waits for
echo '{"device_id":"dev-b","sequence":1,"payload_hash":"'"$(phash 4)"'"}' >b1.jsonl
expect_rc 1 "$EDS" verify-oplog $O --pending b1.jsonl --json
failures_are "pending_payload_stored dev-b/1"

# ---- a listed record no accepted event names: pending_not_logged ------------------
{ cat $PE; echo '{"device_id":"dev-a","sequence":9,"payload_hash":"'"$(phash 3)"'"}';
	echo "$a2"; echo '{"device_id":"ghost","sequence":1,"payload_hash":"'"$(phash 3)"'"}'; } >extra.jsonl
expect_rc 1 "$EDS" verify-oplog $O --pending extra.jsonl --json
failures_are "pending_not_logged dev-a/9
pending_payload_stored dev-a/2
pending_not_logged ghost/1"
expect_jq '.failures[0].message | startswith("extra.jsonl:3 lists this record as pending, but no \"accepted\" event")'
# dev-a/3's accepted event deleted from the log: the chain breaks, and its line is not logged
sed "$(acc dev-a 3)d" $O >noacc.jsonl
expect_rc 1 "$EDS" verify-oplog noacc.jsonl --pending $PE --json
expect_jq '[.failures[] | select(.reason == "pending_not_logged") | "\(.device_id)/\(.sequence)"]
	== ["dev-a/3"]'

# ---- bad lines and files: exit 2 naming PENDING:LINE -----------------------------
{ head -n 1 $PE; echo '{"device_id":"dev-a","sequence":0,"payload_hash":"'"$(phash 3)"'"}'; } >bad.jsonl
expect_rc 2 "$EDS" verify-oplog $O --pending bad.jsonl
expect_one_line_err
expect_err "bad.jsonl:2: pending.sequence: must be 1 .. 2^53-1"
expect_no_out
expect_rc 2 "$EDS" verify-oplog $O --pending bad.jsonl --json
expect_jq '.valid == false and (.error | contains("bad.jsonl:2: pending.sequence"))'
echo '{"device_id":"dev-a","sequence":1}' >bad2.jsonl
expect_rc 2 "$EDS" verify-oplog $O --pending bad2.jsonl
expect_err "bad2.jsonl:1: pending.payload_hash: required"
expect_rc 2 "$EDS" verify-oplog $O --pending nosuch.jsonl
expect_one_line_err
expect_rc 2 "$EDS" verify-oplog $O --pending $PE --pending $PE
expect_rc 0 "$EDS" verify-oplog --help
expect_out "--pending PENDING"

finish
