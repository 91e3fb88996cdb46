#!/usr/bin/env bash
# The NEON back end (src/core/blake3_neon.c) compiles for AArch64 with the
# project's warnings as errors: this machine is x86, so clang cross-compiles
# the file to an object (freestanding: clang's own arm_neon.h, no ARM C
# library needed) and the object must define the back-end table.  Running it
# needs an ARM host, where test_blake3 checks it against the vectors.
. "$(dirname "$0")/lib.sh"
need_cmd clang
S=${EDS_SOURCE_DIR:?}
if ! echo 'int x;' | clang --target=aarch64-linux-gnu -ffreestanding -x c -c -o /dev/null - 2>/dev/null; then
	echo "SKIPPED: clang here cannot target aarch64-linux-gnu"
	exit 77
fi
flags=(--target=aarch64-linux-gnu -ffreestanding -std=c11 -O2 -Wall -Wextra -Wpedantic -Wshadow
	-Wmissing-prototypes -Wstrict-prototypes -Wcast-align -Wvla -Werror -I"$S/include" -I"$S/src/core")
expect_rc 0 clang "${flags[@]}" -c -o "$T/neon.o" "$S/src/core/blake3_neon.c"
if command -v llvm-nm >/dev/null 2>&1 || command -v nm >/dev/null 2>&1; then
	NM=$(command -v llvm-nm || command -v nm)
	"$NM" "$T/neon.o" >"$T/syms" 2>&1
	grep -q " D eds_blake3_neon_ops" "$T/syms" && pass || fail "neon object lacks eds_blake3_neon_ops"
fi
finish
