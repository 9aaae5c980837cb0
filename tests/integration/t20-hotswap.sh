#!/bin/bash
# Hot swap under load: 100 `qccc build`s alternating two configs (A routes to
# up1, B to up2) while a bounded load generator runs. Zero failed requests,
# and after each build /healthz shows the new generation and the answers come
# from the new table's upstream.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

SWAPS=${QCC_IT_SWAPS:-100}
export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_KEY_UP2=$(make_secret sk-it-up2)
start_mock up1 --key-env QCC_IT_KEY_UP1 --events 20
start_mock up2 --key-env QCC_IT_KEY_UP2 --events 20
QCC_PORT=$(free_port)
std_config "$T/a.yaml" up1
std_config "$T/b.yaml" up2
cp "$T/a.yaml" "$T/qcc.yaml"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)

# load worker: batches of 20 keep-alive requests per curl until the stop file
# exists (bounded by MAXB batches); one "http_code exitcode bytes" line each.
load_worker() { # ID stream|json
	local body b
	if [ "$2" = stream ]; then body=$(body_stream load); else body=$(body_json load); fi
	local urls=()
	for b in $(seq 20); do urls+=(-o /dev/null "$P/v1/messages"); done
	for ((b = 0; b < 400; b++)); do
		[ -e "$T/stop" ] && break
		curl -sS -m 20 -w '%{http_code} %{exitcode} %{size_download}\n' \
			-H 'x-api-key: client-token' -H 'content-type: application/json' \
			-d "$body" "${urls[@]}" >>"$T/load.$1" 2>>"$T/load.$1.err"
	done
}
: >"$T/load.1"
: >"$T/load.2"
load_worker 1 json &
L1=$!
track_pid $L1
load_worker 2 stream &
L2=$!
track_pid $L2
sleep 0.3

build_fail=0 gen_fail=0 route_fail=0
g=$(healthz_generation)
g_first=$g
for ((i = 1; i <= SWAPS; i++)); do
	if ((i % 2)); then want=up2; cp "$T/b.yaml" "$T/qcc.yaml"; else want=up1; cp "$T/a.yaml" "$T/qcc.yaml"; fi
	if ! build_table "$T/qcc.yaml" "$T/table.bin"; then
		build_fail=$((build_fail + 1))
		diag "build $i failed: $(head -c 300 "$T/qccc.out")"
		continue
	fi
	if ! ng=$(wait_generation_above "$g"); then
		gen_fail=$((gen_fail + 1))
		diag "swap $i: generation still $ng (was $g)"
		continue
	fi
	g=$ng
	txt=$(curl -sS -m 10 "$P/v1/messages" -H 'x-api-key: client-token' -d "$(body_json check)" | jq -r '.content[0].text' 2>/dev/null)
	if [[ "$txt" != *"from $want."* ]]; then
		route_fail=$((route_fail + 1))
		diag "swap $i: expected an answer from $want, got: ${txt:0:80}"
	fi
done
touch "$T/stop"
wait $L1 $L2

assert_eq "$SWAPS builds succeeded" "0" "$build_fail"
assert_eq "each new generation visible in /healthz" "0" "$gen_fail"
assert_eq "each new table in effect (right upstream answers)" "0" "$route_fail"
assert_le "generation advanced by $SWAPS" $((g_first + SWAPS)) "${g:-0}"
total=$(cat "$T/load.1" "$T/load.2" | wc -l)
bad=$(cat "$T/load.1" "$T/load.2" | grep -vc '^200 0 ')
diag "load: $total requests during the swaps, $bad failed"
assert_le "load generator ran (>= 200 requests)" 200 "$total"
assert_eq "zero failed requests across the swaps" "0" "$bad"
short=$(awk '$1 == 200 && $3 < 500' "$T/load.2" | wc -l)
assert_eq "no truncated stream" "0" "$short"
kill -0 "$QCC_PID" 2>/dev/null
assert_eq "qcc-run still running" "0" "$?"

stop_qcc
done_testing
