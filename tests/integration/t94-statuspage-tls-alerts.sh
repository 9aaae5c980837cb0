#!/bin/bash
# The status page over TLS (proxy.ssl_enabled, a CA made here): `qccc
# dashboard` prints an https link, its cookie is Secure, a POST needs Origin
# https://127.0.0.1:PORT (an http:// Origin is refused) and the CSRF token.
# Alerts in the timeline: an alert raised while the page is open reaches it
# live as an `entry` event, is journaled (`alert` record), and is in the
# timeline after a restart (history from before the page was opened).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v openssl >/dev/null 2>&1 || skip_all "openssl CLI not installed"

# a CA (ca.pem) and a server certificate for 127.0.0.1 signed by it
d=$T/ca
mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=qcc test CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/ext" &&
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/server.pem" 2>/dev/null ||
	bail_out "openssl could not make the test CA"
chmod 600 "$d/server.key"

start_mock a
it_keys a
QCC_IT_QUERY_TOKEN=$(make_secret qtok)
QCC_PORT=$(free_port)
# one endpoint whose breaker opens at its first failure: a fault makes "no
# endpoint can take a request", the all_down alert, within a second or two
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $QCC_PORT
  ssl_enabled: true
  cert: $d/server.pem
  key: $d/server.key
health:
  enabled: false
  alert_enabled: true
  alert_threshold: 1
queue:
  enabled: false
profiles:
  - name: main
    endpoints:
$(ep_yaml a "max_failures: 1")
  - name: spare
    priority: secondary
    enabled: false
    endpoints:
      - id: q
        base_url: "$(mock_url a)/relay?token=$QCC_IT_QUERY_TOKEN"
        api_key_env: QCC_IT_KEY_A
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
export QCC_IT_SCHEME=https QCC_IT_CACERT=$d/ca.pem
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
BASE=$(qcc_url)
HOSTHDR=127.0.0.1:$QCC_PORT
JAR=$T/jar
C=(--cacert "$d/ca.pem")

get() { # URL [curl args] -> CODE; body in $T/body, headers in $T/hdr
	local url=$1
	shift
	curl -sS -m 10 "${C[@]}" -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" "$url" 2>/dev/null
}

# ---- login over https ---------------------------------------------------------------
URL=$("$QCCC_BIN" dashboard --no-open --state-dir "$QCC_STATE" 2>/dev/null)
assert_contains "qccc dashboard prints an https link" "$URL" "https://127.0.0.1:$QCC_PORT/qcc/login?t="
assert_eq "the link logs in over https (303)" 303 "$(get "$URL" -c "$JAR")"
cookie_line=$(grep -i '^set-cookie:' "$T/hdr" | tr -d '\r')
assert_contains "the cookie is Secure" "$cookie_line" "; Secure"
assert_contains "... and HttpOnly" "$cookie_line" "HttpOnly"
assert_eq "the jar marks the cookie secure (curl: TRUE in column 4)" TRUE \
	"$(awk '$6 == "qcc_session" { print $4 }' "$JAR")"
assert_eq "the page over https with the cookie" 200 "$(get "$BASE/qcc/" -b "$JAR")"
hdr=$(tr -d '\r' <"$T/hdr" | tr 'A-Z' 'a-z')
assert_contains "the page has its CSP over https too" "$hdr" "content-security-policy: default-src 'none'"
assert_eq "the state" 200 "$(get "$BASE/qcc/api/state" -b "$JAR")"
assert_eq "a base URL's query (a relay's token) is not shown" "$(mock_url a)/relay?(hidden)" \
	"$(jq -r '.endpoints[] | select(.id == "q") | .base_url' "$T/body")"
assert_not_contains "... anywhere in the state" "$(cat "$T/body")" "$QCC_IT_QUERY_TOKEN"
assert_eq "the CSRF token" 200 "$(get "$BASE/qcc/api/session" -b "$JAR")"
CSRF=$(jq -r .csrf "$T/body")

post() { # PATH [curl args]
	local p=$1
	shift
	get "$BASE/qcc/api/$p" -X POST -b "$JAR" -H 'Content-Type: application/json' -d '{}' \
		-H "X-CSRF-Token: $CSRF" "$@"
}
assert_eq "a POST with Origin http://127.0.0.1:PORT is refused over https (403)" 403 \
	"$(post endpoints/a/disable -H "Origin: http://$HOSTHDR")"
assert_eq "... and a is still enabled" false \
	"$("$QCCC_BIN" endpoint list --json --state-dir "$QCC_STATE" | jq -r '.endpoints[0].operator_disabled')"
assert_eq "a POST with Origin https://127.0.0.1:PORT and the token is accepted" 200 \
	"$(post endpoints/a/disable -H "Origin: https://$HOSTHDR")"
assert_eq "... and a is disabled" true \
	"$("$QCCC_BIN" endpoint list --json --state-dir "$QCC_STATE" | jq -r '.endpoints[0].operator_disabled')"
assert_eq "enable it again from the page" 200 "$(post endpoints/a/enable -H "Origin: https://$HOSTHDR")"
assert_eq "an https Origin without the token is refused" 403 \
	"$(get "$BASE/qcc/api/endpoints/a/disable" -X POST -b "$JAR" -H "Origin: https://$HOSTHDR")"

# ---- an alert reaches the open page live ------------------------------------------------------
curl -sS -N -m 30 "${C[@]}" -b "$JAR" -o "$T/sse" "$BASE/qcc/api/events" 2>/dev/null &
SSE_PID=$!
track_pid $SSE_PID
wait_until 100 0.05 grep -q '^event: snapshot' "$T/sse" || diag "no snapshot event"
assert_eq "no alert in the timeline yet" 0 \
	"$(sed -n 's/^data: //p' "$T/sse" | head -1 | jq '[.timeline.entries[] | select(.kind == "alert")] | length')"
mock_fault a 'status=500'
assert_eq "the fault is injected (a answers 500)" 0 "$?"
code=$(curl -sS -m 10 "${C[@]}" -o /dev/null -w '%{http_code}' "$BASE/v1/messages" \
	-H 'x-api-key: c' -d "$(body_json claude-x)" 2>/dev/null)
assert_ne "the request fails" 200 "$code"
# the alerts look once a second; threshold 1: all_down at the next look
alert_live() {
	sed -n 's/^data: //p' "$T/sse" | jq -r 'select(.kind == "alert") | .to' 2>/dev/null | grep -qx all_down
}
wait_until 100 0.05 alert_live
assert_eq "the all_down alert reaches the open page as an entry event within 5 s" 0 "$?"
entry=$(sed -n 's/^data: //p' "$T/sse" | jq -c 'select(.kind == "alert")' | head -1)
assert_contains "... with the alert's text as its reason" "$(jq -r .reason <<<"$entry")" "no endpoint can take a request"
assert_ne "... stamped now (a record's time 0 means now, not 1970)" 1970 "$(jq -r '.time[:4]' <<<"$entry")"
kill "$SSE_PID" 2>/dev/null
wait "$SSE_PID" 2>/dev/null
assert_eq "the journal has the alert record" all_down \
	"$(journal_json | jq -r '[.[] | select(.type == "alert")] | first | .kind')"
assert_eq "GET /qcc/api/timeline has the alert" all_down \
	"$(get "$BASE/qcc/api/timeline" -b "$JAR" >/dev/null; jq -r '[.entries[] | select(.kind == "alert")] | first | .to' "$T/body")"

# ---- after a restart: history from before the page was opened ------------------------------
stop_qcc
mock_fault a ok >/dev/null
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
URL=$("$QCCC_BIN" dashboard --no-open --state-dir "$QCC_STATE" 2>/dev/null)
assert_eq "a new login over https" 303 "$(get "$URL" -c "$JAR")"
assert_eq "the timeline after a restart" 200 "$(get "$BASE/qcc/api/timeline" -b "$JAR")"
assert_eq "... still shows the alert raised before it" all_down \
	"$(jq -r '[.entries[] | select(.kind == "alert")] | first | .to' "$T/body")"
stop_qcc
done_testing
