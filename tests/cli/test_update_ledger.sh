#!/usr/bin/env bash
# Update decisions reach the server: the evidence chain written by
# `eds update verify` is pushed to an ingest server, `eds ledger verify`
# accepts every record, and the exported auditor's copy holds each decision
# (payload JSON: decision, reason, manifest hash) with the server's checks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1
for k in a b dev; do "$EDS" keygen --out "$k" >/dev/null || fail "keygen $k"; done
head -c 5000 /dev/urandom >fw.bin
"$EDS" update trust --key a.pub --key b.pub --threshold 2 --out trust.json || fail "trust"
"$EDS" update sign --image fw.bin --package lift-fw --version 3.0.0 --security-version 2 \
	--target hw-a --key a.key --key b.key --out ok.json >/dev/null || fail "sign ok"
"$EDS" update sign --image fw.bin --package lift-fw --version 3.0.1 --security-version 2 \
	--target hw-a --key a.key --out weak.json >/dev/null || fail "sign weak"
ev=(--evidence-chain ev.jsonl --key dev.key --device dev-1 --evidence-payload-dir P)
expect_rc 0 "$EDS" update verify --manifest ok.json --image fw.bin --trust trust.json \
	--state st --hardware hw-a "${ev[@]}"
expect_rc 11 "$EDS" update verify --manifest weak.json --image fw.bin --trust trust.json \
	--state st "${ev[@]}"
head -c 10 fw.bin >short.bin
expect_rc 16 "$EDS" update verify --manifest ok.json --image short.bin --trust trust.json \
	--state st "${ev[@]}"

expect_rc 0 "$EDS" device add --ledger L --id dev-1 --public-key dev.pub
start_server main --ledger L
expect_rc 0 "$EDS" push --url "$URL" ev.jsonl --payload-dir P
stop_server main
expect_rc 0 "$EDS" ledger verify --ledger L
expect_rc 0 "$EDS" ledger export --ledger L --out X
expect_rc 0 "$EDS" verify-chain X/records.jsonl --keys X/registry.json --payload-dir X/payloads
got=""
for h in $(jq -r .payload_hash X/records.jsonl); do
	got="$got $(jq -r '"\(.decision)/\(.reason)/\(.version)"' "X/payloads/${h:0:2}/${h:2}")"
done
[ "$got" = " accept/accept/3.0.0 reject/threshold/3.0.1 reject/size/3.0.0" ] && pass \
	|| fail "decisions in the ledger:$got"
finish
