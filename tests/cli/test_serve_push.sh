#!/bin/bash
# test_serve_push.sh - `eds push` against a real server: payloads travel with
# their records, a second push sends nothing, 8 concurrent clients pushing
# interleaved devices store every record exactly once, and the ledger export
# verifies offline with `eds verify-chain`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1

"$EDS" keygen --out k >/dev/null
for d in $(seq 0 15); do "$EDS" device add --ledger L --id dev-$d --public-key k.pub || fail "add"; done
# client t's chain file interleaves devices t and t+8, 30 records each
for t in $(seq 0 7); do
	for i in $(seq 1 30); do
		for d in $t $((t + 8)); do
			echo "dev-$d reading $i" >pl
			"$EDS" sign --key k.key --device dev-$d --chain c$t.jsonl --payload pl \
				--payload-dir P >/dev/null || fail "sign"
		done
	done
done
start_server main --ledger L

expect_rc 0 "$EDS" push --url "$URL" c0.jsonl --payload-dir P --batch 7
expect_out "60 records read, 0 skipped, 60 accepted"
expect_rc 0 "$EDS" push --url "$URL" c0.jsonl --payload-dir P
expect_out "60 records read, 60 skipped, 0 accepted, 0 duplicates, 2 requests"

pids=""
for t in $(seq 1 7); do
	"$EDS" push --url "$URL" c$t.jsonl --payload-dir P --batch 5 >push$t.out 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent push failed"; done
cat push*.out | grep -q "skipped, 60 accepted" && pass || fail "pushes: $(cat push*.out)"
req GET /metrics
grep -q '^eds_ledger_records 480$' "$T/body" && pass || fail "ledger does not hold 480 records"
grep -q '^eds_ledger_pending_payloads 0$' "$T/body" && pass || fail "payloads pending"
req GET /api/v1/devices/dev-9/head
[ "$(jq -r .sequence "$T/body")" = 30 ] && pass || fail "dev-9 head"

# an unregistered device and a refused record stop the push with a clear line
"$EDS" sign --key k.key --device nobody --chain n.jsonl --payload pl >/dev/null
expect_rc 1 "$EDS" push --url "$URL" n.jsonl
expect_err "nobody"
expect_one_line_err
# record 31 of dev-0 with an object_ref changed after signing
cp c0.jsonl f0.jsonl
"$EDS" sign --key k.key --device dev-0 --chain f0.jsonl --payload pl >/dev/null
tail -1 f0.jsonl | jq -c '.object_ref = "forged" | del(.record_hash)' >f.jsonl
expect_rc 1 "$EDS" push --url "$URL" f.jsonl
expect_err "bad_signature"
expect_one_line_err
expect_rc 2 "$EDS" push --url "http://127.0.0.1:1" c0.jsonl
expect_one_line_err
expect_rc 2 "$EDS" push c0.jsonl
stop_server main

expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "480 records, 480 signatures, 480 payloads checked, 0 pending"
expect_rc 0 "$EDS" ledger export --ledger L --out X
expect_rc 0 "$EDS" verify-chain X/records.jsonl --keys X/registry.json --payload-dir X/payloads
# tampering with a stored payload is found by ledger verify
f=$(find L/payloads -type f | head -1); echo tampered >"$f"
expect_rc 1 "$EDS" ledger verify --ledger L
finish
