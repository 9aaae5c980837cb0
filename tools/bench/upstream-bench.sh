#!/bin/bash
# upstream-bench.sh: qcc-run's CPU per request beside HAProxy's, both
# forwarding to TLS upstreams (issue 12, "Benchmarks"):
#
#   tls-h1    a TLS mock upstream (HTTP/1.1)
#   tls-h2    the same answers over HTTP/2 (nginx as the h2 terminator, in
#             front of a plain mock)
#   close50   a TLS mock that closes its connection every 50 requests
#             (mock-upstream --close-every 50): reconnects and handshakes
#
# HAProxy is configured to verify (`ssl verify required ca-file`, `alpn h2`
# for tls-h2) with `http-reuse always` and `option http-no-delay`, one
# thread; qcc-run with one endpoint and a ca_file. The load generator keeps
# --conns streaming requests in flight (100) for --duration seconds per case;
# the CPU is utime + stime of the proxy from /proc (10 ms ticks) divided by
# the responses completed. Proxies run on core 0, upstreams and the load
# generator on core 1. Target: qcc/haproxy <= 1.5 on tls-h1 and tls-h2.
#
# --instr N: instead, instructions per request under callgrind: each proxy
# starts with instrumentation off, gets N requests of warm-up (upstream
# connections, TLS handshakes, pools), then instrumentation on for N more
# (callgrind_control -i on): no subtraction needed, start-up and handshakes
# are not in it. User space only, so read it beside the CPU figures.
#
#   tools/bench/upstream-bench.sh [--build DIR] [--duration S] [--conns N]
#       [--rounds R] [--instr N] [--keep DIR] [--out FILE]
# --keep DIR (with --instr): copy each callgrind file there, for
# callgrind_annotate.
# --cc-headers: each request also carries the headers the Claude Code CLI
# sends (tools/bench/cc-headers.txt, captured from claude 2.1.332: 21 in
# all with the load generator's own), not just the load generator's 6.
# --syscalls N: instead, system calls per request: after N requests of
# warm-up, strace -c -f is attached to each proxy for N more; prints the
# calls per request by name (kernel work the instruction counts miss).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)
build=$root/build duration=5 conns=100 rounds=1 out="" instr=0 keep="" syscalls=0 hdrs=()
die() { echo "upstream-bench: $*" >&2; exit 2; }
say() { echo "upstream-bench: $*" >&2; }
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --instr) instr=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --syscalls) syscalls=$2; shift 2 ;;
    --cc-headers) while IFS= read -r l; do hdrs+=(-H "$l"); done <"$here/cc-headers.txt"; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
build=$(cd "$build" && pwd)
loadgen=$build/tools/bench/loadgen mock=$build/tools/mock-upstream/mock-upstream
qccc=$build/compiler/qccc qccrun=$build/runtime/qcc-run
for b in "$loadgen" "$mock" "$qccc" "$qccrun"; do [ -x "$b" ] || die "$b not built"; done
for c in haproxy nginx jq taskset openssl; do command -v "$c" >/dev/null || die "$c is needed"; done
proxy_cpu=0 gen_cpu=1
[ "$(nproc)" -ge 2 ] || { proxy_cpu=0; gen_cpu=0; say "one core only: ratios mean little"; }
pin_gen=(taskset -c "$gen_cpu")
events=56
tmp=$(mktemp -d /tmp/qcc-upstream-bench.XXXXXX)
chmod 755 "$tmp"
started=()
cleanup() {
  local p
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=upstream-bench ca" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/srv.key" \
  -out "$tmp/srv.csr" -subj "/CN=127.0.0.1" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 5 -days 2 \
  -extfile "$tmp/ext" -out "$tmp/srv.pem" >/dev/null 2>&1

# ---- upstreams (core 1) ----
tlsargs=(--tls-cert "$tmp/srv.pem" --tls-key "$tmp/srv.key")
start_mock tls-h1 "${tlsargs[@]}"; up_port[0]=$mock_port
start_mock plain; plain_port=$mock_port
start_mock close50 "${tlsargs[@]}" --close-every 50; up_port[2]=$mock_port
h2_port=$(free_port)
mkdir -p "$tmp/ngx"
cat >"$tmp/ngx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
master_process off;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/ngx; proxy_temp_path $tmp/ngx; fastcgi_temp_path $tmp/ngx;
  uwsgi_temp_path $tmp/ngx; scgi_temp_path $tmp/ngx;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  http2_max_requests 1000000;
  upstream mock { server 127.0.0.1:$plain_port; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$h2_port ssl http2;
    ssl_certificate $tmp/srv.pem;
    ssl_certificate_key $tmp/srv.key;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; }
  }
}
NGX
taskset -c "$gen_cpu" nginx -p "$tmp/ngx" -c "$tmp/ngx/nginx.conf" >"$tmp/ngx/out" 2>&1 &
started+=($!)
wait_port "$h2_port" $! || die "nginx did not start: $(last_lines "$tmp/ngx/error.log")"
up_port[1]=$h2_port
cases=(tls-h1 tls-h2 close50)

# ---- proxies (core 0), one pair per case ----
vg=()
start_pair() { # CASE_INDEX -> qport hport qpid hpid (under ${vg[@]} when set)
  local i=$1 up=${up_port[$1]} alpn=""
  [ "${cases[$i]}" = tls-h2 ] && alpn=" alpn h2"
  qport=$(free_port) hport=$(free_port)
  cat >"$tmp/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $qport
  access_log: false
  log_level: warning
  max_connections: 8192
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: bench
    endpoints:
      - id: tls
        base_url: https://127.0.0.1:$up
        api_key_env: QCC_BENCH_UPSTREAM_KEY
        ca_file: $tmp/ca.pem
        timeout: 60s
YAML
  "$qccc" build -c "$tmp/qcc.yaml" -o "$tmp/qcc.bin" >"$tmp/qccc.out" 2>&1 || die "qccc: $(last_lines "$tmp/qccc.out")"
  mkdir -p "$tmp/qcc-state"
  QCC_BENCH_UPSTREAM_KEY=bench-upstream taskset -c "$proxy_cpu" "${vg[@]}" \
    ${vg[0]:+--callgrind-out-file=$tmp/cg-qcc-$i.out} "$qccrun" --state-dir "$tmp/qcc-state" \
    "$tmp/qcc.bin" >"$tmp/qcc.out" 2>&1 &
  qpid=$!
  started+=("$qpid")
  cat >"$tmp/haproxy.cfg" <<HA
global
    nbthread 1
    maxconn 8192
defaults
    mode http
    option http-no-delay
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 120s
    maxconn 8192
frontend bench
    bind 127.0.0.1:$hport
    default_backend up
backend up
    server up1 127.0.0.1:$up ssl verify required ca-file $tmp/ca.pem$alpn
HA
  taskset -c "$proxy_cpu" "${vg[@]}" ${vg[0]:+--callgrind-out-file=$tmp/cg-haproxy-$i.out} \
    haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.out" 2>&1 &
  hpid=$!
  started+=("$hpid")
  local t
  for t in q h; do
    local port pid name
    if [ $t = q ]; then port=$qport pid=$qpid name=qcc; else port=$hport pid=$hpid name=haproxy; fi
    for _ in $(seq 1 300); do
      probe "$port" && continue 2
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    die "$name does not forward ${cases[$i]}: $(last_lines "$tmp/$name.out")"
  done
}
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
hz=$(getconf CLK_TCK)
runs=$tmp/runs.jsonl
: >"$runs"
measure() { # ROUND CASE TARGET PORT PID
  local c0 c1 res
  c0=$(ticks "$5")
  res=$(taskset -c "$gen_cpu" "$loadgen" "${hdrs[@]}" --port "$4" -c "$conns" --stream -d "$duration" --warmup 0.5 \
    --label "$3" 2>"$tmp/loadgen.err") || res='{"ok_total":0,"error_total":-1}'
  c1=$(ticks "$5")
  jq -c --argjson r "$1" --arg c "$2" --arg t "$3" --argjson ticks "$((c1 - c0))" --argjson hz "$hz" \
    '{round: $r, case: $c, target: $t, cpu_ms: ($ticks * 1000 / $hz), ok: (.ok_total // 0),
      errors: (.error_total // 0), rps: (.rps // 0), ttfb_p50_us: (.ttfb_us.p50 // null),
      cpu_us_per_req: (if (.ok_total // 0) > 0 then ($ticks * 1000000 / $hz / .ok_total) else null end)}' \
    <<<"$res" >>"$runs"
  say "round $1 $2 $3: $(tail -1 "$runs" | jq -r '"\(.ok) ok, \(.errors) errors, \(.cpu_us_per_req // 0 | round) us CPU/request"')"
}
if [ "$syscalls" -gt 0 ]; then
  command -v strace >/dev/null || die "--syscalls needs strace"
  srun() { # CASE_INDEX TARGET PORT PID
    local n spid
    taskset -c "$gen_cpu" "$loadgen" "${hdrs[@]}" --port "$3" -c "$conns" --stream -n "$syscalls" --timeout 60 >/dev/null
    strace -c -f -p "$4" -o "$tmp/st-$2-$1.out" 2>/dev/null &
    spid=$!
    sleep 1
    n=$(taskset -c "$gen_cpu" "$loadgen" "${hdrs[@]}" --port "$3" -c "$conns" --stream -n "$syscalls" --timeout 60 | jq '.ok_total')
    kill -INT "$spid"; wait "$spid" 2>/dev/null || true
    [ "$n" = "$syscalls" ] || die "$2 answered $n of $syscalls under strace"
    awk -v n="$syscalls" -v c="${cases[$1]}" -v t="$2" '
      $1 ~ /^[0-9.]+$/ && NF >= 5 { name = $NF; calls = $4;
        printf "{\"case\":\"%s\",\"target\":\"%s\",\"syscall\":\"%s\",\"per_req\":%.3f}\n", c, t, name, calls / n }' \
      "$tmp/st-$2-$1.out" >>"$runs"
  }
  for i in 0 1 2; do
    start_pair "$i"
    srun "$i" qcc "$qport" "$qpid"
    srun "$i" haproxy "$hport" "$hpid"
    kill "$qpid" "$hpid"; wait "$qpid" "$hpid" 2>/dev/null || true
  done
  jq -s 'group_by(.case) | map({key: .[0].case, value: (group_by(.target) | map({key: .[0].target,
      value: ((map({key: .syscall, value: .per_req}) | from_entries)
              + {total: (map(.per_req) | add * 1000 | round / 1000)})}) | from_entries)}) | from_entries' \
    "$runs" | tee ${out:+"$out"}
  exit 0
fi
if [ "$instr" -gt 0 ]; then
  command -v valgrind >/dev/null || die "--instr needs valgrind"
  vg=(valgrind --tool=callgrind --instr-atstart=no)
  irun() { # CASE_INDEX TARGET PORT PID -> instructions per request
    local n
    taskset -c "$gen_cpu" "$loadgen" "${hdrs[@]}" --port "$3" -c "$conns" --stream -n "$instr" --timeout 60 >/dev/null
    callgrind_control -i on "$4" >/dev/null
    n=$(taskset -c "$gen_cpu" "$loadgen" "${hdrs[@]}" --port "$3" -c "$conns" --stream -n "$instr" --timeout 60 | jq '.ok_total')
    callgrind_control -i off "$4" >/dev/null
    [ "$n" = "$instr" ] || die "$2 answered $n of $instr under callgrind"
  }
  for r in $(seq 1 "$rounds"); do
    for i in 0 1 2; do
      start_pair "$i"
      irun "$i" qcc "$qport" "$qpid"
      irun "$i" haproxy "$hport" "$hpid"
      kill "$qpid"; kill -USR1 "$hpid"; wait "$qpid" "$hpid" 2>/dev/null || true
      for t in qcc haproxy; do
        tot=$(awk '/^totals:/ {print $2; exit}' "$tmp/cg-$t-$i.out")
        [ -z "$keep" ] || { mkdir -p "$keep" && cp "$tmp/cg-$t-$i.out" "$keep/cg-r$r-${cases[$i]}-$t.out"; }
        jq -nc --argjson r "$r" --arg c "${cases[$i]}" --arg t "$t" --argjson v "$((tot / instr))" \
          '{round: $r, case: $c, target: $t, instr_per_req: $v}' >>"$runs"
        say "round $r ${cases[$i]} $t: $((tot / instr)) instructions/request"
      done
    done
  done
  jq -s '
    def med: sort | .[(length / 2 | floor)];
    group_by(.case) | map({key: .[0].case, value: (group_by(.target) | map({key: .[0].target,
      value: {median: ([.[].instr_per_req] | med), min: ([.[].instr_per_req] | min),
              max: ([.[].instr_per_req] | max)}}) | from_entries)}) | from_entries
    | map_values(. + {ratio: (.qcc.median / .haproxy.median * 100 | round / 100)})' "$runs" \
    | tee ${out:+"$out"}
  exit 0
fi
for r in $(seq 1 "$rounds"); do
  for i in 0 1 2; do
    start_pair "$i"
    measure "$r" "${cases[$i]}" qcc "$qport" "$qpid"
    measure "$r" "${cases[$i]}" haproxy "$hport" "$hpid"
    kill "$qpid" "$hpid"; wait "$qpid" "$hpid" 2>/dev/null || true
  done
done
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
result=$(jq -s --arg date "$(date -u +%FT%TZ)" --argjson conns "$conns" --argjson duration "$duration" '
  def med: sort | if length == 0 then null else .[(length / 2 | floor)] end;
  {meta: {date: $date, conns: $conns, duration_s: $duration, loadavg: "'"$(cut -d' ' -f1-3 /proc/loadavg)"'"},
   summary: (group_by(.case) | map({key: .[0].case, value: (group_by(.target) | map({key: .[0].target,
     value: {cpu_us_per_req: ([.[].cpu_us_per_req | select(. != null)] | med), ok: ([.[].ok] | add),
             errors: ([.[].errors] | add)}}) | from_entries)}) | from_entries),
   runs: .}
  | .ratios = (.summary | map_values(if .qcc.cpu_us_per_req and .haproxy.cpu_us_per_req
      then (.qcc.cpu_us_per_req / .haproxy.cpu_us_per_req * 100 | round / 100) else null end))' "$runs")
jq -r '.summary | to_entries[] | "\(.key)\tqcc \(.value.qcc.cpu_us_per_req // 0 | round) us/req (\(.value.qcc.errors) err)\thaproxy \(.value.haproxy.cpu_us_per_req // 0 | round) us/req (\(.value.haproxy.errors) err)"' <<<"$result"
jq -r '.ratios | to_entries[] | "\(.key)\tqcc/haproxy CPU per request: \(.value)"' <<<"$result"
[ -z "$out" ] || echo "$result" >"$out"
