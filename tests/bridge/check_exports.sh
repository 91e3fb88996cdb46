#!/bin/bash
# check_exports.sh LIB - the bridge shared library must export exactly the
# seven functions of edgesentry_bridge.h: nothing of the native library
# (which would clash with libedgesentry in the same program) and no symbol
# missing.
set -u
lib=${1:?usage: check_exports.sh LIBRARY}
want="eds_keygen eds_last_error_message eds_record_hash eds_sign_record eds_verify_chain eds_verify_record eds_verify_update"
got=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$got" != "$want" ]; then
	echo "FAIL: $lib exports: $got"
	echo "      expected:    $want"
	exit 1
fi
echo "ok: $lib exports exactly: $got"
