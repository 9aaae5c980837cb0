#!/bin/bash
# Model maps with globs (issue 16): the z.ai preset's map, as `qccc endpoint
# add --preset` writes it, maps a Claude model name that did not exist when it
# was written; "*" is the default; an exact name beats globs; count_tokens
# bodies are mapped too. What the upstream received is read from the mock's log.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

it_keys zai dflt
start_mock zai --key-env QCC_IT_KEY_ZAI
start_mock dflt --key-env QCC_IT_KEY_DFLT
QCC_PORT=$(free_port)

# ---- 1. the preset's globs -------------------------------------------------------
{
	yaml_head
	yaml_profile main
	ep_yaml dflt 'enabled: false'
} >"$T/qcc.yaml"
"$QCCC_BIN" endpoint add main --preset zai --id zai --key-env QCC_IT_KEY_ZAI -c "$T/qcc.yaml" -y \
	>"$T/add.out" 2>&1 || bail_out "endpoint add --preset zai: $(cat "$T/add.out")"
assert_contains "the preset writes a glob for every opus model" "$(cat "$T/qcc.yaml")" 'claude-*opus*: glm-4.7'
# point the preset's endpoint at the mock
sed -i "s|https://api.z.ai/api/anthropic|$(mock_url zai)|; s|auth: bearer|auth: x-api-key|" "$T/qcc.yaml"
build_and_start "$T/qcc.yaml"
P=$(qcc_url)

post() { # PATH MODEL -> http code
	curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P$1" -H 'x-api-key: client' \
		-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d "$(body_json "$2")"
}
last_model() { mock_requests "$1" "select(.path==\"$2\") | .model" | tail -1 | tr -d '"'; }

assert_eq "claude-opus-5-5 answered" "200" "$(post /v1/messages claude-opus-5-5)"
assert_eq "claude-opus-5-5 (a name newer than the preset) sent as glm-4.7" "glm-4.7" \
	"$(last_model zai /v1/messages)"
post /v1/messages claude-haiku-5-0 >/dev/null
assert_eq "claude-haiku-5-0 sent as glm-4.5-air (family glob beats claude-*)" "glm-4.5-air" \
	"$(last_model zai /v1/messages)"
post /v1/messages claude-next-1 >/dev/null
assert_eq "any other claude-* name sent as glm-4.7" "glm-4.7" "$(last_model zai /v1/messages)"
post /v1/messages glm-4.6 >/dev/null
assert_eq "a name no key matches passes unchanged" "glm-4.6" "$(last_model zai /v1/messages)"
assert_eq "count_tokens answered" "200" "$(post /v1/messages/count_tokens claude-opus-5-5)"
assert_eq "count_tokens body mapped too" "glm-4.7" "$(last_model zai /v1/messages/count_tokens)"
stop_qcc

# ---- 2. "*" default and an exact name, written default-first ---------------------
{
	yaml_head
	yaml_profile main
	ep_yaml dflt 'models:' '  "*": deepseek-chat' '  "claude-*opus*": glm-4.6' '  claude-opus-4-1: exact-opus'
} >"$T/b.yaml"
build_and_start "$T/b.yaml" "$T/b.bin"
post /v1/messages gpt-4o >/dev/null
assert_eq '"*" maps any other name' "deepseek-chat" "$(last_model dflt /v1/messages)"
post /v1/messages claude-opus-5-5 >/dev/null
assert_eq "a glob beats \"*\" written before it" "glm-4.6" "$(last_model dflt /v1/messages)"
post /v1/messages claude-opus-4-1 >/dev/null
assert_eq "an exact name beats every glob" "exact-opus" "$(last_model dflt /v1/messages)"
post /v1/messages/count_tokens claude-sonnet-4-5 >/dev/null
assert_eq 'count_tokens: "*" default applied' "deepseek-chat" "$(last_model dflt /v1/messages/count_tokens)"
stop_qcc

# ---- 3. a bad glob is refused at compile time, at its line and column ------------
sed 's|"claude-\*opus\*": glm-4.6|"claude-[opus": glm-4.6|' "$T/b.yaml" >"$T/bad.yaml"
build_table "$T/bad.yaml" "$T/bad.bin"
rc=$?
assert_eq "bad glob: qccc build fails" "1" "$rc"
line=$(grep -n 'claude-\[opus' "$T/bad.yaml" | cut -d: -f1)
assert_contains "bad glob: FILE:LINE:COL names the '['" "$(cat "$T/qccc.out")" \
	"bad.yaml:$line:19: error: bad model pattern 'claude-[opus': '[' is not closed by ']'"

done_testing
