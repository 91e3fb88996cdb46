#!/bin/bash
# test_serve_api.sh - a real `eds serve` on a free loopback port: every
# status code and error code of FORMAT.md section 4, bad requests of every
# kind (each refused while the server keeps serving), the operation log,
# metrics, and a clean stop on SIGTERM; methods (405 with Allow, HEAD), a
# one-character device id, %00 in a path, ambiguous body framing (two
# lengths, a length and a coding, an unknown coding), that refused URLs
# and framing are logged but never written to the ledger, and the operation
# log read back with `eds ledger log` and in an export.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
cd "$T" || exit 1

"$EDS" keygen --out k >/dev/null && "$EDS" keygen --out k2 >/dev/null
for i in 1 2 3 4; do echo "reading $i" >p$i; done
for i in 1 2 3 4; do "$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p$i >/dev/null; done
echo "other" >q1
for i in 1 2; do "$EDS" sign --key k.key --device lift-01 --chain fork.jsonl --payload q1 >/dev/null; done
"$EDS" sign --key k.key --device ghost --chain ghost.jsonl --payload p1 >/dev/null
"$EDS" sign --key k.key --device gone --chain gone.jsonl --payload p1 >/dev/null
"$EDS" sign --key k.key --device lift-02 --chain future.jsonl --payload p1 \
	--timestamp-ms $(( $(date +%s) * 1000 + 3600000 )) >/dev/null
expect_rc 0 "$EDS" device add --ledger L --id lift-01 --public-key k.pub
expect_rc 0 "$EDS" device add --ledger L --id lift-02 --public-key k.pub
expect_rc 0 "$EDS" device add --ledger L --id gone --public-key k.pub
expect_rc 0 "$EDS" device add --ledger L --id a --public-key k.pub
expect_rc 0 "$EDS" device revoke --ledger L --id gone
start_server main --ledger L --max-body 65536 --max-batch 10 --timeout 2
rec() { sed -n "${2}p" "$1"; }

# 201 accepted, 200 duplicate, payload stored at its hash
item "$(rec c.jsonl 1)" p1 >b1
post_json b1; expect_code 201
[ "$(jq -r .status "$T/body")" = accepted ] && pass || fail "status not accepted"
post_json b1; expect_code 200
[ "$(jq -r .status "$T/body")" = duplicate ] && pass || fail "status not duplicate"
h1=$(rec c.jsonl 1 | jq -r .payload_hash)
[ -f "L/payloads/${h1:0:2}/${h1:2}" ] && pass || fail "payload file missing"

# 422 for each gate rule, 409 for a fork
item "$(rec c.jsonl 3)" >b; post_json b; expect_code 422 sequence_gap
item "$(rec fork.jsonl 1)" q1 >b; post_json b; expect_code 409 fork
item "$(rec fork.jsonl 2)" >b; post_json b; expect_code 422 prev_hash_mismatch
item "$(rec ghost.jsonl 1)" >b; post_json b; expect_code 422 unknown_device
item "$(rec gone.jsonl 1)" >b; post_json b; expect_code 422 revoked_device
item "$(rec future.jsonl 1)" >b; post_json b; expect_code 422 timestamp_skew
rec c.jsonl 2 | jq -c '.signature = ("00" + .signature[2:]) | del(.record_hash)' >r2bad
item "$(cat r2bad)" p2 >b; post_json b; expect_code 422 bad_signature
item "$(rec c.jsonl 2)" p3 >b; post_json b; expect_code 422 payload_mismatch

# batch: in order, one result per item; the record without payload stays pending
jq -c -s '{items: [.[1], .[2]] | map({record: .})}' c.jsonl >b; post_json b; expect_code 200
[ "$(jq -r '[.results[].status] | join(",")' "$T/body")" = "accepted,accepted" ] && pass ||
	fail "batch results: $(cat "$T/body")"
req GET /api/v1/devices/lift-01/head; expect_code 200
[ "$(jq -r .sequence "$T/body")" = 3 ] && pass || fail "head not 3"
[ "$(jq -r .record_hash "$T/body")" = "$(rec c.jsonl 3 | jq -r .record_hash)" ] && pass || fail "head hash"
req GET /api/v1/devices/lift-02/head; expect_code 200
[ "$(jq -r .sequence "$T/body")" = 0 ] && pass || fail "empty head not 0"
req GET /api/v1/devices/nobody/head; expect_code 404 unknown_device

# payload PUT: 404 unknown, 422 wrong bytes, 201 stored, 200 already stored
h2=$(rec c.jsonl 2 | jq -r .payload_hash)
req PUT /api/v1/payloads/$(printf '%064d' 0) --data-binary @p2; expect_code 404 unknown_payload
req PUT /api/v1/payloads/$h2 --data-binary @p3; expect_code 422 payload_mismatch
req PUT /api/v1/payloads/$h2 --data-binary @p2; expect_code 201
req PUT /api/v1/payloads/$h2 --data-binary @p2; expect_code 200
# every PUT is a decision line, the 200 too (it is not written to the ledger)
wait_for_line "$T/main.log" '"record_hash":"'"$h2"'","message":"The payload was already stored."'
req PUT /api/v1/payloads/xyz --data-binary @p2; expect_code 400 malformed

# malformed bodies: truncated, wrong types, bad base64, non-UTF-8, long device_id
printf '{"record":{"format":"ESR1"' >b; post_json b; expect_code 400 malformed
rec c.jsonl 4 | jq -c '{record: (.sequence = "4")}' >b; post_json b; expect_code 400 malformed
echo '[1,2]' >b; post_json b; expect_code 400 malformed
rec c.jsonl 4 | jq -c '{record: ., payload: "***not base64***"}' >b; post_json b; expect_code 400 malformed
rec c.jsonl 4 | jq -c '{record: ., payload: 7}' >b; post_json b; expect_code 400 malformed
printf '{"record":{"format":"ESR1","device_id":"lift-\xff\xfe"}}' >b; post_json b; expect_code 400 malformed
long=$(printf 'a%.0s' $(seq 1 129))
rec c.jsonl 4 | jq -c --arg d "$long" '{record: (.device_id = $d)}' >b; post_json b; expect_code 400 malformed
rec c.jsonl 4 | jq -c '{record: ., extra: 1}' >b; post_json b; expect_code 400 malformed
echo '{"items": []}' >b; post_json b; expect_code 400 malformed
# too large: a 10 MB body, and more batch items than allowed
head -c 10000000 /dev/zero | tr '\0' 'a' >big
req POST /api/v1/records --data-binary @big; expect_code 413 too_large
jq -c -s '{items: [range(11) as $i | {record: .[3]}]}' c.jsonl >b; post_json b; expect_code 413 too_large
# a malformed item inside a batch only fails that item
jq -c -s '{items: [{record: .[3]}, {record: 5}]}' c.jsonl >b; post_json b; expect_code 200
[ "$(jq -r '[.results[] | (.error // .status)] | join(",")' "$T/body")" = "accepted,malformed" ] &&
	pass || fail "mixed batch: $(cat "$T/body")"
req GET /nowhere; expect_code 404
req DELETE /api/v1/records; expect_code 405

# methods: a 405 names the ones the endpoint takes (Allow); HEAD answers where GET does
# allow_is TEXT: the last response's Allow header is TEXT.
allow_is() {
	[ "$(tr -d '\r' <"$T/hdr" | sed -n 's/^[Aa]llow: //p')" = "$1" ] && pass ||
		fail "want Allow: $1, got: $(tr -d '\r' <"$T/hdr" | grep -i '^allow')"
}
allow_is POST
req GET /api/v1/payloads/$h2; expect_code 405 method_not_allowed; allow_is PUT
req POST /healthz; expect_code 405 method_not_allowed; allow_is "GET, HEAD"
req PUT /metrics; expect_code 405 method_not_allowed; allow_is "GET, HEAD"
req DELETE /api/v1/devices/lift-01/head; expect_code 405 method_not_allowed; allow_is "GET, HEAD"
for path in /healthz /metrics /api/v1/devices/lift-01/head; do
	CODE=$(curl -s -I -o "$T/hdr" -w '%{http_code}' "$URL$path")
	[ "$CODE" = 200 ] && pass || fail "HEAD $path: $CODE"
done
# a device id of one character (1..128 bytes) has its head like any other
req GET /api/v1/devices/a/head; expect_code 200
[ "$(jq -r .device_id "$T/body")" = a ] && pass || fail "head of a: $(cat "$T/body")"
# %00 is not decoded: it would end the path early ("/healthz%00x" as "/healthz")
req GET '/healthz%00x'; expect_code 404 not_found
req GET '/api/v1/devices/lift-01%00x/head'; expect_code 400 malformed
req PUT "/api/v1/payloads/$h2%00x" --data-binary @p2; expect_code 400 malformed
# ambiguous framing (request smuggling): 400 and the connection closed, nothing read
# raw TEXT: TEXT (printf format) sent as it is; the answer in $T/raw.
# The server may close before the request's last bytes are written: that
# write's SIGPIPE is ignored (in a subshell), the answer is read all the same.
raw() {
	exec 4<>"/dev/tcp/127.0.0.1/$PORT"
	# shellcheck disable=SC2059
	(trap '' PIPE; printf "$1" >&4) 2>/dev/null
	timeout 5 cat <&4 >"$T/raw"
	exec 4<&-
}
# raw_answer CODE TEXT: the raw answer's status is CODE and its body holds TEXT.
raw_answer() {
	head -1 "$T/raw" | grep -q "^HTTP/1.1 $1 " && grep -qF "$2" "$T/raw" && pass ||
		fail "want $1 '$2', got: $(head -c 300 "$T/raw")"
}
events() { sqlite3 "file:L/ledger.sqlite?mode=ro" 'SELECT count(*) FROM oplog'; }
raw 'POST /api/v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x'
raw_answer 400 "two different Content-Length headers"
raw 'POST /api/v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
raw_answer 400 "both Content-Length and Transfer-Encoding"
raw 'POST /api/v1/records HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n'
raw_answer 400 "The only Transfer-Encoding taken is chunked."
# a chunked body is still taken
item "$(rec c.jsonl 1)" p1 >b
req POST /api/v1/records -H 'Transfer-Encoding: chunked' --data-binary @b; expect_code 200
# bad URLs and framing are logged, not stored: the ledger's operation log did not grow
events_before=$(events)
raw 'POST /api/v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x'
for _ in 1 2 3; do req GET '/api/v1/devices/bad!id/head'; req PUT /api/v1/payloads/xyz --data-binary @p2; done
expect_code 400 malformed
[ "$(events)" = "$events_before" ] && pass || fail "bad URLs grew the operation log: $events_before -> $(events)"
grep -q 'two different Content-Length' "$T/main.log" && pass || fail "framing refusal not logged"

# 503 when the payload store cannot take the file (a file blocks its directory)
echo "p5" >p5; "$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p5 >/dev/null
h5=$(rec c.jsonl 5 | jq -r .payload_hash)
rm -rf "L/payloads/${h5:0:2}"; echo blocker >"L/payloads/${h5:0:2}"
item "$(rec c.jsonl 5)" p5 >b; post_json b; expect_code 503 storage_unavailable
rm -f "L/payloads/${h5:0:2}"
post_json b; expect_code 201

# slow loris: a client that never finishes its headers is cut off (--timeout 2),
# and others are served meanwhile
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /api/v1/records HTTP/1.1\r\nHost: x\r\n' >&3
req GET /healthz; expect_code 200
start=$(date +%s)
cat <&3 >/dev/null & reader=$!
( sleep 8; kill $reader 2>/dev/null ) & guard=$!
wait $reader 2>/dev/null
took=$(( $(date +%s) - start ))
kill $guard 2>/dev/null
exec 3<&-
[ "$took" -le 5 ] && pass || fail "slow-loris connection held $took s"

# metrics and log
req GET /metrics; expect_code 200
grep -q '^eds_ingest_decisions_total{outcome="fork",result="rejected"} 1$' "$T/body" && pass ||
	fail "metrics lack the fork count"
grep -q '^eds_http_request_duration_seconds_count ' "$T/body" && pass || fail "no latency histogram"
grep -q '^eds_ingest_batch_records_bucket' "$T/body" && pass || fail "no batch histogram"
grep -q '^eds_ledger_bytes [1-9]' "$T/body" && pass || fail "no ledger size"
stop_server main
jq -e . "$T/main.log" >/dev/null && pass || fail "log is not JSON lines"
grep -q '"reason":"fork"' "$T/main.log" && pass || fail "log lacks the fork decision"
grep -qi 'private\|BEGIN' "$T/main.log" && fail "log holds key material" || pass

# the ledger verifies, and the restarted server resumes the chains
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "5 records"

# the operation log, read back: every stored decision, oldest first, as JSON Lines
# and as text, for one device, after an id; an export carries the same lines
stored=$(sqlite3 "file:L/ledger.sqlite?mode=ro" 'SELECT count(*) FROM oplog')
expect_rc 0 "$EDS" ledger log --ledger L --json
cp "$T/out" log.jsonl
[ "$(wc -l <log.jsonl)" = "$stored" ] && jq -e . log.jsonl >/dev/null && pass ||
	fail "log --json: $(wc -l <log.jsonl) lines for $stored events"
[ "$(jq -s '[.[].id] == ([.[].id] | sort) and (.[0].id == 1)' log.jsonl)" = true ] && pass ||
	fail "log --json is not in id order from 1"
fork_hash=$(rec fork.jsonl 1 | jq -r .record_hash)
jq -e -s --arg h "$fork_hash" 'any(.[]; .decision == "rejected" and .reason == "fork"
	and .device_id == "lift-01" and .sequence == 1 and .record_hash == $h)' log.jsonl >/dev/null &&
	pass || fail "log --json lacks the fork"
jq -e -s 'any(.[]; .decision == "rejected" and .reason == "malformed" and .device_id == null)' \
	log.jsonl >/dev/null && pass || fail "log --json lacks a malformed body with device null"
expect_rc 0 "$EDS" ledger log --ledger L
[ "$(wc -l <"$T/out")" = "$stored" ] && pass || fail "log text: $(wc -l <"$T/out") lines"
grep -qE "^[0-9]+ 20[0-9-]+T[0-9:.]+Z 127\\.0\\.0\\.1 rejected fork lift-01/1 $fork_hash\$" "$T/out" && pass ||
	fail "log text lacks the fork line: $(grep fork "$T/out")"
expect_rc 0 "$EDS" ledger log --ledger L --json --device lift-02
[ -s "$T/out" ] && [ "$(jq -r .device_id "$T/out" | sort -u)" = lift-02 ] && pass ||
	fail "log --device lift-02: $(head -3 "$T/out")"
expect_rc 0 "$EDS" ledger log --ledger L --json --after-id 5
[ "$(head -1 "$T/out" | jq .id)" = 6 ] && [ "$(wc -l <"$T/out")" = $((stored - 5)) ] && pass ||
	fail "log --after-id 5: $(head -1 "$T/out")"
expect_rc 2 "$EDS" ledger log --ledger L --after-id x
expect_err "--after-id must be"
expect_rc 2 "$EDS" ledger log --ledger L --device 'no such!'
expect_one_line_err
expect_err "eds ledger: --device: device_id: byte 2 is not one of"
expect_rc 2 "$EDS" ledger verify --ledger L --device lift-01
expect_err "--device is only for log"
expect_rc 0 "$EDS" ledger export --ledger L --out AUDIT
cmp -s AUDIT/oplog.jsonl log.jsonl && pass || fail "export's oplog.jsonl differs from log --json"
# records sent without their payload: the export counts them and lists them in
# pending.jsonl; the offline check with --payload-dir alone names them
# payload_missing, with --pending the export verifies, each listed one pending
npend=$(sed -n 's/.*(\([1-9][0-9]*\) payloads pending;.*/\1/p' "$T/out")
[ -n "$npend" ] && pass || fail "export: $(cat "$T/out")"
[ "$(wc -l <AUDIT/pending.jsonl)" = "$npend" ] && pass || fail "pending.jsonl: $(cat AUDIT/pending.jsonl)"
jq -e -s --slurpfile r AUDIT/records.jsonl 'map(. as $p | $r | map(select(.device_id ==
	$p.device_id and .sequence == $p.sequence and .payload_hash == $p.payload_hash))
	| length == 1) | all' AUDIT/pending.jsonl >/dev/null && pass ||
	fail "pending.jsonl lines are not records of the export"
expect_rc 1 "$EDS" verify-chain AUDIT/records.jsonl --keys AUDIT/registry.json \
	--payload-dir AUDIT/payloads
expect_out "reason=payload_missing"
expect_rc 0 "$EDS" verify-chain AUDIT/records.jsonl --keys AUDIT/registry.json \
	--payload-dir AUDIT/payloads --pending AUDIT/pending.jsonl
expect_out "payloads pending: $npend"
expect_rc 0 "$EDS" verify-chain AUDIT/records.jsonl --keys AUDIT/registry.json \
	--payload-dir AUDIT/payloads --pending AUDIT/pending.jsonl --json
expect_jq ".valid and .payloads_pending == $npend and .payloads_checked > 0"
# a stored payload's file lost is still missing, whatever pending.jsonl says of others
cp -r AUDIT AUDIT2
h=$(jq -r -s --slurpfile p AUDIT2/pending.jsonl '[.[] | .payload_hash] - [$p[].payload_hash]
	| .[0]' AUDIT2/records.jsonl)
rm "AUDIT2/payloads/${h:0:2}/${h:2}"
expect_rc 1 "$EDS" verify-chain AUDIT2/records.jsonl --keys AUDIT2/registry.json \
	--payload-dir AUDIT2/payloads --pending AUDIT2/pending.jsonl
expect_out "reason=payload_missing"
# a bad pending.jsonl line: exit 2 naming FILE:LINE; --pending needs --payload-dir
{ head -n 1 AUDIT/pending.jsonl; echo '{"device_id":"lift-01","sequence":0,"payload_hash":"'"$h"'"}'; } >badp.jsonl
expect_rc 2 "$EDS" verify-chain AUDIT/records.jsonl --payload-dir AUDIT/payloads --pending badp.jsonl
expect_one_line_err
expect_err "badp.jsonl:2: pending.sequence: must be 1 .. 2^53-1"
echo '{"device_id":"lift-01","sequence":1}' >badp.jsonl
expect_rc 2 "$EDS" verify-chain AUDIT/records.jsonl --payload-dir AUDIT/payloads --pending badp.jsonl
expect_err "badp.jsonl:1: pending.payload_hash: required"
expect_rc 2 "$EDS" verify-chain AUDIT/records.jsonl --pending AUDIT/pending.jsonl
expect_err "--pending goes with --payload-dir"
expect_rc 0 "$EDS" verify-chain AUDIT/records.jsonl --keys AUDIT/registry.json
start_server again --ledger L
req GET /api/v1/devices/lift-01/head; expect_code 200
[ "$(jq -r .sequence "$T/body")" = 5 ] && pass || fail "resumed head not 5"
item "$(rec c.jsonl 3)" >b; post_json b; expect_code 200
stop_server again

# SIGHUP reopens --log (log rotation) and the server keeps serving; when the
# name cannot be opened (a directory took it), the old file stays, and says so
start_server hup --ledger L
hup=$(cat "$T/hup.pid")
mv "$T/hup.log" "$T/hup.log.1"
kill -HUP "$hup"
wait_for_line "$T/hup.log" '"event":"log_reopened"'
item "$(rec c.jsonl 4)" >b; post_json b; expect_code 200
wait_for_line "$T/hup.log" '"sequence":4'
grep -q '"sequence":4' "$T/hup.log.1" && fail "a decision after SIGHUP went to the moved log" || pass
grep -q '"event":"listening"' "$T/hup.log.1" && pass || fail "the moved log lost its lines"
mv "$T/hup.log" "$T/hup.log.2" && mkdir "$T/hup.log"
kill -HUP "$hup"
wait_for_line "$T/hup.log.2" '"event":"log_reopen_failed","error":"Is a directory"'
item "$(rec c.jsonl 5)" >b; post_json b; expect_code 200
wait_for_line "$T/hup.log.2" '"sequence":5'
rmdir "$T/hup.log"
stop_server hup
grep -q '"event":"stopped"' "$T/hup.log.2" && pass || fail "no stop line after a failed reopen"
jq -e . "$T/hup.log.1" "$T/hup.log.2" >/dev/null && pass || fail "rotated logs are not JSON lines"
# without --log (standard error) SIGHUP changes nothing, and does not stop the server
"$EDS" serve --ledger L --listen 127.0.0.1:0 --port-file "$T/nolog.port" 2>"$T/nolog.err" &
echo $! >"$T/nolog.pid"
wait_for_line "$T/nolog.err" '"event":"listening"'
kill -HUP "$(cat "$T/nolog.pid")"
URL="http://127.0.0.1:$(cat "$T/nolog.port")"
req GET /healthz; expect_code 200
stop_server nolog
grep -q reopen "$T/nolog.err" && fail "SIGHUP without --log: $(cat "$T/nolog.err")" || pass

# 403 for a source outside the allow list (and nothing read or stored)
start_server deny --ledger L --allow 10.0.0.0/8,2001:db8::/32
item "$(rec c.jsonl 1)" p1 >b; post_json b; expect_code 403 forbidden_source
# eds push names the server's reason, not only the status
expect_rc 2 "$EDS" push --url "$URL" c.jsonl
expect_one_line_err
expect_err "HTTP 403 forbidden_source: "
stop_server deny
expect_rc 2 "$EDS" serve --ledger L --allow 10.0.0.0/33
expect_err "10.0.0.0/33"
expect_one_line_err

# 429 with Retry-After
start_server rl --ledger L --source-rate 1 --source-burst 2
for _ in 1 2 3; do req GET /healthz; done
expect_code 429 rate_limited
grep -qi '^retry-after: [1-9]' "$T/hdr" && pass || fail "no Retry-After header"
stop_server rl

# config file instead of flags
echo '{"ledger": "L", "allow": ["127.0.0.1"], "max-body": 1000}' >conf.json
start_server conf --config conf.json
item "$(rec c.jsonl 1)" p1 >b; req POST /api/v1/records --data-binary @b; expect_code 200
head -c 2000 big >b; req POST /api/v1/records --data-binary @b; expect_code 413 too_large
stop_server conf
echo '{"ledger": "L", "bogus": 1}' >bad.json
expect_rc 2 "$EDS" serve --config bad.json
expect_err 'unknown key "bogus"'
expect_rc 0 "$EDS" serve --help
expect_out "--tls-client-ca"
finish
