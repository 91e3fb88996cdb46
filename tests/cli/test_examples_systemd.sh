#!/bin/bash
# test_examples_systemd.sh - examples/systemd runs as written, without
# systemd: the unit's ExecStart with its serve.json (paths moved into a
# temporary directory, TLS certificate made here) serves HTTPS, pushes are
# stored, the unit's ExecReload (SIGHUP) reopens the rotated log, its stop
# signal ends the server with exit 0, and a broken config exits with the
# status the unit's RestartPreventExitStatus names.  systemd-analyze checks
# the unit where it is installed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd openssl
cd "$T" || exit 1
EX=${EDS_SOURCE_DIR:?}/examples/systemd
UNIT=$EX/eds-serve.service

# unit_key KEY: the value of KEY= in the unit (one line).
unit_key() { sed -n "s/^$1=//p" "$UNIT"; }

# ---- the configuration the unit starts with, moved into $T -------------------------
exec_start=$(unit_key ExecStart)
conf=$(awk '{for (i = 1; i < NF; i++) if ($i == "--config") print $(i + 1)}' <<<"$exec_start")
[ "$conf" = /etc/edgesentry/serve.json ] && pass || fail "ExecStart does not read serve.json: $exec_start"
openssl req -x509 -newkey ed25519 -nodes -keyout server.key -out server.pem -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || fail "openssl"
jq --arg t "$T" '.ledger = $t + "/ledger" | .log = $t + "/decisions.log"
	| .listen = "127.0.0.1:0" | .allow = ["127.0.0.1"]
	| ."tls-cert" = $t + "/server.pem" | ."tls-key" = $t + "/server.key"' \
	"$EX/serve.json" >serve.json || fail "serve.json is not JSON"
rw=$(unit_key ReadWritePaths)
[ -n "$rw" ] && pass || fail "the unit names no ReadWritePaths"
for dir in $rw; do # the ledger and the log live where the unit may write
	jq -e --arg d "$dir/" '(.ledger | startswith($d)) or (.log | startswith($d))' \
		"$EX/serve.json" >/dev/null && pass || fail "nothing of serve.json is under $dir"
done

# ---- ExecStart, with our binary and config ------------------------------------------
"$EDS" keygen --out k >/dev/null
"$EDS" device add --ledger ledger --id lift-01 --public-key k.pub || fail "device add"
for i in 1 2 3; do
	echo "reading $i" >p
	"$EDS" sign --key k.key --device lift-01 --chain c.jsonl --payload p --payload-dir P \
		>/dev/null || fail "sign"
done
cmd=${exec_start/\/usr\/local\/bin\/eds/$EDS}
cmd=${cmd/\/etc\/edgesentry\/serve.json/$T\/serve.json}
$cmd --port-file port 2>err & # flags win over the config: only the port file is added
echo $! >main.pid
main=$(cat main.pid)
wait_for_line decisions.log '"event":"listening"'
URL="https://127.0.0.1:$(cat port)"
expect_rc 0 "$EDS" push --url "$URL" --cacert server.pem c.jsonl --payload-dir P
expect_out "3 accepted"

# ---- ExecReload after a rotation ----------------------------------------------------
reload=$(unit_key ExecReload)
[ "$reload" = '/bin/kill -HUP $MAINPID' ] && pass || fail "ExecReload is not SIGHUP: $reload"
mv decisions.log decisions.log.1
${reload//\$MAINPID/$main}
wait_for_line decisions.log '"event":"log_reopened"'
curl -s --cacert server.pem "$URL/healthz" | grep -q '"ok"' && pass || fail "not serving after reload"

# ---- the stop signal: exit 0, nothing lost -------------------------------------------
[ "$(unit_key KillSignal)" = SIGTERM ] && pass || fail "KillSignal is not SIGTERM"
stop_server main
grep -q '"event":"stopped"' decisions.log && pass || fail "no stop line in the reopened log"
expect_rc 0 "$EDS" ledger verify --ledger ledger
expect_out "3 records"

# ---- RestartPreventExitStatus: the code of a config error ---------------------------
echo '{"ledger": "ledger", "bogus": 1}' >bad.json
expect_rc "$(unit_key RestartPreventExitStatus)" "$EDS" serve --config bad.json

# ---- systemd's own check, where systemd is installed ---------------------------------
if command -v systemd-analyze >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	sed "s|/usr/local/bin/eds|$EDS|" "$UNIT" >eds-serve.service
	systemd-analyze verify ./eds-serve.service >analyze.out 2>&1 && pass ||
		fail "systemd-analyze verify: $(cat analyze.out)"
else
	echo "note: systemd is not running here; the unit's syntax is not checked by systemd-analyze"
fi
finish
