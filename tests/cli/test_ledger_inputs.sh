#!/bin/bash
# test_ledger_inputs.sh - `eds ledger` and `eds device` on bad inputs and
# outputs: a FIFO, a foreign SQLite database and random bytes as
# ledger.sqlite (a clear error, nothing hangs, the foreign file untouched);
# a damaged page of the operation log found by verify's database check;
# an export that fails midway leaves no records.jsonl, names the bad record
# and does not touch an earlier registry.json; --out inside the ledger is
# refused; a report that cannot reach stdout (/dev/full) is exit 2, and a
# device list that fails halfway prints no part of the list on stdout; flags
# given twice are refused, and a flag's value of -h is a value, not help;
# device values are checked before a ledger
# directory is created; a revocation at or below the head is noted, and
# verify then names the chain's failure without a false head mismatch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
cd "$T" || exit 1

ledger_through_server 3 dev-a dev-b

# ---- what is not a ledger: one clear line, exit 2, never a hang ------------------
mkdir FIFO && mkfifo FIFO/ledger.sqlite
for action in "ledger verify" "ledger backup --out FB" "device list"; do
	# shellcheck disable=SC2086
	expect_rc 2 timeout 10 "$EDS" $action --ledger FIFO
	expect_err "FIFO/ledger.sqlite: not a regular file"
done
mkdir FOREIGN && sqlite3 FOREIGN/ledger.sqlite "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
sum=$(sha256sum FOREIGN/ledger.sqlite)
for action in "ledger recover" "ledger verify" "device list"; do
	# shellcheck disable=SC2086
	expect_rc 2 "$EDS" $action --ledger FOREIGN
	expect_err "a SQLite database of something else, not a ledger"
done
[ "$(sha256sum FOREIGN/ledger.sqlite)" = "$sum" ] && [ ! -e FOREIGN/ledger.sqlite-wal ] && pass ||
	fail "the foreign database was changed"
mkdir NOISE && head -c 100000 /dev/urandom >NOISE/ledger.sqlite
expect_rc 2 "$EDS" ledger verify --ledger NOISE
expect_err "file is not a database"
expect_one_line_err

# damage where no record walk reads (a leaf page of the operation log): verify
# finds it with the database's own check, and still checks every record
cp -a L DMG
sqlite3 DMG/ledger.sqlite "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c
	WHERE i < 2000) INSERT INTO oplog(time_ms, source, device_id, sequence, decision, reason,
	record_hash) SELECT i, 'x', 'dev-a', i, 'rejected', 'fork', zeroblob(32) FROM c;
	PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || fail "sqlite3 oplog rows"
page=$(sqlite3 DMG/ledger.sqlite \
	"SELECT pageno FROM dbstat WHERE name = 'oplog' AND pagetype = 'leaf' LIMIT 1 OFFSET 5")
if [ -n "$page" ]; then
	printf '\r\377\377\377\377\377\377\377' |
		dd of=DMG/ledger.sqlite bs=1 seek=$(((page - 1) * 4096)) conv=notrunc 2>/dev/null
	expect_rc 1 "$EDS" ledger verify --ledger DMG
	expect_err "eds ledger: (database): DMG/ledger.sqlite: damaged: Page $page: "
	expect_err "1 failures in 6 records"
	expect_rc 1 "$EDS" ledger verify --ledger DMG --json
	expect_jq '.failures[0].device_id == "(database)" and .failures[0].reason == "database_damaged"
		and .records == 6 and .signatures_checked == 6'
else
	echo "note: this sqlite3 has no dbstat table; the damaged-page case is skipped"
fi

# ---- export: all or nothing, and the bad record named ------------------------------
cp -a L BAD
sqlite3 BAD/ledger.sqlite \
	"UPDATE records SET device_id = 'dev-b!' WHERE device_id = 'dev-b' AND sequence = 3" ||
	fail "sqlite3"
mkdir OLD && echo '{"old":1}' >OLD/registry.json
expect_rc 2 "$EDS" ledger export --ledger BAD --out OLD
expect_err "dev-b!/3: "
expect_one_line_err
[ ! -e OLD/records.jsonl ] && [ ! -e OLD/records.jsonl.partial ] && pass ||
	fail "a failed export left records: $(ls OLD)"
[ "$(cat OLD/registry.json)" = '{"old":1}' ] && pass || fail "a failed export replaced registry.json"
# an earlier export is refused before anything is written
expect_rc 0 "$EDS" ledger export --ledger L --out E1
cp E1/registry.json reg.before
echo '{"changed":1}' >E1/registry.json
expect_rc 2 "$EDS" ledger export --ledger L --out E1
expect_err "E1/records.jsonl: already exists"
[ "$(cat E1/registry.json)" = '{"changed":1}' ] && pass || fail "a refused export wrote registry.json"
# --out a file: named as such, not as OUT/records.jsonl.partial
echo x >afile
expect_rc 2 "$EDS" ledger export --ledger L --out afile
expect_one_line_err
expect_err "eds ledger: export: afile: not a directory"
# the copy goes elsewhere: never into the ledger or below it
for out in L L/ L/audit ./L/payloads "$T/L/x"; do
	expect_rc 2 "$EDS" ledger export --ledger L --out "$out"
	expect_err "is inside the ledger"
done
expect_rc 2 "$EDS" ledger backup --ledger "$T/L" --out L/backup
expect_err "is inside the ledger"
[ ! -e L/records.jsonl ] && [ ! -e L/audit ] && [ ! -e L/backup ] && pass ||
	fail "something was written into the ledger: $(ls L)"

# a backup names what an interrupted one left beside its target
mkdir BK.partial-Ab12Cd
expect_rc 0 "$EDS" ledger backup --ledger L --out BK
expect_err "note: ./BK.partial-Ab12Cd is left from a backup that did not finish"
[ -d BK.partial-Ab12Cd ] && [ -f BK/ledger.sqlite ] && pass || fail "backup beside a leftover"

# ---- a report that cannot be written is not a success -------------------------------
for action in "ledger verify --ledger L --json" "ledger verify --ledger L" "device list --ledger L"; do
	# shellcheck disable=SC2086
	"$EDS" $action >/dev/full 2>"$T/err"
	rc=$?
	[ "$rc" = 2 ] && grep -q "cannot write to standard output" "$T/err" && pass ||
		fail "$action >/dev/full: exit $rc, $(cat "$T/err")"
done

# a device list that fails halfway prints no half JSON object: only the error's
# (dev-a, read before the failure, is not in it)
cp -a L KEYS
sqlite3 KEYS/ledger.sqlite "UPDATE device_keys SET public_key = x'0102' WHERE device_id = 'dev-b'"
expect_rc 2 "$EDS" device list --ledger KEYS --json
expect_err "want 32 bytes"
expect_one_line_err
expect_jq 'keys == ["error", "ok"] and .ok == false and (.error | test("want 32 bytes"))'

# ---- flags given twice; device values checked before anything is created ------------
expect_rc 2 "$EDS" ledger backup --ledger L --out ''
expect_err "--out is empty"
expect_one_line_err
expect_rc 2 "$EDS" device list --ledger=
expect_err "--ledger is empty"
expect_rc 2 "$EDS" ledger frob --ledger L
expect_err "unknown action 'frob'"
expect_rc 2 "$EDS" device frob --ledger L
expect_err "unknown action 'frob'"
expect_one_line_err
expect_rc 2 "$EDS" ledger verify --ledger nowhere --ledger L
expect_err "--ledger given twice"
expect_rc 2 "$EDS" device add --ledger L --id one --id two --public-key k.pub
expect_err "--id given twice"
expect_rc 2 "$EDS" device add --ledger NEWL --id 'bad id' --public-key k.pub
expect_err "--id: device_id"
expect_rc 2 "$EDS" device add --ledger NEWL --id ok --public-key missing.pub
expect_err "missing.pub"
expect_rc 2 "$EDS" device rotate --ledger NEWL --id ok --public-key k.pub --from-sequence 0
[ ! -e NEWL ] && pass || fail "a refused device add created NEWL"

# a flag's value is never taken for help: "--id -h" names a device (a valid id)
expect_rc 0 "$EDS" device add --ledger L --id -h --public-key k.pub
expect_no_out
expect_rc 0 "$EDS" device list --ledger L
expect_out "-h 0 -"
expect_rc 2 "$EDS" device revoke --ledger L --id --help
expect_err "--help"
expect_rc 0 "$EDS" device list --ledger L -h
expect_out "usage: eds device add"
expect_rc 0 "$EDS" ledger verify --ledger L --help
expect_out "usage: eds ledger verify"

# ---- a revocation reaching back: noted, and verify names the chain failure only -----
cp -a L REV
expect_rc 0 "$EDS" device revoke --ledger REV --id dev-b --from-sequence 2
expect_err "dev-b's records 2..3 are already stored"
expect_rc 1 "$EDS" ledger verify --ledger REV
expect_err "dev-b/2: revoked_device"
expect_err "1 failures in 6 records"
grep -q "stored head" "$T/err" && fail "a false head mismatch: $(cat "$T/err")" || pass
# a revocation after the head is silent
expect_rc 0 "$EDS" device revoke --ledger L --id dev-a
expect_no_err
finish
