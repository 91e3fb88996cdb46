#!/usr/bin/env bash
# Update decisions through the device agent: `eds update verify --agent-state`
# signs each decision into the agent's own chain and queue (read back from
# agent.db, eds verify-chain accepts it, payloads included); a state held by
# a running agent is refused (a second writer would fork the chain) and the
# accept is then not acted on; `eds agent` forwards the decisions with a
# reading to `eds serve`, and the ledger verifies with every decision in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
need_cmd python3
cd "$T" || exit 1
for k in a b dev; do "$EDS" keygen --out "$k" >/dev/null || fail "keygen $k"; done
head -c 5000 /dev/urandom >fw.bin
head -c 10 fw.bin >short.bin
"$EDS" update trust --key a.pub --key b.pub --threshold 2 --out trust.json || fail "trust"
"$EDS" update sign --image fw.bin --package lift-fw --version 3.0.0 --security-version 2 \
	--target hw-a --key a.key --key b.key --out ok.json >/dev/null || fail "sign ok"
"$EDS" update sign --image fw.bin --package lift-fw --version 3.0.1 --security-version 2 \
	--target hw-a --key a.key --out weak.json >/dev/null || fail "sign weak"
ag=(--agent-state AS --key dev.key --device dev-1)
upd() { # upd MANIFEST IMAGE [extra args...]
	local m=$1 i=$2; shift 2
	"$EDS" update verify --manifest "$m" --image "$i" --trust trust.json --state st "$@"
}

# --- usage ---
expect_rc 2 upd ok.json fw.bin --hardware hw-a "${ag[@]}" --evidence-chain ev.jsonl
expect_one_line_err
expect_err "not both"
expect_rc 2 upd ok.json fw.bin --hardware hw-a "${ag[@]}" --evidence-payload-dir P
expect_one_line_err
expect_rc 2 upd ok.json fw.bin --hardware hw-a --agent-state AS --key dev.key
expect_one_line_err
expect_err "--agent-state needs one --key and --device"
[ ! -e AS ] && pass || fail "a usage error created the agent state"

# --- three decisions, each the agent's next record ---
expect_rc 0 upd ok.json fw.bin --hardware hw-a "${ag[@]}"
expect_out "evidence: dev-1 sequence 1 queued in agent state AS"
expect_rc 11 upd weak.json fw.bin "${ag[@]}"
expect_rc 16 upd ok.json short.bin "${ag[@]}"
st() { "$EDS" agent status --state AS --json | jq -r ".$1"; }
[ "$(st head_sequence) $(st queued_records)" = "3 3" ] && pass \
	|| fail "agent state: head $(st head_sequence), queued $(st queued_records), want 3 3"

# The queue as a chain file and payload dir, straight from agent.db.
python3 - <<'EOF' || fail "reading agent.db"
import os, sqlite3
db = sqlite3.connect("file:AS/agent.db?mode=ro", uri=True)
with open("q.jsonl", "w") as out:
    for rec, hsh, payload in db.execute("SELECT record, payload_hash, payload FROM queue ORDER BY seq"):
        out.write(rec + "\n")
        h = hsh.hex()
        os.makedirs("QP/" + h[:2], exist_ok=True)
        open("QP/%s/%s" % (h[:2], h[2:]), "wb").write(payload)
EOF
expect_rc 0 "$EDS" verify-chain q.jsonl --public-key dev.pub --payload-dir QP
expect_out "3 records"
dec() { # dec CHAIN PAYLOAD-DIR: decision/reason/version of each update record
	local h
	for h in $(jq -r 'select(.object_ref | test("/update/")) | .payload_hash' "$1"); do
		printf ' %s' "$(jq -r '"\(.decision)/\(.reason)/\(.version)"' "$2/${h:0:2}/${h:2}")"
	done
}
want=" accept/accept/3.0.0 reject/threshold/3.0.1 reject/size/3.0.0"
[ "$(dec q.jsonl QP)" = "$want" ] && pass || fail "decisions in the agent queue:$(dec q.jsonl QP)"
[ "$(jq -r .object_ref q.jsonl | head -1)" = "dev-1/update/$("$EDS" update inspect ok.json --json \
	| jq -r '.manifest_hash[:16]')-accept.json" ] && pass || fail "object_ref of the accept"

# --- a state held by a running agent: refused, the accept is not acted on ---
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkfifo in
"$EDS" agent --key dev.key --device dev-1 --state AS --url "http://127.0.0.1:$P" \
	--backoff-min-ms 50 <in >/dev/null 2>agent.err &
A=$!
exec 3>in # stdin stays open: the agent keeps running
locked() { python3 -c 'import fcntl,sys; f=open("AS/agent.lock","w")
try: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError: sys.exit(0)
sys.exit(1)'; }
for _ in $(seq 1 50); do locked && break; sleep 0.1; done
locked && pass || fail "the running agent holds no lock on AS"
cp st/update-state.json before.json
expect_rc 2 upd ok.json fw.bin "${ag[@]}"
expect_one_line_err
expect_err "in use by another process"
cmp -s before.json st/update-state.json && pass || fail "state changed without evidence"
[ "$(st head_sequence)" = 3 ] && pass || fail "a refused writer changed the agent's head"
kill -TERM $A
exec 3>&-
wait $A && pass || fail "agent exit $? after SIGTERM: $(cat agent.err)"

# --- forwarded by eds agent like a reading; the ledger verifies ---
expect_rc 0 "$EDS" device add --ledger L --id dev-1 --public-key dev.pub
start_server main --ledger L
echo "reading-1" | timeout 60 "$EDS" agent --key dev.key --device dev-1 --state AS --url "$URL" \
	>/dev/null 2>agent2.err && pass || fail "agent forwarding failed: $(cat agent2.err)"
[ "$(st queued_records)" = 0 ] && pass || fail "queue not empty after forwarding"
stop_server main
expect_rc 0 "$EDS" ledger verify --ledger L
expect_rc 0 "$EDS" ledger export --ledger L --out X
expect_rc 0 "$EDS" verify-chain X/records.jsonl --keys X/registry.json --payload-dir X/payloads
expect_out "4 records"
[ "$(dec X/records.jsonl X/payloads)" = "$want" ] && pass \
	|| fail "decisions in the ledger:$(dec X/records.jsonl X/payloads)"
[ "$(jq -r 'select(.sequence == 4) | .object_ref' X/records.jsonl)" = stdin ] && pass \
	|| fail "the reading after the decisions is not sequence 4"
finish
