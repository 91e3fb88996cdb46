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
# Served by `eds verify-chain` (its own module): runs once that command
# exists (its --help exits 0) and bench_gen_chain is built (it needs
# eds_record_to_json from src/core/record_json.c).  Baseline: the single-core
# libsodium verify rate measured above times the number of threads
# (ARCHITECTURE.md: at least 0.8).
CHAIN_WHAT="verify-chain, $CHAIN_N-record chain (eds verify-chain)"
CORES=$(nproc)
if ! "$BUILD/eds" verify-chain --help >/dev/null 2>&1; then
	skip_row "$CHAIN_WHAT" "eds verify-chain is not implemented yet" ">= 0.8"
elif [ ! -x "$BIN/bench_gen_chain" ]; then
	skip_row "$CHAIN_WHAT" "bench_gen_chain not built (needs src/core/record_json.c)" ">= 0.8"
else
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
