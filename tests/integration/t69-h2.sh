#!/bin/bash
# HTTP/2 upstreams (issue 12): qcc-run -> nginx (TLS, h2 by ALPN, at most 10
# concurrent streams per connection) -> mock. 150 concurrent streams through
# qcc-run all complete, on a bounded number of upstream connections (nginx's
# log: $connection per request), no first byte stalled by seconds, and a
# client that hangs up mid-stream resets only its stream: its connection goes
# on carrying the others. nginx is Debian's (tools/setup.sh installs it).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v openssl >/dev/null || skip_all "openssl CLI not installed"
nginx_h2 || skip_all "nginx with http_v2 not installed (bash tools/setup.sh)"
STREAMS=150 MAX_STREAMS=10

P=$T/pki
make_pki "$P"

# paced streams (56 events, 80 ms apart: ~4.4 s) so they all overlap, and a
# stream that waited for another to end would show a first byte after 4 s
start_mock up --event-delay-ms 80
# for the Claude Code CLI: a relay at /api/anthropic that checks its key
export QCC_IT_KEY_CC=$(make_secret sk-it-cc)
start_mock cc --key-env QCC_IT_KEY_CC
start_nginx_h2 "$P" 2048 "\
  log_format conns '\$connection \$status \$uri c=\$request_completion \$server_protocol';
  access_log $T/ngx/access.log conns;
  upstream mock { server 127.0.0.1:${MOCK_PORT[up]}; keepalive 256; }" "\
    http2_max_concurrent_streams $MAX_STREAMS;
    location /api/anthropic/ {
      proxy_pass http://127.0.0.1:${MOCK_PORT[cc]}/;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering off;
    }
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering off;
    }"
assert_eq "the terminator speaks h2 (ALPN)" "2" \
	"$(curl -s --cacert "$P/ca.pem" -o /dev/null -w '%{http_version}' -H 'content-type: application/json' \
		--data "$(body_json claude-sonnet-4-5)" "https://127.0.0.1:$NPORT/v1/messages")"

export QCC_IT_KEY_UP=$(make_secret sk-it-up)
{
	yaml_head
	yaml_profile main
	tls_ep_yaml up "https://127.0.0.1:$NPORT" QCC_IT_KEY_UP "$P/ca.pem" "timeout: 30s"
} >"$T/h2.yaml"
build_table "$T/h2.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
# the warmer's first warm-up (1 s after start) learns that the origin speaks
# h2; the next tick warms the h2 pool the requests then go on
QCC_KEEP_WARM=5 start_qcc "$T/table.bin"
warmups_at_least() { [ "$(grep -c ' /v1/models c=OK' "$T/ngx/access.log")" -ge "$1" ]; }
wait_until 60 0.1 warmups_at_least 2 ||
	bail_out "no two warm-ups reached nginx: $(cat "$T/ngx/access.log")"
sleep 0.5
assert_eq "two warm-ups at start (learn, then warm the h2 pool), no more" "2" \
	"$(grep -c ' /v1/models c=OK' "$T/ngx/access.log")"
assert_eq "on two connections (one per pool)" "2" \
	"$(grep ' /v1/models c=OK' "$T/ngx/access.log" | awk '{print $1}' | sort -u | wc -l)"
: >"$T/ngx/access.log"

# STREAMS streaming requests at once, and one more that hangs up after 2.5 s: mid-stream
# (streams last 4.4 s), and late enough that qcc-run has forwarded it even when a loaded
# machine delays first bytes by ~0.8 s (with 1 s it sometimes never reached nginx). It
# starts first, 0.3 s ahead: started last, under CI's parallel load it once reached nginx
# only after the others had taken every stream slot, and nginx saw it end complete.
mkdir -p "$T/s"
stream_req() { # N [curl args]
	local n=$1
	shift
	curl -sS -m 60 -o "$T/s/$n.body" -w '%{http_code} %{time_starttransfer}\n' "$@" \
		-H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
		--data "$(body_stream claude-sonnet-4-5)" "$(qcc_url)/v1/messages" >"$T/s/$n.res" 2>/dev/null
}
stream_req cancel -m 2.5 &
cancel_pid=$!
sleep 0.3
pids=()
for i in $(seq 1 "$STREAMS"); do
	stream_req "$i" &
	pids+=($!)
done
for p in "${pids[@]}" "$cancel_pid"; do wait "$p"; done
diag "the hang-up stream: $(cat "$T/s/cancel.res" 2>/dev/null) ($(grep -c '^event: ' "$T/s/cancel.body" 2>/dev/null) events before it hung up)"

ok200=$(cat "$T"/s/[0-9]*.res | awk '$1 == 200' | wc -l)
assert_eq "all $STREAMS streams answered 200" "$STREAMS" "$ok200"
full=$(for i in $(seq 1 "$STREAMS"); do grep -c '^event: ' "$T/s/$i.body"; done | sort -u | tr '\n' ' ')
assert_eq "every stream got all 56 events (the hang-up broke none)" "56 " "$full"
assert_eq "every stream ended with message_stop" "$STREAMS" \
	"$(grep -l '^event: message_stop' "$T"/s/[0-9]*.body | wc -l)"
slowest=$(cat "$T"/s/[0-9]*.res | awk '{ if ($2 > m) m = $2 } END { printf "%d", m * 1000 }')
diag "slowest first byte: ${slowest} ms"
assert_le "no first byte waited for another stream to end (<= 3000 ms; streams last 4.4 s)" "$slowest" 3000
streams_logged() { [ "$(grep -c ' /v1/messages c=' "$T/ngx/access.log")" -ge "$1" ]; }
wait_until 50 0.1 streams_logged "$((STREAMS + 1))"
conns=$(grep ' /v1/messages c=' "$T/ngx/access.log" | awk '{print $1}' | sort -u | wc -l)
diag "upstream connections: $conns for $((STREAMS + 1)) streams at $MAX_STREAMS per connection"
diag "nginx logged $(grep -c ' /v1/messages c=' "$T/ngx/access.log") of $((STREAMS + 1)) streams"
assert_le "at least $((STREAMS / MAX_STREAMS)) connections (the limit held)" "$((STREAMS / MAX_STREAMS))" "$conns"
assert_le "at most $((2 * STREAMS / MAX_STREAMS)) upstream connections (bounded)" "$conns" "$((2 * STREAMS / MAX_STREAMS))"
cconn=$(awk '$3 == "/v1/messages" && $4 != "c=OK" {print $1}' "$T/ngx/access.log" | head -1)
[ -n "$cconn" ] || diag "nginx's log: $(awk '{print $3, $4}' "$T/ngx/access.log" | sort | uniq -c | tr '\n' ';')"
assert_ne "nginx saw one stream end unfinished (the hang-up)" "" "$cconn"
assert_eq "only that one" "1" "$(awk '$3 == "/v1/messages" && $4 != "c=OK"' "$T/ngx/access.log" | wc -l)"
assert_le "its connection carried other streams to the end" 1 \
	"$(awk -v c="$cconn" '$1 == c && $4 == "c=OK"' "$T/ngx/access.log" | wc -l)"
stop_qcc

# ---- the Claude Code CLI through qcc-run to the TLS h2 relay with a path prefix ----
CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if [ -x "$CLIENTS/node_modules/.bin/claude" ] && command -v node >/dev/null; then
	export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
	{
		QCC_PORT='' yaml_head $'auth_tokens:\n  - env: QCC_IT_CLIENT_TOKEN'
		yaml_profile main
		tls_ep_yaml relay "https://127.0.0.1:$NPORT/api/anthropic" QCC_IT_KEY_CC "$P/ca.pem"
	} >"$T/cc.yaml"
	build_table "$T/cc.yaml" "$T/cc.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
	: >"$T/ngx/access.log"
	QCC_KEEP_WARM=5 start_qcc "$T/cc.bin"
	if (cd "$CLIENTS" && QCC_IT_BASE_URL=$(qcc_url) QCC_IT_CLIENT_TOKEN=$QCC_IT_CLIENT_TOKEN \
		QCC_IT_UPSTREAM_NAME=cc QCC_IT_MOCK_LOG="${MOCK_LOG[cc]}" \
		timeout 120 node --test --test-reporter=tap claude-code.test.mjs) >"$T/node.out" 2>&1; then
		ok "claude -p through qcc-run to a TLS h2 relay at /api/anthropic"
	else
		not_ok "claude -p through qcc-run to a TLS h2 relay at /api/anthropic" \
			"$(grep -E 'not ok|error|expected|actual|stderr|Error' "$T/node.out" | head -20)"
	fi
	assert_le "the relay saw Claude Code's requests over h2 at /api/anthropic/v1/messages" 1 \
		"$(grep -c ' /api/anthropic/v1/messages c=OK HTTP/2.0' "$T/ngx/access.log")"
	assert_not_contains "client token not in qcc-run's logs" "$(cat "$QCC_ACCESS_LOG" "$QCC_ERR_LOG")" \
		"$QCC_IT_CLIENT_TOKEN"
	stop_qcc
else
	diag "Claude Code CLI not installed (npm ci in tests/clients): its h2 relay check not run"
fi
done_testing
