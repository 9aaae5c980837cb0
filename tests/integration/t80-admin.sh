#!/bin/bash
# The admin socket wired into qcc-run (issue 6): every qccc operator command
# against a live qcc-run and mock upstreams, in text and --json; the socket's
# mode; /metrics from the live process through the strict exposition checker,
# its counters moving with traffic; an operator disable surviving a restart.
. "$(dirname "$0")/lib.sh"
PROMCHECK=$QCC_BUILD_ROOT/tests/integration/promcheck
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN" "$PROMCHECK"

start_mock a
start_mock c
start_mock b
it_keys a b c
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml a "weight: 100")
$(ep_yaml c "weight: 1")
  - name: backup
    endpoints:
$(ep_yaml b)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"
Q() { "$QCCC_BIN" "$@" --state-dir "$QCC_STATE"; }
# ask_n N : N requests, "NAME" per line
ask_n() { local i; for ((i = 0; i < $1; i++)); do ask "$(body_json m)" | cut -d' ' -f2; done; }

assert_eq "admin socket is mode 0600" "600" "$(stat -c %a "$QCC_STATE/admin.sock")"
assert_eq "admin socket is a socket owned by us" "socket $(id -u)" \
	"$(stat -c '%F %u' "$QCC_STATE/admin.sock" | sed 's/^socket.* /socket /')"

# status
out=$(Q status)
assert_contains "status (text): table generation" "$out" "generation 1"
assert_contains "status (text): active profile" "$out" "main"
assert_eq "status --json: generation" "1" "$(Q status --json | jq -r '.table.generation')"
assert_eq "status --json: our pid" "$QCC_PID" "$(Q status --json | jq -r '.pid')"

# health status / check
out=$(Q health status)
assert_contains "health status (text) lists a" "$out" "healthy"
assert_eq "health status --json: 3 endpoints" "3" \
	"$(Q health status --json | jq '[.. | objects | select(has("id") and has("score"))] | length')"
before=$(mock_requests b | wc -l)
out=$(Q health check)
assert_contains "health check (text): all ok" "$out" "3 ok, 0 failed"
assert_le "health check probed b for real (mock log)" "$((before + 1))" "$(mock_requests b | wc -l)"
assert_eq "health check --json: 3 results ok" "3" \
	"$(Q health check --json | jq '[.results[] | select(.ok)] | length')"

# endpoint list / test
assert_eq "endpoint list --json: 3 endpoints" "3" "$(Q endpoint list --json | jq '.endpoints | length')"
assert_contains "endpoint list (text) shows b's profile" "$(Q endpoint list)" "backup"
mock_fault c 'status=503'
# endpoint test goes straight from qccc to the upstream (the config's view)
ET() { "$QCCC_BIN" endpoint test "$@" -c "$T/qcc.yaml"; }
assert_eq "endpoint test --json: upstream status reported" "503" \
	"$(ET c --json | jq -r '.status')"
mock_fault c ok
j=$(ET a --json)
assert_eq "endpoint test --json: ok" "true" "$(jq -r '.ok' <<<"$j")"
assert_eq "endpoint test --json: has a latency" "number" "$(jq -r '.latency_ms | type' <<<"$j")"
assert_contains "endpoint test (text): HTTP 200 and latency" "$(ET a)" "HTTP 200 in"

# endpoint disable: traffic stops going to a, also after a restart
assert_contains "most traffic goes to a (weight 100)" "$(ask_n 5 | sort | uniq -c | sort -rn | head -1)" " a"
out=$(Q endpoint disable a --reason maintenance)
assert_contains "endpoint disable (text)" "$out" "disabled"
assert_eq "after disable, a gets nothing (10 requests)" "0" "$(ask_n 10 | grep -c '^a$')"
assert_eq "endpoint list --json: a operator-disabled" "true" \
	"$(Q endpoint list --json | jq '.endpoints[] | select(.id=="a") | .operator_disabled')"
stop_qcc
start_qcc "$T/table.bin"
assert_eq "disable survives a restart (journal): a still disabled" "true" \
	"$(Q endpoint list --json | jq '.endpoints[] | select(.id=="a") | .operator_disabled')"
assert_eq "after restart, a still gets nothing (10 requests)" "0" "$(ask_n 10 | grep -c '^a$')"
assert_contains "endpoint enable --json" "$(Q endpoint enable a --json)" '"a"'
assert_le "after enable, a takes traffic again" 1 "$(ask_n 5 | grep -c '^a$')"

# priority list / switch / history
out=$(Q priority list)
assert_contains "priority list (text) shows both profiles" "$out" "backup"
assert_eq "priority list --json: 2 profiles" "2" \
	"$(Q priority list --json | jq '[.. | objects | select(has("name") and has("group"))] | length')"
Q priority switch backup --reason drill-42 >/dev/null
assert_eq "priority switch backup: all 6 requests answered by b" "6" "$(ask_n 6 | grep -c '^b$')"
assert_contains "priority history shows the switch and its reason" "$(Q priority history)" "drill-42"
assert_eq "priority history --json: pin to backup recorded" "backup" \
	"$(Q priority history --json | jq -r '[.. | objects | select(.reason? == "drill-42")][0].target.id')"
Q priority switch main --reason back >/dev/null
out=$(Q priority switch --auto)
assert_contains "priority switch --auto (text)" "$out" "automatic"
assert_eq "status --json: not pinned after --auto" "false" "$(Q status --json | jq -r '.routing.pinned')"
assert_le "traffic back on main after switch main + --auto" 4 "$(ask_n 5 | grep -cE '^(a|c)$')"

# logs --endpoint
out=$(Q logs --endpoint b --file "$QCC_ACCESS_LOG" -n 50)
assert_contains "logs --endpoint b shows b's requests" "$out" " b "
assert_eq "logs --endpoint b shows no other endpoint" "0" \
	"$(Q logs --endpoint b --file "$QCC_ACCESS_LOG" -n 50 --json | jq -r '.endpoint' | grep -vc '^b$')"

# queue commands with the queue off still answer
assert_contains "queue status (text)" "$(Q queue status)" "queue"
assert_eq "queue status --json answers" "object" "$(Q queue status --json | jq -r 'type')"

# /metrics: strict format; counters move with traffic
metrics() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/metrics; }
metrics >"$T/m1.txt"
out=$("$PROMCHECK" "$T/m1.txt")
check "/metrics from the live process passes the strict checker ($out)" test "${out%% *}" = ok
req_a() { grep '^qcc_requests_total{' "$1" | grep 'endpoint="a"' | grep 'status="200"' | awk '{s+=$2} END {print s+0}'; }
n1=$(req_a "$T/m1.txt")
ask_n 20 >/dev/null
metrics >"$T/m2.txt"
"$PROMCHECK" "$T/m2.txt" >/dev/null
check "/metrics still valid after traffic" test $? = 0
# ...and the reference parser, the Prometheus project's own Python client
# (Debian's python3-prometheus-client; the Debian interpreter, not a pyenv one)
fams=$(/usr/bin/python3 - "$T/m2.txt" <<'PY' 2>&1
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
names = {f.name for f in fams}
assert "qcc_requests" in names or "qcc_requests_total" in names, sorted(names)
print(len(fams))
PY
)
check "/metrics parses with prometheus_client's text parser ($fams families)" test "${fams:-0}" -gt 5 2>/dev/null
n2=$(req_a "$T/m2.txt")
assert_le "qcc_requests_total{endpoint=a,status=200} grew with traffic" "$((n1 + 10))" "$n2"
assert_contains "/metrics has the latency histogram" "$(cat "$T/m2.txt")" "qcc_request_duration_seconds_bucket"

# cost of metrics per request: CPU time of qcc-run over N requests
cpu_ticks() { awk '{print $14 + $15}' "/proc/$QCC_PID/stat"; }
N=400
t0=$(cpu_ticks)
export QCC_T80_URL="$(qcc_url)/v1/messages" QCC_T80_BODY="$(body_json m)"
codes=$(seq "$N" | xargs -P 8 -I{} sh -c \
	'curl -sS -m 10 -o /dev/null -w "%{http_code}\n" -H "x-api-key: c" -d "$QCC_T80_BODY" "$QCC_T80_URL"')
assert_eq "the $N measured requests all answered 200" "$N" "$(grep -c '^200$' <<<"$codes")"
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
diag "qcc-run CPU: $(( (t1 - t0) * 1000000 / hz / N )) us per request over $N requests (metrics, access log and routing included)"

stop_qcc
stop_mocks
done_testing
