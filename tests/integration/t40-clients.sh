#!/bin/bash
# Real clients: the Anthropic TypeScript SDK and the Claude Code CLI, first
# straight at the mock (proves the mock is faithful), then through qcc-run.
# Needs node + npm; installs tests/clients/node_modules with `npm ci` from the
# lockfile when missing. Skips only when node is absent.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 || skip_all "node is not installed (apt-get install nodejs npm)"
require_bins "$MOCK_BIN"

CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if [ ! -x "$CLIENTS/node_modules/.bin/claude" ] || [ ! -d "$CLIENTS/node_modules/@anthropic-ai/sdk" ]; then
	diag "installing client packages: npm ci in $CLIENTS"
	if ! (cd "$CLIENTS" && timeout 400 npm ci --no-audit --no-fund >"$T/npm.log" 2>&1); then
		bail_out "npm ci failed in tests/clients: $(tail -c 600 "$T/npm.log")"
	fi
fi

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
start_mock up1 --key-env QCC_IT_KEY_UP1

# run_node NAME FILE BASE_URL TOKEN
run_node() {
	mock_reset up1
	if (cd "$CLIENTS" && QCC_IT_BASE_URL=$3 QCC_IT_CLIENT_TOKEN=$4 QCC_IT_UPSTREAM_NAME=up1 \
		QCC_IT_MOCK_LOG="${MOCK_LOG[up1]}" timeout 120 node --test --test-reporter=tap "$2") \
		>"$T/node.out" 2>&1; then
		ok "$1"
		grep -E '^# (claude code|tests|pass|fail)' "$T/node.out" | sed 's/^/  /'
	else
		not_ok "$1" "$(grep -E 'not ok|error|expected|actual|stderr|Error' "$T/node.out" | head -20)"
	fi
}

run_node "sdk: create/stream/countTokens/models against the mock directly" sdk.test.mjs \
	"$(mock_url up1)" "$QCC_IT_KEY_UP1"
run_node "claude code: claude -p against the mock directly" claude-code.test.mjs \
	"$(mock_url up1)" "$QCC_IT_KEY_UP1"

require_bins "$QCCC_BIN" "$QCC_RUN_BIN"
QCC_PORT=$(free_port)
QCC_IT_TOKEN_ENV=QCC_IT_CLIENT_TOKEN std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"

run_node "sdk: create/stream/countTokens/models through qcc-run" sdk.test.mjs \
	"$(qcc_url)" "$QCC_IT_CLIENT_TOKEN"
run_node "claude code: claude -p through qcc-run" claude-code.test.mjs \
	"$(qcc_url)" "$QCC_IT_CLIENT_TOKEN"
assert_not_contains "client token not in the access log" "$(cat "$QCC_ACCESS_LOG" "$QCC_ERR_LOG" 2>/dev/null)" \
	"$QCC_IT_CLIENT_TOKEN"

stop_qcc
done_testing
