#!/bin/bash
# test_serve_tls.sh - HTTPS with certificates made by openssl here: TLS 1.2
# and 1.3 accepted, 1.1 refused; with --tls-client-ca a client must present a
# certificate from that CA whose subject CN is the record's device_id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd openssl
cd "$T" || exit 1

ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $*"; }
ossl req -x509 -newkey ed25519 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca
mkcert() { # NAME CN: NAME.key + NAME.pem signed by the CA
	ossl req -newkey ed25519 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$1.ext"
	ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem"
}
mkcert server localhost
mkcert lift01 lift-01
mkcert other lift-02
# a client certificate from a CA the server does not trust
ossl req -x509 -newkey ed25519 -nodes -keyout rogue.key -out rogue.pem -days 2 -subj /CN=lift-01

"$EDS" keygen --out k >/dev/null
echo "r1" >p1; echo "r2" >p2
"$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p1 --payload-dir P >/dev/null
"$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p2 --payload-dir P >/dev/null
"$EDS" device add --ledger L --id lift-01 --public-key k.pub >/dev/null

start_server tls --ledger L --tls-cert server.pem --tls-key server.key
URL="https://127.0.0.1:$PORT"
req GET /healthz --cacert ca.pem --tlsv1.3; expect_code 200
req GET /healthz --cacert ca.pem --tlsv1.2 --tls-max 1.2; expect_code 200
req GET /healthz --cacert ca.pem --tlsv1.1 --tls-max 1.1; [ "$CODE" = 000 ] && pass || fail "TLS 1.1 answered $CODE"
req GET /healthz; [ "$CODE" = 000 ] && pass || fail "untrusted server certificate accepted"
# a server certificate refused says why (libcurl's detail, not only "SSL peer
# certificate or SSH remote key was not OK"): the name it lacks, the issuer unknown
mkcert noname elsewhere.example
sed -i 's/IP:127.0.0.1,DNS:localhost/DNS:elsewhere.example/' noname.ext
ossl x509 -req -in noname.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile noname.ext -out noname.pem
stop_server tls
start_server tls --ledger L --tls-cert noname.pem --tls-key noname.key
URL="https://127.0.0.1:$PORT"
expect_rc 2 "$EDS" push --url "$URL" c.jsonl --cacert ca.pem
expect_one_line_err
expect_err "head: SSL: no alternative certificate subject name matches target host name '127.0.0.1'"
expect_rc 2 "$EDS" push --url "$URL" c.jsonl
expect_err "head: SSL certificate problem: unable to get local issuer certificate"
stop_server tls
start_server tls --ledger L --tls-cert server.pem --tls-key server.key
URL="https://127.0.0.1:$PORT"
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P --cacert ca.pem
expect_out "2 accepted"
stop_server tls

start_server mtls --ledger L --tls-cert server.pem --tls-key server.key --tls-client-ca ca.pem
URL="https://127.0.0.1:$PORT"
req GET /api/v1/devices/lift-01/head --cacert ca.pem; expect_code 403 forbidden_source
req GET /api/v1/devices/lift-01/head --cacert ca.pem --cert rogue.pem --key rogue.key
[ "$CODE" = 403 ] || [ "$CODE" = 000 ] && pass || fail "rogue client certificate answered $CODE"
# a certificate naming another device is refused for lift-01's records
"$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p1 --payload-dir P >/dev/null
expect_rc 1 "$EDS" push --url "$URL" c.jsonl --payload-dir P --cacert ca.pem --cert other.pem --key other.key
expect_err "identity_mismatch"
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P --cacert ca.pem --cert lift01.pem --key lift01.key
expect_out "2 skipped, 1 accepted"
# an expired certificate is called expired (not "not signed"); one with two CNs
# has no single identity and is refused
ossl req -newkey ed25519 -nodes -keyout late.key -out late.csr -subj /CN=lift-01
ossl x509 -req -in late.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 -out late.pem
req GET /api/v1/devices/lift-01/head --cacert ca.pem --cert late.pem --key late.key
expect_code 403 forbidden_source
grep -q "has expired" "$T/body" && pass || fail "expired client certificate: $(cat "$T/body")"
ossl req -newkey ed25519 -nodes -keyout two.key -out two.csr -subj /CN=lift-02/CN=lift-01
ossl x509 -req -in two.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out two.pem
req GET /api/v1/devices/lift-01/head --cacert ca.pem --cert two.pem --key two.key
expect_code 403 forbidden_source
grep -q "more than one subject CN" "$T/body" && pass || fail "two CNs: $(cat "$T/body")"
stop_server mtls
expect_rc 2 "$EDS" serve --ledger L --tls-cert server.pem
expect_one_line_err

# Bad TLS files are named, one line, exit 2, before a ledger is created (MHD
# alone only fails to start, which read as "address in use").
ossl req -newkey ed25519 -nodes -keyout old.key -out old.csr -subj /CN=localhost
ossl x509 -req -in old.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 -out old.pem
ossl pkey -in server.key -out locked.key -aes256 -passout pass:secret
echo "not a PEM file" >junk.pem
bad_tls() { # TEXT ARGS...: refused, naming TEXT
	local want=$1; shift
	expect_rc 2 "$EDS" serve --ledger NEW --listen 127.0.0.1:0 "$@"
	expect_err "$want"
	expect_one_line_err
}
bad_tls "a certificate needs its key" --tls-cert server.pem
bad_tls "need --tls-cert" --tls-key server.key
bad_tls "need --tls-cert" --tls-client-ca ca.pem
bad_tls "no PEM certificate in the certificate file" --tls-cert junk.pem --tls-key server.key
bad_tls "no PEM certificate in the certificate file" --tls-cert server.key --tls-key server.key
bad_tls "no PEM private key" --tls-cert server.pem --tls-key junk.pem
bad_tls "is not the certificate's" --tls-cert server.pem --tls-key lift01.key
bad_tls "is encrypted" --tls-cert server.pem --tls-key locked.key
bad_tls "expired on" --tls-cert old.pem --tls-key old.key
bad_tls "no PEM certificate in the client CA file" --tls-cert server.pem --tls-key server.key \
	--tls-client-ca junk.pem
bad_tls "no PEM certificate in the client CA file" --tls-cert server.pem --tls-key server.key \
	--tls-client-ca server.key
bad_tls "eds serve: --tls-key: nowhere.key: No such file or directory" --tls-cert server.pem \
	--tls-key nowhere.key
bad_tls "eds serve: --tls-client-ca: .: not a regular file" --tls-cert server.pem \
	--tls-key server.key --tls-client-ca .
[ ! -e NEW ] && pass || fail "a refused TLS setting created the ledger"
expect_rc 0 "$EDS" ledger verify --ledger L
finish
