#!/usr/bin/env bash
# test_sign_verify.sh - `eds sign` builds valid, linked chains (several
# devices in one file, payload store, defaults, concurrency) and refuses
# broken chains and bad input; `eds verify` accepts good records and rejects
# wrong keys, tampering and malformed input with the documented exit codes.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
need_cmd jq

bin2hex() { od -An -tx1 -v | tr -d ' \n'; }

# key NAME: an Ed25519 key made by openssl: NAME.pem (0600), NAME.pub.pem, $T/NAME.hex
key() {
	openssl genpkey -algorithm ed25519 -out "$T/$1.pem" 2>/dev/null
	chmod 600 "$T/$1.pem"
	openssl pkey -in "$T/$1.pem" -pubout -out "$T/$1.pub.pem"
	openssl pkey -in "$T/$1.pem" -pubout -outform DER | tail -c 32 | bin2hex >"$T/$1.hex"
}
key a
key b
PUB_A=$(cat "$T/a.hex")
PUB_B=$(cat "$T/b.hex")

# sign_ok ARGS...: eds sign must succeed and print one JSON line; kept in $T/last.json
sign_ok() {
	run "$EDS" sign "$@"
	if [ "$RC" -ne 0 ]; then fail "eds sign $*: exit $RC"; sed 's/^/    stderr: /' "$T/err" >&2; return; fi
	if [ "$(wc -l <"$T/out")" -eq 1 ] && jq -e . "$T/out" >/dev/null; then pass; else fail "sign output"; fi
	cp "$T/out" "$T/last.json"
}

# line N of FILE into $T/lineN.json
line() { sed -n "${2}p" "$1" >"$T/line$2.json"; }

expect_rc 0 "$EDS" sign --help
expect_out "usage: eds sign"
expect_out "Exit codes"
expect_rc 0 "$EDS" verify --help
expect_out "usage: eds verify"
expect_out "--public-key"

# ---- a chain with two interleaved devices ---------------------------------
printf 'inspection 1\n' >"$T/inspection-1.bin"
printf 'inspection 2\n' >"$T/inspection-2.bin"
: >"$T/empty.bin"
C="$T/chain.jsonl"
sign_ok --key "$T/a.pem" --device lift-01 --chain "$C" --payload "$T/inspection-1.bin" \
	--payload-dir "$T/store" --timestamp-ms 1700000000000
[ "$(stat -c %a "$C")" = 644 ] && pass || fail "new chain file mode $(stat -c %a "$C")"
jq -e '.sequence == 1 and .timestamp_ms == 1700000000000 and .object_ref == "lift-01/inspection-1.bin"
	and .prev_hash == ("0" * 64) and .payload_size == 13' "$T/last.json" >/dev/null && pass ||
	fail "record 1 fields: $(cat "$T/last.json")"
if command -v b3sum >/dev/null; then
	ph=$(b3sum --no-names "$T/inspection-1.bin")
	[ "$(jq -r .payload_hash "$T/last.json")" = "$ph" ] && pass || fail "payload_hash is not b3sum's"
	[ -f "$T/store/${ph:0:2}/${ph:2}" ] && cmp -s "$T/store/${ph:0:2}/${ph:2}" "$T/inspection-1.bin" &&
		pass || fail "payload not in the store"
fi
sign_ok --key "$T/b.pem" --device crane-7 --chain "$C" --payload "$T/inspection-2.bin" \
	--object-ref "site A/crane 7/€.bin"
jq -e '.sequence == 1 and .object_ref == "site A/crane 7/€.bin"' "$T/last.json" >/dev/null && pass ||
	fail "crane-7 record 1"
before=$(date +%s%3N)
sign_ok --key "$T/a.pem" --device lift-01 --chain "$C" --payload "$T/inspection-2.bin"
after=$(date +%s%3N)
jq -e --argjson lo "$before" --argjson hi "$after" '.sequence == 2 and .timestamp_ms >= $lo and
	.timestamp_ms <= $hi' "$T/last.json" >/dev/null && pass || fail "default timestamp: $(cat "$T/last.json")"
sign_ok --key "$T/a.pem" --device lift-01 --chain "$C" --payload "$T/empty.bin" --timestamp-ms 0
jq -e '.sequence == 3 and .payload_size == 0 and .timestamp_ms == 0' "$T/last.json" >/dev/null &&
	pass || fail "empty payload record"
sign_ok --key "$T/b.pem" --device crane-7 --chain "$C" --payload "$T/inspection-1.bin"
[ "$(wc -l <"$C")" -eq 5 ] && pass || fail "chain has $(wc -l <"$C") lines"
# what was printed is what was appended
[ "$(tail -n 1 "$C")" = "$(cat "$T/last.json")" ] && pass || fail "printed line differs from appended"

# links: each record's prev_hash is the previous record_hash of the same device
jq -s -e '[.[] | select(.device_id == "lift-01")] as $a |
	($a | length) == 3 and $a[1].prev_hash == $a[0].record_hash and
	$a[2].prev_hash == $a[1].record_hash and ([$a[].sequence] == [1,2,3])' "$C" >/dev/null &&
	pass || fail "lift-01 links"
jq -s -e '[.[] | select(.device_id == "crane-7")] as $b |
	$b[1].prev_hash == $b[0].record_hash and $b[1].sequence == 2' "$C" >/dev/null && pass ||
	fail "crane-7 links"

# ---- eds verify -------------------------------------------------------------
for n in 1 3 4; do line "$C" $n; done
line "$C" 2
expect_rc 0 "$EDS" verify --record "$T/line1.json" --public-key "$T/a.pub.pem"
expect_out "valid: device lift-01 sequence 1 record_hash $(jq -r .record_hash "$T/line1.json")"
expect_rc 0 "$EDS" verify --record "$T/line3.json" --public-key "$PUB_A"
expect_out "valid: device lift-01 sequence 2"
expect_rc 0 "$EDS" verify --record "$T/line2.json" --public-key "$T/b.pub.pem"
expect_rc 0 "$EDS" verify --record "$T/line2.json" --public-key "$(tr a-f A-F <"$T/b.hex")"
# a secret key file gives its public half
expect_rc 0 "$EDS" verify --record "$T/line1.json" --public-key "$T/a.pem"
run "$EDS" verify --record - --public-key "$PUB_A" <"$T/line1.json"
[ "$RC" -eq 0 ] && pass || fail "verify --record - (stdin): $RC"
jq . "$T/line1.json" >"$T/pretty.json"
expect_rc 0 "$EDS" verify --record "$T/pretty.json" --public-key "$PUB_A"
# payload checks
expect_rc 0 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --payload "$T/inspection-1.bin"
expect_out "(payload checked)"
expect_rc 0 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --payload-dir "$T/store"
expect_rc 1 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --payload "$T/inspection-2.bin"
expect_err "hash differs"
expect_one_line_err
expect_rc 1 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --payload "$T/empty.bin"
expect_err "size differs"
expect_rc 1 "$EDS" verify --record "$T/line3.json" --public-key "$PUB_A" --payload-dir "$T/store"
expect_err "missing"
expect_one_line_err
expect_rc 2 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --payload "$T/nope.bin"
expect_one_line_err

# wrong key, tampering: exit 1, one line
expect_rc 1 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_B"
expect_err "signature"
expect_one_line_err
jq -c '.timestamp_ms += 1 | del(.record_hash)' "$T/line1.json" >"$T/t1.json"
expect_rc 1 "$EDS" verify --record "$T/t1.json" --public-key "$PUB_A"
expect_err "signature: does not verify"
jq -c '.timestamp_ms += 1' "$T/line1.json" >"$T/t2.json"
expect_rc 1 "$EDS" verify --record "$T/t2.json" --public-key "$PUB_A"
expect_err "record_hash"
expect_one_line_err
jq -c '.object_ref = "elsewhere" | del(.record_hash)' "$T/line1.json" >"$T/t3.json"
expect_rc 1 "$EDS" verify --record "$T/t3.json" --public-key "$PUB_A"
jq -c '.device_id = "crane-7" | del(.record_hash)' "$T/line1.json" >"$T/t4.json"
expect_rc 1 "$EDS" verify --record "$T/t4.json" --public-key "$PUB_A"
sig=$(jq -r .signature "$T/line1.json")
jq -c --arg s "${sig:0:127}$( [ "${sig:127}" = 0 ] && echo 1 || echo 0)" '.signature = $s | del(.record_hash)' \
	"$T/line1.json" >"$T/t5.json"
expect_rc 1 "$EDS" verify --record "$T/t5.json" --public-key "$PUB_A"

# malformed input: exit 2, one line
expect_rc 2 "$EDS" verify --record "$T/missing.json" --public-key "$PUB_A"
expect_err "missing.json"
expect_one_line_err
expect_rc 2 "$EDS" verify --record "$T/line1.json" --public-key "${PUB_A:0:63}"
expect_one_line_err
expect_rc 2 "$EDS" verify --record "$T/line1.json" --public-key "${PUB_A:0:62}zz"
expect_rc 2 "$EDS" verify --record "$T/line1.json" --public-key "$T/no-such-key.pem"
expect_one_line_err
echo '{"format":"ESR1"' >"$T/m1.json"
expect_rc 2 "$EDS" verify --record "$T/m1.json" --public-key "$PUB_A"
expect_err "JSON"
jq -c '. + {"extra": 1}' "$T/line1.json" >"$T/m2.json"
expect_rc 2 "$EDS" verify --record "$T/m2.json" --public-key "$PUB_A"
expect_err 'unknown key "extra"'
expect_one_line_err
sed 's/"sequence":1,/"sequence":18446744073709551616,/' "$T/line1.json" >"$T/m3.json"
expect_rc 2 "$EDS" verify --record "$T/m3.json" --public-key "$PUB_A"
expect_err "sequence: must be an integer 1 .. 2^53-1"
jq -c '.signature |= .[2:]' "$T/line1.json" >"$T/m4.json"
expect_rc 2 "$EDS" verify --record "$T/m4.json" --public-key "$PUB_A"
expect_err "signature: must be exactly 128 hex characters, got 126"
head -c 10485760 /dev/zero | tr '\0' 'x' >"$T/m5.json"
expect_rc 2 "$EDS" verify --record "$T/m5.json" --public-key "$PUB_A"
expect_one_line_err
expect_rc 2 "$EDS" verify --record "$C" --public-key "$PUB_A"
expect_err "after the end of the first JSON value"
expect_rc 2 "$EDS" verify --record "$T/line1.json"
expect_rc 2 "$EDS" verify --public-key "$PUB_A"
expect_rc 2 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --bogus
expect_one_line_err
expect_rc 2 "$EDS" verify --record "$T/line1.json" --record "$T/line1.json" --public-key "$PUB_A"
expect_err "given twice"
expect_rc 2 "$EDS" verify --record "$T/line1.json" --public-key "$PUB_A" --payload a --payload-dir b

# ---- eds sign refusals --------------------------------------------------------
S=(--key "$T/a.pem" --device lift-01 --payload "$T/inspection-1.bin")
expect_rc 2 "$EDS" sign
expect_one_line_err
expect_rc 2 "$EDS" sign --key "$T/a.pem" --device lift-01 --chain "$C"
expect_err "required"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$C" --frob
expect_err "unknown option"
expect_one_line_err
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$C" --key "$T/a.pem"
expect_err "given twice"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$C" extra
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$C" --timestamp-ms
expect_err "needs a value"
for ts in -1 1.5 abc 9007199254740992 99999999999999999999 ""; do
	expect_rc 2 "$EDS" sign "${S[@]}" --chain "$C" --timestamp-ms "$ts"
	expect_err "--timestamp-ms"
done
expect_rc 2 "$EDS" sign --key "$T/a.pem" --device "lift 01" --chain "$T/new.jsonl" --payload "$T/empty.bin"
expect_err "device_id"
expect_one_line_err
[ ! -e "$T/new.jsonl" ] && pass || fail "a refused sign created the chain file"
expect_rc 2 "$EDS" sign --key "$T/a.pem" --device ".." --chain "$T/new.jsonl" --payload "$T/empty.bin"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T/new.jsonl" --object-ref "$(printf 'a\tb')"
expect_err "object_ref"
printf 'x' >"$T/$(printf 'bad\tname')"
expect_rc 2 "$EDS" sign --key "$T/a.pem" --device d --chain "$T/new.jsonl" --payload "$T/$(printf 'bad\tname')"
expect_err "--object-ref"
expect_rc 2 "$EDS" sign --key "$T/a.pem" --device d --chain "$T/new.jsonl" --payload "$T/absent.bin"
expect_err "absent.bin"
expect_one_line_err
expect_rc 2 "$EDS" sign --key "$T/absent.pem" --device d --chain "$T/new.jsonl" --payload "$T/empty.bin"
expect_one_line_err
cp "$T/a.pem" "$T/open.pem"; chmod 644 "$T/open.pem"
expect_rc 2 "$EDS" sign --key "$T/open.pem" --device d --chain "$T/new.jsonl" --payload "$T/empty.bin"
expect_one_line_err
echo 'not a key' >"$T/junk.pem"; chmod 600 "$T/junk.pem"
expect_rc 2 "$EDS" sign --key "$T/junk.pem" --device d --chain "$T/new.jsonl" --payload "$T/empty.bin"
[ ! -e "$T/new.jsonl" ] && pass || fail "a refused sign created the chain file"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T" 
expect_one_line_err

# broken chains are refused (exit 1) and left untouched
sed '3d' "$C" >"$T/gap.jsonl"            # lift-01 sequence 2 removed
cp "$T/gap.jsonl" "$T/gap.orig"
expect_rc 1 "$EDS" sign "${S[@]}" --chain "$T/gap.jsonl"
expect_err "refusing to append to a broken chain"
expect_err "sequence 3 where 2 was expected"
expect_one_line_err
cmp -s "$T/gap.jsonl" "$T/gap.orig" && pass || fail "refused sign changed the chain"
# the other device can still sign into that file
sign_ok --key "$T/b.pem" --device crane-7 --chain "$T/gap.jsonl" --payload "$T/empty.bin"
jq -e '.sequence == 3' "$T/last.json" >/dev/null && pass || fail "crane-7 in gap file"
# a valid record 2 from another chain of the same device: prev_hash does not link
C2="$T/other.jsonl"
sign_ok --key "$T/a.pem" --device lift-01 --chain "$C2" --payload "$T/empty.bin" --timestamp-ms 5
sign_ok --key "$T/a.pem" --device lift-01 --chain "$C2" --payload "$T/empty.bin" --timestamp-ms 6
{ sed -n 1p "$C"; sed -n 2p "$C2"; } >"$T/fork.jsonl"
expect_rc 1 "$EDS" sign "${S[@]}" --chain "$T/fork.jsonl"
expect_err "prev_hash is not the record_hash of sequence 1"
# a duplicate (same sequence twice)
{ sed -n 1p "$C"; sed -n 1p "$C"; } >"$T/dup.jsonl"
expect_rc 1 "$EDS" sign "${S[@]}" --chain "$T/dup.jsonl"
expect_err "sequence 1 where 2 was expected"
# malformed chain files: exit 2, naming file and line
{ sed -n 1,2p "$C"; echo '{"format":"ESR1"}'; } >"$T/bad.jsonl"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T/bad.jsonl"
expect_err "bad.jsonl:3: device_id: missing"
expect_one_line_err
{ cat "$C"; head -c 100 "$C"; } >"$T/torn.jsonl"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T/torn.jsonl"
expect_err "torn.jsonl:6: JSON"
{ sed -n 1p "$C"; head -c 10485760 /dev/zero | tr '\0' ' '; echo; } >"$T/huge.jsonl"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T/huge.jsonl"
expect_err "huge.jsonl:2: line longer than 65536 bytes"
expect_one_line_err
{ echo '['; sed -n 1p "$C"; } >"$T/open.json"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T/open.json"
expect_err "truncated"
jq -c '.timestamp_ms += 1' <(sed -n 1p "$C") >"$T/hash.jsonl"
expect_rc 1 "$EDS" sign "${S[@]}" --chain "$T/hash.jsonl"
expect_err "hash.jsonl:1: record_hash"

# appending a line to a JSON array file would break it: refused, file untouched
jq -s . "$C" >"$T/array.json"
cp "$T/array.json" "$T/array.orig"
expect_rc 2 "$EDS" sign "${S[@]}" --chain "$T/array.json"
expect_err "JSON array"
expect_one_line_err
cmp -s "$T/array.json" "$T/array.orig" && pass || fail "sign changed a JSON array file"

# CRLF chain files and a missing final newline are fine
sed 's/$/\r/' "$C" >"$T/crlf.jsonl"
sign_ok "${S[@]}" --chain "$T/crlf.jsonl"
jq -e '.sequence == 4' "$T/last.json" >/dev/null && pass || fail "crlf chain"
head -c -1 "$C" >"$T/nonl.jsonl"
sign_ok "${S[@]}" --chain "$T/nonl.jsonl"
[ "$(wc -l <"$T/nonl.jsonl")" -eq 6 ] && pass || fail "newline not added before the record"

# ---- concurrent signers take turns -------------------------------------------
P="$T/par.jsonl"
for i in 1 2 3 4 5 6 7 8; do
	"$EDS" sign "${S[@]}" --chain "$P" >/dev/null 2>"$T/par$i.err" &
done
wait
jq -s -e '[.[].sequence] == [1,2,3,4,5,6,7,8] and
	all(range(1; length) as $i | .[$i].prev_hash == .[$i - 1].record_hash)' "$P" >/dev/null &&
	pass || fail "concurrent signers: $(jq -c .sequence "$P" | tr '\n' ' ') $(cat "$T"/par*.err)"

finish
