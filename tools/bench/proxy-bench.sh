#!/usr/bin/env bash
# proxy-bench.sh: qcc-run beside nginx and HAProxy (and no proxy at all),
# forwarding to the same mock upstream in the same run.
#
#   tools/bench/proxy-bench.sh [--quick | --smoke] [--out FILE] [--build DIR]
#                              [--rounds N] [--duration SEC] [--targets "direct qcc nginx haproxy"]
#
# --smoke is the test suite's check of the bench itself (seconds, few cases):
# it fails when a target that ran had errors or a short SSE stream.
#
# Each proxy is pinned to core 0; the mock upstream and the load generator to
# core 1. Targets are interleaved inside every case and the whole set is
# repeated (3 rounds, 1 with --quick); the table shows medians over rounds.
# See tools/bench/README.md for what is measured and how to read it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)

quick=0
smoke=0
out=""
build="$root/build"
rounds=""
duration=""
targets="direct qcc nginx haproxy"

die() { echo "proxy-bench: $*" >&2; exit 2; }
say() { echo "proxy-bench: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --smoke) smoke=1 ;;
    --out) [ $# -ge 2 ] || die "--out needs a file"; out=$2; shift ;;
    --build) [ $# -ge 2 ] || die "--build needs a directory"; build=$2; shift ;;
    --rounds) [ $# -ge 2 ] || die "--rounds needs a number"; rounds=$2; shift ;;
    --duration) [ $# -ge 2 ] || die "--duration needs seconds"; duration=$2; shift ;;
    --targets) [ $# -ge 2 ] || die "--targets needs a list"; targets=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done

# Bounded: --smoke takes seconds, --quick stays under 2 minutes, a full run under 15.
conc_list="1 16 100 1000"
stream_conns=1000
if [ "$smoke" = 1 ]; then
  : "${rounds:=1}" "${duration:=0.3}"
  warmup=0.1
  stream_waves=1
  conc_list="16"
  stream_conns=50
elif [ "$quick" = 1 ]; then
  : "${rounds:=1}" "${duration:=1.2}"
  warmup=0.3
  stream_waves=1
else
  : "${rounds:=3}" "${duration:=4}"
  warmup=0.5
  stream_waves=2
fi
case "$rounds" in ''|*[!0-9]*) die "--rounds must be a whole number" ;; esac
[ "$rounds" -ge 1 ] && [ "$rounds" -le 10 ] || die "--rounds must be 1..10"
python3 -c "import sys; d=float(sys.argv[1]); sys.exit(0 if 0.2 <= d <= 30 else 1)" "$duration" \
  || die "--duration must be 0.2..30 seconds"
for t in $targets; do
  case "$t" in direct|qcc|nginx|haproxy) ;; *) die "unknown target: $t" ;; esac
done
build=$(cd "$build" 2>/dev/null && pwd) || die "build directory not found (meson setup build && ninja -C build)"

loadgen="$build/tools/bench/loadgen"
mock="$build/tools/mock-upstream/mock-upstream"
qccc="$build/compiler/qccc"
qccrun="$build/runtime/qcc-run"
[ -x "$loadgen" ] || die "$loadgen not built (ninja -C $build)"
[ -x "$mock" ] || die "$mock not built (ninja -C $build)"
command -v jq >/dev/null || die "jq is needed"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"

# Cores: proxies on 0, upstream + load generator on 1.
if [ "$(nproc)" -ge 2 ]; then
  proxy_cpu=0; gen_cpu=1
else
  say "warning: one core only; everything shares core 0 and ratios mean little"
  proxy_cpu=0; gen_cpu=0
fi
pin_gen=(taskset -c "$gen_cpu") # peers.sh's start_mock

# 1000 client connections, plus as many upstream ones through a proxy.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4200 ]; then
  say "warning: only $(ulimit -n) file descriptors; the 1000-connection cases may fail"
fi

tmp=$(mktemp -d /tmp/qcc-proxy-bench.XXXXXX)
chmod 755 "$tmp" # nginx workers run as another user when started by root
declare -a started=()   # every pid this script started
declare -A tpid=()      # target -> main pid (nginx master, haproxy, qcc-run)
declare -A tport=()     # target -> listening port
declare -A skipped=()   # target -> reason

cleanup() {
  local p all=()
  # Children too (nginx's worker), so a stuck master cannot leave one behind.
  for p in "${started[@]}"; do
    kill -0 "$p" 2>/dev/null || continue
    read -r -a kids <<< "$(pids_of "$p")"
    all+=("${kids[@]}")
  done
  started=("${all[@]}")
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for p in "${started[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A proxy's processes: its main pid and every descendant (nginx's worker).
pids_of() { # PID
  local all=("$1") i=0 p c
  while [ $i -lt ${#all[@]} ]; do
    p=${all[$i]}
    for c in $(pgrep -P "$p" 2>/dev/null || true); do all+=("$c"); done
    i=$((i + 1))
  done
  echo "${all[@]}"
}

cpu_ticks() { # PIDS... -> utime+stime summed, in clock ticks
  local p sum=0 v
  for p in "$@"; do
    # Fields after "(comm) ": state is 1st, utime 12th, stime 13th.
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

status_kb() { # FIELD PIDS... -> summed kB of a /proc/PID/status field
  local f=$1 p sum=0 v
  shift
  for p in "$@"; do
    v=$(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/status" 2>/dev/null) || v=0
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

reset_peak() { # PIDS... : "5" resets VmHWM (Linux >= 4.0) so each case has its own peak
  local p
  for p in "$@"; do echo 5 > "/proc/$p/clear_refs" 2>/dev/null || true; done
}

# ---- the upstreams (core 1): a fast one, and a paced one for 1 s streams ----
events=56
# 56 events = 55 gaps; 18 ms each makes a stream last ~1 s.
pace_gap_ms=18
paced_ms=$(( (events - 1) * pace_gap_ms ))

start_mock bench-fast
fast_port=$mock_port
start_mock bench-paced --event-delay-ms "$pace_gap_ms"
paced_port=$mock_port
probe "$fast_port" || die "the mock upstream does not answer POST /v1/messages"

# ---- the proxies (core 0) ----
start_qcc() { # UPSTREAM_PORT PORT
  if [ ! -x "$qccc" ] || [ ! -x "$qccrun" ]; then
    skipped[qcc]="qccc or qcc-run not built"
    return 1
  fi
  qcc_bench_yaml "$tmp/qcc.yaml" "$1" "$2"
  if ! "$qccc" build -c "$tmp/qcc.yaml" -o "$tmp/qcc-table.bin" >"$tmp/qccc.out" 2>&1; then
    skipped[qcc]="qccc build failed: $(last_lines "$tmp/qccc.out")"
    return 1
  fi
  mkdir -p "$tmp/qcc-state"
  QCC_BENCH_UPSTREAM_KEY=bench-upstream \
    taskset -c "$proxy_cpu" "$qccrun" --state-dir "$tmp/qcc-state" --listen "127.0.0.1:$2" \
    "$tmp/qcc-table.bin" >"$tmp/qcc-run.out" 2>&1 &
  tpid[qcc]=$!
  started+=("${tpid[qcc]}")
}

start_nginx() { # UPSTREAM_PORT PORT
  command -v nginx >/dev/null || { skipped[nginx]="nginx not installed"; return 1; }
  mkdir -p "$tmp/nginx-logs"
  render "$here/nginx.conf.in" "$tmp/nginx.conf" "$2" "$1"
  taskset -c "$proxy_cpu" nginx -p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf" \
    >"$tmp/nginx.out" 2>&1 &
  tpid[nginx]=$!
  started+=("${tpid[nginx]}")
}

start_haproxy() { # UPSTREAM_PORT PORT
  command -v haproxy >/dev/null || { skipped[haproxy]="haproxy not installed"; return 1; }
  render "$here/haproxy.cfg.in" "$tmp/haproxy.cfg" "$2" "$1"
  taskset -c "$proxy_cpu" haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>&1 &
  tpid[haproxy]=$!
  started+=("${tpid[haproxy]}")
}

# Starts every proxy target in front of UPSTREAM_PORT; a target that fails to
# start or to forward one request is skipped with its reason.
start_targets() { # UPSTREAM_PORT
  local t port
  for t in $targets; do
    [ "$t" = direct ] && { tport[direct]=$1; continue; }
    [ -n "${skipped[$t]:-}" ] && continue
    port=$(free_port)
    tport[$t]=$port
    "start_$t" "$1" "$port" || { say "skipping $t: ${skipped[$t]}"; continue; }
    if ! wait_port "$port" "${tpid[$t]}"; then
      skipped[$t]="did not listen on 127.0.0.1:$port: $(last_lines "$tmp/$t"*.out "$tmp/$t-error.log")"
    elif ! probe "$port"; then
      skipped[$t]="listens but did not forward a request to the mock upstream"
    fi
    if [ -n "${skipped[$t]:-}" ]; then
      say "skipping $t: ${skipped[$t]}"
      kill -TERM "${tpid[$t]}" 2>/dev/null || true
    fi
  done
}

stop_targets() {
  local t p
  for t in $targets; do
    [ "$t" = direct ] && continue
    p=${tpid[$t]:-}
    [ -n "$p" ] || continue
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null || true
    unset "tpid[$t]"
  done
}

runs="$tmp/runs.jsonl"
: > "$runs"

# One measurement: the load generator against one target, with the target's
# CPU time and peak RSS taken around it.
measure() { # ROUND CASE TARGET LOADGEN_ARGS...
  local round=$1 case=$2 t=$3
  shift 3
  local pids=() cpu0=0 cpu1 hwm=0 rss=0
  if [ "$t" != direct ]; then
    read -r -a pids <<< "$(pids_of "${tpid[$t]}")"
    reset_peak "${pids[@]}"
    cpu0=$(cpu_ticks "${pids[@]}")
  fi
  local res
  res=$(taskset -c "$gen_cpu" "$loadgen" --port "${tport[$t]}" --label "$t" "$@" 2>"$tmp/loadgen.err") \
    || res=""
  if [ "$t" != direct ]; then
    cpu1=$(cpu_ticks "${pids[@]}")
    hwm=$(status_kb VmHWM "${pids[@]}")
    rss=$(status_kb VmRSS "${pids[@]}")
  else
    cpu1=0
  fi
  if [ -z "$res" ]; then
    say "round $round $case $t: loadgen failed: $(last_lines "$tmp/loadgen.err")"
    res='{"error_total":-1}'
  fi
  jq -c --argjson round "$round" --arg case "$case" --arg target "$t" \
    --argjson cpu_ticks "$((cpu1 - cpu0))" --argjson hwm "$hwm" --argjson rss "$rss" \
    --argjson procs "${#pids[@]}" \
    '{round: $round, case: $case, target: $target, proxy_cpu_ticks: $cpu_ticks,
      proxy_peak_rss_kb: $hwm, proxy_rss_kb_after: $rss, proxy_procs: $procs, loadgen: .}' \
    <<< "$res" >> "$runs"
  # A target that answered nothing is not measured again: that keeps a hung
  # proxy from stretching the run by a timeout per case.
  if [ "$t" != direct ] && ! kill -0 "${tpid[$t]}" 2>/dev/null; then
    skipped[$t]="exited during $case: $(last_lines "$tmp/$t"*.out "$tmp/$t-error.log")"
    say "dropping $t from the rest of the run: ${skipped[$t]}"
  elif [ "$t" != direct ] && [ "$(jq -r '.samples // 0' <<< "$res")" = 0 ]; then
    skipped[$t]="no successful request in $case (errors: $(jq -c '.errors // "loadgen failed"' <<< "$res"))"
    say "dropping $t from the rest of the run: ${skipped[$t]}"
  fi
  local line
  line=$(jq -r '"\(.rps // 0 | floor) req/s, p50 \(.total_us.p50 // 0 | . * 10 | round / 10) us, errors \(.error_total)"' <<< "$res")
  say "round $round  $(printf '%-10s %-8s' "$case" "$t") $line"
}

live_targets() {
  local t l=""
  for t in $targets; do [ -z "${skipped[$t]:-}" ] && l="$l $t"; done
  echo "$l"
}

declare -A idle_rss=() stream_idle_rss=()
# VmRSS of each proxy now (started, one probe request forwarded), into the
# associative array named by $1.
note_idle_rss() { # ARRAY
  local -n into=$1
  local t pids=()
  for t in $(live_targets); do
    [ "$t" = direct ] && continue
    read -r -a pids <<< "$(pids_of "${tpid[$t]}")"
    into[$t]=$(status_kb VmRSS "${pids[@]}")
  done
}

t_start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "rounds=$rounds duration=${duration}s warmup=${warmup}s cores: proxy=$proxy_cpu gen+upstream=$gen_cpu"
say "load average before: $load_before (other work on this machine makes the figures noisy)"

# Phase 1: fast upstream; JSON and 56-event SSE at 1..1000 connections.
start_targets "$fast_port"
sleep 0.3
note_idle_rss idle_rss
for round in $(seq 1 "$rounds"); do
  for mode in json sse; do
    for c in $conc_list; do
      flags=()
      [ "$mode" = sse ] && flags+=(--stream)
      for t in $(live_targets); do
        measure "$round" "$mode-c$c" "$t" -c "$c" -d "$duration" --warmup "$warmup" \
          --timeout 5 "${flags[@]}"
        sleep 0.2
      done
    done
  done
done
stop_targets

# Phase 2: paced upstream; 1000 concurrent one-second streams.
for t in $targets; do [ "$t" != direct ] && tpid[$t]=""; done
start_targets "$paced_port"
sleep 0.3
note_idle_rss stream_idle_rss # the base of streams1s's per-stream figure (fresh processes)
for round in $(seq 1 "$rounds"); do
  for t in $(live_targets); do
    measure "$round" "streams1s" "$t" -c "$stream_conns" -n $((stream_conns * stream_waves)) --stream \
      --paced-ms "$paced_ms" --slow-tolerance-ms 250 --timeout 15
    sleep 0.5
  done
done
stop_targets
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
t_end=$(date +%s)

# ---- aggregate: medians over rounds, hop cost, ratios, targets ----
skipped_json=$(for t in "${!skipped[@]}"; do jq -cn --arg t "$t" --arg r "${skipped[$t]}" '{($t): $r}'; done \
  | jq -cs 'add // {}')
idle_json=$(for t in "${!idle_rss[@]}"; do jq -cn --arg t "$t" --argjson v "${idle_rss[$t]}" '{($t): $v}'; done \
  | jq -cs 'add // {}')
stream_idle_json=$(for t in "${!stream_idle_rss[@]}"; do
  jq -cn --arg t "$t" --argjson v "${stream_idle_rss[$t]}" '{($t): $v}'; done | jq -cs 'add // {}')
meta=$(jq -cn --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(uname -srm)" \
  --argjson nproc "$(nproc)" --argjson quick "$quick" --argjson rounds "$rounds" \
  --argjson duration "$duration" --argjson warmup "$warmup" --argjson clk "$(getconf CLK_TCK)" \
  --arg nginx "$(nginx -v 2>&1 | head -1 || true)" --arg haproxy "$(haproxy -v 2>/dev/null | head -1 || true)" \
  --arg load_before "$load_before" --arg load_after "$load_after" \
  --argjson seconds "$((t_end - t_start))" --argjson paced_ms "$paced_ms" --argjson events "$events" \
  --argjson proxy_cpu "$proxy_cpu" --argjson gen_cpu "$gen_cpu" --argjson smoke "$smoke" \
  --argjson stream_conns "$stream_conns" \
  '{date: $date, host: $host, nproc: $nproc, quick: ($quick == 1), smoke: ($smoke == 1),
    rounds: $rounds, stream_conns: $stream_conns,
    duration_s: $duration, warmup_s: $warmup, clk_tck: $clk, nginx: $nginx, haproxy: $haproxy,
    loadavg_before: $load_before, loadavg_after: $load_after, wall_s: $seconds,
    sse_events: $events, paced_stream_ms: $paced_ms, proxy_core: $proxy_cpu, gen_core: $gen_cpu}')

python3 - "$runs" "$out" "$meta" "$skipped_json" "$idle_json" "$smoke" "$stream_idle_json" <<'PY'
import json, statistics, sys

runs_path, out_path, meta, skipped, idle, smoke, stream_idle = sys.argv[1:8]
smoke = smoke == "1"
meta, skipped, idle = json.loads(meta), json.loads(skipped), json.loads(idle)
stream_idle = json.loads(stream_idle)
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
clk = meta["clk_tck"]
order = ["direct", "qcc", "nginx", "haproxy"]
cases = []
for r in runs:
    if r["case"] not in cases:
        cases.append(r["case"])

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d

summary = {}
for case in cases:
    summary[case] = {}
    for t in order:
        rs = [r for r in runs if r["case"] == case and r["target"] == t]
        if not rs:
            continue
        lg = [r["loadgen"] for r in rs]
        def cpu_us(r):
            n = r["loadgen"].get("ok_total") or 0
            if t == "direct" or n == 0:
                return None
            return r["proxy_cpu_ticks"] / clk / n * 1e6
        s = {
            "rounds": len(rs),
            "rps": med([get(x, "rps") for x in lg]),
            "p50_us": med([get(x, "total_us", "p50") for x in lg]),
            "p99_us": med([get(x, "total_us", "p99") for x in lg]),
            "ttfb_p50_us": med([get(x, "ttfb_us", "p50") for x in lg]),
            "first_event_p50_us": med([get(x, "first_event_us", "p50") for x in lg]),
            "first_event_p99_us": med([get(x, "first_event_us", "p99") for x in lg]),
            "errors": sum(max(get(x, "error_total") or 0, 0) for x in lg),
            "failed_runs": sum(1 for x in lg if get(x, "error_total") == -1),
            "cpu_us_per_req": med([cpu_us(r) for r in rs]),
            "peak_rss_kb": med([r["proxy_peak_rss_kb"] if t != "direct" else None for r in rs]),
        }
        if any(get(x, "events_min") is not None for x in lg):
            s["events_min"] = min(get(x, "events_min") for x in lg if get(x, "events_min") is not None)
        if any(get(x, "paced_ms") for x in lg):
            s["slowed"] = sum(get(x, "slowed") or 0 for x in lg)
            s["worst_over_pace_ms"] = max(get(x, "worst_over_pace_ms") or 0 for x in lg)
        if case == "streams1s" and t in stream_idle and s["peak_rss_kb"] is not None:
            # SPEC's per-stream memory: (peak - idle) / open streams, idle being
            # the same process after start and one forwarded request
            s["idle_rss_kb"] = stream_idle[t]
            s["kb_per_stream"] = (s["peak_rss_kb"] - stream_idle[t]) / float(meta["stream_conns"])
        summary[case][t] = s
    d = summary[case].get("direct")
    for t, s in summary[case].items():
        if d and s["p50_us"] is not None and d["p50_us"] is not None:
            s["hop_us"] = s["p50_us"] - d["p50_us"] if t != "direct" else 0.0
        if d and s["first_event_p50_us"] is not None and d["first_event_p50_us"] is not None:
            s["first_event_hop_us"] = s["first_event_p50_us"] - d["first_event_p50_us"]

def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b

ratios = {}
for case, ts in summary.items():
    q = ts.get("qcc")
    if not q:
        continue
    ratios[case] = {}
    for peer in ("nginx", "haproxy", "direct"):
        p = ts.get(peer)
        if not p:
            continue
        ratios[case]["qcc/" + peer] = {
            "rps": ratio(q["rps"], p["rps"]),
            "p50": ratio(q["p50_us"], p["p50_us"]),
            # only where both hops are real costs (at 16+ connections a hop can be < 0)
            "hop": (ratio(q.get("hop_us"), p.get("hop_us"))
                    if peer != "direct" and (q.get("hop_us") or 0) > 0 and (p.get("hop_us") or 0) > 0
                    else None),
            "cpu_per_req": ratio(q["cpu_us_per_req"], p["cpu_us_per_req"]),
            "peak_rss": ratio(q["peak_rss_kb"], p["peak_rss_kb"]),
        }

# SPEC.md "Targets", checked where this run measured them.
targets = {}
def check(name, ok, detail):
    targets[name] = {"ok": ok, "detail": detail}
if "qcc" in idle:
    check("idle RSS <= 8 MiB", idle["qcc"] <= 8192, "%d KiB" % idle["qcc"])
def both(case, t1, t2):
    return summary.get(case, {}).get(t1), summary.get(case, {}).get(t2)
for mode in ("json", "sse"):
    q, h = both(mode + "-c1", "qcc", "haproxy")
    if q and h and q.get("hop_us") is not None and h.get("hop_us") is not None:
        check("hop cost < HAProxy's (%s, 1 conn)" % mode, q["hop_us"] < h["hop_us"],
              "qcc %.1f us vs haproxy %.1f us" % (q["hop_us"], h["hop_us"]))
q, h = both("sse-c100", "qcc", "haproxy")
if q and h and q["cpu_us_per_req"] is not None and h["cpu_us_per_req"] is not None:
    check("CPU per streamed request < HAProxy's (sse, 100 conns)",
          q["cpu_us_per_req"] < h["cpu_us_per_req"],
          "qcc %.1f us vs haproxy %.1f us" % (q["cpu_us_per_req"], h["cpu_us_per_req"]))
q, d = both("sse-c100", "qcc", "direct")
if q and d and q["rps"] and d["rps"]:
    check("req/s at 100 streams >= 0.95x direct", q["rps"] >= 0.95 * d["rps"],
          "%.3fx" % (q["rps"] / d["rps"]))
q = summary.get("sse-c1", {}).get("qcc")
if q and q.get("first_event_hop_us") is not None:
    check("first SSE event <= direct + 0.3 ms (1 conn)", q["first_event_hop_us"] <= 300,
          "+%.1f us" % q["first_event_hop_us"])
q = summary.get("streams1s", {}).get("qcc")
if q and "slowed" in q:
    n = meta["stream_conns"]
    d = summary["streams1s"].get("direct")
    base = (" (direct: %d slowed, worst +%.0f ms)" % (d["slowed"], d["worst_over_pace_ms"])
            if d and "slowed" in d else "")
    check("%d concurrent 1 s streams, none slowed" % n, q["slowed"] == 0 and q["errors"] == 0,
          "%d slowed, %d errors, worst +%.0f ms%s" % (q["slowed"], q["errors"],
                                                     q["worst_over_pace_ms"], base))
    if q.get("kb_per_stream") is not None:
        check("<= 32 KiB per open stream", q["kb_per_stream"] <= 32,
              "%.1f KiB ((peak %d - idle %d KiB) / %d streams)" % (
                  q["kb_per_stream"], q["peak_rss_kb"], q["idle_rss_kb"], n))

result = {"meta": meta, "skipped": skipped, "idle_rss_kb": idle, "summary": summary,
          "ratios": ratios, "targets": targets, "runs": runs}
if out_path:
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

def fmt(v, spec="%.0f"):
    return "-" if v is None else spec % v

print()
print("proxy benchmark: medians of %d round(s), %ss per case, SSE = %d events; %s" %
      (meta["rounds"], meta["duration_s"], meta["sse_events"], meta["date"]))
print("load average before/after: %s / %s (other work on the machine adds noise)" %
      (meta["loadavg_before"], meta["loadavg_after"]))
for t, why in skipped.items():
    print("SKIPPED %s: %s" % (t, why))
hdr = "%-11s %-8s %9s %9s %9s %8s %9s %9s %8s %9s %6s" % (
    "case", "target", "req/s", "p50 us", "p99 us", "hop us", "1st-ev us", "cpu us/req",
    "rss KiB", "errors", "slow")
print()
print(hdr)
print("-" * len(hdr))
for case in cases:
    for t in order:
        s = summary[case].get(t)
        if not s:
            continue
        print("%-11s %-8s %9s %9s %9s %8s %9s %9s %8s %9s %6s" % (
            case, t, fmt(s["rps"]), fmt(s["p50_us"], "%.1f"), fmt(s["p99_us"], "%.1f"),
            fmt(s.get("hop_us"), "%.1f"), fmt(s["first_event_p50_us"], "%.1f"),
            fmt(s["cpu_us_per_req"], "%.1f"), fmt(s["peak_rss_kb"]), s["errors"],
            fmt(s.get("slowed"), "%d")))
if idle:
    print()
    print("idle RSS (KiB): " + ", ".join("%s %d" % (t, idle[t]) for t in order if t in idle))
per_stream = summary.get("streams1s", {})
if any(s.get("kb_per_stream") is not None for s in per_stream.values()):
    print("RSS per open stream, streams1s, (peak - idle) / %d (KiB): " % meta["stream_conns"] +
          ", ".join("%s %.1f" % (t, per_stream[t]["kb_per_stream"]) for t in order
                    if per_stream.get(t, {}).get("kb_per_stream") is not None))
if ratios:
    print()
    print("ratios (qcc / peer; req/s higher is better, the rest lower is better)")
    print("%-11s %-15s %7s %7s %7s %9s %8s" % ("case", "", "req/s", "p50", "hop", "cpu/req", "rss"))
    for case in cases:
        for k, r in ratios.get(case, {}).items():
            print("%-11s %-15s %7s %7s %7s %9s %8s" % (
                case, k, fmt(r["rps"], "%.3f"), fmt(r["p50"], "%.3f"), fmt(r["hop"], "%.2f"),
                fmt(r["cpu_per_req"], "%.2f"), fmt(r["peak_rss"], "%.2f")))
if targets:
    print()
    print("targets (SPEC.md) for qcc-run:")
    for name, v in targets.items():
        print("  %-4s %-50s %s" % ("ok" if v["ok"] else "MISS", name, v["detail"]))
elif "qcc" in skipped:
    print()
    print("qcc-run was skipped: no target checked. Rerun when it forwards.")
if out_path:
    print()
    print("results: " + out_path)

# The bench's own check: every target that ran answered every request, and
# every SSE response carried the whole stream.
if smoke:
    bad = []
    for r in runs:
        lg = r["loadgen"]
        where = "%s %s" % (r["case"], r["target"])
        if lg.get("error_total") != 0:
            bad.append("%s: errors %s" % (where, lg.get("errors", lg.get("error_total"))))
        if not lg.get("samples"):
            bad.append("%s: no completed request" % where)
        if lg.get("mode") == "sse" and lg.get("events_min") != meta["sse_events"]:
            bad.append("%s: %s events in a stream, want %d" % (where, lg.get("events_min"),
                                                              meta["sse_events"]))
    for b in bad:
        print("not ok - " + b)
    if bad:
        sys.exit(1)
    print("ok - %d measurements, no errors, whole SSE streams" % len(runs))
PY
