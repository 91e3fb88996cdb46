#!/bin/bash
# test_serve_config.sh - what an operator gets wrong in `eds serve`'s
# configuration: every mistake is one clear line on stderr and exit 2,
# before the server listens (and before a ledger is created), never a hang
# or a setting quietly taken as something else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
cd "$T" || exit 1

# bad_conf JSON TEXT: a config file holding JSON is refused, naming TEXT.
bad_conf() {
	printf '%s' "$1" >bad.json
	expect_rc 2 timeout 10 "$EDS" serve --config bad.json --listen 127.0.0.1:0
	expect_err "$2"
	expect_one_line_err
}

# ---- the config file itself -------------------------------------------------------
mkfifo fifo.json # would block the start for ever if opened for reading
expect_rc 2 timeout 10 "$EDS" serve --config fifo.json
expect_err "not a regular file"
expect_one_line_err
mkdir dir.json
expect_rc 2 "$EDS" serve --config dir.json
expect_err "not a regular file"
{ printf '{"ledger": "L", "allow": ['; for _ in $(seq 1 120000); do printf '"127.0.0.1",'; done
  printf '"::1"]}'; } >huge.json
expect_rc 2 "$EDS" serve --config huge.json
expect_err "limit is 1048576"
expect_one_line_err
expect_rc 2 "$EDS" serve --config missing.json
expect_err "missing.json"
bad_conf '' "expected near end of file"
bad_conf '[]' "not a JSON object"
bad_conf '{"ledger": "L", "ledger": "M"}' "duplicate object key"

# a syntax error is located, but the file's text (the MQTT password) is not quoted
printf '{"ledger": "L", "mqtt-password": "hunter2-secret\001"}' >secret.json
expect_rc 2 "$EDS" serve --config secret.json
expect_err "line 1, column"
grep -q hunter "$T/err" && fail "the password is on stderr: $(cat "$T/err")" || pass
printf '{"ledger": "L", "mqtt-password": hunter2}' >secret.json
expect_rc 2 "$EDS" serve --config secret.json
expect_err "invalid token"
grep -q hunter "$T/err" && fail "the password is on stderr: $(cat "$T/err")" || pass

# ---- values of the wrong kind are refused, not turned into text ---------------------
bad_conf '{"ledger": true}' '"ledger": want a string'
bad_conf '{"ledger": 5}' '"ledger": want a string'
bad_conf '{"ledger": ["a", "b"]}' '"ledger": want a string'
bad_conf '{"ledger": {"dir": "L"}}' '"ledger": want a string'
bad_conf '{"ledger": "L", "port-file": 5}' '"port-file": want a string'
bad_conf '{"ledger": "L", "max-body": true}' '"max-body": want a number'
bad_conf '{"ledger": "L", "max-body": -5}' "not '-5'"
bad_conf '{"ledger": "L", "allow": []}' '"allow": want a string or a non-empty list'
bad_conf '{"ledger": "L", "allow": ["127.0.0.1", 5]}' '"allow": want a string or a non-empty list'
bad_conf '{"ledger": "L", "durable": 1}' '"durable": want true, false'
# an empty string is refused as an empty flag is, naming the key
bad_conf '{"ledger": ""}' '"ledger" is empty'
bad_conf '{"ledger": "L", "log": ""}' '"log" is empty'
[ ! -e yes ] && [ ! -e 5 ] && [ ! -e a,b ] && [ ! -e L ] && pass ||
	fail "a refused config created a ledger: $(ls)"

# ---- limits flags -------------------------------------------------------------------
# bad_flag TEXT FLAGS...: refused before listening, one line naming TEXT.
bad_flag() {
	local want=$1; shift
	expect_rc 2 timeout 10 "$EDS" serve --ledger L --listen 127.0.0.1:0 "$@"
	expect_err "$want"
	expect_one_line_err
}
for f in max-body max-batch max-connections timeout max-skew-ms commit-batch payload-flush-ms; do
	for v in 0 -1 1k 1.5 99999999999999999999; do bad_flag "--$f must be a whole number" "--$f" "$v"; done
done
bad_flag "--max-batch must be a whole number in 1..1000" --max-batch 1001
for f in source-rate device-rate; do
	for v in 0 -1 x nan inf 1e10; do bad_flag "--$f must be a positive number" "--$f" "$v"; done
done
bad_flag "--source-burst needs --source-rate" --source-burst 5
bad_flag "--device-burst needs --device-rate" --device-burst 5
bad_flag "--source-burst must be at least 1" --source-rate 1 --source-burst 0.5
bad_flag "--device-burst must be at least 1" --device-rate 1 --device-burst 0.5
bad_flag "--allow lists no address" --allow ' '
# an empty entry after the last comma (an unset variable) as between two
bad_flag "--allow: allow entry '': not an IP address" --allow '127.0.0.1,'
printf '{"ledger": "L", "allow": ""}' >bad.json
expect_rc 2 "$EDS" serve --config bad.json
expect_err "--allow lists no address"

# a log or port file that cannot be written says why
mkdir logdir
bad_flag "--log logdir: cannot open: Is a directory" --log logdir
bad_flag "No such file or directory" --log nodir/x.log

# ---- flags: given twice, empty, config-only -----------------------------------------
bad_flag "--max-body given twice" --max-body 5000 --max-body 7000
bad_flag "--ledger given twice" --ledger M
bad_flag "--allow is empty" --allow ''
bad_flag "--max-body is empty" --max-body=
echo '{"ledger": "L"}' >c1.json
bad_flag "--config given twice" --config c1.json --config c1.json
for arg in "--mqtt-password s3cret" "--mqtt-password=s3cret" "--mqtt-username=bob"; do
	# shellcheck disable=SC2086 # the flag and its value are two words, or one
	bad_flag "is not a flag (every user can read a command line)" $arg
	grep -q s3cret "$T/err" && fail "the password is on stderr: $(cat "$T/err")" || pass
done
# MQTT TLS files are named by flag before the ledger is opened (libmosquitto
# said "MQTT TLS files (...): Invalid function arguments provided.")
bad_flag "eds serve: --mqtt-cafile: nowhere.pem: No such file or directory" \
	--mqtt 127.0.0.1:1 --mqtt-cafile nowhere.pem
bad_flag "--mqtt-cert and --mqtt-key need --mqtt-cafile" --mqtt 127.0.0.1:1 --mqtt-key x
bad_flag "--mqtt-inflight must be 1..100000" --mqtt 127.0.0.1:1 --mqtt-inflight 0
# a bad listen or broker address is refused before the ledger is opened: it
# used to create a new, empty ledger (ledger.sqlite, payloads/) and only then fail
for addr in localhost:0 127.0.0.1:99999 127.0.0.1; do
	expect_rc 2 timeout 10 "$EDS" serve --ledger L --listen $addr
	expect_err "eds serve: --listen: listen address '$addr': "
	expect_one_line_err
done
bad_flag "--mqtt: MQTT broker address '127.0.0.1': want HOST:PORT" --mqtt 127.0.0.1
[ ! -e L ] && pass || fail "a refused flag created the ledger"
# the port file is known to be unwritable only once the server listens (on
# the ledger, so after the check above): named as given, not by its
# temporary name, and no "listening" is logged for a server that then exits
bad_flag "--port-file: nodir/port: No such file or directory" --port-file nodir/port
grep -q '"listening"' "$T/err" && fail "listening logged: $(cat "$T/err")" || pass

# the kinds each key takes: strings everywhere, numbers, booleans and lists where they fit
"$EDS" keygen --out k >/dev/null
"$EDS" device add --ledger L --id lift-01 --public-key k.pub >/dev/null
cat >good.json <<'EOF'
{"ledger": "L", "allow": ["127.0.0.1", "::1"], "max-body": 1000, "max-batch": "10",
 "durable": false, "source-rate": 2.5, "commit-wait-us": 0}
EOF
start_server good --config good.json
req GET /healthz; expect_code 200
grep -q '"durable":false' "$T/good.log" && pass || fail "durable: false not taken: $(cat "$T/good.log")"
head -c 2000 /dev/zero >big; req POST /api/v1/records --data-binary @big; expect_code 413 too_large
stop_server good

finish
