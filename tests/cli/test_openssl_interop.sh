#!/usr/bin/env bash
# test_openssl_interop.sh - records signed by `eds sign` with a key made by
# `openssl genpkey` verify with `openssl pkeyutl` over the bytes of
# `eds record header --raw`; OpenSSL's own signature of those bytes is
# byte-identical (Ed25519 is deterministic); b3sum agrees on payload_hash and
# record_hash; tampering is caught by OpenSSL too.
. "$(dirname "$0")/lib.sh"
need_cmd openssl
need_cmd jq
need_cmd b3sum

hex2bin() { printf "$(sed 's/../\\x&/g')"; }
bin2hex() { od -An -tx1 -v | tr -d ' \n'; }

openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
chmod 600 "$T/key.pem"
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem"
head -c 3000 /dev/urandom >"$T/photo.bin"

for seq in 1 2 3; do
	run "$EDS" sign --key "$T/key.pem" --device "gate_3:north" --chain "$T/chain.jsonl" \
		--payload "$T/photo.bin" --object-ref "gate/ph$seq.bin"
	[ "$RC" -eq 0 ] && pass || { fail "eds sign: exit $RC: $(cat "$T/err")"; continue; }
	cp "$T/out" "$T/rec$seq.json"

	# openssl verifies eds's signature over eds's signed header
	"$EDS" record header --raw "$T/rec$seq.json" >"$T/header.bin" || fail "record header --raw"
	jq -r .signature "$T/rec$seq.json" | hex2bin >"$T/sig.bin"
	[ "$(wc -c <"$T/sig.bin")" -eq 64 ] && pass || fail "signature is not 64 bytes"
	if openssl pkeyutl -verify -pubin -inkey "$T/pub.pem" -rawin -in "$T/header.bin" \
		-sigfile "$T/sig.bin" >"$T/ossl.out" 2>&1; then pass; else
		fail "openssl rejects record $seq: $(cat "$T/ossl.out")"; fi
	grep -q "Signature Verified Successfully" "$T/ossl.out" && pass || fail "openssl output"

	# openssl's signature of the same bytes is the same signature
	openssl pkeyutl -sign -inkey "$T/key.pem" -rawin -in "$T/header.bin" -out "$T/ossl-sig.bin"
	cmp -s "$T/sig.bin" "$T/ossl-sig.bin" && pass || fail "openssl signs differently"

	# b3sum: payload_hash, and record_hash = BLAKE3(SH || signature)
	[ "$(jq -r .payload_hash "$T/rec$seq.json")" = "$(b3sum --no-names "$T/photo.bin")" ] &&
		pass || fail "payload_hash differs from b3sum"
	[ "$(jq -r .record_hash "$T/rec$seq.json")" = "$(cat "$T/header.bin" "$T/sig.bin" | b3sum --no-names)" ] &&
		pass || fail "record_hash differs from b3sum of header || signature"

	# the header carries the fields at the documented offsets
	h=$(bin2hex <"$T/header.bin")
	[ "${h:0:8}" = 45535231 ] && pass || fail "magic"
	[ "${h:8:2}" = 0c ] && pass || fail "device id length"
	[ "$((16#${h:34:16}))" -eq "$seq" ] && pass || fail "sequence at offset 5+L"
	[ "${h:82:64}" = "$(jq -r .payload_hash "$T/rec$seq.json")" ] && pass || fail "payload_hash offset"
	[ "${h:146:64}" = "$(jq -r .prev_hash "$T/rec$seq.json")" ] && pass || fail "prev_hash offset"
done

# a changed header byte or signature bit: openssl says no, eds says no
"$EDS" record header --raw "$T/rec2.json" >"$T/header.bin"
jq -r .signature "$T/rec2.json" | hex2bin >"$T/sig.bin"
{ head -c 20 "$T/header.bin"; printf 'X'; tail -c +22 "$T/header.bin"; } >"$T/bad-header.bin"
if openssl pkeyutl -verify -pubin -inkey "$T/pub.pem" -rawin -in "$T/bad-header.bin" \
	-sigfile "$T/sig.bin" >/dev/null 2>&1; then fail "openssl accepted a changed header"; else pass; fi
jq -c '.timestamp_ms += 1 | del(.record_hash)' "$T/rec2.json" >"$T/t.json"
expect_rc 1 "$EDS" verify --record "$T/t.json" --public-key "$T/pub.pem"
expect_rc 0 "$EDS" verify --record "$T/rec2.json" --public-key "$T/pub.pem"

# eds verify accepts a record whose signature openssl made over eds's header
"$EDS" record header --raw "$T/rec3.json" >"$T/header.bin"
openssl pkeyutl -sign -inkey "$T/key.pem" -rawin -in "$T/header.bin" -out "$T/ossl-sig.bin"
jq -c --arg s "$(bin2hex <"$T/ossl-sig.bin")" '.signature = $s | del(.record_hash)' "$T/rec3.json" \
	>"$T/ossl-signed.json"
expect_rc 0 "$EDS" verify --record "$T/ossl-signed.json" --public-key "$T/pub.pem"

finish
