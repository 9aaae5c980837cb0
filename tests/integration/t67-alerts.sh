#!/bin/bash
# health.alert_enabled + alerts.exec + alerts.webhook: an endpoint that keeps
# failing its checks raises endpoint_unhealthy (after alert_threshold
# failures), the failover raises profile_switch, its return raises
# endpoint_recovered; each reaches the exec hook (JSON on stdin, an
# environment without the API keys, killed at alerts.timeout without slowing
# the loop) and a webhook (JSON POST, retried after a 503). No secret in any.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is needed for the webhook receiver"

start_mock a
start_mock b
it_keys a b

# webhook receiver: answers the first POST 503 (qcc-run must try again), the
# rest 200; writes each body as one line
HOOK_PORT=$(free_port)
cat >"$T/hook.py" <<'PY'
import http.server, sys
out, port = sys.argv[1], int(sys.argv[2])
seen = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        seen[0] += 1
        code = 503 if seen[0] == 1 else 200
        with open(out, "ab") as f:
            f.write(b"%d %s %s\n" % (code, self.headers.get("content-type", "").encode(), body))
        self.send_response(code)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$T/hook.py" "$T/webhook.log" "$HOOK_PORT" &
track_pid $!
wait_until 50 0.1 bash -c "echo > /dev/tcp/127.0.0.1/$HOOK_PORT" 2>/dev/null

# the hook appends the alert, records its environment, then hangs (killed at
# alerts.timeout, 1 s)
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
health:
  enabled: true
  check: models
  check_interval: 1s
  timeout: 500ms
  retry_count: 0
  alert_enabled: true
  alert_threshold: 2
alerts:
  exec: "cat >> $T/alerts.jsonl; env > $T/hook.env; sleep 30"
  webhook: http://127.0.0.1:$HOOK_PORT/qcc
  timeout: 1s
queue:
  enabled: false
switching_policy:
  auto_switch: true
  auto_recovery: true
  switch_threshold: 2
  cooldown_period: 2s
profiles:
  - name: prim
    priority: primary
    endpoints:
$(ep_yaml a)
  - name: sec
    priority: secondary
    endpoints:
$(ep_yaml b)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"
: >"$T/alerts.jsonl"

mock_fault a 'status=503'
# requests fail over to b and switch the active profile
for i in 1 2 3 4; do ask "$(body_json alert)" >/dev/null; done
wait_until 100 0.1 grep -q '"endpoint_unhealthy"' "$T/alerts.jsonl"
unhealthy=$(grep '"endpoint_unhealthy"' "$T/alerts.jsonl" | head -1)
assert_eq "exec hook got endpoint_unhealthy for a" "a" "$(jq -r .endpoint <<<"$unhealthy")"
assert_eq "... as a qcc_alert JSON object" "qcc_alert" "$(jq -r .type <<<"$unhealthy")"
assert_contains "... saying why" "$(jq -r .message <<<"$unhealthy")" "failures in a row"
wait_until 50 0.1 grep -q '"profile_switch"' "$T/alerts.jsonl"
assert_eq "exec hook got profile_switch to sec" "sec" \
	"$(grep '"profile_switch"' "$T/alerts.jsonl" | head -1 | jq -r .profile)"
assert_contains "alert logged at warning level" "$(cat "$QCC_ERR_LOG")" "ALERT endpoint_unhealthy"

# the hung hook is killed at alerts.timeout; the loop never waited for it
worst=0
for i in $(seq 10); do
	us=$(curl -sS -m 2 -o /dev/null -w '%{time_total}' "$(qcc_url)/healthz" | awk '{printf "%d", $1 * 1000000}')
	[ "${us:-999999}" -gt "$worst" ] && worst=${us:-999999}
	sleep 0.05
done
assert_le "/healthz while a hook hangs: each under 50 ms (worst ${worst} us)" "$worst" 50000
wait_until 50 0.1 grep -q "killed by signal 9 (alerts.timeout)" "$QCC_ERR_LOG"
assert_contains "hung hook killed at alerts.timeout" "$(cat "$QCC_ERR_LOG")" "killed by signal 9 (alerts.timeout)"
assert_eq "... with its whole process group (no sleep left)" "" \
	"$(pgrep -f "sleep 30" -P 1 2>/dev/null | head -1)"

# every endpoint down for alert_threshold seconds -> all_down; one back -> all_down_over
mock_fault b 'status=503'
for i in 1 2 3 4; do ask "$(body_json alert)" >/dev/null; done
wait_until 100 0.1 grep -q '"all_down"' "$T/alerts.jsonl"
assert_contains "exec hook got all_down" "$(jq -r .kind "$T/alerts.jsonl" | sort -u | tr '\n' ' ')" "all_down "

# recovery
mock_reset a
mock_reset b
wait_until 150 0.1 grep -q '"all_down_over"' "$T/alerts.jsonl"
assert_contains "exec hook got all_down_over" "$(jq -r .kind "$T/alerts.jsonl" | sort -u | tr '\n' ' ')" "all_down_over"
recovered() { jq -r 'select(.kind == "endpoint_recovered") | .endpoint' "$T/alerts.jsonl" | sort -u | tr '\n' ' '; }
wait_until 150 0.1 test "$(recovered)" = "a b "
assert_eq "exec hook got endpoint_recovered for a and b" "a b " "$(recovered)"

# qccc health history lists the alerts (journal type 18) that name the
# endpoint or every endpoint, with time, kind, endpoint and message
hh=$("$QCCC_BIN" health history a --json --state-dir "$QCC_STATE")
assert_eq "health history a --json: its alerts (none about b, no profile_switch)" \
	"all_down all_down_over endpoint_recovered endpoint_unhealthy " \
	"$(jq -r '[.[] | select(.type == "alert") | .kind] | unique | join(" ")' <<<"$hh") "
unh=$(grep '"endpoint_unhealthy"' "$T/alerts.jsonl" | jq -c 'select(.endpoint == "a")' | head -1)
assert_eq "health history a --json: endpoint_unhealthy with the endpoint and the hook's message" \
	"a|$(jq -r .message <<<"$unh")" \
	"$(jq -r '[.[] | select(.type == "alert" and .kind == "endpoint_unhealthy")][0] | "\(.endpoint.id)|\(.message)"' <<<"$hh")"
assert_eq "health history a --json: each alert has its time" "true" \
	"$(jq '[.[] | select(.type == "alert") | .time | test("^20[0-9-]+T")] | all' <<<"$hh")"
assert_eq "health history b --json: a's endpoint_unhealthy is not b's" "[]" \
	"$("$QCCC_BIN" health history b --json --state-dir "$QCC_STATE" |
		jq -c '[.[] | select(.type == "alert" and .kind == "endpoint_unhealthy" and .endpoint.id != "b")]')"
hh=$("$QCCC_BIN" health history a --state-dir "$QCC_STATE")
assert_contains "health history a: an alert row with kind, endpoint and message" \
	"$(grep -E '  alert  ' <<<"$hh" | grep endpoint_unhealthy)" \
	"kind=endpoint_unhealthy endpoint=a profile=prim message=$(jq -r .message <<<"$unh")"

# webhook: the first POST got 503 and was tried again; every alert arrived
wait_until 100 0.1 test "$(grep -c '^200 ' "$T/webhook.log" 2>/dev/null)" -ge 3
assert_eq "webhook: first POST answered 503" "503" "$(head -1 "$T/webhook.log" | cut -d' ' -f1)"
# the same body (kind, time, message) later answered 200: the retry, not another alert
first=$(head -1 "$T/webhook.log" | cut -d' ' -f3-)
assert_eq "... and the same alert was delivered on a retry" 1 \
	"$(grep -c -F -x "200 application/json $first" "$T/webhook.log")"
assert_eq "webhook: JSON content type" "application/json" "$(head -1 "$T/webhook.log" | cut -d' ' -f2)"
kinds=$(cut -d' ' -f3- "$T/webhook.log" | jq -r .kind | sort -u | tr '\n' ' ')
assert_contains "webhook got endpoint_unhealthy" "$kinds" "endpoint_unhealthy"
assert_contains "webhook got profile_switch" "$kinds" "profile_switch"
assert_contains "webhook got endpoint_recovered" "$kinds" "endpoint_recovered"

# secrets: no key in the alerts, the webhook bodies, or the hook's environment
everything=$(cat "$T/alerts.jsonl" "$T/webhook.log" "$T/hook.env")
assert_not_contains "no key a in alerts or hook env" "$everything" "$QCC_IT_KEY_A"
assert_not_contains "no key b in alerts or hook env" "$everything" "$QCC_IT_KEY_B"
assert_eq "hook env names no key variable" "0" "$(grep -c '^QCC_IT_KEY' "$T/hook.env")"
assert_contains "hook env has QCC_ALERT_KIND" "$(cat "$T/hook.env")" "QCC_ALERT_KIND="
stop_qcc
done_testing
