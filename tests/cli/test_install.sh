#!/usr/bin/env bash
# test_install.sh - `cmake --install` yields a usable package: headers, both
# libraries (with soname links), eds, a pkg-config file (shared and --static)
# and a CMake package config (test_exports.sh checks the exported symbols);
# the C example in README.md compiles and prints what it says; and it
# also links as the "device profile": the archive plus libsodium, core only;
# the agent examples (examples/agent, C with pkg-config, C and C++ with
# find_package) sign readings into a crash-safe queue, their chains verify
# and they forward to an `eds serve` whose ledger then verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd pkg-config
need_cmd cmake
need_cmd readelf
: "${EDS_BUILD_DIR:?}" "${EDS_SOURCE_DIR:?}"

cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$EDS_BUILD_DIR/CMakeCache.txt"; }
CC=$(cache_get CMAKE_C_COMPILER)
CXX=$(cache_get CMAKE_CXX_COMPILER)
# A sanitized library needs the sanitizer runtime in every program using it.
SAN=()
if [ "$(cache_get EDS_SANITIZE)" = "ON" ]; then SAN=(-fsanitize=address,undefined); fi
CFLAGS=(-std=c11 -Wall -Wextra -Wpedantic -Werror "${SAN[@]}")

P=$T/prefix
expect_rc 0 cmake --install "$EDS_BUILD_DIR" --prefix "$P"
# GNUInstallDirs picks lib or lib/<multiarch> depending on the prefix.
PC=$(find "$P" -name edgesentry.pc -path '*/pkgconfig/*' | head -1)
[ -n "$PC" ] && pass || fail "edgesentry.pc not installed"
LIBDIR=$(dirname "$(dirname "${PC:-$P/lib/pkgconfig/x}")")

# ---- installed files --------------------------------------------------------
for f in bin/eds include/edgesentry/edgesentry.h include/edgesentry/record.h; do
	[ -f "$P/$f" ] && pass || fail "missing $f"
done
for h in "$EDS_SOURCE_DIR"/include/edgesentry/*.h; do
	cmp -s "$h" "$P/include/edgesentry/$(basename "$h")" && pass ||
		fail "header $(basename "$h") not installed"
done
[ -f "$LIBDIR/libedgesentry.a" ] && pass || fail "libedgesentry.a not installed"
for l in libedgesentry.so libedgesentry.so.0; do
	[ -L "$LIBDIR/$l" ] && pass || fail "$l is not a symlink"
done
soname=$(readelf -d "$LIBDIR/libedgesentry.so" | sed -n 's/.*SONAME.*\[\(.*\)\].*/\1/p')
[ "$soname" = libedgesentry.so.0 ] && pass || fail "soname is '$soname'"
expect_rc 0 "$P/bin/eds" --version

# ---- a program built with pkg-config ------------------------------------------
cat >"$T/check.c" <<'C'
#include <stdio.h>
#include <string.h>

#include <edgesentry/edgesentry.h>

static int same(const char *what, const uint8_t *got, size_t len, const char *want)
{
	char hex[129];
	eds_hex_encode(hex, got, len);
	if (strcmp(hex, want) == 0)
		return 1;
	printf("%s: got %s, want %s\n", what, hex, want);
	return 0;
}

int main(void)
{
	/* RFC 8032 section 7.1, test 1 (empty message). */
	static const char rfc_seed[] =
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	uint8_t seed[32], digest[32], sig[64];
	eds_secret_key sk;
	eds_public_key pk;
	int ok = 1;

	if (eds_init() != EDS_OK || strcmp(eds_version(), EDS_VERSION_STRING) != 0)
		return 2;
	memset(seed, 0x01, sizeof seed);
	eds_secret_key_from_seed(&sk, seed);
	eds_secret_key_public(&sk, &pk);
	ok &= same("pk(01*32)", pk.bytes, 32,
	           "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
	eds_blake3(digest, "abc", 3);
	ok &= same("blake3(abc)", digest, 32,
	           "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
	if (eds_hex_decode(seed, 32, rfc_seed, 64) != EDS_OK)
		return 2;
	eds_secret_key_from_seed(&sk, seed);
	eds_ed25519_sign(sig, (const uint8_t *)"", 0, sk.bytes);
	ok &= same("rfc8032 test 1", sig, 64,
	           "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	eds_secret_key_wipe(&sk);
	if (!ok)
		return 1;
	puts("install-check ok");
	return 0;
}
C
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
expect_rc 0 pkg-config --exists edgesentry
expect_rc 0 pkg-config --cflags --libs edgesentry
flags=$(cat "$T/out")
case "$flags" in *"-I$P/include"*"-ledgesentry"*) pass ;; *) fail "pkg-config flags: $flags" ;; esac
expect_rc 0 pkg-config --static --libs edgesentry
grep -q -- -ljansson "$T/out" && grep -q -- -lsodium "$T/out" && pass ||
	fail "pkg-config --static lacks -lsodium or -ljansson: $(cat "$T/out")"

# shellcheck disable=SC2086 # pkg-config output is a list of words
expect_rc 0 "$CC" "${CFLAGS[@]}" -o "$T/check_shared" "$T/check.c" $flags
expect_rc 0 env LD_LIBRARY_PATH="$LIBDIR" "$T/check_shared"
expect_out "install-check ok"
readelf -d "$T/check_shared" | grep -q 'NEEDED.*libedgesentry.so.0' && pass ||
	fail "check_shared does not use libedgesentry.so.0"

# Requires.private names every library the archive needs: all of
# libedgesentry.a (--whole-archive) links with exactly those modules.
# (`pkg-config --static --libs` itself also recurses into the private
# dependencies of libcurl & co., whose -dev packages need not be installed.)
deps=$(pkg-config --print-requires-private edgesentry | awk '{print $1}' | tr '\n' ' ')
for m in libsodium jansson; do
	case " $deps " in *" $m "*) pass ;; *) fail "Requires.private lacks $m: '$deps'" ;; esac
done
# shellcheck disable=SC2086
expect_rc 0 "$CC" "${CFLAGS[@]}" -o "$T/check_static" "$T/check.c" -I"$P/include" \
	-Wl,--whole-archive "$LIBDIR/libedgesentry.a" -Wl,--no-whole-archive \
	$(pkg-config --libs $deps) -pthread
expect_rc 0 env -u LD_LIBRARY_PATH "$T/check_static"
expect_out "install-check ok"
readelf -d "$T/check_static" | grep -q 'NEEDED.*libedgesentry' &&
	fail "check_static links libedgesentry.so" || pass

# ---- a CMake project using find_package ------------------------------------------
mkdir -p "$T/consumer"
cp "$T/check.c" "$T/consumer/check.c"
cat >"$T/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(edgesentry 0.1 CONFIG REQUIRED)
add_executable(check_shared check.c)
target_link_libraries(check_shared PRIVATE edgesentry::edgesentry)
add_executable(check_static check.c)
target_link_libraries(check_static PRIVATE edgesentry::edgesentry_static)
CM
expect_rc 0 cmake -S "$T/consumer" -B "$T/consumer/build" -DCMAKE_PREFIX_PATH="$P" \
	-DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="${SAN[*]}"
expect_rc 0 cmake --build "$T/consumer/build"
for exe in check_shared check_static; do
	expect_rc 0 "$T/consumer/build/$exe"
	expect_out "install-check ok"
done
readelf -d "$T/consumer/build/check_static" | grep -q 'NEEDED.*libedgesentry' &&
	fail "check_static links libedgesentry.so" || pass
# A version the package does not satisfy is refused.
sed -i 's/edgesentry 0.1 CONFIG/edgesentry 9.0 CONFIG/' "$T/consumer/CMakeLists.txt"
expect_rc 1 cmake -S "$T/consumer" -B "$T/consumer/build9" -DCMAKE_PREFIX_PATH="$P"

# ---- the README's C example ------------------------------------------------------------
# The first ```c block of README.md must compile against the installed
# library and print the lines of the ```text block that follows it.
awk '/^```c$/ {on=1; next} on && /^```$/ {exit} on' "$EDS_SOURCE_DIR/README.md" >"$T/readme.c"
awk '/^```c$/ {c=1} c && /^```text$/ {on=1; next} on && /^```$/ {exit} on' \
	"$EDS_SOURCE_DIR/README.md" >"$T/readme.expected"
[ -s "$T/readme.c" ] && [ -s "$T/readme.expected" ] && pass ||
	fail "README.md lacks a \`\`\`c example followed by a \`\`\`text output block"
# shellcheck disable=SC2086
expect_rc 0 "$CC" "${CFLAGS[@]}" -o "$T/readme" "$T/readme.c" $flags
expect_rc 0 env LD_LIBRARY_PATH="$LIBDIR" "$T/readme"
cmp -s "$T/out" "$T/readme.expected" && pass ||
	fail "README example printed '$(head -c 200 "$T/out")', README says '$(head -c 200 "$T/readme.expected")'"

# ---- the device profile ----------------------------------------------------------------
# A device that only signs links the archive with libsodium alone: no JSON,
# no server library, and every member the linker pulls in is from src/core.
# shellcheck disable=SC2086
expect_rc 0 "$CC" "${CFLAGS[@]}" -I"$P/include" -o "$T/device" "$T/readme.c" \
	"$LIBDIR/libedgesentry.a" -lsodium -Wl,-Map,"$T/device.map"
expect_rc 0 "$T/device"
cmp -s "$T/out" "$T/readme.expected" && pass || fail "device-profile build printed '$(head -c 200 "$T/out")'"
ls "$EDS_SOURCE_DIR"/src/core/*.c | xargs -n1 basename | sed 's/$/.o/' | sort >"$T/core_objects"
grep -oE 'libedgesentry\.a\([^)]+\)' "$T/device.map" | sed 's/.*(\(.*\))/\1/' | sort -u >"$T/pulled"
[ -s "$T/pulled" ] && pass || fail "the device map lists no libedgesentry.a member"
outside=$(comm -23 "$T/pulled" "$T/core_objects" | tr '\n' ' ')
[ -z "$outside" ] && pass || fail "signing pulls objects from outside src/core: $outside"


# ---- the agent examples (examples/agent) ------------------------------------------------
EX=$EDS_SOURCE_DIR/examples/agent
# shellcheck disable=SC2086
expect_rc 0 "$CC" "${CFLAGS[@]}" -o "$T/sensor_pc" "$EX/sensor.c" $flags
expect_rc 0 cmake -S "$EX" -B "$T/sensors" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$CC" \
	-DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_C_FLAGS="${SAN[*]}" -DCMAKE_CXX_FLAGS="${SAN[*]}"
expect_rc 0 cmake --build "$T/sensors"
"$P/bin/eds" keygen --out "$T/sk" >/dev/null || fail "keygen"
# sensor NAME DEVICE [URL]: 5 readings into state $T/st-NAME, chain in $T/NAME.jsonl
sensor() {
	local exe=$1 dev=$2; shift 2
	run env LD_LIBRARY_PATH="$LIBDIR" "$exe" "$T/st-$dev" "$T/sk.key" "$dev" 5 "$@"
	[ "$RC" = 0 ] && pass || fail "$exe: exit $RC: $(cat "$T/err")"
	cp "$T/out" "$T/$dev.jsonl"
	expect_rc 0 "$P/bin/eds" verify-chain "$T/$dev.jsonl" --public-key "$T/sk.pub"
	expect_out "5 records"
}
sensor "$T/sensor_pc" pc-1
sensor "$T/sensors/sensor" c-1
sensor "$T/sensors/sensor_cpp" cpp-1
[ "$(jq -r .object_ref "$T/cpp-1.jsonl" | tail -1)" = sensor/vibration-5 ] && pass ||
	fail "C++ sensor records: $(head -c 200 "$T/cpp-1.jsonl")"
# Forwarding: the queued records of pc-1 plus 5 more, then the C++ sensor's.
for d in pc-1 cpp-1; do "$P/bin/eds" device add --ledger "$T/L" --id $d --public-key "$T/sk.pub" >/dev/null; done
start_server main --ledger "$T/L"
run env LD_LIBRARY_PATH="$LIBDIR" "$T/sensor_pc" "$T/st-pc-1" "$T/sk.key" pc-1 5 "$URL"
[ "$RC" = 0 ] && pass || fail "sensor forwarding: exit $RC: $(cat "$T/err")"
run env LD_LIBRARY_PATH="$LIBDIR" "$T/sensors/sensor_cpp" "$T/st-cpp-1" "$T/sk.key" cpp-1 5 "$URL"
[ "$RC" = 0 ] && pass || fail "sensor_cpp forwarding: exit $RC: $(cat "$T/err")"
stop_server main
expect_rc 0 "$P/bin/eds" ledger verify --ledger "$T/L"
expect_rc 0 "$P/bin/eds" ledger export --ledger "$T/L" --out "$T/X"
[ "$(jq -r 'select(.device_id=="pc-1") | .sequence' "$T/X/records.jsonl" | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 9 10 " ] \
	&& pass || fail "pc-1 in the ledger: not sequences 1..10"
[ "$(jq -c 'select(.device_id=="cpp-1")' "$T/X/records.jsonl" | wc -l)" = 10 ] && pass ||
	fail "cpp-1 in the ledger: not 10 records"
# A state made for another device, and a bad COUNT: one line, exit 1.
run env LD_LIBRARY_PATH="$LIBDIR" "$T/sensor_pc" "$T/st-pc-1" "$T/sk.key" other-dev 1
[ "$RC" = 1 ] && pass || fail "sensor with another device id: exit $RC"
expect_one_line_err
run env LD_LIBRARY_PATH="$LIBDIR" "$T/sensors/sensor_cpp" "$T/st-x" "$T/sk.key" cpp-1 0
[ "$RC" = 1 ] && pass || fail "sensor_cpp COUNT 0: exit $RC"
expect_one_line_err

finish
