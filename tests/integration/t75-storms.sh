#!/bin/bash
# Storms, hangs and stalls (issue 11): Claude Code never sees an outage while
# any key could serve. Two mock upstreams, a and b, the failover strategy
# sending to a first; a injects one fault per scenario. Each scenario runs on a
# fresh qcc-run (own state dir) and asserts what the client got, which
# upstream served it (the mock's name in the answer) and how long it took.
# Bounds carry margins for a loaded 2-core machine; the spec's figure is
# named in each test line.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

start_mock a --events 12
start_mock b --events 12
it_keys a b
DEAD=$(free_port)
ASK_TIMEOUT=15

now_ms() { date +%s%3N; }
Q() { "$QCCC_BIN" "$@" --state-dir "$QCC_STATE"; }

# cfg OUT [a:LINE | b:LINE | health:LINE | queue:LINE | switch:LINE | a_url:URL]...
# One profile, failover strategy, a (priority 1) before b (priority 2).
# Without health:/queue: lines, health checks are off and the queue is on with
# its defaults (the configuration a new user starts from).
cfg() {
	local out=$1 arg a=() b=() health="" queue="" sw="" a_url
	a_url=$(mock_url a)
	shift
	for arg in "$@"; do
		case $arg in
		a:*) a+=("${arg#a:}") ;;
		b:*) b+=("${arg#b:}") ;;
		a_url:*) a_url=${arg#a_url:} ;;
		health:*) health+="  ${arg#health:}"$'\n' ;;
		queue:*) queue+="  ${arg#queue:}"$'\n' ;;
		switch:*) sw+="  ${arg#switch:}"$'\n' ;;
		esac
	done
	cat >"$out" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
${health:-  enabled: false
}queue:
${queue:-  enabled: true
}loadbalancer:
  strategy: failover
switching_policy:
${sw:-  auto_switch: true
}profiles:
  - name: main
    priority: primary
    endpoints:
$(ep_yaml a "priority: 1" "${a[@]}" | sed "s#base_url: .*#base_url: $a_url#")
$(ep_yaml b "priority: 2" "${b[@]}")
YAML
}

# table NAME ARGS... : cfg + qccc build -> $T/NAME.bin
table() {
	local name=$1
	shift
	cfg "$T/$name.yaml" "$@"
	build_table "$T/$name.yaml" "$T/$name.bin" || bail_out "qccc build $name failed: $(cat "$T/qccc.out")"
}

# fresh TABLE : a new qcc-run with an empty state dir; both mocks reset (no fault)
fresh() {
	stop_qcc
	mock_reset a
	mock_reset b
	rm -rf "$T/state" "$T/access.log"
	start_qcc "$1"
}

# timed_ask BODY -> "CODE NAME MS"
timed_ask() {
	local t0 r
	t0=$(now_ms)
	r=$(ask "$1")
	echo "$r $(($(now_ms) - t0))"
}

# stream_to FILE -> "CODE MS CURL_EXIT": one streamed request, body in FILE
stream_to() {
	local t0 code rc
	t0=$(now_ms)
	code=$(curl -sS -N -m "$ASK_TIMEOUT" -o "$1" -w '%{http_code}' "$(qcc_url)/v1/messages" \
		-H 'x-api-key: c' -d "$(body_stream "${2:-m}")" 2>/dev/null)
	rc=$?
	echo "${code:-000} $(($(now_ms) - t0)) $rc"
}

# verdict FILE -> "NAME starts=N stop=N errors=N": who wrote the text, how
# many message_start / message_stop / error events the client saw.
verdict() {
	local name
	name=$(grep '^data: ' "$1" | cut -c7- | jq -rj 'select(.type=="content_block_delta") | .delta.text' 2>/dev/null |
		sed -n 's/^Hello from \([^.]*\)\..*/\1/p')
	printf '%s starts=%s stop=%s errors=%s' "${name:--}" "$(grep -c '^event: message_start' "$1")" \
		"$(grep -c '^event: message_stop' "$1")" "$(grep -c '^event: error' "$1")"
}
CLEAN_B="b starts=1 stop=1 errors=0"

# ---- 1. both endpoints 529 with retry-after 1; a recovers after 1.5 s -------
for strategy in exponential_backoff immediate; do
	table "s1-$strategy" "queue:enabled: true" "queue:retry_strategy: $strategy"
	fresh "$T/s1-$strategy.bin"
	mock_fault a 'status=529&retry_after=1&for_ms=1500'
	mock_fault b 'status=529&retry_after=1'
	read -r code name ms <<<"$(timed_ask "$(body_json s1)")"
	diag "529 storm ($strategy queue): $code from $name after $ms ms; a saw $(mock_requests a | wc -l), b $(mock_requests b | wc -l)"
	assert_eq "529 storm, $strategy queue: 200 from a, the one that recovered" "200 a" "$code $name"
	assert_le "529 storm, $strategy queue: answered within ~2.5 s of the request (${ms} ms <= 3000)" "$ms" 3000
	assert_le "529 storm, $strategy queue: a was asked again after its 529s" 2 "$(mock_requests a | wc -l)"
done

# ---- 2. a rests on a 429 (retry-after 30), then b fails with 503 -----------
table s2
fresh "$T/s2.bin"
mock_fault a 'status=429&retry_after=30&count=1'
assert_eq "429 rest: the first request is served by b while a rests" "200 b" "$(ask "$(body_json s2a)")"
mock_fault b 'status=503'
read -r code name ms <<<"$(timed_ask "$(body_json s2b)")"
assert_eq "429 rest, b then fails with 503: a is probed and answers" "200 a" "$code $name"
assert_le "429 rest: the probe does not wait for the 30 s rest (${ms} ms <= 3000)" "$ms" 3000

# ---- 3. a hangs: four sequential requests, one timeout paid once -----------
table s3 "a:timeout: 3s"
fresh "$T/s3.bin"
mock_fault a hang
t0=$(now_ms)
served=""
for i in 1 2 3 4; do
	read -r code ms rc <<<"$(stream_to "$T/s3-$i.sse" "s3-$i")"
	served+="$code $(verdict "$T/s3-$i.sse");"
	diag "hang: request $i: $code after $ms ms"
done
total=$(($(now_ms) - t0))
assert_eq "hang: four sequential streams, all whole from b" \
	"200 $CLEAN_B;200 $CLEAN_B;200 $CLEAN_B;200 $CLEAN_B;" "$served"
assert_le "hang: four requests in one timeout (3 s) plus a few seconds (${total} ms <= 6000)" "$total" 6000
assert_le "hang: a was tried at most twice (once, and at most one half-open probe)" \
	"$(mock_requests a 'select(.path=="/v1/messages")' | wc -l)" 2

# ---- 4. a sends a 200 head and then nothing ---------------------------------
table s4 "a:timeout: 2s"
fresh "$T/s4.bin"
mock_fault a stall
read -r code ms rc <<<"$(stream_to "$T/s4.sse" s4)"
assert_eq "stall after head: the stream is served whole by b" "200 $CLEAN_B" "$code $(verdict "$T/s4.sse")"
assert_le "stall after head: within timeout (2 s) + 2.5 s (${ms} ms <= 4500)" "$ms" 4500
assert_eq "stall after head: a got the request (the fault was exercised)" "1" \
	"$(mock_requests a 'select(.path=="/v1/messages")' | wc -l)"

# ---- 5. a fails the stream before any content: error event / reset / close --
table s5 "a:timeout: 3s"
for fault in 'sse_error&after=1' 'sse_error&after=0' 'reset_mid_stream&after=1' \
	'reset_mid_stream&after=3' 'sse_error&after=3'; do
	fresh "$T/s5.bin"
	mock_fault a "$fault&count=1"
	read -r code ms rc <<<"$(stream_to "$T/s5.sse" s5)"
	assert_eq "$fault on a (before content): one clean stream from b" "200 $CLEAN_B" \
		"$code $(verdict "$T/s5.sse")"
	assert_le "$fault on a: served in under 2 s (${ms} ms)" "$ms" 2000
	assert_eq "$fault on a: curl saw a clean end (exit 0)" "0" "$rc"
	assert_eq "$fault on a: a was asked (the fault was exercised)" "1" \
		"$(mock_requests a 'select(.path=="/v1/messages")' | wc -l)"
done
# after content has been sent nothing may be retried: the client's stream errors
for fault in 'reset_mid_stream&after=8' 'sse_error&after=8'; do
	fresh "$T/s5.bin"
	mock_fault a "$fault&count=1"
	read -r code ms rc <<<"$(stream_to "$T/s5c.sse" s5c)"
	v=$(verdict "$T/s5c.sse")
	assert_eq "$fault on a (after content): the text is a's, with no message_stop" "a stop=0" \
		"$(awk '{print $1, $3}' <<<"$v")"
	if grep -q '^event: error' "$T/s5c.sse" || [ "$rc" != 0 ]; then
		ok "$fault on a (after content): the client's stream errors (error event or broken transfer)"
	else
		not_ok "$fault on a (after content): the client's stream errors" "a clean end: $v, curl exit $rc"
	fi
	assert_eq "$fault on a (after content): b was not asked" "0" \
		"$(mock_requests b 'select(.path=="/v1/messages")' | wc -l)"
done

# ---- 6. a answers 200 with an Anthropic error body -------------------------
table s6
fresh "$T/s6.bin"
mock_fault a 'error_body'
out=$(curl -sS -m "$ASK_TIMEOUT" -w '\n%{http_code}' "$(qcc_url)/v1/messages" -H 'x-api-key: c' \
	-d "$(body_json s6)" 2>/dev/null)
assert_eq "200 with an error body from a: the client gets b's real message" "200 message Hello from b." \
	"${out##*$'\n'} $(jq -r '.type + " " + (.content[0].text // "" | .[0:13])' <<<"${out%$'\n'*}" 2>/dev/null)"
assert_le "200 with an error body: a was asked" 1 "$(mock_requests a 'select(.path=="/v1/messages")' | wc -l)"
failed=$(curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://localhost/endpoints 2>/dev/null |
	jq -r '.endpoints[] | select(.id=="a") | .failed_requests')
assert_le "200 with an error body: charged to a (failed_requests >= 1)" 1 "${failed:-0}"

# ---- 7. idle recovery: the primary takes over again with no traffic ---------
# cfg2 OUT INTERVAL : a alone in the primary profile, b in the secondary
cfg2() {
	cat >"$1" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: true
  check: models
  check_interval: $2
  timeout: 1s
  retry_count: 0
queue:
  enabled: true
switching_policy:
  auto_switch: true
  auto_recovery: true
  switch_threshold: 1
  cooldown_period: 3s
profiles:
  - name: first
    priority: primary
    endpoints:
$(ep_yaml a "max_failures: 1")
  - name: second
    priority: secondary
    endpoints:
$(ep_yaml b)
YAML
	build_table "$1" "${1%.yaml}.bin" || bail_out "qccc build $1 failed: $(cat "$T/qccc.out")"
}
active_group() { Q status --json 2>/dev/null | jq -r '.routing.active_group // empty'; }
# wait_group GROUP TRIES : poll qccc status every 100 ms
wait_group() {
	local i
	for ((i = 0; i < $2; i++)); do
		[ "$(active_group)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

cfg2 "$T/s7.yaml" 1s
fresh "$T/s7.bin"
mock_fault a 'status=503'
r=""
for i in 1 2 3; do r+="$(ask "$(body_json "s7-$i")");"; done
assert_eq "idle recovery: while the primary fails, the secondary serves" "200 b;200 b;200 b;" "$r"
if ! wait_group secondary 50; then
	not_ok "idle recovery: the secondary group becomes active while the primary fails" \
		"status: $(Q status --json | jq -c .routing)"
fi
mock_fault a ok
t0=$(now_ms)
if wait_group primary 150; then
	ms=$(($(now_ms) - t0))
	diag "idle recovery: primary active again $ms ms after it recovered (cooldown 3 s, check interval 1 s)"
	assert_le "idle recovery: primary active again within cooldown + two check intervals (${ms} ms <= 5000 + 1500)" \
		"$ms" 6500
else
	not_ok "idle recovery: primary active again with no traffic" \
		"still $(active_group) 15 s after the primary recovered (cooldown 3 s, check interval 1 s)"
fi
assert_eq "idle recovery: the next request is served by the primary" "200 a" "$(ask "$(body_json s7-after)")"

# ---- 8. qccc endpoint enable brings the primary back within the cooldown ---
# Health checks every 60 s: the recovery clock must start at the command,
# not at the next check.
cfg2 "$T/s8.yaml" 60s
fresh "$T/s8.bin"
Q endpoint disable a --reason storms-test >/dev/null || bail_out "qccc endpoint disable failed"
assert_eq "enable: with a disabled, b serves" "200 b" "$(ask "$(body_json s8-0)")"
wait_group secondary 50 || not_ok "enable: the secondary group becomes active while a is disabled" \
	"status: $(Q status --json | jq -c .routing)"
t0=$(now_ms)
Q endpoint enable a >/dev/null || bail_out "qccc endpoint enable failed"
# no traffic first: the command alone must start the clock
if wait_group primary 60; then
	ms=$(($(now_ms) - t0))
	diag "enable: primary active again $ms ms after the command, no traffic (cooldown 3 s)"
	assert_le "enable: primary active within the cooldown of the command, no traffic (${ms} ms <= 3000 + 1000)" \
		"$ms" 4000
else
	not_ok "enable: primary active within the cooldown of the command, no traffic" \
		"still $(active_group) 6 s after 'qccc endpoint enable' (cooldown 3 s, next health check in 60 s)"
fi
first_a=""
for i in $(seq 40); do
	if [ "$(ask "$(body_json "s8-$i")")" = "200 a" ]; then
		first_a=$(($(now_ms) - t0))
		break
	fi
	sleep 0.25
done
if [ -n "$first_a" ]; then
	diag "enable: first request served by a $first_a ms after the command"
	assert_le "enable: requests go to the primary again within the cooldown (${first_a} ms <= 3000 + 1500)" \
		"$first_a" 4500
else
	not_ok "enable: requests go to the primary again within the cooldown" \
		"no request served by a in the 10+ s after 'qccc endpoint enable' (cooldown 3 s)"
fi

# ---- 9. a refuses the connection, b is good but slower than a's timeout ----
# queue off: a false 504 would reach the client instead of being retried
table s9 "a_url:http://127.0.0.1:$DEAD" "a:timeout: 1s" "b:timeout: 5s" "queue:enabled: false"
fresh "$T/s9.bin"
mock_fault b 'slow_head&delay_ms=1600'
read -r code name ms <<<"$(timed_ask "$(body_json s9)")"
assert_eq "refused then slower (non-streamed): 200 from b, not a false 504" "200 b" "$code $name"
mock_fault b 'slow_head&delay_ms=1600'
read -r code ms rc <<<"$(stream_to "$T/s9.sse" s9s)"
assert_eq "refused then slower (streamed): the whole stream from b, not a false 504" "200 $CLEAN_B" \
	"$code $(verdict "$T/s9.sse")"
assert_le "refused then slower: b's answer was waited for (${ms} ms >= 1600)" 1600 "$ms"
assert_eq "refused then slower: no 504 in the access log" "0" \
	"$(jq -s '[.[] | select(.status == 504)] | length' "$QCC_ACCESS_LOG" 2>/dev/null || echo x)"

# ---- 10. timeouts that match LLM traffic (new per-endpoint keys) ------------
# try_table NAME ARGS... : like table, but a config qccc rejects (a key it
# does not know yet) is one failed test and the scenario is skipped
try_table() {
	local name=$1
	shift
	cfg "$T/$name.yaml" "$@"
	if build_table "$T/$name.yaml" "$T/$name.bin"; then
		return 0
	fi
	not_ok "config with $name's timeout keys is accepted by qccc" "$(head -c 400 "$T/qccc.out")"
	return 1
}

# a stalls inside a stream after content: broken after stream_idle_timeout
if try_table s10 "a:stream_idle_timeout: 2s"; then
	fresh "$T/s10.bin"
	mock_fault a 'stall&after=8'
	read -r code ms rc <<<"$(stream_to "$T/s10.sse" s10)"
	v=$(verdict "$T/s10.sse")
	assert_eq "stream_idle_timeout 2s, a silent after content: a's text, an error event, no message_stop" \
		"a stop=0 errors=1" "$(awk '{print $1, $3, $4}' <<<"$v")"
	assert_le "stream_idle_timeout: broken after >= 2 s (${ms} ms)" 1900 "$ms"
	assert_le "stream_idle_timeout: broken within 2 s + 2.5 s (${ms} ms)" "$ms" 4500
fi
# a sends the head of a non-streamed answer, then nothing: request_timeout
if try_table s11 "a:request_timeout: 2s"; then
	fresh "$T/s11.bin"
	mock_fault a stall
	read -r code name ms <<<"$(timed_ask "$(body_json s11)")"
	assert_eq "request_timeout 2s, a stalls a non-streamed answer after its head: b answers" "200 b" "$code $name"
	assert_le "request_timeout: within 2 s + 2.5 s (${ms} ms)" "$ms" 4500
fi
# a long non-streamed answer is not cut at `timeout` (request_timeout governs)
table s12 "a:timeout: 1s"
fresh "$T/s12.bin"
mock_fault a 'slow&delay_ms=2500'
read -r code name ms <<<"$(timed_ask "$(body_json s12)")"
assert_eq "non-streamed answer taking 2.5 s with timeout 1s: served by a, not cut at 1 s" "200 a" "$code $name"
assert_le "non-streamed 2.5 s answer: waited for (${ms} ms >= 2500)" 2500 "$ms"

stop_qcc
done_testing
