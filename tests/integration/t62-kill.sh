#!/bin/bash
# Group failover and recovery under load (issue 4). The primary group's
# upstream is killed during a run of non-streamed requests: zero
# client-visible failures, traffic on the secondary from the next request.
# It comes back: traffic returns only once the primary has been healthy for
# cooldown_period (2 s here), never before (at most one half-open probe
# request reaches it earlier). Then it alternates up/down faster than the
# cooldown: traffic never switches back (no flapping). Active tcp checks
# every 1 s are what notice an upstream that died while it got no traffic.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
start_mock b
it_keys a b
PORT_A=${MOCK_PORT[a]}
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: true
  check: tcp
  check_interval: 1s
  timeout: 300ms
  retry_count: 0
queue:
  enabled: false
switching_policy:
  auto_switch: true
  auto_recovery: true
  cooldown_period: 2s
profiles:
  - name: prim
    priority: primary
    endpoints:
$(ep_yaml a)
  - name: sec
    priority: secondary
    endpoints:
$(ep_yaml b)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"

now_ms() { date +%s%3N; }
# one line per request: start_ms end_ms http_code answered_by
LOAD=$T/load.txt
: >"$LOAD"
(
	while [ ! -e "$T/stop" ]; do
		t=$(now_ms)
		r=$(ASK_TIMEOUT=5 ask "$(body_json load)")
		echo "$t $(now_ms) $r" >>"$LOAD"
	done
) &
LOAD_PID=$!
track_pid "$LOAD_PID"

sleep 1.5
t_kill=$(now_ms)
kill_mock a
sleep 2
t_back=$(now_ms)
start_mock_at a "$PORT_A"
# wait for the switch back (bounded)
for i in $(seq 150); do
	journal_json | jq -e --argjson t "$t_back" '[.[] | select(.type=="group_switch" and .to=="prim" and .time_ms > $t)] | length > 0' >/dev/null && break
	sleep 0.1
done
sleep 1
t_flap=$(now_ms)
for i in 1 2 3; do
	kill_mock a
	sleep 1.3
	start_mock_at a "$PORT_A"
	sleep 1.3
done
kill_mock a
sleep 1.5
t_end=$(now_ms)
touch "$T/stop"
wait "$LOAD_PID" 2>/dev/null

total=$(wc -l <"$LOAD")
diag "$total requests in the run"
assert_le "the load ran (at least 50 requests)" 50 "$total"
assert_eq "zero client-visible failures" "0" "$(awk '$3 != 200' "$LOAD" | wc -l)"
assert_eq "before the kill: all on the primary" "0" \
	"$(awk -v t="$t_kill" '$2 < t && $4 != "a"' "$LOAD" | wc -l)"
first_after=$(awk -v t="$t_kill" '$1 > t {print $4; exit}' "$LOAD")
assert_eq "the first request after the kill is answered by the secondary" "b" "$first_after"
assert_eq "while it is down: every request on the secondary" "0" \
	"$(awk -v a="$t_kill" -v b="$t_back" '$1 > a && $2 < b && $4 != "b"' "$LOAD" | wc -l)"

sw=$(journal_json | jq --argjson t "$t_back" '[.[] | select(.type=="group_switch" and .to=="prim" and .time_ms > $t)][0].time_ms // 0')
assert_ne "traffic switched back to the primary" "0" "$sw"
if [ "$sw" != 0 ]; then
	diag "switch back $((sw - t_back)) ms after the upstream returned (cooldown 2000 ms)"
	assert_le "not before the cooldown (2 s after it returned)" 2000 "$((sw - t_back))"
	assert_le "within cooldown + checks + breaker (12 s)" "$((sw - t_back))" 12000
	assert_le "before the switch: at most one request (the probe) on the primary" \
		"$(awk -v a="$t_back" -v b="$sw" '$1 > a && $2 < b && $4 == "a"' "$LOAD" | wc -l)" 1
	assert_eq "after the switch (until the flapping): all on the primary" "0" \
		"$(awk -v a="$((sw + 300))" -v b="$t_flap" '$1 > a && $2 < b && $4 != "a"' "$LOAD" | wc -l)"
fi
back=$(journal_json | jq --argjson t "$t_flap" '[.[] | select(.type=="group_switch" and .to=="prim" and .time_ms > $t)] | length')
assert_eq "alternating up/down (1.3 s < cooldown): no switch back to the primary" "0" "$back"
away=$(journal_json | jq --argjson t "$t_flap" '[.[] | select(.type=="group_switch" and .to=="sec" and .time_ms > $t)] | length')
assert_le "alternating: at most one switch away" "$away" 1
stop_qcc
done_testing
