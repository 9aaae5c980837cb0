#!/usr/bin/env bash
# instr-bench.sh: instructions per request of qcc-run, nginx and HAProxy, counted
# by valgrind's callgrind, for the same workload against the same mock upstream.
#
#   tools/bench/instr-bench.sh [--smoke] [--out FILE] [--build DIR] [--requests N]
#                              [--conns C] [--warmup W] [--rounds R]
#                              [--targets "qcc nginx haproxy"] [--keep DIR]
#
# Cases: json (POST /v1/messages, JSON answer) and sse ("stream": true, 56 events).
# Method (subtraction): for each case and target the proxy is started under
# callgrind twice per round. The "base" run gets a probe and W warm-up requests;
# the "full" run gets the same plus N measured requests. instructions/request =
# (full total - base total) / N: startup, warm-up and shutdown cancel out.
# --smoke is the test suite's check of the bench itself (tiny N): it fails
# unless no target failed and every one that ran has a positive count.
# See tools/bench/README.md, "Instruction counts".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)

smoke=0
out=""
build="$root/build"
requests=""
conns=""
warmup=""
rounds=""
keep=""
targets="qcc nginx haproxy"

die() { echo "instr-bench: $*" >&2; exit 2; }
say() { echo "instr-bench: $*" >&2; }

whole() { # NAME VALUE MIN MAX
  case "$2" in ''|*[!0-9]*) die "$1 must be a whole number" ;; esac
  [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || die "$1 must be $3..$4"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --out) [ $# -ge 2 ] || die "--out needs a file"; out=$2; shift ;;
    --build) [ $# -ge 2 ] || die "--build needs a directory"; build=$2; shift ;;
    --requests) [ $# -ge 2 ] || die "--requests needs a number"; requests=$2; shift ;;
    --conns) [ $# -ge 2 ] || die "--conns needs a number"; conns=$2; shift ;;
    --warmup) [ $# -ge 2 ] || die "--warmup needs a number"; warmup=$2; shift ;;
    --rounds) [ $# -ge 2 ] || die "--rounds needs a number"; rounds=$2; shift ;;
    --targets) [ $# -ge 2 ] || die "--targets needs a list"; targets=$2; shift ;;
    --keep) [ $# -ge 2 ] || die "--keep needs a directory"; keep=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done

if [ "$smoke" = 1 ]; then
  : "${requests:=40}" "${conns:=4}" "${warmup:=8}" "${rounds:=1}"
else
  : "${requests:=5000}" "${conns:=100}" "${warmup:=500}" "${rounds:=1}"
fi
whole --requests "$requests" 1 1000000
whole --conns "$conns" 1 1000
whole --warmup "$warmup" 0 1000000
whole --rounds "$rounds" 1 10
[ "$requests" -ge "$conns" ] || die "--requests must be >= --conns"
[ "$warmup" = 0 ] || [ "$warmup" -ge "$conns" ] || die "--warmup must be 0 or >= --conns"
for t in $targets; do
  case "$t" in qcc|nginx|haproxy) ;; *) die "unknown target: $t" ;; esac
done
build=$(cd "$build" 2>/dev/null && pwd) || die "build directory not found (meson setup build && ninja -C build)"
if [ -n "$keep" ]; then
  mkdir -p "$keep" && keep=$(cd "$keep" && pwd) || die "cannot create $keep"
fi

loadgen="$build/tools/bench/loadgen"
mock="$build/tools/mock-upstream/mock-upstream"
qccc="$build/compiler/qccc"
qccrun="$build/runtime/qcc-run"
[ -x "$loadgen" ] || die "$loadgen not built (ninja -C $build)"
[ -x "$mock" ] || die "$mock not built (ninja -C $build)"
command -v jq >/dev/null || die "jq is needed"
command -v curl >/dev/null || die "curl is needed"
command -v timeout >/dev/null || die "timeout (coreutils) is needed"
if ! command -v valgrind >/dev/null; then
  # meson's "skipped" code: the smoke test cannot run here, it did not fail.
  [ "$smoke" = 1 ] && { say "valgrind not installed: skipped"; exit 77; }
  die "valgrind is needed (apt-get install valgrind)"
fi
have_taskset=0
command -v taskset >/dev/null && have_taskset=1

# Pinning does not change instruction counts; it only keeps the valgrind'd
# proxy (core 0) and the generator + upstream (core 1) from trading places.
if [ "$(nproc)" -ge 2 ]; then proxy_cpu=0; gen_cpu=1; else proxy_cpu=0; gen_cpu=0; fi
# Prefixes, not a function: "${pin_proxy[@]}" CMD & must leave $! = the proxy
# itself (taskset, env and valgrind all exec), or signals would hit a subshell.
pin_proxy=() pin_gen=()
if [ "$have_taskset" = 1 ]; then
  pin_proxy=(taskset -c "$proxy_cpu")
  pin_gen=(taskset -c "$gen_cpu")
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d /tmp/qcc-instr-bench.XXXXXX)
chmod 755 "$tmp" # nginx as root may drop to another user to read its files
declare -a started=()   # every pid this script started
declare -A skipped=()   # target -> reason it did not run (not installed, not built)
declare -A failed=()    # target -> what went wrong in a run (a bench or proxy bug)

cleanup() {
  local p
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 25); do
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

# ---- the mock upstream (not under valgrind), core 1 ----
events=56
start_mock bench-instr
ok=0
for _ in $(seq 1 50); do probe "$mock_port" && { ok=1; break; }; sleep 0.1; done
[ "$ok" = 1 ] || die "the mock upstream does not answer POST /v1/messages"

# ---- the proxies under callgrind, core 0 ----
mkdir -p "$tmp/cg"
vg() { # TAG -> valgrind's command line; %p: one file per process, whatever forks
  vg_cmd=(valgrind --tool=callgrind "--callgrind-out-file=$tmp/cg/$1.%p.out")
}

qcc_table=""
prepare_qcc() {
  [ -x "$qccc" ] && [ -x "$qccrun" ] || { skipped[qcc]="qccc or qcc-run not built"; return 1; }
  # The listen address is given on the command line, so one table serves every run.
  qcc_bench_yaml "$tmp/qcc.yaml" "$mock_port" 9
  if ! "$qccc" build -c "$tmp/qcc.yaml" -o "$tmp/qcc-table.bin" >"$tmp/qccc.out" 2>&1; then
    failed[qcc]="qccc build failed: $(last_lines "$tmp/qccc.out")"
    return 1
  fi
  qcc_table="$tmp/qcc-table.bin"
}

# Each start_* runs the proxy in the foreground of a background job and sets
# run_pid; the signal that makes it exit cleanly (so callgrind writes its
# file) is in stop_signal.
declare -A stop_signal=([qcc]=TERM [nginx]=QUIT [haproxy]=USR1)

start_qcc() { # PORT LOG TAG
  vg "$3"
  rm -rf "$tmp/qcc-state"
  mkdir -p "$tmp/qcc-state"
  "${pin_proxy[@]}" env QCC_BENCH_UPSTREAM_KEY=bench-upstream "${vg_cmd[@]}" "$qccrun" \
    --state-dir "$tmp/qcc-state" --listen "127.0.0.1:$1" "$qcc_table" >"$2" 2>&1 &
  run_pid=$!
}

start_nginx() { # PORT LOG TAG
  vg "$3"
  mkdir -p "$tmp/nginx-logs"
  # One process: no master, so callgrind sees every request in one file.
  render "$here/nginx.conf.in" "$tmp/nginx.conf" "$1" "$mock_port"
  sed -i 's|^master_process on;|master_process off;|' "$tmp/nginx.conf"
  grep -q '^master_process off;' "$tmp/nginx.conf" || { echo "nginx.conf.in: no master_process line" >"$2"; return 1; }
  "${pin_proxy[@]}" "${vg_cmd[@]}" nginx -p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf" \
    >"$2" 2>&1 &
  run_pid=$!
}

start_haproxy() { # PORT LOG TAG
  vg "$3"
  render "$here/haproxy.cfg.in" "$tmp/haproxy.cfg" "$1" "$mock_port"
  "${pin_proxy[@]}" "${vg_cmd[@]}" haproxy -db -f "$tmp/haproxy.cfg" >"$2" 2>&1 &
  run_pid=$!
}

have_target() { # TARGET
  case "$1" in
    qcc) prepare_qcc ;;
    nginx) command -v nginx >/dev/null || { skipped[nginx]="nginx not installed"; return 1; } ;;
    haproxy) command -v haproxy >/dev/null || { skipped[haproxy]="haproxy not installed"; return 1; } ;;
  esac
}

forget() { # PID: it has exited and been waited for; cleanup must not signal a reused pid
  local p keep_pids=()
  for p in "${started[@]}"; do [ "$p" = "$1" ] || keep_pids+=("$p"); done
  started=("${keep_pids[@]}")
}

# Stops PID with SIG and waits (bounded) for it: callgrind writes its file on
# exit, which takes a moment. Returns 1 if it had to be killed.
stop_pid() { # PID SIG
  local p=$1 i
  kill "-$2" "$p" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    return 1
  fi
  wait "$p" 2>/dev/null || true
  return 0
}

runs="$tmp/runs.jsonl"
: > "$runs"
run_error=""

# loadgen with the per-request timeout stretched for valgrind; every request
# must be answered in full. Writes its JSON to FILE; sets run_error on failure.
# Bounded as a whole too: under callgrind the proxies answer 700+ requests/s,
# so 60 s + 50 ms per request is slack, not a limit on a working proxy.
drive() { # PORT N MODE FILE
  local flags=() res limit=$((60 + $2 / 20))
  [ "$3" = sse ] && flags+=(--stream)
  res=$(timeout -k 5 "$limit" "${pin_gen[@]}" "$loadgen" --port "$1" -c "$conns" -n "$2" \
    --timeout 60 "${flags[@]}" 2>"$tmp/loadgen.err") || res=""
  echo "${res:-null}" > "$4"
  if [ -z "$res" ]; then
    run_error="loadgen failed or ran over ${limit} s: $(last_lines "$tmp/loadgen.err")"
  elif [ "$(jq -r '.error_total' <<< "$res")" != 0 ] || [ "$(jq -r '.ok_total' <<< "$res")" != "$2" ]; then
    run_error=$(jq -r --arg n "$2" '"\(.ok_total) of \($n) answered, errors \(.errors // .error_total | tostring)"' <<< "$res")
  elif [ "$3" = sse ] && [ "$(jq -r '.events_min' <<< "$res")" != "$events" ]; then
    run_error="short SSE stream: $(jq -r '.events_min' <<< "$res") events, want $events"
  fi
  return 0
}

# One proxy life under callgrind: start, probe, warm up, [measure], stop.
# Appends a line to runs.jsonl; returns 1 (with run_error) if anything failed.
one_run() { # CASE TARGET ROUND PHASE(base|full)
  local case=$1 t=$2 round=$3 phase=$4 port log tag i warm="null" meas="null"
  port=$(free_port)
  tag="$case-$t-r$round-$phase"
  log="$tmp/$tag.log"
  run_error=""
  rm -f "$tmp/cg/$tag".*.out
  "start_$t" "$port" "$log" "$tag" || { run_error="did not start: $(last_lines "$log")"; return 1; }
  started+=("$run_pid")
  # valgrind takes seconds to start a proxy: wait up to 60 s for a forwarded request.
  local up=0 until=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$until" ]; do
    kill -0 "$run_pid" 2>/dev/null || break
    probe "$port" && { up=1; break; }
    sleep 0.2
  done
  if [ "$up" = 0 ]; then
    kill -0 "$run_pid" 2>/dev/null && i="did not forward a probe request within 60 s" || i="exited"
    run_error="$i: $(last_lines "$log" "$tmp/nginx-error.log")"
  fi
  if [ -z "$run_error" ] && [ "$warmup" -gt 0 ]; then
    drive "$port" "$warmup" "$case" "$tmp/warm.json"
    warm=$(cat "$tmp/warm.json")
    [ -z "$run_error" ] || run_error="warm-up: $run_error"
  fi
  if [ -z "$run_error" ] && [ "$phase" = full ]; then
    drive "$port" "$requests" "$case" "$tmp/meas.json"
    meas=$(cat "$tmp/meas.json")
  fi
  stop_pid "$run_pid" "${stop_signal[$t]}" \
    || { [ -n "$run_error" ] || run_error="did not exit on SIG${stop_signal[$t]} within 30 s"; }
  forget "$run_pid"
  local files=("$tmp/cg/$tag".*.out)
  [ -f "${files[0]}" ] || { [ -n "$run_error" ] || run_error="callgrind wrote no file"; }
  [ -z "$run_error" ] || return 1
  if [ -n "$keep" ]; then cp "${files[@]}" "$keep/"; fi
  jq -cn --arg case "$case" --arg target "$t" --argjson round "$round" --arg phase "$phase" \
    --arg files "${files[*]}" --argjson warmup "$warm" --argjson measured "$meas" \
    '{case: $case, target: $target, round: $round, phase: $phase,
      callgrind_files: ($files | split(" ")), warmup: $warmup, measured: $measured}' >> "$runs"
  return 0
}

live=""
for t in $targets; do
  if have_target "$t"; then live="$live $t"; else say "skipping $t: ${skipped[$t]:-${failed[$t]:-}}"; fi
done

t_start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "requests=$requests conns=$conns warmup=$warmup rounds=$rounds targets:$live"
say "load average before: $load_before (does not change instruction counts, only how long this takes)"

for round in $(seq 1 "$rounds"); do
  for case in json sse; do
    for t in $live; do
      [ -n "${failed[$t]:-}" ] && continue
      for phase in base full; do
        t0=$(date +%s)
        if ! one_run "$case" "$t" "$round" "$phase"; then
          failed[$t]="$case round $round ($phase run): $run_error"
          say "dropping $t from the rest of the run: ${failed[$t]}"
          break
        fi
        say "round $round  $(printf '%-4s %-8s %-4s' "$case" "$t" "$phase") done in $(( $(date +%s) - t0 )) s"
      done
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
t_end=$(date +%s)

to_json() { # NAME of an associative array -> {key: value}
  local -n map=$1
  local k
  for k in "${!map[@]}"; do jq -cn --arg k "$k" --arg v "${map[$k]}" '{($k): $v}'; done \
    | jq -cs 'add // {}'
}
skipped_json=$(jq -cn --argjson s "$(to_json skipped)" --argjson f "$(to_json failed)" \
  '{skipped: $s, failed: $f}')
meta=$(jq -cn --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(uname -srm)" \
  --argjson nproc "$(nproc)" --argjson requests "$requests" --argjson conns "$conns" \
  --argjson warmup "$warmup" --argjson rounds "$rounds" --argjson events "$events" \
  --argjson smoke "$smoke" --arg valgrind "$(valgrind --version)" \
  --arg nginx "$( (nginx -v 2>&1 || true) | head -1)" \
  --arg haproxy "$( (haproxy -v 2>/dev/null || true) | head -1)" \
  --arg load_before "$load_before" --arg load_after "$load_after" \
  --argjson seconds "$((t_end - t_start))" \
  '{date: $date, host: $host, nproc: $nproc, smoke: ($smoke == 1), requests: $requests,
    conns: $conns, warmup_requests: $warmup, rounds: $rounds, sse_events: $events,
    valgrind: $valgrind, nginx: $nginx, haproxy: $haproxy,
    loadavg_before: $load_before, loadavg_after: $load_after, wall_s: $seconds,
    method: "(full - base) / requests; base = start + probe + warm-up + stop, full = base + requests measured"}')

json_out=${out:-$tmp/instr-bench.json}
python3 "$here/instr-report.py" "$runs" "$json_out" "$meta" "$skipped_json" "$smoke" "$out"
