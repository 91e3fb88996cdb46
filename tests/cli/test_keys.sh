#!/bin/bash
# test_keys.sh - `eds keygen` and `eds pubkey`: files, modes, refusals, and
# interoperability with openssl in both directions.
. "$(dirname "$0")/lib.sh"
need_cmd openssl

SEED01=0101010101010101010101010101010101010101010101010101010101010101
PK01=8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c
W=$T/w
mkdir -p "$W"

# expect_stdout_is TEXT: stdout of the last run is exactly TEXT (one line).
expect_stdout_is() {
	if [ "$(cat "$T/out")" = "$1" ]; then pass; else
		fail "stdout is '$(head -c 200 "$T/out")', want '$1'"; fi
}

# expect_mode FILE MODE: permission bits as `stat -c %a` prints them.
expect_mode() {
	local got; got=$(stat -c %a "$1")
	if [ "$got" = "$2" ]; then pass; else fail "$1 has mode $got, want $2"; fi
}

# check DESCRIPTION CMD...: the command must succeed.
check() {
	local what=$1; shift
	if "$@"; then pass; else fail "$what"; fi
}

# The raw 32 public key bytes of an openssl key, as hex (xxd, else od).
raw_pub_hex() {
	if command -v xxd >/dev/null 2>&1; then
		openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | xxd -p -c 64
	else
		openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | od -An -tx1 -v | tr -d ' \n'
	fi
}

# --- help ---------------------------------------------------------------------
for cmd in keygen pubkey; do
	expect_rc 0 "$EDS" $cmd --help
	expect_out "usage: eds $cmd"
	expect_out "Exit codes"
	expect_out "  2  "
done
expect_rc 0 "$EDS" keygen -h
expect_out "--seed HEX"

# --- keygen from a known seed ---------------------------------------------------
expect_rc 0 "$EDS" keygen --out "$W/a" --seed $SEED01
expect_stdout_is $PK01
expect_mode "$W/a.key" 600
expect_mode "$W/a.pub" 644
check "a.key starts with the PKCS#8 label" grep -qx -- "-----BEGIN PRIVATE KEY-----" "$W/a.key"
check "a.pub starts with the SPKI label" grep -qx -- "-----BEGIN PUBLIC KEY-----" "$W/a.pub"
expect_rc 0 "$EDS" pubkey "$W/a.key"
expect_stdout_is $PK01
expect_rc 0 "$EDS" pubkey "$W/a.pub"
expect_stdout_is $PK01
# The modes hold whatever the umask.
(umask 000 && "$EDS" keygen --out "$W/u0" >/dev/null)
expect_mode "$W/u0.key" 600
expect_mode "$W/u0.pub" 644
(umask 077 && "$EDS" keygen --out "$W/u7" >/dev/null)
expect_mode "$W/u7.key" 600
expect_mode "$W/u7.pub" 644

# --- keygen from randomness ----------------------------------------------------
expect_rc 0 "$EDS" keygen --out "$W/r"
printed=$(cat "$T/out")
check "printed key is 64 lowercase hex" grep -Eqx '[0-9a-f]{64}' "$T/out"
expect_rc 0 "$EDS" pubkey "$W/r.key"
expect_stdout_is "$printed"
expect_rc 0 "$EDS" pubkey "$W/r.pub"
expect_stdout_is "$printed"
expect_rc 0 "$EDS" keygen --out="$W/r2"
check "two random keys differ" test "$(cat "$T/out")" != "$printed"

# --- never overwrites --------------------------------------------------------------
cp "$W/a.key" "$W/a.key.before"
expect_rc 2 "$EDS" keygen --out "$W/a"
expect_err "already exists, refusing to overwrite it"
expect_one_line_err
check "a.key unchanged" cmp -s "$W/a.key" "$W/a.key.before"
# Only the .pub exists: refused before a .key is made.
cp "$W/a.pub" "$W/p.pub"
expect_rc 2 "$EDS" keygen --out "$W/p"
expect_err "p.pub: already exists"
check "no p.key left behind" test ! -e "$W/p.key"
# Only the .key exists.
cp "$W/a.key" "$W/q.key"
expect_rc 2 "$EDS" keygen --out "$W/q"
expect_err "q.key: already exists"
check "no q.pub made" test ! -e "$W/q.pub"
expect_rc 2 "$EDS" keygen --out "$W/no/such/dir/k"
expect_one_line_err

# --- openssl's keys read by eds ------------------------------------------------------
openssl genpkey -algorithm ed25519 -out "$W/k.pem" 2>/dev/null
chmod 600 "$W/k.pem"
openssl pkey -in "$W/k.pem" -pubout -out "$W/k.pub.pem"
raw=$(raw_pub_hex "$W/k.pem")
check "openssl raw key is 64 hex" test ${#raw} -eq 64
expect_rc 0 "$EDS" pubkey "$W/k.pem"
expect_stdout_is "$raw"
expect_rc 0 "$EDS" pubkey "$W/k.pub.pem"
expect_stdout_is "$raw"
expect_rc 0 "$EDS" pubkey "$raw"
expect_stdout_is "$raw"
# CRLF line ends, as a file edited on Windows has them.
sed 's/$/\r/' "$W/k.pem" >"$W/k-crlf.pem"
chmod 600 "$W/k-crlf.pem"
expect_rc 0 "$EDS" pubkey "$W/k-crlf.pem"
expect_stdout_is "$raw"

# --- eds's keys read by openssl -------------------------------------------------------
check "openssl reads eds's secret key" openssl pkey -in "$W/a.key" -noout
check "openssl reads eds's public key" openssl pkey -pubin -in "$W/a.pub" -noout
openssl pkey -in "$W/a.key" -pubout -out "$W/a.pub.openssl"
check "eds's .pub is byte-equal to what openssl derives" cmp -s "$W/a.pub" "$W/a.pub.openssl"
openssl pkey -in "$W/a.key" -out "$W/a.key.openssl"
check "eds's .key is byte-equal to openssl's rewrite" cmp -s "$W/a.key" "$W/a.key.openssl"
check "openssl finds the same public key" test "$(raw_pub_hex "$W/a.key")" = $PK01
openssl pkey -in "$W/r.key" -pubout -out "$W/r.pub.openssl"
check "random key: .pub equals openssl's" cmp -s "$W/r.pub" "$W/r.pub.openssl"

# --- edgesentry-rs key JSON ----------------------------------------------------------
printf '{\n  "private_key_hex": "%s",\n  "public_key_hex": "%s"\n}' $SEED01 $PK01 >"$W/legacy.json"
chmod 600 "$W/legacy.json"
expect_rc 0 "$EDS" pubkey "$W/legacy.json"
expect_stdout_is $PK01

# --- refusals -----------------------------------------------------------------------
chmod 640 "$W/a.key"
expect_rc 2 "$EDS" pubkey "$W/a.key"
expect_err "chmod 600 $W/a.key"
expect_one_line_err
chmod 604 "$W/legacy.json"
expect_rc 2 "$EDS" pubkey "$W/legacy.json"
expect_err "chmod 600"
expect_rc 2 "$EDS" pubkey zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz
expect_err "no such file, and not 64 hex characters"
expect_one_line_err
expect_rc 2 "$EDS" pubkey 8a88e3dd
expect_err "8a88e3dd: no such file, and not 64 hex characters"
expect_one_line_err
expect_rc 2 "$EDS" pubkey 0100000000000000000000000000000000000000000000000000000000000000
expect_err "not a valid Ed25519 point"
expect_rc 2 "$EDS" pubkey "$W/missing.pem"
expect_err "missing.pem: no such file"
expect_one_line_err
printf -- '-----BEGIN PRIVATE KEY-----\nthis is not base64!\n-----END PRIVATE KEY-----\n' >"$W/garbage.pem"
chmod 600 "$W/garbage.pem"
expect_rc 2 "$EDS" pubkey "$W/garbage.pem"
expect_err "garbage.pem: PEM line 2, column 5: ' ' is not a base64 character"
expect_one_line_err
openssl genpkey -algorithm ed448 -out "$W/ed448.pem" 2>/dev/null
chmod 600 "$W/ed448.pem"
expect_rc 2 "$EDS" pubkey "$W/ed448.pem"
expect_err "not an Ed25519 key"
expect_one_line_err
head -c 5000 /dev/zero >"$W/big.pem"
expect_rc 2 "$EDS" pubkey "$W/big.pem"
expect_err "limit is 4096"

# --- bad seeds create nothing --------------------------------------------------------
expect_rc 2 "$EDS" keygen --out "$W/s1" --seed zz01010101010101010101010101010101010101010101010101010101010101
expect_err "--seed: must be hex digits only"
expect_one_line_err
expect_rc 2 "$EDS" keygen --out "$W/s2" --seed 0101
expect_err "--seed: must be 64 hex characters (a 32-byte seed), got 4"
expect_one_line_err
check "no files from bad seeds" test ! -e "$W/s1.key" -a ! -e "$W/s1.pub" -a ! -e "$W/s2.key"

# --- usage errors ---------------------------------------------------------------------
expect_rc 2 "$EDS" keygen
expect_err "--out PREFIX is required"
expect_one_line_err
expect_rc 2 "$EDS" keygen --out
expect_err "--out needs a value"
expect_rc 2 "$EDS" keygen --out "$W/x" --force
expect_err "unexpected argument '--force'"
expect_one_line_err
expect_rc 2 "$EDS" pubkey
expect_err "KEY is required"
expect_one_line_err
expect_rc 2 "$EDS" pubkey "$W/a.pub" "$W/r.pub"
expect_err "exactly one KEY expected"

finish
