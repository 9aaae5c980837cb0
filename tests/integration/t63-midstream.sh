#!/bin/bash
# A stream that breaks after bytes reached the client (issue 4): no retry;
# the client gets an SSE `event: error` and a clean end; the access log marks
# the request failed (not a plain 200); the endpoint is charged (journal:
# with max_failures 1 its breaker opens).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a --events 12
start_mock b --events 12
it_keys a b
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
journal:
  fsync: always
profiles:
  - name: main
    endpoints:
$(ep_yaml a "priority: 1" "max_failures: 1")
$(ep_yaml b "priority: 2")
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"

mock_fault a 'reset_mid_stream&after=4&count=1'
out=$(curl -sS -N -m 10 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream cut)" 2>/dev/null)
assert_le "the first events reached the client" 4 "$(grep -c '^event: ' <<<"$out")"
assert_eq "no message_stop" "0" "$(grep -c '^event: message_stop' <<<"$out")"
assert_eq "an SSE error event ends the stream" "1" "$(grep -c '^event: error' <<<"$out")"
assert_contains "the error event is Anthropic-shaped" "$out" '"type":"error"'
assert_eq "not replayed on B" "0" "$(mock_requests b | wc -l)"
line=$(jq -c 'select(.path=="/v1/messages")' "$QCC_ACCESS_LOG" | tail -1)
assert_eq "access log: failed=true" "true" "$(jq -r .failed <<<"$line")"
assert_eq "access log: endpoint a" "a" "$(jq -r .endpoint <<<"$line")"
# charged to the endpoint: its breaker opened (max_failures 1)
wait_until 40 0.05 bash -c "'$QCCC_BIN' journal show --json --state-dir '$QCC_STATE' | jq -e '[.[] | select(.type==\"breaker\" and .endpoint.id==\"a\" and .to==\"open\")] | length == 1'"
assert_eq "journal: a's breaker opened" "1" \
	"$(journal_json | jq '[.[] | select(.type=="breaker" and .endpoint.id=="a" and .to=="open")] | length')"
# the next request goes to B at once (A is out)
assert_eq "next request answered by B" "200 b" "$(ask "$(body_json after)")"
stop_qcc
done_testing
