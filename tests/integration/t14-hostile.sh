#!/bin/bash
# Hostile input is refused early (issue 13): paths whose dot-segments (raw or
# percent-encoded) leave /v1/ get 400 and never reach the upstream, harmless
# ones are forwarded in normal form; a request without the client token gets
# its 401 as soon as its head is complete, before any body byte, and such
# requests cannot grow qcc-run's memory; refused connections are counted in
# /metrics and logged at most once a second.
. "$(dirname "$0")/lib.sh"
PROMCHECK=$QCC_BUILD_ROOT/tests/integration/promcheck
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN" "$PROMCHECK"
[ -z "${QCC_IT_WRAPPER:-}" ] || skip_all "timing and RSS bounds are meaningless under $QCC_IT_WRAPPER"
export MALLOC_PERTURB_=0 # meson's setting makes every buffer resident: measure real use

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
start_mock up1 --key-env QCC_IT_KEY_UP1
QCC_PORT=$(free_port)
MPORT=$(free_port)
# config MAX_CONNECTIONS : the test's qcc.yaml
config() {
	cat <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $QCC_PORT
  max_connections: $1
  auth_tokens:
    - env: QCC_IT_CLIENT_TOKEN
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml up1)
YAML
}
config 1000 >"$T/qcc.yaml"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin" --metrics-listen "127.0.0.1:$MPORT"
P=$(qcc_url)
AUTH="x-api-key: $QCC_IT_CLIENT_TOKEN"

# ---- paths ------------------------------------------------------------------------
mock_reset up1
# --path-as-is: curl would otherwise remove the dot-segments itself
for path in /v1/../api/x /v1/%2e%2e/x /v1/%2E%2E/x /v1/.%2e/api /v1/models/../../x \
	/v1/%2e%2e/%2e%2e/x '/v1/..%2fapi' '/v1/%2f../x' '/v1/..;/api' '/v1/%2e%2e%3b/api' \
	'/v1/%zz' '/x/../healthz'; do
	code=$(curl -sS -m 10 --path-as-is -o "$T/path.json" -w '%{http_code}' "$P$path" -H "$AUTH" \
		-d "$(body_json m)")
	assert_eq "$path -> 400" "400" "$code"
	assert_eq "$path: Anthropic error shape" "error invalid_request_error" \
		"$(jq -r '[.type, .error.type] | join(" ")' "$T/path.json" 2>/dev/null)"
done
assert_eq "the upstream received none of them" "0" "$(mock_requests up1 | wc -l)"
assert_eq "mock counters agree: no API request at all" "0" \
	"$(curl -sS -m 5 "$(mock_url up1)/_control/stats" | jq -r '.messages + .models + .count_tokens + .other')"

# harmless dot-segments inside /v1/: forwarded in normal form
code=$(curl -sS -m 10 --path-as-is -o /dev/null -w '%{http_code}' "$P/v1/models/../messages" \
	-H "$AUTH" -d "$(body_json m)")
assert_eq "/v1/models/../messages -> forwarded (200)" "200" "$code"
code=$(curl -sS -m 10 --path-as-is -o /dev/null -w '%{http_code}' "$P/v1/./%6dodels?limit=2" -H "$AUTH")
assert_eq "/v1/./%6dodels?limit=2 -> forwarded (200)" "200" "$code"
assert_eq "the upstream saw the normal forms" "/v1/messages /v1/models?limit=2" \
	"$(mock_requests up1 '.path' | tr -d '"' | tr '\n' ' ' | sed 's/ $//')"
assert_contains "the access log shows the path as forwarded" "$(tail -n 1 "$QCC_ACCESS_LOG")" \
	'"/v1/models"'

# ---- the client token, before the body ----------------------------------------
# open_raw FD HEAD : a connection that sends HEAD (printf %b) and nothing else
now_ms() { date +%s%3N; }
early_401() { # HEADERS -> "STATUS MS EOF" (EOF yes when the server closed after its reply)
	local line t0 t1 eof=no
	exec 3<>"/dev/tcp/127.0.0.1/$QCC_PORT" || return 1
	t0=$(now_ms)
	printf '%b' "POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 30000000\r\n$1\r\n" >&3
	IFS= read -r -t 5 line <&3
	t1=$(now_ms)
	timeout 3 cat <&3 >/dev/null && eof=yes
	exec 3>&-
	line=${line%$'\r'}
	echo "$(echo "${line#HTTP/1.? }" | cut -d' ' -f1) $((t1 - t0)) $eof"
}
read -r s ms eof <<<"$(early_401 '')"
assert_eq "no token, 30 MB declared, no body sent -> 401" "401" "$s"
assert_le "... within 1 s (${ms} ms)" "${ms:-99999}" 1000
assert_eq "... and the connection is closed" "yes" "$eof"
read -r s ms eof <<<"$(early_401 'x-api-key: wrong\r\n')"
assert_eq "wrong token, 30 MB declared -> 401 within 1 s" "401 yes" "$s $([ "${ms:-99999}" -le 1000 ] && echo yes || echo "no: $ms ms")"
read -r s ms eof <<<"$(early_401 'x-api-key: wrong\r\nexpect: 100-continue\r\n')"
assert_eq "wrong token with Expect: 100-continue -> 401, no 100 Continue" "401" "$s"

# Memory: 8 connections without a token each push 3 MB of body. Before the
# early check they were buffered (8 took RSS from 10 to 258 MB).
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$QCC_PID/status"; }
base=$(status_kib VmRSS)
echo 5 >"/proc/$QCC_PID/clear_refs" 2>/dev/null # VmHWM from here
pids=()
for i in 1 2 3 4 5 6 7 8; do
	(
		exec 3<>"/dev/tcp/127.0.0.1/$QCC_PORT" || exit 0
		printf 'POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-length: 30000000\r\n\r\n' >&3
		head -c 3000000 /dev/zero >&3
	) 2>/dev/null &
	pids+=($!)
done
for i in $(seq 100); do
	alive=0
	for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ "$alive" = 0 ] && break
	sleep 0.1
done
for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
hwm=$(status_kib VmHWM)
diag "RSS: $base KiB before, peak $hwm KiB with 8 unauthenticated 3 MB uploads"
if ldd "$QCC_RUN_BIN" 2>/dev/null | grep -q 'libasan'; then
	diag "sanitizer build: shadow memory and quarantine are RSS too; the bound is not checked"
else
	assert_le "peak RSS grew by <= 8 MiB (3 MB x 8 would be buffered before)" "$((hwm - base))" 8192
fi
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/v1/messages" -H "$AUTH" -d "$(body_json m)")
assert_eq "a good request still works" "200" "$code"
stop_qcc

# ---- refused connections: counted and logged, rate-limited ----------------------
config 2 >"$T/qcc2.yaml"
build_table "$T/qcc2.yaml" "$T/table2.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
: >"$T/qcc-run.err"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table2.bin" --metrics-listen "127.0.0.1:$MPORT"
exec 4<>"/dev/tcp/127.0.0.1/$QCC_PORT" 5<>"/dev/tcp/127.0.0.1/$QCC_PORT" # two idle: the limit
refused_total() {
	curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "qcc_connections_refused_total" {print $2}'
}
wait_until 50 0.05 test "$(curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" |
	awk '$1 == "qcc_active_connections" {print $2}')" = 2
codes=""
for i in 1 2 3 4 5; do
	codes+="$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$P/v1/models" -H "$AUTH" 2>/dev/null) "
done
assert_eq "over max_connections: 503 each" "503 503 503 503 503 " "$codes"
assert_eq "qcc_connections_refused_total counts them" "5" "$(refused_total)"
curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" >"$T/metrics.txt"
check "the exposition stays valid" "$PROMCHECK" "$T/metrics.txt"
sleep 1.3 # the period ends: one summary line with the rest
assert_eq "logged once at once, then one line with the count" "1 1" \
	"$(grep -c 'refused a connection' "$QCC_ERR_LOG") $(grep -c 'refused 4 more connections in the last 1 s' "$QCC_ERR_LOG")"
exec 4>&- 5>&-
stop_qcc
done_testing
