#!/bin/bash
# The mock upstream on its own: Anthropic shapes, key check, faults, control
# endpoints, logs without secrets, SIGTERM. Runs before anything needs qcc-run.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN"

KEY=$(make_secret sk-it-mock)
export QCC_IT_MOCK_KEY=$KEY
start_mock m1 --key-env QCC_IT_MOCK_KEY --events 12
U=$(mock_url m1)

# non-streaming message
r=$(curl -sS -m 5 "$U/v1/messages" -H "x-api-key: $KEY" -H 'anthropic-version: 2023-06-01' \
	-H 'content-type: application/json' -d "$(body_json claude-it-model)")
assert_eq "message: type" "message" "$(jq -r .type <<<"$r")"
assert_eq "message: model echoed" "claude-it-model" "$(jq -r .model <<<"$r")"
assert_contains "message: id msg_" "$(jq -r .id <<<"$r")" "msg_"
assert_contains "message: names the upstream" "$(jq -r '.content[0].text' <<<"$r")" "from m1"
assert_eq "message: stop_reason" "end_turn" "$(jq -r .stop_reason <<<"$r")"
assert_eq "message: output_tokens = deltas" "6" "$(jq -r .usage.output_tokens <<<"$r")"

# streaming: the real event sequence, 12 events
s=$(curl -sS -N -m 5 "$U/v1/messages?beta=true" -H "authorization: Bearer $KEY" -d "$(body_stream m)")
ev=$(grep '^event: ' <<<"$s" | cut -d' ' -f2 | tr '\n' ' ')
assert_eq "stream: event sequence" "message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop " "$ev"
txt=$(grep '^data: ' <<<"$s" | cut -c7- | jq -rj 'select(.type=="content_block_delta") | .delta.text')
assert_eq "stream: text equals the non-streaming text" "$(jq -r '.content[0].text' <<<"$r")" "$txt"
assert_eq "stream: every data line is JSON" "12" "$(grep '^data: ' <<<"$s" | cut -c7- | jq -c . | wc -l)"

# key check
code=$(curl -sS -m 5 -o "$T/401.json" -w '%{http_code}' "$U/v1/messages" -H 'x-api-key: wrong' -d "$(body_json m)")
assert_eq "wrong key -> 401" "401" "$code"
assert_eq "401 error type" "authentication_error" "$(jq -r .error.type "$T/401.json")"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$U/v1/models")
assert_eq "no key -> 401" "401" "$code"

# count_tokens and models
assert_contains "count_tokens shape" "$(curl -sS -m 5 "$U/v1/messages/count_tokens" -H "x-api-key: $KEY" -d "$(body_json m)" | jq -c 'keys')" '"input_tokens"'
m=$(curl -sS -m 5 "$U/v1/models" -H "x-api-key: $KEY")
assert_eq "models: list shape" "model false" "$(jq -r '[.data[0].type, .has_more] | join(" ")' <<<"$m")"
assert_eq "models: first_id" "$(jq -r '.data[0].id' <<<"$m")" "$(jq -r .first_id <<<"$m")"

# keep-alive: two requests, one connection
n0=$(mock_stat m1 connections_accepted)
curl -sS -m 5 -o /dev/null -o /dev/null "$U/v1/models" "$U/v1/models" -H "x-api-key: $KEY"
n1=$(mock_stat m1 connections_accepted)
assert_eq "keep-alive: two requests on one connection (+1 for the stats call)" "$((n0 + 2))" "$n1"

# faults by control request
check "control: status=429 count=1" mock_fault m1 'status=429&retry_after=3&count=1'
h=$(curl -sS -m 5 -D - -o "$T/429.json" "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)")
assert_contains "429 status line" "$h" "HTTP/1.1 429"
assert_contains "429 retry-after" "${h,,}" "retry-after: 3"
assert_eq "429 error type" "rate_limit_error" "$(jq -r .error.type "$T/429.json")"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)")
assert_eq "count=1 reverts to ok" "200" "$code"

check "control: status=529" mock_fault m1 'status=529&count=1'
assert_eq "529 overloaded_error" "overloaded_error" \
	"$(curl -sS -m 5 "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)" | jq -r .error.type)"
check "control: status=500" mock_fault m1 'status=500&count=1'
assert_eq "500 api_error" "api_error" \
	"$(curl -sS -m 5 "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)" | jq -r .error.type)"

check "control: hang" mock_fault m1 'hang&count=1'
t0=$(date +%s%N)
curl -sS -m 1 -o /dev/null "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)" 2>/dev/null
rc=$?
assert_eq "hang: client times out (curl 28)" "28" "$rc"

check "control: close_before_headers" mock_fault m1 'close_before_headers&count=1'
curl -sS -m 5 -o /dev/null "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)" 2>/dev/null
assert_eq "close before headers: empty reply (curl 52)" "52" "$?"

check "control: reset_mid_stream" mock_fault m1 'reset_mid_stream&after=4&count=1'
out=$(curl -sS -N -m 5 "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)" 2>/dev/null)
rc=$?
assert_eq "reset mid-stream: 4 events then RST" "4" "$(grep -c '^event: ' <<<"$out")"
assert_ne "reset mid-stream: curl reports an error" "0" "$rc"

check "control: slow" mock_fault m1 'slow&delay_ms=100&count=1'
t0=$(date +%s%N)
out=$(curl -sS -N -m 10 "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_le "slow stream: takes >= 11 x 100 ms" 1000 "$ms"
assert_eq "slow stream: still complete" "12" "$(grep -c '^event: ' <<<"$out")"

code=$(curl -sS -m 5 -o "$T/badfault.json" -w '%{http_code}' --data-raw 'explode' "$U/_control/fault")
assert_eq "bad fault spec -> 400" "400" "$code"

st=$(curl -sS -m 5 "$U/_control/stats")
assert_le "stats: faults_applied counted" 6 "$(jq -r .faults_applied <<<"$st")"
assert_le "stats: auth failures counted" 2 "$(jq -r .auth_failures <<<"$st")"

# client abort of a paced stream is seen by the mock at once
check "control: slow 300ms" mock_fault m1 'slow&delay_ms=300&count=1'
curl -sS -N -m 0.5 -o /dev/null "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)" 2>/dev/null
wait_until 40 0.05 grep -q '"client_closed"' "${MOCK_LOG[m1]}"
ab=$(jq -c 'select(.event=="client_closed")' "${MOCK_LOG[m1]}" | tail -1)
assert_contains "abort: logged client_closed" "$ab" "client_closed"
el=$(jq -r '.elapsed_ms | floor' <<<"$ab" 2>/dev/null)
assert_le "abort: seen within 900 ms of the request" "${el:-99999}" 900

# storm faults (issue 11): error event, stall, 200 with an error body,
# slow head, time window
evs() { curl -sS -N -m "${2:-5}" "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)" 2>/dev/null |
	grep '^event: ' | cut -d' ' -f2 | tr '\n' ' '; }
mock_fault m1 'sse_error&count=1'
assert_eq "sse_error: message_start, then event: error (default after=1)" "message_start error " "$(evs)"
mock_fault m1 'sse_error&after=0&message=busy+now&count=1'
s=$(curl -sS -N -m 5 "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)")
assert_eq "sse_error after=0: the first event is the error, overloaded_error with the message" \
	"error overloaded_error busy now" \
	"$(grep '^event: ' <<<"$s" | head -1 | cut -d' ' -f2) $(grep '^data: ' <<<"$s" | head -1 | cut -c7- | jq -r '.error.type + " " + .error.message')"
mock_fault m1 'stall&after=2&count=1'
t0=$(date +%s%N)
s=$(curl -sS -N -m 1.5 -w '\n%{http_code}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)" 2>/dev/null)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
assert_eq "stall after=2: 200 head, two events, then nothing until the client gives up" \
	"message_start content_block_start 200" "$(grep '^event: ' <<<"$s" | cut -d' ' -f2 | tr '\n' ' ')${s##*$'\n'}"
assert_le "stall: the client waited for its own timeout (1.5 s)" 1400 "$ms"
mock_fault m1 'stall&count=1'
code=$(curl -sS -m 1 -o /dev/null -w '%{http_code}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)" 2>/dev/null)
assert_eq "stall, non-streamed: the head arrives (200), the body never" "200" "$code"
mock_fault m1 'error_body&count=1'
code=$(curl -sS -m 5 -o "$T/eb.json" -w '%{http_code}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)")
assert_eq "error_body: 200 with an Anthropic error object" "200 error overloaded_error" \
	"$code $(jq -r '.type + " " + .error.type' "$T/eb.json")"
mock_fault m1 'slow_head&delay_ms=600&count=1'
s=$(curl -sS -N -m 5 -w '\n%{time_starttransfer}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_stream m)")
assert_le "slow_head: first byte after >= 600 ms" 600 "$(awk '{printf "%d", $1 * 1000}' <<<"${s##*$'\n'}")"
assert_eq "slow_head: then the whole stream" "12" "$(grep -c '^event: ' <<<"$s")"
mock_fault m1 'status=529&retry_after=1&for_ms=700'
c1=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)")
sleep 0.8
c2=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$U/v1/messages" -H "x-api-key: $KEY" -d "$(body_json m)")
assert_eq "for_ms=700: 529 inside the window, 200 after it" "529 200" "$c1 $c2"
mock_fault m1 ok

# echo-headers and deterministic ids
start_mock m2 --echo-headers --deterministic --events 8
h=$(curl -sS -m 5 -D - -o "$T/det1.json" "$(mock_url m2)/v1/messages" -H 'anthropic-beta: b1,b2' -H 'x-api-key: anything' -d "$(body_json m)")
rec=$(grep -i '^x-mock-received: ' <<<"$h" | cut -d' ' -f2- | tr -d '\r')
assert_eq "echo-headers: anthropic-beta echoed" "b1,b2" "$(jq -r '."anthropic-beta"' <<<"$rec")"
assert_eq "echo-headers: key value replaced by present" "present" "$(jq -r '."x-api-key"' <<<"$rec")"
curl -sS -m 5 -o "$T/det2.json" "$(mock_url m2)/v1/messages" -d "$(body_json m)"
assert_eq "deterministic: same body, same id" "$(jq -r .id "$T/det1.json")" "$(jq -r .id "$T/det2.json")"

# --fault on the command line, counted down like the control request
start_mock m3 --fault 'status=503&count=1'
c1=$(curl -sS -m 5 -o "$T/503.json" -w '%{http_code}' "$(mock_url m3)/v1/messages" -d "$(body_json m)")
c2=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$(mock_url m3)/v1/messages" -d "$(body_json m)")
assert_eq "--fault status=503&count=1: 503 then 200" "503 200" "$c1 $c2"
assert_eq "503 api_error" "api_error" "$(jq -r .error.type "$T/503.json")"

# the log: what tests need, never the key
l=$(mock_requests m1 'select(.path=="/v1/messages?beta=true")' | head -1)
assert_eq "log: auth style bearer" "bearer" "$(jq -r .auth <<<"$l")"
assert_eq "log: key matched" "true" "$(jq -r .key_match <<<"$l")"
assert_eq "log: model" "m" "$(jq -r .model <<<"$l")"
assert_not_contains "log: never holds the key" "$(cat "${MOCK_LOG[m1]}" "$T"/mock-*.err)" "$KEY"

# SIGTERM exits 0
kill -TERM "${MOCK_PID[m2]}"
wait "${MOCK_PID[m2]}"
assert_eq "SIGTERM -> exit 0" "0" "$?"

done_testing
