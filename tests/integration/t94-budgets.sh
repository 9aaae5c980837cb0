#!/bin/bash
# Pricing and budgets end to end (issue 14, docs/usage.md "Pricing" and
# "Budgets"): real qcc-run, real mock upstreams whose answers carry known
# usage (cache writes 5m/1h and reads on up1).
#  (a) the cost `qccc usage --json` reports per endpoint equals the cost of
#      the usage the clients received, computed here by hand from the price
#      table (with up1's price_multiplier 0.5); an unpriced model is "no price"
#  (b) up1's daily budget runs out after one request: traffic moves to up2
#      (the mocks say who answered), GET /endpoints says rest_reason budget
#      until the next midnight of usage.timezone (Asia/Shanghai), the journal
#      has the endpoint_rest with that reason, `qccc endpoint list` and
#      `qccc status` show it, the alert hook gets budget_spent
#  (c) a client token over its daily_tokens budget gets 429 rate_limit_error
#      with retry-after = seconds to that midnight (+-2 s); other tokens pass
#  (d) /metrics: qcc_cost_usd_total and qcc_budget_remaining
#  (e) kill -9 and restart: the budget is still spent (seeded from usage.qu)
#  (f) a reload that raises the budget lifts the rest
#  (g) the period's end, with the budgets' clock moved near midnight
#      (QCC_BUDGET_CLOCK_OFFSET_S): traffic returns to up1, carol passes
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v python3 >/dev/null || skip_all "python3 not installed"
python3 -c 'import zoneinfo; zoneinfo.ZoneInfo("Asia/Shanghai")' 2>/dev/null ||
	skip_all "no tz database for python3"

usage_mocks 30 12
it_tokens alice carol
{
	yaml_head "access_log: true" "$(yaml_tokens alice "carol=budget: {daily_tokens: 1}")" \
		"health.alert_enabled: true"
	printf 'usage:\n  timezone: Asia/Shanghai\n'
	printf 'pricing:\n  "claude-it*": {input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.30}\n'
	printf 'alerts:\n  exec: "cat >> %s/alerts.jsonl"\n' "$T"
	yaml_profile it-main "priority: primary" "load_balancing:" "  strategy: failover"
	ep_yaml up1 "priority: 1" "price_multiplier: 0.5" "budget: {daily_usd: 0.000001}"
	ep_yaml up2 "priority: 2" "models:" "  claude-free: glm-free"
} >"$T/qcc.yaml"
build_and_start "$T/qcc.yaml"
P=$(qcc_url)
admin() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" "http://qcc$1"; }
ep_field() { admin /endpoints | jq -r --arg id "$1" ".endpoints[] | select(.id == \$id) | $2"; }
# ask NAME TOKEN BODY : one /v1/messages, kept as $T/r-NAME.{h,body}
ask() {
	post_messages "$@"
	echo "$1" >>"$T/asked"
}
code() { head -1 "$T/r-$1.h" | awk '{print $2}'; }
: >"$T/asked"
midnight=$(python3 -c 'import datetime, zoneinfo
z = zoneinfo.ZoneInfo("Asia/Shanghai")
n = datetime.datetime.now(z)
m = (n + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
print(int(m.timestamp()))')

# (b) up1 answers the first request and spends its budget on it
ask a1 "$QCC_IT_TOK_ALICE" "$(body_stream claude-it)"
assert_eq "the first request went to up1" "up1" "$(answered_by a1)"
wait_until 50 0.1 sh -c "curl -sS -m 5 --unix-socket '$QCC_STATE/admin.sock' http://qcc/endpoints |
	jq -e '.endpoints[] | select(.id == \"up1\") | .rest_reason == \"budget\"' >/dev/null"
assert_eq "up1 rests for its budget" "budget" "$(ep_field up1 .rest_reason)"
assert_eq "up1's budget: nothing left today" "0" "$(ep_field up1 .budget.daily_usd_left)"
iso_s() { python3 -c "import sys, datetime
print(int(datetime.datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')).timestamp()))" "$1" 2>/dev/null; }
until_s=$(iso_s "$(ep_field up1 .budget.spent_until)")
assert_eq "up1 rests until the next midnight in Asia/Shanghai" "$midnight" "$until_s"
ask a2 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
ask a3 "$QCC_IT_TOK_ALICE" "$(body_stream claude-it)"
ask a4 "$QCC_IT_TOK_ALICE" "$(body_json claude-free)"
assert_eq "then traffic moved to up2 (a2)" "up2" "$(answered_by a2)"
assert_eq "then traffic moved to up2 (a3)" "up2" "$(answered_by a3)"
assert_eq "then traffic moved to up2 (a4)" "up2" "$(answered_by a4)"
assert_eq "up1's mock saw one request only" "1" "$(grep -c '/v1/messages' "${MOCK_LOG[up1]}")"
j=$(journal_json | jq -c '[.[] | select(.type == "endpoint_rest")] | last')
assert_contains "journal: endpoint_rest with the budget reason" "$j" "daily budget spent until 00:00 +08"
jr=$(jq -r '.until' <<<"$j")
ju=$(python3 -c "import sys, datetime
v = sys.argv[1]
try: print(int(v) // 1000)
except ValueError: print(int(datetime.datetime.fromisoformat(v.replace('Z', '+00:00')).timestamp()))" "$jr" 2>/dev/null)
assert_le "journal: the rest ends at that midnight (-2 s)" "$((midnight - 2))" "${ju:-0}"
assert_le "journal: the rest ends at that midnight (+2 s)" "${ju:-0}" "$((midnight + 2))"
wait_until 50 0.1 grep -q '"budget_spent"' "$T/alerts.jsonl"
alert=$(grep '"budget_spent"' "$T/alerts.jsonl" | head -1)
assert_eq "alert hook: budget_spent for up1" "up1" "$(jq -r .endpoint <<<"$alert" 2>/dev/null)"
assert_contains "alert hook: with the reason" "$(jq -r .message <<<"$alert" 2>/dev/null)" \
	"daily budget spent until 00:00 +08"
el=$("$QCCC_BIN" endpoint list --state-dir "$QCC_STATE" 2>&1)
assert_contains "endpoint list says up1 rests for its budget" "$(grep '^up1' <<<"$el")" "on, budget"
assert_contains "endpoint list: up1's today cell" "$(grep '^up1' <<<"$el")" "budget spent"
st=$("$QCCC_BIN" status --state-dir "$QCC_STATE" 2>&1)
assert_contains "status: today's line for up1" "$st" "up1 "
assert_contains "status: up1's budget is spent" "$(grep 'up1 ' <<<"$st")" "budget spent"
assert_eq "status --json: up1's exact cost today is its priced cost" "true" \
	"$("$QCCC_BIN" status --json --state-dir "$QCC_STATE" | jq '.spending[] | select(.id == "up1") | .budget_rest and (.today.cost_pico_usd > 0)')"

# (a) cost per endpoint = the usage the clients received x the prices
wait_usage_requests 4
# shellcheck disable=SC2046
expected=$(answers_usage $(cat "$T/asked") | python3 -c '
import json, sys
rates = {"input": 3000000, "output": 15000000, "cache_write_5m": 3750000, "cache_write_1h": 6000000,
         "cache_read": 300000}  # micro-USD per MTok = pico-USD per token
mult = {"up1": 500000, "up2": 1000000}
out = {}
for line in sys.stdin:
    a = json.loads(line)
    ep, model, tok = a["endpoint"], a["model"], a["tokens"]
    g = out.setdefault(ep, {"cost_pico_usd": None, "no_price_requests": 0})
    if model.startswith("claude-it"):
        c = sum(tok[k] * rates[k] for k in rates) * mult[ep] // 1000000
        g["cost_pico_usd"] = (g["cost_pico_usd"] or 0) + c
    else:
        g["no_price_requests"] += 1
print(json.dumps(out, sort_keys=True))')
reported=$("$QCCC_BIN" usage --json --by endpoint --state-dir "$QCC_STATE" |
	jq -cS '[.groups[] | {key: .endpoint, value: {cost_pico_usd, no_price_requests}}] | from_entries')
assert_eq "cost per endpoint equals the hand-computed cost (cache kinds, 0.5 multiplier)" \
	"$(jq -cS . <<<"$expected")" "$reported"
rid=$(resp_header a1 x-request-id)
al=$(jq -c --arg r "$rid" 'select(.request_id == $r)' "$QCC_ACCESS_LOG")
assert_eq "access log: a1's exact cost (pico-USD as USD)" "$(jq -r .up1.cost_pico_usd <<<"$expected")" \
	"$(python3 -c "import sys, decimal; print(int(decimal.Decimal(sys.argv[1]) * 10**12))" "$(jq -r .cost_usd <<<"$al")" 2>/dev/null)"
rid=$(resp_header a4 x-request-id)
assert_eq "access log: the unpriced model's cost is null" "null" \
	"$(jq -c --arg r "$rid" 'select(.request_id == $r) | .cost_usd' "$QCC_ACCESS_LOG")"
up1_cache=$("$QCCC_BIN" usage --json --by endpoint --state-dir "$QCC_STATE" |
	jq -r '.groups[] | select(.endpoint == "up1") | .tokens.cache_write_1h')
assert_eq "up1's answer had 1-hour cache writes (priced at their own rate)" "20" "$up1_cache"
bym=$("$QCCC_BIN" usage --json --by model --state-dir "$QCC_STATE")
assert_eq "the unpriced (mapped) model has no cost, not 0" "null" \
	"$(jq -r '.groups[] | select(.model == "glm-free") | .cost_usd' <<<"$bym")"
assert_eq "cost_usd is the exact decimal of cost_pico_usd" "true" \
	"$(jq -r '.total | (.cost_pico_usd | tostring) as $p | (.cost_usd | split(".")) as $d |
		(($d[0] + (($d[1] // "") + "000000000000")[0:12]) | ltrimstr("0") | ltrimstr("0") | ltrimstr("0") | ltrimstr("0")) == $p' <<<"$bym")"
human=$("$QCCC_BIN" usage --by model --state-dir "$QCC_STATE")
assert_contains "the table calls out the unpriced share" "$human" "no price: 1 of 4"
assert_contains "the table says no price for the unpriced model" "$(grep glm-free <<<"$human")" "no price"
assert_contains "hours and days in the table's zone" "$human" "Asia/Shanghai time"

# (c) carol's daily_tokens budget (1) is spent by her first request
ask c1 "$QCC_IT_TOK_CAROL" "$(body_json claude-it)"
assert_eq "carol's first request passes" "200" "$(code c1)"
wait_until 50 0.1 sh -c "curl -sS -o /dev/null -w '%{http_code}' -m 5 '$P/v1/messages' -H 'x-api-key: $QCC_IT_TOK_CAROL' -d '$(body_json claude-it)' | grep -q 429"
ask c2 "$QCC_IT_TOK_CAROL" "$(body_json claude-it)"
now=$(date +%s)
assert_eq "carol over her budget: 429" "429" "$(code c2)"
assert_eq "  with Anthropic's rate_limit_error" "error rate_limit_error" \
	"$(jq -r '"\(.type) \(.error.type)"' "$T/r-c2.body" 2>/dev/null)"
ra=$(resp_header c2 retry-after)
assert_le "  retry-after = seconds to the midnight (-2 s)" "$((midnight - now - 2))" "${ra:-0}"
assert_le "  retry-after = seconds to the midnight (+2 s)" "${ra:-0}" "$((midnight - now + 2))"
assert_not_contains "  the message never holds the token" "$(cat "$T/r-c2.body")" "$QCC_IT_TOK_CAROL"
ask a5 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
assert_eq "alice still passes" "200" "$(code a5)"

# (d) metrics
mt=$(admin /metrics)
up1_cost=$(jq -r '.up1.cost_pico_usd' <<<"$expected")
mv=$(grep '^qcc_cost_usd_total{endpoint="up1",model="claude-it"}' <<<"$mt" | awk '{print $2}')
assert_eq "metrics: qcc_cost_usd_total of up1 is its priced cost" "$up1_cost" \
	"$(python3 -c "import sys; print(round(float(sys.argv[1]) * 1e12))" "${mv:-0}")"
assert_contains "metrics: up1's daily budget is spent" "$mt" \
	'qcc_budget_remaining{endpoint="up1",period="daily_usd"} 0'
assert_not_contains "metrics: no budget series for up2 (no budget)" "$mt" \
	'qcc_budget_remaining{endpoint="up2"'
assert_not_contains "metrics: no series for the unpriced model" "$mt" \
	'qcc_cost_usd_total{endpoint="up2",model="glm-free"}'

# (e) kill -9 and restart: still spent (seeded from the usage file)
kill9_restart_qcc
assert_eq "after kill -9 and restart up1 still rests for its budget" "budget" "$(ep_field up1 .rest_reason)"
ask r1 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
assert_eq "after restart traffic still goes to up2" "up2" "$(answered_by r1)"
assert_eq "up1's mock still saw one request only" "1" "$(grep -c '/v1/messages' "${MOCK_LOG[up1]}")"
ask r2 "$QCC_IT_TOK_CAROL" "$(body_json claude-it)"
assert_eq "after restart carol still gets 429" "429" "$(code r2)"

# (f) a reload that raises up1's budget lifts its rest: traffic goes back to
# up1 (priority 1); spending is kept, so the old cap would still hold
gen=$(healthz_generation)
sed 's/daily_usd: 0.000001/daily_usd: 100/' "$T/qcc.yaml" >"$T/qcc2.yaml"
build_table "$T/qcc2.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
kill -HUP "$QCC_PID"
wait_generation_above "$gen" >/dev/null || bail_out "the raised budget was not loaded"
assert_eq "after the reload up1 no longer rests" "null" "$(ep_field up1 .rest_reason)"
assert_eq "  today's spending was kept over the reload" "true" \
	"$(ep_field up1 '.today.cost_pico_usd > 0')"
ask f1 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
assert_eq "  and traffic is back on up1" "up1" "$(answered_by f1)"
stop_qcc

# (g) the period's end: the budgets' clock moved (QCC_BUDGET_CLOCK_OFFSET_S)
# to 8 s before the next Asia/Shanghai midnight, the first budget again.
# Seeded from today's records, up1 and carol are spent at once; at the
# midnight up1 takes traffic again by itself and carol passes.
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
export QCC_BUDGET_CLOCK_OFFSET_S=$((midnight - $(date +%s) - 8))
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
unset QCC_BUDGET_CLOCK_OFFSET_S
assert_eq "near midnight: up1 rests for its budget (seeded)" "budget" "$(ep_field up1 .rest_reason)"
ask g1 "$QCC_IT_TOK_CAROL" "$(body_json claude-it)"
ra=$(resp_header g1 retry-after)
assert_le "  carol's retry-after is the seconds to that midnight (<= 9)" "${ra:-99}" 9
assert_le "  ... and more than 0" 1 "${ra:-0}"
wait_until 150 0.1 sh -c "curl -sS -m 5 --unix-socket '$QCC_STATE/admin.sock' http://qcc/endpoints |
	jq -e '.endpoints[] | select(.id == \"up1\") | .rest_reason == null' >/dev/null"
assert_eq "at the midnight up1's rest is over" "null" "$(ep_field up1 .rest_reason)"
ask g2 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
assert_eq "  and up1 takes traffic again" "up1" "$(answered_by g2)"
ask g3 "$QCC_IT_TOK_CAROL" "$(body_json claude-it)"
assert_eq "  and carol passes again" "200" "$(code g3)"
stop_qcc
done_testing
