#!/bin/bash
# Slowloris (issue 13): 1,000 connections send a request head one byte at a
# time and never finish it. With proxy.max_connections raised to fit them,
# normal requests are still served promptly while they hang on, and every
# slow one is closed by proxy.header_timeout (a short one here) with a 408.
# Also: the header timer starts at accept and at the first byte of a new
# request, not while a kept-alive connection idles; qcc-run raises its soft
# open-files limit and warns when max_connections cannot fit the hard one.
. "$(dirname "$0")/lib.sh"
SLOWLORIS=$QCC_BUILD_ROOT/tests/integration/slowloris
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN" "$SLOWLORIS"
[ -z "${QCC_IT_WRAPPER:-}" ] || skip_all "latency bounds are meaningless under $QCC_IT_WRAPPER"
SLOW=1000
HEADER_TIMEOUT_MS=4000
# this shell runs the slow clients, curl and qcc-run: room for all of them
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((SLOW * 2 + 200)) ] ||
	skip_all "needs $((SLOW * 2 + 200)) open files (hard limit $(ulimit -Hn))"

start_mock up1
it_keys up1
QCC_PORT=$(free_port)
MPORT=$(free_port)
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $QCC_PORT
  max_connections: $((SLOW + 100))
  header_timeout: ${HEADER_TIMEOUT_MS}ms
  idle_timeout: 60s
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml up1)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"

# ---- the open-files limit ----------------------------------------------------------
# A low hard limit: the warning names the setting and the need.
(
	ulimit -n 512 && exec "$QCC_RUN_BIN" --state-dir "$T/lowfd" --listen "127.0.0.1:$(free_port)" \
		"$T/table.bin"
) >/dev/null 2>"$T/lowfd.err" &
lowpid=$!
track_pid "$lowpid"
wait_until 50 0.1 grep -q 'needs about' "$T/lowfd.err"
assert_contains "max_connections over the hard open-files limit: warned" "$(cat "$T/lowfd.err")" \
	"proxy.max_connections $((SLOW + 100)) needs about $(((SLOW + 100) * 2 + 64)) open files"
kill -TERM "$lowpid" 2>/dev/null
wait "$lowpid" 2>/dev/null
# A soft limit below the hard one is raised to it.
hard=$(ulimit -Hn)
ulimit -Sn 256
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin" --metrics-listen "127.0.0.1:$MPORT"
ulimit -Sn "$hard"
soft=$(awk '/^Max open files/ {print $4}' "/proc/$QCC_PID/limits")
assert_eq "soft open-files limit raised to the hard one ($hard)" "$hard" "$soft"
assert_eq "no fd warning when max_connections fits" "0" "$(grep -c 'needs about' "$QCC_ERR_LOG")"
P=$(qcc_url)

metric() { curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
now_ms() { date +%s%3N; }

# ---- idle keep-alive versus the header timeout ---------------------------------------
# get_healthz : one GET /healthz on fd 3, prints the status
get_healthz() {
	local line clen=0
	printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&3
	IFS= read -r -t 5 line <&3 || { echo none; return; }
	local status=${line#HTTP/1.1 }
	while IFS= read -r -t 5 line <&3; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case ${line,,} in content-length:*) clen=${line#*: } ;; esac
	done
	[ "$clen" -gt 0 ] && read -r -t 5 -N "$clen" _ <&3
	echo "${status%% *}"
}
exec 3<>"/dev/tcp/127.0.0.1/$QCC_PORT"
assert_eq "keep-alive: first request" "200" "$(get_healthz)"
sleep $((HEADER_TIMEOUT_MS / 1000 + 1)) # idle past header_timeout, well within idle_timeout
assert_eq "idle longer than header_timeout: the connection still serves" "200" "$(get_healthz)"
t0=$(now_ms)
printf 'GET /healthz HTTP/1.1\r\nHo' >&3 # a new request started, never finished
IFS= read -r -t 10 line <&3
t1=$(now_ms)
assert_eq "an unfinished head on a kept-alive connection -> 408" "HTTP/1.1 408" "${line:0:12}"
el=$((t1 - t0))
assert_eq "... after header_timeout from its first byte (${el} ms)" "yes" \
	"$([ "$el" -ge $((HEADER_TIMEOUT_MS - 300)) ] && [ "$el" -le $((HEADER_TIMEOUT_MS + 3000)) ] && echo yes || echo no)"
exec 3>&-
# a first head is due header_timeout after accept, however late its first byte
exec 3<>"/dev/tcp/127.0.0.1/$QCC_PORT"
t0=$(now_ms)
sleep $((HEADER_TIMEOUT_MS / 2000))
printf 'G' >&3
IFS= read -r -t 10 line <&3
t1=$(now_ms)
exec 3>&-
el=$((t1 - t0))
assert_eq "a late first byte earns no extension: 408 header_timeout after accept (${el} ms)" \
	"HTTP/1.1 408 yes" \
	"${line:0:12} $([ "$el" -ge $((HEADER_TIMEOUT_MS - 300)) ] && [ "$el" -le $((HEADER_TIMEOUT_MS * 3 / 2 - 200)) ] && echo yes || echo no)"
# a connection that sends nothing is closed header_timeout after accept
exec 3<>"/dev/tcp/127.0.0.1/$QCC_PORT"
t0=$(now_ms)
timeout 10 cat <&3 >"$T/silent.out"
t1=$(now_ms)
exec 3>&-
el=$((t1 - t0))
assert_eq "a silent connection is closed header_timeout after accept, quietly (${el} ms)" "yes 0" \
	"$([ "$el" -ge $((HEADER_TIMEOUT_MS - 300)) ] && [ "$el" -le $((HEADER_TIMEOUT_MS + 3000)) ] && echo yes || echo no) $(wc -c <"$T/silent.out")"

# ---- slowloris ----------------------------------------------------------------------
# one byte per 250 ms: 12 bytes of head before header_timeout cuts them off
"$SLOWLORIS" --port "$QCC_PORT" --conns $SLOW --interval-ms 250 --max-seconds 20 \
	--ready-file "$T/slow.ready" >"$T/slow.json" 2>"$T/slow.err" &
slowpid=$!
track_pid "$slowpid"
wait_until 100 0.05 test -s "$T/slow.ready" || bail_out "slowloris did not connect: $(cat "$T/slow.err")"
assert_eq "all $SLOW slow connections established" "$SLOW" "$(cat "$T/slow.ready")"
# while they hang on: normal requests, each timed
lat_max=0 codes="" lats=""
for i in $(seq 10); do
	out=$(curl -sS -m 10 -o /dev/null -w '%{http_code} %{time_total}' "$P/v1/messages" \
		-H 'x-api-key: c' -d "$(body_json m)" 2>/dev/null)
	codes+="${out%% *} "
	ms=$(awk -v s="${out##* }" 'BEGIN {printf "%d", s * 1000}')
	lats+="$ms "
	[ "$ms" -gt "$lat_max" ] && lat_max=$ms
done
active=$(metric qcc_active_connections)
diag "10 requests among $SLOW slow connections: ${lats}ms; $active connections open"
assert_eq "normal requests served while the slow ones hang on" "$(printf '200 %.0s' $(seq 10))" "$codes"
assert_le "... each within 2000 ms (slowest ${lat_max} ms)" "$lat_max" 2000
assert_le "... and the slow ones were all still open then ($active >= $SLOW)" "$SLOW" "${active:-0}"
for i in $(seq 250); do kill -0 "$slowpid" 2>/dev/null || break; sleep 0.1; done
wait "$slowpid"
diag "slowloris: $(cat "$T/slow.json")"
j() { jq -r ".$1" "$T/slow.json"; }
assert_eq "every slow connection closed by qcc-run, none refused" \
	"closed=$SLOW 408=$SLOW 503=0 still_open=0" \
	"closed=$(j closed) 408=$(j got_408) 503=$(j got_503) still_open=$(j still_open)"
assert_le "... none before header_timeout ($(j close_ms_min) ms)" "$((HEADER_TIMEOUT_MS - 200))" "$(j close_ms_min)"
assert_le "... all within header_timeout + 4 s ($(j close_ms_max) ms)" "$(j close_ms_max)" "$((HEADER_TIMEOUT_MS + 4000))"
wait_until 50 0.1 test "$(metric qcc_active_connections)" = 0
assert_eq "no connection left open afterwards" "0" "$(metric qcc_active_connections)"
assert_eq "none refused" "0" "$(metric qcc_connections_refused_total)"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/v1/messages" -H 'x-api-key: c' -d "$(body_json m)")
assert_eq "a request afterwards is served" "200" "$code"
stop_qcc
done_testing
