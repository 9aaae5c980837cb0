#!/bin/bash
# Storms through real clients (issue 11): the official SDK's messages.stream
# (no SDK retries) sees one clean stream when upstream a fails before any
# content, and an error (never a clean end) when a fails after content; the
# Claude Code CLI (`claude -p`) completes through qcc-run while a injects a
# 529 storm, a hang or an early SSE error, and no request of its fails.
# Needs node (skips without it); installs tests/clients like t40-clients.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 || skip_all "node is not installed (apt-get install nodejs npm)"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if [ ! -x "$CLIENTS/node_modules/.bin/claude" ] || [ ! -d "$CLIENTS/node_modules/@anthropic-ai/sdk" ]; then
	diag "installing client packages: npm ci in $CLIENTS"
	if ! (cd "$CLIENTS" && timeout 400 npm ci --no-audit --no-fund >"$T/npm.log" 2>&1); then
		bail_out "npm ci failed in tests/clients: $(tail -c 600 "$T/npm.log")"
	fi
fi

export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
it_keys a b
start_mock a --key-env QCC_IT_KEY_A
start_mock b --key-env QCC_IT_KEY_B
QCC_PORT=$(free_port)

cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $QCC_PORT
  access_log: true
  auth_tokens:
    - env: QCC_IT_CLIENT_TOKEN
health:
  enabled: false
queue:
  enabled: true
loadbalancer:
  strategy: failover
  # each scenario expects a asked first: no session kept on b from the last one
  sticky_session: false
profiles:
  - name: main
    endpoints:
$(ep_yaml a "priority: 1" "timeout: 3s")
$(ep_yaml b "priority: 2")
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"

now_ms() { date +%s%3N; }
# fresh: a new qcc-run (empty state), mocks reset
fresh() {
	stop_qcc >/dev/null
	mock_reset a
	mock_reset b
	rm -rf "$T/state" "$T/access.log"
	QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
}
sdk_stream() {
	(cd "$CLIENTS" && QCC_IT_BASE_URL=$(qcc_url) timeout 60 node storm-stream.mjs 2>"$T/node.err")
}
a_messages() { mock_requests a 'select(.path | startswith("/v1/messages"))' | wc -l; }
failed_requests() {
	jq -s '[.[] | select((.path // "") | startswith("/v1/messages")) | select(.failed or .status != 200)] | length' \
		"$QCC_ACCESS_LOG" 2>/dev/null
}

# ---- the SDK's messages.stream --------------------------------------------
for fault in 'sse_error&after=1' 'reset_mid_stream&after=1'; do
	fresh
	mock_fault a "$fault"
	r=$(sdk_stream)
	assert_eq "sdk messages.stream, $fault on a: no error, b's whole answer" \
		"true null end_turn Hello from b." \
		"$(jq -r '"\(.ok) \(.error) \(.stop_reason) \(.text[0:13])"' <<<"$r" 2>/dev/null || echo "$r")"
	assert_eq "sdk messages.stream, $fault on a: one message_start" "1" \
		"$(jq '[.events[] | select(. == "message_start")] | length' <<<"$r" 2>/dev/null)"
	assert_le "sdk messages.stream, $fault on a: a was asked" 1 "$(a_messages)"
done
fresh
mock_fault a 'reset_mid_stream&after=8'
r=$(sdk_stream)
assert_eq "sdk messages.stream, reset on a after content: the stream errors" "false" \
	"$(jq -r '.ok' <<<"$r" 2>/dev/null || echo "$r")"
assert_contains "sdk messages.stream, reset on a after content: a's text had started" \
	"$(jq -r '.text' <<<"$r" 2>/dev/null)" "Hello from a."

# ---- Claude Code --------------------------------------------------------------
# claude-code.test.mjs asserts the answer names b and every request b saw
# succeeded; here also: a was asked (the fault was exercised) and qcc-run
# answered every /v1/messages request 200 (the client never saw the outage).
for fault in 'status=529&retry_after=1' hang 'sse_error&after=1'; do
	fresh
	mock_fault a "$fault"
	t0=$(now_ms)
	if (cd "$CLIENTS" && QCC_IT_BASE_URL=$(qcc_url) QCC_IT_UPSTREAM_NAME=b \
		QCC_IT_MOCK_LOG="${MOCK_LOG[b]}" timeout 120 node --test --test-reporter=tap claude-code.test.mjs) \
		>"$T/cc.out" 2>&1; then
		ok "claude -p completes through qcc-run while a injects $fault"
	else
		not_ok "claude -p completes through qcc-run while a injects $fault" \
			"$(grep -E 'not ok|error|expected|actual|stderr|Error' "$T/cc.out" | head -12)"
	fi
	diag "claude -p with $fault on a: $(($(now_ms) - t0)) ms; a saw $(a_messages), b $(mock_requests b | wc -l) requests"
	assert_le "claude -p with $fault on a: a was asked" 1 "$(a_messages)"
	assert_eq "claude -p with $fault on a: no /v1/messages request failed at qcc-run" "0" "$(failed_requests)"
done

stop_qcc
done_testing
