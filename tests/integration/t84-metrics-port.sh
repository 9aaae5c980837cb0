#!/bin/bash
# The optional loopback metrics port (issue 6 "GET /metrics ... on the admin
# socket and, optionally, a loopback TCP port"): `qcc-run --metrics-listen
# 127.0.0.1:PORT` serves GET /metrics (through the strict exposition checker)
# and GET /healthz there, nothing else; a non-loopback address is refused.
. "$(dirname "$0")/lib.sh"
PROMCHECK=$QCC_BUILD_ROOT/tests/integration/promcheck
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN" "$PROMCHECK"

start_mock a
it_keys a
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml a)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"

# ---- refused addresses: usage error (2) before anything starts --------------
for addr in 0.0.0.0:9 192.0.2.1:9 "[::]:9" localhost:9; do
	"$QCC_RUN_BIN" --state-dir "$T/refused" --metrics-listen "$addr" "$T/table.bin" \
		>/dev/null 2>"$T/refused.err"
	assert_eq "--metrics-listen $addr is refused (exit 2)" "2" "$?"
	assert_contains "--metrics-listen $addr: the message says loopback only" \
		"$(cat "$T/refused.err")" "loopback"
done
check "a refused start creates no state" test ! -e "$T/refused/admin.sock"

# ---- the loopback port ---------------------------------------------------------
MPORT=$(free_port)
start_qcc "$T/table.bin" --metrics-listen "127.0.0.1:$MPORT"
M="http://127.0.0.1:$MPORT"
assert_eq "request through the proxy" "200 a" "$(ask "$(body_json m1)")"
code=$(curl -sS -m 5 -o "$T/m.txt" -w '%{http_code}' "$M/metrics")
assert_eq "GET /metrics on the TCP port: 200" "200" "$code"
check "its /metrics passes the strict exposition checker" "$PROMCHECK" "$T/m.txt"
assert_contains "it counts the request just made" "$(cat "$T/m.txt")" 'endpoint="a"'
curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/metrics >"$T/sock.txt"
assert_eq "the same families as on the admin socket" \
	"$(grep '^# TYPE' "$T/sock.txt" | sort)" "$(grep '^# TYPE' "$T/m.txt" | sort)"
assert_eq "GET /healthz on the TCP port: 200" "200" \
	"$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$M/healthz")"
assert_eq "GET /status (admin only) is not served there: 404" "404" \
	"$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$M/status")"
assert_eq "POST /queue/clear is not served there" "404" \
	"$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST "$M/queue/clear")"
assert_eq "POST /endpoints/a/disable is not served there" "404" \
	"$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST "$M/endpoints/a/disable")"
check "the port is logged" grep -q "metrics on http://127.0.0.1:$MPORT/metrics" "$QCC_ERR_LOG"
stop_qcc
check "the port is closed after exit" bash -c "! curl -sS -m 2 -o /dev/null '$M/metrics'"
done_testing
