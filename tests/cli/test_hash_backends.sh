#!/usr/bin/env bash
# eds hash with each BLAKE3 back end this CPU runs (EDS_BLAKE3_BACKEND) and
# with --threads: the output is b3sum's, for sizes around the block, chunk,
# 8-chunk and 1 MiB subtree edges and a 64 MiB file; --threads validation.
. "$(dirname "$0")/lib.sh"
need_cmd b3sum

backends=portable
grep -qw sse4_1 /proc/cpuinfo 2>/dev/null && backends="$backends sse41"
grep -qw avx2 /proc/cpuinfo 2>/dev/null && backends="$backends avx2"

files=()
for n in 0 1 64 65 1023 1024 1025 2048 4097 8191 8192 8193 16385 131072 131073 \
	1048575 1048576 2097153 3145728 3145729 5243905; do
	head -c "$n" /dev/urandom >"$T/f$n"
	files+=("$T/f$n")
done
b3sum "${files[@]}" >"$T/want"
for b in $backends; do
	EDS_BLAKE3_BACKEND=$b expect_rc 0 "$EDS" hash "${files[@]}"
	if cmp -s "$T/out" "$T/want"; then pass; else
		fail "back end $b: eds hash differs from b3sum"
		diff "$T/out" "$T/want" | head -4 | sed 's/^/    /' >&2
	fi
	EDS_BLAKE3_BACKEND=$b expect_rc 0 "$EDS" hash --threads 2 "${files[@]}"
	if cmp -s "$T/out" "$T/want"; then pass; else fail "back end $b, --threads 2: differs from b3sum"; fi
done

# 64 MiB on 1, 2, 3 and all threads, and an extended output
head -c $((64 << 20)) /dev/urandom >"$T/big"
b3sum --length 100 "$T/big" >"$T/want"
for t in 1 2 3 0; do
	expect_rc 0 "$EDS" hash --threads "$t" --length 100 "$T/big"
	if cmp -s "$T/out" "$T/want"; then pass; else fail "64 MiB, --threads $t differs from b3sum"; fi
done
run "$EDS" hash --threads=2 - <"$T/big"
b3sum - <"$T/big" >"$T/want"
if cmp -s "$T/out" "$T/want"; then pass; else fail "--threads=2 on standard input differs from b3sum"; fi

# an unknown back end name is ignored (the automatic choice hashes)
b3sum "$T/f1025" >"$T/want"
EDS_BLAKE3_BACKEND=bogus expect_rc 0 "$EDS" hash "$T/f1025"
if cmp -s "$T/out" "$T/want"; then pass; else fail "EDS_BLAKE3_BACKEND=bogus broke hashing"; fi

for bad in -1 x 257 ""; do
	expect_rc 2 "$EDS" hash --threads "$bad" "$T/f1"
	expect_err "--threads: must be an integer 0 .. 256, got '$bad'"
	if [ -s "$T/out" ]; then fail "bad --threads '$bad' still hashed"; else pass; fi
done
expect_rc 2 "$EDS" hash "$T/f1" --threads
expect_err "--threads needs a value"
expect_rc 0 "$EDS" hash --help
expect_out "--threads N"

finish
