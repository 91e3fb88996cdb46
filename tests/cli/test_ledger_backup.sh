#!/bin/bash
# test_ledger_backup.sh - `eds ledger backup`: a copy that verifies and
# serves as it is; taken while a server pushes records in, it holds one
# consistent snapshot, and served as the ledger (a restore) the chain goes
# on from its head; payload files the ledger lacks make exit 1 and are
# named as missing (export too); an existing target, a missing --out: exit 2;
# --json reports each case as one object.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1

# ---- a ledger with payloads, backed up after its server stopped ------------------
ledger_through_server 3 dev-a dev-b
expect_rc 0 "$EDS" ledger backup --ledger L --out B
expect_out "backed up 6 records and 6 payloads to B (0 payloads pending)"
expect_rc 0 "$EDS" ledger verify --ledger B
expect_out "6 records, 6 signatures, 6 payloads checked, 0 pending"
"$EDS" device list --ledger L --json >list.L && "$EDS" device list --ledger B --json >list.B ||
	fail "device list"
cmp -s list.L list.B && pass || fail "the copy's devices differ: $(diff list.L list.B)"
ls -d B.partial-* 2>/dev/null && fail "a partial directory was left" || pass
expect_rc 0 "$EDS" ledger backup --ledger L --out BJ --json
expect_jq '.ok == true and .out == "BJ" and .records == 6 and .payloads == 6
	and .pending == 0 and .missing == 0 and .restored == 0'

# ---- while a server writes: a snapshot, then a restore that continues ---------------
GEN=$EDS_BUILD_DIR/bench/bench_gen_chain
[ -x "$GEN" ] || fail "bench_gen_chain is not built: $GEN"
PUB=$("$GEN" big.jsonl 20000) || fail "bench_gen_chain"
expect_rc 0 "$EDS" device add --ledger L --id bench-0001 --public-key "$PUB"
start_server live --ledger L
"$EDS" push --url "$URL" big.jsonl --batch 50 --quiet >push.out 2>&1 &
pusher=$!
for _ in $(seq 1 100); do # until some of the chain is in, not all of it
	n=$(curl -s "$URL/api/v1/devices/bench-0001/head" | jq -r .sequence)
	[ "${n:-0}" -gt 0 ] && break
	sleep 0.05
done
expect_rc 0 "$EDS" ledger backup --ledger L --out LIVE
wait $pusher && pass || fail "push during the backup: $(cat push.out)"
stop_server live
got=$(sed -n 's/^backed up \([0-9]*\) records.*/\1/p' "$T/out")
[ -n "$got" ] && [ "$got" -gt 6 ] && [ "$got" -lt 20006 ] && pass ||
	fail "backup during a push: want a part of the chain, got '$got' records"
expect_rc 0 "$EDS" ledger verify --ledger LIVE
expect_out "$got records"
# Restore: serve the copy, and the same push sends what the copy lacks.
start_server restored --ledger LIVE
expect_rc 0 "$EDS" push --url "$URL" big.jsonl --batch 500 --json
expect_jq ".skipped == $((got - 6)) and .sent == $((20006 - got))"
stop_server restored
expect_rc 0 "$EDS" ledger verify --ledger LIVE
expect_out "20006 records"

# ---- payload files missing or damaged in the ledger ---------------------------------
h=$(sed -n 1p c.jsonl | jq -r .payload_hash)
rm "L/payloads/${h:0:2}/${h:2}"
h=$(sed -n 2p c.jsonl | jq -r .payload_hash)
flip_byte "L/payloads/${h:0:2}/${h:2}" 0
expect_rc 1 "$EDS" ledger backup --ledger L --out HOLES
expect_one_line_err
expect_err "2 records' payload files are missing or damaged in the ledger"
expect_out "backed up 20006 records and 4 payloads"
expect_rc 1 "$EDS" ledger verify --ledger HOLES
expect_rc 1 "$EDS" ledger backup --ledger L --out HOLES2 --json
expect_no_err
expect_jq '.ok == false and .missing == 2 and .payloads == 4 and .records == 20006'
# export, the auditor's copy, copies only files that still hash to their names
expect_rc 1 "$EDS" ledger export --ledger L --out XH
expect_err "2 records' payload files are missing or damaged in the ledger"
[ "$(find XH/payloads -type f | wc -l)" = 4 ] && pass || fail "export copied a damaged file"

# ---- one payload, two records: the first brought it, the second came without -------
# (pending); the file lost: the first record's payload is missing, not pending
"$EDS" keygen --out kc >/dev/null || fail "keygen"
expect_rc 0 "$EDS" device add --ledger LC --id dev-c --public-key kc.pub
echo "the same reading" >same
"$EDS" sign --key kc.key --device dev-c --chain cc.jsonl --payload same --payload-dir PC >/dev/null &&
	"$EDS" sign --key kc.key --device dev-c --chain cc.jsonl --payload same >/dev/null ||
	fail "sign"
head -n 1 cc.jsonl >cc1.jsonl
start_server c --ledger LC
expect_rc 0 "$EDS" push --url "$URL" cc1.jsonl --payload-dir PC
expect_rc 0 "$EDS" push --url "$URL" cc.jsonl
stop_server c
h=$(jq -r .payload_hash cc1.jsonl)
rm "LC/payloads/${h:0:2}/${h:2}"
expect_rc 1 "$EDS" ledger backup --ledger LC --out BC --json
expect_jq '.ok == false and .records == 2 and .payloads == 0 and .missing == 1
	and .pending == 1'

# ---- refusals --------------------------------------------------------------------
expect_rc 2 "$EDS" ledger backup --ledger L --out B
expect_one_line_err
expect_err "B: exists; a backup goes to a new directory"
expect_rc 2 "$EDS" ledger backup --ledger L --out B --json
expect_jq '.ok == false and (.error | test("B: exists"))'
# OUT in a directory that is not there: named as given, not as OUT.partial-XXXXXX
expect_rc 2 "$EDS" ledger backup --ledger L --out nodir/B
expect_one_line_err
expect_err "eds ledger: backup: nodir/B: No such file or directory"
expect_rc 2 "$EDS" ledger backup --ledger L --out B2 --quiet
expect_err "--quiet is only for verify"
expect_rc 2 "$EDS" ledger backup --ledger L
expect_err "--out DIR is required"
expect_rc 2 "$EDS" ledger backup --ledger nowhere --out N
expect_err "no ledger"
[ ! -e N ] && pass || fail "a failed backup left its target"
finish
