#!/usr/bin/env bash
# eds update on a 1 GiB sparse image: signed and verified in constant
# memory.  Peak RSS (GNU time -v) for the 1 GiB image must be within 8 MiB
# of the peak for a 1 MiB image: the image is streamed, never held.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
[ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1 || { echo "SKIPPED: GNU time -v is not available"; exit 77; }
for k in a dev; do "$EDS" keygen --out "$k" >/dev/null || fail "keygen $k"; done
"$EDS" update trust --key a.pub --threshold 1 --out trust.json || fail "trust"
truncate -s 1G big.img
truncate -s 1M small.img

rss_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$T/err"; }
measure() { # measure IMAGE STATE: sets S_RSS and V_RSS, the peak RSS of sign and of verify
	rm -f "$1.json"
	run /usr/bin/time -v "$EDS" update sign --image "$1" --package big --version 1.0.0 \
		--security-version 1 --target hw --key a.key --out "$1.json"
	[ "$RC" -eq 0 ] && pass || fail "sign $1: exit $RC"
	S_RSS=$(rss_kb)
	run /usr/bin/time -v "$EDS" update verify --manifest "$1.json" --image "$1" \
		--trust trust.json --state "$2" --hardware hw
	[ "$RC" -eq 0 ] && pass || fail "verify $1: exit $RC"
	V_RSS=$(rss_kb)
}
measure small.img st1
s_small=$S_RSS v_small=$V_RSS
measure big.img st2
s_big=$S_RSS v_big=$V_RSS
echo "peak RSS KiB: sign 1 MiB $s_small, 1 GiB $s_big; verify 1 MiB $v_small, 1 GiB $v_big"
[ $((s_big - s_small)) -lt 8192 ] && pass || fail "sign RSS grew: $s_small -> $s_big KiB"
[ $((v_big - v_small)) -lt 8192 ] && pass || fail "verify RSS grew: $v_small -> $v_big KiB"
[ "$(jq -r .image_size big.img.json)" = 1073741824 ] && pass || fail "image_size"
[ "$(jq -r .image_blake3 big.img.json)" = "$(b3sum --no-names big.img)" ] && pass \
	|| fail "image_blake3 differs from b3sum"
finish
