#!/usr/bin/env bash
# eds update: publisher tools, trust rotation and every verification outcome
# (each with its own exit code), device state and commit, decisions signed
# into an evidence chain that eds verify-chain accepts, the legacy check.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
need_cmd openssl
need_cmd b3sum
for k in a b c d dev; do "$EDS" keygen --out "$k" >/dev/null || fail "keygen $k"; done
head -c 300000 /dev/urandom >img.bin
I0=1700000000000

sign() { # sign OUT SECVER ISSUED [extra args...]
	local out=$1 sv=$2 iss=$3; shift 3
	rm -f "$out"
	"$EDS" update sign --image img.bin --package lift-fw --version 2.1.0 \
		--security-version "$sv" --target hw-a --target hw-b --issued-ms "$iss" \
		--out "$out" "$@" >/dev/null 2>&1 || fail "update sign $out"
}
verify() { # verify MANIFEST TRUST [extra args...] (image img.bin, state st, evidence ev.jsonl)
	local m=$1 t=$2; shift 2
	run "$EDS" update verify --manifest "$m" --image img.bin --trust "$t" --state st \
		--evidence-chain ev.jsonl --key dev.key --device dev-1 "$@"
}
verify_rc() { # verify_rc CODE WHAT MANIFEST TRUST [extra args...]
	local want=$1 what=$2; shift 2
	verify "$@"
	[ "$RC" -eq "$want" ] && pass || { fail "$what: exit $RC, want $want"; sed 's/^/    /' "$T/err" >&2; }
}

# --- help and usage ---
expect_rc 0 "$EDS" update --help
expect_out "19  verify --legacy: signature invalid"
for sub in sign add-signature inspect trust verify commit; do
	expect_rc 0 "$EDS" update $sub --help
	expect_out "Exit codes:"
done
expect_rc 2 "$EDS" update frobnicate
expect_rc 2 "$EDS" update sign --image img.bin
expect_one_line_err
expect_rc 2 "$EDS" update verify --manifest x --image img.bin --trust t --state st --bogus 1
expect_one_line_err

# --- trust policy and manifests ---
expect_rc 0 "$EDS" update trust --key a.pub --key b.pub --key c.pub --threshold 2 --out trust1.json
expect_rc 2 "$EDS" update trust --key a.pub --key b.pub --threshold 3 --out bad.json
expect_err "threshold"
expect_rc 2 "$EDS" update trust --key a.pub --key a.pub --threshold 1 --out bad.json
expect_err "same key"
sign m.json 5 $((I0 + 1000)) --key a.key --key b.key
expect_rc 0 "$EDS" update inspect m.json
expect_out "security_version  5"
expect_out "target            hw-b"
run "$EDS" update inspect m.json --json
[ "$(jq -r .manifest.package "$T/out")" = lift-fw ] && pass || fail "inspect --json"
expect_rc 2 "$EDS" update sign --image img.bin --package lift-fw --version 2.01.0 \
	--security-version 1 --target hw-a --key a.key --out v.json
expect_err "semantic version"
expect_rc 2 "$EDS" update sign --image img.bin --package lift-fw --version 1.0.0 \
	--security-version 1 --target hw-a --key a.key --out m.json
expect_err "exists"

# --- accepted path; first use creates the state and pins the trust ---
verify_rc 2 "no hardware id on first use" m.json trust1.json
verify_rc 0 "accepted" m.json trust1.json --hardware hw-a
expect_out "accepted: lift-fw 2.1.0 (security version 5) for hw-a"
expect_out "expiry: not checked"
[ -f st/trust.json ] && pass || fail "trust not pinned"

# --- image failures ---
cp img.bin good.bin
flip_byte img.bin 1234
cmp -s img.bin good.bin && fail "flip_byte left img.bin unchanged"
verify_rc 17 "tampered byte" m.json trust1.json
expect_err "rejected (hash)"
head -c 299999 good.bin >img.bin
verify_rc 16 "truncated image" m.json trust1.json
expect_err "rejected (size)"
{ cat good.bin; printf 'Z'; } >img.bin
verify_rc 16 "longer image" m.json trust1.json
cp good.bin img.bin
verify_rc 2 "missing image" m.json trust1.json --image nonexistent

# --- target ---
rm -f mt.json
"$EDS" update sign --image img.bin --package lift-fw --version 2.1.0 --security-version 5 \
	--target hw-z --issued-ms $I0 --out mt.json --key a.key --key b.key || fail "sign mt"
verify_rc 12 "wrong target" mt.json trust1.json
expect_err "hw-a is not among"

# --- signatures: threshold, duplicate key, unknown key, invalid, add-signature ---
sign m1.json 5 $I0 --key a.key
verify_rc 11 "threshold not met" m1.json trust1.json
jq '.signatures += .signatures' m1.json >mdup.json
verify_rc 11 "same key twice counts once" mdup.json trust1.json
expect_err "1 duplicate"
sign mu.json 5 $I0 --key a.key --key d.key
verify_rc 11 "unknown key does not count" mu.json trust1.json
expect_err "(1 unknown key(s)"
sign mu3.json 5 $I0 --key a.key --key b.key --key d.key
verify_rc 0 "unknown key ignored but reported" mu3.json trust1.json
expect_out "1 unknown key(s) ignored"
jq '.signatures[1].signature = .signatures[0].signature' m.json >mbad.json
verify_rc 11 "invalid signature" mbad.json trust1.json
expect_err "1 invalid"
expect_rc 0 "$EDS" update add-signature --manifest m1.json --key b.key
verify_rc 0 "second holder's signature added offline" m1.json trust1.json
expect_rc 2 "$EDS" update add-signature --manifest m1.json --key b.key
expect_err "already signed"
jq '.security_version = 6' m.json >mfake.json
verify_rc 11 "field changed after signing" mfake.json trust1.json

# --- commit (of the manifest verified last), rollback, stale ---
verify_rc 0 "re-verify before install" m.json trust1.json
expect_rc 0 "$EDS" update commit --state st
expect_out "minimum security version 5"
expect_rc 2 "$EDS" update commit --state st
expect_err "no verified update"
sign m4.json 4 $((I0 + 5000)) --key a.key --key b.key
verify_rc 13 "rollback" m4.json trust1.json
expect_err "below the device minimum 5"
sign mold.json 5 $I0 --key a.key --key b.key
verify_rc 14 "stale issue time" mold.json trust1.json
sign m6.json 6 $((I0 + 2000)) --key a.key --key b.key --expires-ms $((I0 + 10000))
verify_rc 15 "expired with a trusted clock" m6.json trust1.json --now $((I0 + 20000))
expect_err "rejected (expired)"
verify_rc 0 "expiry unchecked without a trusted clock" m6.json trust1.json
verify_rc 0 "not yet expired" m6.json trust1.json --now $((I0 + 9000))
verify_rc 2 "--now and --trusted-clock" m6.json trust1.json --now 1 --trusted-clock
verify_rc 15 "system clock as trusted clock" m6.json trust1.json --trusted-clock
verify_rc 2 "state is for another hardware id" m6.json trust1.json --hardware hw-b

# --- trust rotation: revoke a, add d ---
expect_rc 0 "$EDS" update trust --key b.pub --key c.pub --key d.pub --threshold 2 \
	--previous trust1.json --out unsigned2.json
verify_rc 18 "unsigned successor refused" m6.json unsigned2.json
expect_err "rejected (trust)"
expect_rc 0 "$EDS" update trust --key b.pub --key c.pub --key d.pub --threshold 2 \
	--previous trust1.json --sign-key b.key --out under2.json
verify_rc 18 "under-signed successor refused" m6.json under2.json
expect_err "1 valid signature(s) by keys of serial 1, 2 required"
expect_rc 0 "$EDS" update trust --key b.pub --key c.pub --key d.pub --threshold 2 \
	--previous trust1.json --sign-key d.key --sign-key b.key --out dsigned2.json
verify_rc 18 "successor signed by a new key only counts old keys" m6.json dsigned2.json
cp under2.json trust2.json
expect_rc 0 "$EDS" update add-signature --trust trust2.json --key c.key
sign m6bc.json 6 $((I0 + 2000)) --key b.key --key c.key
verify_rc 0 "properly signed successor taken" m6bc.json trust2.json
expect_out "pinned policy serial 2"
verify_rc 11 "revoked key a no longer counts" m6.json trust2.json
sign m7.json 6 $((I0 + 3000)) --key b.key --key d.key
verify_rc 0 "new key d counts" m7.json trust2.json
verify_rc 18 "old policy refused after rotation" m7.json trust1.json

# --- malformed manifests and trust files ---
printf '{"format":' >broken.json
verify_rc 2 "malformed JSON" broken.json trust2.json
jq '. + {"extra": 1}' m7.json >unknown.json
verify_rc 2 "unknown key" unknown.json trust2.json
expect_err 'unknown key "extra"'
head -c 20000 /dev/zero | tr '\0' ' ' >big.json
cat m7.json >>big.json
verify_rc 2 "oversized manifest" big.json trust2.json
jq '.keys += ["zz"]' trust2.json >badtrust.json
verify_rc 2 "bad trust key" m7.json badtrust.json

# --- evidence: every decision above is a record of dev-1 that verifies ---
n_ev=$(wc -l <ev.jsonl)
[ "$n_ev" -ge 20 ] && pass || fail "evidence chain has $n_ev records"
expect_rc 0 "$EDS" verify-chain ev.jsonl --public-key dev.pub
expect_out "$n_ev records"
jq -r .object_ref ev.jsonl | grep -c -- '-trust.json$' >cnt
[ "$(cat cnt)" -eq 4 ] && pass || fail "trust refusals recorded: $(cat cnt), want 4"
mkdir pd
expect_rc 0 "$EDS" update verify --manifest m7.json --image img.bin --trust trust2.json --state st \
	--evidence-chain ev2.jsonl --key dev.key --device dev-1 --evidence-payload-dir pd
h=$(jq -r .payload_hash ev2.jsonl)
f=pd/${h:0:2}/${h:2}
[ "$(jq -r .decision "$f") $(jq -r .reason "$f") $(jq -r .version "$f")" = "accept accept 2.1.0" ] \
	&& pass || fail "decision payload content"
[ "$(jq -r .manifest_hash "$f")" = "$("$EDS" update inspect m7.json --json | jq -r .manifest_hash)" ] \
	&& pass || fail "decision payload names the manifest hash"
expect_rc 0 "$EDS" verify-chain ev2.jsonl --public-key dev.pub --payload-dir pd
verify_rc 2 "--key without --evidence-chain" m7.json trust2.json --evidence-chain ""
# an accept that cannot be recorded (broken evidence chain) is not acted on
cp st/update-state.json before.json
jq -c '.sequence = 99' ev2.jsonl >>ev2.jsonl
run "$EDS" update verify --manifest m7.json --image img.bin --trust trust2.json --state st \
	--evidence-chain ev2.jsonl --key dev.key --device dev-1
[ "$RC" -eq 1 ] && pass || fail "accept with a broken evidence chain: exit $RC, want 1"
expect_err "ev2.jsonl"
cmp -s before.json st/update-state.json && pass || fail "state changed without evidence"

# --- outside tools: the signed bytes hash to the manifest hash (b3sum) and
#     each signature verifies over them (openssl) ---
run "$EDS" update inspect m7.json --json
jq -r .signed_bytes "$T/out" | xxd -r -p >signed.bin
[ "$(b3sum --no-names signed.bin)" = "$(jq -r .manifest_hash "$T/out")" ] && pass \
	|| fail "b3sum of signed_bytes is not manifest_hash"
[ "$(head -c 8 signed.bin | xxd -p)" = "4544535550443100" ] && pass || fail "domain prefix"
for i in 0 1; do
	jq -r ".signatures[$i].signature" m7.json | xxd -r -p >s.bin
	k=$(jq -r ".signatures[$i].public_key" m7.json)
	for p in b d; do [ "$("$EDS" pubkey $p.pub)" = "$k" ] && pub=$p.pub; done
	openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in signed.bin -sigfile s.bin \
		>/dev/null && pass || fail "openssl rejects signature $i"
done

# --- legacy (edgesentry-rs): Ed25519 over the raw 32-byte BLAKE3 hash ---
H=$(b3sum --no-names img.bin)
printf '%s' "$H" | xxd -r -p >hash.bin
openssl pkeyutl -sign -inkey a.key -rawin -in hash.bin -out sig.bin || fail "openssl sign"
S=$(xxd -p -c 64 sig.bin)
expect_rc 0 "$EDS" update verify --legacy --image img.bin --signature "$S" --hash "$H" --public-key a.pub
expect_out "NOT protected"
printf '%s\n' "$S" >sig.hex
expect_rc 0 "$EDS" update verify --legacy --image img.bin --signature sig.hex --hash "$H" --public-key a.pub
expect_rc 19 "$EDS" update verify --legacy --image img.bin --signature "$S" --hash "$H" --public-key b.pub
expect_rc 17 "$EDS" update verify --legacy --image good.bin --signature "$S" --hash "$(b3sum --no-names m.json)" --public-key a.pub
expect_rc 2 "$EDS" update verify --legacy --image img.bin --signature "$S" --hash "$H" --public-key a.pub --state st
finish
