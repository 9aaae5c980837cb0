#!/bin/bash
# Bad requests are answered by qcc-run itself with the right status and the
# Anthropic error shape, and never reach the upstream.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
start_mock up1 --key-env QCC_IT_KEY_UP1
QCC_PORT=$(free_port)
QCC_IT_TOKEN_ENV=QCC_IT_CLIENT_TOKEN std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)
AUTH="x-api-key: $QCC_IT_CLIENT_TOKEN"

# raw REQUEST-BYTES -> the status code of the first response line
raw_status() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$QCC_PORT" || return 1
	printf '%b' "$1" >&3
	IFS= read -r -t 5 line <&3
	exec 3>&-
	line=${line%$'\r'}
	echo "${line#HTTP/1.? }" | cut -d' ' -f1
}

assert_eq "garbage request line -> 400" "400" "$(raw_status 'BLAH\r\n\r\n')"
s=$(raw_status "PROPFIND /v1/messages HTTP/1.1\r\nHost: x\r\n$AUTH\r\n\r\n")
assert_eq "unsupported method -> 501 or 405" "yes" "$([ "$s" = 501 ] || [ "$s" = 405 ] && echo yes || echo "no ($s)")"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/v1/models" -H "$AUTH" -H "x-big: $big")
assert_eq "request head > 64 KiB -> 431" "431" "$code"
code=$(curl -sS -m 10 -o "$T/413.json" -w '%{http_code}' "$P/v1/messages" -H "$AUTH" \
	-H 'content-length: 40000000' -H 'expect:' --data-binary '{}' 2>/dev/null)
assert_eq "declared body > 32 MiB -> 413" "413" "$code"
head -c 34000000 /dev/zero >"$T/huge.bin"
code=$(curl -sS -m 30 -o /dev/null -w '%{http_code}' "$P/v1/messages" -H "$AUTH" \
	-H 'transfer-encoding: chunked' --data-binary @"$T/huge.bin" 2>/dev/null)
assert_eq "chunked body > 32 MiB -> 413" "413" "$code"
code=$(curl -sS -m 10 -o "$T/401.json" -w '%{http_code}' "$P/v1/messages" -H 'x-api-key: nope' -d "$(body_json m)")
assert_eq "wrong client token -> 401" "401" "$code"
assert_eq "401 in the Anthropic error shape" "error authentication_error" \
	"$(jq -r '[.type, .error.type] | join(" ")' "$T/401.json" 2>/dev/null)"
assert_eq "none of them reached the upstream" "0" "$(mock_requests up1 | wc -l)"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/v1/models" -H "$AUTH")
assert_eq "a good request still works" "200" "$code"

stop_qcc
done_testing
