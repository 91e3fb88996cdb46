#!/usr/bin/env bash
# eds verify-chain --threads N: the report (stdout, stderr, exit code) is
# byte for byte the one of --threads 1 (the sequential read), on the demo's
# tampered chains, on input errors, and on a 3,000-record chain corrupted at
# random places (fixed seed) across the 1,024-record batches; plus --threads
# validation.
. "$(dirname "$0")/lib.sh"
need_cmd jq

D=$T/demo
expect_rc 0 "$EDS" demo --keep "$D"
C=$D/chain.jsonl
REG=$D/registry.json

# same_report ARGS...: --threads 1, 2, 3 and the default give identical output.
same_report() {
	"$EDS" verify-chain --threads 1 "$@" >"$T/want.out" 2>"$T/want.err"
	local want=$?
	for t in ${THREADS:-2 3 0 default}; do
		if [ "$t" = default ]; then
			"$EDS" verify-chain "$@" >"$T/got.out" 2>"$T/got.err"
		else
			"$EDS" verify-chain --threads "$t" "$@" >"$T/got.out" 2>"$T/got.err"
		fi
		local got=$?
		if [ "$got" -eq "$want" ] && cmp -s "$T/want.out" "$T/got.out" &&
			cmp -s "$T/want.err" "$T/got.err"; then pass; else
			fail "verify-chain --threads $t $* differs from --threads 1 (exit $got vs $want)"
			diff "$T/want.out" "$T/got.out" | head -4 | sed 's/^/    /' >&2
			diff "$T/want.err" "$T/got.err" | head -4 | sed 's/^/    /' >&2
		fi
	done
}

same_report --keys "$REG" --payload-dir "$D/payloads" "$C"
for dir in "$D"/tamper/*/; do
	tp=$dir/payloads
	[ -d "$tp" ] || tp=$D/payloads
	same_report --keys "$REG" --payload-dir "$tp" "$dir/chain.jsonl"
	same_report --json --keys "$REG" "$dir/chain.jsonl"
done
# input errors: malformed line, record_hash mismatch, missing file
{ head -5 "$C"; echo '{"format":'; tail -3 "$C"; } >"$T/bad.jsonl"
same_report --keys "$REG" "$T/bad.jsonl"
jq -c 'if .sequence == 3 then .timestamp_ms += 1 else . end' "$C" >"$T/rh.jsonl"
same_report --keys "$REG" "$T/rh.jsonl"
same_report "$T/absent.jsonl"
# an array file
jq -s . "$D/tamper/4-forged-signature/chain.jsonl" >"$T/array.json"
same_report --keys "$REG" "$T/array.json"

# a 3,000-record chain (the benchmark's generator, when built) with random damage
GEN=$EDS_BUILD_DIR/bench/bench_gen_chain
if [ -x "$GEN" ]; then
	PUB=$("$GEN" "$T/long.jsonl" 3000)
	THREADS=2 same_report --public-key "$PUB" "$T/long.jsonl"
	expect_rc 0 "$EDS" verify-chain --threads 2 --public-key "$PUB" "$T/long.jsonl"
	expect_out "1 device, 3000 records: 1 valid, 0 failed; signatures checked: 3000"
	for seed in 1 2 3 4; do
		# one device: only its first failure shows, so damage records past a
		# batch edge, and also rename a tail of the chain into new devices
		awk -v seed="$seed" 'BEGIN { srand(seed); a = int(rand() * 3000) + 1; b = int(rand() * 3000) + 1;
			kind = seed % 3; split_at = 1000 + int(rand() * 1500) }
		{
			# without the stated record_hash an edit is a chain failure, not an input error
			sub(/,"record_hash":"[0-9a-f]*"/, "")
			if (NR == a && kind == 0) sub(/"signature":"./, "\"signature\":\"f")
			if (NR == a && kind == 1) next
			if (NR == a && kind == 2) { print; print; next }
			if (NR > split_at) sub(/"device_id":"bench-0001"/, "\"device_id\":\"bench-" (NR % 3) "\"")
			if (NR == b) sub(/"sequence":[0-9]+/, "\"sequence\":7")
			print
		}' "$T/long.jsonl" >"$T/damaged.jsonl"
		THREADS=2 same_report --json --public-key "$PUB" "$T/damaged.jsonl"
		grep -q '"reason"' "$T/want.out" && pass || fail "seed $seed: the damage went unnoticed"
	done
else
	echo "note: $GEN not built; the long-chain comparison is skipped" >&2
fi

# --threads validation: one line, exit 2
for bad in -1 x 257 "" 1e3 99999999999999999999; do
	expect_rc 2 "$EDS" verify-chain --threads "$bad" "$C"
	expect_err "--threads: must be an integer 0 .. 256, got '$bad'"
done
expect_rc 0 "$EDS" verify-chain --help
expect_out "--threads N"

finish
