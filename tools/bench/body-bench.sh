#!/usr/bin/env bash
# body-bench.sh: qcc-run's cost per request as the request body grows, for
# bodies shaped like Claude Code's (tools/bench/ccbody.py).
#
#   tools/bench/body-bench.sh [--build DIR] [--sizes "1k 50k 500k 1m"]
#                             [--requests N] [--policy map|sticky|plain] [--out FILE]
#                             [--keep DIR] [--nested-model]
#
# For each size, qcc-run runs under callgrind twice: "base" gets a probe and
# 2 requests of that body, "full" the same plus N more; instructions/request =
# (full - base) / N (startup, warm-up and shutdown cancel out). Then, without
# valgrind, N requests of each size give the time of the whole exchange
# through qcc-run and direct to the mock (median; wall clock, so only as
# quiet as the machine).
# --policy map (default): sticky_session on and a model map on the endpoint,
# so every request is scanned and its model rewritten (the worst case);
# sticky: sticky_session on, no map (the model, for usage, and the session
# key are read from the body's front and back); plain: neither, so the body
# is only copied and read for usage's model.
# --nested-model: bodies whose history and tools hold nested "model" keys
# (ccbody.py --nested-model: Task calls naming a model).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)

build="$root/build"
sizes="1k 50k 500k 1m"
requests=20
policy=map
out=""
keep=""
nested=()
die() { echo "body-bench: $*" >&2; exit 2; }
say() { echo "body-bench: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --build) [ $# -ge 2 ] || die "--build needs a directory"; build=$2; shift ;;
    --sizes) [ $# -ge 2 ] || die "--sizes needs a list"; sizes=$2; shift ;;
    --requests) [ $# -ge 2 ] || die "--requests needs a number"; requests=$2; shift ;;
    --policy) [ $# -ge 2 ] || die "--policy needs map, sticky or plain"; policy=$2; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a file"; out=$2; shift ;;
    --keep) [ $# -ge 2 ] || die "--keep needs a directory"; keep=$2; shift ;;
    --nested-model) nested=(--nested-model) ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done
case "$requests" in ''|*[!0-9]*) die "--requests must be a whole number" ;; esac
[ "$requests" -ge 1 ] && [ "$requests" -le 1000 ] || die "--requests must be 1..1000"
case "$policy" in map|sticky|plain) ;; *) die "--policy must be map, sticky or plain" ;; esac
build=$(cd "$build" 2>/dev/null && pwd) || die "build directory not found"
mock="$build/tools/mock-upstream/mock-upstream"
qccc="$build/compiler/qccc"
qccrun="$build/runtime/qcc-run"
for x in "$mock" "$qccc" "$qccrun"; do [ -x "$x" ] || die "$x not built"; done
for c in valgrind curl jq python3 timeout; do command -v "$c" >/dev/null || die "$c is needed"; done

pin_gen=() pin_proxy=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_proxy=(taskset -c 0)
  pin_gen=(taskset -c 1)
fi

tmp=$(mktemp -d /tmp/qcc-body-bench.XXXXXX)
declare -a started=()
cleanup() {
  local p
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

events=7
start_mock body-bench

qcc_bench_yaml "$tmp/qcc.yaml" "$mock_port" 9
if [ "$policy" = map ]; then
  cat >> "$tmp/qcc.yaml" <<YAML
        models:
          claude-sonnet-4-5: mock-model
loadbalancer:
  sticky_session: true
YAML
elif [ "$policy" = sticky ]; then
  cat >> "$tmp/qcc.yaml" <<YAML
loadbalancer:
  sticky_session: true
YAML
fi
"$qccc" build -c "$tmp/qcc.yaml" -o "$tmp/table.bin" >"$tmp/qccc.out" 2>&1 \
  || die "qccc build failed: $(last_lines "$tmp/qccc.out")"

for s in $sizes; do python3 "$here/ccbody.py" "$s" "$tmp/body-$s.json" "${nested[@]}"; done

# N requests of FILE on one keep-alive connection; prints each one's total
# time (curl's time_starttransfer is taken when an upload starts, so the
# whole exchange with a 7-event answer stands in for the first byte).
send() { # PORT FILE N
  local i
  {
    echo 'silent'
    echo "data-binary = \"@$2\""
    echo 'header = "content-type: application/json"'
    echo 'header = "x-api-key: bench-client"'
    echo 'header = "anthropic-version: 2023-06-01"'
    echo 'header = "Expect:"'
    echo 'write-out = "%{http_code} %{time_total}\n"'
    for i in $(seq 1 "$3"); do
      echo "url = \"http://127.0.0.1:$1/v1/messages\""
      echo 'output = "/dev/null"'
    done
  } > "$tmp/curl.cfg"
  timeout -k 5 300 "${pin_gen[@]}" curl -K "$tmp/curl.cfg" > "$tmp/curl.out" \
    || die "curl failed: $(last_lines "$tmp/curl.out")"
  local bad
  bad=$(awk '$1 != 200' "$tmp/curl.out" | head -1)
  [ -z "$bad" ] || die "a request failed: $bad"
  awk '{print $2}' "$tmp/curl.out"
}

start_qcc() { # PORT LOG [valgrind args...]
  local port=$1 log=$2
  shift 2
  rm -rf "$tmp/state" && mkdir -p "$tmp/state"
  "${pin_proxy[@]}" env QCC_BENCH_UPSTREAM_KEY=bench-upstream "$@" "$qccrun" \
    --state-dir "$tmp/state" --listen "127.0.0.1:$port" "$tmp/table.bin" >"$log" 2>&1 &
  run_pid=$!
  started+=("$run_pid")
  local until=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$until" ]; do
    kill -0 "$run_pid" 2>/dev/null || die "qcc-run exited: $(last_lines "$log")"
    probe "$port" && return 0
    sleep 0.2
  done
  die "qcc-run did not forward a probe within 60 s: $(last_lines "$log")"
}

stop_qcc() {
  kill -TERM "$run_pid" 2>/dev/null || true
  local i
  for i in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$run_pid" 2>/dev/null && die "qcc-run did not exit on SIGTERM"
  wait "$run_pid" 2>/dev/null || true
}

total_ir() { # callgrind file -> total instructions
  awk '/^(summary|totals):/ {print $2; exit}' "$1"
}

results="$tmp/results.jsonl"
: > "$results"
for s in $sizes; do
  body="$tmp/body-$s.json"
  bytes=$(stat -c %s "$body")
  declare -A ir=()
  for phase in base full; do
    port=$(free_port)
    cg="$tmp/cg-$s-$phase.out"
    start_qcc "$port" "$tmp/qcc-$s-$phase.log" valgrind --tool=callgrind "--callgrind-out-file=$cg"
    send "$port" "$body" 2 >/dev/null
    [ "$phase" = base ] || send "$port" "$body" "$requests" >/dev/null
    stop_qcc
    ir[$phase]=$(total_ir "$cg")
    [ -z "$keep" ] || { mkdir -p "$keep" && cp "$cg" "$keep/"; }
    [ -n "${ir[$phase]}" ] || die "no callgrind total in $cg"
  done
  per=$(( (ir[full] - ir[base]) / requests ))
  port=$(free_port)
  start_qcc "$port" "$tmp/qcc-$s-ttfb.log"
  send "$port" "$body" 5 >/dev/null
  ttfb=$(send "$port" "$body" "$requests" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  stop_qcc
  direct=$(send "$mock_port" "$body" "$requests" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  say "$(printf '%-5s %8d bytes  %10d instructions/request  total p50 %.3f ms (direct %.3f ms)' \
    "$s" "$bytes" "$per" "$(awk -v t="$ttfb" 'BEGIN{print t*1000}')" \
    "$(awk -v t="$direct" 'BEGIN{print t*1000}')")"
  jq -cn --arg size "$s" --argjson bytes "$bytes" --argjson ir "$per" \
    --argjson ttfb "$ttfb" --argjson direct "$direct" \
    '{size: $size, bytes: $bytes, instructions_per_request: $ir,
      total_p50_ms: ($ttfb * 1000), direct_total_p50_ms: ($direct * 1000)}' >> "$results"
  unset ir
done
report=$(jq -cs --arg policy "$policy" --argjson n "$requests" --arg date "$(date -u +%FT%TZ)" \
  --arg qcc "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" \
  '{date: $date, commit: $qcc, policy: $policy, requests: $n, sizes: .}' "$results")
if [ -n "$out" ]; then echo "$report" | jq . > "$out"; else echo "$report" | jq .; fi
