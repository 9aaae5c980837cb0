#!/bin/bash
# Faster than direct after a pause (issue 12): an HTTPS upstream 50 ms away
# one way (tools/latency-relay) that closes connections idle for 15 s. After
# a 20 s pause, the first request through qcc-run gets its first byte at
# least 80 ms sooner than the same request sent direct (which pays TCP + TLS
# first), because the warmer kept qcc-run's connection alive; with the warmer
# off (QCC_KEEP_WARM=0) the upstream closes it and the gain is gone.
# tools/bench/pause-bench.sh does the work; the 2-minute figure comes from a
# manual run of it (tools/bench/results/).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v openssl >/dev/null || skip_all "openssl CLI not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
BENCH=$QCC_SOURCE_ROOT/tools/bench/pause-bench.sh
field() { jq -r "$2" "$1"; }

check "pause bench, warmer on (15 s idle close, 20 s pause, 5 s warm interval)" \
	"$BENCH" --build "$QCC_BUILD_ROOT" --delay-ms 50 --idle-close 15 --pause 20 --rounds 1 \
	--keep-warm 5 --out "$T/on.json"
[ -s "$T/on.json" ] || bail_out "pause bench wrote no result"
diag "warmer on: $(cat "$T/on.json")"
assert_eq "both requests answered" "0" "$(field "$T/on.json" .failed)"
assert_le "through qcc-run the first byte came >= 80 ms sooner than direct" 80 \
	"$(field "$T/on.json" '.gain_ms_min | floor')"
assert_eq "the upstream never closed qcc-run's idle connection" "0" \
	"$(field "$T/on.json" .upstream_idle_closes)"
# 20 s at one warm-up per 5 s idle: 4, plus one at most for timer phase
assert_le "warm-ups are bounded (<= 6: one at start, one per 5 s idle)" "$(field "$T/on.json" .upstream_warm_requests)" 6
assert_le "at least one warm-up was sent" 1 "$(field "$T/on.json" .upstream_warm_requests)"

check "pause bench, warmer off (3 s idle close, 5 s pause)" \
	"$BENCH" --build "$QCC_BUILD_ROOT" --delay-ms 50 --idle-close 3 --pause 5 --rounds 1 \
	--keep-warm 0 --out "$T/off.json"
[ -s "$T/off.json" ] || bail_out "pause bench wrote no result"
diag "warmer off: $(cat "$T/off.json")"
assert_eq "no warm-up request with QCC_KEEP_WARM=0" "0" "$(field "$T/off.json" .upstream_warm_requests)"
assert_le "the upstream closed the idle connection" 1 "$(field "$T/off.json" .upstream_idle_closes)"
assert_le "without the warmer qcc-run is not 80 ms sooner (it reconnects too)" \
	"$(field "$T/off.json" '.gain_ms_min | floor')" 79
done_testing
