#!/usr/bin/env bash
# eds ledger verify --threads N: on a ledger of 2,505 records (two devices,
# rows written straight into its SQLite file, as a tampering server or disk
# would), a clean ledger verifies, and records corrupted deep inside (past
# the first 1,024-record batches) are reported exactly, with the same
# stderr, stdout and exit code for --threads 1, 2 and the default.
. "$(dirname "$0")/lib.sh"
need_cmd jq
need_cmd sqlite3
GEN=$EDS_BUILD_DIR/bench/bench_gen_chain
[ -x "$GEN" ] || { echo "SKIPPED: $GEN is not built"; exit 77; }
cd "$T" || exit 1

PUB=$("$GEN" big.jsonl 2500) || fail "bench_gen_chain"
"$EDS" keygen --out k >/dev/null || fail "keygen"
for i in 1 2 3 4 5; do
	echo "reading $i" >pl
	"$EDS" sign --key k.key --device dev-b --chain b.jsonl --payload pl >/dev/null || fail "sign"
done
"$EDS" device add --ledger L --id bench-0001 --public-key "$PUB" || fail "device add"
"$EDS" device add --ledger L --id dev-b --public-key k.pub || fail "device add"
# one INSERT per record and its "accepted" event; payloads are not stored (counted as pending)
{ echo "BEGIN;"; ledger_sql big.jsonl bench-0001; ledger_sql b.jsonl dev-b; echo "COMMIT;"; } |
	sqlite3 L/ledger.sqlite || fail "sqlite3"
ledger_rechain L || fail "chain the operation log"

# same_report WANT_RC: every thread count gives the --threads 1 report.
same_report() {
	expect_rc "$1" "$EDS" ledger verify --ledger L --threads 1
	cp "$T/out" want.out
	cp "$T/err" want.err
	for t in 2 default; do
		if [ $t = default ]; then run "$EDS" ledger verify --ledger L; else
			run "$EDS" ledger verify --ledger L --threads $t; fi
		if [ "$RC" = "$1" ] && cmp -s want.out "$T/out" && cmp -s want.err "$T/err"; then
			pass
		else
			fail "--threads $t differs from --threads 1 (exit $RC)"
			diff want.err "$T/err" | head -5 >&2
		fi
	done
}

same_report 0
grep -qx "ledger OK: 2 devices, 2505 records, 2505 signatures, 0 payloads checked, 2505 pending" \
	want.out && pass || fail "clean ledger: $(cat want.out want.err)"

# bench-0001/2000 gets the signature of 1999; dev-b/3 a prev_hash that links
# nowhere; bench-0001/2300 (after the device already failed) only a wrong
# stored record_hash, which its "accepted" event (id 2300) no longer names.
# The stored heads (2500, 5) are right: a chain that failed gets no head line
# of its own.
sqlite3 L/ledger.sqlite "
UPDATE records SET signature = (SELECT signature FROM records WHERE device_id = 'bench-0001'
  AND sequence = 1999) WHERE device_id = 'bench-0001' AND sequence = 2000;
UPDATE records SET prev_hash = zeroblob(32) WHERE device_id = 'dev-b' AND sequence = 3;
UPDATE records SET record_hash = zeroblob(32) WHERE device_id = 'bench-0001' AND sequence = 2300;
" || fail "sqlite3 corrupt"
same_report 1
cat >expected.err <<'EOT'
eds ledger: bench-0001/2000: stored record_hash differs from the record's
eds ledger: bench-0001/2300: stored record_hash differs from the record's
eds ledger: dev-b/3: stored record_hash differs from the record's
eds ledger: bench-0001/2000: bad_signature: signature does not verify with the registry key for this sequence
eds ledger: dev-b/3: prev_hash_mismatch: prev_hash does not link to record #2501 (sequence 2)
eds ledger: bench-0001/2300: record_not_logged: no "accepted" event in the operation log names this record (device, sequence and record_hash): stored behind the ingest gate, or its event deleted
eds ledger: bench-0001/2300: logged_record_missing: operation log event 2300 accepted this record, but the ledger holds another record there (its record_hash differs)
eds ledger: 7 failures in 2505 records
EOT
if cmp -s expected.err want.err; then pass; else
	fail "ledger verify report"
	diff expected.err want.err >&2
fi
[ ! -s want.out ] && pass || fail "stdout not empty: $(cat want.out)"

expect_rc 2 "$EDS" ledger verify --ledger L --threads 257
expect_one_line_err
expect_rc 2 "$EDS" ledger export --ledger L --out X --threads 2
expect_err "--threads is only for verify"
finish
