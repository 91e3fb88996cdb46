#!/usr/bin/env bash
# fuzz/run.sh BUILD SECONDS - run every libFuzzer target of BUILD (see
# fuzz/CMakeLists.txt, `make fuzz-build`) for SECONDS each.
#
# Target fuzz_NAME starts from the kept corpus fuzz/corpus/NAME/, copied to a
# temporary folder so the corpus in git is never modified (libFuzzer runs
# every kept input first, so the corpus doubles as a regression suite), and
# uses fuzz/NAME.dict when present.  Any crash, leak, timeout or sanitizer
# report fails the run; its input is kept in BUILD/fuzz-artifacts/.
# Prints one line per target and exits non-zero when any target failed.
set -euo pipefail
if [ $# -ne 2 ] || ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: fuzz/run.sh BUILD_DIR SECONDS" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
SECONDS_EACH=$2
SRC=$(cd "$(dirname "$0")" && pwd)
ARTIFACTS=$BUILD/fuzz-artifacts
WORK=$(mktemp -d "${TMPDIR:-/tmp}/eds-fuzz-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$ARTIFACTS"

# Leaks and UBSan findings are failures too; -timeout catches hangs (a
# single input running over 10 s).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
ran=0
missing=0
for src in "$SRC"/fuzz_*.c; do
	[ -e "$src" ] || continue
	target=$(basename "$src" .c)
	name=${target#fuzz_}
	bin=$BUILD/fuzz/$target
	if [ ! -x "$bin" ]; then
		echo "FAIL $target: $bin was not built"
		missing=$((missing + 1))
		failed=$((failed + 1))
		continue
	fi
	corpus=$WORK/$name
	mkdir -p "$corpus"
	if [ -d "$SRC/corpus/$name" ]; then
		cp -R "$SRC/corpus/$name/." "$corpus/"
	fi
	kept=$(find "$corpus" -type f | wc -l)
	args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048
	      -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$target-")
	if [ -f "$SRC/$name.dict" ]; then
		args+=(-dict="$SRC/$name.dict")
	fi
	log=$WORK/$target.log
	ran=$((ran + 1))
	if "$bin" "${args[@]}" "$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		now=$(find "$corpus" -type f | wc -l)
		echo "ok   $target: ${runs:-?} runs in ${SECONDS_EACH}s, corpus $kept -> $now inputs"
	else
		echo "FAIL $target: see the report below; input kept as $ARTIFACTS/$target-*"
		# The report (error line and stack), then where the input went.
		awk '/ERROR|runtime error|deadly signal/ && !n {n = 1} n && n++ <= 30' "$log" |
			sed 's/^/    | /'
		grep -E 'Test unit written|^Base64:' "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

if [ $((ran + missing)) -eq 0 ]; then
	echo "fuzz: no fuzz/fuzz_*.c targets found" >&2
	exit 1
fi
echo "fuzz: $((ran + missing - failed)) of $((ran + missing)) targets ran ${SECONDS_EACH}s each without a finding"
[ "$failed" -eq 0 ]
