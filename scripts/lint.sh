#!/usr/bin/env bash
# lint.sh BUILD - style and static analysis; exits non-zero on any finding.
#
#   1. clang-format: every tracked C/C++ file matches .clang-format.
#   2. cppcheck: warning, performance and portability checks over src/.
#   3. clang-tidy: the checks of .clang-tidy over every library and CLI
#      source, with the flags of BUILD/compile_commands.json.
# Each step runs to the end so one report shows every finding.
set -uo pipefail
if [ $# -ne 1 ]; then
	echo "usage: scripts/lint.sh BUILD_DIR   (a configured build, e.g. build)" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
BUILD=$1
DB=$BUILD/compile_commands.json
JOBS=$(nproc 2>/dev/null || echo 2)
[ -f "$DB" ] || { echo "lint: $DB not found: configure BUILD first (make build)" >&2; exit 2; }
for tool in clang-format cppcheck clang-tidy jq; do
	command -v "$tool" >/dev/null || { echo "lint: $tool is not installed (make deps)" >&2; exit 2; }
done

failed=()
step() { echo "lint: $1"; }

step "clang-format"
mapfile -t sources < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp')
unformatted=0
for f in "${sources[@]}"; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "  not formatted: $f"
		clang-format "$f" | diff -u "$f" - | sed -n '3,30p' | sed 's/^/    /'
		unformatted=$((unformatted + 1))
	fi
done
if [ "$unformatted" -ne 0 ]; then
	failed+=(clang-format)
	echo "lint: $unformatted files differ from .clang-format: run 'make format' (clang-format -i)"
fi

step "cppcheck"
# -D__GNUC__ checks the configuration we build (one, not every #ifdef mix).
if ! cppcheck -q -j "$JOBS" --std=c11 --enable=warning,performance,portability \
	--error-exitcode=1 --inline-suppr --suppress=missingIncludeSystem \
	-D__GNUC__ -D_DEFAULT_SOURCE -I include -I src/core -I src src/; then
	failed+=(cppcheck)
fi

step "clang-tidy"
# One file per clang-tidy process: clang-tidy 14 carries analyzer state from
# one file to the next and then reports bogus valist.Uninitialized errors.
# The tracked sources that BUILD compiles (a source of an optional part not
# configured there has no flags to be analysed with).
jq -r '.[].file' "$DB" | sort -u >"$BUILD/lint-compiled.txt"
mapfile -t tidy < <(git ls-files 'src/*.c' 'src/*.cpp' | sed "s|^|$PWD/|" |
	sort | comm -12 - "$BUILD/lint-compiled.txt")
if [ ${#tidy[@]} -eq 0 ]; then
	echo "lint: no sources of src/ in $DB" >&2
	failed+=(clang-tidy)
elif ! printf '%s\n' "${tidy[@]}" |
	xargs -P "$JOBS" -n 1 clang-tidy -p "$BUILD" --quiet 2> >(grep -v '^[0-9]* warnings* generated' >&2); then
	failed+=(clang-tidy)
fi

if [ ${#failed[@]} -ne 0 ]; then
	echo "lint: FAILED: ${failed[*]}"
	exit 1
fi
echo "lint: clean (clang-format ${#sources[@]} files, cppcheck src/, clang-tidy ${#tidy[@]} files)"
