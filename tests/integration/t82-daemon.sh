#!/bin/bash
# `qcc-run --daemon --pidfile FILE` (issue 6): detaches (the starting command
# returns 0 once the listener is up), writes the pidfile 0600 naming a
# process that is not our child and has its own session, refuses a second
# start while that pid lives, reloads on SIGHUP, and on SIGTERM exits and
# removes the pidfile.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
it_keys a
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
health:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml a)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_PORT=$(free_port)
PIDF=$T/run/qcc-run.pid
mkdir -p "$T/run" "$T/state"
# relative paths on purpose: the daemon leaves the working directory
cd "$T" || bail_out "cd"
"$QCC_RUN_BIN" --daemon --pidfile run/qcc-run.pid --state-dir state --log qcc-run.err \
	--listen "127.0.0.1:$QCC_PORT" table.bin >"$T/start.out" 2>&1
rc=$?
assert_eq "qcc-run --daemon returns 0 once it is listening" "0" "$rc"
check "the pidfile exists at once" test -s "$PIDF"
DPID=$(cat "$PIDF" 2>/dev/null)
track_pid "${DPID:-0}"
assert_eq "pidfile mode 0600" "600" "$(stat -c %a "$PIDF")"
check "the pid is alive" kill -0 "${DPID:-0}"
assert_eq "it is qcc-run" "qcc-run" "$(cat "/proc/$DPID/comm" 2>/dev/null)"
assert_eq "it leads no terminal session of ours: its own session (setsid, then forked)" "1" \
	"$(awk -v p="$DPID" '{ print ($6 != p && $6 != '"$$"') ? 1 : 0 }' "/proc/$DPID/stat")"
assert_eq "its working directory is /" "/" "$(readlink "/proc/$DPID/cwd")"
assert_eq "it serves" "200" "$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$QCC_PORT/healthz")"
assert_eq "qccc status reaches it through the state dir" "$DPID" \
	"$("$QCCC_BIN" status --json --state-dir "$T/state" | jq -r .pid)"

"$QCC_RUN_BIN" --daemon --pidfile run/qcc-run.pid --state-dir state2 \
	--listen "127.0.0.1:$(free_port)" table.bin >"$T/second.out" 2>&1
assert_eq "a second start with the same pidfile is refused (exit 1)" "1" "$?"
assert_contains "saying why" "$(cat "$T/second.out")" "names a running qcc-run"

# SIGHUP asks for a reload (the log names it); it keeps serving
kill -HUP "$DPID"
wait_until 50 0.1 grep -q SIGHUP "$T/qcc-run.err"
check "SIGHUP reloads the table (log names SIGHUP)" grep -q SIGHUP "$T/qcc-run.err"
check "still alive after SIGHUP" kill -0 "$DPID"

kill -TERM "$DPID"
wait_until 100 0.1 test ! -e "/proc/$DPID"
check "SIGTERM stops it" test ! -e "/proc/$DPID"
check "and the pidfile is removed" test ! -e "$PIDF"
check "its log says it drained" grep -q "drained" "$T/qcc-run.err"

# a stale pidfile (dead pid) does not block a start
echo 999999 >"$PIDF"
"$QCC_RUN_BIN" --daemon --pidfile "$PIDF" --state-dir "$T/state" --listen "127.0.0.1:$QCC_PORT" \
	"$T/table.bin" >"$T/third.out" 2>&1
assert_eq "a stale pidfile is replaced" "0" "$?"
DPID=$(cat "$PIDF" 2>/dev/null)
track_pid "${DPID:-0}"
kill -TERM "${DPID:-0}"
wait_until 100 0.1 test ! -e "/proc/${DPID:-0}"
check "stopped again, pidfile removed" test ! -e "$PIDF"

stop_mocks
done_testing
