#!/bin/bash
# The status page in a real browser (issue 15): Debian's chromium, headless,
# driven by puppeteer-core (tests/clients/statuspage.browser.mjs) against a
# live qcc-run with two mock upstreams: endpoints listed with their states, a
# fault upstream shown as a breaker change and a timeline entry within 2 s
# without a reload, the disable button (after its confirmation) disabling the
# endpoint as qccc sees it, a dead letter listed live then retried and
# dropped from the page, keyboard focus, a phone's width, no console
# errors. Screenshots (light, dark, phone) go to BUILD/tests/artifacts/.
# Skips when chromium or node is absent.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
CHROMIUM=${QCC_IT_CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || skip_all "chromium is not installed (apt-get install chromium; tools/setup.sh)"
command -v node >/dev/null 2>&1 || skip_all "node is not installed (apt-get install nodejs npm)"
CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if [ ! -d "$CLIENTS/node_modules/puppeteer-core" ]; then
	diag "installing client packages: npm ci in $CLIENTS"
	if ! (cd "$CLIENTS" && PUPPETEER_SKIP_DOWNLOAD=1 timeout 400 npm ci --no-audit --no-fund >"$T/npm.log" 2>&1); then
		bail_out "npm ci failed in tests/clients: $(tail -c 600 "$T/npm.log")"
	fi
fi
ARTIFACTS=$QCC_BUILD_ROOT/tests/artifacts
mkdir -p "$ARTIFACTS"

start_mock a
start_mock b
start_mock c
it_keys a b c
export QCC_IT_TOKEN=$(make_secret "tok-it")
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  auth_tokens:
    - env: QCC_IT_TOKEN
health:
  enabled: false
queue:
  enabled: true
  max_retries: 1
  max_wait: 4s
  persistence_enabled: true
profiles:
  - name: main
    load_balancing:
      strategy: failover
    endpoints:
$(ep_yaml a "priority: 1" "max_failures: 1")
$(ep_yaml b "priority: 2")
  - name: backup
    priority: secondary
    endpoints:
$(ep_yaml c)
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
export QCC_QUEUE_TIME_SCALE=0.1 # the queue's first backoff: 0.5 s
start_qcc "$T/table.bin"
URL=$("$QCCC_BIN" dashboard --no-open --state-dir "$QCC_STATE" 2>/dev/null)
assert_contains "qccc dashboard gives a login link" "$URL" "/qcc/login?t="

QCC_IT_LOGIN_URL=$URL QCC_IT_BASE_URL=$(qcc_url) QCC_IT_CLIENT_TOKEN=$QCC_IT_TOKEN \
	QCC_IT_MOCK_A=$(mock_url a) QCC_IT_MOCK_C=$(mock_url c) QCC_IT_QCCC=$QCCC_BIN QCC_IT_STATE=$QCC_STATE \
	QCC_IT_ARTIFACTS=$ARTIFACTS QCC_IT_CHROMIUM=$CHROMIUM \
	timeout 120 node "$CLIENTS/statuspage.browser.mjs" >"$T/browser.out" 2>"$T/browser.err"
rc=$?
while IFS= read -r line; do
	case $line in
	PASS\ *) ok "${line#PASS }" ;;
	FAIL\ *) not_ok "${line#FAIL }" ;;
	INFO\ *) diag "${line#INFO }" ;;
	esac
done <"$T/browser.out"
assert_eq "the browser test ran to its end" 0 "$rc"
[ "$rc" = 0 ] || diag "$(tail -c 800 "$T/browser.err")"
for s in light dark phone; do
	assert_eq "screenshot $s saved" 1 "$([ -s "$ARTIFACTS/status-page-$s.png" ] && echo 1 || echo 0)"
done
assert_eq "no /qcc path reached an upstream" "" "$(mock_requests a '.path' | grep -i qcc || true)$(mock_requests b '.path' | grep -i qcc || true)"
stop_qcc
done_testing
