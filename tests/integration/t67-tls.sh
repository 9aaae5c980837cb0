#!/bin/bash
# TLS upstreams (issue 12): a relay with a path prefix over TLS, a private CA
# trusted by ca_file, tls.ca_file, tls.ca_path and SSL_CERT_FILE, a wrong-name
# and an untrusted (self-signed) chain refused with curl's reason in the
# client's error, the endpoint's health status and the log, and failed over.
# Every key and certificate is made here, in $T, with the openssl CLI.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
pki_init # the CA settings under test come from here alone

# ---- certificates -------------------------------------------------------------
ca() { pki_ca "$P" "$1"; }  # NAME: a self-signed CA
leaf() { pki_leaf "$P" "$@"; } # NAME CA SAN
ca ca && ca rogue || bail_out "openssl could not make the CAs"
leaf good ca "IP:127.0.0.1,DNS:localhost" || bail_out "openssl could not make the good cert"
leaf wrong ca "DNS:wrong.example" || bail_out "openssl could not make the wrong-name cert"
leaf rogueleaf rogue "IP:127.0.0.1" || bail_out "openssl could not make the rogue cert"
# an untrusted chain ending in its own self-signed root
cat "$P/rogueleaf.pem" "$P/rogue.pem" >"$P/roguechain.pem"
mkdir -p "$P/dir" && cp "$P/ca.pem" "$P/dir/" && openssl rehash "$P/dir" >/dev/null 2>&1 ||
	bail_out "openssl rehash failed"

start_mock good --tls-cert "$P/good.pem" --tls-key "$P/good.key" --path-prefix /api/anthropic
start_mock wrong --tls-cert "$P/wrong.pem" --tls-key "$P/wrong.key"
start_mock rogue --tls-cert "$P/roguechain.pem" --tls-key "$P/rogueleaf.key"
it_keys good wrong rogue
surl() { printf 'https://127.0.0.1:%s' "${MOCK_PORT[$1]}"; }

check "the TLS mock answers curl with the CA (sanity)" \
	curl -sf -m 5 --cacert "$P/ca.pem" -o /dev/null -H 'content-type: application/json' \
	--data "$(body_json claude-sonnet-4-5)" "$(surl good)/api/anthropic/v1/messages"

# config OUT GLOBAL_TLS ENDPOINT_YAML...
config() {
	local out=$1 tls=$2
	shift 2
	{
		printf 'version: 1\nproxy:\n  host: 127.0.0.1\n  access_log: true\nhealth:\n  enabled: false\n'
		printf 'queue:\n  enabled: false\nloadbalancer:\n  strategy: failover\n%s\n' "$tls"
		printf 'profiles:\n  - name: main\n    endpoints:\n'
		printf '%s\n' "$@"
	} >"$out"
}
ep() { # ID BASE_URL PRIORITY [extra line]
	printf '      - id: %s\n        base_url: %s\n        api_key_env: QCC_IT_KEY_%s\n        priority: %s\n' \
		"$1" "$2" "${1^^}" "$3"
	[ $# -lt 4 ] || printf '        %s\n' "$4"
}
post() { # -> "STATUS BODY"
	curl -sS -m 20 -o "$T/resp.json" -w '%{http_code}' -H 'content-type: application/json' \
		-H 'anthropic-version: 2023-06-01' --data "$(body_json claude-sonnet-4-5)" "$(qcc_url)/v1/messages"
}
endpoints_json() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/endpoints; }
last_error() { endpoints_json | jq -r --arg id "$1" '[.. | objects | select(.id == $id and has("last_error"))][0].last_error // ""'; }
table() { build_table "$1" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"; }

HOSTNAME_REASON="no alternative certificate subject name matches"
CHAIN_REASON="self-signed certificate in certificate chain"

# ---- 1. private CA by endpoint ca_file, base_url with a path prefix ------------
config "$T/a.yaml" "" "$(ep good "$(surl good)/api/anthropic" 1 "ca_file: $P/ca.pem")
        models:
          claude-sonnet-4-5: glm-4.6"
table "$T/a.yaml"
start_qcc "$T/table.bin"
assert_eq "ca_file: a relay with a private CA answers 200 through qcc-run" "200" "$(post)"
assert_eq "the relay saw the path prefix (/api/anthropic/v1/messages), over TLS" \
	"/api/anthropic/v1/messages" "$(mock_requests good '.path' | tail -1 | tr -d '"')"
assert_eq "the model map spliced the model name, every other byte as sent" \
	"glm-4.6 $(($(body_json claude-sonnet-4-5 | wc -c) - 10))" \
	"$(mock_requests good '"\(.model) \(.body_len)"' | tail -1 | tr -d '"')"
stop_qcc

# ---- 2. wrong name and untrusted chain refused, failed over to a good one -------
config "$T/b.yaml" "tls:
  ca_file: $P/ca.pem" \
	"$(ep wrong "$(surl wrong)" 1)" "$(ep rogue "$(surl rogue)" 2)" \
	"$(ep good "$(surl good)/api/anthropic" 3)"
table "$T/b.yaml"
start_qcc "$T/table.bin"
n0=$(mock_requests good | wc -l)
assert_eq "tls.ca_file: refused endpoints are failed over, the client gets 200" "200" "$(post)"
assert_eq "the good relay answered it" "$((n0 + 1))" "$(mock_requests good | wc -l)"
assert_contains "wrong-name endpoint's health status names the reason" "$(last_error wrong)" "$HOSTNAME_REASON"
assert_contains "untrusted chain's health status names the reason" "$(last_error rogue)" "$CHAIN_REASON"
assert_contains "the log names the wrong-name reason" "$(cat "$QCC_ERR_LOG")" "$HOSTNAME_REASON"
assert_contains "the log names the untrusted-chain reason" "$(cat "$QCC_ERR_LOG")" "$CHAIN_REASON"
assert_eq "no request reached the refused endpoints" "0" \
	"$(($(mock_requests wrong | wc -l) + $(mock_requests rogue | wc -l)))"
stop_qcc

# ---- 3. with nowhere to fail over, the client's error says why -----------------
config "$T/c.yaml" "tls:
  ca_file: $P/ca.pem" "$(ep wrong "$(surl wrong)" 1)"
table "$T/c.yaml"
start_qcc "$T/table.bin"
assert_eq "wrong name alone: 502" "502" "$(post)"
assert_contains "the client's error names the hostname mismatch" "$(jq -r .error.message "$T/resp.json")" \
	"$HOSTNAME_REASON"
stop_qcc
config "$T/d.yaml" "" "$(ep rogue "$(surl rogue)" 1 "ca_file: $P/ca.pem")"
table "$T/d.yaml"
start_qcc "$T/table.bin"
assert_eq "untrusted chain alone: 502" "502" "$(post)"
assert_contains "the client's error names the self-signed chain" "$(jq -r .error.message "$T/resp.json")" \
	"$CHAIN_REASON"
stop_qcc

# ---- 4. tls.ca_path, SSL_CERT_FILE, SSL_CERT_DIR, and the system store ---------
config "$T/e.yaml" "tls:
  ca_path: $P/dir" "$(ep good "$(surl good)/api/anthropic" 1)"
table "$T/e.yaml"
start_qcc "$T/table.bin"
assert_eq "tls.ca_path (hashed directory): 200" "200" "$(post)"
stop_qcc

config "$T/f.yaml" "" "$(ep good "$(surl good)/api/anthropic" 1)"
table "$T/f.yaml"
SSL_CERT_FILE=$P/ca.pem start_qcc "$T/table.bin"
assert_eq "SSL_CERT_FILE set in qcc-run's environment: 200" "200" "$(post)"
stop_qcc
SSL_CERT_DIR=$P/dir start_qcc "$T/table.bin"
assert_eq "SSL_CERT_DIR set in qcc-run's environment: 200" "200" "$(post)"
stop_qcc
start_qcc "$T/table.bin"
assert_eq "system CAs only: the private CA is not trusted (502)" "502" "$(post)"
assert_contains "and the client is told why" "$(jq -r .error.message "$T/resp.json")" \
	"unable to get local issuer certificate"
stop_qcc

# ---- 5. a CA file that cannot be read fails the load, naming it -----------------
config "$T/g.yaml" "" "$(ep good "$(surl good)" 1 "ca_file: $P/missing.pem")"
table "$T/g.yaml"
timeout -k 5 20 "$QCC_RUN_BIN" --state-dir "$T/st-g" --listen "127.0.0.1:$(free_port)" \
	"$T/table.bin" >/dev/null 2>"$T/g.err"
grc=$?
check "a missing ca_file: qcc-run exits non-zero at start (exit $grc, not a timeout)" \
	test "$grc" != 0 -a "$grc" != 124 -a "$grc" != 137
assert_contains "a missing ca_file stops qcc-run with the file named" "$(cat "$T/g.err")" "$P/missing.pem"

done_testing
