#!/bin/bash
# storm-bench: what a client sees, and how much time a fault on one upstream
# adds, for each fault kind of issue 11. Two mock upstreams a and b behind
# qcc-run (failover strategy: a first, timeout 3 s; health checks off, queue
# on); for each kind a fresh qcc-run, the fault on a, then N sequential
# streamed requests (non-streamed for the 200-with-error-body kind). The
# added time is each request's time minus the healthy run's median.
#
#   tools/bench/storm-bench.sh [--build DIR] [--requests N] [--kinds "k1 k2"] [--out FILE]
#
# Kinds: 529 429 503 hang stall sse_error reset_early reset_late error_body
# refused. Prints a markdown table (also to --out). Loopback only; every
# process it starts is stopped.
set -u
set -o pipefail

build=build
n=20
kinds="529 429 503 hang stall sse_error reset_early reset_late error_body refused"
out=""
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--requests) n=$2; shift 2 ;;
	--kinds) kinds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "storm-bench: unknown option $1" >&2; exit 2 ;;
	esac
done
mock=$build/tools/mock-upstream/mock-upstream
qccc=$build/compiler/qccc
qcc=$build/runtime/qcc-run
for b in "$mock" "$qccc" "$qcc"; do
	[ -x "$b" ] || { echo "storm-bench: missing $b (ninja -C $build)" >&2; exit 2; }
done
for c in curl jq python3; do
	command -v "$c" >/dev/null || { echo "storm-bench: needs $c" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/storm-bench.XXXXXX")
pids=()
qpid=""
cleanup() {
	local p
	if [ -n "$qpid" ]; then kill -TERM "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; fi
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "storm-bench: $*" >&2; exit 1; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Not in $(...): the pid must reach pids[] in this shell, for cleanup.
start_mock() { # NAME -> $tmp/NAME.port
	"$mock" --listen 127.0.0.1:0 --name "$1" --port-file "$tmp/$1.port" --events 12 \
		>"$tmp/$1.out" 2>&1 &
	pids+=($!)
	local i
	for i in $(seq 100); do [ -s "$tmp/$1.port" ] && break; sleep 0.05; done
	[ -s "$tmp/$1.port" ] || die "mock $1 did not start"
}
start_mock a
start_mock b
pa=$(cat "$tmp/a.port")
pb=$(cat "$tmp/b.port")
dead=$(free_port)
export STORM_KEY_A=sk-storm-a STORM_KEY_B=sk-storm-b
fault() { # NAME SPEC
	local p=$pa
	[ "$1" = b ] && p=$pb
	curl -sf -m 5 -o /dev/null --data-raw "$2" "http://127.0.0.1:$p/_control/fault" || die "fault $2"
}

table() { # OUT A_URL
	local port=$3
	cat >"$1.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $port
  access_log: false
  log_level: warning
health:
  enabled: false
queue:
  enabled: true
loadbalancer:
  strategy: failover
profiles:
  - name: main
    endpoints:
      - id: a
        base_url: $2
        api_key_env: STORM_KEY_A
        priority: 1
        timeout: 3s
      - id: b
        base_url: http://127.0.0.1:$pb
        api_key_env: STORM_KEY_B
        priority: 2
YAML
	"$qccc" build -c "$1.yaml" -o "$1.bin" >"$tmp/qccc.out" 2>&1 || die "qccc build: $(cat "$tmp/qccc.out")"
}

start_qcc() { # TABLE PORT
	rm -rf "$tmp/state"
	mkdir -p "$tmp/state"
	"$qcc" --state-dir "$tmp/state" --listen "127.0.0.1:$2" "$1" >"$tmp/qcc.out" 2>&1 &
	qpid=$!
	local i
	for i in $(seq 100); do
		curl -sf -m 1 -o /dev/null "http://127.0.0.1:$2/healthz" && return 0
		kill -0 "$qpid" 2>/dev/null || die "qcc-run exited: $(tail -3 "$tmp/qcc.out")"
		sleep 0.1
	done
	die "qcc-run not ready"
}
stop_qcc() {
	kill -TERM "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=""
}

# one PORT STREAM -> "OUTCOME MS": OUTCOME is clean-NAME (a whole answer
# naming its upstream), broken-NAME (a stream without message_stop, or with an
# error event), or HTTP-CODE
one() {
	local body w code rc f=$tmp/resp name ms
	if [ "$2" = 1 ]; then
		body='{"model":"m","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
	else
		body='{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'
	fi
	# curl's own clock: the request, not the process start-up
	w=$(curl -sS -N -m 60 -o "$f" -w '%{http_code} %{time_total}' -H 'x-api-key: c' -d "$body" \
		"http://127.0.0.1:$1/v1/messages" 2>/dev/null)
	rc=$?
	code=${w%% *}
	ms=$(awk '{printf "%.1f", $2 * 1000}' <<<"$w")
	if [ "$2" = 1 ]; then
		name=$(grep '^data: ' "$f" | cut -c7- | jq -rj 'select(.type=="content_block_delta") | .delta.text' 2>/dev/null |
			sed -n 's/^Hello from \([^.]*\)\..*/\1/p')
		if [ "$code" = 200 ] && [ "$rc" = 0 ] && grep -q '^event: message_stop' "$f" &&
			! grep -q '^event: error' "$f" && [ "$(grep -c '^event: message_start' "$f")" = 1 ]; then
			echo "clean-${name:-?} $ms"
		elif [ "$code" = 200 ]; then
			echo "broken-${name:-?} $ms"
		else
			echo "HTTP-${code:-000} $ms"
		fi
	else
		name=$(jq -r '.content[0].text // empty' "$f" 2>/dev/null | sed -n 's/^Hello from \([^.]*\)\..*/\1/p')
		if [ "$code" = 200 ] && [ -n "$name" ]; then echo "clean-$name $ms"; else echo "HTTP-${code:-000} $ms"; fi
	fi
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print 0; else print v[int((NR+1)/2)]}'; }
maxof() { sort -g | tail -1; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; }

# run KIND -> lines "OUTCOME MS" in $tmp/KIND.res
run() {
	local kind=$1 spec="" stream=1 a_url="http://127.0.0.1:$pa" port
	case $kind in
	healthy) spec=ok ;;
	529) spec='status=529&retry_after=1' ;;
	429) spec='status=429&retry_after=30' ;;
	503) spec='status=503' ;;
	hang) spec=hang ;;
	stall) spec=stall ;;
	sse_error) spec='sse_error&after=1' ;;
	reset_early) spec='reset_mid_stream&after=1' ;;
	reset_late) spec='reset_mid_stream&after=8' ;;
	error_body) spec=error_body; stream=0 ;;
	refused) spec=ok; a_url="http://127.0.0.1:$dead" ;;
	*) die "unknown kind $kind" ;;
	esac
	port=$(free_port)
	table "$tmp/$kind" "$a_url" "$port"
	fault a ok
	fault b ok
	start_qcc "$tmp/$kind.bin" "$port"
	fault a "$spec"
	: >"$tmp/$kind.res"
	local i
	for i in $(seq "$n"); do one "$port" "$stream" >>"$tmp/$kind.res"; done
	stop_qcc
	fault a ok
}

run healthy
base=$(awk '{print $2}' "$tmp/healthy.res" | median)
report=$tmp/report.md
{
	echo "storm-bench: $n sequential requests per kind through qcc-run; fault on a (tried first,"
	echo "timeout 3 s), b healthy; added = request time - healthy median ($base ms)."
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "| fault on a | client saw | median ms | max ms | added median ms | added max ms |"
	echo "|---|---|---|---|---|---|"
	seen=$(awk '{print $1}' "$tmp/healthy.res" | sort | uniq -c | awk '{printf "%s%d x %s", (NR>1?", ":""), $1, $2}')
	echo "| (healthy) | $seen | $base | $(awk '{print $2}' "$tmp/healthy.res" | maxof) | 0 | 0 |"
} >"$report"
cat "$report"
for kind in $kinds; do
	run "$kind"
	med=$(awk '{print $2}' "$tmp/$kind.res" | median)
	mx=$(awk '{print $2}' "$tmp/$kind.res" | maxof)
	seen=$(awk '{print $1}' "$tmp/$kind.res" | sort | uniq -c | awk '{printf "%s%d x %s", (NR>1?", ":""), $1, $2}')
	line="| $kind | $seen | $med | $mx | $(minus "$med" "$base") | $(minus "$mx" "$base") |"
	echo "$line" | tee -a "$report"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$report"
[ -n "$out" ] && cp "$report" "$out"
exit 0
