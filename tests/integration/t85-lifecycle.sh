#!/bin/bash
# qccc start / stop / restart / reload / logs --errors against a real qcc-run
# (issue 16): start builds and waits for /healthz, a second start says it runs,
# stop drains an open stream, reload shows the new generation, a start that
# fails says why with qcc-run's exit status, the `proxy ...` spellings work.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

it_keys up1
start_mock up1 --events 40 --event-delay-ms 100
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1 || bail_out "config"
export QCC_STATE_DIR=$T/state
STATE=$QCC_STATE_DIR
cd "$T" || bail_out "cd"
Q() { "$QCCC_BIN" "$@"; }
# Whatever a failed check leaves running is stopped at exit.
track_daemon() { [ -s "$STATE/qcc-run.pid" ] && track_pid "$(cat "$STATE/qcc-run.pid")"; }

out=$(Q start 2>&1)
rc=$?
track_daemon
assert_eq "start: exit 0" 0 "$rc"
assert_contains "start: built the config" "$out" "built generation 1"
assert_contains "start: prints the address" "$out" "qcc-run started: pid"
assert_contains "start: prints the line to export" "$out" "export ANTHROPIC_BASE_URL=http://127.0.0.1:$QCC_PORT"
assert_eq "start: /healthz answers generation 1" 1 "$(healthz_generation)"
check "start: pidfile in the state dir" test -s "$STATE/qcc-run.pid"
pid=$(cat "$STATE/qcc-run.pid")
assert_contains "start: error log in the state dir" "$(cat "$STATE/qcc-run.log")" "qcc-run listening on"

assert_eq "run.json: the fields docs/lifecycle.md shows" "version config table listen url" \
	"$(jq -r 'keys_unsorted | join(" ")' "$STATE/run.json")"
check "docs/lifecycle.md shows run.json as written" grep -qF \
	"$(jq -c '{version, config: "/abs/qcc.yaml", table: "/abs/table.bin", listen}' "$STATE/run.json" |
		sed 's/:/: /g; s/,/, /g; s/}$//')" "$QCC_SOURCE_ROOT/docs/lifecycle.md"

out=$(Q start 2>&1)
rc=$?
assert_eq "second start: exit 0" 0 "$rc"
assert_contains "second start: says it is already running" "$out" "already running: pid $pid"
assert_eq "second start: same process" "$pid" "$(cat "$STATE/qcc-run.pid")"

assert_eq "a request goes through" "200 up1" "$(ask "$(body_json claude-sonnet-4-5)")"
check "access log in the state dir" test -s "$STATE/access.log"

out=$(Q reload 2>&1)
assert_contains "reload, config unchanged: says so" "$out" "unchanged: generation 1 keeps serving"
sed -i 's/description: integration test profile/description: edited/' qcc.yaml
out=$(Q reload 2>&1)
rc=$?
assert_eq "reload: exit 0" 0 "$rc"
assert_contains "reload: prints the new generation" "$out" "live: generation 2 now serving (was 1)"
assert_eq "reload: /healthz serves generation 2" 2 "$(healthz_generation)"
cp qcc.yaml qcc.good
printf 'profiles: [oops\n' >>qcc.yaml
out=$(Q reload 2>&1)
rc=$?
assert_eq "reload of a broken config: exit 1" 1 "$rc"
assert_eq "reload of a broken config: generation 2 keeps serving" 2 "$(healthz_generation)"
cp qcc.good qcc.yaml

out=$(Q logs --errors -n 50 2>&1)
assert_contains "logs --errors: the error log" "$out" "table generation 1 -> 2"
out=$(Q logs --all -n 50 2>&1)
assert_contains "logs --all: access lines with a level" "$out" "ACCESS 200 POST /v1/messages"
assert_contains "logs --all: error-log lines with theirs" "$out" " INFO "
# people read local time with the zone (the file keeps UTC)
out=$(TZ=QCT-2 Q logs --errors -n 5 2>&1)
assert_contains "logs --errors: local time with the zone" "$(tail -1 <<<"$out")" " QCT INFO "
assert_not_contains "logs --errors: no bare UTC times" "$out" "Z INFO "
out=$(TZ=QCT-2 Q logs --all -n 50 2>&1)
assert_contains "logs --all: access lines in local time too" "$out" " QCT ACCESS 200 POST /v1/messages"
out=$(Q logs --errors --level error -n 50 2>&1)
assert_not_contains "logs --level error: no INFO lines" "$out" " INFO "
t0=$SECONDS
out=$(Q logs --errors -f --for 1 -n 1 2>&1)
assert_eq "logs --errors -f --for 1: ends by itself" 0 "$?"
assert_le "logs --errors -f --for 1: within a few seconds" "$((SECONDS - t0))" 5
assert_contains "logs --errors -f: prints the last line" "$out" "table generation 1 -> 2"
Q logs --all -f >/dev/null 2>&1
assert_eq "logs --all -f: usage error (one log to follow)" 2 "$?"
assert_contains "logs --help names --errors" "$(Q logs --help 2>&1)" "--errors"
assert_contains "proxy status: the seed spelling of status" "$(Q proxy status 2>&1)" "generation 2"
assert_contains "proxy logs --errors" "$(Q proxy logs --errors 2>&1)" "listening on"

# Stop while a stream is open: it is drained (finishes), then the process exits.
curl -sS -N -m 30 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream claude-sonnet-4-5)" \
	>"$T/stream.out" 2>&1 &
cpid=$!
wait_until 200 0.1 grep -q content_block_delta "$T/stream.out"
out=$(Q stop 2>&1)
rc=$?
wait "$cpid"
assert_eq "stop: exit 0" 0 "$rc"
assert_contains "stop: reports it stopped" "$out" "qcc-run (pid $pid) stopped after"
assert_contains "stop: reports the drain" "$out" "drained; exiting"
assert_contains "stop: the open stream finished" "$(cat "$T/stream.out")" "event: message_stop"
# gone, or exited and waiting for init to reap it (state Z)
check "stop: the process is gone" bash -c "! kill -0 $pid 2>/dev/null || grep -q ') [ZX] ' /proc/$pid/stat"
check "stop: the pidfile is removed" test ! -e "$STATE/qcc-run.pid"
out=$(Q stop 2>&1)
assert_eq "stop when stopped: exit 0" 0 "$?"
assert_contains "stop when stopped: says so" "$out" "not running"
out=$(Q reload 2>&1)
assert_eq "reload when stopped: exit 1" 1 "$?"

out=$(Q proxy start 2>&1)
track_daemon
assert_contains "proxy start: starts it" "$out" "qcc-run started"
pid1=$(cat "$STATE/qcc-run.pid")
out=$(Q restart 2>&1)
rc=$?
track_daemon
assert_eq "restart: exit 0" 0 "$rc"
assert_contains "restart: stopped the old one" "$out" "qcc-run (pid $pid1) stopped"
# Nothing in flight: qcc-run exits within tens of ms of "drained". It was
# reported 1.3-1.7 s later because the exited daemon stays a zombie until
# init reaps it and stop polled kill(pid, 0), which a zombie passes.
took=$(sed -n 's/.*(pid '"$pid1"') stopped after \([0-9.]*\) s.*/\1/p' <<<"$out")
assert_eq "restart: an idle stop is reported promptly (<= 0.5 s, got ${took:-none})" "yes" \
	"$(awk -v t="${took:-99}" 'BEGIN { print (t <= 0.5) ? "yes" : "no" }')"
assert_contains "restart: same address" "$out" "export ANTHROPIC_BASE_URL=http://127.0.0.1:$QCC_PORT"
assert_ne "restart: a new process" "$pid1" "$(cat "$STATE/qcc-run.pid")"
assert_eq "restart: a request goes through" "200 up1" "$(ask "$(body_json claude-sonnet-4-5)")"
# A stop that outlasts --timeout says so (exit 1); the next stop is qcc-run's
# second signal: it exits without waiting, and stop reports that.
curl -sS -N -m 30 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream claude-sonnet-4-5)" \
	>"$T/stream2.out" 2>&1 &
cpid=$!
wait_until 200 0.1 grep -q content_block_delta "$T/stream2.out"
out=$(Q stop --timeout 1 2>&1)
assert_eq "stop --timeout 1 during a 4 s stream: exit 1" 1 "$?"
assert_contains "stop --timeout 1: says it is still running" "$out" "still running after 1 s"
out=$(Q proxy stop 2>&1)
assert_eq "proxy stop (the second signal): exit 0" 0 "$?"
assert_contains "proxy stop: reports it did not wait" "$out" "exiting without waiting"
wait "$cpid"

# A start that fails (the address is taken) says why and with which status.
out=$(Q start --listen "127.0.0.1:${MOCK_PORT[up1]}" --state-dir "$T/state2" 2>&1)
rc=$?
assert_eq "start on a taken address: exit 1" 1 "$rc"
assert_contains "start on a taken address: qcc-run's reason" "$out" "127.0.0.1:${MOCK_PORT[up1]}"
assert_contains "start on a taken address: the exit status" "$out" "did not start (exit status 1)"
out=$(cd / && Q start --state-dir "$T/state3" 2>&1)
assert_eq "start with no config: exit 1" 1 "$?"
assert_contains "start with no config: hint" "$out" "qccc init"

# qcc-run started by hand (not by qccc start): reload builds into the table it
# serves, stop says it was not started by qccc.
build_table qcc.yaml "$T/hand.bin" || bail_out "build hand.bin: $(cat "$T/qccc.out")"
start_qcc "$T/hand.bin"
sed -i 's/description: edited/description: edited again/' qcc.yaml
out=$(Q reload 2>&1)
assert_eq "reload of a hand-started qcc-run: exit 0" 0 "$?"
assert_contains "reload: builds into the table qcc-run serves" "$out" "qcc-run serves $T/hand.bin"
assert_contains "reload: the hand-started one is live on generation 2" "$out" "live: generation 2"
assert_eq "reload: /healthz agrees" 2 "$(healthz_generation)"
out=$(Q stop 2>&1)
assert_eq "stop of a hand-started qcc-run: exit 1" 1 "$?"
assert_contains "stop of a hand-started qcc-run: says why" "$out" "left no pidfile"
stop_qcc

# The README's path: init, set the key, start, run (here with curl for claude).
mkdir -p "$T/fresh"
p=$(free_port)
out=$(cd "$T/fresh" && Q init 2>&1)
assert_contains "init: says start and run next" "$out" "qccc start -c ./qcc.yaml\` and \`qccc run\`"
sed -i -e "s|^  port: 7860|  port: $p|" -e "s|https://api.anthropic.com|$(mock_url up1)|" "$T/fresh/qcc.yaml"
out=$(cd "$T/fresh" && ANTHROPIC_API_KEY=sk-fresh Q start --state-dir "$T/fresh-state" 2>&1)
assert_eq "fresh: start exit 0" 0 "$?"
[ -s "$T/fresh-state/qcc-run.pid" ] && track_pid "$(cat "$T/fresh-state/qcc-run.pid")"
reply=$(cd "$T/fresh" && ANTHROPIC_API_KEY=sk-fresh Q run --state-dir "$T/fresh-state" -- sh -c \
	'curl -sS -m 10 "$ANTHROPIC_BASE_URL/v1/messages" -H "authorization: Bearer $ANTHROPIC_AUTH_TOKEN" -d "$0"' \
	"$(body_json claude-sonnet-4-5)" 2>&1)
assert_contains "fresh: a request through qccc run reaches the upstream" "$reply" "Hello from up1."
out=$(Q stop --state-dir "$T/fresh-state" 2>&1)
assert_contains "fresh: stop" "$out" "stopped after"

# Installed (meson install, as tools/run.sh install does): both programs in one
# bin directory, and qccc finds its qcc-run there.
if meson install -C "$QCC_BUILD_ROOT" --no-rebuild --destdir "$T/dest" >"$T/install.out" 2>&1; then
	bin=$(dirname "$(find "$T/dest" -path '*/bin/qccc' | head -1)")
	check "meson install: qccc in bin" test -x "$bin/qccc"
	check "meson install: qcc-run beside it" test -x "$bin/qcc-run"
	out=$(cd "$T" && env -u QCC_RUN PATH="$bin:/usr/bin:/bin" qccc start --state-dir "$T/state4" 2>&1)
	assert_eq "installed qccc start: exit 0" 0 "$?"
	[ -s "$T/state4/qcc-run.pid" ] && track_pid "$(cat "$T/state4/qcc-run.pid")"
	assert_contains "installed qccc start: serves" "$out" "qcc-run started"
	out=$(PATH="$bin:/usr/bin:/bin" qccc stop --state-dir "$T/state4" 2>&1)
	assert_contains "installed qccc stop" "$out" "stopped after"
else
	not_ok "meson install --destdir" "$(tail -5 "$T/install.out")"
fi

for c in start stop restart reload "logs --errors" "proxy" "service" "run" "env" "claude-settings"; do
	# shellcheck disable=SC2086
	out=$(Q $c --help 2>&1)
	rc=$?
	assert_eq "qccc $c --help: exit 0" 0 "$rc"
	assert_contains "qccc $c --help: usage" "$out" "usage: qccc"
done
# docs/lifecycle.md names every option the commands' --help prints.
missing=""
for c in start stop restart reload "logs --errors" proxy service run env claude-settings; do
	# shellcheck disable=SC2086
	for o in $(Q $c --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -q -- "$o" "$QCC_SOURCE_ROOT/docs/lifecycle.md" || missing+=" $c:$o"
	done
done
assert_eq "docs/lifecycle.md names every --help option" "" "$missing"
out=$(Q start --bogus 2>&1)
assert_eq "start --bogus: usage error" 2 "$?"

done_testing
