#!/bin/bash
# test_serve_storage.sh - a full disk under a running `eds serve`: the ledger
# lives on a 2 MiB tmpfs of its own (a private mount namespace, so nothing
# outlives the test), a file fills it, and then:
# - a record gets 503 storage_unavailable and /healthz turns 503, with no
#   decision-log line per health probe;
# - while the disk stays full, /healthz stays 503;
# - once the file is removed, /healthz is 200 again within a few seconds
#   although no record was sent (the server probes the ledger itself), and
#   the metric eds_ingest_storage_recoveries_total says so;
# - the refused record is then accepted, the chain continues and the
#   ledger verifies.
# Skipped where mount namespaces or tmpfs mounts are not allowed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd unshare
need_cmd nsenter
cd "$T" || exit 1
if ! unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs "$1"' _ "$T" 2>/dev/null; then
	echo "SKIPPED: unshare -m with a tmpfs mount is not allowed here"
	exit 77
fi

"$EDS" keygen --out k >/dev/null || fail "keygen"
for i in 1 2 3; do
	echo "reading $i" >pl
	"$EDS" sign --key k.key --device dev-a --chain c.jsonl --payload pl --payload-dir P >/dev/null ||
		fail "sign $i"
done
mkdir small
# The server, in a mount namespace of its own with the tmpfs on small/.
unshare -m sh -c 'mount -t tmpfs -o size=2m tmpfs "$1" &&
	"$2" device add --ledger "$1/L" --id dev-a --public-key k.pub >/dev/null &&
	exec "$2" serve --ledger "$1/L" --listen 127.0.0.1:0 --port-file "$3" --log "$4"' \
	_ "$T/small" "$EDS" "$T/main.port" "$T/main.log" 2>"$T/main.err" &
echo $! >"$T/main.pid"
wait_for_line "$T/main.log" '"event":"listening"' || finish
URL="http://127.0.0.1:$(cat "$T/main.port")"
# inside CMD...: CMD in the server's mount namespace (where small/ is the tmpfs).
inside() { nsenter -t "$(cat "$T/main.pid")" -m "$@"; }
rec() { sed -n "${1}p" c.jsonl; }
body() {
	local h; h=$(rec "$1" | jq -r .payload_hash)
	item "$(rec "$1")" "P/${h:0:2}/${h:2}" >"b$1"
}
for i in 1 2 3; do body "$i"; done
health() { req GET /healthz; echo "$CODE"; }

post_json b1; expect_code 201
[ "$(health)" = 200 ] && pass || fail "healthz before the disk filled: $CODE"

# ---- the disk fills -----------------------------------------------------------------
inside dd if=/dev/zero of="$T/small/fill" bs=4k 2>/dev/null
inside df "$T/small" | grep -q ' 100% ' && pass || fail "tmpfs not full: $(inside df "$T/small")"
post_json b2; expect_code 503 storage_unavailable
lines=$(wc -l <"$T/main.log")
[ "$(health)" = 503 ] && pass || fail "healthz on a full disk: $CODE"
expect_code 503 storage_unavailable
sleep 2.5 # probes run meanwhile, and fail: still unhealthy
[ "$(health)" = 503 ] && pass || fail "healthz while the disk stays full: $CODE"
[ "$(wc -l <"$T/main.log")" = "$lines" ] && pass ||
	fail "health probes wrote decision-log lines: $(tail -2 "$T/main.log")"

# ---- space again: healthy without any record sent --------------------------------
inside rm "$T/small/fill"
ok=0
for _ in $(seq 1 50); do
	[ "$(health)" = 200 ] && { ok=1; break; }
	sleep 0.1
done
[ "$ok" = 1 ] && pass || fail "healthz still $CODE 5 s after space came back"
req GET /metrics
grep -q '^eds_ingest_storage_recoveries_total 1$' "$T/body" && pass ||
	fail "metrics: $(grep storage_recoveries "$T/body")"
post_json b2; expect_code 201
post_json b3; expect_code 201
# The tmpfs goes with the server's namespace: the ledger is verified from inside, beside it.
expect_rc 0 inside "$EDS" ledger verify --ledger "$T/small/L"
expect_out "ledger OK: 1 devices, 3 records, 3 signatures, 3 payloads checked, 0 pending"
stop_server main
[ "$(grep -c '"reason":"storage_unavailable"' "$T/main.log")" = 1 ] && pass ||
	fail "want one storage_unavailable decision: $(grep storage_unavailable "$T/main.log")"
finish
