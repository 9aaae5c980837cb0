#!/bin/bash
# 429 bodies (issue 4 "a 429 for an exhausted spend limit rests the endpoint
# long", issue 5 journal records): qcc-run reads the first few KiB of a 429
# body before dropping it. A body whose error.message names a spend/credit
# limit rests the endpoint long (1 h) and says so in an endpoint_rest record;
# a plain rate-limit 429 rests briefly. The rest survives a restart.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
start_mock b
it_keys a b

# config OUT [with_b]
config() {
	cat >"$1" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: 7860
health:
  enabled: false
queue:
  enabled: false
loadbalancer:
  strategy: failover
profiles:
  - name: main
    priority: primary
    endpoints:
$(ep_yaml a "priority: 1")
$([ -n "${2:-}" ] && ep_yaml b "priority: 2")
YAML
}
config "$T/qcc.yaml" with_b
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
config "$T/aonly.yaml"
build_table "$T/aonly.yaml" "$T/aonly.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"

# rest_rec STATE : a's last endpoint_rest record (JSON), waiting for the flush
rest_rec() {
	local i out
	for i in $(seq 40); do
		out=$(journal_json "$1" | jq -c '[.[] | select(.type=="endpoint_rest" and .endpoint.id=="a")] | last // empty')
		[ -n "$out" ] && break
		sleep 0.05
	done
	printf '%s' "$out"
}
# rest_seconds REC : until - time, in seconds
rest_seconds() {
	jq -r '((.until | sub("\\.[0-9]+Z$"; "Z") | fromdate) - (.time | sub("\\.[0-9]+Z$"; "Z") | fromdate))' <<<"$1"
}

# ---- spend limit: long rest ------------------------------------------------
mock_fault a 'status=429&retry_after=1&count=1&message=Your+credit+balance+is+too+low+to+access+the+API+(mock)' ||
	bail_out "the mock refuses a 429 with a message"
start_qcc "$T/table.bin" --state-dir "$T/state-spend"
assert_eq "spend 429 on A: client gets 200 from B" "200 b" "$(ask "$(body_json s1)")"
rec=$(rest_rec "$T/state-spend")
diag "record: $rec"
assert_eq "spend 429: endpoint_rest says spend_exhausted" "true" \
	"$(jq -r '.spend_exhausted | if . == true or . == 1 then "true" else "false" end' <<<"$rec")"
secs=$(rest_seconds "$rec")
assert_le "spend 429: A rests about an hour, not retry-after's 1 s (${secs} s)" 3500 "${secs%.*}"
assert_eq "spend 429: the next requests go to B" "200 b 200 b" \
	"$(ask "$(body_json s2)") $(ask "$(body_json s3)")"
assert_eq "spend 429: A got only the first request" "1" "$(mock_requests a | wc -l)"
stop_qcc >/dev/null
assert_eq "spend 429: qccc health history a lists the rest" "1" \
	"$("$QCCC_BIN" health history a --json --state-dir "$T/state-spend" | jq '[.[] | select(.type=="endpoint_rest")] | length')"
# restart on the same state: the rest comes back from the journal
mock_reset a
start_qcc "$T/table.bin" --state-dir "$T/state-spend"
assert_eq "after a restart: still on B" "200 b" "$(ask "$(body_json s4)")"
assert_eq "after a restart: A still rests (no request)" "0" "$(mock_requests a | wc -l)"
check "the restore is logged" grep -q "1 429 rests" "$QCC_ERR_LOG"
stop_qcc >/dev/null

# ---- a plain rate limit: the short retry-after rest ------------------------
mock_reset a
mock_reset b
mock_fault a 'status=429&retry_after=1&count=1' || bail_out "cannot set fault"
start_qcc "$T/table.bin" --state-dir "$T/state-rate"
assert_eq "rate 429 on A: client gets 200 from B" "200 b" "$(ask "$(body_json r1)")"
rec=$(rest_rec "$T/state-rate")
assert_eq "rate 429: not a spend limit" "false" \
	"$(jq -r '.spend_exhausted | if . == true or . == 1 then "true" else "false" end' <<<"$rec")"
secs=$(rest_seconds "$rec")
assert_le "rate 429: A rests retry-after's 1 s (${secs} s)" "${secs%.*}" 2
sleep 1.2
assert_eq "rate 429: after the rest A serves again" "200 a" "$(ask "$(body_json r2)")"
stop_qcc >/dev/null

# ---- nowhere else to go: the client gets a 429, A rests long ---------------
mock_reset a
mock_fault a 'status=429&message=Your+spend+limit+is+used+up+(mock)' || bail_out "cannot set fault"
start_qcc "$T/aonly.bin" --state-dir "$T/state-only"
out=$(curl -sS -m 10 -w '\n%{http_code}' "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_json o1)")
assert_eq "only A: the client gets the 429" "429" "${out##*$'\n'}"
rec=$(rest_rec "$T/state-only")
assert_eq "only A: 'spend limit' in the message is recognised too" "true" \
	"$(jq -r '.spend_exhausted | if . == true or . == 1 then "true" else "false" end' <<<"$rec")"
stop_qcc >/dev/null
mock_fault a ok
done_testing
