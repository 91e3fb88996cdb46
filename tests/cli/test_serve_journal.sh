#!/bin/bash
# test_serve_journal.sh - a power cut may lose payload files the flusher had
# not yet made durable; the ledger journals their bytes with each commit, and
# the restarted server writes every lost or damaged file again.  Simulated
# with kill -9 (which keeps the page cache) followed by deleting and damaging
# exactly the files the journal still lists - what a power cut can do to them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
cd "$T" || exit 1
N=30
journal() { sqlite3 L/ledger.sqlite "$1"; }
# push_and_cut NAME ARGS...: a server that never flushes on its own takes the
# chain, then dies by kill -9; journal_hashes lists what the journal still holds.
push_and_cut() {
	local name=$1; shift
	start_server "$name" --ledger L --payload-flush-ms 3600000
	expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P "$@"
	kill -9 "$(cat "$T/$name.pid")"
	wait 2>/dev/null
	rm -f "$T/$name.pid"
	# hashes back to back, 32 bytes each
	journal "SELECT hex(hashes) FROM unconfirmed" | fold -w 64 | tr 'A-F' 'a-f' | sort -u >hashes
}

"$EDS" keygen --out k >/dev/null
"$EDS" device add --ledger L --id j1 --public-key k.pub >/dev/null || fail "add"
sign_readings 1 $N j1

# A flush interval of an hour: every payload of this run stays journaled.
push_and_cut s1 --batch 7
[ "$(wc -l <hashes)" -eq "$N" ] && pass || fail "journal lists $(wc -l <hashes) payloads, want $N"
first=$(head -n 1 hashes)
while read -r h; do rm -f "L/payloads/${h:0:2}/${h:2}"; done < <(tail -n +2 hashes)
printf 'torn' >"L/payloads/${first:0:2}/${first:2}"
expect_rc 1 "$EDS" ledger verify --ledger L # the damage is real before the restart
expect_err "$N payloads are in the ledger's journal"
expect_rc 1 "$EDS" ledger verify --ledger L --json # the same, for a script
jq -e --argjson n "$N" '.journaled_payloads == $n and .failure_count == $n
	and ([.failures[].reason] | index("payload_mismatch") != null)' "$T/out" >/dev/null && pass ||
	fail "verify --json: $(head -c 300 "$T/out")"

start_server s2 --ledger L
req GET /metrics
expect_code 200
grep -q "^eds_ingest_recovered_payloads{action=\"restored\"} $N\$" "$T/body" && pass ||
	fail "metrics: $(grep recovered_payloads "$T/body")"
grep -q '^eds_ingest_recovered_payloads{action="pending"} 0$' "$T/body" && pass ||
	fail "metrics: $(grep recovered_payloads "$T/body")"
[ "$(journal 'SELECT count(*) FROM unconfirmed')" = 0 ] && pass || fail "journal not emptied"
stop_server s2
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "$N records"
for h in $(cat hashes); do
	cmp -s "L/payloads/${h:0:2}/${h:2}" "P/${h:0:2}/${h:2}" || fail "payload $h differs"
done
pass

# A clean stop flushes the files and leaves nothing journaled.
sign_readings $((N + 1)) $((N + 10)) j1
start_server s3 --ledger L --payload-flush-ms 3600000
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P
[ "$(journal 'SELECT count(*) FROM unconfirmed')" -gt 0 ] && pass || fail "nothing journaled"
# One server per ledger: a second one's start-up recovery would drop this
# one's journal.  Refused before it listens, and so is a recover.
expect_rc 2 "$EDS" serve --ledger L --listen 127.0.0.1:0
expect_err "in use by another process"
expect_one_line_err
expect_rc 2 "$EDS" ledger recover --ledger L
expect_err "in use by another process"
[ "$(journal 'SELECT count(*) FROM unconfirmed')" -gt 0 ] && pass || fail "journal dropped"
stop_server s3
[ "$(journal 'SELECT count(*) FROM unconfirmed')" = 0 ] && pass || fail "journal kept after a stop"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "$((N + 10)) records"

# Recovery without a server: `eds ledger recover` does what a start does.
sign_readings $((N + 11)) $((N + 15)) j1
push_and_cut s4
[ "$(wc -l <hashes)" -eq 5 ] && pass || fail "journal lists $(wc -l <hashes) payloads, want 5"
while read -r h; do rm -f "L/payloads/${h:0:2}/${h:2}"; done <hashes
expect_rc 1 "$EDS" ledger verify --ledger L
expect_err "eds ledger recover"
expect_rc 0 "$EDS" ledger recover --ledger L
expect_out "recovered: 5 payload files written again from the journal, 0 records"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "$((N + 15)) records"
expect_rc 0 "$EDS" ledger recover --ledger L # nothing left to do
expect_out "recovered: 0 payload files"
expect_rc 2 "$EDS" ledger recover --ledger L --threads 2
expect_one_line_err

# The flag is checked like every number.
expect_rc 2 "$EDS" serve --ledger L --payload-flush-ms 0
expect_one_line_err
finish
