#!/bin/bash
# test_ledger_xcheck.sh - eds ledger verify matches the records against the
# operation log and checks a head written down earlier: a ledger made by a
# real server verifies, also after a duplicate retry; a record put in with SQL
# (validly signed, head moved) is record_not_logged; the newest record of a
# device cut off (head moved back) is logged_record_missing; an event with an
# unknown (zero) record_hash matches on device and sequence; a schema 3 ledger
# is matched too.  --oplog-head ID:HEX, pasted from verify's OK line, passes;
# a wrong hash, an id beyond the end, the newest record and event cut off
# together, and a log recomputed after an edit fail with oplog_head_mismatch;
# malformed values are usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
need_cmd jq
cd "$T" || exit 1

ledger_through_server 3 dev-a dev-b
# a retry of a stored record is logged as "duplicate", not as a second "accepted"
start_server main --ledger L
item "$(sed -n 1p c.jsonl)" >dup.json
post_json dup.json
expect_code 200
stop_server main
[ "$(sqlite3 L/ledger.sqlite "SELECT decision FROM oplog ORDER BY id DESC LIMIT 1")" = duplicate ] &&
	pass || fail "the retry was not logged as a duplicate"

# ---- untouched: valid, the head printed as ID:HEX -------------------------------------
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "records match the operation log: 6 records, 6 accepted events"
head=$(sed -n 's/^operation log OK: 7 events chained, head \([0-9]*:[0-9a-f]*\)$/\1/p' "$T/out")
[[ $head =~ ^7:[0-9a-f]{64}$ ]] && pass || fail "no head ID:HEX in: $(cat "$T/out")"
hex=${head#7:}
expect_rc 0 "$EDS" ledger verify --ledger L --json
expect_jq ".valid and .oplog_head_id == 7 and .oplog_head == \"$hex\"
	and .oplog_accepted_checked == 6 and .failure_count == 0"
expect_rc 0 "$EDS" ledger stats --ledger L --json
expect_jq ".oplog_head_id == 7 and .oplog_head == \"$hex\""
expect_rc 0 "$EDS" ledger stats --ledger L
expect_out "operation log head: $head"
expect_rc 0 "$EDS" ledger verify --ledger L --oplog-head "$head"
expect_out "operation log head 7 written down earlier: still on the chain"
# an earlier head, as log --json gives it, is on the chain too
h3=$("$EDS" ledger log --ledger L --json | jq -r 'select(.id == 3) | "\(.id):\(.chain_hash)"')
expect_rc 0 "$EDS" ledger verify --ledger L --oplog-head "$h3" --json
expect_jq '.valid and .failure_count == 0'

# ---- a record stored behind the gate: signed and linked, so only the log shows it -----
sign_readings 4 4 dev-a
rec=$(tail -n 1 c.jsonl)
ledger_copy "$(jq -r '"INSERT INTO records VALUES(\u0027\(.device_id)\u0027,\(.sequence),"
	+ "\(.timestamp_ms),\(.payload_size),X\u0027\(.payload_hash)\u0027,"
	+ "X\u0027\(.prev_hash)\u0027,\u0027\(.object_ref)\u0027,X\u0027\(.signature)\u0027,"
	+ "X\u0027\(.record_hash)\u0027,0,\u0027sql\u0027,0);"
	+ "UPDATE devices SET head_sequence = 4, head_hash = X\u0027\(.record_hash)\u0027 "
	+ "WHERE device_id = \u0027dev-a\u0027;"' <<<"$rec")"
expect_rc 1 "$EDS" ledger verify --ledger "$C"
expect_err "eds ledger: dev-a/4: record_not_logged: no \"accepted\" event in the operation log"
expect_err "eds ledger: 1 failures in 7 records"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --json
failures_are "record_not_logged dev-a/4"

# ---- the newest record of a device cut off, head moved back: the chain cannot show it -
cut="DELETE FROM records WHERE device_id = 'dev-b' AND sequence = 3;
UPDATE devices SET head_sequence = 2, head_hash = (SELECT record_hash FROM records
	WHERE device_id = 'dev-b' AND sequence = 2) WHERE device_id = 'dev-b';"
ledger_copy "$cut"
ev=$(sqlite3 L/ledger.sqlite "SELECT id FROM oplog WHERE device_id = 'dev-b' AND sequence = 3
	AND decision = 'accepted'")
expect_rc 1 "$EDS" ledger verify --ledger "$C"
expect_err "eds ledger: dev-b/3: logged_record_missing: operation log event $ev accepted this record, but the ledger does not hold it (deleted, or cut off)"
expect_err "eds ledger: 1 failures in 5 records"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --json
failures_are "logged_record_missing dev-b/3"
# the record of the duplicate retry cut off: one failure, not two
ledger_copy "DELETE FROM records WHERE device_id = 'dev-a';
	UPDATE devices SET head_sequence = 0, head_hash = zeroblob(32) WHERE device_id = 'dev-a';"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --json
failures_are "logged_record_missing dev-a/1
logged_record_missing dev-a/2
logged_record_missing dev-a/3"

# ---- ... and its event with it: everything agrees, only a head written down shows it --
ledger_copy "$cut DELETE FROM oplog WHERE id >= $ev;"
expect_rc 0 "$EDS" ledger verify --ledger "$C"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --oplog-head "$head"
expect_err "eds ledger: (oplog)/7: oplog_head_mismatch: operation log event 7 is missing (the newest is $((ev - 1))): the log was cut off before it, or rewritten"
expect_err "eds ledger: 1 failures in 5 records"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --oplog-head "$head" --json
failures_are "oplog_head_mismatch (oplog)/7"

# ---- a head beyond the end, a wrong hash, a log recomputed after an edit ------------------
expect_rc 1 "$EDS" ledger verify --ledger L --oplog-head "8:$hex"
expect_err "oplog_head_mismatch: operation log event 8 is missing (the newest is 7)"
expect_rc 1 "$EDS" ledger verify --ledger L --oplog-head "6:$hex"
expect_err "eds ledger: (oplog)/6: oplog_head_mismatch: operation log event 6: chain_hash is "
expect_err ", not the head written down"
ledger_copy "UPDATE oplog SET source = 'elsewhere' WHERE id = 2"
ledger_rechain "$C" || fail "rechain"
expect_rc 0 "$EDS" ledger verify --ledger "$C"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --oplog-head "$head" --json
failures_are "oplog_head_mismatch (oplog)/7"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --oplog-head "$h3" --json
failures_are "oplog_head_mismatch (oplog)/3"

# ---- an event deleted and the ones after it rehashed: every link holds, the ids do not --
ledger_copy "DELETE FROM oplog WHERE id = 6"
[ "$(sqlite3 "$C/ledger.sqlite" "SELECT count(*) FROM oplog")" = 6 ] && pass || fail "no event deleted"
ledger_rechain "$C" || fail "rechain"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --json
failures_are "oplog_chain_broken (oplog)/7$(sqlite3 L/ledger.sqlite "SELECT CASE decision WHEN
	'accepted' THEN char(10) || 'record_not_logged ' || device_id || '/' || sequence ELSE '' END
	FROM oplog WHERE id = 6")"
expect_rc 1 "$EDS" ledger verify --ledger "$C"
expect_err "(oplog)/7: oplog_chain_broken: operation log event 7 follows event 5: ids run 1, 2, 3"

# ---- an accepted event without a record_hash matches on device and sequence -------------
ledger_copy "UPDATE oplog SET record_hash = zeroblob(32) WHERE decision = 'accepted'"
ledger_rechain "$C" || fail "rechain"
expect_rc 0 "$EDS" ledger verify --ledger "$C" --json
expect_jq '.valid and .oplog_accepted_checked == 6'

# ---- schema 3 (read as it is, unchained): matched all the same, no head to compare ------
ledger_copy "ALTER TABLE oplog DROP COLUMN chain_hash; PRAGMA user_version = 3;
	DELETE FROM oplog WHERE device_id = 'dev-b' AND sequence = 2"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --oplog-head "$head" --json
failures_are "oplog_chain_broken (oplog)/5
oplog_head_mismatch (oplog)/7
record_not_logged dev-b/2"
expect_jq '.oplog_head == null and .oplog_head_id == null and .oplog_accepted_checked == 5'
expect_rc 0 "$EDS" ledger stats --ledger "$C" --json
expect_jq '.oplog_head == null and .oplog_head_id == null and .events == 7'
expect_rc 0 "$EDS" ledger stats --ledger "$C"
expect_out "operation log head: - (not chained: a ledger schema before 4)"
expect_rc 1 "$EDS" ledger verify --ledger "$C" --oplog-head "$head"
expect_err "oplog_head_mismatch: the operation log is not chained"

# ---- usage errors: exit 2, one line ---------------------------------------------------
for bad in "" x 7 "7:" ":$hex" "0:$hex" "-1:$hex" "+7:$hex" "07x:$hex" "9007199254740992:$hex" \
	"7:${hex}0" "7:${hex%?}" "7:${hex%?}g" "7:$hex:" "7 :$hex" "7: $hex"; do
	expect_rc 2 "$EDS" ledger verify --ledger L --oplog-head "$bad"
	expect_one_line_err
	expect_err "--oplog-head"
done
expect_rc 2 "$EDS" ledger verify --ledger L --oplog-head "$head" --oplog-head "$head"
expect_err "--oplog-head given twice"
expect_rc 2 "$EDS" ledger stats --ledger L --oplog-head "$head"
expect_err "--oplog-head is only for verify"
expect_one_line_err
expect_rc 2 "$EDS" ledger verify --ledger L --oplog-head
expect_one_line_err
finish
