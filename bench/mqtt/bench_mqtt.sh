#!/usr/bin/env bash
# bench/mqtt/bench_mqtt.sh BUILD [N] - records/s into the durable ledger over
# MQTT QoS 1 (`eds push --mqtt` through a private mosquitto on loopback, each
# record counted on the server's answer after its commit) beside the same
# chain over HTTP (`eds push --url`), both in batches of 100 into fresh
# ledgers.  Prints one row for bench/run.sh's table (tab-separated: what,
# result, baseline, baseline result, ratio, target).  Best of 2 runs each,
# interleaved.  About 10 s.
set -euo pipefail
BUILD=${1:?usage: bench_mqtt.sh BUILD [N]}
N=${2:-1000}
EDS=$BUILD/eds
command -v mosquitto >/dev/null || { echo "bench_mqtt: mosquitto is not installed" >&2; exit 2; }
D=$(mktemp -d "${TMPDIR:-/tmp}/eds-bench-mqtt-XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$D"; }
trap cleanup EXIT
"$BUILD/bench/bench_gen_chain" "$D/chain.jsonl" "$N" >"$D/pub.hex"
DEV=$(head -1 "$D/chain.jsonl" | jq -r .device_id)

# a broker on a free loopback port
for _ in $(seq 1 20); do
	BPORT=$((20000 + RANDOM % 40000))
	printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\nmax_queued_messages 100000\n' \
		"$BPORT" "$(id -un)" >"$D/broker.conf"
	mosquitto -c "$D/broker.conf" 2>/dev/null &
	bpid=$!
	sleep 0.3
	kill -0 "$bpid" 2>/dev/null && break
done
pids+=("$bpid")

now() { date +%s.%N; }
# run KIND: a fresh ledger and server, push the chain, print records/s
run() {
	local L=$D/ledger-$1-$RANDOM
	"$EDS" device add --ledger "$L" --id "$DEV" --public-key "$(cat "$D/pub.hex")" >/dev/null
	rm -f "$D/port"
	"$EDS" serve --ledger "$L" --listen 127.0.0.1:0 --port-file "$D/port" --log /dev/null \
		--mqtt "127.0.0.1:$BPORT" --mqtt-client-id "bench-$RANDOM" &
	local spid=$!
	pids+=("$spid")
	for _ in $(seq 1 100); do [ -s "$D/port" ] && break; sleep 0.05; done
	sleep 0.3 # subscribed
	local t0 t1 url="http://127.0.0.1:$(cat "$D/port")"
	t0=$(now)
	if [ "$1" = mqtt ]; then
		"$EDS" push --mqtt "127.0.0.1:$BPORT" "$D/chain.jsonl" --batch 100 >/dev/null
	else
		"$EDS" push --url "$url" "$D/chain.jsonl" --batch 100 >/dev/null
	fi
	t1=$(now)
	kill -TERM "$spid"; wait "$spid" || true
	rm -rf "$L"
	awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}
best_m=0 best_h=0
for _ in 1 2; do
	m=$(run mqtt); h=$(run http)
	[ "$m" -gt "$best_m" ] && best_m=$m
	[ "$h" -gt "$best_h" ] && best_h=$h
done
awk -v m="$best_m" -v h="$best_h" -v n="$N" 'BEGIN {
	printf "MQTT QoS 1 ingest, %d records in batches of 100 (eds push --mqtt -> eds serve --mqtt, durable)\t%.3g k records/s\tHTTP batches of 100 (eds push --url), same chain\t%.3g k records/s\t%.2f\t>= 0.5 (informative)\n", n, m / 1e3, h / 1e3, m / h
}'
