#!/bin/bash
# Time to first SSE event through qcc-run is not delayed by buffering: with a
# paced stream (16 events, 100 ms apart) the first event arrives long before
# the last, as it does on a direct connection. The events before the first
# content_block_delta (message_start, content_block_start, ping) are held so
# a failure there can still go to another endpoint: through qcc-run they
# come with the first delta, whose time must match the direct one.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
start_mock up1 --key-env QCC_IT_KEY_UP1 --events 16 --event-delay-ms 100
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"

# timed_stream URL KEY -> "first_event_ms total_ms events first_delta_ms"
timed_stream() {
	local t0
	t0=$(date +%s%N)
	curl -sS -N -m 10 "$1/v1/messages" -H "x-api-key: $2" -d "$(body_stream ttfb)" |
		{
			local first t1 t2 td=0 n=1 line
			IFS= read -r first
			t1=$(date +%s%N)
			while IFS= read -r line; do
				[[ "$line" == event:* ]] && n=$((n + 1))
				[[ "$td" == 0 && "$line" == "event: content_block_delta" ]] && td=$(date +%s%N)
			done
			t2=$(date +%s%N)
			echo "$(((t1 - t0) / 1000000)) $(((t2 - t0) / 1000000)) $n $(((td - t0) / 1000000))"
		}
}

# warm up (connection pools, first-use costs), then measure
curl -sS -m 10 -o /dev/null "$(qcc_url)/v1/models" -H "x-api-key: client-token"
# slack for tools that slow everything down (valgrind via QCC_IT_WRAPPER)
slack=150
[ -n "${QCC_IT_WRAPPER:-}" ] && slack=1000
read -r dfirst dtotal dn ddelta < <(timed_stream "$(mock_url up1)" "$QCC_IT_KEY_UP1")
read -r pfirst ptotal pn pdelta < <(timed_stream "$(qcc_url)" "client-token")
diag "direct: first ${dfirst} ms, first delta ${ddelta} ms, total ${dtotal} ms, ${dn} events"
diag "proxy:  first ${pfirst} ms, first delta ${pdelta} ms, total ${ptotal} ms, ${pn} events"
assert_eq "direct: all 16 events" "16" "$dn"
assert_eq "proxy: all 16 events" "16" "$pn"
assert_le "direct: stream is paced (total >= 1400 ms)" 1400 "$dtotal"
assert_le "proxy: stream is paced (total >= 1400 ms)" 1400 "$ptotal"
assert_le "proxy: first event within 550 ms + slack (held to the first delta)" "$pfirst" $((550 + slack))
assert_le "proxy: first delta no later than direct + $slack ms" "$pdelta" $((ddelta + slack))
assert_le "proxy: held events come with the first delta, not later" "$pfirst" $((ddelta + slack))
assert_le "proxy: total no later than direct + 2 x $slack ms" "$ptotal" $((dtotal + 2 * slack))
# the proof of no buffering: the first event came long before the last
assert_le "proxy: first event >= 1000 ms before the last" $((pfirst + 1000)) "$ptotal"

stop_qcc
done_testing
