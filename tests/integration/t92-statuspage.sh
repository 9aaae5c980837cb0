#!/bin/bash
# The status page's security (issue 15, docs/status-page.md): login links
# from `qccc dashboard` are single-use and expire, every /qcc/ request needs
# the session cookie, the Host header must name the listener, POSTs need the
# listener's Origin and the session's CSRF token, a client token reads but
# does not act, /qcc/ never reaches an upstream, and no key or token text is
# in any page or API response. Also: the admin socket serves the same API,
# the page's headers (CSP, caching, ETag) and the actions journaled.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a
start_mock b
it_keys a b
export QCC_IT_TOKEN=$(make_secret "tok-it")
QCC_PORT=$(free_port)
QCC_IT_TOKEN_ENV=QCC_IT_TOKEN std_config "$T/qcc.yaml" a b || bail_out "config"
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
BASE=$(qcc_url)
HOSTHDR=127.0.0.1:$QCC_PORT
JAR=$T/jar
# every response body of this test is appended here, then grepped for secrets
ALL=$T/all-responses

# get URL [curl args] -> "CODE" ; body in $T/body, headers in $T/hdr
get() {
	local url=$1
	shift
	curl -sS -m 10 -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" "$url" 2>/dev/null
	cat "$T/hdr" "$T/body" >>"$ALL" 2>/dev/null
}
link() { "$QCCC_BIN" dashboard --no-open --state-dir "$QCC_STATE" 2>"$T/dash.err"; }

# ---- no session --------------------------------------------------------------
assert_eq "GET /qcc/ without a cookie is 401" 401 "$(get "$BASE/qcc/")"
assert_eq "GET /qcc/api/state without a cookie is 401" 401 "$(get "$BASE/qcc/api/state")"
assert_eq "a forged session cookie is 401" 401 \
	"$(get "$BASE/qcc/api/state" -H "Cookie: qcc_session=$(printf '%064d' 7)")"
assert_eq "a forged login link is 401" 401 "$(get "$BASE/qcc/login?t=$(printf 'a%.0s' {1..64})")"
assert_eq "/qcc (no slash) is the page's too, 401" 401 "$(get "$BASE/qcc")"

# ---- login ----------------------------------------------------------------------
URL=$(link)
assert_contains "qccc dashboard prints a login link" "$URL" "http://127.0.0.1:$QCC_PORT/qcc/login?t="
assert_contains "qccc dashboard says how long the link works" "$(cat "$T/dash.err")" "60 s"
code=$(get "$URL" -c "$JAR")
assert_eq "the login link redirects (303)" 303 "$code"
assert_contains "... to /qcc/" "$(tr -d '\r' <"$T/hdr")" "location: /qcc/"
cookie_line=$(grep -i '^set-cookie:' "$T/hdr" | tr -d '\r')
assert_contains "the cookie is HttpOnly" "$cookie_line" "HttpOnly"
assert_contains "the cookie is SameSite=Strict" "$cookie_line" "SameSite=Strict"
assert_contains "the cookie is limited to /qcc/" "$cookie_line" "Path=/qcc/"
assert_eq "the same link a second time is 401 (single use)" 401 "$(get "$URL")"

assert_eq "GET /qcc/ with the cookie is 200" 200 "$(get "$BASE/qcc/" -b "$JAR")"
hdr=$(tr -d '\r' <"$T/hdr" | tr 'A-Z' 'a-z')
assert_contains "the page is HTML" "$hdr" "content-type: text/html"
assert_contains "the page has a strict CSP" "$hdr" "content-security-policy: default-src 'none'; script-src 'self'"
assert_contains "nosniff" "$hdr" "x-content-type-options: nosniff"
assert_contains "no referrer" "$hdr" "referrer-policy: no-referrer"
etag=$(grep -i '^etag:' "$T/hdr" | cut -d' ' -f2 | tr -d '\r')
assert_ne "the page has an ETag" "" "$etag"
assert_eq "If-None-Match answers 304" 304 "$(get "$BASE/qcc/" -b "$JAR" -H "If-None-Match: $etag")"
assert_contains "the HTML has no inline script" "$(grep -c '<script>' "$T/body" || true)" "0"
assert_eq "page.js is served" 200 "$(get "$BASE/qcc/page.js" -b "$JAR")"
assert_contains "... as JavaScript" "$(tr -d '\r' <"$T/hdr")" "text/javascript"
assert_eq "page.css is served" 200 "$(get "$BASE/qcc/page.css" -b "$JAR")"
assert_eq "charts.js is served" 200 "$(get "$BASE/qcc/charts.js" -b "$JAR")"
assert_eq "an unknown file is 404" 404 "$(get "$BASE/qcc/nope.js" -b "$JAR")"

assert_eq "GET /qcc/api/state with the cookie is 200" 200 "$(get "$BASE/qcc/api/state" -b "$JAR")"
assert_eq "the state lists both endpoints" "a b" "$(jq -r '[.endpoints[].id] | sort | join(" ")' "$T/body")"
assert_eq "the state has the active profile" "it-main" "$(jq -r '.status.routing.active_profile' "$T/body")"
assert_eq "GET /qcc/api/queue is 200" 200 "$(get "$BASE/qcc/api/queue" -b "$JAR")"
assert_eq "GET /qcc/api/usage is 200" 200 "$(get "$BASE/qcc/api/usage" -b "$JAR")"
assert_eq "usage: 48 hourly points" 48 "$(jq -r '.hourly.points' "$T/body")"
assert_eq "GET /qcc/api/session gives a CSRF token" 200 "$(get "$BASE/qcc/api/session" -b "$JAR")"
CSRF=$(jq -r .csrf "$T/body")
assert_eq "the CSRF token is 64 hex characters" 64 "$(printf '%s' "$CSRF" | tr -cd '0-9a-f' | wc -c)"

# SSE: the snapshot arrives, with the timeline from the journal
curl -sS -m 2 -N -b "$JAR" "$BASE/qcc/api/events" >"$T/sse" 2>/dev/null
cat "$T/sse" >>"$ALL"
assert_contains "events: a snapshot event" "$(cat "$T/sse")" "event: snapshot"
assert_eq "events: the snapshot's timeline starts with qcc-run's start" "start" \
	"$(sed -n 's/^data: //p' "$T/sse" | head -1 | jq -r '.timeline.entries[0].kind')"

# at most 8 event streams at once: the 9th is refused, and a slot frees when one ends
SSE_PIDS=()
for i in 1 2 3 4 5 6 7 8; do
	curl -sS -N -m 20 -b "$JAR" -o "$T/sse-$i" "$BASE/qcc/api/events" 2>/dev/null &
	SSE_PIDS+=($!)
	track_pid $!
done
wait_until 100 0.05 bash -c "for i in 1 2 3 4 5 6 7 8; do grep -q '^event: snapshot' $T/sse-\$i || exit 1; done" ||
	diag "not every stream got its snapshot"
assert_eq "a 9th event stream is 503" 503 "$(get "$BASE/qcc/api/events" -b "$JAR" -m 2)"
kill "${SSE_PIDS[0]}" 2>/dev/null
wait "${SSE_PIDS[0]}" 2>/dev/null
code=000
for i in $(seq 40); do
	code=$(curl -sS -m 1 -o /dev/null -w '%{http_code}' -b "$JAR" "$BASE/qcc/api/events" 2>/dev/null)
	[ "$code" = 200 ] && break
	sleep 0.05
done
assert_eq "... and a stream is served again once one closes" 200 "$code"
for p in "${SSE_PIDS[@]:1}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done

# a link for later: outlived by a restart (the end of this test)
OLD=$(link)

# ---- Host header (DNS rebinding) ---------------------------------------------------
assert_eq "a foreign Host is 421" 421 "$(get "$BASE/qcc/api/state" -b "$JAR" -H 'Host: evil.example:80')"
assert_eq "a foreign Host on the login link is 421" 421 "$(get "$OLD" -H "Host: evil.example:$QCC_PORT")"
# curl matches a jar's cookies against the Host header: send it by hand
SID=$(awk '$6 == "qcc_session" { print $7 }' "$JAR")
assert_eq "Host localhost:PORT is accepted" 200 \
	"$(get "$BASE/qcc/api/state" -H "Cookie: qcc_session=$SID" -H "Host: localhost:$QCC_PORT")"

# ---- POST: Origin and CSRF -----------------------------------------------------------
post() { # PATH [curl args]
	local p=$1
	shift
	get "$BASE/qcc/api/$p" -X POST -b "$JAR" -H 'Content-Type: application/json' -d '{}' "$@"
}
assert_eq "a POST without Origin is 403" 403 "$(post endpoints/a/disable -H "X-CSRF-Token: $CSRF")"
assert_eq "a cross-origin POST is 403" 403 \
	"$(post endpoints/a/disable -H 'Origin: http://evil.example' -H "X-CSRF-Token: $CSRF")"
assert_eq "a POST without the CSRF token is 403" 403 "$(post endpoints/a/disable -H "Origin: http://$HOSTHDR")"
assert_eq "a POST with a wrong CSRF token is 403" 403 \
	"$(post endpoints/a/disable -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $(printf '%064d' 1)")"
assert_eq "endpoint a still enabled" "false" \
	"$("$QCCC_BIN" endpoint list --json --state-dir "$QCC_STATE" | jq -r '.endpoints[] | select(.id=="a") | .operator_disabled')"
assert_eq "a same-origin POST with the token disables a" 200 \
	"$(post endpoints/a/disable -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF")"
assert_eq "qccc sees a disabled" "true" \
	"$("$QCCC_BIN" endpoint list --json --state-dir "$QCC_STATE" | jq -r '.endpoints[] | select(.id=="a") | .operator_disabled')"
assert_eq "the reason is the status page's" "from the status page" \
	"$("$QCCC_BIN" endpoint list --json --state-dir "$QCC_STATE" | jq -r '.endpoints[] | select(.id=="a") | .disabled_reason')"
assert_eq "enable from the page" 200 "$(post endpoints/a/enable -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF")"
assert_eq "pin from the page" 200 "$(post profiles/it-main/pin -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF")"
assert_eq "qccc sees the pin" "true" "$("$QCCC_BIN" status --json --state-dir "$QCC_STATE" | jq -r .routing.pinned)"
assert_eq "unpin from the page" 200 "$(post unpin -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF")"
assert_eq "an unknown action is 404" 404 "$(post nothing -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF")"
sleep 0.3
assert_contains "the journal has the disable with the page's reason" \
	"$(journal_json | jq -c '.[] | select(.type=="override")')" "from the status page"

# ---- docs/status-page.md: every route it documents answers, and the usage
# example has the live reply's shape -----------------------------------------------
DOC=$QCC_SOURCE_ROOT/docs/status-page.md
while read -r method path; do
	p=${path//\{id\}/a}
	p=${p//\{name\}/it-main}
	case $p in
	/qcc/login) want=401 ;; # no token
	/qcc/login-link) continue ;; # admin socket only, below
	*) want=ok ;;
	esac
	[ "$p" = /qcc/api/events ] && continue # a stream: checked above
	[ "$p" = /qcc/api/deadletters/a/retry ] || [ "$p" = /qcc/api/deadletters/a/drop ] && want=404 # no such dead letter
	code=$(get "$BASE$p" -X "$method" -b "$JAR" -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF" \
		-H 'Content-Type: application/json' -d '{}' -m 20)
	if [ "$want" = ok ]; then
		assert_eq "documented $method $path answers" 1 "$([ "$code" -ge 200 ] && [ "$code" -lt 300 ] && echo 1 || echo "$code")"
	else
		assert_eq "documented $method $path answers $want" "$want" "$code"
	fi
done < <(sed -n 's@^### \(GET\|POST\) \(/qcc[^ ]*\)$@\1 \2@p' "$DOC")
assert_eq "the doc documents 16 routes" 16 "$(grep -cE '^### (GET|POST) /qcc' "$DOC")"
example=$(awk '/^### GET \/qcc\/api\/usage/ { on = 1; next } on && /^###/ { exit } on && /^    / { print }' "$DOC")
get "$BASE/qcc/api/usage" -b "$JAR" >/dev/null
assert_eq "usage: the documented keys are the live ones" "$(jq -c 'keys' <<<"$example")" "$(jq -c 'keys' "$T/body")"
assert_eq "usage: the documented hourly keys are the live ones" "$(jq -c '.hourly | keys' <<<"$example")" \
	"$(jq -c '.hourly | keys' "$T/body")"
assert_eq "usage: the documented daily keys are the live ones" "$(jq -c '.daily | keys' <<<"$example")" \
	"$(jq -c '.daily | keys' "$T/body")"

# ---- bearer token: read-only -----------------------------------------------------------
B=(-H "Authorization: Bearer $QCC_IT_TOKEN")
assert_eq "a client token reads the state" 200 "$(get "$BASE/qcc/api/state" "${B[@]}")"
assert_eq "a client token reads usage" 200 "$(get "$BASE/qcc/api/usage" "${B[@]}")"
code=$(curl -sS -m 2 -o "$T/sse2" -w '%{http_code}' "${B[@]}" "$BASE/qcc/api/events" 2>/dev/null)
assert_eq "a client token reads the events" 200 "$code"
assert_eq "a client token does not act (403)" 403 \
	"$(get "$BASE/qcc/api/endpoints/b/disable" -X POST "${B[@]}" -H "Origin: http://$HOSTHDR" -H "X-CSRF-Token: $CSRF")"
assert_eq "a client token does not get the page" 403 "$(get "$BASE/qcc/" "${B[@]}")"
assert_eq "a wrong client token is 401" 401 "$(get "$BASE/qcc/api/state" -H 'Authorization: Bearer nope')"

# ---- the admin socket serves the same API --------------------------------------------------
code=$(curl -sS -m 5 -o "$T/body" -w '%{http_code}' --unix-socket "$QCC_STATE/admin.sock" http://localhost/qcc/api/state)
cat "$T/body" >>"$ALL"
assert_eq "admin socket: /qcc/api/state" 200 "$code"
assert_eq "admin socket: the same endpoints" "a b" "$(jq -r '[.endpoints[].id] | sort | join(" ")' "$T/body")"
code=$(curl -sS -m 5 -o "$T/body" -w '%{http_code}' --unix-socket "$QCC_STATE/admin.sock" http://localhost/qcc/)
assert_eq "admin socket: the page" 200 "$code"

# ---- /qcc/ never reaches an upstream --------------------------------------------------------
for p in /qcc/ /qcc/api/state /qcc/x /qcc/../qcc/api/state /qcc; do
	get "$BASE$p" >/dev/null
done
get "$BASE/v1/../qcc/api/state" -H "x-api-key: $QCC_IT_TOKEN" >/dev/null
assert_eq "no /qcc path in upstream a's log" "" "$(mock_requests a '.path' | grep -i qcc || true)"
assert_eq "no /qcc path in upstream b's log" "" "$(mock_requests b '.path' | grep -i qcc || true)"
# (the documented POST /qcc/api/health-check above sent real probes: /v1/ only)
assert_eq "upstreams saw only /v1/ paths" "" "$(mock_requests a '.path' | grep -v '^"/v1/' || true)$(mock_requests b '.path' | grep -v '^"/v1/' || true)"

# ---- no secret in any response -----------------------------------------------------------------
assert_not_contains "no key of a in any response" "$(cat "$ALL")" "$QCC_IT_KEY_A"
assert_not_contains "no key of b in any response" "$(cat "$ALL")" "$QCC_IT_KEY_B"
assert_not_contains "no client token in any response" "$(cat "$ALL")" "$QCC_IT_TOKEN"
assert_not_contains "no key env value in the log" "$(cat "$QCC_ERR_LOG")" "$QCC_IT_KEY_A"
assert_not_contains "the login token is not in the error log" "$(cat "$QCC_ERR_LOG")" "${URL##*t=}"

stop_qcc
# a link made before a restart is gone with the process; links expire
# (QCC_PAGE_LINK_TTL_MS shortens their 60 s for this test)
QCC_PAGE_LINK_TTL_MS=400 QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
assert_eq "a link from before a restart is 401" 401 "$(get "$OLD")"
assert_eq "a session from before a restart is 401" 401 "$(get "$BASE/qcc/api/state" -b "$JAR")"
EXPIRED=$(link)
sleep 1
assert_eq "an expired link is 401" 401 "$(get "$EXPIRED")"
FRESH=$(link)
assert_eq "a fresh link still works (the expiry above was the clock's)" 303 "$(get "$FRESH" -c "$JAR")"
# an open event stream does not hold up a graceful stop
curl -sS -N -m 30 -b "$JAR" -o "$T/sse-stop" "$BASE/qcc/api/events" 2>/dev/null &
track_pid $!
wait_until 100 0.05 grep -q '^event: snapshot' "$T/sse-stop"
t0=$(date +%s%N)
stop_qcc
assert_le "qcc-run stops within 3 s with a stream open" "$(( ($(date +%s%N) - t0) / 1000000 ))" 3000
done_testing
