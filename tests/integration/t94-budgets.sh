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

it_keys up1 up2
export QCC_IT_TOK_ALICE=$(make_secret tok-alice)
export QCC_IT_TOK_CAROL=$(make_secret tok-carol)
start_mock up1 --key-env QCC_IT_KEY_UP1 --cache-usage 100,20,300 --events 30
start_mock up2 --key-env QCC_IT_KEY_UP2 --events 12
QCC_PORT=$(free_port)
cat >"$T/qcc.yaml" <<YAML
version: 1
usage:
  timezone: Asia/Shanghai
pricing:
  "claude-it*": {input: 3, output: 15, cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.30}
proxy:
  host: 127.0.0.1
  port: $QCC_PORT
  access_log: true
  auth_tokens:
    - name: alice
      env: QCC_IT_TOK_ALICE
    - name: carol
      env: QCC_IT_TOK_CAROL
      budget: {daily_tokens: 1}
health:
  enabled: false
  alert_enabled: true
alerts:
  exec: "cat >> $T/alerts.jsonl"
queue:
  enabled: false
profiles:
  - name: it-main
    priority: primary
    load_balancing:
      strategy: failover
    endpoints:
$(ep_yaml up1 "priority: 1" "price_multiplier: 0.5" "budget: {daily_usd: 0.000001}")
$(ep_yaml up2 "priority: 2" "models:" "  claude-free: glm-free")
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)
admin() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" "http://qcc$1"; }
ep_field() { admin /endpoints | jq -r --arg id "$1" ".endpoints[] | select(.id == \$id) | $2"; }
# ask NAME TOKEN BODY : one /v1/messages, kept as $T/r-NAME.{h,body}
ask() {
	curl -sS -N -m 20 -D "$T/r-$1.h" -o "$T/r-$1.body" "$P/v1/messages" -H "x-api-key: $2" \
		-H 'anthropic-version: 2023-06-01' -d "$3" 2>/dev/null
	echo "$1" >>"$T/asked"
}
who() { grep -i '^x-mock-upstream:' "$T/r-$1.h" | awk '{print $2}' | tr -d '\r'; }
code() { head -1 "$T/r-$1.h" | awk '{print $2}'; }
: >"$T/asked"
midnight=$(python3 -c 'import datetime, zoneinfo
z = zoneinfo.ZoneInfo("Asia/Shanghai")
n = datetime.datetime.now(z)
m = (n + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
print(int(m.timestamp()))')

# (b) up1 answers the first request and spends its budget on it
ask a1 "$QCC_IT_TOK_ALICE" "$(body_stream claude-it)"
assert_eq "the first request went to up1" "up1" "$(who a1)"
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
assert_eq "then traffic moved to up2 (a2)" "up2" "$(who a2)"
assert_eq "then traffic moved to up2 (a3)" "up2" "$(who a3)"
assert_eq "then traffic moved to up2 (a4)" "up2" "$(who a4)"
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
wait_until 50 0.1 sh -c "\"$QCCC_BIN\" usage --json --state-dir \"$QCC_STATE\" | jq -e '.total.requests == 4' >/dev/null"
expected=$(python3 - "$T" <<'PY'
import json, sys, os
t = sys.argv[1]
rates = {"input": 3000000, "output": 15000000, "cache_write_5m": 3750000, "cache_write_1h": 6000000,
         "cache_read": 300000}  # micro-USD per MTok = pico-USD per token
mult = {"up1": 500000, "up2": 1000000}
out = {}
for name in open(os.path.join(t, "asked")).read().split():
    body = open(os.path.join(t, "r-%s.body" % name)).read()
    heads = open(os.path.join(t, "r-%s.h" % name)).read().lower()
    ep = [l.split(":", 1)[1].strip() for l in heads.splitlines() if l.startswith("x-mock-upstream:")][0]
    u, model = {}, None
    if body.lstrip().startswith("{"):
        m = json.loads(body); u = m["usage"]; model = m["model"]
    else:
        for l in body.splitlines():
            if not l.startswith("data:"): continue
            d = json.loads(l[5:])
            if d.get("type") == "message_start": u.update(d["message"]["usage"]); model = d["message"]["model"]
            elif d.get("type") == "message_delta": u.update(d.get("usage", {}))
    cc = u.get("cache_creation")
    tok = {"input": u.get("input_tokens", 0), "output": u.get("output_tokens", 0),
           "cache_read": u.get("cache_read_input_tokens", 0),
           "cache_write_5m": cc["ephemeral_5m_input_tokens"] if cc else u.get("cache_creation_input_tokens", 0),
           "cache_write_1h": cc["ephemeral_1h_input_tokens"] if cc else 0}
    g = out.setdefault(ep, {"cost_pico_usd": None, "no_price_requests": 0})
    if model.startswith("claude-it"):
        c = sum(tok[k] * rates[k] for k in rates) * mult[ep] // 1000000
        g["cost_pico_usd"] = (g["cost_pico_usd"] or 0) + c
    else:
        g["no_price_requests"] += 1
print(json.dumps(out, sort_keys=True))
PY
)
reported=$("$QCCC_BIN" usage --json --by endpoint --state-dir "$QCC_STATE" |
	jq -cS '[.groups[] | {key: .endpoint, value: {cost_pico_usd, no_price_requests}}] | from_entries')
assert_eq "cost per endpoint equals the hand-computed cost (cache kinds, 0.5 multiplier)" \
	"$(jq -cS . <<<"$expected")" "$reported"
rid=$(grep -i '^x-request-id:' "$T/r-a1.h" | awk '{print $2}' | tr -d '\r')
al=$(jq -c --arg r "$rid" 'select(.request_id == $r)' "$QCC_ACCESS_LOG")
assert_eq "access log: a1's exact cost (pico-USD as USD)" "$(jq -r .up1.cost_pico_usd <<<"$expected")" \
	"$(python3 -c "import sys, decimal; print(int(decimal.Decimal(sys.argv[1]) * 10**12))" "$(jq -r .cost_usd <<<"$al")" 2>/dev/null)"
rid=$(grep -i '^x-request-id:' "$T/r-a4.h" | awk '{print $2}' | tr -d '\r')
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
ra=$(grep -i '^retry-after:' "$T/r-c2.h" | awk '{print $2}' | tr -d '\r')
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
kill -KILL "$QCC_PID"
wait "$QCC_PID" 2>/dev/null
QCC_PID=""
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
assert_eq "after kill -9 and restart up1 still rests for its budget" "budget" "$(ep_field up1 .rest_reason)"
ask r1 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
assert_eq "after restart traffic still goes to up2" "up2" "$(who r1)"
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
assert_eq "  and traffic is back on up1" "up1" "$(who f1)"
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
ra=$(grep -i '^retry-after:' "$T/r-g1.h" | awk '{print $2}' | tr -d '\r')
assert_le "  carol's retry-after is the seconds to that midnight (<= 9)" "${ra:-99}" 9
assert_le "  ... and more than 0" 1 "${ra:-0}"
wait_until 150 0.1 sh -c "curl -sS -m 5 --unix-socket '$QCC_STATE/admin.sock' http://qcc/endpoints |
	jq -e '.endpoints[] | select(.id == \"up1\") | .rest_reason == null' >/dev/null"
assert_eq "at the midnight up1's rest is over" "null" "$(ep_field up1 .rest_reason)"
ask g2 "$QCC_IT_TOK_ALICE" "$(body_json claude-it)"
assert_eq "  and up1 takes traffic again" "up1" "$(who g2)"
ask g3 "$QCC_IT_TOK_CAROL" "$(body_json claude-it)"
assert_eq "  and carol passes again" "200" "$(code g3)"
stop_qcc
done_testing
