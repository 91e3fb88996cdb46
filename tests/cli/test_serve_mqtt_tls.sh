#!/bin/bash
# test_serve_mqtt_tls.sh - MQTTS: a mosquitto broker with TLS (certificates
# made here with openssl) and a password file.  eds serve connects with the
# CA file and takes its broker credentials from the config file; the stock
# mosquitto_pub and `eds push --mqtt` (credentials from the environment)
# deliver records; the broker certificate's host name is checked; bad
# credentials are refused; eds push --mqtt resumes after the server's head.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
. "$(dirname "$0")/mqtt_lib.sh"
need_cmd openssl
need_cmd mosquitto_passwd
cd "$T" || exit 1

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key && key srv.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=eds-test-ca 2>/dev/null
openssl req -new -key srv.key -out srv.csr -subj /CN=localhost 2>/dev/null
echo 'subjectAltName=DNS:localhost' >ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
	-extfile ext 2>/dev/null || fail "openssl"
mosquitto_passwd -c -b pw eds server-secret 2>/dev/null
mosquitto_passwd -b pw dev device-secret 2>/dev/null
chmod 600 pw
cat >tls.conf <<CONF
allow_anonymous false
password_file $T/pw
cafile $T/ca.pem
certfile $T/srv.pem
keyfile $T/srv.key
tls_version tlsv1.2
CONF

"$EDS" keygen --out k >/dev/null
"$EDS" device add --ledger L --id dev-0 --public-key k.pub >/dev/null || fail "add"
for i in $(seq 1 12); do
	echo "reading $i" >pl
	"$EDS" sign --key k.key --device dev-0 --chain c0.jsonl --payload pl --payload-dir P >/dev/null
done
sed -n 3,12p c0.jsonl >tail.jsonl
pub() {
	mosquitto_pub -h localhost -p "$BPORT" --cafile ca.pem -u dev -P device-secret -q 1 \
		-t "edgesentry/v1/records/$1" -s
}

start_broker tls.conf
start_answers -h localhost --cafile ca.pem -u dev -P device-secret
echo '{"mqtt-username": "eds", "mqtt-password": "server-secret"}' >serve.json
start_server main --ledger L --config serve.json --mqtt "localhost:$BPORT" --mqtt-cafile ca.pem
wait_log main '"mqtt_connected"' && pass || fail "no TLS connection: $(cat main.log)"

# the stock client over TLS: accepted and answered
item "$(sed -n 1p c0.jsonl)" | pub dev-0 || fail "mosquitto_pub over TLS"
wait_lines answers 1 || fail "no answer"
[ "$(answers dev-0 | jq -r '"\(.status) \(.sequence)"')" = "accepted 1" ] && pass || fail "answer: $(cat answers)"

# eds push --mqtt: from the first record without --url (record 1 is a duplicate) ...
: >c2.jsonl; sed -n 1,2p c0.jsonl >c2.jsonl
EDS_MQTT_USERNAME=dev EDS_MQTT_PASSWORD=device-secret \
	expect_rc 0 "$EDS" push --mqtt "localhost:$BPORT" --mqtt-cafile ca.pem c2.jsonl --payload-dir P
expect_out "2 records read, 0 skipped, 2 stored"
# ... and after the server's head with --url
EDS_MQTT_USERNAME=dev EDS_MQTT_PASSWORD=device-secret \
	expect_rc 0 "$EDS" push --mqtt "localhost:$BPORT" --mqtt-cafile ca.pem --url "$URL" c0.jsonl \
	--payload-dir P --batch 4
expect_out "12 records read, 2 skipped, 10 stored, 3 batches"
[ "$(head_seq dev-0)" = 12 ] && pass || fail "head after push: $(head_seq dev-0)"

# the broker certificate names localhost, not 127.0.0.1: refused
EDS_MQTT_USERNAME=dev EDS_MQTT_PASSWORD=device-secret \
	expect_rc 2 "$EDS" push --mqtt "127.0.0.1:$BPORT" --mqtt-cafile ca.pem c2.jsonl --timeout-ms 3000
expect_one_line_err
# a wrong password: refused by the broker
EDS_MQTT_USERNAME=dev EDS_MQTT_PASSWORD=wrong \
	expect_rc 2 "$EDS" push --mqtt "localhost:$BPORT" --mqtt-cafile ca.pem c2.jsonl --timeout-ms 3000
expect_one_line_err
# without the CA file the TLS listener does not talk to a plain client
EDS_MQTT_USERNAME=dev EDS_MQTT_PASSWORD=device-secret \
	expect_rc 2 "$EDS" push --mqtt "localhost:$BPORT" c2.jsonl --timeout-ms 3000
expect_one_line_err
# the server with a wrong password keeps retrying and says why
echo '{"mqtt-username": "eds", "mqtt-password": "wrong"}' >bad.json
start_server bad --ledger L2 --config bad.json --mqtt "localhost:$BPORT" --mqtt-cafile ca.pem
wait_log bad '"mqtt_refused"' && pass || fail "refusal not logged: $(cat bad.log)"
wait_log bad '"mqtt_refused"' 2 && pass || fail "no retry after the refusal: $(cat bad.log)"
stop_server bad
stop_server main
expect_rc 0 "$EDS" ledger verify --ledger L
expect_out "12 records, 12 signatures, 12 payloads checked, 0 pending"
finish
