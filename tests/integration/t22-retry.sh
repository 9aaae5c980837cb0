#!/bin/bash
# Retry before the first byte (SPEC "The runtime"): with two endpoints, an
# upstream that answers 429/500/502/503/529, closes before headers or refuses
# connections is skipped within the same request; after the first byte
# nothing is retried (a stream cut mid-way reaches the client as broken).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_KEY_UP2=$(make_secret sk-it-up2)
start_mock up1 --key-env QCC_IT_KEY_UP1 --events 12
start_mock up2 --key-env QCC_IT_KEY_UP2 --events 12
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1 up2
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)

# four requests; prints "ok-count answered-by-up2-count"
four() {
	local i n=0 m=0 txt
	for i in 1 2 3 4; do
		txt=$(curl -sS -m 10 "$P/v1/messages" -H 'x-api-key: c' -d "$(body_json "$1")" | jq -r '.content[0].text' 2>/dev/null)
		[[ "$txt" == Hello* ]] && n=$((n + 1))
		[[ "$txt" == "Hello from up2."* ]] && m=$((m + 1))
	done
	echo "$n $m"
}

for fault in 'status=429' 'status=500' 'status=502' 'status=503' 'status=529' 'close_before_headers'; do
	mock_fault up1 "$fault" || bail_out "cannot set fault on up1"
	assert_eq "up1 $fault: every request answered by up2" "4 4" "$(four "f-$fault")"
done
mock_fault up1 ok

# the upstream's own error reaches the client when every endpoint fails
mock_fault up1 'status=529'
mock_fault up2 'status=529'
code=$(curl -sS -m 20 -o "$T/all.json" -w '%{http_code}' "$P/v1/messages" -H 'x-api-key: c' -d "$(body_json all)")
assert_ne "all endpoints 529: not a 200" "200" "$code"
assert_eq "all endpoints 529: Anthropic error shape" "error" "$(jq -r .type "$T/all.json" 2>/dev/null)"
mock_fault up1 ok
mock_fault up2 ok
# both endpoints now rest for the mock's retry-after: 1 (honoured by the router)
sleep 1.1

# after the first byte nothing is retried: up1 cuts its stream after 4 events
mock_fault up2 'status=503'
mock_fault up1 'reset_mid_stream&after=4&count=1'
out=$(curl -sS -N -m 10 "$P/v1/messages" -H 'x-api-key: c' -d "$(body_stream cut)" 2>/dev/null)
assert_eq "stream cut mid-way: no message_stop reaches the client" "0" "$(grep -c '^event: message_stop' <<<"$out")"
assert_le "stream cut mid-way: the first events did" 4 "$(grep -c '^event: ' <<<"$out")"
assert_eq "stream cut mid-way: not replayed on another endpoint" "0" \
	"$(mock_requests up2 'select(.model=="cut" and .status==200)' | wc -l)"
mock_fault up2 ok

# a refused connection fails over fast: point endpoint up1 at a dead port
dead=$(free_port)
MOCK_PORT[dead]=$dead
export QCC_IT_KEY_DEAD=unused
std_config "$T/qcc.yaml" dead up2
g=$(healthz_generation)
if build_table "$T/qcc.yaml" "$T/table.bin" && wait_generation_above "$g" >/dev/null; then
	t0=$(date +%s%N)
	r=$(four refused)
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_eq "refused endpoint: every request answered by up2" "4 4" "$r"
	assert_le "refused endpoint: 4 requests in < 2 s" "$ms" 2000
else
	not_ok "refused endpoint: new table" "$(cat "$T/qccc.out")"
fi

stop_qcc
done_testing
