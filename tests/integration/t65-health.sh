#!/bin/bash
# Active health checks in qcc-run (issue 4), observed through the journal
# (`qccc journal show --json`): a hanging upstream is marked unhealthy within
# check_interval + timeout; a slow one becomes degraded; a hot swap keeps the
# health state of unchanged endpoints; health.enabled false sends no probe.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock h
start_mock s
start_mock g
it_keys h s g

config() { # OUT ENABLED G_WEIGHT
	cat >"$1" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: $2
  check: messages
  check_interval: 1s
  timeout: 2s
  retry_count: 0
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml h)
$(ep_yaml s)
$(ep_yaml g "weight: $3")
YAML
}
config "$T/qcc.yaml" true 100
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"
now_ms() { date +%s%3N; }
jcount() { journal_json | jq "[.[] | $1] | length"; }

# checks run for every endpoint, with the endpoint's key
wait_until 60 0.1 test "$(jcount 'select(.type=="health_check" and .endpoint.id=="g" and .ok)')" -ge 2
assert_le "health checks recorded for g" 2 "$(jcount 'select(.type=="health_check" and .endpoint.id=="g" and .ok)')"
assert_eq "the probe is POST /v1/messages with max_tokens 1 (mock log)" "messages" \
	"$(mock_requests g 'select(.path=="/v1/messages") | "messages"' | head -1 | tr -d '"')"
assert_eq "the probe carries the endpoint's key (mock log: x-api-key present)" "x-api-key" \
	"$(mock_requests g '.auth' | head -1 | tr -d '"')"

# a hanging upstream: unhealthy within check_interval + timeout (1 s + 2 s)
t0=$(now_ms)
mock_fault h hang
for i in $(seq 60); do
	[ "$(jcount 'select(.type=="health_status" and .endpoint.id=="h" and .to=="unhealthy")')" -ge 1 ] && break
	sleep 0.1
done
tu=$(journal_json | jq '[.[] | select(.type=="health_status" and .endpoint.id=="h" and .to=="unhealthy")][0].time_ms // 0')
assert_ne "hanging upstream marked unhealthy" "0" "$tu"
diag "unhealthy $((tu - t0)) ms after it started hanging (interval 1000 + timeout 2000)"
assert_le "within check_interval + timeout (+ 300 ms scheduling)" "$((tu - t0))" 3300

# a slow upstream: degraded once its latency is well above its own baseline
wait_until 150 0.1 test "$(jcount 'select(.type=="health_check" and .endpoint.id=="s" and .ok)')" -ge 9
mock_fault s 'slow&delay_ms=900'
for i in $(seq 250); do
	[ "$(jcount 'select(.type=="health_status" and .endpoint.id=="s" and .to=="degraded")')" -ge 1 ] && break
	sleep 0.1
done
assert_eq "slow upstream becomes degraded" "1" \
	"$(jcount 'select(.type=="health_status" and .endpoint.id=="s" and .to=="degraded")')"
assert_eq "slow upstream is not called unhealthy" "0" \
	"$(jcount 'select(.type=="health_status" and .endpoint.id=="s" and .to=="unhealthy")')"

# hot swap (only g's weight changes): h stays unhealthy, no new transition
before_checks=$(jcount 'select(.type=="health_check" and .endpoint.id=="h")')
g0=$(healthz_generation)
config "$T/qcc.yaml" true 50
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
wait_generation_above "$g0" >/dev/null || bail_out "new table not picked up"
sleep 3.5
assert_le "table_swap recorded" 1 "$(jcount 'select(.type=="table_swap" and .ok)')"
assert_le "h is still checked after the swap" "$((before_checks + 1))" \
	"$(jcount 'select(.type=="health_check" and .endpoint.id=="h")')"
assert_eq "swap kept h's state: still exactly one transition to unhealthy, none back" "1 0" \
	"$(jcount 'select(.type=="health_status" and .endpoint.id=="h" and .to=="unhealthy")') $(jcount 'select(.type=="health_status" and .endpoint.id=="h" and .to!="unhealthy")')"

# h answers again: the next passed check makes it healthy at once (issue 16),
# not degraded; status and endpoint list still show its last error and its age
mock_fault h ok
for i in $(seq 80); do
	[ "$(jcount 'select(.type=="health_status" and .endpoint.id=="h" and .to!="unhealthy")')" -ge 1 ] && break
	sleep 0.1
done
assert_eq "recovered: h goes straight from unhealthy to healthy" "healthy" \
	"$(journal_json | jq -r '[.[] | select(.type=="health_status" and .endpoint.id=="h" and .to!="unhealthy")][0].to')"
st=$("$QCCC_BIN" status --state-dir "$QCC_STATE" 2>&1)
assert_contains "status: h healthy, its last error with its age" "$st" "h healthy, last error: active check failed"
assert_contains "status: the error's age" "$(grep ' h healthy' <<<"$st")" "s ago)"
el=$("$QCCC_BIN" endpoint list --state-dir "$QCC_STATE" 2>&1)
assert_contains "endpoint list: h healthy" "$(grep '^h ' <<<"$el")" "healthy"
assert_contains "endpoint list: h's last error with its age" "$(grep '^  h: ' <<<"$el")" "s ago)"
stop_qcc

# health.enabled false: no probes at all
mock_fault h ok
mock_fault s ok
config "$T/off.yaml" false 100
build_table "$T/off.yaml" "$T/off.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
mock_reset g
start_qcc "$T/off.bin" --state-dir "$T/state-off"
sleep 2.5
assert_eq "health.enabled false: no probe reached g" "0" "$(mock_requests g | wc -l)"
stop_qcc
done_testing
