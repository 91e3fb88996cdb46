#!/bin/bash
# test_serve_mqtt.sh - `eds serve --mqtt` against a real mosquitto broker,
# with the stock mosquitto_pub/mosquitto_sub clients as devices: records are
# accepted and answered with their sequence after commit; malformed, oversized,
# forged and mis-addressed ones get the right error code; records published
# while the server is away are all ingested when it returns; a broker restart
# mid-stream loses nothing; a flood of bad messages does not stop good ones.
# `eds push --mqtt`: --json reports (counts against the server's heads,
# refusals naming the record, an unreachable broker), --quiet, a value flag
# given twice, the progress line on a terminal only, and payloads over 512
# KiB (PUT over HTTP with --url, a stop without), and a server's
# --device-rate waited out (--retries; 0: exit 2 as before).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
cd "$T" || exit 1

"$EDS" keygen --out k >/dev/null
for d in 0 1 2 3; do "$EDS" device add --ledger L --id dev-$d --public-key k.pub >/dev/null || fail "add"; done
for i in $(seq 1 60); do
	echo "dev-0 reading $i" >pl
	"$EDS" sign --key k.key --device dev-0 --chain c0.jsonl --payload pl --payload-dir P >/dev/null
	[ "$i" -le 20 ] && "$EDS" sign --key k.key --device dev-1 --chain c1.jsonl --payload pl >/dev/null
	[ "$i" -le 3 ] && "$EDS" sign --key k.key --device dev-2 --chain c2.jsonl --payload pl >/dev/null
done
# msg CHAIN N: the single-record body of record N of CHAIN (with payload for dev-0)
msg() {
	local line h; line=$(sed -n "$2p" "$1")
	if [ "$1" = c0.jsonl ]; then
		h=$(jq -r .payload_hash <<<"$line")
		item "$line" "P/${h:0:2}/${h:2}"
	else item "$line"; fi
}
pub() { mosquitto_pub -p "$BPORT" -q 1 -t "edgesentry/v1/records/$1" -s; }

start_broker
start_answers
start_server main --ledger L --max-body 4096 --mqtt "127.0.0.1:$BPORT"
wait_log main '"mqtt_connected"' && pass || fail "server did not connect: $(cat main.log)"

# ---- accepted, answered after commit, with the sequence -------------------------
for n in 1 2 3; do msg c0.jsonl $n | pub dev-0 || fail "publish $n"; done
wait_lines answers 3 || fail "want 3 answers, have: $(cat answers)"
[ "$(answers dev-0 | jq -r '"\(.status) \(.sequence)"' | tr '\n' ,)" = "accepted 1,accepted 2,accepted 3," ] &&
	pass || fail "answers: $(cat answers)"
[ "$(answers dev-0 | sed -n 3p | jq -r .record_hash)" = "$(sed -n 3p c0.jsonl | jq -r .record_hash)" ] &&
	pass || fail "record_hash in the answer"
[ "$(head_seq dev-0)" = 3 ] && pass || fail "head after 3 records"

# ---- refusals: each answered with its code on the topic's device ---------------
: >answers.want
check() { # check DEVICE CODE: the next answer for DEVICE has error CODE
	echo "$1 $2" >>answers.want
	wait_lines answers $(($(wc -l <answers.want) + 3)) || { fail "no answer for $2"; return; }
	local got; got=$(answers "$1" | tail -1 | jq -r '.error // .status')
	[ "$got" = "$2" ] && pass || fail "$1: want $2, got $(answers "$1" | tail -1)"
}
echo 'not json {' | pub dev-1; check dev-1 malformed
echo '{"items":[]}' | pub dev-1; check dev-1 malformed
head -c 5000 /dev/zero | tr '\0' x | pub dev-1; check dev-1 too_large
msg c0.jsonl 4 | pub dev-1; check dev-1 identity_mismatch
msg c0.jsonl 2 | pub dev-0; check dev-0 duplicate
sed -n 1p c1.jsonl | jq -c '{record: (.object_ref = "forged" | del(.record_hash))}' | pub dev-1; check dev-1 bad_signature
msg c1.jsonl 2 | pub dev-1; check dev-1 sequence_gap
"$EDS" keygen --out k2 >/dev/null
"$EDS" sign --key k2.key --device ghost --chain g.jsonl --payload pl >/dev/null
item "$(cat g.jsonl)" | pub ghost; check ghost unknown_device
[ "$(answers dev-1 | sed -n 4p | jq -r .sequence)" = 4 ] && pass || fail "identity answer lacks the sequence"
kill -0 "$(cat main.pid)" && pass || fail "server died on bad messages"

# ---- the server is away: the broker keeps the session's messages ---------------
stop_server main
for n in $(seq 4 10); do msg c0.jsonl $n | pub dev-0 || fail "publish $n"; done
start_server main --ledger L --max-body 4096 --mqtt "127.0.0.1:$BPORT"
wait_log main '"mqtt_connected"' || fail "no reconnect"
for _ in $(seq 1 300); do [ "$(head_seq dev-0)" = 10 ] && break; sleep 0.1; done
[ "$(head_seq dev-0)" = 10 ] && pass || fail "records published while away: head $(head_seq dev-0)"

# ---- the broker restarts mid-stream ------------------------------------------------
(
	for n in $(seq 11 60); do
		# a device retries until the broker takes the message
		for _ in $(seq 1 100); do msg c0.jsonl $n | pub dev-0 2>/dev/null && break; sleep 0.1; done
	done
) &
publisher=$!
sleep 0.3
stop_broker
sleep 0.5
start_broker
wait "$publisher"
wait_log main '"mqtt_connected"' 2 && pass || fail "server did not reconnect: $(tail -3 main.log)"
for _ in $(seq 1 300); do [ "$(head_seq dev-0)" = 60 ] && break; sleep 0.1; done
[ "$(head_seq dev-0)" = 60 ] && pass || fail "after the broker restart: head $(head_seq dev-0), want 60"
grep -q '"mqtt_disconnected"' main.log && pass || fail "the disconnect was not noticed"

# ---- a flood of malformed and oversized messages beside valid ones -----------------
(
	for n in $(seq 1 300); do
		echo "{\"record\": $n" 
	done | mosquitto_pub -p "$BPORT" -q 1 -t edgesentry/v1/records/dev-2 -l
	for n in $(seq 1 30); do head -c 20000 /dev/urandom | base64 -w0 | pub dev-2; done
	printf 'x' | mosquitto_pub -p "$BPORT" -q 1 -t 'edgesentry/v1/records/bad id' -s
) &
flood=$!
for n in $(seq 1 20); do msg c1.jsonl $n | pub dev-1 || fail "publish dev-1 $n"; done
for n in 1 2 3; do msg c2.jsonl $n | pub dev-2 || fail "publish dev-2 $n"; done
wait "$flood"
for _ in $(seq 1 300); do [ "$(head_seq dev-1)" = 20 ] && [ "$(head_seq dev-2)" = 3 ] && break; sleep 0.1; done
[ "$(head_seq dev-1)" = 20 ] && pass || fail "dev-1 under the flood: head $(head_seq dev-1)"
[ "$(head_seq dev-2)" = 3 ] && pass || fail "dev-2 under the flood: head $(head_seq dev-2)"

# ---- the agent forwards over MQTT (its records leave the queue on the answers) -------
printf 'one\ntwo\nthree\n' >lines
expect_rc 0 "$EDS" agent --key k.key --device dev-3 --state S --mqtt "127.0.0.1:$BPORT" <lines
[ "$(head_seq dev-3)" = 3 ] && pass || fail "agent over MQTT: head $(head_seq dev-3)"
expect_rc 0 "$EDS" agent status --state S
# eds push --mqtt without --url sends everything again: all duplicates, all stored
expect_rc 0 "$EDS" push --mqtt "127.0.0.1:$BPORT" c1.jsonl --batch 7
expect_out "20 records read, 0 skipped, 20 stored, 3 batches"

# ---- eds push --mqtt --json / --quiet ----------------------------------------------------
MQ=(push --mqtt "127.0.0.1:$BPORT")
for i in 21 22 23 24 25; do
	echo "dev-1 reading $i" >pl
	"$EDS" sign --key k.key --device dev-1 --chain c1.jsonl --payload pl --payload-dir P1 >/dev/null
done
expect_rc 0 "$EDS" "${MQ[@]}" c1.jsonl --url "$URL" --payload-dir P1 --batch 2 --json
expect_no_err
expect_jq '. == {ok: true, records: 25, skipped: 20, sent: 5, payloads_sent: 5, payloads_unknown: 0, batches: 3,
	devices: 1, waits: 0, waited_ms: 0, refused: null, error: null}'
[ "$(head_seq dev-1)" = 25 ] && pass || fail "dev-1 head after push --mqtt: $(head_seq dev-1)"
expect_rc 0 "$EDS" "${MQ[@]}" c1.jsonl --url "$URL" --json
expect_jq '.ok and .records == 25 and .skipped == 25 and .sent == 0 and .batches == 0'
expect_rc 0 "$EDS" "${MQ[@]}" c2.jsonl --quiet # all sent again (no --url): duplicates
expect_no_out
expect_no_err
expect_rc 0 "$EDS" push --mqtt="127.0.0.1:$BPORT" c2.jsonl --quiet # the --flag=VALUE form
expect_no_out
expect_no_err
# refusals: an unknown device (answered by the server, or its head 404), a forged record
expect_rc 1 "$EDS" "${MQ[@]}" g.jsonl --json
expect_one_line_err
expect_jq '.ok == false and .error.code == "refused" and .sent == 0
	and .refused == {device_id: "ghost", sequence: 1, reason: "unknown_device"}'
expect_rc 1 "$EDS" "${MQ[@]}" g.jsonl --url "$URL" --json
expect_jq '.refused == {device_id: "ghost", sequence: 1, reason: "unknown_device"}'
"$EDS" sign --key k.key --device dev-1 --chain c1.jsonl --payload pl >/dev/null
tail -1 c1.jsonl | jq -c '.object_ref = "forged" | del(.record_hash)' >f1.jsonl
expect_rc 1 "$EDS" "${MQ[@]}" f1.jsonl --json
expect_jq '.ok == false and .records == 1 and .sent == 0
	and .refused == {device_id: "dev-1", sequence: 26, reason: "bad_signature"}'
expect_rc 1 "$EDS" "${MQ[@]}" f1.jsonl
expect_err "bad_signature"
expect_one_line_err
# the records after the refused one in its batch are stored and counted (dev-2's: duplicates)
cat f1.jsonl c2.jsonl >m.jsonl
expect_rc 1 "$EDS" "${MQ[@]}" m.jsonl --json
expect_jq '.ok == false and .records == 4 and .sent == 3 and .batches == 1
	and .refused == {device_id: "dev-1", sequence: 26, reason: "bad_signature"}'
expect_rc 2 "$EDS" push --mqtt 127.0.0.1:1 c2.jsonl --timeout-ms 1000 --json
expect_one_line_err
expect_jq '.ok == false and .refused == null and .error.code == "io_error"'
expect_rc 2 "$EDS" "${MQ[@]}" --mqtt "127.0.0.1:$BPORT" c2.jsonl
expect_err "--mqtt given twice"
expect_one_line_err
expect_rc 2 "$EDS" "${MQ[@]}" c2.jsonl --timeout-ms 5 --timeout-ms=6 --json
expect_err "--timeout-ms given twice"
expect_no_out

# ---- progress: on a terminal only, for a chain file of 8 MiB or more ----------------
GEN=$EDS_BUILD_DIR/bench/bench_gen_chain
[ -x "$GEN" ] || fail "bench_gen_chain is not built: $GEN"
PUB=$("$GEN" big.jsonl 16500) || fail "bench_gen_chain"
[ "$(stat -c %s big.jsonl)" -gt $((8 * 1024 * 1024)) ] && pass || fail "big.jsonl is under 8 MiB"
"$EDS" device add --ledger L --id bench-0001 --public-key "$PUB" >/dev/null || fail "add bench-0001"
expect_rc 0 "$EDS" "${MQ[@]}" big.jsonl --batch 1000
expect_no_err
expect_out "16500 records read, 0 skipped, 16500 stored, 17 batches"
command -v script >/dev/null || fail "script (bsdutils) is not installed"
# all again (no --url): duplicates
script -qec "'$EDS' push --mqtt 127.0.0.1:$BPORT big.jsonl --batch 1000" /dev/null >tty.out 2>&1 ||
	fail "push --mqtt on a terminal: exit $?"
grep -q "push: .*%.* records .*records/s" tty.out && pass ||
	fail "no progress line on a terminal: $(head -c 300 tty.out)"
grep -q "16500 records read, 0 skipped, 16500 stored" tty.out && pass ||
	fail "terminal run lacks the summary: $(tail -c 300 tty.out)"
script -qec "'$EDS' push --mqtt 127.0.0.1:$BPORT --url $URL big.jsonl --quiet" /dev/null >tty.out 2>&1 ||
	fail "push --mqtt on a terminal: exit $?"
[ ! -s tty.out ] && pass || fail "--quiet on a terminal printed: $(head -c 300 tty.out)"
expect_rc 2 "$EDS" agent --key k.key --device dev-3 --state S --mqtt "127.0.0.1:$BPORT" --headers-first
expect_one_line_err
stop_server main
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "16591 records"

# ---- eds push --mqtt: a payload over 512 KiB is PUT over HTTP (--url), or stops the push --
"$EDS" device add --ledger BL --id big-1 --public-key k.pub >/dev/null || fail "add big-1"
# bsign BYTES: the next record of big-1 in b.jsonl, with a random payload of BYTES in BP
bsign() {
	head -c "$1" /dev/urandom >bigpl
	"$EDS" sign --key k.key --device big-1 --chain b.jsonl --payload bigpl --payload-dir BP \
		>/dev/null || fail "sign big-1"
}
bsign 100
bsign 600000
bsign 100
# a client id of its own: main's session may still hold messages for ledger L
start_server big --ledger BL --mqtt "127.0.0.1:$BPORT" --mqtt-client-id eds-big
wait_log big '"mqtt_connected"' || fail "server big did not connect: $(cat big.log)"
# without --url: the push stops at big-1/2, never publishing it without its payload
expect_rc 2 "$EDS" "${MQ[@]}" b.jsonl --payload-dir BP --batch 1 --json
expect_one_line_err
expect_err "record big-1/2"
expect_err "need --url"
expect_jq '.ok == false and .error.code == "limit" and .refused == null
	and .sent == 1 and .payloads_sent == 1'
[ "$(head_seq big-1)" = 1 ] && pass || fail "published past big-1/1 without --url: head $(head_seq big-1)"
# with --url: it resumes after the head; the record goes by MQTT, its payload by PUT once stored
expect_rc 0 "$EDS" "${MQ[@]}" b.jsonl --url "$URL" --payload-dir BP --json
expect_no_err
expect_jq '.ok and .skipped == 1 and .sent == 2 and .payloads_sent == 2 and .batches == 1'
h=$(sed -n 2p b.jsonl | jq -r .payload_hash)
req PUT "/api/v1/payloads/$h" -H 'Content-Type: application/octet-stream' \
	--data-binary "@BP/${h:0:2}/${h:2}"
expect_code 200 # already stored
req GET /metrics
grep -q '^eds_ledger_pending_payloads 0$' "$T/body" && pass || fail "payloads pending after push --mqtt --url"
stop_server big
expect_rc 0 "$EDS" ledger verify --ledger BL
expect_out "3 payloads checked, 0 pending"
# a PUT the server answers 413 too_large stops the push, naming the record (exit 2)
bsign 600000
start_server small --ledger BL --max-body 500000 --mqtt "127.0.0.1:$BPORT" --mqtt-client-id eds-big
wait_log small '"mqtt_connected"' || fail "server small did not connect: $(cat small.log)"
expect_rc 2 "$EDS" "${MQ[@]}" b.jsonl --url "$URL" --payload-dir BP --json
expect_one_line_err
expect_err "record big-1/4"
expect_err "--max-body"
expect_jq '.ok == false and .error.code == "limit" and .skipped == 3 and .sent == 1
	and .payloads_sent == 0'
# a payload file that is there but cannot be read stops the push (never sent without)
bsign 100
h=$(tail -1 b.jsonl | jq -r .payload_hash)
rm "BP/${h:0:2}/${h:2}" && mkdir "BP/${h:0:2}/${h:2}"
expect_rc 2 "$EDS" "${MQ[@]}" b.jsonl --url "$URL" --payload-dir BP
expect_one_line_err
expect_err "record big-1/5: payload"
[ "$(head_seq big-1)" = 4 ] && pass || fail "big-1/5 was published without its payload"
stop_server small

# ---- eds push --mqtt waits out --device-rate (rate_limited answers) ------------------------
"$EDS" device add --ledger RL --id dev-r --public-key k.pub >/dev/null || fail "add dev-r"
for i in $(seq 1 60); do
	echo "dev-r reading $i" >pl
	"$EDS" sign --key k.key --device dev-r --chain r.jsonl --payload pl >/dev/null
done
head -30 r.jsonl >r30.jsonl
start_server rl --ledger RL --device-rate 50 --device-burst 10 --mqtt "127.0.0.1:$BPORT" \
	--mqtt-client-id eds-rl
wait_log rl '"mqtt_connected"' || fail "server rl did not connect: $(cat rl.log)"
# 30 records in one batch, 10 taken at once: the rest are published again after waits
expect_rc 0 "$EDS" "${MQ[@]}" r30.jsonl --url "$URL" --json
expect_no_err
expect_jq '.ok and .records == 30 and .sent == 30 and .waits >= 1 and .waited_ms >= 1000
	and .refused == null and .error == null'
[ "$(head_seq dev-r)" = 30 ] && pass || fail "dev-r head after a rate-limited push --mqtt: $(head_seq dev-r)"
# the text summary says it waited
expect_rc 0 "$EDS" "${MQ[@]}" r.jsonl --url "$URL" --batch 20
expect_out "60 records read, 30 skipped, 30 stored"
expect_out "waited"
[ "$(head_seq dev-r)" = 60 ] && pass || fail "dev-r head after the second push: $(head_seq dev-r)"
# --retries 0: the first rate_limited answer ends the push, as before (exit 2, no refusal)
for i in $(seq 61 90); do
	echo "dev-r reading $i" >pl
	"$EDS" sign --key k.key --device dev-r --chain r.jsonl --payload pl >/dev/null
done
sleep 0.3 # the bucket is full again: 10 stored, then rate_limited
expect_rc 2 "$EDS" "${MQ[@]}" r.jsonl --url "$URL" --retries 0 --json
expect_one_line_err
expect_err "rate_limited"
expect_jq '.ok == false and .waits == 0 and .refused == null and .error.code == "io_error"
	and .sent >= 1 and .sent < 30'
expect_rc 2 "$EDS" "${MQ[@]}" r.jsonl --retries 101
expect_err "--retries must be 0..100"
expect_one_line_err
rh=$(head_seq dev-r)
[ "$rh" -gt 60 ] && [ "$rh" -lt 90 ] && pass || fail "dev-r head after --retries 0: $rh"
stop_server rl
# every record stored once, in order
expect_rc 0 "$EDS" ledger verify --ledger RL
expect_out "$rh records"

# ---- usage errors: one line, exit 2 ----------------------------------------------------
expect_rc 2 "$EDS" serve --ledger L --mqtt-password secret
expect_one_line_err
expect_rc 2 "$EDS" serve --ledger L --mqtt-cafile x
expect_one_line_err
expect_rc 2 "$EDS" serve --ledger L --listen 127.0.0.1:0 --mqtt nohostport
expect_one_line_err
finish
