#!/bin/bash
# test_oplog_chain.sh - the ledger's operation log is hash-chained: an
# untouched ledger verifies, and verify --json, stats --json and the last
# line of log --json give the same head, and jq + xxd + b3sum recompute every
# chain_hash from docs/format.md section 9 alone; an event edited (its reason), one
# deleted, two swapped or a chain_hash emptied make `eds ledger verify` exit 1 naming
# oplog_chain_broken at the first id whose link no longer holds; a schema 3
# ledger is read unchained (read-only, not upgraded) and chained by a
# read-write open to the very head the server wrote.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
need_cmd jq
cd "$T" || exit 1

ledger_through_server 3 dev-a dev-b
events=$(sqlite3 L/ledger.sqlite "SELECT count(*) FROM oplog")
[ "$events" -ge 6 ] && pass || fail "only $events events logged"

# ---- untouched: valid, one head everywhere ------------------------------------------
expect_rc 0 "$EDS" ledger verify --ledger L
head=$("$EDS" ledger log --ledger L --json | tail -n 1 | jq -r .chain_hash)
[[ $head =~ ^[0-9a-f]{64}$ ]] && pass || fail "log's last chain_hash is '$head'"
expect_out "operation log OK: $events events chained, head $events:$head"
expect_rc 0 "$EDS" ledger verify --ledger L --json
jq -e --arg h "$head" --argjson n "$events" \
	'.valid and .oplog_head == $h and .oplog_events_checked == $n' "$T/out" >/dev/null &&
	pass || fail "verify --json: $(cat "$T/out")"
expect_rc 0 "$EDS" ledger stats --ledger L --json
jq -e --arg h "$head" '.oplog_head == $h' "$T/out" >/dev/null && pass ||
	fail "stats --json: $(cat "$T/out")"
[ "$("$EDS" ledger log --ledger L --json | jq -r .chain_hash | sort -u | wc -l)" = "$events" ] &&
	pass || fail "chain_hash is not one per event"

# ---- an auditor without eds: the chain of log --json (an export's oplog.jsonl)
# recomputed with jq, xxd and b3sum from docs/format.md section 9 alone
need_cmd b3sum
need_cmd xxd
u64() { printf '%016x' "$1"; }
txt() { printf '%02x' "$(printf '%s' "$1" | wc -c)"; printf '%s' "$1" | xxd -p | tr -d '\n'; }
prev=$(printf '0%.0s' $(seq 64)) ok=1 n=0
while IFS=$'\x1f' read -r id time src dev seq dec reason rh chain; do # not tabs: they collapse
	hex="4544532d4f504c4f472d31$prev$(u64 "$id")$(u64 "$time")$(txt "$src")$(txt "$dev")"
	hex="$hex$(txt "$dec")$(txt "$reason")$(u64 "$seq")$rh"
	prev=$(printf '%s' "$hex" | xxd -r -p | b3sum --no-names)
	[ "$prev" = "$chain" ] || ok=0
	n=$((n + 1))
done < <("$EDS" ledger log --ledger L --json | jq -r --arg z "$(printf '0%.0s' $(seq 64))" \
	'[.id, .time_ms, .source, (.device_id // ""), (.sequence // 0), .decision, (.reason // ""),
	  (.record_hash // $z), .chain_hash] | map(tostring) | join("\u001f")')
[ "$ok" = 1 ] && [ "$n" = "$events" ] && [ "$prev" = "$head" ] && pass ||
	fail "the chain recomputed with b3sum differs (ok=$ok, $n events, head $prev)"

# tampered SQL WANT [LOST]: a copy of L changed by sqlite3 fails verify with
# exactly the breaks at the ids WANT lists (each link is checked against the
# stored hash before it, so one change breaks one link, a swap three) and, when
# an "accepted" event was deleted, its record named as not logged (LOST:
# "DEVICE/SEQUENCE", the only other failure).
tampered() {
	local sql=$1 want=$2 lost=${3:-} name=X$RANDOM
	cp -r L "$name"
	sqlite3 "$name/ledger.sqlite" "$sql" || fail "sqlite3 $sql"
	expect_rc 1 "$EDS" ledger verify --ledger "$name"
	expect_err "(oplog)/${want%% *}: oplog_chain_broken: operation log event ${want%% *}"
	expect_rc 1 "$EDS" ledger verify --ledger "$name" --json
	jq -e --arg w "$want" --arg lost "$lost" '.valid == false
		and ([.failures[] | select(.reason == "oplog_chain_broken" and .device_id == "(oplog)")
		      | .sequence | tostring] | join(" ")) == $w
		and ([.failures[] | select(.reason != "oplog_chain_broken")
		      | "\(.reason) \(.device_id)/\(.sequence)"] | join(" "))
		    == if $lost == "" then "" else "record_not_logged \($lost)" end
		and .failure_count == ($w | split(" ") | length) + if $lost == "" then 0 else 1 end' \
		"$T/out" >/dev/null && pass || fail "$sql: want breaks at $want, lost $lost: $(cat "$T/out")"
}

# ---- tampered: each change is named where the chain first breaks --------------------
[ "$(sqlite3 L/ledger.sqlite "SELECT group_concat(device_id || '/' || sequence || ' ' || decision)
	FROM oplog WHERE id IN (4, 5)")" = "dev-b/2 accepted,dev-a/3 accepted" ] && pass ||
	fail "events 4 and 5 are not the accepted dev-b/2 and dev-a/3"
tampered "UPDATE oplog SET reason = 'forged' WHERE id = 3" "3"
tampered "DELETE FROM oplog WHERE id = 4" "5" dev-b/2
tampered "UPDATE oplog SET id = -1 WHERE id = 2; UPDATE oplog SET id = 2 WHERE id = 3;
	UPDATE oplog SET id = 3 WHERE id = -1" "2 3 4"
tampered "UPDATE oplog SET reason = 'forged' WHERE id = 2; DELETE FROM oplog WHERE id = 5" "2 6" dev-a/3
tampered "UPDATE oplog SET chain_hash = NULL WHERE id = 1" "1 2"
tampered "UPDATE oplog SET chain_hash = x'00ff' WHERE id = 6" "6"

# ---- schema 3: read as it is, unchained; a read-write open chains it ---------------
cp -r L OLD
sqlite3 OLD/ledger.sqlite "ALTER TABLE oplog DROP COLUMN chain_hash; PRAGMA user_version = 3" ||
	fail "sqlite3 downgrade"
expect_rc 0 "$EDS" ledger verify --ledger OLD
expect_out "operation log: not chained"
expect_rc 0 "$EDS" ledger stats --ledger OLD --json
jq -e '.oplog_head == null' "$T/out" >/dev/null && pass || fail "stats of schema 3: $(cat "$T/out")"
[ "$("$EDS" ledger log --ledger OLD --json | jq -r .chain_hash | sort -u)" = null ] && pass ||
	fail "schema 3 log has chain hashes"
[ "$(sqlite3 OLD/ledger.sqlite 'PRAGMA user_version')" = 3 ] && pass || fail "read-only upgraded"
expect_rc 0 "$EDS" ledger recover --ledger OLD # read-write: the upgrade
[ "$(sqlite3 OLD/ledger.sqlite 'PRAGMA user_version')" = 4 ] && pass || fail "not upgraded"
expect_rc 0 "$EDS" ledger verify --ledger OLD
expect_out "operation log OK: $events events chained, head $events:$head"

finish
