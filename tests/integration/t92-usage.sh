#!/bin/bash
# Usage records (issue 14, docs/usage.md): real qcc-run and mock upstreams
# whose answers carry known usage (streamed and not, cache writes with the
# 5m/1h split, a model mapping, a retried request, a stream reset mid-way,
# count_tokens). The sums `qccc usage --json` reports per endpoint, model,
# client and session equal the usage the clients received, also after
# kill -9 of qcc-run and a restart.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v python3 >/dev/null || skip_all "python3 not installed"

usage_mocks 30 12
it_tokens alice bob
{
	yaml_head "access_log: true" "$(yaml_tokens alice bob)"
	yaml_profile it-main "priority: primary" "load_balancing:" "  strategy: failover" \
		"  sticky_session: false # the retry below needs up1 first, whatever the session"
	ep_yaml up1 "priority: 1"
	ep_yaml up2 "priority: 2" "models:" "  claude-map: glm-mapped"
} >"$T/qcc.yaml"
build_and_start "$T/qcc.yaml"
P=$(qcc_url)
# ask NAME TOKEN SESSION BODY : one /v1/messages; body and headers kept as $T/r-NAME.*
ask() {
	local hdr=()
	[ -n "$3" ] && hdr=(-H "x-claude-code-session-id: $3")
	post_messages "$1" "$2" "$4" "${hdr[@]}"
	printf '%s\t%s\t%s\t%s\n' "$1" "$([ "$2" = "$QCC_IT_TOK_ALICE" ] && echo alice || echo bob)" "$3" \
		"$(jq -r .model <<<"$4")" >>"$T/asked"
}
: >"$T/asked"
ask a1 "$QCC_IT_TOK_ALICE" s1 "$(body_stream claude-it)"
ask a2 "$QCC_IT_TOK_ALICE" s1 "$(body_json claude-it)"
ask a3 "$QCC_IT_TOK_ALICE" s2 '{"model":"claude-it","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"a longer question for more input tokens"}]}'
# a retried request: up1 answers 529 once, up2 takes it (and maps the model)
mock_fault up1 'status=529&count=1' || bail_out "cannot set a fault on up1"
ask b1 "$QCC_IT_TOK_BOB" s2 "$(body_stream claude-map)"
ask b2 "$QCC_IT_TOK_BOB" "" "$(body_json claude-it)"
# a stream cut short: counts are what arrived (message_start's)
# (on both: up1 may be resting after its 529)
mock_fault up1 'reset_mid_stream&after=5' || bail_out "cannot set a fault on up1"
mock_fault up2 'reset_mid_stream&after=5' || bail_out "cannot set a fault on up2"
ask b3 "$QCC_IT_TOK_BOB" s3 "$(body_stream claude-it)"
mock_fault up1 ok
mock_fault up2 ok
# an error answer passed through: recorded, zero tokens (not "unknown")
mock_fault up1 'status=400' || bail_out "cannot set a fault on up1"
mock_fault up2 'status=400' || bail_out "cannot set a fault on up2"
ask e1 "$QCC_IT_TOK_ALICE" s1 "$(body_json claude-it)"
mock_fault up1 ok
mock_fault up2 ok
assert_eq "the 400 reached the client" "error" "$(jq -r .type "$T/r-e1.body" 2>/dev/null)"
# count_tokens is not usage
curl -sS -m 10 -o "$T/ct.json" "$P/v1/messages/count_tokens" -H "x-api-key: $QCC_IT_TOK_ALICE" \
	-d "$(body_json claude-it)"
assert_eq "count_tokens answered" "true" "$(jq -r 'has("input_tokens")' "$T/ct.json" 2>/dev/null)"
assert_eq "the retried request was answered by up2" "up2" "$(answered_by b1)"
assert_contains "the cut stream has its start" "$(cat "$T/r-b3.body")" "message_start"
assert_not_contains "the cut stream was cut" "$(cat "$T/r-b3.body")" "message_stop"

# What the clients received, summed by KEY from the bodies themselves
# (client, session and, for an answer naming none, the model: as asked).
received() { # KEY -> JSON {group: {kind: sum, requests}}
	# shellcheck disable=SC2046
	answers_usage $(cut -f1 "$T/asked") | jq -cs --rawfile asked "$T/asked" --arg key "$1" '
		($asked | split("\n") | map(select(. != "") | split("\t") |
			{key: .[0], value: {client: .[1], session: .[2], model: .[3]}}) | from_entries) as $a |
		map($a[.name] as $x | {g: {endpoint, model: (.model // $x.model), client: $x.client,
			session: $x.session}[$key], tokens})
		| group_by(.g) | map({key: .[0].g, value: (reduce .[].tokens as $t ({};
			reduce ($t | keys[]) as $k (.; .[$k] += $t[$k])) + {requests: length})}) | from_entries'
}
reported() { # KEY -> the same shape from qccc usage --json
	"$QCCC_BIN" usage --json --by "$1" --state-dir "$QCC_STATE" |
		jq -cS --arg k "$1" '[.groups[] | {key: (.[$k] // ""), value: (.tokens + {requests})}] | from_entries'
}
check_sums() { # LABEL
	local key
	for key in endpoint model client session; do
		assert_eq "$1: usage by $key equals what the clients received" \
			"$(received "$key" | jq -cS .)" "$(reported "$key")"
	done
}
# records are written when the exchange ends: wait for all six
wait_usage_requests 7
total=$("$QCCC_BIN" usage --json --state-dir "$QCC_STATE")
assert_eq "seven /v1/messages requests recorded (count_tokens not, the retry once)" "7" "$(jq .total.requests <<<"$total")"
assert_eq "one error answer" "1" "$(jq .total.error_requests <<<"$total")"
assert_eq "no unknown counts (the error counts zero)" "0" "$(jq .total.unknown_requests <<<"$total")"
assert_eq "one partial request" "1" "$(jq .total.partial_requests <<<"$total")"
assert_eq "no price yet: every request is unpriced" "7" "$(jq .total.no_price_requests <<<"$total")"
assert_eq "cost is null (no price)" "null" "$(jq .total.cost_usd <<<"$total")"
m=$("$QCCC_BIN" usage --json --by model --state-dir "$QCC_STATE" | jq -r '[.groups[].model] | sort | join(",")')
assert_eq "models: the mapped one is the upstream model" "claude-it,glm-mapped" "$m"
check_sums "running"
ex=$("$QCCC_BIN" usage export "$T/u.csv" --by client --state-dir "$QCC_STATE")
assert_contains "export: says where" "$ex" "u.csv"
assert_eq "export: CSV header and two clients" "3" "$(wc -l <"$T/u.csv")"
human=$("$QCCC_BIN" stats --state-dir "$QCC_STATE")
assert_contains "stats alias: a table with totals" "$human" "TOTAL"
assert_contains "stats alias: the unpriced share is called out" "$human" "no price: 7 of 7"

# the access log: model, tokens and the endpoints tried with why
rid=$(resp_header b1 x-request-id)
line=$(jq -c --arg r "$rid" 'select(.request_id == $r)' "$QCC_ACCESS_LOG")
assert_eq "access log: the upstream model" "glm-mapped" "$(jq -r .model <<<"$line")"
assert_eq "access log: output tokens as the client got them" \
	"$(received model | jq -r '."glm-mapped".output')" "$(jq -r .tokens.output <<<"$line")"
assert_eq "access log: up1 tried first, with its 529" "up1 529" \
	"$(jq -r '.tried[0] | "\(.endpoint) \(.status)"' <<<"$line")"

# metrics: qcc_tokens_total by endpoint, model, kind
mcurl() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" "http://qcc/metrics"; }
mt=$(mcurl 2>/dev/null)
want=$(received endpoint | jq -r '.up1.cache_read')
assert_contains "metrics: cache reads of up1 counted" "$mt" \
	"qcc_tokens_total{endpoint=\"up1\",model=\"claude-it\",kind=\"cache_read\"} $want"
want=$(received model | jq -r '."glm-mapped".output')
assert_contains "metrics: output of the mapped model counted" "$mt" \
	"qcc_tokens_total{endpoint=\"up2\",model=\"glm-mapped\",kind=\"output\"} $want"

# kill -9 and restart: every record is still there, nothing twice
kill9_restart_qcc
check_sums "after kill -9 and restart"
ask a4 "$QCC_IT_TOK_ALICE" s1 "$(body_json claude-it)"
wait_usage_requests 8
check_sums "after restart, one more request"

# records are written once per loop iteration, before the loop sleeps: a
# burst of answers then kill -9 at once (no waiting for the records) loses
# none of them
pids=()
for i in $(seq 1 16); do
	if [ $((i % 2)) = 0 ]; then ask "k$i" "$QCC_IT_TOK_BOB" s4 "$(body_stream claude-it)" &
	else ask "k$i" "$QCC_IT_TOK_ALICE" s5 "$(body_json claude-it)" &
	fi
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
kill -KILL "$QCC_PID"
wait "$QCC_PID" 2>/dev/null
QCC_PID=""
assert_eq "the burst of 16 was answered" "16" "$(ls "$T"/r-k*.body | wc -l)"
total=$("$QCCC_BIN" usage --json --state-dir "$QCC_STATE")
assert_eq "kill -9 right after a burst of answers: all 24 recorded" "24" "$(jq .total.requests <<<"$total")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
check_sums "after a burst and an immediate kill -9"
stop_qcc
total=$("$QCCC_BIN" usage --json --state-dir "$QCC_STATE")
assert_eq "qccc usage works while qcc-run is down" "24" "$(jq .total.requests <<<"$total")"
# --by request: one row per exchange, keyed by the request id the access log has
assert_eq "by request: the access log's /v1/messages request ids, each once" \
	"$(jq -r 'select(.path == "/v1/messages") | .request_id' "$QCC_ACCESS_LOG" | sort | tr '\n' ' ')" \
	"$("$QCCC_BIN" usage --json --by request --state-dir "$QCC_STATE" |
		jq -r '.groups[] | select(.requests == 1) | .request' | sort | tr '\n' ' ')"
assert_eq "by requested_model: the models asked for, before the map" "claude-it,claude-map" \
	"$("$QCCC_BIN" usage --json --by requested_model --state-dir "$QCC_STATE" | jq -r '[.groups[].requested_model] | sort | join(",")')"
done_testing
