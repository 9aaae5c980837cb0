#!/bin/bash
# Usage records of the real Claude Code CLI (issue 14): three turns of one
# conversation (`claude -p --session-id`, then `--resume` twice; Claude Code
# streams every answer) through a real qcc-run to three mock upstreams whose
# answers carry known, different usage (input = body length / 4 + 1, output =
# --events - 6, cache writes and reads from --cache-usage), one upstream per
# turn (the earlier ones disabled), each mapping claude-* to its own model.
# Request by request, qcc's records (`qccc usage --json --by request,...`)
# equal the usage the mock sent and the usage Claude Code itself reports
# (its JSON result: usage and modelUsage per turn): token counts by kind, the
# x-claude-code-session-id as session, the model Claude Code asked for as
# requested_model and the mapped one as model, one record per /v1/messages
# exchange (count_tokens, Claude Code's or ours, is never one), and a cost
# equal to a hand computation from the pricing table (with a 0.5
# price_multiplier on one endpoint). A fourth turn whose stream up3 resets
# after content (Claude Code retries it itself): the cut stream is a partial
# record of what arrived, counted like Claude Code's own usage of the turn,
# while Claude Code's cost view (modelUsage) leaves it out. Needs node (skips
# without it).
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 || skip_all "node is not installed (apt-get install nodejs npm)"
command -v python3 >/dev/null || skip_all "python3 not installed"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if [ ! -x "$CLIENTS/node_modules/.bin/claude" ]; then
	diag "installing client packages: npm ci in $CLIENTS"
	(cd "$CLIENTS" && timeout 400 npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) ||
		bail_out "npm ci failed in tests/clients: $(tail -c 600 "$T/npm.log")"
fi

it_keys up1 up2 up3
it_tokens dev
# what each mock sends: EVENTS (output = EVENTS - 6) and W5M,W1H,READ
declare -A EVENTS=([up1]=10 [up2]=17 [up3]=23) CACHE=([up1]="100,20,300" [up2]="0,0,0" [up3]="0,50,700")
for m in up1 up2 up3; do
	start_mock "$m" --key-env "QCC_IT_KEY_${m^^}" --events "${EVENTS[$m]}" --cache-usage "${CACHE[$m]}"
done
QCC_PORT=$(free_port)
{
	yaml_head "$(yaml_tokens dev)"
	cat <<'YAML'
pricing:
  "mock-*": {input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.30}
  mock-three: {input: 1, output: 5, cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.10}
YAML
	yaml_profile it-main "load_balancing:" "  strategy: failover" "  sticky_session: false"
	ep_yaml up1 "priority: 1" "models:" '  "claude-*": mock-one'
	ep_yaml up2 "priority: 2" "price_multiplier: 0.5" "models:" '  "claude-*": mock-two'
	ep_yaml up3 "priority: 3" "models:" '  "claude-*": mock-three'
} >"$T/qcc.yaml"
build_and_start "$T/qcc.yaml"

SID=$(python3 -c 'import uuid; print(uuid.uuid4())')
CH=$T/cc-home
mkdir -p "$CH"
# claude_turn N ARGS... : one `claude -p --output-format json` in the test's
# HOME (the session is kept there), its result as $T/cc-N.json
claude_turn() {
	local n=$1
	shift
	(cd "$CH" && env -i PATH="$PATH" HOME="$CH" TMPDIR="$CH" ANTHROPIC_BASE_URL="$(qcc_url)" \
		ANTHROPIC_API_KEY="$QCC_IT_TOK_DEV" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 \
		timeout 90 "$CLIENTS/node_modules/.bin/claude" -p --output-format json "$@") \
		>"$T/cc-$n.json" 2>"$T/cc-$n.err"
}
claude_turn 1 --session-id "$SID" "first question"
assert_eq "turn 1: claude -p answered from up1" "false Hello from up1." \
	"$(jq -r '"\(.is_error) \(.result[0:15])"' "$T/cc-1.json" 2>/dev/null || head -c 300 "$T/cc-1.err")"
"$QCCC_BIN" endpoint disable up1 --state-dir "$QCC_STATE" >/dev/null 2>&1 || bail_out "cannot disable up1"
claude_turn 2 --resume "$SID" "a second question, a little longer than the first one"
assert_eq "turn 2 (resumed): answered from up2" "false Hello from up2." \
	"$(jq -r '"\(.is_error) \(.result[0:15])"' "$T/cc-2.json" 2>/dev/null || head -c 300 "$T/cc-2.err")"
"$QCCC_BIN" endpoint disable up2 --state-dir "$QCC_STATE" >/dev/null 2>&1 || bail_out "cannot disable up2"
claude_turn 3 --resume "$SID" "third"
assert_eq "turn 3 (resumed): answered from up3" "false Hello from up3." \
	"$(jq -r '"\(.is_error) \(.result[0:15])"' "$T/cc-3.json" 2>/dev/null || head -c 300 "$T/cc-3.err")"
# count_tokens in the same session is not usage (Claude Code's own, if it
# sent any, are checked below with the mock logs)
assert_eq "count_tokens answered" "200" \
	"$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/messages/count_tokens" \
		-H "x-api-key: $QCC_IT_TOK_DEV" -H "x-claude-code-session-id: $SID" \
		-d "$(body_json claude-opus-4-1)")"

# What the mocks sent, one line per /v1/messages exchange (count_tokens not):
# endpoint, the model they got, the session header, tokens by kind (a stream
# reset after content: message_start's, whose output_tokens is 1).
sent() {
	local m
	for m in up1 up2 up3; do
		mock_requests "$m" 'select(.method == "POST" and (.path | test("^/v1/messages(\\?|$)")))' |
			jq -c --arg ep "$m" --argjson ev "${EVENTS[$m]}" --arg cache "${CACHE[$m]}" '
				($cache | split(",") | map(tonumber)) as $c |
				{endpoint: $ep, model, session: .x_session, status, stream,
				 tokens: {input: ((.body_len / 4 | floor) + 1),
				          output: (if .fault | startswith("reset_mid_stream") then 1 else $ev - 6 end),
				          cache_write_5m: $c[0], cache_write_1h: $c[1], cache_read: $c[2]}}'
	done | jq -cs 'sort_by(.tokens.input, .tokens.output)'
}
# qcc's records, the same shape
recorded() {
	"$QCCC_BIN" usage --json --by request,endpoint,model,session,requested_model --state-dir "$QCC_STATE" |
		jq -c '[.groups[] | {endpoint, model, session, tokens, requested_model, request, requests,
			cost_pico_usd, error_requests, partial_requests, unknown_requests}] | sort_by(.tokens.input, .tokens.output)'
}
n_sent=$(sent | jq length)
wait_until 50 0.1 sh -c "\"$QCCC_BIN\" usage --json --state-dir \"$QCC_STATE\" | jq -e '.total.requests >= $n_sent' >/dev/null"
sleep 0.3 # a record that should not be there (count_tokens) would have landed by now
S=$(sent)
R=$(recorded)
diag "Claude Code's /v1/messages exchanges: $n_sent; other calls: $(for m in up1 up2 up3; do
	mock_requests "$m" 'select((.path | test("^/v1/messages(\\?|$)")) | not) | "\(.method) \(.path)"'
done | sort | uniq -c | tr -s ' \n' ' ')"
assert_le "the three turns made at least three exchanges" 3 "$n_sent"
assert_eq "every exchange streamed and answered 200 by the mocks" "[true] [200]" \
	"$(jq -r '"\([.[].stream] | unique | tojson) \([.[].status] | unique | tojson)"' <<<"$S")"
assert_eq "the mocks' usage differs per request (the comparison means something)" "$n_sent" \
	"$(jq '[.[].tokens] | unique | length' <<<"$S")"
assert_eq "one record per exchange (count_tokens, Claude Code's or ours, is none)" "$n_sent" \
	"$(jq length <<<"$R")"
assert_eq "each record is one request with its own request id" "$n_sent [1]" \
	"$(jq -r '"\([.[].request] | unique | length) \([.[].requests] | unique)"' <<<"$R")"
assert_eq "no error, partial or unknown record" "0 0 0" \
	"$(jq -r '"\(map(.error_requests) | add) \(map(.partial_requests) | add) \(map(.unknown_requests) | add)"' <<<"$R")"
assert_eq "request by request: endpoint, model sent, session and tokens as the mocks sent them" \
	"$(jq -c 'map({endpoint, model, session, tokens})' <<<"$S")" \
	"$(jq -c 'map({endpoint, model, session, tokens})' <<<"$R")"
assert_eq "the session recorded is Claude Code's x-claude-code-session-id" "[\"$SID\"]" \
	"$(jq -c '[.[].session] | unique' <<<"$R")"

# What Claude Code itself reports per turn: result.usage (that turn's
# request) and modelUsage (keyed by the model it asked for; a resumed session
# carries its earlier turns, so turn N's is the session up to N).
for n in 1 2 3; do
	ep=up$n
	cli=$(jq -c '{session: .session_id, tokens: {input: .usage.input_tokens, output: .usage.output_tokens,
		cache_write_5m: .usage.cache_creation.ephemeral_5m_input_tokens,
		cache_write_1h: .usage.cache_creation.ephemeral_1h_input_tokens,
		cache_read: .usage.cache_read_input_tokens}}' "$T/cc-$n.json" 2>/dev/null)
	mine=$(jq -c --arg ep "$ep" '[.[] | select(.endpoint == $ep)]' <<<"$R")
	assert_eq "turn $n: Claude Code's session and usage equal qcc's record" "$cli" \
		"$(jq -c --argjson c "${cli:-null}" 'map(select(.tokens == $c.tokens)) | .[0] | {session, tokens}' <<<"$mine")"
	cm=$(jq -c '.modelUsage | to_entries | map({key, value: {input: .value.inputTokens,
		output: .value.outputTokens, cache_read: .value.cacheReadInputTokens,
		cache_write: .value.cacheCreationInputTokens}}) | from_entries' "$T/cc-$n.json" 2>/dev/null)
	assert_eq "turn $n: Claude Code's modelUsage (the session so far, by the model it asked for) equals qcc's records by requested_model" \
		"$cm" "$(jq -c --arg ep "$ep" 'map(select(.endpoint <= $ep)) | group_by(.requested_model) | map({key: .[0].requested_model, value: {
			input: (map(.tokens.input) | add), output: (map(.tokens.output) | add),
			cache_read: (map(.tokens.cache_read) | add),
			cache_write: (map(.tokens.cache_write_5m + .tokens.cache_write_1h) | add)}}) | from_entries' <<<"$R")"
done
assert_eq "model as sent after the map, per endpoint" '["up1 mock-one","up2 mock-two","up3 mock-three"]' \
	"$(jq -c '[.[] | "\(.endpoint) \(.model)"] | unique' <<<"$R")"
assert_eq "the client token's name is recorded" '["dev"]' \
	"$("$QCCC_BIN" usage --json --by client --state-dir "$QCC_STATE" | jq -c '[.groups[].client]')"

# Cost by hand: USD per MTok = pico-USD per token; multiplier in ppm, rounded
# down once per request (docs/usage.md "Units and exactness").
want=$(python3 -c '
import json, sys
rates = {"mock-three": [1, 5, 1.25, 2, 0.10]}
glob = [3, 15, 3.75, 6, 0.30]
mult = {"up1": 1000000, "up2": 500000, "up3": 1000000}
kinds = ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"]
out = []
for r in json.loads(sys.argv[1]):
    rate = rates.get(r["model"], glob)
    pico = sum(r["tokens"][k] * round(rate[i] * 1000000) for i, k in enumerate(kinds))
    out.append(pico * mult[r["endpoint"]] // 1000000)
print(json.dumps(out, separators=(",", ":")))' "$S")
assert_eq "cost per request equals the hand computation (pricing table, 0.5 multiplier on up2)" \
	"$want" "$(jq -c 'map(.cost_pico_usd)' <<<"$R")"
assert_eq "total cost is their sum" "$(jq 'add' <<<"$want")" \
	"$("$QCCC_BIN" usage --json --state-dir "$QCC_STATE" | jq .total.cost_pico_usd)"
ex=$("$QCCC_BIN" usage export "$T/u.json" --by request --state-dir "$QCC_STATE")
assert_contains "usage export by request: one row per exchange" "$ex" "wrote $n_sent rows"

# ---- turn 4: up3 resets the stream after content (qcc passes that on, as
# specified); Claude Code retries the request itself ----
before=$(jq -c 'map(.request)' <<<"$R")
mock_fault up3 'reset_mid_stream&after=8&count=1' || bail_out "cannot set a fault on up3"
claude_turn 4 --resume "$SID" "fourth"
assert_eq "turn 4: claude -p still answered from up3" "false Hello from up3." \
	"$(jq -r '"\(.is_error) \(.result[0:15])"' "$T/cc-4.json" 2>/dev/null || head -c 300 "$T/cc-4.err")"
n_sent=$(sent | jq length)
wait_until 50 0.1 sh -c "\"$QCCC_BIN\" usage --json --state-dir \"$QCC_STATE\" | jq -e '.total.requests >= $n_sent' >/dev/null"
S=$(sent)
R=$(recorded)
new=$(jq -c --argjson b "$before" 'map(select(.request as $r | $b | index($r) | not))' <<<"$R")
assert_eq "turn 4: the cut stream and Claude Code's retry are two records, the cut one partial" "2 1" \
	"$(jq -r '"\(length) \(map(.partial_requests) | add)"' <<<"$new")"
assert_eq "turn 4: request by request, the cut stream too, as the mocks sent them" \
	"$(jq -c 'map({endpoint, model, session, tokens})' <<<"$S")" \
	"$(jq -c 'map({endpoint, model, session, tokens})' <<<"$R")"
kinds='{input: (map(.input) | add), output: (map(.output) | add), cache_write_5m: (map(.cache_write_5m) | add),
	cache_write_1h: (map(.cache_write_1h) | add), cache_read: (map(.cache_read) | add)}'
assert_eq "turn 4: Claude Code's usage of the turn counts both requests, as qcc does" \
	"$(jq -c '.usage | {input: .input_tokens, output: .output_tokens,
		cache_write_5m: .cache_creation.ephemeral_5m_input_tokens,
		cache_write_1h: .cache_creation.ephemeral_1h_input_tokens, cache_read: .cache_read_input_tokens}' "$T/cc-4.json")" \
	"$(jq -c "map(.tokens) | $kinds" <<<"$new")"
# Claude Code's cost view (modelUsage, total_cost_usd) leaves the cut stream
# out; qcc keeps it, flagged partial (docs/usage.md "Capture")
assert_eq "turn 4: Claude Code's modelUsage equals qcc's records without the partial one" \
	"$(jq -c '.modelUsage[] | {input: .inputTokens, output: .outputTokens,
		cache_write_5m: .cacheCreationEphemeral5mInputTokens, cache_write_1h: .cacheCreationEphemeral1hInputTokens,
		cache_read: .cacheReadInputTokens}' "$T/cc-4.json")" \
	"$(jq -c "map(select(.partial_requests == 0) | .tokens) | $kinds" <<<"$R")"
stop_qcc
done_testing
