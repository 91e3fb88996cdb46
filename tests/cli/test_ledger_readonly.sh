#!/bin/bash
# test_ledger_readonly.sh - `eds ledger verify`, `eds ledger export`,
# `eds ledger backup` and `eds device list` open the ledger read-only: on a `chmod -R a-w` copy and
# (where `unshare -m` may bind-mount it read-only) on a really read-only
# one, every file keeps its bytes and mtime and no -wal/-shm appears; a
# schema 1 ledger is read and not upgraded; a directory name with space,
# '?', '#', '%' and '&' (the SQLite URI must escape them); beside a live
# `eds serve` (a -wal file) verify sees the records pushed so far; and a
# copy with -wal but no -shm on read-only media fails with a message saying
# an empty -shm suffices, which it does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd sqlite3
need_cmd sha256sum
cd "$T" || exit 1

# snapshot DIR: the bytes, size and mtime of every file and directory below DIR.
snapshot() {
	(cd "$1" && find . -printf '%p %y %s %T@\n' | sort &&
		find . -type f -exec sha256sum {} + | sort)
}
# expect_same DIR BEFORE-FILE WHAT: DIR is as BEFORE-FILE recorded it.
expect_same() {
	snapshot "$1" >"$T/after"
	if diff -u "$2" "$T/after" >"$T/diff"; then pass; else
		fail "$3 changed $1:"; sed 's/^/    /' "$T/diff" | head -10 >&2; fi
}
# expect_no_side_files DIR: no ledger.sqlite-wal or -shm in DIR.
expect_no_side_files() {
	if [ ! -e "$1/ledger.sqlite-wal" ] && [ ! -e "$1/ledger.sqlite-shm" ]; then pass; else
		fail "$1: a -wal or -shm file appeared: $(ls "$1")"; fi
}
# readers DIR OUT: verify, export (to OUT), backup (to OUT.backup, which
# verifies), device list and list --json on DIR, each expected to pass and
# to report the 2 devices and 6 records.
readers() {
	expect_rc 0 "$EDS" ledger verify --ledger "$1"
	expect_out "ledger OK: 2 devices, 6 records, 6 signatures, 6 payloads checked, 0 pending"
	expect_rc 0 "$EDS" ledger verify --ledger "$1" --json --threads 1
	expect_out '"valid":true,"records":6'
	expect_rc 0 "$EDS" ledger export --ledger "$1" --out "$2"
	expect_out "exported 6 records and 6 payloads"
	expect_rc 0 "$EDS" verify-chain "$2/records.jsonl" --keys "$2/registry.json" \
		--payload-dir "$2/payloads"
	expect_rc 0 "$EDS" ledger backup --ledger "$1" --out "$2.backup"
	expect_out "backed up 6 records and 6 payloads"
	expect_rc 0 "$EDS" ledger verify --ledger "$2.backup"
	expect_out "ledger OK: 2 devices, 6 records, 6 signatures, 6 payloads checked"
	expect_rc 0 "$EDS" device list --ledger "$1"
	[ "$(wc -l <"$T/out")" -eq 2 ] && pass || fail "device list: $(cat "$T/out")"
	expect_out "dev-a 3 -"
	expect_rc 0 "$EDS" device list --ledger "$1" --json
	expect_out '"device_id":"dev-b","head_sequence":3'
}

# ---- a ledger of 2 devices x 3 records, written by a server that has stopped ----
ledger_through_server 3 dev-a dev-b
expect_no_side_files L

# ---- a chmod -R a-w copy (as root this does not stop writes: the snapshot checks) ----
cp -a L RO
chmod -R a-w RO
snapshot RO >ro.before
readers RO out-ro
expect_same RO ro.before "verify/export/list on a chmod a-w copy"
expect_no_side_files RO
# Writers stay read-write (as root they may write through a-w; not here: a copy of it).
cp -a L RW
expect_rc 0 "$EDS" device revoke --ledger RW --id dev-b

# ---- a schema 1 ledger is read as it is, not upgraded ----
cp -a L V1
sqlite3 V1/ledger.sqlite "DROP TABLE unconfirmed; PRAGMA user_version = 1;" || fail "sqlite3"
expect_no_side_files V1
chmod -R a-w V1
snapshot V1 >v1.before
readers V1 out-v1
expect_same V1 v1.before "reading a schema 1 ledger"
[ "$(sqlite3 V1/ledger.sqlite 'PRAGMA user_version')" = 1 ] && pass ||
	fail "schema 1 ledger was upgraded"

# ---- a directory name that is no plain URI path ----
SP="$T/odd dir ?x=1#frag %41 &mode=rw"
cp -a L "$SP"
snapshot "$SP" >sp.before
readers "$SP" out-sp
expect_same "$SP" sp.before "reading a ledger under an odd name"
expect_no_side_files "$SP"

# ---- no ledger: nothing is created ----
expect_rc 2 "$EDS" ledger verify --ledger "$T/absent"
expect_err "no ledger here"
expect_rc 2 "$EDS" device list --ledger "$T/absent"
[ ! -e "$T/absent" ] && pass || fail "a read-only open created $T/absent"

# ---- beside a live server (with a -wal file), under an odd name too ----
LIVE="$T/live ledger #1 ?%"
cp -a L "$LIVE"
start_server live --ledger "$LIVE"
[ -e "$LIVE/ledger.sqlite-wal" ] && pass || fail "the live server has no -wal file"
expect_rc 0 "$EDS" ledger verify --ledger "$LIVE"
expect_out "ledger OK: 2 devices, 6 records"
sign_readings 4 5 dev-a dev-b
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P
expect_rc 0 "$EDS" ledger verify --ledger "$LIVE"
expect_out "ledger OK: 2 devices, 10 records, 10 signatures, 10 payloads checked, 0 pending"
expect_rc 0 "$EDS" device list --ledger "$LIVE"
expect_out "dev-b 5 -"
expect_rc 0 "$EDS" ledger export --ledger "$LIVE" --out out-live
expect_out "exported 10 records and 10 payloads"
# A reader never takes the server's claim: recover (a writer) is still refused.
expect_rc 2 "$EDS" ledger recover --ledger "$LIVE"
expect_err "in use"
# A copy of the live ledger and its WAL, without the -shm, for the read-only media case.
mkdir WAL
cp "$LIVE/ledger.sqlite" "$LIVE/ledger.sqlite-wal" WAL/
cp -a "$LIVE/payloads" WAL/
stop_server live
[ -s WAL/ledger.sqlite-wal ] && pass || fail "the copy has no WAL content"

# ---- on a really read-only mount ----
if ! unshare -m true 2>/dev/null || ! unshare -m sh -c 'mount --bind -o ro "$1" "$1"' _ "$T/RO" 2>/dev/null; then
	echo "note: unshare -m or a read-only bind mount is not available here; that part is skipped"
else
	# in_ro DIR CMD...: CMD in a mount namespace where DIR is a read-only bind mount.
	in_ro() {
		local dir=$1; shift
		run unshare -m sh -c 'mount --bind -o ro "$1" "$1" && shift && exec "$@"' _ "$dir" "$@"
	}
	chmod -R u+w RO V1
	snapshot RO >ro.before
	for action in "ledger verify" "device list"; do
		# shellcheck disable=SC2086
		in_ro "$T/RO" "$EDS" $action --ledger "$T/RO"
		[ "$RC" -eq 0 ] && pass || fail "read-only mount: eds $action: $(cat "$T/err")"
	done
	in_ro "$T/RO" "$EDS" ledger export --ledger "$T/RO" --out "$T/out-mount"
	[ "$RC" -eq 0 ] && pass || fail "read-only mount: export: $(cat "$T/err")"
	in_ro "$T/RO" "$EDS" ledger backup --ledger "$T/RO" --out "$T/backup-mount"
	[ "$RC" -eq 0 ] && pass || fail "read-only mount: backup: $(cat "$T/err")"
	in_ro "$T/RO" "$EDS" device add --ledger "$T/RO" --id dev-c --public-key "$T/k.pub"
	[ "$RC" -eq 2 ] && pass || fail "read-only mount: device add should fail, got $RC"
	expect_same RO ro.before "reading on a read-only mount"
	expect_no_side_files RO
	in_ro "$T/V1" "$EDS" ledger verify --ledger "$T/V1"
	[ "$RC" -eq 0 ] && pass || fail "read-only mount: schema 1 verify: $(cat "$T/err")"
	# -wal without -shm: SQLite cannot read it there; the message names the cure ...
	in_ro "$T/WAL" "$EDS" ledger verify --ledger "$T/WAL"
	[ "$RC" -eq 2 ] && pass || fail "read-only mount, -wal without -shm: exit $RC"
	expect_err "an empty $T/WAL/ledger.sqlite-shm file next to it suffices"
	# ... which works, and the records still only in the WAL are read.
	: >WAL/ledger.sqlite-shm
	snapshot WAL >wal.before
	in_ro "$T/WAL" "$EDS" ledger verify --ledger "$T/WAL"
	[ "$RC" -eq 0 ] && pass || fail "read-only mount, empty -shm: $(cat "$T/err")"
	expect_out "ledger OK: 2 devices, 10 records"
	expect_same WAL wal.before "reading a WAL copy on a read-only mount"
fi
finish
