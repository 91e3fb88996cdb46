#!/usr/bin/env bash
# eds update verify on a 1 GiB sparse image, in constant memory: peak RSS
# (GNU time -v) for the 1 GiB image must be within 8 MiB of the peak for a
# 1 MiB image: the image is streamed, never held.  The 1 GiB manifest is the
# 1 MiB one with size and hash (from b3sum) replaced and re-signed with
# add-signature, so the big image is read once, by the verifier.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
need_cmd b3sum
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 || { echo "SKIPPED: GNU time -v is not available"; exit 77; }
for k in a dev; do "$EDS" keygen --out "$k" >/dev/null || fail "keygen $k"; done
"$EDS" update trust --key a.pub --threshold 1 --out trust.json || fail "trust"
truncate -s 1G big.img
truncate -s 1M small.img

rss_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$T/err"; }
verify_rss() { # verify_rss IMAGE MANIFEST STATE: sets RSS
	run /usr/bin/time -v "$EDS" update verify --manifest "$2" --image "$1" \
		--trust trust.json --state "$3" --hardware hw
	[ "$RC" -eq 0 ] && pass || { fail "verify $1: exit $RC"; sed 's/^/    /' "$T/err" | head -3 >&2; }
	RSS=$(rss_kb)
}
expect_rc 0 "$EDS" update sign --image small.img --package big --version 1.0.0 \
	--security-version 1 --target hw --key a.key --out small.json
jq --arg h "$(b3sum --no-names big.img)" \
	'.image_size = 1073741824 | .image_blake3 = $h | .signatures = []' small.json >big.json
expect_rc 0 "$EDS" update add-signature --manifest big.json --key a.key
verify_rss small.img small.json st1
small=$RSS
verify_rss big.img big.json st2
big=$RSS
echo "peak RSS of eds update verify: 1 MiB image $small KiB, 1 GiB image $big KiB"
# Under AddressSanitizer freed buffers stay in its quarantine, so peak RSS
# says nothing about the program's own memory: compare only in plain builds.
if nm "$EDS" 2>/dev/null | grep -q __asan_init; then
	echo "note: sanitizer build, RSS comparison not meaningful; skipped"
else
	[ -n "$small" ] && [ -n "$big" ] && [ $((big - small)) -lt 8192 ] && pass \
		|| fail "verify RSS grew: $small -> $big KiB"
fi
finish
