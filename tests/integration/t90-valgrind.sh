#!/bin/bash
# qcc-run under valgrind memcheck through a mix of everything the forwarding
# path does: JSON, SSE (chunked, de-chunked by hand), count_tokens, models, an
# upstream 4xx, a 529 failover, a refused endpoint, a mid-stream break, a
# client abort, bad requests and a hot swap. Exit status 0 on SIGTERM means
# no invalid access, no uninitialised use and no definite leak.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v valgrind >/dev/null || skip_all "valgrind not installed"
# the ASan build checks the same paths with its own runtime, which valgrind cannot host
ldd "$QCC_RUN_BIN" | grep -q 'libasan' && skip_all "qcc-run is built with ASan (that run is the check)"

start_mock a --events 20
start_mock b --events 20
it_keys a b gone
gone_port=$(free_port) # nothing listens: connections are refused
MOCK_PORT[gone]=$gone_port
write_config() {
	cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: false
queue:
  enabled: false
loadbalancer:
  strategy: failover
profiles:
  - name: main
    endpoints:
$(ep_yaml gone "priority: 1")
$(ep_yaml a "priority: 2" "$1")
$(ep_yaml b "priority: 3")
YAML
}
write_config "weight: 1"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_IT_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite" \
	start_qcc "$T/table.bin"

ASK_TIMEOUT=30
assert_eq "JSON through a refused first endpoint" "200 a" "$(ask "$(body_json j1)")"
out=$(curl -sS -N -m 30 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream s1)" 2>/dev/null)
assert_eq "SSE: every event arrived" "20" "$(grep -c '^event: ' <<<"$out")"
assert_eq "SSE: ends with message_stop" "event: message_stop" "$(grep '^event: ' <<<"$out" | tail -1)"
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/messages/count_tokens" -H 'x-api-key: c' -d "$(body_json ct)")
assert_eq "count_tokens" "200" "$code"
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/models?limit=2" -H 'x-api-key: c')
assert_eq "models" "200" "$code"
mock_fault a 'status=400&count=1'
assert_eq "upstream 400 passed through" "400 -" "$(ask "$(body_json bad)")"
mock_fault a 'status=529&count=1'
assert_eq "529 fails over to b" "200 b" "$(ask "$(body_json over)")"
sleep 1.5 # a rests 1 s after its 529, then takes traffic again
mock_fault a 'reset_mid_stream&after=5&count=1'
out=$(curl -sS -N -m 30 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream cut)" 2>/dev/null)
assert_eq "mid-stream break ends in an SSE error event" "1" "$(grep -c '^event: error' <<<"$out")"
mock_fault a 'slow&delay_ms=200&count=1'
curl -sS -N -m 1 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream abort)" >/dev/null 2>&1
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/messages" -H 'x-api-key: c' -H 'content-type: application/json' --data-binary '{"model": ')
assert_le "a truncated JSON body is forwarded or refused, never a crash" 200 "${code:-0}"
code=$(printf 'GARBAGE\r\n\r\n' | curl -sS -m 30 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/messages" -H "x-big: $(head -c 70000 /dev/zero | tr '\0' x)" -d x 2>/dev/null)
assert_eq "a 70 KB header gets 431" "431" "$code"
gen=$(healthz_generation)
write_config "weight: 2"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc rebuild failed"
kill -HUP "$QCC_PID"
wait_generation_above "$gen" >/dev/null || not_ok "hot swap took effect" "generation still $gen"
assert_eq "after the swap: still served" "200" "$(ask "$(body_json after)" | cut -d" " -f1)"
stop_qcc
done_testing
