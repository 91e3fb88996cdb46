#!/usr/bin/env bash
# test_help.sh - the top level of eds: --help lists every command and the exit
# codes; no command or an unknown one is a usage error (exit 2, one line for
# the unknown one); --version prints the library version.
. "$(dirname "$0")/lib.sh"

COMMANDS="keygen pubkey hash sign verify verify-chain record migrate demo"

for flag in --help -h help; do
	expect_rc 0 "$EDS" $flag
	expect_out "usage: eds COMMAND"
	[ -s "$T/err" ] && fail "eds $flag wrote to stderr" || pass
done
expect_rc 0 "$EDS" --help
for cmd in $COMMANDS; do
	grep -qE "^  $cmd +[^ ]" "$T/out" && pass || fail "eds --help does not list '$cmd'"
done
for code in "0  success" "1  verification" "2  usage error"; do
	expect_out "$code"
done
# Every command listed is dispatched: none answers "unknown command".
for cmd in $(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' "$T/out"); do
	run "$EDS" "$cmd" --help
	grep -q "unknown command" "$T/err" && fail "'$cmd' is listed but unknown" || pass
done

# --help anywhere among a command's flags is help; -h as a flag's value is
# the value ("keygen --out -h" makes -h.key), not a help request.
cd "$T" || exit 1
expect_rc 0 "$EDS" agent --key x --help
expect_out "usage: eds agent"
expect_rc 0 "$EDS" push chain.jsonl --batch 5 -h
expect_out "usage: eds push"
expect_rc 0 "$EDS" keygen --out -h
[ -f ./-h.key ] && [ -f ./-h.pub ] && pass || fail "keygen --out -h made no -h.key"
expect_rc 2 "$EDS" agent --key x --device -h
expect_err "--state and --url are required"
expect_rc 2 "$EDS" agent status --state -h
expect_err "-h: No such file"
expect_rc 2 "$EDS" push --url -h missing.jsonl
expect_err "--url must start with http:// or https://" # -h was taken as the URL
expect_rc 2 "$EDS" push --url http://127.0.0.1:1 --cacert -h missing.jsonl
expect_err "--cacert: -h: No such file"
expect_rc 2 "$EDS" push --mqtt 127.0.0.1:1 --mqtt-client-id -h
expect_err "CHAIN"
expect_rc 2 "$EDS" serve --ledger -h --max-body x
expect_err "--max-body"
expect_rc 0 "$EDS" serve --ledger L --max-body 5 --help
expect_out "usage: eds serve"

# No command: usage on stderr, nothing on stdout, exit 2.
expect_rc 2 "$EDS"
expect_err "usage: eds COMMAND"
[ -s "$T/out" ] && fail "eds with no arguments wrote to stdout" || pass

# Unknown command: exactly one line naming it, exit 2.
expect_rc 2 "$EDS" frobnicate --flag
expect_one_line_err
expect_err "unknown command 'frobnicate'"
expect_rc 2 "$EDS" --no-such-option
expect_one_line_err

# Version: "eds X.Y.Z", the same as the header's EDS_VERSION_STRING.
want=$(sed -n 's/^#define EDS_VERSION_STRING "\(.*\)"/\1/p' \
	"${EDS_SOURCE_DIR:?}/include/edgesentry/version.h")
expect_rc 0 "$EDS" --version
[ "$(cat "$T/out")" = "eds $want" ] && pass || fail "eds --version printed '$(cat "$T/out")', want 'eds $want'"

finish
