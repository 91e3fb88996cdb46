#!/usr/bin/env bash
# install-deps.sh - install exactly the Debian 12 packages EdgeSentry needs to
# build, test, benchmark, fuzz and lint.  Idempotent: when every package is
# already installed it does nothing (no apt-get update, no network).
#
# Tools every Debian system has (Essential: coreutils, sed, grep, findutils,
# diffutils, bsdutils for `script`) are not listed.
set -euo pipefail

PACKAGES=(
	# build: C and C++ compilers with the C library headers (also the static
	# libc.a that tests/cli/test_install.sh links against), make, CMake
	gcc g++ libc6-dev make cmake pkg-config
	# libraries (docs/architecture.md, "Dependencies")
	libsodium-dev libjansson-dev
	# server side (issue 3): embedded ledger, HTTP(S) server with GnuTLS for
	# TLS, HTTP client for eds push; curl is the outside client in the tests
	libsqlite3-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev curl
	# MQTT ingest (issue 4): libmosquitto client; the broker and its stock
	# clients are the outside counterparts in the tests
	libmosquitto-dev mosquitto mosquitto-clients
	# tests: unit framework; outside reference tools the tests compare with
	# (openssl for keys and Ed25519, b3sum for BLAKE3, jq to read JSON output)
	libcmocka-dev openssl b3sum jq
	# test helpers: python3 runs the stub HTTP server and reads the agent's
	# SQLite queue (test_agent.sh, test_update_agent.sh); xxd converts hex in
	# test_update.sh.  Neither is in a minimal Debian 12 image.
	python3 xxd
	# the sqlite3 shell: the payload-journal test reads the ledger as an outsider
	sqlite3
	# fuzzing: clang and its libFuzzer/sanitizer runtimes
	clang libclang-rt-14-dev
	# lint (make lint, .ci/run): style, static analysis, tracked-file list
	clang-format clang-tidy cppcheck git
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
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	}
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
