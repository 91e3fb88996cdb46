#!/usr/bin/env bash
# The shared library exports every function its public headers declare, and
# nothing else (internal helpers such as eds_fail stay private).
. "$(dirname "$0")/lib.sh"
need_cmd nm

so=$(ls "$EDS_BUILD_DIR"/libedgesentry.so.[0-9]* 2>/dev/null | head -1)
[ -n "$so" ] || { fail "no libedgesentry.so in $EDS_BUILD_DIR"; finish; }

nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort >"$T/exported"
# Every function declared in a public header (declaration lines only).
cat "$EDS_SOURCE_DIR"/include/edgesentry/*.h |
	grep -vE '^[[:space:]]*(/\*|\*|//|#|typedef)' |
	grep -oE '[ *]eds_[a-z0-9_]+\(' | tr -d ' *(' | sort -u >"$T/declared"

missing=$(comm -23 "$T/declared" "$T/exported")
extra=$(comm -13 "$T/declared" "$T/exported")
if [ -z "$missing" ]; then pass; else fail "declared but not exported: $(echo $missing)"; fi
if [ -z "$extra" ]; then pass; else fail "exported but not public: $(echo $extra)"; fi
if [ "$(wc -l <"$T/declared")" -ge 40 ]; then pass; else fail "found only $(wc -l <"$T/declared") declarations"; fi
if ! grep -qx eds_fail "$T/exported"; then pass; else fail "internal eds_fail is exported"; fi
finish
