#!/usr/bin/env bash
# test_server_docs.sh - docs/server.md and docs/cli.md against a real server:
# every metric /metrics prints is described in docs/server.md and every metric
# docs/server.md names exists; every outcome label is a code docs/server.md
# names; each "(1 .. N)" range of the Limits table is the one eds serve checks;
# the JSON examples of eds ledger export|backup|recover|stats|log and eds
# device list have the keys the program prints.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
SRV=${EDS_SOURCE_DIR:?}/docs/server.md
CLI=$EDS_SOURCE_DIR/docs/cli.md
cd "$T" || exit 1

"$EDS" keygen --out k >/dev/null
echo '{"n":1}' >p1
"$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p1 --payload-dir P >/dev/null
"$EDS" device add --ledger L --id lift-01 --public-key k.pub
start_server docs --ledger L
expect_rc 0 "$EDS" push --url "$URL" c.jsonl --payload-dir P
curl -s "$URL/metrics" >metrics.txt

# Metric families, both ways.
sed -n 's/^# TYPE \(eds_[a-z_]*\) .*/\1/p' metrics.txt | sort -u >have.txt
[ -s have.txt ] && pass || fail "/metrics printed no eds_ metric"
while read -r m; do
	grep -qF "\`$m" "$SRV" && pass || fail "docs/server.md does not describe the metric $m"
done <have.txt
# (the metric table's first column; elsewhere eds_ledger_* names functions too)
grep '^| `eds_' "$SRV" | cut -d'|' -f2 | grep -oE 'eds_[a-z_]+' | sort -u >named.txt
while read -r m; do
	grep -qx "$m" have.txt && pass || fail "docs/server.md names the metric $m; /metrics has no such family"
done <named.txt
# Every outcome label value is a code docs/server.md names.
for o in $(sed -n 's/.*outcome="\([a-z_]*\)".*/\1/p' metrics.txt | sort -u); do
	grep -qF "\`$o\`" "$SRV" && pass || fail "docs/server.md does not name the outcome '$o'"
done
# eds push --json: the first example's keys are the program's.
doc=$(awk '/^\$ eds push --url .* --json$/ { getline; print; exit }' "$CLI")
run "$EDS" push --url "$URL" c.jsonl --json
want=$(jq -cS keys "$T/out" 2>/dev/null)
[ -n "$want" ] && [ "$(echo "$doc" | jq -cS keys 2>/dev/null)" = "$want" ] && pass ||
	fail "docs/cli.md: the 'eds push --json' example has keys $(echo "$doc" | jq -cS keys 2>/dev/null), the program prints $want"
stop_server docs

# Limits table: "`--flag` (1 .. N)" is the range the option accepts.
grep -oE '`--[a-z-]+` \(1 \.\. [0-9]+\)' "$SRV" | sed 's/[`()]//g; s/ \.\. / /' >ranges.txt
[ -s ranges.txt ] && pass || fail "docs/server.md's Limits table gives no ranges"
while read -r flag lo hi; do
	# (timeout: should the value be accepted, the server would run on)
	run timeout 10 "$EDS" serve --ledger "$T/R" --listen 127.0.0.1:0 "$flag" $((hi + 1))
	[ "$RC" = 2 ] && grep -qF "$lo..$hi" "$T/err" && pass ||
		fail "docs/server.md: $flag ($lo .. $hi), but $flag $((hi + 1)) gave exit $RC: $(cat "$T/err")"
done <ranges.txt

# JSON examples: the line after "$ eds ledger ACTION ... --json" has the program's keys.
keys_of() { jq -cS 'keys' 2>/dev/null; }
for action in export backup recover stats; do
	doc=$(awk -v a="eds ledger $action " 'index($0, "$ " a) == 1 && / --json$/ { getline; print; exit }' "$CLI")
	[ -n "$doc" ] || { fail "docs/cli.md: no 'eds ledger $action ... --json' example"; continue; }
	case $action in
	recover | stats) run "$EDS" ledger "$action" --ledger L --json ;;
	*) run "$EDS" ledger "$action" --ledger L --out "$T/$action" --json ;;
	esac
	want=$(keys_of <"$T/out")
	[ -n "$want" ] && [ "$(echo "$doc" | keys_of)" = "$want" ] && pass ||
		fail "docs/cli.md: the 'eds ledger $action --json' example has keys $(echo "$doc" | keys_of), the program prints $want"
done
doc=$(awk '/^\$ eds ledger log .*--json/ { getline; print; exit }' "$CLI")
run "$EDS" ledger log --ledger L --json
want=$(head -n 1 "$T/out" | keys_of)
[ -n "$want" ] && [ "$(echo "$doc" | keys_of)" = "$want" ] && pass ||
	fail "docs/cli.md: the 'eds ledger log --json' example has keys $(echo "$doc" | keys_of), the program prints $want"
doc=$(awk '/^\$ eds device list .*--json/ { getline; print; exit }' "$CLI" | sed 's/…//g')
run "$EDS" device list --ledger L --json
want=$(jq -c '.devices[0]' "$T/out" | keys_of)
[ -n "$want" ] && [ "$(echo "$doc" | keys_of)" = "$want" ] && pass ||
	fail "docs/cli.md: the 'eds device list --json' example has keys $(echo "$doc" | keys_of), the program prints $want"
finish
