#!/bin/bash
# Forwarding through qcc-run against the mock: byte-identical SSE, key rewrite,
# headers and query strings, count_tokens, models, other /v1/ paths.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_KEY_UP2=$(make_secret sk-it-up2)
CLIENT_KEY=$(make_secret client-it)
start_mock up1 --key-env QCC_IT_KEY_UP1 --deterministic --echo-headers
start_mock up2 --key-env QCC_IT_KEY_UP2 --deterministic
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)
D=$(mock_url up1)

# --- non-streaming
code=$(curl -sS -m 10 -o "$T/p.json" -w '%{http_code}' "$P/v1/messages" -H "x-api-key: $CLIENT_KEY" \
	-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d "$(body_json claude-it)")
assert_eq "messages: 200 through the proxy" "200" "$code"
assert_contains "messages: answered by up1" "$(jq -r '.content[0].text' "$T/p.json" 2>/dev/null)" "from up1"
curl -sS -m 10 -o "$T/d.json" "$D/v1/messages" -H "x-api-key: $QCC_IT_KEY_UP1" \
	-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d "$(body_json claude-it)"
check "messages: body byte-identical to direct" cmp "$T/d.json" "$T/p.json"

# --- key rewrite: the upstream sees its own key and nothing of the client's
l=$(mock_requests up1 'select(.path=="/v1/messages")' | head -1)
assert_eq "key rewrite: x-api-key matched the endpoint key" "match" "$(jq -r .x_api_key <<<"$l")"
assert_eq "key rewrite: no Authorization forwarded" "absent" "$(jq -r .authorization <<<"$l")"
curl -sS -m 10 -o /dev/null "$P/v1/messages" -H "authorization: Bearer $CLIENT_KEY" -d "$(body_json bearer-client)"
l=$(mock_requests up1 'select(.model=="bearer-client")' | head -1)
assert_eq "key rewrite: bearer client -> x-api-key endpoint" "x-api-key" "$(jq -r .auth <<<"$l")"
assert_eq "key rewrite: bearer client key matched" "true" "$(jq -r .key_match <<<"$l")"

# --- streaming, byte-identical
curl -sS -N -m 10 -D "$T/ps.h" -o "$T/ps.sse" "$P/v1/messages?beta=true" -H "x-api-key: $CLIENT_KEY" \
	-H 'anthropic-version: 2023-06-01' -d "$(body_stream claude-it)"
curl -sS -N -m 10 -o "$T/ds.sse" "$D/v1/messages?beta=true" -H "x-api-key: $QCC_IT_KEY_UP1" \
	-H 'anthropic-version: 2023-06-01' -d "$(body_stream claude-it)"
assert_eq "stream: 56 events through the proxy" "56" "$(grep -c '^event: ' "$T/ps.sse")"
check "stream: SSE body byte-identical to direct" cmp "$T/ds.sse" "$T/ps.sse"
assert_contains "stream: content-type passes through" "$(tr '[:upper:]' '[:lower:]' <"$T/ps.h")" "content-type: text/event-stream"
assert_contains "stream: upstream response headers pass through" "$(tr '[:upper:]' '[:lower:]' <"$T/ps.h")" "x-mock-upstream: up1"
assert_contains "stream: proxy adds x-request-id" "$(tr '[:upper:]' '[:lower:]' <"$T/ps.h")" "x-request-id:"

# --- headers and query string
curl -sS -m 10 -D "$T/h.h" -o /dev/null "$P/v1/messages?beta=true" -H "x-api-key: $CLIENT_KEY" \
	-H 'anthropic-version: 2023-06-01' -H 'anthropic-beta: it-beta-1,it-beta-2' \
	-H 'x-it-custom: kept' -H 'Keep-Alive: timeout=5' -d "$(body_json headers-it)"
l=$(mock_requests up1 'select(.model=="headers-it")' | head -1)
assert_eq "query ?beta=true passes through" "/v1/messages?beta=true" "$(jq -r .path <<<"$l")"
assert_eq "anthropic-version passes through" "2023-06-01" "$(jq -r .anthropic_version <<<"$l")"
assert_eq "anthropic-beta passes through" "it-beta-1,it-beta-2" "$(jq -r .anthropic_beta <<<"$l")"
assert_eq "other headers pass through" "true" "$(jq -r '.header_names | index("x-it-custom") != null' <<<"$l")"
assert_eq "hop-by-hop Keep-Alive dropped" "false" "$(jq -r '.header_names | index("keep-alive") != null' <<<"$l")"
rec=$(grep -i '^x-mock-received: ' "$T/h.h" | cut -d' ' -f2- | tr -d '\r')
assert_eq "echo: upstream saw anthropic-beta" "it-beta-1,it-beta-2" "$(jq -r '."anthropic-beta"' <<<"$rec" 2>/dev/null)"

# --- the headers Claude Code sends (captured from claude 2.1.332) arrive
# byte for byte: qcc-run hands the ones libcurl never reads to it as one
# list node (runtime/upreq.c), which must not change what goes on the wire.
# Plus a repeated name (order kept), an empty value and an odd-case name.
hdr_args=()
while IFS= read -r line; do hdr_args+=(-H "$line"); done <"$QCC_SOURCE_ROOT/tools/bench/cc-headers.txt"
hdr_args+=(-H 'X-Dup: one' -H 'x-it-z: last' -H 'X-Dup: two' -H 'X-Empty;' -H 'x-MiXeD-CaSe: v a l')
for scheme in json stream; do
	body=$([ $scheme = json ] && body_json "cc-headers-$scheme" || body_stream "cc-headers-$scheme")
	curl -sS -m 10 -o /dev/null "$P/v1/messages?beta=true" -H "x-api-key: $CLIENT_KEY" \
		-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' "${hdr_args[@]}" -d "$body"
	l=$(mock_requests up1 "select(.model==\"cc-headers-$scheme\")" | head -1)
	# what the client sent, minus hop-by-hop (Connection) and what qcc-run sets
	# itself (Host, Content-Length, the credential)
	sent=$( { printf '%s\n' 'anthropic-version: 2023-06-01' 'content-type: application/json'
		grep -iv '^connection:' "$QCC_SOURCE_ROOT/tools/bench/cc-headers.txt"
		printf '%s\n' 'X-Dup: one' 'x-it-z: last' 'X-Dup: two' 'X-Empty: ' 'x-MiXeD-CaSe: v a l'; } | sort)
	got=$(jq -r '.headers[] | select((.[0] | ascii_downcase) as $n | ["host", "content-length", "x-api-key", "accept"] | index($n) | not) | "\(.[0]): \(.[1])"' <<<"$l" | sort)
	assert_eq "$scheme: Claude Code's headers arrive byte for byte, nothing added" "$sent" "$got"
	assert_eq "$scheme: a repeated name keeps its order" "one,two" \
		"$(jq -r '[.headers[] | select(.[0] == "X-Dup") | .[1]] | join(",")' <<<"$l")"
	assert_eq "$scheme: no header line holds a CR or LF" "0" \
		"$(jq '[.headers[][] | select(test("[\r\n]"))] | length' <<<"$l")"
done

# --- count_tokens, models, other /v1/ paths
a=$(curl -sS -m 10 "$P/v1/messages/count_tokens" -H "x-api-key: $CLIENT_KEY" -d "$(body_json ct)")
b=$(curl -sS -m 10 "$D/v1/messages/count_tokens" -H "x-api-key: $QCC_IT_KEY_UP1" -d "$(body_json ct)")
assert_eq "count_tokens passes through" "$b" "$a"
assert_contains "count_tokens shape" "$a" '"input_tokens"'
a=$(curl -sS -m 10 "$P/v1/models" -H "x-api-key: $CLIENT_KEY")
b=$(curl -sS -m 10 "$D/v1/models" -H "x-api-key: $QCC_IT_KEY_UP1")
assert_eq "models passes through" "$b" "$a"
code=$(curl -sS -m 10 -o "$T/files.json" -w '%{http_code}' "$P/v1/files?limit=2" -H "x-api-key: $CLIENT_KEY")
assert_eq "other /v1/ path forwarded (upstream 404)" "404" "$code"
assert_eq "other /v1/ path reached the upstream" "1" "$(mock_requests up1 'select(.path=="/v1/files?limit=2")' | wc -l)"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/not-v1" -H "x-api-key: $CLIENT_KEY")
assert_eq "path outside /v1/ -> 404 from the proxy" "404" "$code"
assert_eq "path outside /v1/ not forwarded" "0" "$(mock_requests up1 'select(.path=="/not-v1")' | wc -l)"

# --- a 1 MiB body (Expect: 100-continue from curl) passes through whole
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T/big.txt"
printf '{"model":"big-it","max_tokens":8,"messages":[{"role":"user","content":"%s"}]}' "$(cat "$T/big.txt")" >"$T/big.json"
code=$(curl -sS -m 20 -o /dev/null -w '%{http_code}' "$P/v1/messages" -H "x-api-key: $CLIENT_KEY" --data-binary @"$T/big.json")
assert_eq "1 MiB body: 200" "200" "$code"
assert_eq "1 MiB body: upstream got every byte" "$(stat -c %s "$T/big.json")" \
	"$(mock_requests up1 'select(.model=="big-it") | .body_len' | head -1)"

# --- an endpoint with auth: bearer (hot swap to a config using up2)
QCC_IT_AUTH=bearer std_config "$T/qcc2.yaml" up2
g0=$(healthz_generation)
if build_table "$T/qcc2.yaml" "$T/table.bin"; then
	wait_generation_above "$g0" >/dev/null
	curl -sS -m 10 -o /dev/null "$P/v1/messages" -H "x-api-key: $CLIENT_KEY" -d "$(body_json bearer-ep)"
	l=$(mock_requests up2 'select(.model=="bearer-ep")' | head -1)
	assert_eq "bearer endpoint: Authorization: Bearer <endpoint key>" "bearer-match" "$(jq -r .authorization <<<"$l")"
	assert_eq "bearer endpoint: client x-api-key not forwarded" "absent" "$(jq -r .x_api_key <<<"$l")"
else
	not_ok "bearer endpoint: qccc build" "$(cat "$T/qccc.out")"
fi

stop_qcc
done_testing
