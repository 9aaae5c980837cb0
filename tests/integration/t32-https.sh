#!/bin/bash
# proxy.ssl_enabled: qcc-run serves HTTPS on its listener with the table's
# certificate (TLS 1.2+, ALPN http/1.1), to curl and to the official SDK,
# against a CA made here; the certificate is read again at SIGHUP (a broken
# one is refused and the old one keeps serving); a missing one stops start-up
# with the path and reason; qccc wants absolute paths.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI not installed"

# make_ca DIR NAME : a CA (DIR/ca.pem) and a server cert for 127.0.0.1 signed by it
make_ca() {
	local d=$1 name=$2
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=qcc test CA $name" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/ext" &&
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null
}
make_ca "$T/ca1" one || bail_out "openssl could not make the test CA"
make_ca "$T/ca2" two || bail_out "openssl could not make the second test CA"
mkdir -p "$T/live"
cp "$T/ca1/server.pem" "$T/live/cert.pem"
cp "$T/ca1/server.key" "$T/live/key.pem"
chmod 600 "$T/live/key.pem"

it_keys up1
start_mock up1 --key-env QCC_IT_KEY_UP1
QCC_PORT=$(free_port)
write_config() { # CERT KEY
	cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $QCC_PORT
  ssl_enabled: true
  cert: $1
  key: $2
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml up1)
YAML
}

# qccc: relative paths are refused with a position
write_config live/cert.pem "$T/live/key.pem"
"$QCCC_BIN" validate -c "$T/qcc.yaml" >"$T/validate.out" 2>&1
assert_eq "qccc validate: relative proxy.cert is an error (exit 1)" 1 "$?"
assert_contains "... naming the key and asking for an absolute path" "$(cat "$T/validate.out")" "absolute path"

# qcc-run refuses to start when the certificate is missing
write_config "$T/live/missing.pem" "$T/live/key.pem"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
timeout 10 "$QCC_RUN_BIN" --state-dir "$T/state0" --listen "127.0.0.1:$QCC_PORT" "$T/table.bin" \
	>"$T/start-missing.out" 2>&1
rc=$?
assert_eq "missing certificate: qcc-run exits 1" 1 "$rc"
assert_contains "... naming the file" "$(cat "$T/start-missing.out")" "$T/live/missing.pem"
assert_contains "... and the reason" "$(cat "$T/start-missing.out")" "No such file"

write_config "$T/live/cert.pem" "$T/live/key.pem"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
export QCC_IT_SCHEME=https QCC_IT_CACERT=$T/ca1/ca.pem
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)
assert_contains "start-up log names https" "$(cat "$QCC_ERR_LOG")" "listening on https://"

code=$(curl -sS -m 10 --cacert "$T/ca1/ca.pem" -o "$T/a.json" -w '%{http_code}' "$P/v1/messages" \
	-d "$(body_json claude-x)")
assert_eq "https JSON request -> 200" 200 "$code"
assert_contains "... answered by the upstream" "$(cat "$T/a.json")" "Hello from up1"

curl -sS -m 10 -N --cacert "$T/ca1/ca.pem" -o "$T/s.txt" "$P/v1/messages" -d "$(body_stream claude-x)"
assert_eq "https SSE stream ends with message_stop" 1 "$(grep -c '^event: message_stop' "$T/s.txt")"

# A large body crosses many TLS records (read in pieces, OpenSSL's buffer drained)
head -c 300000 /dev/zero | tr '\0' 'a' >"$T/big.txt"
printf '{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"%s"}]}' \
	"$(cat "$T/big.txt")" >"$T/big.json"
code=$(curl -sS -m 20 --cacert "$T/ca1/ca.pem" -o /dev/null -w '%{http_code}' "$P/v1/messages" \
	--data-binary @"$T/big.json")
assert_eq "https 300 KB request body -> 200" 200 "$code"

# keep-alive: two requests on one TLS connection
out=$(curl -sS -m 10 --cacert "$T/ca1/ca.pem" -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"$P/v1/messages" -d "$(body_json claude-x)" "$P/v1/messages" -d "$(body_json claude-x)")
assert_eq "two requests on one TLS connection (second connects 0)" "0" "$(echo "$out" | tail -1)"

code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$QCC_PORT/healthz" 2>/dev/null)
assert_ne "plain HTTP to the TLS listener gets no answer" 200 "$code"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$P/healthz" 2>/dev/null)
assert_ne "a client without the CA refuses the certificate" 200 "$code"

ver=$(curl -sS -m 5 --cacert "$T/ca1/ca.pem" --http2 -o /dev/null -w '%{http_version}' "$P/healthz")
assert_eq "ALPN: a client offering h2 gets HTTP/1.1" "1.1" "$ver"
code=$(curl -sS -m 5 --cacert "$T/ca1/ca.pem" --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' "$P/healthz")
assert_eq "TLS 1.2 accepted" 200 "$code"
if openssl s_client -help 2>&1 | grep -q -- '-tls1_1'; then
	echo | timeout 5 openssl s_client -connect "127.0.0.1:$QCC_PORT" -tls1_1 >"$T/tls11.out" 2>&1
	assert_ne "TLS 1.1 refused" 0 "$?"
fi

# The official SDK, trusting the test CA the way node users do
CLIENTS=$QCC_SOURCE_ROOT/tests/clients
if command -v node >/dev/null 2>&1 && [ -d "$CLIENTS/node_modules/@anthropic-ai/sdk" ]; then
	mock_reset up1
	if (cd "$CLIENTS" && NODE_EXTRA_CA_CERTS=$T/ca1/ca.pem QCC_IT_BASE_URL=$P \
		QCC_IT_CLIENT_TOKEN=unused QCC_IT_UPSTREAM_NAME=up1 QCC_IT_MOCK_LOG="${MOCK_LOG[up1]}" \
		timeout 120 node --test --test-reporter=tap sdk.test.mjs) >"$T/node.out" 2>&1; then
		ok "official SDK over https: create/stream/countTokens/models"
	else
		not_ok "official SDK over https: create/stream/countTokens/models" \
			"$(grep -E 'not ok|Error|expected|actual' "$T/node.out" | head -20)"
	fi
else
	diag "SDK part skipped: node or tests/clients/node_modules missing (t40 installs them)"
fi

# Renewal: new files in place + SIGHUP -> new connections get the new certificate
cp "$T/ca2/server.pem" "$T/live/cert.pem"
cp "$T/ca2/server.key" "$T/live/key.pem"
kill -HUP "$QCC_PID"
export QCC_IT_CACERT=$T/ca2/ca.pem
wait_until 50 0.1 curl -sf -m 2 --cacert "$T/ca2/ca.pem" -o /dev/null "$P/healthz"
code=$(curl -sS -m 5 --cacert "$T/ca2/ca.pem" -o /dev/null -w '%{http_code}' "$P/healthz")
assert_eq "after SIGHUP the renewed certificate (CA two) is served" 200 "$code"
code=$(curl -sS -m 5 --cacert "$T/ca1/ca.pem" -o /dev/null -w '%{http_code}' "$P/healthz" 2>/dev/null)
assert_ne "... and the old one is gone" 200 "$code"

# A broken certificate at reload is refused; the current one keeps serving
gen=$(healthz_generation)
echo "not a certificate" >"$T/live/cert.pem"
kill -HUP "$QCC_PID"
wait_until 50 0.1 grep -q "rejected" "$QCC_ERR_LOG"
assert_contains "broken certificate at reload: rejected, naming the file" \
	"$(grep rejected "$QCC_ERR_LOG")" "$T/live/cert.pem"
assert_eq "... generation unchanged" "$gen" "$(healthz_generation)"
code=$(curl -sS -m 10 --cacert "$T/ca2/ca.pem" -o /dev/null -w '%{http_code}' "$P/v1/messages" \
	-d "$(body_json claude-x)")
assert_eq "... and requests are still served with the previous certificate" 200 "$code"

assert_not_contains "the private key never reaches the logs" \
	"$(cat "$QCC_ERR_LOG" "$QCC_ACCESS_LOG")" "$(sed -n 2p "$T/ca2/server.key")"
stop_qcc
done_testing
