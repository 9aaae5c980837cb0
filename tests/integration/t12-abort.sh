#!/bin/bash
# A client that disconnects mid-stream cancels its upstream transfer: the mock
# sees its connection closed at once, not when the stream would have ended.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
# 56 events, 100 ms apart: 5.5 s if nobody hangs up
start_mock up1 --key-env QCC_IT_KEY_UP1 --event-delay-ms 100
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"

got=$(curl -sS -N -m 0.6 "$(qcc_url)/v1/messages" -H "x-api-key: client-token" -d "$(body_stream abort)" 2>/dev/null |
	grep -c '^event: ')
assert_le "client got some events before hanging up" 1 "${got:-0}"
if wait_until 30 0.05 grep -q '"client_closed"' "${MOCK_LOG[up1]}"; then
	ok "upstream connection closed after the client hung up"
else
	not_ok "upstream connection closed after the client hung up" "no client_closed in the mock log within 1.5 s"
fi
ab=$(jq -c 'select(.event=="client_closed")' "${MOCK_LOG[up1]}" | head -1)
el=$(jq -r '.elapsed_ms | floor' <<<"$ab" 2>/dev/null)
assert_le "upstream saw the close within 1200 ms of the request (stream would last 5500)" "${el:-99999}" 1200
sent=$(jq -r .events_sent <<<"$ab" 2>/dev/null)
assert_le "upstream stopped early (events sent < 30 of 56)" "${sent:-999}" 30
assert_eq "no upstream stream completed" "0" "$(mock_stat up1 streams_completed)"
# the proxy keeps serving after the abort
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/models" -H "x-api-key: client-token")
assert_eq "proxy still serves after an abort" "200" "$code"

stop_qcc
done_testing
