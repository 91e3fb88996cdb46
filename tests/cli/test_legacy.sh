# test_legacy.sh - `eds verify-chain --format legacy` on edgesentry-rs chain
# files built (with jq, independently of eds) from the shared legacy vectors,
# genuine and tampered, with and without key and payload directory.
. "$(dirname "$0")/lib.sh"
need_vectors
need_cmd jq
need_cmd b3sum

V="$VECTORS/edgesentry_rs_legacy.json"
PUB=$(jq -r .public_key_hex "$V")
SEED=$(jq -r .seed_hex "$V")
WARN="legacy (edgesentry-rs) signatures cover only the payload hash"

# The chain as edgesentry-rs writes it, built by jq from the vectors (pretty-printed).
jq -f "$(dirname "$0")/legacy_chain.jq" "$V" >"$T/chain.json" || { echo "jq failed"; exit 1; }
tamper() { jq "$1" "$T/chain.json" >"$T/$2"; }
verify() { expect_rc "$1" "$EDS" verify-chain --format legacy "${@:2}"; }

# ---- genuine chain ------------------------------------------------------------
verify 0 "$T/chain.json"
expect_out "1 legacy chain, 3 records: 3 valid, 0 failed; signatures NOT checked (no key given)"
expect_err "$WARN"
expect_one_line_err
verify 0 "$T/chain.json" --public-key "$PUB"
expect_out "3 valid, 0 failed; signatures checked: 3"
expect_one_line_err
# The edgesentry-rs key JSON is accepted as the key, and so is stdin.
printf '{"private_key_hex": "%s", "public_key_hex": "%s"}\n' "$SEED" "$PUB" >"$T/rs-key.json"
chmod 600 "$T/rs-key.json"
verify 0 - --public-key "$T/rs-key.json" <"$T/chain.json"
expect_out "signatures checked: 3"
# The head is the vectors' last record hash: every record hash was recomputed exactly.
verify 0 "$T/chain.json" --public-key "$PUB" --json
HEAD=$(jq -r '.lift_inspection_chain.records[2].record_hash' "$V")
if jq -e --arg h "$HEAD" '.valid == true and .records == 3 and .signatures_checked == 3
    and .head == $h and .last_sequence == 3 and .failures == [] and .format == "legacy"' \
    "$T/out" >/dev/null; then pass; else fail "--json report: $(cat "$T/out")"; fi
# Compact serde_json (one line) reads the same.
jq -c . "$T/chain.json" >"$T/compact.json"
verify 0 "$T/compact.json" --public-key "$PUB"
echo '[]' >"$T/empty.json"
verify 0 "$T/empty.json"
expect_out "0 records"

# ---- tampered chains ----------------------------------------------------------
tamper '.[1].timestamp_ms += 1' changed.json
verify 1 "$T/changed.json"
expect_out "FAIL record=#2 line="
expect_out "sequence=3 reason=prev_hash_mismatch"
expect_out "2 valid, 1 failed"
expect_one_line_err
tamper '[.[0], .[2], .[1]]' reordered.json
verify 1 "$T/reordered.json"
expect_out "FAIL record=#1"
expect_out "reason=prev_hash_mismatch"
tamper 'del(.[1])' dropped.json
verify 1 "$T/dropped.json"
expect_out "FAIL record=#1 line="
expect_out "sequence=3 reason=prev_hash_mismatch"
tamper '.[1:]' truncated-front.json
verify 1 "$T/truncated-front.json"
expect_out "FAIL record=#0"
expect_out "first record must be zero"
# A changed signature: without the key only the next link shows it; with
# the key the record itself fails.
tamper '.[1].signature[0] = (.[1].signature[0] + 1) % 256' badsig.json
verify 1 "$T/badsig.json"
expect_out "FAIL record=#2"
verify 1 "$T/badsig.json" --public-key "$PUB"
expect_out "FAIL record=#1 line="
expect_out "sequence=2 reason=bad_signature"
verify 1 "$T/badsig.json" --public-key "$PUB" --json
if jq -e '.valid == false and .records_failed == 2 and .failures[0].index == 1
    and .failures[0].reason == "bad_signature" and .failures[0].device_id == "lift-01"
    and .failures[1].reason == "prev_hash_mismatch"' "$T/out" >/dev/null
then pass; else fail "--json failures: $(cat "$T/out")"; fi
# The wrong key fails every record.
WRONG=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
verify 1 "$T/chain.json" --public-key "$WRONG"
expect_out "0 valid, 3 failed; signatures checked: 0"

# ---- payload directory (paths and hashes from b3sum, not from eds) -------------
mkdir -p "$T/payloads"
for i in 0 1 2; do
	jq -j ".lift_inspection_chain.records[$i].payload_utf8" "$V" >"$T/p$i"
	h=$(b3sum --no-names "$T/p$i")
	want=$(jq -r ".lift_inspection_chain.records[$i].payload_hash" "$V")
	[ "$h" = "$want" ] && pass || fail "b3sum of payload $i: $h, vector says $want"
	mkdir -p "$T/payloads/${h:0:2}"
	cp "$T/p$i" "$T/payloads/${h:0:2}/${h:2}"
done
verify 0 "$T/chain.json" --public-key "$PUB" --payload-dir "$T/payloads"
expect_out "signatures checked: 3; payloads checked: 3"
h1=$(b3sum --no-names "$T/p1")
printf 'x' >>"$T/payloads/${h1:0:2}/${h1:2}"
h2=$(b3sum --no-names "$T/p2")
rm "$T/payloads/${h2:0:2}/${h2:2}"
verify 1 "$T/chain.json" --payload-dir "$T/payloads"
expect_out "FAIL record=#1 line="
expect_out "reason=payload_mismatch"
expect_out "FAIL record=#2"
expect_out "reason=payload_missing"
expect_out "1 valid, 2 failed"

# ---- bad input: exit 2 and exactly one line on stderr -------------------------
bad() { # bad JQ-EDIT TEXT-IN-STDERR
	tamper "$1" bad.json
	verify 2 "$T/bad.json"
	expect_err "$2"
	expect_one_line_err
}
bad '.[1].extra = 1' 'unknown key "extra"'
bad '.[1].payload_hash[3] = 256' "payload_hash[3]: must be an integer 0..255"
bad '.[1].payload_hash |= .[1:]' "payload_hash: must be an array of 32 integers"
bad '.[0].sequence = -1' "sequence: must be an integer"
bad '.[2] |= del(.object_ref)' "object_ref: missing"
bad '.[0]' "expected a JSON array"
bad '.[0].device_id = 7' "device_id: must be a string"
printf '[\n{"device_id": "a",\n "sequence": 1, "sequence": 2}]' >"$T/dup.json"
verify 2 "$T/dup.json"
expect_err "dup.json:3: "
expect_one_line_err
head -c 500 "$T/chain.json" >"$T/cut.json"
verify 2 "$T/cut.json"
expect_err "file ends inside a record"
expect_one_line_err
verify 2 "$T/missing.json"
expect_one_line_err
verify 2 "$T/chain.json" --public-key 1234
expect_err "--public-key"
expect_one_line_err

# ---- usage --------------------------------------------------------------------
verify 2 "$T/chain.json" --format legacy --keys "$T/rs-key.json"
expect_one_line_err
verify 2 "$T/chain.json" --quiet
expect_rc 2 "$EDS" verify-chain --format rust "$T/chain.json"
expect_rc 0 "$EDS" verify-chain --help
expect_out "--format FORMAT"
expect_out "legacy"

finish
