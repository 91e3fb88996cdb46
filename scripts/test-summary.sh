#!/usr/bin/env bash
# test-summary.sh CTEST_LOG... - one closing line over several ctest runs
# (make test runs the suite normally and under sanitizers):
#   test: N passed, N failed, N skipped
# A test that exited 77 is skipped (ctest SKIP_RETURN_CODE) and counted
# only as skipped.  Exits 1 when a log is missing, counts no test, or
# records a failure.
set -euo pipefail
passed=0 failed=0 skipped=0
for log in "$@"; do
	if [ ! -f "$log" ]; then
		echo "test-summary: $log not found" >&2
		exit 1
	fi
	# "100% tests passed, 0 tests failed out of 42"
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "test-summary: $log has no ctest summary" >&2
		exit 1
	fi
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
	nfail=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
	nskip=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' "$log" || true)
	passed=$((passed + total - nfail - nskip))
	failed=$((failed + nfail))
	skipped=$((skipped + nskip))
done
echo "test: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + failed)) -gt 0 ]
