#!/bin/bash
# The global in-flight limit in qcc-run (issue 6, limits.h): with
# QCC_MAX_IN_FLIGHT=1:1 one request is forwarded at a time, one more waits
# for its slot (and is answered when the first ends), and a third is
# answered 429 rate_limit_error with retry-after at once; the counters show
# it (qccc status --json, /metrics).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

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
export QCC_MAX_IN_FLIGHT=1:1
start_qcc "$T/table.bin"
Q() { "$QCCC_BIN" "$@" --state-dir "$QCC_STATE"; }
now_ms() { date +%s%3N; }
post_bg() { # OUT
	curl -sS -m 20 -o "$1" -w '%{http_code}' "$(qcc_url)/v1/messages" -H 'x-api-key: c' \
		-d "$(body_json m)" >"$1.code" 2>/dev/null &
	BG_PID=$!
	track_pid "$BG_PID"
}

mock_fault a 'slow&delay_ms=1500'
t0=$(now_ms)
post_bg "$T/r1"
p1=$BG_PID
# the upstream has it (read afresh on every try)
messages_seen() { test "$(mock_stat a messages 2>/dev/null || echo 0)" -ge 1; }
wait_until 50 0.05 messages_seen
post_bg "$T/r2"
p2=$BG_PID
waiting() { Q status --json | jq -r '.requests.waiting'; }
one_waits() { test "$(waiting)" -ge 1; }
wait_until 50 0.05 one_waits
assert_eq "status --json: one request waits for a slot" "1" \
	"$(waiting)"
t1=$(now_ms)
code=$(curl -sS -m 10 -D "$T/r3.head" -o "$T/r3" -w '%{http_code}' "$(qcc_url)/v1/messages" \
	-H 'x-api-key: c' -d "$(body_json m)")
t2=$(now_ms)
assert_eq "beyond the limit and the wait list: 429" "429" "$code"
assert_le "at once (< 500 ms)" "$((t2 - t1))" 500
assert_eq "rate_limit_error" "rate_limit_error" "$(jq -r '.error.type' "$T/r3")"
check "with retry-after" grep -qi '^retry-after: [0-9]' "$T/r3.head"
wait "$p1" "$p2"
t3=$(now_ms)
assert_eq "the first is answered" "200" "$(cat "$T/r1.code")"
assert_eq "the waiting one is answered when the slot frees" "200" "$(cat "$T/r2.code")"
assert_le "one at a time: the two took >= 2 x 1.5 s" 2900 "$((t3 - t0))"
diag "two requests through one slot: $((t3 - t0)) ms"
assert_le "status --json counts the rejection" 1 \
	"$(Q status --json | jq -r '.requests.rejected')"
m=$(curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/metrics)
assert_contains "/metrics: the 429 is counted" "$m" 'status="429"'

stop_qcc
stop_mocks
done_testing
