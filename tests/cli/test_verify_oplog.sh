#!/bin/bash
# test_verify_oplog.sh - `eds verify-oplog FILE` checks an export's oplog.jsonl
# offline as `eds ledger verify` checks the ledger's log: the untouched export
# verifies with the head ledger verify prints; an event edited, one deleted,
# two swapped or a chain_hash emptied fail (oplog_chain_broken) at the ids
# ledger verify names for the same change made with sqlite3; --oplog-head and
# a checkpoint of `eds ledger checkpoint` pass on the export and fail
# (oplog_head_mismatch) on a copy cut off before them; an unchained log says
# so; malformed lines (bad JSON, unknown member, wrong type, id out of range,
# over-long line) are exit 2 naming FILE:LINE; --json keys; usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
need_cmd jq
cd "$T" || exit 1

ledger_through_server 3 dev-a dev-b # 6 records, 6 accepted events
expect_rc 0 "$EDS" ledger export --ledger L --out E
O=E/oplog.jsonl
[ "$(wc -l <$O)" -eq 6 ] && pass || fail "oplog.jsonl has $(wc -l <$O) lines, want 6"

# ---- untouched: valid, the head ledger verify prints -------------------------------
expect_rc 0 "$EDS" ledger verify --ledger L
head=$(sed -n 's/^operation log OK: 6 events chained, head \(6:[0-9a-f]\{64\}\)$/\1/p' "$T/out")
[ -n "$head" ] && pass || fail "ledger verify printed no head: $(cat "$T/out")"
expect_rc 0 "$EDS" verify-oplog $O
expect_no_err
[ "$(cat "$T/out")" = "operation log OK: 6 events chained, head $head" ] && pass ||
	fail "verify-oplog: $(cat "$T/out")"
expect_rc 0 "$EDS" verify-oplog $O --json
expect_no_err
expect_jq ".valid and .chained and .events_checked == 6 and .oplog_head == \"${head#6:}\"
	and .oplog_head_id == 6 and .checkpoints_checked == 0 and .failure_count == 0
	and .failures == [] and .failures_omitted == 0 and (keys_unsorted == [\"valid\",
	\"chained\", \"events_checked\", \"oplog_head\", \"oplog_head_id\",
	\"checkpoints_checked\", \"failure_count\", \"failures\", \"failures_omitted\"])"
expect_rc 0 "$EDS" verify-oplog $O --quiet
expect_no_out
expect_no_err
expect_rc 0 "$EDS" verify-oplog - <$O # standard input
expect_out "head $head"
# empty lines are skipped
{ echo; sed 2G $O; } >blank.jsonl
expect_rc 0 "$EDS" verify-oplog blank.jsonl
expect_out "head $head"

# breaks FILE: the ids of the oplog_chain_broken failures of the last --json run, sorted.
breaks() {
	jq -r '[.failures[] | select(.reason == "oplog_chain_broken" and .device_id == "(oplog)")
		| .sequence] | sort | map(tostring) | join(" ")' "$T/out"
}

# tampered SQL EDIT WANT: sqlite3 SQL on a copy of L, and sed EDIT on a copy
# of the export's oplog.jsonl, are the same change: ledger verify and
# verify-oplog both fail naming the breaks at the ids WANT (sorted).
tampered() {
	local sql=$1 edit=$2 want=$3 name=X$RANDOM got
	cp -r L "$name"
	sqlite3 "$name/ledger.sqlite" "$sql" || fail "sqlite3 $sql"
	expect_rc 1 "$EDS" ledger verify --ledger "$name" --json
	got=$(breaks)
	[ "$got" = "$want" ] && pass || fail "ledger verify after $sql: breaks at '$got', want '$want'"
	sed "$edit" $O >"$name.jsonl"
	cmp -s $O "$name.jsonl" && fail "sed $edit changed nothing"
	expect_rc 1 "$EDS" verify-oplog "$name.jsonl" --json
	got=$(breaks)
	[ "$got" = "$want" ] && pass || fail "verify-oplog after sed $edit: breaks at '$got', want '$want'"
	jq -e '.valid == false and .failure_count == (.failures | length)
		and ([.failures[] | select(.reason != "oplog_chain_broken")] == [])' "$T/out" \
		>/dev/null && pass || fail "verify-oplog --json after $edit: $(cat "$T/out")"
	expect_rc 1 "$EDS" verify-oplog "$name.jsonl"
	expect_err "eds verify-oplog: $name.jsonl:"
	expect_err ": oplog_chain_broken: operation log event ${want%% *}"
	expect_err "failures in"
}

tampered "UPDATE oplog SET reason = 'forged' WHERE id = 3" \
	'3s/"reason":null/"reason":"forged"/' "3"
tampered "UPDATE oplog SET time_ms = time_ms + 1 WHERE id = 6" \
	'6s/"time_ms":\([0-9]*\)/"time_ms":\11/' "6"
tampered "DELETE FROM oplog WHERE id = 4" '4d' "5"
tampered "UPDATE oplog SET id = -1 WHERE id = 2; UPDATE oplog SET id = 2 WHERE id = 3;
	UPDATE oplog SET id = 3 WHERE id = -1" '2{h;d};3G' "2 3 4"
tampered "UPDATE oplog SET chain_hash = NULL WHERE id = 1" \
	'1s/"chain_hash":"[0-9a-f]*"/"chain_hash":null/' "1 2"
tampered "UPDATE oplog SET chain_hash = NULL WHERE id = 4" \
	'4s/"chain_hash":"[0-9a-f]*"/"chain_hash":null/' "4 5"
# the first event deleted: the log starts at 2
sed 1d $O >cut1.jsonl
expect_rc 1 "$EDS" verify-oplog cut1.jsonl
expect_err "cut1.jsonl:1: oplog_chain_broken: operation log event 2 comes first"
# an event repeated
sed 3p $O >rep.jsonl
expect_rc 1 "$EDS" verify-oplog rep.jsonl
expect_err "rep.jsonl:4: oplog_chain_broken: operation log event 3 follows event 3"

# ---- heads written down earlier: --oplog-head and signed checkpoints --------------
"$EDS" keygen --out op >/dev/null || fail "keygen op"
"$EDS" keygen --out other >/dev/null || fail "keygen other"
"$EDS" ledger checkpoint --ledger L --key op.key >cps.jsonl || fail "checkpoint"
expect_rc 0 "$EDS" verify-oplog $O --oplog-head "$head" --checkpoint cps.jsonl \
	--checkpoint-key op.pub
expect_out "operation log head 6 written down earlier: still on the chain"
expect_out "signed checkpoints (cps.jsonl): 1 checked, every head still on the chain"
expect_rc 0 "$EDS" verify-oplog $O --checkpoint cps.jsonl --checkpoint-key op.pub --json
expect_jq '.valid and .checkpoints_checked == 1'
# a head of event 3, from ledger verify of the ledger cut back to it
cp -r L C3 && sqlite3 C3/ledger.sqlite "DELETE FROM oplog WHERE id > 3" || fail "cut"
head3=$(jq -r '"3:" + .chain_hash' <(sed -n 3p $O))
expect_rc 0 "$EDS" verify-oplog $O --oplog-head "$head3"
# cut off before them: head -n 5 still chains, but event 6 is gone
head -n 5 $O >cut.jsonl
expect_rc 0 "$EDS" verify-oplog cut.jsonl
expect_out "operation log OK: 5 events chained, head 5:"
expect_rc 1 "$EDS" verify-oplog cut.jsonl --oplog-head "$head"
expect_err "cut.jsonl: oplog_head_mismatch: operation log event 6 is missing (the newest is 5)"
expect_rc 1 "$EDS" verify-oplog cut.jsonl --checkpoint cps.jsonl --checkpoint-key op.pub --json
expect_jq '.valid == false and .failure_count == 1 and .failures[0].reason == "oplog_head_mismatch"
	and .failures[0].device_id == "(oplog)" and .failures[0].sequence == 6
	and (.failures[0].message | startswith("checkpoint cps.jsonl:1 (signed "))'
# the same message as ledger verify on the ledger cut the same way
cp -r L C5 && sqlite3 C5/ledger.sqlite "DELETE FROM oplog WHERE id = 6" || fail "cut"
"$EDS" ledger verify --ledger C5 --checkpoint cps.jsonl --checkpoint-key op.pub --json >lv.json
jq -r '.failures[] | select(.reason == "oplog_head_mismatch") | .message' lv.json >lv.txt
jq -r '.failures[].message' "$T/out" >vo.txt
[ -s lv.txt ] && cmp -s lv.txt vo.txt && pass ||
	fail "messages differ: ledger '$(cat lv.txt)', verify-oplog '$(cat vo.txt)'"
# an event edited and the chain recomputed after it (as a read-write open of
# a schema 3 ledger does): the chain holds, the head written down does not
cp -r L R && sqlite3 R/ledger.sqlite "UPDATE oplog SET reason = 'x' WHERE id = 3" &&
	ledger_rechain R || fail "rechain"
"$EDS" ledger export --ledger R --out RE >/dev/null || fail "export R"
expect_rc 0 "$EDS" verify-oplog RE/oplog.jsonl
expect_rc 1 "$EDS" verify-oplog RE/oplog.jsonl --oplog-head "$head" --json
expect_jq '.failure_count == 1 and .failures[0].reason == "oplog_head_mismatch"
	and .failures[0].sequence == 6 and (.failures[0].message | contains("not the head written down"))'
# a checkpoint not signed by the key given refuses the file
expect_rc 2 "$EDS" verify-oplog $O --checkpoint cps.jsonl --checkpoint-key other.pub
expect_one_line_err
expect_err "eds verify-oplog: --checkpoint cps.jsonl:1:"
expect_rc 2 "$EDS" verify-oplog $O --oplog-head 6:zz
expect_err "eds verify-oplog: --oplog-head: the hash must be 64 hex digits"

# ---- --records: the records against the accepted events, both ways ------------------
R=E/records.jsonl
expect_rc 0 "$EDS" verify-oplog $O --records $R
expect_out "records match the operation log: 6 records, 6 accepted events"
expect_rc 0 "$EDS" verify-oplog $O --records $R --json
expect_jq '.valid and .records_checked == 6 and .accepted_checked == 6'
# the accepted event of dev-b/2 deleted: its record is not logged (and the chain breaks),
# as ledger verify says of the same deletion in the database
sed 4d $O >noevent.jsonl
expect_rc 1 "$EDS" verify-oplog noevent.jsonl --records $R --json
failures_are "oplog_chain_broken (oplog)/5
record_not_logged dev-b/2"
cp -r L NE && sqlite3 NE/ledger.sqlite "DELETE FROM oplog WHERE id = 4" || fail "sqlite3"
"$EDS" ledger verify --ledger NE --json >ne.json
jq -r '.failures[] | select(.reason == "record_not_logged") | .message' ne.json >ne.txt
jq -r '.failures[] | select(.reason == "record_not_logged") | .message' "$T/out" >vo.txt
[ -s ne.txt ] && cmp -s ne.txt vo.txt && pass || fail "record_not_logged messages differ"
expect_rc 1 "$EDS" verify-oplog noevent.jsonl --records $R
expect_err "eds verify-oplog: dev-b/2: record_not_logged: no \"accepted\" event"
# a record cut off (dev-a/3, the last line): its accepted event has no record
grep -v '"device_id":"dev-a","sequence":3,' $R >cutrec.jsonl
[ "$(wc -l <cutrec.jsonl)" -eq 5 ] && pass || fail "dev-a/3 not cut"
expect_rc 1 "$EDS" verify-oplog $O --records cutrec.jsonl --json
failures_are "logged_record_missing dev-a/3"
expect_jq '.failures[0].message == "operation log event 5 accepted this record, but the records file does not hold it (deleted, or cut off)"'
# another record of dev-a/3 in its place (signed by the same key, so it verifies)
grep '"device_id":"dev-a","sequence":[12],' $R >oc.jsonl
echo "another reading" >pl2
"$EDS" sign --key k.key --device dev-a --chain oc.jsonl --payload pl2 >/dev/null || fail "sign"
{ cat cutrec.jsonl; tail -n 1 oc.jsonl; } >other.jsonl
expect_rc 1 "$EDS" verify-oplog $O --records other.jsonl --json
failures_are "record_not_logged dev-a/3
logged_record_missing dev-a/3"
expect_jq '.failures[1].message | contains("the records file holds another record there")'
# a record whose record_hash does not match its fields stops reading: exit 1
sed '1s/"sequence":1,/"sequence":9,/' $R >badrec.jsonl
expect_rc 1 "$EDS" verify-oplog $O --records badrec.jsonl
expect_one_line_err
expect_err "badrec.jsonl:1:"
printf '{' >junk.jsonl
expect_rc 2 "$EDS" verify-oplog $O --records junk.jsonl
expect_one_line_err
expect_rc 2 "$EDS" verify-oplog $O --records nosuch.jsonl
# 100 devices met in reverse name order (the device table grows past its first
# size): records not logged are still listed by device name, then events by id
for i in $(seq 100 -1 1); do
	"$EDS" sign --key k.key --device "d$(printf %03d "$i")" --chain many.jsonl \
		--payload pl2 >/dev/null || fail "sign d$i"
done
jq -c -n '[inputs | select(.device_id != "d007" and .device_id != "d050")]
	+ [{device_id: "ghost", sequence: 1, record_hash: ("ab" * 32)}] | to_entries[]
	| {id: (.key + 1), time_ms: 0, source: "test", device_id: .value.device_id,
	   sequence: .value.sequence, decision: "accepted", reason: null,
	   record_hash: .value.record_hash, chain_hash: null}' many.jsonl >manylog.jsonl
expect_rc 1 "$EDS" verify-oplog manylog.jsonl --records many.jsonl --json
failures_are "record_not_logged d007/1
record_not_logged d050/1
logged_record_missing ghost/1"
expect_jq '.records_checked == 100 and .accepted_checked == 99'

# ---- unchained (schema 3): not chained, not a failure -------------------------------
sed 's/"chain_hash":"[0-9a-f]*"/"chain_hash":null/' $O >old.jsonl
expect_rc 0 "$EDS" verify-oplog old.jsonl
expect_out "operation log: not chained"
expect_rc 0 "$EDS" verify-oplog old.jsonl --json
expect_jq '.valid and (.chained | not) and .oplog_head == null and .oplog_head_id == null'
expect_rc 1 "$EDS" verify-oplog old.jsonl --oplog-head "$head"
expect_err "the operation log is not chained"
: >empty.jsonl
expect_rc 0 "$EDS" verify-oplog empty.jsonl
expect_out "operation log OK: no events"

# ---- malformed lines: exit 2, one line naming FILE:LINE -----------------------------
# malformed NAME LINE3 TEXT: the export with its line 3 replaced by LINE3.
malformed() {
	{ sed -n 1,2p $O; printf '%s\n' "$2"; sed -n '4,$p' $O; } >"$1.jsonl"
	expect_rc 2 "$EDS" verify-oplog "$1.jsonl"
	expect_one_line_err
	expect_err "eds verify-oplog: $1.jsonl:3: $3"
	expect_no_out
	expect_rc 2 "$EDS" verify-oplog "$1.jsonl" --json
	expect_jq '.valid == false and (.error | startswith("'"$1"'.jsonl:3: "))'
}
l3=$(sed -n 3p $O)
malformed badjson '{"id":3,' "event: JSON"
malformed notobject '[3]' "event: must be a JSON object"
malformed unknown "$(jq -c '. + {extra: 1}' <<<"$l3")" "event: unknown member"
malformed missing "$(jq -c 'del(.reason)' <<<"$l3")" "event.reason: required"
malformed twice "${l3%\}},\"id\":3}" "event: JSON"
malformed idtype "$(jq -c '.id = "3"' <<<"$l3")" "event.id: must be an integer"
malformed idzero "$(jq -c '.id = 0' <<<"$l3")" "event.id: must be 1 .. 2^53-1"
malformed idbig "$(jq -c '.id = 9007199254740992' <<<"$l3")" "event.id: must be 1 .. 2^53-1"
malformed seqtype "$(jq -c '.sequence = 1.5' <<<"$l3")" "event.sequence: must be an integer or null"
malformed srctype "$(jq -c '.source = null' <<<"$l3")" "event.source: must be a string"
malformed srclong "$(jq -c --arg s "$(printf 'a%.0s' $(seq 64))" '.source = $s' <<<"$l3")" \
	"event.source: must be 0 .. 63 bytes"
malformed devempty "$(jq -c '.device_id = ""' <<<"$l3")" "event.device_id: must be 1 .. 128 bytes"
malformed hashshort "$(jq -c '.chain_hash = "00ff"' <<<"$l3")" \
	"event.chain_hash: must be 64 hex digits or null"
malformed hashhex "$(jq -c '.record_hash = ("zz" * 32)' <<<"$l3")" \
	"event.record_hash: must be 64 hex digits or null"
malformed toolong "$(jq -c --arg s "$(printf 'a%.0s' $(seq 5000))" '.source = $s' <<<"$l3")" \
	"event: longer than 4096 bytes"

# ---- usage ----------------------------------------------------------------------
expect_rc 2 "$EDS" verify-oplog
expect_err "FILE is required"
expect_rc 2 "$EDS" verify-oplog $O $O
expect_rc 2 "$EDS" verify-oplog $O --bogus
expect_rc 2 "$EDS" verify-oplog $O --checkpoint cps.jsonl
expect_err "--checkpoint needs --checkpoint-key"
expect_rc 2 "$EDS" verify-oplog $O --checkpoint-key op.pub
expect_rc 2 "$EDS" verify-oplog $O --oplog-head "$head" --oplog-head "$head"
expect_rc 2 "$EDS" verify-oplog nosuch.jsonl
expect_one_line_err
expect_err "eds verify-oplog: nosuch.jsonl:"
expect_rc 2 "$EDS" verify-oplog E
expect_rc 0 "$EDS" verify-oplog --help
expect_out "usage: eds verify-oplog FILE"
expect_out "Exit codes:"
expect_rc 0 "$EDS" --help
expect_out "verify-oplog"

finish
