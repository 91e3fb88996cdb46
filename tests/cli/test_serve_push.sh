#!/bin/bash
# test_serve_push.sh - `eds push` against a real server: payloads travel with
# their records, a second push sends nothing, 8 concurrent clients pushing
# interleaved devices store every record exactly once, and the ledger export
# verifies offline with `eds verify-chain`.  --json reports (counts against
# what the server stored, refusals naming the record, network errors),
# --quiet, a value flag given twice, and the progress line: on a terminal
# only, for a chain file of 8 MiB or more.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1

"$EDS" keygen --out k >/dev/null
for d in $(seq 0 15); do "$EDS" device add --ledger L --id dev-$d --public-key k.pub || fail "add"; done
# client t's chain file interleaves devices t and t+8, 30 records each
for t in $(seq 0 7); do
	for i in $(seq 1 30); do
		for d in $t $((t + 8)); do
			echo "dev-$d reading $i" >pl
			"$EDS" sign --key k.key --device dev-$d --chain c$t.jsonl --payload pl \
				--payload-dir P >/dev/null || fail "sign"
		done
	done
done
start_server main --ledger L

expect_rc 0 "$EDS" push --url "$URL" c0.jsonl --payload-dir P --batch 7 --json
expect_no_err
expect_jq '. == {ok: true, records: 60, skipped: 0, sent: 60, payloads_sent: 60, payloads_unknown: 0, batches: 9,
	devices: 2, waits: 0, waited_ms: 0, refused: null, error: null}'
# what the server holds now: exactly what the report says was sent
req GET /metrics
grep -q '^eds_ledger_records 60$' "$T/body" && pass || fail "ledger does not hold the 60 sent"
grep -q '^eds_ledger_pending_payloads 0$' "$T/body" && pass || fail "payloads pending after push"
[ "$(curl -s "$URL/api/v1/devices/dev-8/head" | jq .sequence)" = 30 ] && pass || fail "dev-8 head"
expect_rc 0 "$EDS" push --url "$URL" c0.jsonl --payload-dir P
expect_out "60 records read, 60 skipped, 0 accepted, 0 duplicates, 2 requests"
expect_rc 0 "$EDS" push --url "$URL" c0.jsonl --payload-dir P --json
expect_jq '.ok and .records == 60 and .skipped == 60 and .sent == 0 and .payloads_sent == 0
	and .batches == 0 and .devices == 2'
expect_rc 0 "$EDS" push --url "$URL" c0.jsonl --quiet
expect_no_out
expect_no_err
# "-" reads the chain from standard input
expect_rc 0 "$EDS" push --url "$URL" - --json <c0.jsonl
expect_no_err
expect_jq '.ok and .records == 60 and .skipped == 60 and .devices == 2'

pids=""
for t in $(seq 1 7); do
	quiet=; [ "$t" = 7 ] && quiet=--quiet # sends 60 and prints nothing
	"$EDS" push --url "$URL" c$t.jsonl --payload-dir P --batch 5 $quiet >push$t.out 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent push failed"; done
[ "$(cat push*.out | grep -c "0 skipped, 60 accepted")" = 6 ] && pass || fail "pushes: $(cat push*.out)"
[ ! -s push7.out ] && pass || fail "push --quiet printed: $(cat push7.out)"
req GET /metrics
grep -q '^eds_ledger_records 480$' "$T/body" && pass || fail "ledger does not hold 480 records"
grep -q '^eds_ledger_pending_payloads 0$' "$T/body" && pass || fail "payloads pending"
# a refused record leaves no payload file behind (its file is staged before the
# chain check); one with a stored record's payload leaves that file alone
echo "a rival reading" >rival.pl
"$EDS" sign --key k.key --device dev-8 --chain rival.jsonl --payload rival.pl >/dev/null || fail "sign rival"
item "$(head -1 rival.jsonl)" rival.pl >rival.body
post_json rival.body
expect_code 409 fork
h=$(b3sum --no-names rival.pl)
[ ! -e "L/payloads/${h:0:2}/${h:2}" ] && pass || fail "a refused record left its payload file"
echo "dev-8 reading 1" >pl # what dev-8's stored record 1 carries
"$EDS" sign --key k.key --device dev-8 --chain rival2.jsonl --payload pl >/dev/null || fail "sign"
item "$(head -1 rival2.jsonl)" pl >rival.body
post_json rival.body
expect_code 409 fork
h=$(b3sum --no-names pl)
[ -e "L/payloads/${h:0:2}/${h:2}" ] && pass || fail "a refused record took a stored record's payload file"
req GET /api/v1/devices/dev-9/head
[ "$(jq -r .sequence "$T/body")" = 30 ] && pass || fail "dev-9 head"

# an unregistered device and a refused record stop the push with a clear line
"$EDS" sign --key k.key --device nobody --chain n.jsonl --payload pl >/dev/null
expect_rc 1 "$EDS" push --url "$URL" n.jsonl
expect_err "nobody"
expect_one_line_err
expect_rc 1 "$EDS" push --url "$URL" n.jsonl --json
expect_one_line_err
expect_jq '.ok == false and .sent == 0 and .devices == 1 and .error.code == "refused"
	and .refused == {device_id: "nobody", sequence: 1, reason: "unknown_device"}
	and (.error.message | test("nobody"))' 
# record 31 of dev-0 with an object_ref changed after signing
cp c0.jsonl f0.jsonl
"$EDS" sign --key k.key --device dev-0 --chain f0.jsonl --payload pl >/dev/null
tail -1 f0.jsonl | jq -c '.object_ref = "forged" | del(.record_hash)' >f.jsonl
expect_rc 1 "$EDS" push --url "$URL" f.jsonl
expect_err "bad_signature"
expect_one_line_err
expect_rc 1 "$EDS" push --url "$URL" f.jsonl --json
expect_jq '.ok == false and .records == 1 and .sent == 0 and .error.code == "refused"
	and .refused == {device_id: "dev-0", sequence: 31, reason: "bad_signature"}'
# records before the refused one are stored and counted: 31 good, 32 forged
cp c0.jsonl g0.jsonl
for _ in 1 2; do
	"$EDS" sign --key k.key --device dev-0 --chain g0.jsonl --payload pl --payload-dir P >/dev/null
done
{ sed -n '1,61p' g0.jsonl; tail -1 g0.jsonl | jq -c '.object_ref = "forged" | del(.record_hash)'; } >g.jsonl
expect_rc 1 "$EDS" push --url "$URL" g.jsonl --payload-dir P --json --batch 1
expect_jq '.ok == false and .records == 62 and .skipped == 60 and .sent == 1 and .batches == 2
	and .payloads_sent == 1
	and .refused == {device_id: "dev-0", sequence: 32, reason: "bad_signature"}'
[ "$(curl -s "$URL/api/v1/devices/dev-0/head" | jq .sequence)" = 31 ] && pass || fail "dev-0 head"
expect_rc 2 "$EDS" push --url "http://127.0.0.1:1" c0.jsonl
expect_one_line_err
expect_rc 2 "$EDS" push --url "http://127.0.0.1:1" c0.jsonl --json
expect_one_line_err
expect_jq '.ok == false and .refused == null and .error.code == "io_error" and .sent == 0'
# credentials in the URL never reach a message
expect_rc 2 "$EDS" push --url "http://lift:s3cret@127.0.0.1:1" c0.jsonl --json
expect_one_line_err
if grep -qE "lift|s3cret" "$T/out" "$T/err"; then fail "userinfo shown: $(cat "$T/err")"; else pass; fi
expect_err "://***@127.0.0.1:1"
# a URL of another scheme is a usage error before anything is read, not a
# failure blamed on the chain file; it is not echoed (it may hold a password)
for mode in "" "--mqtt 127.0.0.1:1"; do
	# shellcheck disable=SC2086
	expect_rc 2 "$EDS" push $mode --url "ftp://lift:s3cret@127.0.0.1:1" c0.jsonl --json
	expect_one_line_err
	expect_no_out
	expect_err "eds push: --url must start with http:// or https:// (try"
	if grep -qE "lift|s3cret" "$T/err"; then fail "userinfo shown: $(cat "$T/err")"; else pass; fi
done
# an unreadable --cacert, --cert or --key is named at once, not as libcurl's
# "Problem with the local SSL certificate" at the first request
expect_rc 2 "$EDS" push --url "$URL" c0.jsonl --cacert nowhere.pem --json
expect_err "eds push: --cacert: nowhere.pem: No such file or directory"
expect_one_line_err
expect_no_out
expect_rc 2 "$EDS" push --url "$URL" c0.jsonl --cert k.pub --key .
expect_err "--key: .: not a regular file"
expect_rc 2 "$EDS" push --mqtt 127.0.0.1:1 c0.jsonl --mqtt-cafile nowhere.pem
expect_err "--mqtt-cafile: nowhere.pem: No such file or directory"
# a --url with a path below the server's base reaches no endpoint: the 404
# not_found is a wrong URL (exit 2), not an unregistered device (exit 1)
expect_rc 2 "$EDS" push --url "$URL/api" c0.jsonl --json
expect_one_line_err
expect_err "GET $URL/api/api/v1/devices/dev-0/head: HTTP 404 not_found"
expect_err "(is the URL the server's base URL?)"
expect_jq '.refused == null and .error.code == "io_error"'
expect_rc 2 "$EDS" push --url "$URL" missing.jsonl --json
expect_jq '.ok == false and .error.code == "io_error" and .records == 0'
echo '{"format":' >bad.jsonl
expect_rc 2 "$EDS" push --url "$URL" bad.jsonl --json
expect_jq '.ok == false and .error.code == "malformed" and .refused == null'
expect_rc 2 "$EDS" push c0.jsonl
# a --payload-dir that is not a directory is a usage error, before anything is sent
for d in nowhere c0.jsonl; do
	expect_rc 2 "$EDS" push --url "$URL" c0.jsonl --payload-dir $d --json
	expect_one_line_err
	expect_err "--payload-dir $d"
	expect_no_out
done
expect_rc 2 "$EDS" push --mqtt 127.0.0.1:1 c0.jsonl --payload-dir nowhere
expect_err "--payload-dir nowhere"
# a value flag given twice is a usage error naming it
expect_rc 2 "$EDS" push --url "$URL" --url "$URL" c0.jsonl
expect_err "--url given twice"
expect_one_line_err
expect_rc 2 "$EDS" push --url "$URL" c0.jsonl --batch 5 --batch=6 --json
expect_err "--batch given twice"
expect_no_out
stop_server main

expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "481 records, 481 signatures, 481 payloads checked, 0 pending"
expect_rc 0 "$EDS" ledger export --ledger L --out X
expect_rc 0 "$EDS" verify-chain X/records.jsonl --keys X/registry.json --payload-dir X/payloads
# tampering with a stored payload is found by ledger verify
f=$(find L/payloads -type f | head -1); echo tampered >"$f"
expect_rc 1 "$EDS" ledger verify --ledger L

# ---- request bodies stay under the server's body limit --------------------------------
# big DEVICE N BYTES: N records of DEVICE with random payloads of BYTES each in DEVICE.jsonl
big() {
	for _ in $(seq 1 "$2"); do
		head -c "$3" /dev/urandom >bigpl
		"$EDS" sign --key k.key --device "$1" --chain "$1.jsonl" --payload bigpl \
			--payload-dir BP >/dev/null || fail "sign $1"
	done
}
for d in bp-1 bp-2 bp-3 bp-4 bp-5; do "$EDS" device add --ledger BL --id $d --public-key k.pub || fail "add $d"; done
big bp-1 3 500000 # two payloads inline (base64) pass the default 1 MiB
start_server limits --ledger BL
expect_rc 0 "$EDS" push --url "$URL" bp-1.jsonl --payload-dir BP --json
expect_no_err
expect_jq '.ok and .sent == 3 and .payloads_sent == 3 and .batches == 3'
big bp-4 1 600000 # too large to inline: PUT after its record is stored
expect_rc 0 "$EDS" push --url "$URL" bp-4.jsonl --payload-dir BP --json
expect_no_err
expect_jq '.ok and .sent == 1 and .payloads_sent == 1 and .batches == 1'
req GET /metrics
grep -q '^eds_ledger_pending_payloads 0$' "$T/body" && pass || fail "payloads pending after push"
# --put-payloads: the payloads of records pushed earlier without them
big bp-5 2 1000
expect_rc 0 "$EDS" push --url "$URL" bp-5.jsonl --json
expect_jq '.ok and .sent == 2 and .payloads_sent == 0'
expect_rc 0 "$EDS" push --url "$URL" bp-5.jsonl --payload-dir BP --json
expect_jq '.ok and .skipped == 2 and .payloads_sent == 0' # skipped: no PUT without the flag
expect_rc 0 "$EDS" push --url "$URL" bp-5.jsonl --payload-dir BP --put-payloads --json
expect_no_err
expect_jq '.ok and .skipped == 2 and .sent == 0 and .payloads_sent == 2'
req GET /metrics
grep -q '^eds_ledger_pending_payloads 0$' "$T/body" && pass || fail "payloads pending after --put-payloads"
expect_rc 0 "$EDS" push --url "$URL" bp-5.jsonl --payload-dir BP --put-payloads --json
expect_jq '.ok and .payloads_sent == 2 and .payloads_unknown == 0' # 200 already stored is fine
# the same sequences signed again with other payloads: skipped records whose
# payloads no stored record needs (404 unknown_payload), counted, not fatal
mv bp-5.jsonl bp-5.orig
big bp-5 2 1000
expect_rc 0 "$EDS" push --url "$URL" bp-5.jsonl --payload-dir BP --put-payloads --json
expect_jq '.ok and .skipped == 2 and .payloads_sent == 0 and .payloads_unknown == 2'
expect_rc 0 "$EDS" push --url "$URL" bp-5.jsonl --payload-dir BP --put-payloads
expect_out "0 payloads sent, 2 not wanted by the server"
mv bp-5.orig bp-5.jsonl
expect_rc 2 "$EDS" push --url "$URL" bp-5.jsonl --put-payloads
expect_err "--put-payloads needs --payload-dir"
expect_one_line_err
expect_rc 2 "$EDS" push --mqtt 127.0.0.1:1 bp-5.jsonl --payload-dir BP --put-payloads
expect_err "--put-payloads"
expect_one_line_err
stop_server limits
# a server with lower limits answers 413 too_large: the batch is split, down to one record
start_server limits --ledger BL --max-batch 4 --max-body 300000
sign_readings 1 10 bp-2
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --batch 10 --json
expect_no_err
expect_jq '.ok and .sent == 10 and .batches == 7' # 10 (413), 5 (413), then 2 each
# a payload file that is there but cannot be read stops the push (never sent without)
sign_readings 11 11 bp-2
h=$(tail -1 c.jsonl | jq -r .payload_hash)
rm "P/${h:0:2}/${h:2}" && mkdir "P/${h:0:2}/${h:2}"
expect_rc 2 "$EDS" push --url "$URL" c.jsonl --payload-dir P
expect_one_line_err
expect_err "record bp-2/11: payload"
[ "$(curl -s "$URL/api/v1/devices/bp-2/head" | jq .sequence)" = 10 ] && pass || fail "bp-2/11 was sent"
big bp-3 2 150000 # one fits under 300000 as base64, two do not
expect_rc 0 "$EDS" push --url "$URL" bp-3.jsonl --payload-dir BP --json
expect_jq '.ok and .sent == 2 and .payloads_sent == 2 and .batches == 3'
big bp-3 1 250000 # not even alone
expect_rc 2 "$EDS" push --url "$URL" bp-3.jsonl --payload-dir BP --json
expect_one_line_err
expect_err "bp-3/3"
expect_err "--max-body"
expect_jq '.ok == false and .skipped == 2 and .sent == 0 and .error.code == "limit"
	and .refused == null'
big bp-4 1 600000 # its record is stored, its PUT is over the limit
expect_rc 2 "$EDS" push --url "$URL" bp-4.jsonl --payload-dir BP --json
expect_one_line_err
expect_err "bp-4/2"
expect_err "--max-body"
expect_jq '.ok == false and .skipped == 1 and .sent == 1 and .payloads_sent == 0
	and .error.code == "limit"'
stop_server limits

# ---- progress: on a terminal only, for a chain file of 8 MiB or more ------------------
GEN=$EDS_BUILD_DIR/bench/bench_gen_chain
[ -x "$GEN" ] || fail "bench_gen_chain is not built: $GEN"
# one signed chain of 22,500 records (about 12 MiB); its first N lines are a chain too
PUB=$("$GEN" big4.jsonl 22500) || fail "bench_gen_chain"
for n in 1000 20000 21000 22000; do head -$n big4.jsonl >big$n.jsonl; done
mv big1000.jsonl small.jsonl
[ "$(stat -c %s big20000.jsonl)" -gt $((8 * 1024 * 1024)) ] && pass || fail "big20000.jsonl is under 8 MiB"
"$EDS" device add --ledger B --id bench-0001 --public-key "$PUB" || fail "add bench-0001"
start_server big --ledger B
expect_rc 0 "$EDS" push --url "$URL" small.jsonl --batch 100
if grep -q "records/s" "$T/err"; then fail "progress shown without a terminal"; else pass; fi
command -v script >/dev/null || fail "script (bsdutils) is not installed"
tty_push() { # a push on a terminal (script), its output in tty.out; it must succeed
	script -qec "'$EDS' push --url '$URL' $*" /dev/null >tty.out 2>&1 || fail "push $* on a terminal: exit $?"
}
tty_push big20000.jsonl --batch 1000 --quiet # 1,000 .. 20,000 remain
if grep -q "records/s" tty.out; then fail "--quiet showed progress"; else pass; fi
grep -q "records read" tty.out && fail "--quiet printed the summary" || pass
tty_push big21000.jsonl --batch 1000 --json
if grep -q "records/s" tty.out; then fail "--json showed progress"; else pass; fi
grep -q '"ok": *true' tty.out && pass || fail "--json on a terminal: $(head -c 300 tty.out)"
tty_push big22000.jsonl --batch 1000
grep -q "push: .*%.* records .*records/s" tty.out && pass ||
	fail "no progress line on a terminal: $(head -c 300 tty.out)"
grep -q "22000 records read, 21000 skipped, 1000 accepted" tty.out && pass ||
	fail "terminal run lacks the summary: $(tail -c 300 tty.out)"
tty_push small.jsonl
if grep -q "records/s" tty.out; then fail "progress shown for a small file"; else pass; fi
# without a terminal nothing but the summary, also for the large file
expect_rc 0 "$EDS" push --url "$URL" big4.jsonl --batch 1000
expect_no_err
expect_out "22500 records read, "
[ "$(curl -s "$URL/api/v1/devices/bench-0001/head" | jq .sequence)" = 22500 ] && pass ||
	fail "bench-0001 head"
stop_server big

# ---- a record the server cannot take now is no refusal --------------------------------
# --device-rate answers each record over the limit rate_limited (the per-source
# limit answers the whole request 429): the record is fine, a later push stores
# it, so exit 2 and error.code io_error as for the per-source 429, not exit 1
# and refused as for a forged record
"$EDS" device add --ledger RL --id dev-0 --public-key k.pub >/dev/null || fail "add"
grep '"device_id":"dev-0"' c0.jsonl >d0.jsonl
start_server rl --ledger RL --device-rate 0.001 --device-burst 2
expect_rc 2 "$EDS" push --url "$URL" d0.jsonl --batch 1 --json --retries 0
expect_one_line_err
expect_err "record dev-0/3 not stored now: rate_limited: "
expect_jq '.ok == false and .sent == 2 and .refused == null and .error.code == "io_error"
	and .waits == 0'
# a batch answer with records over the limit says when to come back
printf '{"items":[{"record":%s}]}' "$(sed -n 3p d0.jsonl)" >b3
curl -s -D hdr -o body -H 'Content-Type: application/json' --data-binary @b3 "$URL/api/v1/records"
grep -qi '^Retry-After: [1-9]' hdr && pass || fail "batch with a limited item: no Retry-After: $(cat hdr)"
stop_server rl

# ---- --retries: waiting out the limits ------------------------------------------------
# a per-device limit of 50 records/s with bursts of 10: a push of 30 records of one
# device in one batch stores 10, is told to come back, and goes on at the server's
# rate until all are stored (later items of the device, refused as gaps behind the
# limited one, are sent again with it)
"$EDS" device add --ledger RW --id dev-0 --public-key k.pub >/dev/null || fail "add"
start_server rw --ledger RW --device-rate 50 --device-burst 10
expect_rc 0 "$EDS" push --url "$URL" d0.jsonl --json
expect_no_err
expect_jq '.ok and .sent == 30 and .waits >= 2 and .waited_ms >= 2000 and .refused == null'
[ "$(curl -s "$URL/api/v1/devices/dev-0/head" | jq .sequence)" = 30 ] && pass || fail "throttled push: head"
stop_server rw
expect_rc 0 "$EDS" ledger verify --ledger RW
# the per-source limit answers whole requests 429 with Retry-After: head and POSTs
# alike are asked again, each request as a rule once: more waits than --retries in
# all, which is fine as each was followed by records stored; the text summary says
# how long it waited
"$EDS" device add --ledger RS --id dev-0 --public-key k.pub >/dev/null || fail "add"
start_server rs --ledger RS --source-rate 2 --source-burst 1
expect_rc 0 "$EDS" push --url "$URL" d0.jsonl --batch 5 --retries 2
expect_out "30 records read, 0 skipped, 30 accepted, 0 duplicates, "
expect_out "waited "
stop_server rs
# a server that never lets up: the push gives up after --retries waits in a row
cat >stub429.py <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        b = b'{"status":"rejected","error":"rate_limited","message":"slow down"}'
        self.send_response(429); self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
http.server.ThreadingHTTPServer.daemon_threads = True
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
python3 stub429.py stub.port & S=$!
echo $S >"$T/stub429.pid" # killed on exit should the test stop early
for _ in $(seq 1 100); do [ -s stub.port ] && break; sleep 0.05; done
expect_rc 2 "$EDS" push --url "http://127.0.0.1:$(cat stub.port)" d0.jsonl --retries 2 --json
expect_one_line_err
expect_err "HTTP 429 rate_limited: slow down"
expect_jq '.ok == false and .waits == 2 and .waited_ms == 2000 and .error.code == "io_error"'
kill $S; wait $S 2>/dev/null; rm -f "$T/stub429.pid"
finish
