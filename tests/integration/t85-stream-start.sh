#!/bin/bash
# A stream that fails before its first content (issue 11): the upstream
# resets right after message_start, or after the events before the first
# content_block_delta. qcc-run held those events, so the request goes to the
# next endpoint and the client sees one clean stream: one message_start, the
# whole text of B, a message_stop, no error event. The failed endpoint is
# charged (access log names B; A's request is in its own log).
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
profiles:
  - name: main
    endpoints:
$(ep_yaml a "priority: 1" "max_failures: 5")
$(ep_yaml b "priority: 2")
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"

# one_stream NAME AFTER: A resets after AFTER events (before any content)
one_stream() {
	local name=$1 after=$2 out
	mock_reset a
	mock_reset b
	mock_fault a "reset_mid_stream&after=$after&count=1"
	out=$(curl -sS -N -m 15 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream "$name")" 2>&1)
	assert_eq "$name: one message_start" "1" "$(grep -c '^event: message_start' <<<"$out")"
	assert_eq "$name: a message_stop" "1" "$(grep -c '^event: message_stop' <<<"$out")"
	assert_eq "$name: no error event" "0" "$(grep -c '^event: error' <<<"$out")"
	assert_contains "$name: the text is B's" "$out" 'Hello from b'
	assert_not_contains "$name: nothing of A's" "$out" 'Hello from a'
	assert_eq "$name: A was tried once" "1" "$(mock_requests a 'select(.path=="/v1/messages")' | wc -l)"
	assert_eq "$name: B served it" "1" "$(mock_requests b 'select(.path=="/v1/messages")' | wc -l)"
	local line
	line=$(jq -c 'select(.path=="/v1/messages")' "$QCC_ACCESS_LOG" | tail -1)
	assert_eq "$name: access log: endpoint b, not failed" "b false" \
		"$(jq -r '"\(.endpoint) \(.failed)"' <<<"$line")"
}

one_stream reset-after-message-start 1
one_stream reset-after-ping 3

# after content, nothing is retried (t63): the client's stream errors
mock_reset a
mock_reset b
mock_fault a 'reset_mid_stream&after=5&count=1'
out=$(curl -sS -N -m 15 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_stream late)" 2>/dev/null)
assert_eq "after content: the stream ends in an error event" "1" "$(grep -c '^event: error' <<<"$out")"
assert_eq "after content: no message_stop" "0" "$(grep -c '^event: message_stop' <<<"$out")"
assert_eq "after content: not replayed on B" "0" "$(mock_requests b 'select(.path=="/v1/messages")' | wc -l)"

stop_qcc
done_testing
