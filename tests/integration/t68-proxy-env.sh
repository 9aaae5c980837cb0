#!/bin/bash
# Proxies (issue 12). With http_proxy / https_proxy / ALL_PROXY set in
# qcc-run's environment, loopback endpoints (127.0.0.1, localhost, plain HTTP
# and TLS) still go direct: the proxy, a listener here, must receive nothing
# (before, the key went to it in cleartext). An endpoint's own `proxy:` is a
# CONNECT tunnel that carries only TLS bytes, with the credentials from
# proxy_credentials_env; a loopback endpoint bypasses even that.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v openssl >/dev/null || skip_all "openssl CLI not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
unset SSL_CERT_FILE SSL_CERT_DIR no_proxy NO_PROXY

start_proxy() { # NAME -> PROXY_PORT[NAME], PROXY_LOG[NAME]
	PROXY_LOG[$1]=$T/proxy-$1.log
	python3 "$IT_DIR/connect-proxy.py" "$T/proxy-$1.port" "${PROXY_LOG[$1]}" 2>"$T/proxy-$1.err" &
	track_pid "$!"
	wait_until 100 0.05 test -s "$T/proxy-$1.port" || bail_out "proxy $1 did not start"
	PROXY_PORT[$1]=$(cat "$T/proxy-$1.port")
}
declare -A PROXY_PORT=() PROXY_LOG=()
events() { jq -c "select(.event == \"$2\")" "${PROXY_LOG[$1]}" | wc -l | tr -d ' '; }

# a CA, and a cert for 127.0.0.1, localhost and upstream.test (reached via the tunnel)
P=$T/pki
make_pki "$P" IP:127.0.0.1,DNS:localhost,DNS:upstream.test

start_mock a
start_mock s --tls-cert "$P/srv.pem" --tls-key "$P/srv.key"
it_keys a s l t
# what the tunnel proxy checks (read by it at start; never printed)
export QCC_IT_PROXY_CRED="it-user:$(make_secret pw)"
export PROXY_EXPECT_AUTH="Basic $(printf '%s' "$QCC_IT_PROXY_CRED" | base64 -w0)"
export PROXY_NEEDLES="x-api-key,$QCC_IT_KEY_T,/v1/messages,claude-sonnet-4-5"
start_proxy env
start_proxy tunnel

config() { # OUT ENDPOINT_YAML...
	local out=$1
	shift
	{
		printf 'version: 1\nproxy:\n  host: 127.0.0.1\n  access_log: true\nhealth:\n  enabled: false\n'
		printf 'queue:\n  enabled: false\nloadbalancer:\n  strategy: round_robin\n'
		printf 'profiles:\n  - name: main\n    endpoints:\n'
		printf '%s\n' "$@"
	} >"$out"
}
ep() { # ID BASE_URL [extra lines...]
	local id=$1 url=$2 l
	shift 2
	printf '      - id: %s\n        base_url: %s\n        api_key_env: QCC_IT_KEY_%s\n' "$id" "$url" "${id^^}"
	for l in "$@"; do printf '        %s\n' "$l"; done
}
post() {
	curl -sS -m 20 -o "$T/resp.json" -w '%{http_code}' -H 'content-type: application/json' \
		-H 'anthropic-version: 2023-06-01' --data "$(body_json claude-sonnet-4-5)" "$(qcc_url)/v1/messages"
}
posts() { # N -> how many answered 200
	local i n=0
	for i in $(seq "$1"); do [ "$(post)" = 200 ] && n=$((n + 1)); done
	echo "$n"
}

# ---- 1. the environment's proxy is never used for loopback endpoints ----------
config "$T/a.yaml" \
	"$(ep a "$(mock_url a)")" \
	"$(ep l "http://localhost:${MOCK_PORT[a]}")" \
	"$(ep s "https://127.0.0.1:${MOCK_PORT[s]}" "ca_file: $P/ca.pem")"
build_table "$T/a.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
penv="http://127.0.0.1:${PROXY_PORT[env]}"
# only qcc-run gets the variables (the harness's own curl must not use them)
QCC_IT_WRAPPER="env http_proxy=$penv https_proxy=$penv HTTP_PROXY=$penv HTTPS_PROXY=$penv \
ALL_PROXY=$penv all_proxy=$penv" start_qcc "$T/table.bin"
assert_eq "6 requests over 127.0.0.1, localhost and TLS endpoints with *_proxy set: all 200" "6" "$(posts 6)"
assert_eq "each endpoint answered (plain 127.0.0.1 + localhost on mock a)" "4" \
	"$(mock_requests a | wc -l | tr -d ' ')"
assert_eq "the TLS loopback endpoint answered directly" "2" "$(mock_requests s | wc -l | tr -d ' ')"
assert_eq "the proxy from the environment received no connection" "0" "$(events env accept)"
stop_qcc

# ---- 2. an endpoint's own proxy: a CONNECT tunnel carrying only TLS -----------
ptun="http://127.0.0.1:${PROXY_PORT[tunnel]}"
config "$T/b.yaml" \
	"$(ep t "https://upstream.test:${MOCK_PORT[s]}" "ca_file: $P/ca.pem" "proxy: $ptun" \
		"proxy_credentials_env: QCC_IT_PROXY_CRED")"
build_table "$T/b.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
s0=$(mock_requests s | wc -l)
start_qcc "$T/table.bin"
assert_eq "through the endpoint's proxy: 200" "200" "$(post)"
assert_eq "the request reached the upstream through the tunnel" "$((s0 + 1))" "$(mock_requests s | wc -l)"
assert_eq "the proxy saw CONNECT to the endpoint's host" "CONNECT upstream.test:${MOCK_PORT[s]} HTTP/1.1" \
	"$(jq -r 'select(.event == "connect") | .line' "${PROXY_LOG[tunnel]}" | head -1)"
assert_eq "with the credentials from proxy_credentials_env" "true" \
	"$(jq -r 'select(.event == "connect") | .auth_ok' "${PROXY_LOG[tunnel]}" | head -1)"
stop_qcc
wait_until 50 0.1 test "$(events tunnel tunnel)" -ge 1
assert_eq "the tunnel carried TLS records only (no key, path or model in clear)" "true false" \
	"$(jq -r 'select(.event == "tunnel") | "\(.tls) \(.plaintext)"' "${PROXY_LOG[tunnel]}" | head -1)"
assert_eq "no plain (non-CONNECT) request reached the proxy" "0" "$(events tunnel request)"
assert_not_contains "the proxy credentials are not in qcc-run's log" "$(cat "$QCC_ERR_LOG")" \
	"$QCC_IT_PROXY_CRED"

# ---- 3. a loopback endpoint bypasses even its own proxy -----------------------
config "$T/c.yaml" "$(ep a "$(mock_url a)" "proxy: $ptun")"
build_table "$T/c.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
c0=$(events tunnel accept)
start_qcc "$T/table.bin"
assert_eq "loopback endpoint with a proxy: 200" "200" "$(post)"
stop_qcc
assert_eq "and the proxy received no connection" "$c0" "$(events tunnel accept)"

done_testing
