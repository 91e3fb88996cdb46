#!/usr/bin/env bash
# bench/run.sh BUILD - run every benchmark of EdgeSentry and print ONE table
# (Markdown) in which each row is a ratio against a baseline measured in the
# same run.  `make bench` builds BUILD (Release) and calls this.
#
# Timing: CLOCK_MONOTONIC; each measurement repeats its operation until it
# lasts >= 0.5 s; best of 3 rounds, cases of a round interleaved; a ratio is
# the median of the same-round ratios (see bench/bench.h).
# Environment:
#   EDS_BENCH_ROUNDS         rounds per measurement (default 3)
#   EDS_BENCH_B3_MIB         size of the BLAKE3 data file in MiB (default 256)
#   EDS_BENCH_CHAIN_RECORDS  records in the verify-chain chain (default 1000000)
#   EDS_BENCH_CHAIN_ROUNDS   timed runs of verify-chain, best kept (default 1:
#                            one run of the whole chain lasts tens of seconds,
#                            far past the 0.5 s minimum, and three would not
#                            fit `make bench` in about 3 minutes)
#   EDS_BENCH_INGEST_RECORDS records per ingest case (default 20000: about a
#                            second per case on 2 idle cores; with 8000, the
#                            64-client cases were mostly ramp-up and drain)
# Data files are kept in BUILD/bench-data and reused by later runs.
set -euo pipefail

BUILD=${1:?usage: bench/run.sh BUILD_DIR}
BIN=$BUILD/bench
DATA=$BUILD/bench-data
ROWS=$DATA/rows.tsv
B3_MIB=${EDS_BENCH_B3_MIB:-256}
CHAIN_N=${EDS_BENCH_CHAIN_RECORDS:-1000000}
CHAIN_ROUNDS=${EDS_BENCH_CHAIN_ROUNDS:-1}

die() { echo "bench: $*" >&2; exit 2; }
note() { echo "bench: $*" >&2; }
# skip_row WHAT REASON: a row that could not be measured, kept in the table.
skip_row() { printf '%s\tskipped\t%s\tn/a\tn/a\t%s\n' "$1" "$2" "${3:-}" >>"$ROWS"; }

if [ ! -x "$BUILD/eds" ] || [ ! -x "$BIN/bench_blake3" ]; then die "$BUILD is not a built tree (make bench)"; fi
command -v b3sum >/dev/null || die "b3sum is not installed (scripts/install-deps.sh)"
case $B3_MIB in '' | *[!0-9]*) die "EDS_BENCH_B3_MIB: want a number of MiB" ;; esac
case $CHAIN_N in '' | *[!0-9]*) die "EDS_BENCH_CHAIN_RECORDS: want a number" ;; esac
case $CHAIN_ROUNDS in '' | *[!0-9]*) die "EDS_BENCH_CHAIN_ROUNDS: want a number" ;; esac
mkdir -p "$DATA"
: >"$ROWS"
# The last run's ingest ledgers (~300,000 payload files) go now, minutes
# before the ingest section: on ext4 without a journal every file created in
# the next ~10 s steps over each freed inode (see docs/performance-ingest.md).
rm -rf "$DATA/ingest-ledgers"
START=$(date +%s)
# Other work on the machine slows every figure; the ratios hold up better
# (cases are interleaved) but still wander, so the table says how busy it was.
LOAD=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
load_now() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }

# ---- BLAKE3 -----------------------------------------------------------------
B3_FILE=$DATA/blake3-${B3_MIB}MiB.bin
if [ "$(stat -c %s "$B3_FILE" 2>/dev/null || echo 0)" != $((B3_MIB << 20)) ]; then
	note "making $B3_FILE (random, cached for later runs)"
	head -c $((B3_MIB << 20)) /dev/urandom >"$B3_FILE.tmp"
	mv "$B3_FILE.tmp" "$B3_FILE"
fi
cat "$B3_FILE" >/dev/null # into the page cache: the file rows time hashing, not the disk
# the data must hash the same in both tools before they are timed
[ "$("$BUILD/eds" hash "$B3_FILE")" = "$(b3sum "$B3_FILE")" ] || die "eds hash and b3sum disagree"
note "BLAKE3 (about 20 s)"
"$BIN/bench_blake3" "$B3_FILE" "$BUILD/eds" "$(command -v b3sum)" >>"$ROWS"

# ---- Ed25519 ----------------------------------------------------------------
note "Ed25519 (about 10 s)"
"$BIN/bench_ed25519" "$DATA/verify-rate" >>"$ROWS"

# ---- verify-chain records/s on a 1,000,000-record chain, 1 and 2 threads ------
# Baseline: the single-core libsodium verify rate measured above times the
# number of threads (ARCHITECTURE.md: at least 0.8).
CORES=$(nproc)
CHAIN=$DATA/chain-$CHAIN_N.jsonl
# a chain made by an older generator may no longer match the format
if [ ! -s "$CHAIN" ] || [ ! -s "$CHAIN.pub" ] || [ "$BIN/bench_gen_chain" -nt "$CHAIN" ]; then
	note "making $CHAIN (cached for later runs)"
	rm -f "$CHAIN.pub"
	if "$BIN/bench_gen_chain" "$CHAIN" "$CHAIN_N" >"$CHAIN.pub.tmp"; then
		mv "$CHAIN.pub.tmp" "$CHAIN.pub"
	fi
fi
RATE=$(cat "$DATA/verify-rate")
note "verify-chain ($CHAIN_ROUNDS timed run(s) of the whole chain per thread count)"
# One row per thread count; the baseline is bare libsodium verify on that
# many cores.  A failure here costs its row only, never the rest of the table.
for threads in 1 2; do
	WHAT="verify-chain --threads $threads, $CHAIN_N-record chain"
	BASE=$(awk -v r="$RATE" -v c="$threads" 'BEGIN { printf "%.0f", r * c }')
	TARGET=">= 0.8"
	[ "$threads" = 2 ] && TARGET=">= 0.8; >= 25 k records/s"
	if [ ! -s "$CHAIN.pub" ]; then
		skip_row "$WHAT" "bench_gen_chain failed (message above)" "$TARGET"
	elif ! EDS_BENCH_ROUNDS=$CHAIN_ROUNDS "$BIN/bench_cmd" "$WHAT" "$CHAIN_N" \
		"k records/s" 1e3 "libsodium verify, 1 core x $threads" "$BASE" "$TARGET" -- \
		"$BUILD/eds" verify-chain --threads "$threads" "$CHAIN" \
		--public-key "$(cat "$CHAIN.pub")" >>"$ROWS"; then
		skip_row "$WHAT" "eds verify-chain failed on $CHAIN (message above; delete it to regenerate)" "$TARGET"
	fi
done

# ---- device agent: sign + queue, and agent -> eds serve end to end -------------
# Self-contained section (bench/agent/bench_agent --table): its own key,
# ledger and `eds serve` on a free loopback port in $DATA/agent, made fresh
# each run (the end-to-end chain must start at sequence 1) and removed after.
AGENT_WHAT="device agent (bench_agent)"
if [ ! -x "$BIN/agent/bench_agent" ]; then
	skip_row "$AGENT_WHAT" "bench_agent not built" "-"
else
	AD=$DATA/agent
	rm -rf "$AD" && mkdir -p "$AD"
	"$BUILD/eds" keygen --out "$AD/dev" >/dev/null
	"$BUILD/eds" device add --ledger "$AD/ledger" --id bench-e2e --public-key "$AD/dev.pub" >/dev/null
	"$BUILD/eds" serve --ledger "$AD/ledger" --listen 127.0.0.1:0 --port-file "$AD/port" \
		--log "$AD/serve.log" 2>"$AD/serve.err" &
	SERVE_PID=$!
	for _ in $(seq 1 100); do [ -s "$AD/port" ] && break; sleep 0.05; done
	note "device agent (about 10 s)"
	if [ ! -s "$AD/port" ]; then
		skip_row "$AGENT_WHAT" "eds serve did not start: $(head -c 200 "$AD/serve.err")" "-"
	elif ! "$BIN/agent/bench_agent" --table "$AD" "http://127.0.0.1:$(cat "$AD/port")" \
		"$AD/dev.key" bench-e2e >>"$ROWS"; then
		skip_row "$AGENT_WHAT" "bench_agent failed (message above)" "-"
	fi
	kill -TERM "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" || true
	rm -rf "$AD"
fi

# ---- ingest records/s: durable vs not, in-process vs HTTP, 1 vs 2 threads ----
# bench/ingest/bench_ingest, one process per case; a case prints its
# records/s and its CPU time per record (user+sys of every thread: the
# load-independent figure).  Each row's baseline runs right after its
# candidate.  Ledgers stay until the last case: deleting thousands of
# payload files just before the next case makes ext4 (no journal) skip the
# freed inodes one by one at every create (see docs/performance-ingest.md).
INGEST_N=${EDS_BENCH_INGEST_RECORDS:-20000}
case $INGEST_N in '' | *[!0-9]*) die "EDS_BENCH_INGEST_RECORDS: want a number" ;; esac
INGEST_DIR=$DATA/ingest-ledgers
mkdir -p "$INGEST_DIR"
# The sections above leave hundreds of MiB of dirty pages (chain files, the
# agent's ledger); written back now, not by the first cases' syncfs.
sync
# ingest_case CASE: "RECORDS_PER_S CPU_US" of one case, or nothing on failure
ingest_case() {
	EDS_BENCH_DIR=$INGEST_DIR EDS_BENCH_KEEP=1 "$BIN/ingest/bench_ingest" "$INGEST_N" 1 "$1" |
		awk '{ for (i = 2; i <= NF; i++) { if ($i == "records/s") r = $(i - 1); if ($i == "us") c = $(i - 1) } }
		     END { if (r != "") print r, c }'
}
# ingest_row WHAT CASE BASE_WHAT BASE_CASE TARGET (BASE_CASE "=N": a fixed rate N)
ingest_row() {
	local a b
	a=$(ingest_case "$2" || true)
	case $4 in =*) b="${4#=} n/a" ;; *) b=$(ingest_case "$4" || true) ;; esac
	if [ -z "$a" ] || [ -z "$b" ]; then
		skip_row "$1" "bench_ingest $2 or $4 failed (message above)" "$5"
		return
	fi
	awk -v a="$a" -v b="$b" -v w="$1" -v bw="$3" -v t="$5" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		cpu = y[2] == "n/a" ? "" : sprintf(" (%s us CPU/record)", y[2])
		printf "%s\t%.2f k records/s (%s us CPU/record)\t%s\t%.2f k records/s%s\t%.2f\t%s\n",
			w, x[1] / 1e3, x[2], bw, y[1] / 1e3, cpu, x[1] / y[1], t }' >>"$ROWS"
}
if [ ! -x "$BIN/ingest/bench_ingest" ]; then
	skip_row "ingest (bench_ingest)" "bench/ingest/bench_ingest not built" ">= 0.9"
else
	note "ingest (about 2 minutes: $INGEST_N records per case, 15 cases)"
	# durable_vs_off MODE DEVICES BATCH CLIENTS WHAT TARGET: one case against
	# itself with durability off.
	durable_vs_off() { ingest_row "ingest $5" "$1:1:$2:$3:$4" "same, durable off" "$1:0:$2:$3:$4" "$6"; }
	IN=">= 0.9; >= 24 k records/s"
	NET=">= 0.9; >= 20 k records/s"
	durable_vs_off inproc 1000 10 8 "in-process, durable, 1,000 devices, 8 clients x 10-record submits" "$IN"
	# Durable throughput is (records per commit) / (commit time: two device
	# flushes); 64 clients keep enough records in flight to fill big groups.
	durable_vs_off inproc 1000 10 64 "in-process, durable, 1,000 devices, 64 clients x 10-record submits" "$IN"
	durable_vs_off inproc 1 100 1 "in-process, durable, 1 device, 100-record submits" "$IN"
	durable_vs_off http 1000 10 8 "HTTP keep-alive, durable, 1,000 devices, 8 clients x 10-record batches" "$NET"
	durable_vs_off http 1000 10 64 "HTTP keep-alive, durable, 1,000 devices, 64 clients x 10-record batches" "$NET"
	durable_vs_off http 1 100 1 "HTTP keep-alive, durable, 1 device, 100-record batches" "$NET"
	# 10-record submits stay below the request-splitting threshold, so each
	# client thread is exactly one verifying thread.
	ingest_row "ingest in-process, durable off, 1,000 devices, 2 clients (2 verifying threads)" \
		inproc:0:1000:10:2 "same, 1 client (1 verifying thread)" inproc:0:1000:10:1 \
		"2.0 on 2 idle cores"
	if [ -s "$DATA/verify-rate" ]; then
		ingest_row "ingest in-process, durable, 1,000 devices, 8 clients x 10-record submits" \
			inproc:1:1000:10:8 "libsodium verify, 1 core x 2 (the 2-core ceiling)" \
			"=$(awk '{ printf "%.0f", $1 * 2 }' "$DATA/verify-rate")" "none"
	fi
	rm -rf "$INGEST_DIR"
fi

# ---- MQTT QoS 1 ingest beside HTTP (eds serve --mqtt, a private mosquitto) ----
MQTT_WHAT="MQTT QoS 1 ingest (eds push --mqtt -> eds serve --mqtt, durable)"
if ! command -v mosquitto >/dev/null; then
	skip_row "$MQTT_WHAT" "mosquitto is not installed (scripts/install-deps.sh)" ">= 0.5 (informative)"
elif [ ! -x "$BIN/bench_gen_chain" ]; then
	skip_row "$MQTT_WHAT" "bench_gen_chain not built" ">= 0.5 (informative)"
else
	note "MQTT ingest (about 10 s)"
	"$(dirname "$0")/mqtt/bench_mqtt.sh" "$BUILD" >>"$ROWS" ||
		skip_row "$MQTT_WHAT" "bench_mqtt.sh failed (message above)" ">= 0.5 (informative)"
fi

# ---- the table ---------------------------------------------------------------
echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $CORES cores;" \
	"$(b3sum --version); eds $("$BUILD/eds" --version | cut -d' ' -f2);" \
	"$(date -u +%Y-%m-%d); $(($(date +%s) - START)) s;" \
	"1-min load average at start: $LOAD; 1/5/15-min at the end: $(load_now)"
echo "Each figure: CLOCK_MONOTONIC, >= 0.5 s per measurement, best of" \
	"${EDS_BENCH_ROUNDS:-3} rounds with the cases of a program interleaved in ~20 ms" \
	"slices; ratio: median of the same-round ratios (so it can differ a little from" \
	"result / baseline result); verify-chain: best of $CHAIN_ROUNDS whole-chain run(s)."
echo
awk -F'\t' '
BEGIN {
	print "| benchmark | result | baseline (same run) | baseline result | ratio | target |"
	print "|---|---:|---|---:|---:|---|"
}
{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$ROWS"
