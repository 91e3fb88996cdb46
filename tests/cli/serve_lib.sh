# serve_lib.sh - helpers for the `eds serve` tests (sourced after lib.sh).
#
# start_server NAME ARGS...: starts `eds serve --listen 127.0.0.1:0` with a
# port file and log in $T, waits until it listens, sets URL_NAME... via
# $PORT/$URL of the last started server and remembers its pid in $T/NAME.pid.
need_cmd curl
need_cmd jq
# A failing script must not leave servers behind (they would hold ctest's pipes open).
kill_servers() {
	local f
	for f in "$T"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
	return 0
}
trap 'kill_servers; rm -rf "$T"' EXIT

start_server() {
	local name=$1; shift
	rm -f "$T/$name.port"
	"$EDS" serve --listen 127.0.0.1:0 --port-file "$T/$name.port" --log "$T/$name.log" "$@" \
		2>>"$T/$name.err" &
	echo $! >"$T/$name.pid"
	for _ in $(seq 1 100); do
		[ -s "$T/$name.port" ] && break
		kill -0 "$(cat "$T/$name.pid")" 2>/dev/null || break
		sleep 0.05
	done
	PORT=$(cat "$T/$name.port" 2>/dev/null || echo 0)
	URL="http://127.0.0.1:$PORT"
	[ "$PORT" != 0 ] || { fail "server $name did not start: $(cat "$T/$name.err")"; finish; }
}

# wait_for_line FILE TEXT: up to 5 s for a line of FILE to hold TEXT; fails otherwise.
wait_for_line() {
	for _ in $(seq 1 100); do
		grep -qF "$2" "$1" 2>/dev/null && { pass; return 0; }
		sleep 0.05
	done
	fail "$1: no line with '$2' within 5 s"
	return 1
}

# stop_server NAME: SIGTERM, then the exit status must be 0.
stop_server() {
	local pid; pid=$(cat "$T/$1.pid")
	kill -TERM "$pid"
	if wait "$pid"; then pass; else fail "server $1 exited with $? after SIGTERM"; fi
	rm -f "$T/$1.pid"
}

# req METHOD PATH [curl args...]: body in $T/body, status in $CODE, headers in $T/hdr.
req() {
	local method=$1 path=$2; shift 2
	CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$method" "$@" "$URL$path")
}

# expect_code CODE [ERROR]: last response had status CODE (and error code ERROR).
expect_code() {
	if [ "$CODE" != "$1" ]; then fail "want HTTP $1, got $CODE: $(head -c 300 "$T/body")"; return; fi
	if [ $# -ge 2 ] && [ "$(jq -r .error "$T/body" 2>/dev/null)" != "$2" ]; then
		fail "want error $2, got $(head -c 300 "$T/body")"; return
	fi
	pass
}

# item LINE-JSON [PAYLOAD-FILE]: a single-record body on stdout.
item() {
	if [ $# -ge 2 ]; then
		jq -c --arg p "$(base64 -w0 "$2")" '{record: ., payload: $p}' <<<"$1"
	else
		jq -c '{record: .}' <<<"$1"
	fi
}

# sign_readings FROM TO DEVICE...: readings FROM..TO of each device, signed with
# k.key into c.jsonl (a device's records in order), payloads in P.
sign_readings() {
	local from=$1 to=$2 i d; shift 2
	for i in $(seq "$from" "$to"); do
		for d in "$@"; do
			echo "$d reading $i" >pl
			"$EDS" sign --key k.key --device "$d" --chain c.jsonl --payload pl --payload-dir P \
				>/dev/null || fail "sign $d $i"
		done
	done
}

# ledger_through_server N DEVICE...: key k, the devices registered in ledger L,
# readings 1..N of each signed into c.jsonl and pushed through a server that
# then stops.
ledger_through_server() {
	local n=$1 d; shift
	"$EDS" keygen --out k >/dev/null || fail "keygen"
	for d in "$@"; do "$EDS" device add --ledger L --id "$d" --public-key k.pub || fail "add $d"; done
	sign_readings 1 "$n" "$@"
	start_server main --ledger L
	expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P
	stop_server main
}

# post_json BODY-FILE: POST /api/v1/records.
post_json() { req POST /api/v1/records -H 'Content-Type: application/json' --data-binary "@$1"; }
