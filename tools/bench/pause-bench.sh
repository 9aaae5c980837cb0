#!/bin/bash
# The first request after a pause (issue 12, "Faster than direct after a
# pause"): an HTTPS mock upstream DELAY ms away (one way, through
# tools/latency-relay) that closes connections idle for IDLE seconds. After
# PAUSE seconds without traffic, the same request is sent direct (a new
# connection: TCP + TLS, then the request) and through qcc-run (a loopback
# connect; qcc-run's warmer kept its upstream connection alive). Reported:
# time to first byte of each (curl's time_starttransfer) and the gain.
#
#   tools/bench/pause-bench.sh                       # 60 s idle close, 120 s pause, 2 rounds
#   tools/bench/pause-bench.sh --idle-close 15 --pause 20 --rounds 1 --keep-warm 5
#
# Options: --build DIR, --delay-ms MS (one way, 25: a 50 ms round trip),
# --idle-close S, --pause S, --rounds N, --keep-warm S (qcc-run's
# QCC_KEEP_WARM; unset: its default), --out FILE (JSON).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build delay=25 idle=60 pause=120 rounds=2 keep_warm="" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --delay-ms) delay=$2; shift 2 ;;
    --idle-close) idle=$2; shift 2 ;;
    --pause) pause=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --keep-warm) keep_warm=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "pause-bench: unknown option $1" >&2; exit 2 ;;
  esac
done
mock=$build/tools/mock-upstream/mock-upstream
qccc=$build/compiler/qccc
qccrun=$build/runtime/qcc-run
relay=$root/tools/latency-relay/latency-relay.py
for b in "$mock" "$qccc" "$qccrun"; do
  [ -x "$b" ] || { echo "pause-bench: $b not built" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/pause-bench.XXXXXX)
started=()
cleanup() {
  local p
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${started[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_file() { # FILE PID
  local i
  for i in $(seq 1 100); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# a CA and a certificate for 127.0.0.1, made now
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=pause-bench ca" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/srv.key" \
  -out "$tmp/srv.csr" -subj "/CN=127.0.0.1" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 7 -days 2 \
  -extfile "$tmp/ext" -out "$tmp/srv.pem" >/dev/null 2>&1

"$mock" --listen 127.0.0.1:0 --port-file "$tmp/mock.port" --name paused --tls-cert "$tmp/srv.pem" \
  --tls-key "$tmp/srv.key" --idle-close-s "$idle" --log "$tmp/mock.log" >"$tmp/mock.out" 2>&1 &
started+=($!)
wait_file "$tmp/mock.port" $! || { echo "pause-bench: mock did not start" >&2; exit 1; }
python3 "$relay" --listen 127.0.0.1:0 --to "127.0.0.1:$(cat "$tmp/mock.port")" --delay-ms "$delay" \
  --port-file "$tmp/relay.port" >"$tmp/relay.out" 2>&1 &
started+=($!)
wait_file "$tmp/relay.port" $! || { echo "pause-bench: relay did not start" >&2; exit 1; }
up="https://127.0.0.1:$(cat "$tmp/relay.port")"

qport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: $qport
  access_log: false
  log_level: debug
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: bench
    endpoints:
      - id: far
        base_url: $up
        api_key_env: QCC_BENCH_UPSTREAM_KEY
        ca_file: $tmp/ca.pem
        timeout: 30s
YAML
"$qccc" build -c "$tmp/qcc.yaml" -o "$tmp/table.bin" >"$tmp/qccc.out" 2>&1 ||
  { echo "pause-bench: qccc: $(cat "$tmp/qccc.out")" >&2; exit 1; }
mkdir -p "$tmp/state"
(
  [ -z "$keep_warm" ] || export QCC_KEEP_WARM=$keep_warm
  export QCC_BENCH_UPSTREAM_KEY=sk-bench-not-a-secret
  exec "$qccrun" --state-dir "$tmp/state" "$tmp/table.bin" >"$tmp/qcc.out" 2>"$tmp/qcc.err"
) &
started+=($!)
qpid=$!
for i in $(seq 1 100); do
  curl -sf -m 1 -o /dev/null "http://127.0.0.1:$qport/healthz" && break
  kill -0 "$qpid" 2>/dev/null || { echo "pause-bench: qcc-run exited: $(tail -3 "$tmp/qcc.err")" >&2; exit 1; }
  sleep 0.1
done

body='{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'
ttfb() { # URL [curl args] -> seconds to the first byte, or "fail"
  local url=$1
  shift
  curl -sS -m 30 -o /dev/null -w '%{http_code} %{time_starttransfer}' "$@" \
    -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' \
    -H 'x-api-key: sk-bench-not-a-secret' --data "$body" "$url/v1/messages" 2>/dev/null |
    awk '$1 == 200 { print $2; ok = 1 } END { if (!ok) print "fail" }'
}
direct() { ttfb "$up" --cacert "$tmp/ca.pem"; }
viaqcc() { ttfb "http://127.0.0.1:$qport"; }

# both paths have been used once: qcc-run has its connection, then silence
direct >/dev/null
viaqcc >/dev/null
results=()
for r in $(seq 1 "$rounds"); do
  sleep "$pause"
  d=$(direct)
  q=$(viaqcc)
  echo "pause-bench: round $r after ${pause}s: direct ${d}s, through qcc-run ${q}s" >&2
  results+=("$d $q")
done
closed=$(grep -c '"idle_closed"' "$tmp/mock.log" || true)
warms=$(grep -c '"path":"/v1/models"' "$tmp/mock.log" || true)
json=$(printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
ok = [(float(d), float(q)) for d, q in rows if d != "fail" and q != "fail"]
gain = [round((d - q) * 1000, 1) for d, q in ok]
print(json.dumps({
  "delay_ms_one_way": float(sys.argv[1]), "idle_close_s": float(sys.argv[2]),
  "pause_s": float(sys.argv[3]), "keep_warm": sys.argv[4] or "default",
  "rounds": len(rows), "failed": len(rows) - len(ok),
  "direct_ttfb_ms": [round(d * 1000, 1) for d, _ in ok],
  "qcc_ttfb_ms": [round(q * 1000, 1) for _, q in ok],
  "gain_ms": gain, "gain_ms_min": min(gain) if gain else None,
  "gain_ms_median": statistics.median(gain) if gain else None,
  "upstream_idle_closes": int(sys.argv[5]), "upstream_warm_requests": int(sys.argv[6]),
  "target": ">= 80 ms sooner than direct"}))
' "$delay" "$idle" "$pause" "$keep_warm" "$closed" "$warms")
echo "$json"
[ -z "$out" ] || echo "$json" >"$out"
