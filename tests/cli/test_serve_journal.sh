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

"$EDS" keygen --out k >/dev/null
"$EDS" device add --ledger L --id j1 --public-key k.pub >/dev/null || fail "add"
for i in $(seq 1 $N); do
	echo "journal reading $i" >pl
	"$EDS" sign --key k.key --device j1 --chain c.jsonl --payload pl --payload-dir P >/dev/null ||
		fail "sign"
done

# A flush interval of an hour: every payload of this run stays journaled.
start_server s1 --ledger L --payload-flush-ms 3600000
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P --batch 7
kill -9 "$(cat "$T/s1.pid")"
wait 2>/dev/null
rm -f "$T/s1.pid"

# the journal names each of the N payloads (hashes back to back, 32 bytes each)
journal "SELECT hex(hashes) FROM unconfirmed" | fold -w 64 | tr 'A-F' 'a-f' | sort -u >hashes
[ "$(wc -l <hashes)" -eq "$N" ] && pass || fail "journal lists $(wc -l <hashes) payloads, want $N"
first=$(head -n 1 hashes)
while read -r h; do rm -f "L/payloads/${h:0:2}/${h:2}"; done < <(tail -n +2 hashes)
printf 'torn' >"L/payloads/${first:0:2}/${first:2}"
expect_rc 1 "$EDS" ledger verify --ledger L # the damage is real before the restart
expect_err "$N payloads are in the ledger's journal"

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
for i in $(seq $((N + 1)) $((N + 10))); do
	echo "journal reading $i" >pl
	"$EDS" sign --key k.key --device j1 --chain c.jsonl --payload pl --payload-dir P >/dev/null ||
		fail "sign"
done
start_server s3 --ledger L --payload-flush-ms 3600000
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P
[ "$(journal 'SELECT count(*) FROM unconfirmed')" -gt 0 ] && pass || fail "nothing journaled"
stop_server s3
[ "$(journal 'SELECT count(*) FROM unconfirmed')" = 0 ] && pass || fail "journal kept after a stop"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "$((N + 10)) records"

# The flag is checked like every number.
expect_rc 2 "$EDS" serve --ledger L --payload-flush-ms 0
expect_one_line_err
finish
