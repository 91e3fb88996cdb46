#!/usr/bin/env bash
# install-deps.sh - install exactly the Debian 12 packages EdgeSentry needs to
# build, test, benchmark and fuzz.  Idempotent: when every package is already
# installed it does nothing (no apt-get update, no network).
set -euo pipefail

PACKAGES=(
	# build
	gcc g++ make cmake pkg-config
	# libraries (ARCHITECTURE.md, "Dependencies")
	libsodium-dev libjansson-dev
	# tests: unit framework, outside reference tools
	libcmocka-dev b3sum openssl jq
	# sanitizers and fuzzing (clang's libFuzzer runtime)
	clang libclang-rt-14-dev
	# style and static analysis run by .ci/run
	clang-format clang-tidy cppcheck
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
