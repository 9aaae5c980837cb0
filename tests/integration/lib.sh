# Integration test harness, sourced by every tests/integration/t*.sh (bash).
# Starts real processes on 127.0.0.1 (mock upstreams, qcc-run), waits for them
# with bounded loops, kills everything it started on exit, and prints TAP-ish
# lines: `ok N - name` / `not ok N - name`. Exit status: 0 all passed,
# 1 something failed, 77 skipped (meson's skip code).
#
# Environment: QCC_BUILD_ROOT / QCC_SOURCE_ROOT (set by meson's test_env),
# QCC_IT_KEEP=1 keeps the temp dir for post-mortems.
#
# Fixtures (at the end) for hand-written configs and usage tests:
#   yaml_head [PROXY_LINE...]      version, proxy on 127.0.0.1 (:$QCC_PORT when set),
#                                  health checks and the queue off ("health.KEY: V" lines)
#   yaml_profile NAME [LINE...]    `profiles:` with one profile, up to its `endpoints:`
#   yaml_tokens NAME[=LINE]...     proxy.auth_tokens lines, values from $QCC_IT_TOK_<NAME>
#   it_tokens NAME...              export a random $QCC_IT_TOK_<NAME> for each
#   tls_ep_yaml ID URL KEY_ENV CA [LINE...]   an endpoint that trusts its own CA
#   build_and_start CONFIG [TABLE] qccc build (bail out on failure), qcc-run on $QCC_PORT
#   kill9_restart_qcc              kill -9 qcc-run, start it again on its table and port
#   usage_mocks EVENTS1 EVENTS2    keyed mocks up1 (cache usage 100,20,300) and up2
#   post_messages NAME TOKEN BODY [CURL_ARG...]   one /v1/messages kept as $T/r-NAME.{h,body}
#   resp_header NAME HEADER, answered_by NAME     a header of that answer, the mock behind it
#   answers_usage NAME...          one JSON line per kept answer: endpoint, model, tokens
#   wait_usage_requests N          until `qccc usage` counts N requests (5 s)
#   make_pki DIR CA_NAME SERIAL [SAN]   a CA and a server cert (DIR/ca.pem, srv.pem)
#   nginx_h2, start_nginx_h2 PKI CONNS HTTP_LINES SERVER_LINES   an h2 TLS terminator on $NPORT

set -u
set -o pipefail

QCC_SOURCE_ROOT=${QCC_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
QCC_BUILD_ROOT=${QCC_BUILD_ROOT:-$QCC_SOURCE_ROOT/build}
MOCK_BIN=$QCC_BUILD_ROOT/tools/mock-upstream/mock-upstream
QCCC_BIN=$QCC_BUILD_ROOT/compiler/qccc
QCC_RUN_BIN=$QCC_BUILD_ROOT/runtime/qcc-run
IT_DIR=$QCC_SOURCE_ROOT/tests/integration

T=$(mktemp -d "${TMPDIR:-/tmp}/qcc-it.XXXXXX")
chmod 700 "$T"
IT_PIDS=()
IT_N=0
IT_FAILS=0
declare -A MOCK_PORT=() MOCK_PID=() MOCK_LOG=()
QCC_PORT=""
QCC_PID=""
QCC_TABLE=""
QCC_STATE=""
QCC_ACCESS_LOG=""
QCC_ERR_LOG=""
# qcc-run's connection warmer (runtime/warmer.h) sends keyless GET /v1/models
# to every upstream at start and when idle; tests that count upstream
# requests would see them, so it is off unless a test turns it on.
export QCC_KEEP_WARM=${QCC_KEEP_WARM:-0}

# ---- reporting -------------------------------------------------------------

diag() { printf '# %s\n' "$*"; }

ok() {
	IT_N=$((IT_N + 1))
	printf 'ok %d - %s\n' "$IT_N" "$1"
}

not_ok() {
	IT_N=$((IT_N + 1))
	IT_FAILS=$((IT_FAILS + 1))
	printf 'not ok %d - %s\n' "$IT_N" "$1"
	shift
	local line
	for line in "$@"; do
		printf '#   %s\n' "$line"
	done
}

# check NAME CMD... : ok when CMD succeeds.
check() {
	local name=$1
	shift
	local out
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "command failed: $*" "${out:0:600}"
	fi
}

assert_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: ${2:0:300}" "actual:   ${3:0:300}"
	fi
}

assert_ne() { # NAME UNEXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "did not expect: ${2:0:300}"
	fi
}

assert_contains() { # NAME HAYSTACK NEEDLE
	if [[ "$2" == *"$3"* ]]; then
		ok "$1"
	else
		not_ok "$1" "expected to find: ${3:0:300}" "in: ${2:0:600}"
	fi
}

assert_not_contains() { # NAME HAYSTACK NEEDLE (the needle is never printed: it may be a secret)
	if [[ "$2" != *"$3"* ]]; then
		ok "$1"
	else
		not_ok "$1" "found a string that must not be there (value withheld)"
	fi
}

assert_le() { # NAME A B  (integers: A <= B)
	if [ "$2" -le "$3" ] 2>/dev/null; then
		ok "$1"
	else
		not_ok "$1" "expected $2 <= $3"
	fi
}

# A whole-test skip (prerequisite missing). Must be called before any ok/not ok.
skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	exit 77
}

# Stops the mock upstreams still running and checks they exit 0 with no
# sanitizer report (meaningful when built with -Db_sanitize=...).
stop_mocks() {
	local name pid rc bad=""
	for name in "${!MOCK_PID[@]}"; do
		pid=${MOCK_PID[$name]}
		kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=$?
		[ "$rc" = 0 ] || bad="$bad $name:exit=$rc"
	done
	if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T"/mock-*.err >/dev/null 2>&1; then
		bad="$bad sanitizer-report"
	fi
	if [ -z "$bad" ]; then
		ok "mock upstreams exit 0 on SIGTERM, no sanitizer report"
	else
		not_ok "mock upstreams exit 0 on SIGTERM, no sanitizer report" "$bad" \
			"$(cat "$T"/mock-*.err 2>/dev/null | grep -E 'ERROR|SUMMARY|runtime error' | head -5)"
	fi
}

# Last line of every script.
done_testing() {
	if [ "${#MOCK_PID[@]}" -gt 0 ]; then
		stop_mocks
	fi
	printf '1..%d\n' "$IT_N"
	if [ "$IT_FAILS" -gt 0 ]; then
		diag "$IT_FAILS of $IT_N failed; temp dir: $T"
		exit 1
	fi
	exit 0
}

# Stops at the first failure when going on would only cascade.
bail_out() {
	printf 'Bail out! %s\n' "$*"
	IT_FAILS=$((IT_FAILS + 1))
	done_testing
}

# ---- processes -------------------------------------------------------------

it_cleanup() {
	local rc=$?
	local p i
	for p in "${IT_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${IT_PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "${QCC_IT_KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${QCC_IT_KEEP_ON_FAIL:-0}" = 1 ]; }; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap it_cleanup EXIT
trap 'exit 130' INT TERM

track_pid() { IT_PIDS+=("$1"); }

# wait_until TRIES SLEEP CMD... : bounded retry loop.
wait_until() {
	local tries=$1 pause=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep "$pause"
	done
	return 1
}

# A free loopback port for qcc-run (the mock upstream writes its own port
# file instead): bind 0 with python3 when present, else probe random ports.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
		return
	fi
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}

require_bins() {
	local b
	for b in "$@"; do
		[ -x "$b" ] || bail_out "missing executable $b (build first: ninja -C $QCC_BUILD_ROOT)"
	done
}

# start_mock NAME [mock-upstream args...]  -> MOCK_PORT[NAME], MOCK_PID[NAME], MOCK_LOG[NAME]
start_mock() {
	local name=$1
	shift
	local pf=$T/mock-$name.port
	rm -f "$pf"
	MOCK_LOG[$name]=$T/mock-$name.log
	: >"${MOCK_LOG[$name]}"
	"$MOCK_BIN" --listen 127.0.0.1:0 --name "$name" --port-file "$pf" \
		--log "${MOCK_LOG[$name]}" "$@" 2>>"$T/mock-$name.err" &
	local pid=$!
	track_pid "$pid"
	MOCK_PID[$name]=$pid
	if ! wait_until 100 0.05 test -s "$pf"; then
		bail_out "mock upstream $name did not start: $(head -c 400 "$T/mock-$name.err")"
	fi
	MOCK_PORT[$name]=$(cat "$pf")
}

mock_url() { printf 'http://127.0.0.1:%s' "${MOCK_PORT[$1]}"; }

# mock_fault NAME SPEC  (e.g. status=529&count=2, hang, ok)
mock_fault() {
	curl -sS -m 5 -o /dev/null -w '%{http_code}' --data-raw "$2" "$(mock_url "$1")/_control/fault" |
		grep -q '^200$'
}

# mock_stat NAME FIELD -> number
mock_stat() {
	curl -sS -m 5 "$(mock_url "$1")/_control/stats" | jq -r ".$2"
}

mock_reset() {
	curl -sS -m 5 -o /dev/null -X POST "$(mock_url "$1")/_control/reset"
	: >"${MOCK_LOG[$1]}"
}

# mock_requests NAME [jq filter] : request log entries (JSON lines)
mock_requests() {
	jq -c "select(.event == \"request\")${2:+ | $2}" "${MOCK_LOG[$1]}"
}

# render TEMPLATE OUT KEY=VALUE... : replaces @KEY@ in a config template.
render() {
	local tmpl=$1 out=$2
	shift 2
	local text kv key val
	text=$(cat "$tmpl") || return 1
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		# quoted so bash 5.2's patsub_replacement leaves '&' alone
		text=${text//"@$key@"/"$val"}
	done
	if grep -q '@[A-Z_0-9]*@' <<<"$text"; then
		echo "render: unreplaced placeholder in $tmpl: $(grep -o '@[A-Z_0-9]*@' <<<"$text" | head -1)" >&2
		return 1
	fi
	printf '%s\n' "$text" >"$out"
}

# build_table CONFIG OUT : qccc build; output in $T/qccc.out
build_table() {
	"$QCCC_BIN" build -c "$1" -o "$2" >"$T/qccc.out" 2>&1
}

# QCC_IT_SCHEME=https and QCC_IT_CACERT=FILE: qcc-run serves TLS (proxy.ssl_enabled).
healthz() {
	curl -sS -m 2 ${QCC_IT_CACERT:+--cacert "$QCC_IT_CACERT"} \
		"${QCC_IT_SCHEME:-http}://127.0.0.1:$QCC_PORT/healthz"
}

# The generation number qcc-run reports (empty when it does not answer).
healthz_generation() {
	healthz 2>/dev/null | jq -r '.generation // empty' 2>/dev/null
}

# start_qcc TABLE [extra qcc-run args...] -> QCC_PORT, QCC_PID
start_qcc() {
	QCC_TABLE=$1
	shift
	QCC_PORT=${QCC_LISTEN_PORT:-$(free_port)}
	QCC_STATE=$T/state
	QCC_ACCESS_LOG=$T/access.log
	QCC_ERR_LOG=$T/qcc-run.err
	mkdir -p "$QCC_STATE"
	# QCC_IT_WRAPPER runs qcc-run under a tool, e.g.
	# "valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
	# shellcheck disable=SC2086
	${QCC_IT_WRAPPER:-} "$QCC_RUN_BIN" --state-dir "$QCC_STATE" --listen "127.0.0.1:$QCC_PORT" \
		--access-log "$QCC_ACCESS_LOG" "$@" "$QCC_TABLE" >"$T/qcc-run.out" 2>>"$QCC_ERR_LOG" &
	QCC_PID=$!
	track_pid "$QCC_PID"
	local i tries=100
	[ -n "${QCC_IT_WRAPPER:-}" ] && tries=600
	for ((i = 0; i < tries; i++)); do
		if [ -n "$(healthz_generation)" ]; then
			return 0
		fi
		if ! kill -0 "$QCC_PID" 2>/dev/null; then
			bail_out "qcc-run exited at start: $(tail -c 600 "$QCC_ERR_LOG")"
		fi
		sleep 0.1
	done
	bail_out "qcc-run not ready on 127.0.0.1:$QCC_PORT after $((tries / 10)) s: $(tail -c 600 "$QCC_ERR_LOG")"
}

# stop_qcc: SIGTERM, wait (bounded), report "qcc-run exits 0 on SIGTERM".
# Under ASan/LSan or valgrind (QCC_IT_WRAPPER) a leak or error makes the exit
# status non-zero, so this is also the leak check.
stop_qcc() {
	[ -n "$QCC_PID" ] || return 0
	local i rc=
	kill -TERM "$QCC_PID" 2>/dev/null
	for i in $(seq 300); do
		kill -0 "$QCC_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$QCC_PID" 2>/dev/null; then
		kill -KILL "$QCC_PID" 2>/dev/null
		wait "$QCC_PID" 2>/dev/null
		not_ok "qcc-run exits on SIGTERM" "still running 30 s after SIGTERM"
	else
		wait "$QCC_PID"
		rc=$?
		if [ "$rc" = 0 ]; then
			ok "qcc-run exits 0 on SIGTERM (no sanitizer/valgrind report)"
		else
			not_ok "qcc-run exits 0 on SIGTERM (no sanitizer/valgrind report)" "exit status $rc" \
				"$(grep -E 'ERROR|SUMMARY|definitely lost|runtime error' "$QCC_ERR_LOG" | head -8)"
		fi
	fi
	QCC_PID=""
}

qcc_url() { printf '%s://127.0.0.1:%s' "${QCC_IT_SCHEME:-http}" "$QCC_PORT"; }

# wait_generation_above N : until /healthz reports a generation > N (5 s).
wait_generation_above() {
	local i g
	for i in $(seq 100); do
		g=$(healthz_generation)
		if [ -n "$g" ] && [ "$g" -gt "$1" ]; then
			echo "$g"
			return 0
		fi
		sleep 0.05
	done
	echo "${g:-none}"
	return 1
}

# A random-looking secret for this run (never printed by the harness).
make_secret() {
	printf '%s-%s' "$1" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

# The standard request bodies.
body_json() { # MODEL
	printf '{"model":"%s","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}' "$1"
}
body_stream() { # MODEL
	printf '{"model":"%s","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}' "$1"
}

# Common config: one primary profile with the given mocks, keys from env,
# rendered from templates/qcc.yaml.in and templates/endpoint.yaml.in.
# std_config OUT NAME...  (each NAME must be a started mock; key env QCC_IT_KEY_<NAME>)
# QCC_IT_AUTH=bearer: endpoint auth style; QCC_IT_TOKEN_ENV=VAR: proxy.auth_tokens.
std_config() {
	local out=$1 n eps="" tokens=""
	shift
	for n in "$@"; do
		render "$IT_DIR/templates/endpoint.yaml.in" "$T/.endpoint.yaml" ID="$n" \
			BASE_URL="$(mock_url "$n")" KEY_ENV="QCC_IT_KEY_${n^^}" AUTH="${QCC_IT_AUTH:-x-api-key}" ||
			return 1
		eps+=$(cat "$T/.endpoint.yaml")$'\n'
	done
	if [ -n "${QCC_IT_TOKEN_ENV:-}" ]; then
		tokens=$(printf '  auth_tokens:\n    - env: %s' "$QCC_IT_TOKEN_ENV")
	fi
	render "$IT_DIR/templates/qcc.yaml.in" "$out" PROXY_PORT="${QCC_PORT:-7860}" \
		AUTH_TOKENS="$tokens" ENDPOINTS="${eps%$'\n'}"
}

# ---- routing helpers (t6x/t7x: routing, health checks, journal) -------------

# it_keys NAME... : export a random key QCC_IT_KEY_<NAME> for each (call it
# in the script itself: ep_yaml usually runs in a subshell).
it_keys() {
	local n
	for n in "$@"; do
		export "QCC_IT_KEY_${n^^}=$(make_secret "sk-it-$n")"
	done
}

# ep_yaml ID [LINE...] : one endpoint entry for a hand-written config; its key
# comes from $QCC_IT_KEY_<ID> (see it_keys; mocks without --key accept any).
# Extra LINEs ("weight: 3") are added to the entry.
ep_yaml() {
	local id=$1 l var
	shift
	var=QCC_IT_KEY_${id^^}
	printf '      - id: %s\n        base_url: %s\n        api_key_env: %s\n' "$id" "$(mock_url "$id")" "$var"
	for l in "$@"; do
		printf '        %s\n' "$l"
	done
}

# start_mock_at NAME PORT [args...] : a mock on a fixed port (restarting an
# upstream "in the same place"); same bookkeeping as start_mock.
start_mock_at() {
	local name=$1 port=$2
	shift 2
	MOCK_LOG[$name]=${MOCK_LOG[$name]:-$T/mock-$name.log}
	"$MOCK_BIN" --listen "127.0.0.1:$port" --name "$name" --log "${MOCK_LOG[$name]}" "$@" \
		2>>"$T/mock-$name.err" &
	local pid=$!
	track_pid "$pid"
	MOCK_PID[$name]=$pid
	MOCK_PORT[$name]=$port
	wait_until 100 0.05 curl -sf -m 1 -o /dev/null "http://127.0.0.1:$port/" ||
		bail_out "mock upstream $name did not start on port $port"
}

# kill_mock NAME : SIGKILL (an upstream that dies); its port then refuses.
kill_mock() {
	local pid=${MOCK_PID[$1]}
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "MOCK_PID[$1]"
}

# ask BODY -> "HTTPCODE NAME" (NAME from the mock's "Hello from NAME." text, - if none)
ask() {
	local out code name
	out=$(curl -sS -m "${ASK_TIMEOUT:-10}" -w '\n%{http_code}' "$(qcc_url)/v1/messages" \
		-H 'x-api-key: c' "${@:2}" -d "$1" 2>/dev/null)
	code=${out##*$'\n'}
	name=$(jq -r '.content[0].text // empty' <<<"${out%$'\n'*}" 2>/dev/null | sed -n 's/^Hello from \([^.]*\)\..*/\1/p')
	echo "${code:-000} ${name:--}"
}

# journal_json [STATE_DIR] : the journal as one JSON array (qccc journal show --json)
journal_json() {
	"$QCCC_BIN" journal show --json --state-dir "${1:-$QCC_STATE}" 2>/dev/null
}

# ---- fixtures for hand-written configs and usage tests ----------------------

# yaml_head [PROXY_LINE...] : the top of a config: version, proxy on 127.0.0.1
# (port $QCC_PORT when set) with extra LINEs under it (each may span lines),
# health checks and the queue off so mock logs hold only test traffic; a LINE
# "health.KEY: V" goes under health instead. Other sections go after it.
yaml_head() {
	local l
	printf 'version: 1\nproxy:\n  host: 127.0.0.1\n'
	if [ -n "${QCC_PORT:-}" ]; then printf '  port: %s\n' "$QCC_PORT"; fi
	for l in "$@"; do [[ $l == health.* ]] || sed 's/^/  /' <<<"$l"; done
	printf 'health:\n  enabled: false\n'
	for l in "$@"; do [[ $l != health.* ]] || printf '  %s\n' "${l#health.}"; done
	printf 'queue:\n  enabled: false\n'
}

# yaml_profile NAME [LINE...] : `profiles:` with profile NAME, its extra LINEs
# ("priority: primary"), then `endpoints:` for ep_yaml / tls_ep_yaml entries.
yaml_profile() {
	local l
	printf 'profiles:\n  - name: %s\n' "$1"
	shift
	for l in "$@"; do printf '    %s\n' "$l"; done
	printf '    endpoints:\n'
}

# yaml_tokens NAME[=LINE]... : proxy.auth_tokens as PROXY_LINEs for yaml_head,
# each token named NAME with its value in $QCC_IT_TOK_<NAME> (see it_tokens);
# "=LINE" adds one line to the entry ("carol=budget: {daily_tokens: 1}").
yaml_tokens() {
	local t n
	printf 'auth_tokens:'
	for t in "$@"; do
		n=${t%%=*}
		printf '\n  - name: %s\n    env: QCC_IT_TOK_%s' "$n" "${n^^}"
		if [ "$t" != "${t#*=}" ]; then printf '\n    %s' "${t#*=}"; fi
	done
}

# it_tokens NAME... : export a random client token QCC_IT_TOK_<NAME> for each.
it_tokens() {
	local n
	for n in "$@"; do
		export "QCC_IT_TOK_${n^^}=$(make_secret "tok-$n")"
	done
}

# tls_ep_yaml ID URL KEY_ENV CA [LINE...] : an endpoint at URL that trusts CA.
tls_ep_yaml() {
	local l
	printf '      - id: %s\n        base_url: %s\n        api_key_env: %s\n        ca_file: %s\n' \
		"$1" "$2" "$3" "$4"
	shift 4
	for l in "$@"; do printf '        %s\n' "$l"; done
}

# build_and_start CONFIG [TABLE] : qccc build (bail out on failure), then
# qcc-run on that table at $QCC_PORT (a free one when unset).
build_and_start() {
	local table=${2:-$T/table.bin}
	build_table "$1" "$table" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
	QCC_LISTEN_PORT=${QCC_PORT:-} start_qcc "$table"
}

# kill9_restart_qcc : qcc-run killed with SIGKILL (a crash), then started again
# on the same table and port.
kill9_restart_qcc() {
	kill -KILL "$QCC_PID"
	wait "$QCC_PID" 2>/dev/null
	QCC_PID=""
	QCC_LISTEN_PORT=$QCC_PORT start_qcc "$QCC_TABLE"
}

# usage_mocks EVENTS1 EVENTS2 : mocks up1 and up2 that check their keys
# (it_keys), answers of EVENTS events; up1's usage has cache writes (5m 100,
# 1h 20) and reads (300). QCC_PORT set to a free port for the config.
usage_mocks() {
	it_keys up1 up2
	start_mock up1 --key-env QCC_IT_KEY_UP1 --cache-usage 100,20,300 --events "$1"
	start_mock up2 --key-env QCC_IT_KEY_UP2 --events "$2"
	QCC_PORT=$(free_port)
}

# post_messages NAME TOKEN BODY [CURL_ARG...] : one /v1/messages to qcc-run
# with TOKEN as x-api-key; head and body kept as $T/r-NAME.h and $T/r-NAME.body.
post_messages() {
	curl -sS -N -m 20 -D "$T/r-$1.h" -o "$T/r-$1.body" "$(qcc_url)/v1/messages" -H "x-api-key: $2" \
		-H 'anthropic-version: 2023-06-01' "${@:4}" -d "$3" 2>/dev/null
}

# resp_header NAME HEADER : the value of HEADER in the answer kept as NAME.
resp_header() {
	grep -i "^$2:" "$T/r-$1.h" | awk '{print $2}' | tr -d '\r'
}

# answered_by NAME : the mock that answered (its x-mock-upstream header).
answered_by() { resp_header "$1" x-mock-upstream; }

# answers_usage NAME... : the usage each kept answer carried, read from the
# body as the client got it, one JSON line per NAME: {name, endpoint, model,
# tokens: {input, output, cache_write_5m, cache_write_1h, cache_read}}. A
# stream: message_start's usage, updated by every message_delta; the 5m/1h
# split when present, else every cache write is 5m (docs/usage.md). A kind
# not reported is 0; model is null when the answer names none (an error).
answers_usage() {
	python3 - "$T" "$@" <<'PY'
import json, os, sys
t = sys.argv[1]
for name in sys.argv[2:]:
    body = open(os.path.join(t, "r-%s.body" % name), "rb").read().decode()
    heads = open(os.path.join(t, "r-%s.h" % name)).read().lower().splitlines()
    ep = [l.split(":", 1)[1].strip() for l in heads if l.startswith("x-mock-upstream:")][0]
    u, model = {}, None
    if body.lstrip().startswith("{"):
        m = json.loads(body); u = m.get("usage", {}); model = m.get("model")
    else:
        for l in body.splitlines():
            if not l.startswith("data:"): continue
            try: d = json.loads(l[5:])
            except ValueError: continue  # a stream cut in the middle of an event
            if d.get("type") == "message_start":
                u.update(d["message"]["usage"]); model = d["message"]["model"]
            elif d.get("type") == "message_delta":
                u.update(d.get("usage", {}))
    cc = u.get("cache_creation")
    tok = {"input": u.get("input_tokens", 0), "output": u.get("output_tokens", 0),
           "cache_write_5m": cc["ephemeral_5m_input_tokens"] if cc else u.get("cache_creation_input_tokens", 0),
           "cache_write_1h": cc["ephemeral_1h_input_tokens"] if cc else 0,
           "cache_read": u.get("cache_read_input_tokens", 0)}
    print(json.dumps({"name": name, "endpoint": ep, "model": model, "tokens": tok}))
PY
}

# wait_usage_requests N : until `qccc usage` counts N requests (records are
# written when an exchange ends); 5 s.
wait_usage_requests() {
	wait_until 50 0.1 sh -c "\"$QCCC_BIN\" usage --json --state-dir \"$QCC_STATE\" | jq -e '.total.requests == $1' >/dev/null"
}

# make_pki DIR [SAN] : a CA (DIR/ca.pem, ca.key) and a server cert it signed
# (DIR/srv.pem, srv.key) for SAN (default IP:127.0.0.1, else e.g.
# IP:127.0.0.1,DNS:localhost), with pki_ca and pki_leaf (below); bails out
# when openssl fails.
make_pki() {
	mkdir -p "$1"
	{ pki_ca "$1" ca && pki_leaf "$1" srv ca "${2:-IP:127.0.0.1}"; } ||
		bail_out "openssl could not make the certs"
}

# nginx_h2 : true when Debian's nginx with http_v2 is installed; sets NGINX.
nginx_h2() {
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$NGINX" ] && "$NGINX" -V 2>&1 | grep -q -- --with-http_v2_module
}

# start_nginx_h2 PKI CONNS HTTP_LINES SERVER_LINES : nginx (see nginx_h2) in
# $T/ngx as a TLS terminator speaking h2 on NPORT (a free port, set here) with
# PKI/srv.pem; HTTP_LINES go in its http block, SERVER_LINES in its server.
start_nginx_h2() {
	NPORT=$(free_port)
	mkdir -p "$T/ngx"
	cat >"$T/ngx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
master_process off;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log warn;
events { worker_connections $2; }
http {
  client_body_temp_path $T/ngx; proxy_temp_path $T/ngx; fastcgi_temp_path $T/ngx;
  uwsgi_temp_path $T/ngx; scgi_temp_path $T/ngx;
$3
  server {
    listen 127.0.0.1:$NPORT ssl http2;
    ssl_certificate $1/srv.pem;
    ssl_certificate_key $1/srv.key;
$4
  }
}
NGX
	"$NGINX" -p "$T/ngx" -c "$T/ngx/nginx.conf" >"$T/ngx/out" 2>&1 &
	track_pid $!
	wait_until 100 0.05 curl -sk -o /dev/null "https://127.0.0.1:$NPORT/" ||
		bail_out "nginx did not start: $(tail -c 400 "$T/ngx/error.log")"
}

# ---- certificates for TLS tests (made here, in $T, with the openssl CLI) ------

# pki_init : skip without the openssl CLI; P=$T/pki, made; SSL_CERT_FILE and
# SSL_CERT_DIR unset (the CAs a test trusts come from the test alone).
pki_init() {
	command -v openssl >/dev/null || skip_all "openssl CLI not installed"
	unset SSL_CERT_FILE SSL_CERT_DIR
	P=$T/pki
	mkdir -p "$P"
}

# pki_ca DIR NAME : a self-signed EC CA, DIR/NAME.pem and DIR/NAME.key
pki_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$1/$2.key" -out "$1/$2.pem" -subj "/CN=qcc it $2" >/dev/null 2>&1
}

# pki_leaf DIR NAME CA SAN : a server certificate for SAN (e.g.
# "IP:127.0.0.1,DNS:localhost") signed by DIR/CA, DIR/NAME.pem and DIR/NAME.key
pki_leaf() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$1/$2.key" -out "$1/$2.csr" -subj "/CN=$2" >/dev/null 2>&1 &&
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$4" \
			>"$1/$2.ext" &&
		openssl x509 -req -in "$1/$2.csr" -CA "$1/$3.pem" -CAkey "$1/$3.key" \
			-set_serial "0x$RANDOM$RANDOM" -days 2 -extfile "$1/$2.ext" -out "$1/$2.pem" >/dev/null 2>&1
}
