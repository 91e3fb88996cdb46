#!/usr/bin/env bash
# test_hash.sh - `eds hash` prints exactly what b3sum prints: sizes around
# the block and chunk edges up to 16 MiB, several files, stdin, --length,
# escaped and non-UTF-8 names; plus errors (missing file, directory, bad
# flags, unwritable stdout).
. "$(dirname "$0")/lib.sh"
need_cmd b3sum

# same_as_b3sum ARGS...: stdout of `eds hash ARGS` equals `b3sum ARGS`, exit 0.
same_as_b3sum() {
	b3sum "$@" >"$T/want" 2>/dev/null
	expect_rc 0 "$EDS" hash "$@"
	if cmp -s "$T/out" "$T/want"; then pass; else
		fail "eds hash $* differs from b3sum"
		diff "$T/out" "$T/want" | head -4 | sed 's/^/    /' >&2
	fi
}

# equal FILE1 FILE2 WHAT
equal() {
	if cmp -s "$1" "$2"; then pass; else fail "$3"; fi
}

sizes="0 1 1023 1024 1025 65537 16777216"
for n in $sizes; do
	head -c "$n" /dev/urandom >"$T/f$n"
	same_as_b3sum "$T/f$n"
done

# several files in one call, in the order given, one file twice
same_as_b3sum "$T/f1025" "$T/f0" "$T/f65537" "$T/f1" "$T/f1025"

# extended and short outputs
for len in 0 1 31 33 64 65 1000 4097; do
	same_as_b3sum --length "$len" "$T/f1025" "$T/f65537"
done
same_as_b3sum -l 7 "$T/f1"
b3sum --length 9 "$T/f1" >"$T/want"
run "$EDS" hash --length=9 "$T/f1"
equal "$T/out" "$T/want" "--length=9 differs from b3sum --length 9"

# standard input: no FILE, '-', and '-' among files
b3sum <"$T/f65537" >"$T/want"
run "$EDS" hash <"$T/f65537"
equal "$T/out" "$T/want" "stdin without FILE differs from b3sum"
run "$EDS" hash - <"$T/f65537"
equal "$T/out" "$T/want" "'-' differs from b3sum"
expect_out "  -"
b3sum "$T/f1" - "$T/f0" <"$T/f1023" >"$T/want"
run "$EDS" hash "$T/f1" - "$T/f0" <"$T/f1023"
equal "$T/out" "$T/want" "'-' among files differs from b3sum"
printf 'abc' | "$EDS" hash >"$T/out"
echo "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85  -" >"$T/want"
equal "$T/out" "$T/want" "hash of 'abc' on stdin is not the known BLAKE3 value"

# names: relative, with spaces, escaped (backslash, newline), not UTF-8,
# and a name that looks like an option after --
mkdir "$T/names"
(
	cd "$T/names" || exit 1
	for name in plain 'with space' 'back\slash' "$(printf 'new\nline')" \
		"$(printf 'bad\377byte')" "$(printf 'cut\342\202')" "$(printf 'ok\342\202\254')" -dash; do
		head -c 70 /dev/urandom >"./$name"
	done
)
cd "$T/names" || exit 1
for name in plain 'with space' 'back\slash' "$(printf 'new\nline')" \
	"$(printf 'bad\377byte')" "$(printf 'cut\342\202')" "$(printf 'ok\342\202\254')"; do
	same_as_b3sum "$name"
done
same_as_b3sum -- -dash
cd - >/dev/null || exit 1

# a missing file and a directory: one error line each naming it, the
# other files still hashed, exit 2 at the end (b3sum exits 1)
b3sum "$T/f1" "$T/f0" >"$T/want"
expect_rc 2 "$EDS" hash "$T/f1" "$T/missing" "$T/f0"
equal "$T/out" "$T/want" "files around a missing one are not all hashed"
expect_one_line_err
expect_err "eds hash: $T/missing: No such file or directory"
expect_rc 2 "$EDS" hash "$T/names" "$T/f1"
expect_one_line_err
expect_err "eds hash: $T/names: Is a directory"
expect_out "  $T/f1"
expect_rc 2 "$EDS" hash "$T/missing" "$T/names"
if [ "$(wc -l <"$T/err")" -eq 2 ]; then pass; else fail "two bad files should give two error lines"; fi
if [ -s "$T/out" ]; then fail "nothing should be printed for unreadable files"; else pass; fi

# bad flags: one line, exit 2, nothing hashed
for args in "--bogus $T/f1" "-x" "--length" "-l abc $T/f1" "-l -1 $T/f1" "-l 1048577 $T/f1" \
	"--length= $T/f1" "--length=1e3 $T/f1" "-l 99999999999999999999999 $T/f1"; do
	# shellcheck disable=SC2086  # the arguments are meant to split
	expect_rc 2 "$EDS" hash $args
	expect_one_line_err
	if [ -s "$T/out" ]; then fail "bad flags '$args' still printed a hash"; else pass; fi
done
expect_rc 2 "$EDS" hash --bogus
expect_err "unknown option '--bogus'"
expect_rc 2 "$EDS" hash -l abc "$T/f1"
expect_err "--length: must be an integer 0 .. 1048576, got 'abc'"
# the largest length is accepted
expect_rc 0 "$EDS" hash -l 1048576 "$T/f0"
if [ "$(wc -c <"$T/out")" -eq $((2 * 1048576 + 2 + ${#T} + 4)) ]; then pass; else
	fail "--length 1048576 output has the wrong size"; fi

# --help documents every flag and the exit codes, on stdout
expect_rc 0 "$EDS" hash --help
for word in "--length" "--help" "Exit codes" "standard" "b3sum"; do expect_out "$word"; done
expect_rc 0 "$EDS" hash -h

# a failed write to stdout is an error, not silence
if [ -w /dev/full ]; then
	run sh -c '"$1" hash "$2" >/dev/full' sh "$EDS" "$T/f1"
	if [ "$RC" -eq 2 ]; then pass; else fail "write to /dev/full: exit $RC, want 2"; fi
	expect_err "standard output"
fi

finish
