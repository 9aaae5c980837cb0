#!/usr/bin/env bash
# workload-bench.sh: two of issue 12's targets on the real workload, qcc-run
# beside HAProxy, nginx and no proxy ("direct") in the same run:
#
#   body500k   one keep-alive connection sending a Claude-Code-shaped body
#              (tools/bench/ccbody.py, ~500 KB, stream: true) to a fast mock;
#              time to first byte (from the first byte written, so the upload
#              is in it) and the proxy's CPU per request. qcc-run twice:
#              "qcc" forwards the body as it is, "qcc-map" has sticky_session
#              on and a model map on the endpoint (every body scanned, its
#              model spliced), "qcc-sticky" sticky_session on without a map
#              (model and session key read from the body's front and back,
#              runtime/jsonscan.h). Targets: p50 <= direct + 0.3 ms; CPU/request
#              <= 1.3x HAProxy's.
#   streams1k  1000 connections each holding one paced ~1 s stream (56
#              events, 18 ms apart) at once; time to the first complete
#              event. Target: p99 <= 2x direct's, no stream slowed (longer
#              than the pace + 250 ms). Also the time to the first
#              content_block_delta (the first token): qcc-run holds the
#              events before it (to fail over unseen), so its first event
#              is that one, ~54 ms after direct's message_start here.
#
# Every round runs each target once per case, in an order rotated by round
# (so none always goes first); the table gives the median and range over
# rounds of each round's figure. CPU is utime + stime of the proxy's
# processes from /proc (10 ms ticks) over the responses completed. Proxies on
# core 0, the mock and the load generator on core 1.
#
# --instr adds instructions per request for body500k (valgrind callgrind,
# instrumentation switched on after the warm-up with callgrind_control, so
# start-up and connection set-up are not in it): qcc, qcc-map, qcc-sticky,
# haproxy.
#
#   tools/bench/workload-bench.sh [--build DIR] [--rounds R] [--requests N]
#       [--size 500k] [--cases "body500k streams1k"] [--instr] [--out FILE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)
build=$root/build rounds=3 requests=300 size=500k cases="body500k streams1k" instr=0 out=""
die() { echo "workload-bench: $*" >&2; exit 2; }
say() { echo "workload-bench: $*" >&2; }
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --instr) instr=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done
case "$rounds$requests" in *[!0-9]*) die "--rounds and --requests are whole numbers" ;; esac
build=$(cd "$build" && pwd) || die "build directory not found"
loadgen=$build/tools/bench/loadgen mock=$build/tools/mock-upstream/mock-upstream
qccc=$build/compiler/qccc qccrun=$build/runtime/qcc-run
for b in "$loadgen" "$mock" "$qccc" "$qccrun"; do [ -x "$b" ] || die "$b not built"; done
for c in haproxy nginx jq taskset python3 curl; do command -v "$c" >/dev/null || die "$c is needed"; done
[ "$instr" = 0 ] || command -v valgrind >/dev/null || die "--instr needs valgrind"
proxy_cpu=0 gen_cpu=1
[ "$(nproc)" -ge 2 ] || { gen_cpu=0; say "one core only: ratios mean little"; }
pin_gen=(taskset -c "$gen_cpu")
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d /tmp/qcc-workload-bench.XXXXXX)
chmod 755 "$tmp" # nginx workers may run as another user
started=()
cleanup() {
  local p
  for p in "${started[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/ccbody.py" "$size" "$tmp/body.json"
bytes=$(stat -c %s "$tmp/body.json")

declare -A tpid=()
start_qcc() { # NAME UPSTREAM_PORT MAP(0|1|2: sticky only) [valgrind args...]
  local name=$1 up=$2 map=$3 port
  shift 3
  port=$(free_port)
  qcc_bench_yaml "$tmp/$name.yaml" "$up" "$port"
  if [ "$map" = 1 ]; then
    cat >>"$tmp/$name.yaml" <<YAML
        models:
          claude-sonnet-4-5: mock-model
loadbalancer:
  sticky_session: true
YAML
  elif [ "$map" = 2 ]; then
    cat >>"$tmp/$name.yaml" <<YAML
loadbalancer:
  sticky_session: true
YAML
  fi
  "$qccc" build -c "$tmp/$name.yaml" -o "$tmp/$name.bin" >"$tmp/$name.qccc" 2>&1 \
    || die "qccc: $(last_lines "$tmp/$name.qccc")"
  rm -rf "$tmp/$name.state" && mkdir -p "$tmp/$name.state"
  QCC_BENCH_UPSTREAM_KEY=bench-upstream taskset -c "$proxy_cpu" "$@" "$qccrun" \
    --state-dir "$tmp/$name.state" "$tmp/$name.bin" >"$tmp/$name.out" 2>&1 &
  tpid[$name]=$!
  started+=("${tpid[$name]}")
  tport[$name]=$port
}
start_haproxy() { # UPSTREAM_PORT [valgrind args...]
  local up=$1
  shift
  tport[haproxy]=$(free_port)
  render "$here/haproxy.cfg.in" "$tmp/haproxy.cfg" "${tport[haproxy]}" "$up"
  taskset -c "$proxy_cpu" "$@" haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>&1 &
  tpid[haproxy]=$!
  started+=("${tpid[haproxy]}")
}
start_nginx() { # UPSTREAM_PORT
  tport[nginx]=$(free_port)
  render "$here/nginx.conf.in" "$tmp/nginx.conf" "${tport[nginx]}" "$1"
  # a 500 KB body: stream it upstream as it comes (nginx's default spools
  # it to a temp file first) and accept it (default limit 1 MB)
  sed -i 's/proxy_buffering off;/proxy_buffering off; proxy_request_buffering off; client_max_body_size 64m;/' \
    "$tmp/nginx.conf"
  taskset -c "$proxy_cpu" nginx -p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf" \
    >"$tmp/nginx.out" 2>&1 &
  tpid[nginx]=$!
  started+=("${tpid[nginx]}")
}
wait_ready() { # NAME
  local until=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$until" ]; do
    kill -0 "${tpid[$1]}" 2>/dev/null || die "$1 exited: $(last_lines "$tmp/$1.out" "$tmp/nginx-error.log")"
    probe "${tport[$1]}" && return 0
    sleep 0.2
  done
  die "$1 did not forward a probe within 60 s: $(last_lines "$tmp/$1.out")"
}
stop_target() { # NAME
  local p=${tpid[$1]}
  case $1 in haproxy) kill -USR1 "$p" 2>/dev/null || true ;; nginx) kill -QUIT "$p" 2>/dev/null || true ;;
    *) kill -TERM "$p" 2>/dev/null || true ;; esac
  local i
  for i in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
# utime + stime of PID and its children (nginx's worker), in ticks
ticks() { # PID
  local p s=0 t
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
    s=$((s + ${t:-0}))
  done
  echo "$s"
}

runs=$tmp/runs.jsonl
: >"$runs"
declare -A tport=()
measure() { # ROUND CASE TARGET LOADGEN_ARGS...
  local r=$1 c=$2 t=$3 port c0=0 c1=0 res
  shift 3
  port=${tport[$t]:-$direct_port}
  [ "$t" = direct ] || c0=$(ticks "${tpid[$t]}")
  res=$("${pin_gen[@]}" "$loadgen" --port "$port" --label "$t" "$@" 2>"$tmp/loadgen.err") \
    || res='{"ok_total":0,"error_total":-1}'
  [ "$t" = direct ] || c1=$(ticks "${tpid[$t]}")
  jq -c --argjson r "$r" --arg c "$c" --arg t "$t" --argjson ticks "$((c1 - c0))" --argjson hz "$hz" \
    '{round: $r, case: $c, target: $t, ok: (.ok_total // 0), errors: (.error_total // 0),
      ttfb_p50_us: (.ttfb_us.p50 // null), ttfb_p99_us: (.ttfb_us.p99 // null),
      first_event_p50_us: (.first_event_us.p50 // null), first_event_p99_us: (.first_event_us.p99 // null),
      first_delta_p99_us: (.first_delta_us.p99 // null),
      slowed: (.slowed // null),
      cpu_us_per_req: (if $c == "direct" or (.ok_total // 0) == 0 then null
                       else ($ticks * 1000000 / $hz / .ok_total) end)}
     | if .target == "direct" then .cpu_us_per_req = null else . end' <<<"$res" >>"$runs"
  say "round $r $c $t: $(tail -1 "$runs" | jq -r '"\(.ok) ok, \(.errors) errors, ttfb p50 \(.ttfb_p50_us // 0 | round) us, 1st-ev p99 \(.first_event_p99_us // 0 | round) us, 1st-delta p99 \(.first_delta_p99_us // 0 | round) us, cpu \(.cpu_us_per_req // 0 | round) us/req"')"
}
rotate() { # ROUND WORDS... -> the words rotated by ROUND
  local r=$1
  shift
  local a=("$@") n=$# i
  for ((i = 0; i < n; i++)); do printf '%s ' "${a[$(((i + r) % n))]}"; done
}

events=7
for c in $cases; do
  case $c in
    body500k)
      events=7
      start_mock wl-fast
      direct_port=$mock_port
      start_qcc qcc "$mock_port" 0
      start_qcc qcc-map "$mock_port" 1
      start_qcc qcc-sticky "$mock_port" 2
      start_haproxy "$mock_port"
      start_nginx "$mock_port"
      for t in qcc qcc-map qcc-sticky haproxy nginx; do wait_ready "$t"; done
      args=(-c 1 -n "$requests" --body-file "$tmp/body.json" --timeout 30)
      for t in direct qcc qcc-map qcc-sticky haproxy nginx; do # warm-up: connections, pools, page cache
        measure 0 warmup "$t" -c 1 -n 20 --body-file "$tmp/body.json" >/dev/null 2>&1
      done
      for r in $(seq 1 "$rounds"); do
        for t in $(rotate "$r" direct qcc qcc-map qcc-sticky haproxy nginx); do measure "$r" body500k "$t" "${args[@]}"; done
      done
      for t in qcc qcc-map qcc-sticky haproxy nginx; do stop_target "$t"; done
      ;;
    streams1k)
      events=56
      start_mock wl-paced --event-delay-ms 18
      direct_port=$mock_port
      start_qcc qcc "$mock_port" 0
      start_haproxy "$mock_port"
      start_nginx "$mock_port"
      for t in qcc haproxy nginx; do wait_ready "$t"; done
      args=(-c 1000 -n 1000 --stream --paced-ms 990 --slow-tolerance-ms 250 --timeout 15)
      # one unrecorded pass per target first: the first 1000-stream burst
      # after start-up (upstream connections, the mock's first accepts)
      # slowed whichever target ran first, HAProxy and qcc-run alike
      for t in direct qcc haproxy nginx; do measure 0 warmup "$t" "${args[@]}" >/dev/null 2>&1; done
      for r in $(seq 1 "$rounds"); do
        for t in $(rotate "$r" direct qcc haproxy nginx); do measure "$r" streams1k "$t" "${args[@]}"; done
      done
      for t in qcc haproxy nginx; do stop_target "$t"; done
      ;;
    *) die "unknown case $c" ;;
  esac
done

# ---- instructions per request (callgrind), body500k ----
instr_json='{}'
if [ "$instr" = 1 ]; then
  events=7
  start_mock wl-instr
  for t in qcc qcc-map qcc-sticky haproxy; do
    cg=$tmp/cg-$t.out
    vg=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$cg")
    case $t in
      qcc) start_qcc qcc "$mock_port" 0 "${vg[@]}" ;;
      qcc-map) start_qcc qcc-map "$mock_port" 1 "${vg[@]}" ;;
      qcc-sticky) start_qcc qcc-sticky "$mock_port" 2 "${vg[@]}" ;;
      haproxy) start_haproxy "$mock_port" "${vg[@]}" ;;
    esac
    wait_ready "$t"
    "${pin_gen[@]}" "$loadgen" --port "${tport[$t]}" -c 1 -n 10 --body-file "$tmp/body.json" --timeout 60 >/dev/null
    callgrind_control -i on "${tpid[$t]}" >/dev/null
    res=$("${pin_gen[@]}" "$loadgen" --port "${tport[$t]}" -c 1 -n 50 --body-file "$tmp/body.json" --timeout 60)
    callgrind_control -i off "${tpid[$t]}" >/dev/null
    stop_target "$t"
    ok=$(jq '.ok_total' <<<"$res")
    total=$(awk '/^totals:/ {print $2; exit}' "$cg") # summary: is 0 once instrumentation is off
    [ "$ok" = 50 ] && [ -n "$total" ] || die "callgrind run of $t failed ($ok ok)"
    instr_json=$(jq -c --arg t "$t" --argjson v "$((total / 50))" '. + {($t): $v}' <<<"$instr_json")
    say "instructions per request, body500k, $t: $((total / 50))"
  done
fi

say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
result=$(jq -s --arg date "$(date -u +%FT%TZ)" --argjson rounds "$rounds" --argjson requests "$requests" \
  --argjson bytes "$bytes" --argjson instr "$instr_json" \
  --arg commit "$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)" '
  def med: sort | if length == 0 then null else .[(length / 2 | floor)] end;
  def stat(f): [.[] | f | select(. != null)] | {median: med, min: min, max: max};
  map(select(.round > 0))
  | {meta: {date: $date, commit: $commit, rounds: $rounds, body_requests: $requests, body_bytes: $bytes,
            loadavg: "'"$(cut -d' ' -f1-3 /proc/loadavg)"'"},
     summary: (group_by(.case) | map({key: .[0].case, value: (group_by(.target) | map({key: .[0].target,
       value: {ttfb_p50_us: stat(.ttfb_p50_us), first_event_p99_us: stat(.first_event_p99_us),
               first_delta_p99_us: stat(.first_delta_p99_us), cpu_us_per_req: stat(.cpu_us_per_req), ok: ([.[].ok] | add), errors: ([.[].errors] | add),
               slowed: ([.[].slowed | select(. != null)] | add)}}) | from_entries)}) | from_entries),
     instructions_per_request: $instr,
     runs: .}
  | .targets = ({
      body500k_first_byte_minus_direct_us: ((.summary.body500k // {}) as $s | $s
        | with_entries(select(.key != "direct")) | map_values(.ttfb_p50_us.median - $s.direct.ttfb_p50_us.median)),
      body500k_cpu_ratio_to_haproxy: ((.summary.body500k // {}) as $s | $s
        | with_entries(select(.key != "direct" and .key != "haproxy"))
        | map_values(if $s.haproxy.cpu_us_per_req.median then (.cpu_us_per_req.median / $s.haproxy.cpu_us_per_req.median * 100 | round / 100) else null end)),
      streams1k_first_event_p99_ratio_to_direct: ((.summary.streams1k // {}) as $s | $s
        | with_entries(select(.key != "direct"))
        | map_values(if $s.direct.first_event_p99_us.median then (.first_event_p99_us.median / $s.direct.first_event_p99_us.median * 100 | round / 100) else null end)),
      streams1k_first_delta_p99_ratio_to_direct: ((.summary.streams1k // {}) as $s | $s
        | with_entries(select(.key != "direct"))
        | map_values(if $s.direct.first_delta_p99_us.median then (.first_delta_p99_us.median / $s.direct.first_delta_p99_us.median * 100 | round / 100) else null end)),
      streams1k_slowed: ((.summary.streams1k // {}) | map_values(.slowed))})' "$runs")
jq -r '.summary | to_entries[] | .key as $c | .value | to_entries[] |
  "\($c)\t\(.key)\tttfb p50 \(.value.ttfb_p50_us.median // "-") us [\(.value.ttfb_p50_us.min // "-")..\(.value.ttfb_p50_us.max // "-")]\t1st-ev p99 \(.value.first_event_p99_us.median // "-") us [\(.value.first_event_p99_us.min // "-")..\(.value.first_event_p99_us.max // "-")]\t1st-delta p99 \(.value.first_delta_p99_us.median // "-") us\tcpu \(.value.cpu_us_per_req.median // "-") us/req [\(.value.cpu_us_per_req.min // "-")..\(.value.cpu_us_per_req.max // "-")]\terrors \(.value.errors) slowed \(.value.slowed // "-")"' <<<"$result"
jq -c '.targets, .instructions_per_request' <<<"$result"
[ -z "$out" ] || echo "$result" >"$out"
