#!/bin/bash
# test_agent.sh - `eds agent` against a real `eds serve` on loopback:
# 1,000 readings recorded while the server is down then all delivered in
# order; 20 kill -9 at random points (no fork, nothing lost); overflow with
# reject (back-pressure, SIGTERM keeps the queue) and shed-payloads (signed
# notice lists the dropped payloads); headers-first; a stub server that
# answers 503 or never answers (records kept and retried); usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd python3
cd "$T" || exit 1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_at NAME PORT ARGS...: eds serve on a fixed port (the agent's URL is fixed).
start_at() {
	local name=$1 port=$2; shift 2
	"$EDS" serve --listen "127.0.0.1:$port" --port-file "$T/$name.port" --log "$T/$name.log" "$@" \
		2>>"$T/$name.err" &
	echo $! >"$T/$name.pid"
	for _ in $(seq 1 100); do [ -s "$T/$name.port" ] && return 0; sleep 0.05; done
	fail "server $name did not start on $port: $(cat "$T/$name.err")"; finish
}
# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
	local n=$(( $1 * 10 )); shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}
status_field() { "$EDS" agent status --state "$1" --json | jq -r ".$2"; }
head_is() { [ "$(status_field "$1" head_sequence)" = "$2" ]; }
AG=(--key k.key --backoff-min-ms 20 --backoff-max-ms 300 --timeout-ms 2000)

"$EDS" keygen --out k >/dev/null
for d in d1 d2 d3 d4 d5 d6; do "$EDS" device add --ledger L --id $d --public-key k.pub >/dev/null; done

# ---- usage --------------------------------------------------------------------
expect_rc 0 "$EDS" agent --help
expect_rc 0 "$EDS" agent status --help
expect_out "eds agent status --state DIR"
expect_out "--overflow POLICY"
expect_rc 2 "$EDS" agent --key k.key --device d1 --state S0
expect_one_line_err
expect_err "--url are required"
expect_rc 2 "$EDS" agent "${AG[@]}" --device d1 --state S0 --url http://x --overflow drop
expect_one_line_err
expect_rc 2 "$EDS" agent "${AG[@]}" --device d1 --state S0 --url ftp://x </dev/null
expect_one_line_err
expect_err "url: must start with http://"
# credentials in the URL never reach a message
expect_rc 2 "$EDS" agent "${AG[@]}" --device d1 --state S0 --url ftp://lift:s3cret@x </dev/null
expect_one_line_err
if grep -qE "lift|s3cret" "$T/err"; then fail "userinfo shown: $(cat "$T/err")"; else pass; fi
expect_rc 2 "$EDS" agent "${AG[@]}" --device 'bad id' --state S0 --url http://127.0.0.1:1 </dev/null
expect_one_line_err
expect_rc 2 "$EDS" agent status --state nowhere
expect_one_line_err
expect_rc 2 "$EDS" agent "${AG[@]}" --device d1 --state S0 --url http://127.0.0.1:1 --batch 0
expect_one_line_err

# ---- server down while 1,000 readings are recorded, then up -------------------
P=$(free_port)
seq 1 1000 | "$EDS" agent "${AG[@]}" --device d1 --state S1 --url "http://127.0.0.1:$P" \
	>agent1.out 2>agent1.err &
A=$!
wait_for 60 head_is S1 1000 && pass || fail "agent did not sign 1000 readings while the server was down"
[ "$(status_field S1 queued_records)" = 1000 ] && pass || fail "queue should hold 1000 records"
kill -USR1 $A
wait_for 5 grep -q "queued records:   1000" agent1.out && pass || fail "SIGUSR1 did not print the queue state"
start_at main "$P" --ledger L
if wait $A; then pass; else fail "agent exited $? after draining"; fi
[ "$(status_field S1 queued_records)" = 0 ] && pass || fail "queue not empty after drain"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "1000 payloads checked"
expect_rc 0 "$EDS" ledger export --ledger L --out X1
[ "$(jq -r 'select(.device_id=="d1") | .sequence' X1/records.jsonl | tr '\n' ' ')" = "$(seq 1 1000 | tr '\n' ' ')" ] \
	&& pass || fail "d1 records are not 1..1000 in order"
for n in 1 500 1000; do
	h=$(jq -r "select(.device_id==\"d1\" and .sequence==$n) | .payload_hash" X1/records.jsonl)
	[ "$(cat "X1/payloads/${h:0:2}/${h:2}")" = "$n" ] && pass || fail "payload of sequence $n is not '$n'"
done

# ---- kill -9 at random points, 20 times ---------------------------------------
for round in $(seq 1 20); do
	seq 1 400 | sed "s/^/r$round-/" | "$EDS" agent "${AG[@]}" --device d2 --state S2 --sync-every $(( round % 2 ? 1 : 16 )) \
		--batch 7 --url "http://127.0.0.1:$P" >/dev/null 2>>kill.err &
	sleep "0.$(( RANDOM % 40 + 1 ))"
	kill -9 $! 2>/dev/null; wait $! 2>/dev/null
done
timeout 120 "$EDS" agent "${AG[@]}" --device d2 --state S2 --url "http://127.0.0.1:$P" </dev/null \
	2>drain.err && pass || fail "final drain after kill -9 rounds failed: $(cat drain.err)"
h2=$(status_field S2 head_sequence)
[ "$h2" -gt 0 ] && pass || fail "no record signed in the kill -9 rounds"
[ "$(status_field S2 queued_records)" = 0 ] && pass || fail "queue not empty after kill -9 rounds"
expect_rc 0 "$EDS" ledger verify --ledger L
grep -q '"device_id":"d2".*"decision":"rejected"' main.log && fail "server refused a d2 record (fork?)" || pass
"$EDS" ledger export --ledger L --out X2 >/dev/null
[ "$(jq -r 'select(.device_id=="d2") | .sequence' X2/records.jsonl | tail -1)" = "$h2" ] \
	&& pass || fail "server head of d2 differs from the agent's head $h2"

# ---- overflow: reject (back-pressure) -----------------------------------------
Q=$(free_port)
seq 1 10 | "$EDS" agent "${AG[@]}" --device d3 --state S3 --url "http://127.0.0.1:$Q" \
	--max-records 4 --overflow reject 2>reject.err &
A=$!
wait_for 20 head_is S3 4 && pass || fail "reject: agent did not fill its queue"
sleep 0.5
head_is S3 4 && pass || fail "reject: signed beyond the record bound"
kill -TERM $A
if wait $A; then pass; else fail "reject: exit $? after SIGTERM"; fi
[ "$(status_field S3 queued_records)" = 4 ] && pass || fail "reject: queue lost records at SIGTERM"

# ---- overflow: shed-payloads ---------------------------------------------------
head -c 2000 /dev/zero | tr '\0' 'p' >big
for i in $(seq 1 30); do echo "$i-$(cat big)"; done | "$EDS" agent "${AG[@]}" --device d4 --state S4 \
	--url "http://127.0.0.1:$Q" --max-bytes 65536 --overflow shed-payloads --exit-at-eof 2>shed.err \
	&& pass || fail "shed: agent failed: $(cat shed.err)"
dropped=$(status_field S4 dropped_payloads)
[ "$dropped" -gt 0 ] && pass || fail "shed: nothing was dropped"
[ "$(status_field S4 notices)" -gt 0 ] && pass || fail "shed: no notice signed"
[ "$(status_field S4 queued_bytes)" -le 65536 ] && pass || fail "shed: queue over its byte bound"
timeout 60 "$EDS" agent "${AG[@]}" --device d4 --state S4 --url "http://127.0.0.1:$P" </dev/null \
	&& pass || fail "shed: drain failed"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "$dropped pending"
"$EDS" ledger export --ledger L --out X4 >/dev/null
jq -c 'select(.device_id=="d4" and .object_ref=="eds:notice/payloads-dropped") | .payload_hash' \
	X4/records.jsonl | tr -d '"' | while read -r h; do cat "X4/payloads/${h:0:2}/${h:2}"; echo; done \
	| jq -c '.dropped[]' >listed
[ "$(wc -l <listed)" = "$dropped" ] && pass || fail "shed: notices list $(wc -l <listed) payloads, want $dropped"
bad=0
while read -r e; do
	s=$(jq -r .sequence <<<"$e"); ph=$(jq -r .payload_hash <<<"$e")
	[ "$(jq -r "select(.device_id==\"d4\" and .sequence==$s) | .payload_hash" X4/records.jsonl)" = "$ph" ] || bad=1
	[ -e "X4/payloads/${ph:0:2}/${ph:2}" ] && bad=1
done <listed
[ $bad = 0 ] && pass || fail "shed: a notice entry does not match a record without payload"

# ---- headers-first -------------------------------------------------------------
seq 1 25 | sed s/^/hf-/ | "$EDS" agent "${AG[@]}" --device d5 --state S5 --url "http://127.0.0.1:$P" --headers-first \
	&& pass || fail "headers-first agent failed"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "$dropped pending"

# ---- a server answering 503, then one that never answers ----------------------
cat >stub.py <<'EOF'
import http.server, sys, time
mode, port, count = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, body):
        b = body.encode(); self.send_response(code)
        self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        self.answer(200, '{"device_id":"d6","sequence":0,"record_hash":"' + "0" * 64 + '"}')
    def do_POST(self):
        open(count, "a").write("post\n")
        self.rfile.read(int(self.headers["Content-Length"]))
        if mode == "hang": time.sleep(30)
        self.answer(503, '{"status":"rejected","error":"storage_unavailable","message":"down"}')
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
posts_ge() { [ "$(cat "posts.$1" 2>/dev/null | wc -l)" -ge "$2" ]; }
for mode in 503 hang; do
	SP=$(free_port)
	python3 stub.py $mode "$SP" "posts.$mode" & S=$!
	wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1',$SP))" 2>/dev/null
	seq 1 5 | "$EDS" agent "${AG[@]}" --device d6 --state S6 --url "http://127.0.0.1:$SP" \
		--timeout-ms 300 2>stub.err & A=$!
	wait_for 10 posts_ge "$mode" 3 \
		&& pass || fail "$mode: the agent did not retry"
	kill -TERM $A; wait $A && pass || fail "$mode: agent exit $? after SIGTERM"
	kill $S; wait $S 2>/dev/null
	[ "$(status_field S6 queued_records)" = "$(status_field S6 head_sequence)" ] \
		&& pass || fail "$mode: records left the queue without being stored"
done
[ "$(status_field S6 head_sequence)" = 10 ] && pass || fail "stub rounds: want 10 signed records"
timeout 60 "$EDS" agent "${AG[@]}" --device d6 --state S6 --url "http://127.0.0.1:$P" </dev/null \
	&& pass || fail "records kept through 503/timeouts did not reach the real server"
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "5 devices"

stop_server main
# headers-first: 25 payloads came by PUT (the log is complete once the server stopped);
# PUTs answered "already stored" (an agent restarted after kill -9 uploads the payloads
# of records the server turned out to hold) are logged too, and not counted here
n=$(grep '"decision":"payload"' main.log | grep -vc 'The payload was already stored.')
[ "$n" = 25 ] && pass || fail "headers-first: $n payload uploads logged, want 25"
finish
