# mqtt_lib.sh - a private mosquitto broker for the MQTT tests (sourced after
# lib.sh and serve_lib.sh).  Loopback only; stopped on exit.
#
# start_broker [EXTRA-CONFIG-FILE]: starts mosquitto on a free 127.0.0.1 port
# (tried until one binds) with persistence in $T/broker, sets $BPORT; the
# pid file in $T makes serve_lib.sh's exit trap kill it.  A
# restart (stop_broker; start_broker) keeps the port and the saved sessions.
need_cmd mosquitto
need_cmd mosquitto_pub
need_cmd mosquitto_sub
BPORT=

broker_up() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$BPORT") 2>/dev/null && return 0
		kill -0 "$(cat "$T/broker.pid")" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

start_broker() {
	local extra=${1:-} try
	mkdir -p "$T/broker"
	for try in $(seq 1 20); do
		[ -n "$BPORT" ] && [ "$try" = 1 ] || BPORT=$((20000 + RANDOM % 40000))
		{
			echo "listener $BPORT 127.0.0.1"
			echo "persistence true"
			echo "persistence_location $T/broker/"
			echo "log_dest file $T/broker/log"
			echo "log_type error"; echo "log_type warning"; echo "log_type notice"
			echo "user $(id -un)"
			echo "max_queued_messages 100000"
			if [ -n "$extra" ]; then cat "$extra"; else echo "allow_anonymous true"; fi
		} >"$T/broker/conf"
		: >"$T/broker/log"
		mosquitto -c "$T/broker/conf" 2>>"$T/broker/err" &
		echo $! >"$T/broker.pid"
		broker_up && return 0
		kill "$(cat "$T/broker.pid")" 2>/dev/null
		wait "$(cat "$T/broker.pid")" 2>/dev/null
	done
	fail "mosquitto did not start: $(tail -n 3 "$T/broker/log" "$T/broker/err")"
	finish
}

# stop_broker: SIGTERM (mosquitto saves its sessions and queued messages).
stop_broker() {
	local pid; pid=$(cat "$T/broker.pid")
	kill -TERM "$pid"; wait "$pid" 2>/dev/null
	rm -f "$T/broker.pid"
}

# wait_log NAME TEXT [N]: wait (30 s at most) for N (default 1) lines with TEXT in server NAME's log.
wait_log() {
	local n=${3:-1}
	for _ in $(seq 1 600); do
		[ "$(grep -cF -- "$2" "$T/$1.log" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_lines FILE N: wait (30 s at most) until FILE has N lines.
wait_lines() {
	for _ in $(seq 1 600); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# head_seq DEVICE: the server's head sequence of DEVICE (HTTP).
head_seq() { req GET "/api/v1/devices/$1/head"; jq -r .sequence "$T/body"; }

# answers DEVICE: the subscriber's answers for DEVICE (one JSON per line).
answers() { grep "^edgesentry/v1/responses/$1 " "$T/answers" | cut -d' ' -f2-; }

# start_answers [CLIENT-ARGS...]: mosquitto_sub on every answer topic into
# $T/answers ("TOPIC JSON" lines); returns once it is subscribed (a probe it
# publishes has come back), with $T/answers empty.
start_answers() {
	: >"$T/answers"
	mosquitto_sub -p "$BPORT" "$@" -q 1 -v -t 'edgesentry/v1/responses/#' >>"$T/answers" 2>/dev/null &
	echo $! >"$T/sub.pid"
	for _ in $(seq 1 300); do
		mosquitto_pub -p "$BPORT" "$@" -q 1 -t edgesentry/v1/responses/probe -m '{}' 2>/dev/null
		grep -q probe "$T/answers" && break
		sleep 0.1
	done
	grep -q probe "$T/answers" && pass || fail "mosquitto_sub did not subscribe"
	sleep 0.2 # a second probe may still be on its way
	: >"$T/answers" # appended to (O_APPEND): emptying it is safe
}
