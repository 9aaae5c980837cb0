#!/bin/bash
# Secrets and failures on the record (issue 13): qcc-run is not dumpable and
# has no core limit unless --allow-core; the files it creates are 0600 even
# under umask 000; `--daemon` reports a failed start (address in use,
# damaged journal, unreadable table, a FIFO as table) with its reason and a
# non-zero status, and is quiet when the start works; --help and
# docs/running.md name the same options.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
it_keys a
std_config "$T/qcc.yaml" a
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"

# Not dumpable shows as /proc/PID/ owned by root instead of the process's
# user. As root that says nothing, so qcc-run runs as nobody then.
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || skip_all "root without setpriv"
	AS=(setpriv --reuid 65534 --regid 65534 --clear-groups)
	OWNER=nobody
	chmod 755 "$T"
else
	AS=()
	OWNER=$(id -un)
fi
W=$T/w
mkdir -p "$W"
chmod 777 "$W"
cp "$T/table.bin" "$W/table.bin"
chmod 644 "$W/table.bin"

# run NAME [args...]: qcc-run (as AS) in the background under umask 000,
# state in W/NAME; sets RPID and RPORT once it serves.
run() {
	local name=$1 i
	shift
	RPORT=$(free_port)
	(umask 000 && exec "${AS[@]}" "$QCC_RUN_BIN" --state-dir "$W/$name" --listen "127.0.0.1:$RPORT" \
		--log "$W/$name.log" --pidfile "$W/$name.pid" "$@" "$W/table.bin") 2>"$T/$name.err" &
	RPID=$!
	track_pid "$RPID"
	for ((i = 0; i < 100; i++)); do
		[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RPORT/healthz")" = 200 ] && return 0
		kill -0 "$RPID" 2>/dev/null || bail_out "qcc-run $name exited: $(cat "$T/$name.err" "$W/$name.log")"
		sleep 0.1
	done
	bail_out "qcc-run $name not serving: $(cat "$T/$name.err")"
}

stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

mode() { stat -c %a "$1" 2>/dev/null; }

# 1. the default: not dumpable, no core, every created file 0600
run plain
assert_eq "not dumpable: /proc/PID/status belongs to root, not $OWNER" "root" "$(stat -c %U "/proc/$RPID/status")"
assert_eq "no core: RLIMIT_CORE soft limit 0" "0" \
	"$(awk '/^Max core file size/ {print $5}' "/proc/$RPID/limits")"
assert_eq "no core: RLIMIT_CORE hard limit 0" "0" \
	"$(awk '/^Max core file size/ {print $6}' "/proc/$RPID/limits")"
assert_eq "--log file created 0600 (umask 000)" "600" "$(mode "$W/plain.log")"
assert_eq "pidfile created 0600 (umask 000)" "600" "$(mode "$W/plain.pid")"
assert_eq "journal created 0600 (umask 000)" "600" "$(mode "$W/plain/journal.qj")"
assert_eq "access log created 0600 (umask 000)" "600" "$(mode "$W/plain/access.log")"
assert_eq "state directory 0700" "700" "$(mode "$W/plain")"
stop "$RPID"

# 2. --allow-core: the system's default, dumpable
run core --allow-core
assert_eq "--allow-core: /proc/PID/status belongs to $OWNER" "$OWNER" "$(stat -c %U "/proc/$RPID/status")"
stop "$RPID"

# 3. --daemon failures come back to the starting command
# daemon NAME [args...] -> DRC, DOUT (stderr and stdout of the starting command)
daemon() {
	local name=$1
	shift
	timeout 20 "$QCC_RUN_BIN" --daemon --state-dir "$W/$name" "$@" >"$T/$name.dout" 2>&1
	DRC=$?
	DOUT=$(cat "$T/$name.dout")
}

run busy # holds RPORT
daemon d-busy --listen "127.0.0.1:$RPORT" --pidfile "$W/d-busy.pid" "$W/table.bin"
assert_eq "--daemon, address in use: exit status 1" "1" "$DRC"
assert_contains "--daemon, address in use: says so" "$DOUT" "in use"
check "--daemon, address in use: no pidfile left" test ! -e "$W/d-busy.pid"
stop "$RPID"

mkdir -p "$W/d-journal"
head -c 4096 /dev/urandom >"$W/d-journal/journal.qj"
daemon d-journal --listen "127.0.0.1:$(free_port)" "$W/table.bin"
assert_eq "--daemon, damaged journal: exit status 1" "1" "$DRC"
assert_contains "--daemon, damaged journal: names the journal" "$DOUT" "journal"

daemon d-missing --listen "127.0.0.1:$(free_port)" "$W/no-such-table.bin"
assert_eq "--daemon, missing table: exit status 1" "1" "$DRC"
assert_contains "--daemon, missing table: says why" "$DOUT" "No such file"

mkfifo "$W/fifo.bin"
daemon d-fifo --listen "127.0.0.1:$(free_port)" "$W/fifo.bin"
assert_eq "--daemon, FIFO as table: exit status 1 (and no hang)" "1" "$DRC"
assert_contains "--daemon, FIFO as table: says why" "$DOUT" "not a regular file"

DPORT=$(free_port)
daemon d-ok --listen "127.0.0.1:$DPORT" --pidfile "$W/d-ok.pid" "$W/table.bin"
assert_eq "--daemon, good start: exit status 0" "0" "$DRC"
assert_eq "--daemon, good start: nothing on stderr" "" "$DOUT"
DPID=$(cat "$W/d-ok.pid" 2>/dev/null)
track_pid "${DPID:-0}"
assert_eq "--daemon, good start: serving" "200" \
	"$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$DPORT/healthz")"
kill -TERM "${DPID:-0}"
wait_until 100 0.1 test ! -e "/proc/${DPID:-0}"

# 4. the options --help prints are the ones docs/running.md describes
help=$("$QCC_RUN_BIN" --help)
assert_contains "--help names --allow-core" "$help" "--allow-core"
missing=""
for o in $(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
	grep -q -- "\`$o" "$QCC_SOURCE_ROOT/docs/running.md" || missing+=" $o"
done
assert_eq "docs/running.md describes every --help option" "" "$missing"

stop_mocks
done_testing
