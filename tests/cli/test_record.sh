#!/usr/bin/env bash
# test_record.sh - `eds record header/show` on the worked example of
# docs/format.md, and every kind of bad one-record input (exit 2, one line;
# exit 1 for a record_hash mismatch).
. "$(dirname "$0")/lib.sh"

SH1=45535231076c6966742d303100000000000000010000018bcfe568000000000000000032bc241675579ac45b71af3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c0000000000000000000000000000000000000000000000000000000000000000000186c6966742d30312f696e7370656374696f6e2d312e62696e
SIG1=759f65123e2e1482ce5a9c6b7f934c19057c6647593ddb7f56b12e4c7b846762d79b2e2a59456e399ab5be6fe5db8345f96c0d3fcfe8d54966681bf2bd957801
HASH1=8ed58a85272bb6ad23d5c3b091cd1201f7874b2110294dcb61f6405d734c19f0
PH=bc241675579ac45b71af3b28c9d8f7929d4413e519fd002d4ac2c0a33b6ce8c0
ZERO=0000000000000000000000000000000000000000000000000000000000000000
REC="{\"format\":\"ESR1\",\"device_id\":\"lift-01\",\"sequence\":1,\"timestamp_ms\":1700000000000,\"payload_size\":50,\"payload_hash\":\"$PH\",\"prev_hash\":\"$ZERO\",\"object_ref\":\"lift-01/inspection-1.bin\",\"signature\":\"$SIG1\",\"record_hash\":\"$HASH1\"}"
echo "$REC" >"$T/rec.json"

# rec_with JQ-FILTER: the example record changed by a jq filter, compact.
rec_with() { jq -c "$1" "$T/rec.json"; }

# bad NAME CODE TEXT: `eds record show` on file NAME fails with CODE and one line with TEXT.
bad() {
	expect_rc "$2" "$EDS" record show "$T/$1"
	expect_err "$3"
	expect_one_line_err
	expect_rc "$2" "$EDS" record header --hex "$T/$1"
	expect_err "$3"
}

# --help on stdout, exit 0
expect_rc 0 "$EDS" record --help
expect_out "usage: eds record header"
expect_out "Exit codes"
expect_rc 0 "$EDS" record header --help
expect_out "--raw"

# header --hex is the documented SH; --raw is the same bytes
expect_rc 0 "$EDS" record header --hex "$T/rec.json"
[ "$(cat "$T/out")" = "$SH1" ] && pass || fail "header --hex differs from docs/format.md"
"$EDS" record header --raw "$T/rec.json" >"$T/sh.bin"; RC=$?
[ "$RC" -eq 0 ] && pass || fail "header --raw exit $RC"
[ "$(od -An -tx1 -v "$T/sh.bin" | tr -d ' \n')" = "$SH1" ] && pass || fail "header --raw bytes differ"
[ "$(wc -c <"$T/sh.bin")" -eq 126 ] && pass || fail "header --raw length"
# file before the mode works as well; the header and the signature hash to record_hash
"$EDS" record header "$T/rec.json" --raw >"$T/sh2.bin" && cmp -s "$T/sh.bin" "$T/sh2.bin" && pass ||
	fail "header FILE --raw"
if command -v b3sum >/dev/null; then
	got=$( { cat "$T/sh.bin"; printf "$(echo "$SIG1" | sed 's/../\\x&/g')"; } | b3sum --no-names)
	[ "$got" = "$HASH1" ] && pass || fail "b3sum(SH || signature) = $got"
fi

# the same record pretty-printed, as an array of one, from stdin
jq . "$T/rec.json" >"$T/pretty.json"
expect_rc 0 "$EDS" record header --hex "$T/pretty.json"
expect_out "$SH1"
echo "[$REC]" >"$T/arr.json"
expect_rc 0 "$EDS" record header --hex "$T/arr.json"
expect_out "$SH1"
run "$EDS" record header --hex - <"$T/rec.json"
[ "$RC" -eq 0 ] && grep -qF "$SH1" "$T/out" && pass || fail "header --hex - (stdin)"
printf '%s\r\n' "$REC" >"$T/crlf.json"
expect_rc 0 "$EDS" record header --hex "$T/crlf.json"

# show: every field, the decoded time, the record hash
expect_rc 0 "$EDS" record show "$T/rec.json"
expect_out "device_id     lift-01"
expect_out "sequence      1"
expect_out "2023-11-14T22:13:20.000Z"
expect_out "object_ref    lift-01/inspection-1.bin"
expect_out "record_hash   $HASH1"
expect_out "header        126 bytes"

# record_hash may be left out; uppercase hex is accepted
rec_with 'del(.record_hash)' >"$T/nohash.json"
expect_rc 0 "$EDS" record show "$T/nohash.json"
expect_out "$HASH1"
rec_with '.signature |= ascii_upcase | .payload_hash |= ascii_upcase' >"$T/upper.json"
expect_rc 0 "$EDS" record header --hex "$T/upper.json"
expect_out "$SH1"

# usage errors: exit 2, one line
expect_rc 2 "$EDS" record
expect_one_line_err
expect_rc 2 "$EDS" record frob "$T/rec.json"
expect_err "unknown sub-command"
expect_one_line_err
expect_rc 2 "$EDS" record header "$T/rec.json"
expect_one_line_err
expect_rc 2 "$EDS" record header --bin "$T/rec.json"
expect_err "--raw or --hex"
expect_rc 2 "$EDS" record show
expect_rc 2 "$EDS" record show "$T/rec.json" extra

# bad inputs
bad missing.json 2 "missing.json"
: >"$T/empty.json"
bad empty.json 2 "JSON"
printf '{"format":"ESR1",' >"$T/trunc.json"
bad trunc.json 2 "JSON"
head -c 300 "$T/rec.json" >"$T/cut.json"
bad cut.json 2 "JSON"
echo "[$REC" >"$T/open-array.json"
bad open-array.json 2 "JSON"
echo "$REC$REC" >"$T/two-on-a-line.json"
bad two-on-a-line.json 2 "after the end of the first JSON value"
printf '%s\n%s\n' "$REC" "$REC" >"$T/two.jsonl"
bad two.jsonl 2 "after the end of the first JSON value"
echo "[$REC,$REC]" >"$T/two.json"
bad two.json 2 "an array of 2 records, expected exactly one"
echo 'not json' >"$T/garbage.json"
bad garbage.json 2 "JSON"
echo '[[[[{}]]]]' >"$T/nested.json"
bad nested.json 2 "must be an object"
rec_with '. + {"colour":"red"}' >"$T/unknown.json"
bad unknown.json 2 'unknown key "colour"'
rec_with 'del(.sequence)' >"$T/nosequence.json"
bad nosequence.json 2 "sequence: missing"
sed 's/"sequence":1/"sequence":1,"sequence":1/' "$T/rec.json" >"$T/dup.json"
bad dup.json 2 "duplicate object key"
rec_with '.format = "ESR2"' >"$T/format.json"
bad format.json 2 'format: must be "ESR1"'
sed 's/"sequence":1/"sequence":0/' "$T/rec.json" >"$T/seq0.json"
bad seq0.json 2 "sequence: must be an integer 1 .. 2^53-1, got 0"
sed 's/"sequence":1/"sequence":9007199254740992/' "$T/rec.json" >"$T/seq53.json"
bad seq53.json 2 "sequence: must be an integer 1 .. 2^53-1"
sed 's/"sequence":1/"sequence":99999999999999999999999/' "$T/rec.json" >"$T/seqbig.json"
bad seqbig.json 2 "sequence: must be an integer 1 .. 2^53-1"
sed 's/"timestamp_ms":1700000000000/"timestamp_ms":-5/' "$T/rec.json" >"$T/tsneg.json"
bad tsneg.json 2 "timestamp_ms: must be an integer 0 .. 2^53-1, got -5"
sed 's/"payload_size":50/"payload_size":50.0/' "$T/rec.json" >"$T/real.json"
bad real.json 2 "payload_size: must be an integer 0 .. 2^53-1, got a real number"
sed 's/"payload_size":50/"payload_size":"50"/' "$T/rec.json" >"$T/str.json"
bad str.json 2 "payload_size: must be an integer 0 .. 2^53-1, got a string"
rec_with '.payload_hash |= .[1:]' >"$T/short.json"
bad short.json 2 "payload_hash: must be exactly 64 hex characters, got 63"
rec_with '.signature += "00"' >"$T/longsig.json"
bad longsig.json 2 "signature: must be exactly 128 hex characters, got 130"
rec_with '.prev_hash |= "zz" + .[2:]' >"$T/nothex.json"
bad nothex.json 2 "prev_hash: must be exactly 64 hex characters, got 64 with a non-hex character"
rec_with '.device_id = "lift 01"' >"$T/device.json"
bad device.json 2 "device_id:"
rec_with '.object_ref = "a\u0001b"' >"$T/control.json"
bad control.json 2 "object_ref: contains a control character"
rec_with '.prev_hash = "'"$HASH1"'"' >"$T/prev.json"
bad prev.json 2 "prev_hash: must be 32 zero bytes when sequence is 1"
printf '%s' "$REC" | sed 's/"lift-01\/inspection-1.bin"/"a\\u0000b"/' >"$T/nul.json"
bad nul.json 2 "NUL"
# record_hash stated wrong: a verification failure (1)
rec_with '.timestamp_ms += 1' >"$T/tampered.json"
bad tampered.json 1 "record_hash: states $HASH1"
# a 10 MB one-record file: refused by size (2), without parsing it
head -c 10485760 /dev/zero | tr '\0' ' ' >"$T/huge.json"
bad huge.json 2 "limit"
# a directory
bad . 2 "not a regular file"

finish
