#!/bin/bash
# What qccc tells a user about a live qcc-run (issue 16): an edit says it is
# not live, `--build` waits for "live in generation N", `qccc status` warns
# while qcc.yaml differs from the running table (an unbuilt edit, a
# rollback), a pinned profile is the active one with one star, `health check`
# prints each endpoint as it finishes, and `endpoint test` works with qcc-run
# stopped, straight from qccc, without printing the key.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
start_mock b
it_keys a b
cd "$T" || bail_out "no $T"
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
health:
  enabled: false
queue:
  enabled: false
switching_policy:
  cooldown_period: 4s   # also the breaker's first cooldown
profiles:
  - name: main
    endpoints:
$(ep_yaml a "max_failures: 1")
  - name: backup
    priority: secondary
    endpoints:
$(ep_yaml b)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
start_qcc "$T/table.bin"
export QCC_STATE_DIR=$QCC_STATE
unset QCC_CONFIG

out=$("$QCCC_BIN" status)
assert_not_contains "status: no warning while qcc.yaml is what runs" "$out" "warning"

out=$("$QCCC_BIN" config set queue.max_size 500)
assert_contains "an edit says it is not live yet (qcc-run runs: reload)" "$out" 'not live until `qccc reload -c qcc.yaml`'
out=$("$QCCC_BIN" status)
assert_contains "status warns: qcc.yaml differs from the running table" "$out" "differs from the table qcc-run serves"

out=$("$QCCC_BIN" config set queue.max_size 600 --build 2>&1)
assert_contains "--build waits until qcc-run serves it" "$out" "live in generation 2"
assert_eq "qcc-run serves generation 2" "2" "$(healthz_generation)"
out=$("$QCCC_BIN" status)
assert_not_contains "status: no warning once built" "$out" "warning"
mkdir -p "$T/elsewhere"
out=$(cd "$T/elsewhere" && "$QCCC_BIN" config set queue.max_size 700 -c "$T/qcc.yaml" --build 2>&1)
assert_contains "--build from another directory builds the table qcc-run serves" "$out" "live in generation 3"
assert_eq "and writes no table.bin where it ran" "" "$(ls "$T/elsewhere")"

"$QCCC_BIN" rollback -y >"$T/rollback.out" 2>&1 || bail_out "rollback: $(cat "$T/rollback.out")"
wait_until 100 0.05 bash -c '"$0" status | grep -q "differs from the table"' "$QCCC_BIN"
out=$("$QCCC_BIN" status)
assert_contains "status warns after a rollback left qcc.yaml ahead" "$out" "rollback left the config ahead"

"$QCCC_BIN" priority switch backup --reason test >/dev/null
out=$("$QCCC_BIN" status)
assert_contains "status names the pinned profile as active" "$out" "active       backup (pinned)"
out=$("$QCCC_BIN" priority list)
assert_eq "priority list stars exactly one profile" "1" "$(grep -c '^  \*' <<<"$out")"
assert_contains "the star is on the pinned profile" "$(grep '^  \*' <<<"$out")" "backup"
"$QCCC_BIN" priority switch --auto >/dev/null

out=$("$QCCC_BIN" health check)
assert_contains "health check announces what it checks" "$out" "checking 2 endpoints..."
assert_contains "health check prints an endpoint as it finishes" "$out" "✓ a: healthy"
assert_contains "then the summary" "$out" "2 ok, 0 failed"

out=$(TZ=CET-1 "$QCCC_BIN" status)
assert_contains "status shows local times with their zone" "$out" " CET)"
out=$("$QCCC_BIN" status --json)
assert_contains "status --json keeps UTC" "$(jq -r .started_at <<<"$out")" "Z"
diag "$("$QCCC_BIN" health check)"
diag "$(TZ=CET-1 "$QCCC_BIN" status)"

# a breaker: open with its time left, then ready to probe once the cooldown is over
mock_fault a 'status=500'
ask "$(body_json m)" >/dev/null
out=$("$QCCC_BIN" health status)
assert_contains "an open breaker says when it may probe" "$(grep '^a ' <<<"$out")" "open (probe in"
assert_contains "the last error carries its age" "$(grep '^a ' <<<"$out")" "ago)"
check "an open breaker past its cooldown reads ready to probe" wait_until 100 0.1 \
	bash -c '"$0" health status | grep "^a " | grep -q "ready to probe"' "$QCCC_BIN"
mock_fault a ok
diag "$("$QCCC_BIN" health status)"

stop_qcc

# a key variable missing from qcc-run's environment: told at start and in status
cat >"$T/nokey.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
health:
  enabled: false
profiles:
  - name: main
    endpoints:
      - id: a
        base_url: $(mock_url a)
        api_key_env: QCC_IT_NOT_SET_ANYWHERE
YAML
unset QCC_IT_NOT_SET_ANYWHERE
build_table "$T/nokey.yaml" "$T/nokey.bin" || bail_out "build nokey: $(cat "$T/qccc.out")"
start_qcc "$T/nokey.bin"
assert_contains "qcc-run names the endpoint and the variable at start" "$(cat "$QCC_ERR_LOG")" \
	"endpoint a has no key: environment variable QCC_IT_NOT_SET_ANYWHERE"
out=$("$QCCC_BIN" status -c "$T/nokey.yaml")
assert_contains "status names the endpoint without a key" "$out" "endpoint a has no key"
assert_contains "and the variable" "$out" "QCC_IT_NOT_SET_ANYWHERE"
assert_not_contains "status -c: the config is what runs" "$out" "differs"
stop_qcc

out=$("$QCCC_BIN" endpoint test a 2>&1)
rc=$?
assert_eq "endpoint test works with qcc-run stopped (exit 0)" "0" "$rc"
assert_contains "one verdict line: status and latency" "$out" "a: ok, HTTP 200 in"
assert_eq "one line" "1" "$(wc -l <<<"$out")"
assert_contains "the seed plan's PROFILE ID form works" "$("$QCCC_BIN" endpoint test main a 2>&1)" "a: ok, HTTP 200"
assert_contains "and checks the profile" "$("$QCCC_BIN" endpoint test backup a 2>&1)" "is in profile 'main'"
assert_not_contains "the key is not printed" "$out" "$QCC_IT_KEY_A"
out=$("$QCCC_BIN" endpoint test a --verbose --json 2>&1)
assert_eq "--json: ok" "true" "$(jq -r .ok <<<"$out")"
assert_eq "--json: the key as a reference" "env:QCC_IT_KEY_A" "$(jq -r .key <<<"$out")"
assert_not_contains "--json: the key is not printed" "$out" "$QCC_IT_KEY_A"
out=$(env -u QCC_IT_KEY_B "$QCCC_BIN" endpoint test b 2>&1)
rc=$?
assert_eq "a key that does not resolve fails the test (exit 1)" "1" "$rc"
assert_contains "and says which variable" "$out" "QCC_IT_KEY_B is not set"
mock_fault a 'status=401'
out=$("$QCCC_BIN" endpoint test a 2>&1)
assert_contains "a rejected key reads as FAILED with the status" "$out" "a: FAILED, HTTP 401"
assert_not_contains "and still without the key" "$out" "$QCC_IT_KEY_A"
mock_fault a ok
kill_mock b
out=$("$QCCC_BIN" endpoint test b 2>&1)
assert_contains "an endpoint that does not answer" "$out" "b: FAILED, no answer"

done_testing
