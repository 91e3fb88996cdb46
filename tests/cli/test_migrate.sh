# test_migrate.sh - `eds migrate`: an edgesentry-rs chain (built by jq from the
# shared legacy vectors) carried into an ESR1 chain that `eds verify-chain`
# accepts; broken legacy chains refused with nothing written; no overwrite.
. "$(dirname "$0")/lib.sh"
need_vectors
need_cmd jq
need_cmd b3sum
need_cmd openssl

V="$VECTORS/edgesentry_rs_legacy.json"
PUB=$(jq -r .public_key_hex "$V")
jq -f "$(dirname "$0")/legacy_chain.jq" "$V" >"$T/chain.json" || { echo "jq failed"; exit 1; }
tamper() { jq "$1" "$T/chain.json" >"$T/$2"; }

# The migrating key, made by OpenSSL.
openssl genpkey -algorithm ed25519 -out "$T/new.key" 2>/dev/null && chmod 600 "$T/new.key"
openssl pkey -in "$T/new.key" -pubout -out "$T/new.pub" 2>/dev/null
migrate() { expect_rc "$1" "$EDS" migrate "${@:2}"; }
# nothing_left DIR: no output or staging file was left behind.
nothing_left() {
	if ls "$1" | grep -q 'out'; then fail "files left in $1: $(ls "$1" | tr '\n' ' ')"
	else pass; fi
}

# ---- a genuine chain ----------------------------------------------------------
mkdir -p "$T/ok"
migrate 0 --format legacy "$T/chain.json" --key "$T/new.key" --out "$T/ok/out.jsonl" \
	--public-key "$PUB" --out-payload-dir "$T/ok/payloads"
expect_out "migrated 3 legacy records (sequences 1..3)"
expect_out "device lift-01, sequences 1..3"
expect_out "legacy signatures checked: 3"
expect_err "signatures cover only the payload hash"
expect_one_line_err
[ "$(wc -l <"$T/ok/out.jsonl")" -eq 3 ] && pass || fail "out.jsonl does not have 3 lines"
# Each new payload_hash is the legacy record_hash (the payload is the
# postcard encoding, which is what the legacy hash covers).
for i in 0 1 2; do
	want=$(jq -r ".lift_inspection_chain.records[$i].record_hash" "$V")
	got=$(sed -n "$((i + 1))p" "$T/ok/out.jsonl" | jq -r .payload_hash)
	[ "$got" = "$want" ] && pass || fail "record $i payload_hash $got, legacy record_hash $want"
	seq=$(sed -n "$((i + 1))p" "$T/ok/out.jsonl" | jq -r '.sequence, .object_ref, .device_id' |
	      tr '\n' ' ')
	[ "$seq" = "$((i + 1)) legacy/$((i + 1)) lift-01 " ] && pass || fail "record $i: $seq"
	# b3sum of the stored payload gives the legacy record hash back.
	f="$T/ok/payloads/${want:0:2}/${want:2}"
	[ "$(b3sum --no-names "$f" 2>/dev/null)" = "$want" ] && pass || fail "payload $f"
done
# The new chain is a valid ESR1 chain signed by the new key, payloads included.
expect_rc 0 "$EDS" verify-chain "$T/ok/out.jsonl" --public-key "$T/new.pub" \
	--payload-dir "$T/ok/payloads"
expect_out "1 device, 3 records: 1 valid, 0 failed; signatures checked: 3; payloads checked: 3"
# ... and not by the legacy key.
expect_rc 1 "$EDS" verify-chain "$T/ok/out.jsonl" --public-key "$PUB"
# A changed migrated record is caught by the ESR1 chain.
sed '2s/"legacy\/2"/"legacy\/9"/' "$T/ok/out.jsonl" >"$T/ok/edited.jsonl"
expect_rc 1 "$EDS" verify-chain "$T/ok/edited.jsonl" --public-key "$T/new.pub"

# ---- never overwrite --------------------------------------------------------------
cp "$T/ok/out.jsonl" "$T/ok/before.jsonl"
migrate 2 "$T/chain.json" --key "$T/new.key" --out "$T/ok/out.jsonl"
expect_err "already exists, refusing to overwrite it"
expect_one_line_err
cmp -s "$T/ok/out.jsonl" "$T/ok/before.jsonl" && pass || fail "out.jsonl was changed"
ln -s "$T/nowhere" "$T/ok/dangling.jsonl"
migrate 2 "$T/chain.json" --key "$T/new.key" --out "$T/ok/dangling.jsonl"
expect_one_line_err
[ -L "$T/ok/dangling.jsonl" ] && [ ! -e "$T/nowhere" ] && pass || fail "dangling link followed"

# ---- options ----------------------------------------------------------------------
mkdir -p "$T/dev"
migrate 0 "$T/chain.json" --key "$T/new.key" --out "$T/dev/out.jsonl" --device gw-7.lift_01
expect_out "legacy signatures NOT checked (no --public-key)"
[ "$(jq -r .device_id "$T/dev/out.jsonl" | sort -u)" = "gw-7.lift_01" ] && pass ||
	fail "--device not applied"
# Legacy payloads are checked with --payload-dir (file names from b3sum).
mkdir -p "$T/lp"
for i in 0 1 2; do
	jq -j ".lift_inspection_chain.records[$i].payload_utf8" "$V" >"$T/p"
	h=$(b3sum --no-names "$T/p")
	mkdir -p "$T/lp/${h:0:2}" && cp "$T/p" "$T/lp/${h:0:2}/${h:2}"
done
migrate 0 "$T/chain.json" --key "$T/new.key" --out "$T/dev/out2.jsonl" --payload-dir "$T/lp"
expect_out "legacy payloads checked: 3"
rm "$T/lp/${h:0:2}/${h:2}"
mkdir -p "$T/miss"
migrate 1 "$T/chain.json" --key "$T/new.key" --out "$T/miss/out.jsonl" --payload-dir "$T/lp"
expect_err "record #2"
expect_err "missing from the payload directory"
expect_one_line_err
nothing_left "$T/miss"
# A legacy device id that ESR1 does not allow needs --device.
tamper '[.[0] | .device_id = "lift 01"]' spaced.json
mkdir -p "$T/sp"
migrate 2 "$T/spaced.json" --key "$T/new.key" --out "$T/sp/out.jsonl"
expect_err "give --device ID"
expect_one_line_err
nothing_left "$T/sp"
migrate 0 "$T/spaced.json" --key "$T/new.key" --out "$T/sp/out.jsonl" --device lift-01
expect_out "migrated 1 legacy record "

# ---- broken legacy chains: exit 1, nothing written ----------------------------------
mkdir -p "$T/bad"
refused() { # refused JQ-EDIT TEXT [ARGS...]
	tamper "$1" bad.json
	migrate 1 "$T/bad.json" --key "$T/new.key" --out "$T/bad/out.jsonl" "${@:3}"
	expect_err "$2"
	expect_one_line_err
	nothing_left "$T/bad"
}
refused '.[1].timestamp_ms += 1' "record #2 (line"
refused 'del(.[1])' "prev_record_hash is not the hash of the previous record"
refused '[.[0], .[2], .[1]]' "record #1"
refused '.[1:]' "first record must be zero"
refused '.[2].signature[5] = (.[2].signature[5] + 1) % 256' "signature over payload_hash" \
	--public-key "$PUB"
migrate 1 "$T/chain.json" --key "$T/new.key" --out "$T/bad/out.jsonl" \
	--public-key d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
expect_err "record #0"
nothing_left "$T/bad"

# ---- bad input and usage: exit 2, nothing written ------------------------------------
tamper '.[1].payload_hash[0] = 300' malformed.json
migrate 2 "$T/malformed.json" --key "$T/new.key" --out "$T/bad/out.jsonl"
expect_err "payload_hash[0]"
expect_one_line_err
nothing_left "$T/bad"
echo '[]' >"$T/empty.json"
migrate 2 "$T/empty.json" --key "$T/new.key" --out "$T/bad/out.jsonl"
expect_err "nothing to migrate"
nothing_left "$T/bad"
cp "$T/new.key" "$T/open.key" && chmod 644 "$T/open.key"
migrate 2 "$T/chain.json" --key "$T/open.key" --out "$T/bad/out.jsonl"
expect_err "--key"
expect_one_line_err
migrate 2 "$T/chain.json" --key "$T/new.key"
expect_one_line_err
migrate 2 "$T/chain.json" --out "$T/bad/out.jsonl"
migrate 2 --format esr1 "$T/chain.json" --key "$T/new.key" --out "$T/bad/out.jsonl"
migrate 2 "$T/chain.json" --key "$T/new.key" --out "$T/bad/out.jsonl" --device "a/b"
expect_one_line_err
migrate 2 "$T/chain.json" --key "$T/new.key" --out "$T/bad/out.jsonl" --public-key zz
migrate 2 "$T/missing.json" --key "$T/new.key" --out "$T/bad/out.jsonl"
nothing_left "$T/bad"
expect_rc 0 "$EDS" migrate --help
expect_out "--out-payload-dir"
expect_out "Exit codes"

finish
