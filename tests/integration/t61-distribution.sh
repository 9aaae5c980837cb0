#!/bin/bash
# Distribution through the real proxy (issue 4): weights 3:1 under the
# weighted strategy over 400 requests land within a few percent of 300:100.
# (The 10,000-request, 2 % check of every strategy is in tests/routing.)
# Also round_robin over the same two endpoints: 200:200.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock heavy
start_mock light
it_keys heavy light

config() { # OUT STRATEGY
	cat >"$1" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: false
queue:
  enabled: false
loadbalancer:
  strategy: $2
profiles:
  - name: main
    endpoints:
$(ep_yaml heavy "weight: 300")
$(ep_yaml light "weight: 100")
YAML
}

# count N : N requests; prints "heavy light other"
count() {
	local i h=0 l=0 o=0 r
	for ((i = 0; i < $1; i++)); do
		r=$(curl -sS -m 10 "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_json d)" |
			jq -r '.content[0].text' 2>/dev/null)
		case "$r" in
		"Hello from heavy."*) h=$((h + 1)) ;;
		"Hello from light."*) l=$((l + 1)) ;;
		*) o=$((o + 1)) ;;
		esac
	done
	echo "$h $l $o"
}

within() { # NAME GOT WANT TOLERANCE
	local d=$(($2 - $3))
	[ "$d" -lt 0 ] && d=$((-d))
	assert_le "$1: $2 (want $3 +- $4)" "$d" "$4"
}

config "$T/w.yaml" weighted
build_table "$T/w.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"
read -r h l o <<<"$(count 400)"
assert_eq "weighted: every request answered" "0" "$o"
within "weighted 3:1: heavy" "$h" 300 12
within "weighted 3:1: light" "$l" 100 12
# the access log names the endpoint of every request, the same split
alog_h=$(jq -r 'select(.path=="/v1/messages") | .endpoint' "$QCC_ACCESS_LOG" | grep -c '^heavy$')
assert_eq "access log agrees with the answers" "$h" "$alog_h"

g=$(healthz_generation)
config "$T/w.yaml" round_robin
build_table "$T/w.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
wait_generation_above "$g" >/dev/null || bail_out "round_robin table not picked up"
read -r h l o <<<"$(count 200)"
within "round_robin: heavy" "$h" 100 2
within "round_robin: light" "$l" 100 2
stop_qcc
done_testing
