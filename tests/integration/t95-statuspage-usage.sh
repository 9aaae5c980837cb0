#!/bin/bash
# The status page's usage panel from real usage (docs/status-page.md, GET
# /qcc/api/usage; runtime/usagesum.h): after streamed and non-streamed
# requests with known usage (cache writes and reads, a mapped model, a
# retried request) through a real qcc-run to real mocks, the API's hourly
# and daily series, summed per endpoint and per model, and today's totals
# per endpoint equal the usage the clients received; after kill -9 and a
# restart the series still have them (seeded from usage.qu) and new traffic
# adds to them. No key or token text in any usage reply.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v python3 >/dev/null || skip_all "python3 not installed"

usage_mocks 20 10
it_tokens alice
{
	yaml_head "$(yaml_tokens alice)"
	yaml_profile it-main "priority: primary" "load_balancing:" "  strategy: failover"
	ep_yaml up1 "priority: 1"
	ep_yaml up2 "priority: 2" "models:" "  claude-map: glm-mapped"
} >"$T/qcc.yaml"
build_and_start "$T/qcc.yaml"
P=$(qcc_url)
ALL=$T/all-usage # every usage reply, grepped for secrets at the end

# send NAME BODY : one /v1/messages as alice; the answer kept as $T/r-NAME.*
: >"$T/asked"
send() {
	post_messages "$1" "$QCC_IT_TOK_ALICE" "$2"
	echo "$1" >>"$T/asked"
}
# usage [via]: GET /qcc/api/usage with alice's token (read-only access), or
# on the admin socket ("admin"); the reply in $T/usage.json
usage() {
	if [ "${1:-}" = admin ]; then
		curl -sS -m 10 -o "$T/usage.json" --unix-socket "$QCC_STATE/admin.sock" \
			http://localhost/qcc/api/usage 2>/dev/null
	else
		curl -sS -m 10 -o "$T/usage.json" -H "Authorization: Bearer $QCC_IT_TOK_ALICE" \
			"$P/qcc/api/usage" 2>/dev/null
	fi
	cat "$T/usage.json" >>"$ALL"
}
# received KEY -> {group: {tokens, input, output, cache_read, cache_write, requests}} from
# the bodies the clients got (KEY: endpoint = x-mock-upstream, model = the answer's;
# cache_write = 5m + 1h writes)
received() {
	# shellcheck disable=SC2046
	answers_usage $(cat "$T/asked") | jq -cS -s --arg key "$1" '
		map(.tokens as $t | {g: (if $key == "endpoint" then .endpoint else .model end),
			k: {input: $t.input, output: $t.output, cache_read: $t.cache_read,
				cache_write: ($t.cache_write_5m + $t.cache_write_1h)}})
		| group_by(.g) | map({key: .[0].g, value: (reduce .[].k as $k ({tokens: 0, input: 0, output: 0,
			cache_read: 0, cache_write: 0, requests: 0}; .requests += 1 | .tokens += ($k | add)
			| reduce ($k | keys[]) as $n (.; .[$n] += $k[$n])))}) | from_entries'
}
# series_sums SPAN KEY -> {group: tokens} summed over SPAN's (hourly/daily) series
series_sums() {
	jq -cS --arg k "$2" ".$1.series | group_by(.[\$k]) |
		map({key: .[0][\$k], value: (map(.tokens | add) | add)}) | from_entries" "$T/usage.json"
}
want_sums() { received "$1" | jq -cS 'map_values(.tokens)'; }
today() { # -> {endpoint: {tokens, input, output, cache_read, cache_write, requests}} with usage
	jq -cS '.today.endpoints | map(select(.requests > 0) | {key: .endpoint, value: {tokens,
		input: .input_tokens, output: .output_tokens, cache_read: .cache_read_tokens,
		cache_write: .cache_write_tokens, requests}}) | from_entries' "$T/usage.json"
}
check_usage() { # LABEL [via]
	usage "${2:-}"
	assert_eq "$1: available" "true" "$(jq -r .available "$T/usage.json")"
	local span key
	for span in hourly daily; do
		for key in endpoint model; do
			assert_eq "$1: $span tokens per $key equal what the clients received" \
				"$(want_sums "$key")" "$(series_sums "$span" "$key")"
		done
	done
	if [ "$(date +%F)" = "$DAY0" ]; then
		assert_eq "$1: today per endpoint (tokens by kind, requests) equals what the clients received" \
			"$(received endpoint | jq -cS .)" "$(today)"
	else
		ok "$1: today per endpoint # SKIP the day changed during the test"
	fi
}

# ---- before any request: available, empty series, every endpoint listed ----
usage admin
assert_eq "no traffic: available" "true" "$(jq -r .available "$T/usage.json")"
assert_eq "no traffic: no hourly series" "0" "$(jq '.hourly.series | length' "$T/usage.json")"
assert_eq "no traffic: today lists every endpoint at 0" '["up1",0,"up2",0]' \
	"$(jq -c '[.today.endpoints[] | .endpoint, .tokens]' "$T/usage.json")"
assert_eq "no budget: budget_left is null" "null" "$(jq -c '[.today.endpoints[].budget_left] | unique | .[0]' "$T/usage.json")"

DAY0=$(date +%F)
N=0
for i in 1 2 3; do
	send "s$i" "$(body_stream claude-it)"
	send "j$i" "$(body_json claude-it)"
	N=$((N + 2))
done
# a retried request: up1 answers 529 once, up2 takes it and maps the model
mock_fault up1 'status=529&count=1' || bail_out "cannot set a fault on up1"
send m1 "$(body_stream claude-map)"
N=$((N + 1))
assert_eq "the retried request was answered by up2" "up2" "$(answered_by m1)"
assert_eq "the mocks' answers carry cache usage (the sums test something)" "true" \
	"$(received endpoint | jq '.up1.cache_read > 0 and .up1.cache_write > 0 and .up1.output > 0')"

# records are made when an exchange ends: wait for all of them
wait_until 50 0.1 sh -c "curl -sS -m 5 --unix-socket '$QCC_STATE/admin.sock' http://localhost/qcc/api/usage |
	jq -e '[.today.endpoints[].requests] | add == $N' >/dev/null" || diag "not every request counted in time"
check_usage "live"
check_usage "admin socket" admin
assert_eq "one series per endpoint and model, mapped model included" \
	'["up1/claude-it","up2/glm-mapped"]' \
	"$(jq -c '[.hourly.series[] | "\(.endpoint)/\(.model)"]' "$T/usage.json")"
assert_eq "48 hourly and 30 daily numbers per series" "48 30" \
	"$(jq -r '"\(.hourly.series[0].tokens | length) \(.daily.series[0].tokens | length)"' "$T/usage.json")"
assert_eq "this hour's bucket is the last one" "true" \
	"$(jq '[.hourly.series[].tokens[47]] | add > 0' "$T/usage.json")"
assert_eq "no price: cost is null for today, unpriced requests counted" "null $N" \
	"$(jq -r '"\([.today.endpoints[].cost] | unique | .[0]) \([.today.endpoints[].unpriced_requests] | add)"' "$T/usage.json")"
assert_eq "count_tokens is not usage" "200" \
	"$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/v1/messages/count_tokens" \
		-H "x-api-key: $QCC_IT_TOK_ALICE" -d "$(body_json claude-it)")"
sleep 0.3
usage
assert_eq "... the sums did not move" "$N" "$(jq '[.today.endpoints[].requests] | add' "$T/usage.json")"

# ---- kill -9 and restart: the sums come back from usage.qu ----
kill9_restart_qcc
check_usage "after kill -9 and restart (seeded)"
send a1 "$(body_json claude-it)"
N=$((N + 1))
wait_until 50 0.1 sh -c "curl -sS -m 5 --unix-socket '$QCC_STATE/admin.sock' http://localhost/qcc/api/usage |
	jq -e '[.today.endpoints[].requests] | add == $N' >/dev/null" || diag "the new request was not counted in time"
check_usage "after restart, one more request"
# a reload that changes usage.timezone: once budgets point TZ at it, the
# sums are made again from the file (the days are other days); either way
# nothing is lost or counted twice
gen=$(healthz_generation)
printf 'usage:\n  timezone: UTC\n' >>"$T/qcc.yaml"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
wait_generation_above "$gen" >/dev/null || diag "the new table was not picked up"
check_usage "after a reload with another usage.timezone"
grep -q 'usage sums made again' "$QCC_ERR_LOG" && diag "the zone changed: the sums were seeded again"
stop_qcc
# a graceful restart too
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
check_usage "after a clean restart"

# ---- no secret in any usage reply ----
assert_ne "usage replies were collected" "0" "$(wc -c <"$ALL")"
assert_not_contains "no key of up1 in any usage reply" "$(cat "$ALL")" "$QCC_IT_KEY_UP1"
assert_not_contains "no key of up2 in any usage reply" "$(cat "$ALL")" "$QCC_IT_KEY_UP2"
assert_not_contains "no client token in any usage reply" "$(cat "$ALL")" "$QCC_IT_TOK_ALICE"
stop_qcc
done_testing
