# lib.sh - helpers for the CLI tests (sourced, never run).
#
# Each test script: `. "$(dirname "$0")/lib.sh"`, then calls the checks and
# finally `finish`.  Every check that fails prints one line and the script
# exits 1 at the end; a script never passes by printing alone.
set -u
EDS=${EDS_BIN:?EDS_BIN must point at the eds binary}
VECTORS=${EDS_VECTORS:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/eds-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
PASSES=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { PASSES=$((PASSES + 1)); }

# run CMD...: runs a command, keeping stdout in $T/out, stderr in $T/err, status in $RC.
run() { "$@" >"$T/out" 2>"$T/err"; RC=$?; }

# expect_rc CODE CMD...: the command must exit with CODE.
expect_rc() {
	local want=$1; shift
	run "$@"
	if [ "$RC" -ne "$want" ]; then
		fail "expected exit $want, got $RC: $*"; sed 's/^/    stderr: /' "$T/err" | head -5 >&2
	else pass; fi
}

# expect_err TEXT: stderr of the last run contains TEXT (fixed string).
expect_err() {
	if grep -qF -- "$1" "$T/err"; then pass; else
		fail "stderr lacks '$1'"; sed 's/^/    stderr: /' "$T/err" | head -5 >&2; fi
}

# expect_out TEXT: stdout of the last run contains TEXT (fixed string).
expect_out() {
	if grep -qF -- "$1" "$T/out"; then pass; else
		fail "stdout lacks '$1'"; sed 's/^/    stdout: /' "$T/out" | head -5 >&2; fi
}

# expect_one_line_err: stderr of the last run is exactly one line.
expect_one_line_err() {
	local n; n=$(wc -l <"$T/err")
	if [ "$n" -eq 1 ]; then pass; else fail "stderr has $n lines, want 1"; sed 's/^/    stderr: /' "$T/err" | head -5 >&2; fi
}

# expect_no_out / expect_no_err: stdout / stderr of the last run is empty.
expect_no_out() {
	[ ! -s "$T/out" ] && pass || fail "stdout not empty: $(head -c 300 "$T/out")"
}
expect_no_err() {
	[ ! -s "$T/err" ] && pass || fail "stderr not empty: $(head -c 300 "$T/err")"
}

# expect_jq FILTER [FILE]: the jq FILTER is true of FILE (default: the last
# stdout), which must hold exactly one line.
expect_jq() {
	local f=${2:-$T/out}
	if [ "$(wc -l <"$f")" -eq 1 ] && jq -e "$1" "$f" >/dev/null 2>&1; then pass; else
		fail "jq '$1' is not true of (or not one line): $(head -c 400 "$f")"; fi
}

# flip_byte FILE OFFSET: change one byte in place.  Writing a fixed byte would
# leave random data unchanged once in 256 runs; inverting a bit never does.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# need_vectors: skip (exit 77) when the shared vectors folder is absent.
need_vectors() {
	if [ -z "$VECTORS" ] || [ ! -d "$VECTORS" ]; then
		echo "SKIPPED: test vectors folder '${VECTORS}' is absent"; exit 77
	fi
}

# need_cmd CMD: skip when an outside tool is not installed.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || { echo "SKIPPED: $1 is not installed"; exit 77; }
}

finish() {
	echo "$PASSES checks passed, $FAILS failed"
	[ "$FAILS" -eq 0 ] || exit 1
	[ "$PASSES" -gt 0 ] || { echo "no checks ran" >&2; exit 1; }
	exit 0
}

# ledger_sql CHAIN DEVICE: SQL (no BEGIN/COMMIT) that stores the records of
# CHAIN (a JSON Lines chain of DEVICE, in order, from 1) in a ledger without a
# server, as fast as sqlite3 takes rows: each record with its payload pending
# and the "accepted" event the ingest gate logs with it, then the device's
# head.  The events get no chain_hash: ledger_rechain computes it.
ledger_sql() {
	jq -r '"INSERT INTO records VALUES(\u0027\(.device_id)\u0027,\(.sequence),"
		+ "\(.timestamp_ms),\(.payload_size),X\u0027\(.payload_hash)\u0027,"
		+ "X\u0027\(.prev_hash)\u0027,\u0027\(.object_ref)\u0027,X\u0027\(.signature)\u0027,"
		+ "X\u0027\(.record_hash)\u0027,0,\u0027test\u0027,0);\n"
		+ "INSERT INTO oplog(time_ms, source, device_id, sequence, decision, reason, "
		+ "record_hash) VALUES(0,\u0027test\u0027,\u0027\(.device_id)\u0027,\(.sequence),"
		+ "\u0027accepted\u0027,\u0027\u0027,X\u0027\(.record_hash)\u0027);"' "$1"
	echo "UPDATE devices SET head_sequence = $(wc -l <"$1"),"
	echo "  head_hash = X'$(tail -1 "$1" | jq -r .record_hash)' WHERE device_id = '$2';"
}

# ledger_copy SQL: a copy of ledger L changed by sqlite3, named in $C.
ledger_copy() {
	C=X$RANDOM
	cp -r L "$C"
	sqlite3 "$C/ledger.sqlite" "$1" || fail "sqlite3 $1"
}

# failures_are WANT: the --json failures of the last run, as "reason device/sequence" lines.
failures_are() {
	local got
	got=$(jq -r '.failures[] | "\(.reason) \(.device_id)/\(.sequence)"' "$T/out")
	[ "$got" = "$1" ] && pass || fail "want failures '$1', got '$got'"
}

# ledger_rechain DIR: chain the operation log of ledger DIR after events were
# written into it with SQL, by the upgrade a read-write open runs on a schema 3
# ledger (every event's chain_hash computed again, in id order).
ledger_rechain() {
	sqlite3 "$1/ledger.sqlite" "PRAGMA user_version = 3" &&
		"$EDS" ledger recover --ledger "$1" >/dev/null
}

# tty_run CMDLINE: run CMDLINE (one shell string) on a pseudo-terminal, as a user
# at a terminal would (script, util-linux), its output and errors in tty.out.
tty_run() { script -qec "$1" /dev/null >tty.out 2>&1; }

# expect_progress LABEL UNIT: tty.out holds LABEL's progress line, counting UNIT.
expect_progress() {
	grep -q "$1: .*%.* $2 .*$2/s" tty.out && pass ||
		fail "no '$1' progress line on a terminal: $(head -c 300 tty.out)"
}

# expect_no_progress UNIT WHY: tty.out holds no progress line counting UNIT.
expect_no_progress() {
	if grep -q "$1/s" tty.out; then fail "$2: a progress line was shown"; else pass; fi
}
