#!/bin/bash
# The failure queue wired into qcc-run (issue 6): exponential backoff timings
# (QCC_QUEUE_TIME_SCALE), expiry into a dead letter with Anthropic's error
# naming what was tried, a full queue answering 529 + retry-after at once, a
# client disconnect leaving the queue, priority order when an endpoint comes
# back, a waiting request answered as soon as its endpoint recovers, dead
# letters surviving a restart, `queue retry ID | retry-all | clear`, and the
# queue's journal records.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
start_mock b
it_keys a b
config() { # OUT MAX_RETRIES [B_MAX_CONCURRENCY]
	cat >"$1" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: false
queue:
  enabled: true
  max_size: 3
  retry_strategy: exponential_backoff
  max_retries: $2
  max_wait: 600s
  persistence_enabled: true
profiles:
  - name: main
    endpoints:
$(ep_yaml a)
$(ep_yaml b "max_concurrency: ${3:-0}")
YAML
}
config "$T/qcc.yaml" 3
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
# 5 s, 10 s, 20 s ... scaled to 0.5 s, 1 s, 2 s
export QCC_QUEUE_TIME_SCALE=0.1
start_qcc "$T/table.bin"
Q() { "$QCCC_BIN" "$@" --state-dir "$QCC_STATE"; }
now_ms() { date +%s%3N; }
jq_journal() { journal_json | jq -c "$1"; }
# post MODEL OUTFILE [curl args...] : a request; "CODE" then the body in OUTFILE
post() {
	local model=$1 out=$2
	shift 2
	curl -sS -m 30 -o "$out" -D "$out.head" -w '%{http_code}' "$(qcc_url)/v1/messages" \
		-H 'x-api-key: c' "$@" -d "$(body_json "$model")" 2>/dev/null
}
# post_bg MODEL OUTFILE [curl args...] : the same in the background, the
# status code in OUTFILE.code; BG_PID is curl's own pid (to kill the client)
post_bg() {
	local model=$1 out=$2
	shift 2
	curl -sS -m 30 -o "$out" -D "$out.head" -w '%{http_code}' "$(qcc_url)/v1/messages" \
		-H 'x-api-key: c' "$@" -d "$(body_json "$model")" >"$out.code" 2>/dev/null &
	BG_PID=$!
	track_pid "$BG_PID"
}
queued() { Q queue status --json | jq -r '.depth // 0'; }
# queued_is OP N : the queue depth compared with N, read afresh each call
# (for wait_until, which would otherwise see one value expanded up front)
queued_is() { test "$(queued)" "$1" "$2"; }

# ---- backoff, expiry, dead letter --------------------------------------------
mock_fault a 'status=503'
mock_fault b 'status=503'
t0=$(now_ms)
code=$(post bo "$T/r1")
t1=$(now_ms)
assert_eq "a request every upstream fails ends 503 after the queue gives up" "503" "$code"
assert_eq "its body is Anthropic's overloaded_error" "overloaded_error" "$(jq -r '.error.type' "$T/r1")"
msg=$(jq -r '.error.message' "$T/r1")
assert_contains "the message names what was tried (a)" "$msg" "a (HTTP 503)"
assert_contains "the message names what was tried (b)" "$msg" "b (HTTP 503)"
diag "waited $((t1 - t0)) ms; message: $msg"
assert_le "it waited at least 0.5 + 1 + 2 s (3 scaled retries)" 3400 "$((t1 - t0))"
assert_le "and not much longer" "$((t1 - t0))" 6000
rid=$(jq_journal '[.[] | select(.type=="queue_enqueued")][0].request_id' | tr -d '"')
check "journal: queue_enqueued recorded" test -n "$rid" -a "$rid" != null
rt=$(jq_journal "[.[] | select((.type==\"queue_enqueued\" or .type==\"queue_retried\") and (.request_id|tostring)==\"$rid\") | .time_ms]")
assert_eq "journal: enqueued + 3 queue_retried" "4" "$(jq length <<<"$rt")"
gaps=$(jq -r '[range(1; length) as $i | .[$i] - .[$i-1]] | map(tostring) | join(" ")' <<<"$rt")
diag "gaps between failed rounds (ms): $gaps (expected ~500 1000 2000)"
read -r g1 g2 g3 <<<"$gaps"
assert_le "backoff 1 >= 450 ms" 450 "${g1:-0}"
assert_le "backoff 1 < 900 ms" "${g1:-0}" 900
assert_le "backoff 2 >= 950 ms" 950 "${g2:-0}"
assert_le "backoff 2 < 1500 ms" "${g2:-0}" 1500
assert_le "backoff 3 >= 1950 ms" 1950 "${g3:-0}"
assert_le "backoff 3 < 2600 ms" "${g3:-0}" 2600
assert_eq "journal: queue_dead_letter recorded" "1" \
	"$(jq_journal "[.[] | select(.type==\"queue_dead_letter\")] | length")"
dl=$(Q queue list --json | jq -r '.. | objects | select(has("body_kept")) | .id' | head -1)
check "queue list --json shows the dead letter" test -n "$dl"
assert_contains "queue list (text) shows it" "$(Q queue list)" "$dl"
assert_eq "its body is kept (persistence_enabled), file mode 0600" "600" \
	"$(stat -c %a "$QCC_STATE/deadletters/$dl.body" 2>/dev/null)"

# ---- a full queue answers at once; a disconnect leaves the queue -------------
# b takes one request at a time from here on: the queue's priority order
# then decides who goes first when it comes back
config "$T/qcc.yaml" 50 1
g0=$(healthz_generation)
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed"
wait_generation_above "$g0" >/dev/null || bail_out "new table not picked up"
FILL=()
for i in 1 2 3; do
	post_bg "fill$i" "$T/f$i"
	FILL+=("$BG_PID")
done
wait_until 50 0.1 queued_is -ge 3
assert_eq "3 requests wait in the queue" "3" "$(queued)"
t0=$(now_ms)
code=$(post full "$T/full")
t1=$(now_ms)
assert_eq "a full queue answers 529" "529" "$code"
assert_le "at once (< 1 s)" "$((t1 - t0))" 1000
assert_eq "with Anthropic's overloaded_error" "overloaded_error" "$(jq -r '.error.type' "$T/full")"
check "and a retry-after header" grep -qi '^retry-after: [0-9]' "$T/full.head"
# a client that gives up is removed at once
before=$(Q queue status --json | jq -r '.. | objects | select(has("removed")) | .removed' | head -1)
kill "${FILL[0]}" 2>/dev/null
wait_until 30 0.1 queued_is -le 2
assert_eq "a client disconnect removes its request from the queue" "2" "$(queued)"
after=$(Q queue status --json | jq -r '.. | objects | select(has("removed")) | .removed' | head -1)
assert_eq "queue status counts it as removed" "$((before + 1))" "$after"

# ---- recovery: priority order, answered as soon as the endpoint is back ------
# The two fillers keep waiting (backoff up to 30 s scaled); three more with
# priorities; then b recovers and the operator enables it: everyone is woken.
# a stays out (disabled): only b's return decides the order. b answers again
# and its breaker closes first (an open breaker makes it a last-resort pick,
# which ignores max_concurrency), then the operator takes it out.
Q endpoint disable a --reason down >/dev/null
kill "${FILL[1]}" "${FILL[2]}" 2>/dev/null
wait_until 30 0.1 queued_is -eq 0
mock_fault b ok
for i in 1 2 3 4 5; do ask "$(body_json warm)" >/dev/null; done
assert_eq "b answers again before the test" "200 b" "$(ask "$(body_json warm)")"
Q endpoint disable b --reason down >/dev/null
PRIO=()
n=0
for p in 1 9 5; do
	post_bg "prio$p" "$T/p$p" -H "x-qcc-priority: $p"
	PRIO+=("$BG_PID")
	n=$((n + 1))
	wait_until 30 0.05 queued_is -ge "$n"
done
wait_until 50 0.1 queued_is -eq 3
assert_eq "3 prioritised requests wait" "3" "$(queued)"
Q queue status >"$T/qs.txt"
assert_contains "queue status (text) shows them waiting" "$(cat "$T/qs.txt")" "3 waiting"
mock_reset b
t0=$(now_ms)
Q endpoint enable b >/dev/null
wait_until 200 0.005 test -s "$T/p9.code"
t1=$(now_ms)
wait "${PRIO[@]}"
for p in 1 9 5; do
	assert_eq "priority $p answered 200 after recovery" "200" "$(cat "$T/p$p.code")"
done
diag "queue wait-to-answer after recovery: $((t1 - t0)) ms (enable -> the first waiting request answered; its next scheduled retry was seconds away)"
assert_le "answered as soon as the endpoint recovered (< 1 s)" "$((t1 - t0))" 1000
order=$(mock_requests b '.model' | tr -d '"' | grep '^prio' | tr '\n' ' ')
diag "order at b: $order"
assert_eq "the highest x-qcc-priority (9) is answered first, though it came second" "prio9" "${order%% *}"
assert_eq "all three reached b" "3" "$(wc -w <<<"$order")"
assert_le "journal: queue_succeeded records" 3 \
	"$(jq_journal '[.[] | select(.type=="queue_succeeded")] | length')"

# ---- /metrics saw the queue and the retries ---------------------------------
metric() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/metrics |
	awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}'; }
assert_le "/metrics: qcc_queue_enqueued_total counts the queued requests" 7 "$(metric qcc_queue_enqueued_total)"
assert_le "/metrics: qcc_queue_expired_total counts the dead letter" 1 "$(metric qcc_queue_expired_total)"
assert_le "/metrics: qcc_retries_total counts attempts that moved on" 1 "$(metric qcc_retries_total)"
assert_le "/metrics: qcc_dead_letters shows the kept one" 1 "$(metric qcc_dead_letters)"
if [ -x "$QCC_BUILD_ROOT/tests/integration/promcheck" ]; then
	curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/metrics >"$T/m.txt"
	check "/metrics with queue families passes the strict checker" \
		"$QCC_BUILD_ROOT/tests/integration/promcheck" "$T/m.txt"
fi

# ---- dead letters survive a restart; retry ID / retry-all / clear ----------
stop_qcc
start_qcc "$T/table.bin"
assert_contains "after a restart the dead letter is still listed" "$(Q queue list)" "$dl"
out=$(Q queue retry "$dl")
assert_contains "queue retry ID (text) replays it: 200" "$out" "200"
assert_eq "the replay's status is kept beside it" "200" \
	"$(Q queue list --json | jq -r ".. | objects | select(.id? == \"$dl\") | .replay.status")"
assert_contains "the replayed request reached b with the stored body (model bo)" \
	"$(mock_requests b '.model' | tr -d '"')" "bo"
j=$(Q queue retry-all --json)
assert_contains "queue retry-all --json answers" "$j" "200"
out=$(Q queue clear -y)
assert_contains "queue clear (text)" "$out" "1"
assert_eq "no dead letter after clear" "0" \
	"$(Q queue list --json | jq '[.. | objects | select(has("body_kept"))] | length')"
check "and its files are gone" test ! -e "$QCC_STATE/deadletters/$dl.meta"
check "queue clear writes a queue_cleared journal record" wait_until 40 0.05 bash -c \
	"'$QCCC_BIN' journal show --json --state-dir '$QCC_STATE' | jq -e '[.[] | select(.type==\"queue_cleared\" and .reason==\"clear\" and .request_id==0)] | length == 1'"

# ---- a stop answers the waiting requests and keeps them ----------------------
Q endpoint disable a --reason stop >/dev/null
Q endpoint disable b --reason stop >/dev/null
post_bg last "$T/last"
wait_until 50 0.1 queued_is -eq 1
t0=$(now_ms)
stop_qcc
t1=$(now_ms)
assert_le "SIGTERM does not wait for the queue's retries (< 3 s)" "$((t1 - t0))" 3000
wait_until 50 0.1 test -s "$T/last.code"
assert_eq "the waiting request is answered 503 at the stop" "503" "$(cat "$T/last.code")"
assert_eq "and kept as a dead letter" "1" "$(find "$QCC_STATE/deadletters" -name '*.meta' | wc -l)"

stop_mocks
done_testing
