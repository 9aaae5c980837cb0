#!/usr/bin/env bash
# tls-bench.sh: qcc-run's CPU per new upstream TLS connection.
#
#   tools/bench/tls-bench.sh [--build DIR] [--requests N] [--trust system|ca_file|other_ca]
#                            [--close-every N]
#
# A TLS mock upstream (certificate from a CA made here, mock from this
# tree's build) and qcc-run (from --build, e.g. an older tree's) with one
# https endpoint. With --trust system (default) the private CA is not
# trusted: every request makes a new TLS connection that is refused after
# the full handshake and verification, so nothing is reused and each
# request costs exactly one connection. --trust ca_file trusts the CA (the
# connection is then reused: a check that the setup works). --close-every 1
# with --trust ca_file: the mock closes each connection after its response,
# so every request makes a new connection that verifies and succeeds (the
# cost of a new connection to a ca_file endpoint, TLS session resumed).
# --trust other_ca: a ca_file with another CA, refused after the full
# handshake as with system, through a ca_file store (and its trust tag).
# Reported: qcc-run's CPU (utime + stime from /proc) per request, and
# instructions per request under callgrind ((full - base) / N).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peers.sh"
root=$(cd "$here/../.." && pwd)
build="$root/build"
requests=100
trust=system
close_every=0
die() { echo "tls-bench: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift ;;
    --requests) requests=$2; shift ;;
    --trust) trust=$2; shift ;;
    --close-every) close_every=$2; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
  shift
done
case "$trust" in system|ca_file|other_ca) ;; *) die "--trust must be system, ca_file or other_ca" ;; esac
build=$(cd "$build" && pwd)
# the TLS mock is this tree's; --build may name an older qcc-run + qccc
mock="$root/build/tools/mock-upstream/mock-upstream"
qccc="$build/compiler/qccc"
qccrun="$build/runtime/qcc-run"
tmp=$(mktemp -d /tmp/qcc-tls-bench.XXXXXX)
pin_gen=()
declare -a started=()
cleanup() {
  local p
  for p in "${started[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=bench CA" >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$tmp/s.key" \
  -out "$tmp/s.csr" -subj "/CN=127.0.0.1" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$tmp/s.ext"
openssl x509 -req -in "$tmp/s.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 9 -days 2 \
  -extfile "$tmp/s.ext" -out "$tmp/s.pem" >/dev/null 2>&1

"$mock" --listen 127.0.0.1:0 --port-file "$tmp/m.port" --name tls --events 7 \
  --tls-cert "$tmp/s.pem" --tls-key "$tmp/s.key" --close-every "$close_every" >"$tmp/m.out" 2>&1 &
started+=("$!")
for _ in $(seq 100); do [ -s "$tmp/m.port" ] && break; sleep 0.05; done
mport=$(cat "$tmp/m.port") || die "mock did not start (built with --tls-cert?)"
extra=""
[ "$trust" = ca_file ] && extra="        ca_file: $tmp/ca.pem"
if [ "$trust" = other_ca ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$tmp/other.key" -out "$tmp/other.pem" -subj "/CN=bench other CA" >/dev/null 2>&1
  extra="        ca_file: $tmp/other.pem"
fi
cat >"$tmp/q.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  port: 9
  access_log: false
  log_level: error
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: p
    endpoints:
      - id: tls
        base_url: https://127.0.0.1:$mport
        api_key_env: K
        max_failures: 1000
$extra
YAML
"$qccc" build -c "$tmp/q.yaml" -o "$tmp/t.bin" >"$tmp/qccc.out" 2>&1 || die "qccc: $(cat "$tmp/qccc.out")"

send() { # PORT N
  local i
  for i in $(seq 1 "$2"); do
    curl -s -o /dev/null -m 10 -H 'content-type: application/json' -H 'connection: close' \
      --data '{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}' \
      "http://127.0.0.1:$1/v1/messages" || true
  done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # N [wrapper...] -> prints ticks used by the requests
  local n=$1
  shift
  local port
  port=$(free_port)
  rm -rf "$tmp/st" && mkdir -p "$tmp/st"
  # no warm-up connections (runtime/warmer.c): they would be counted too
  K=bench QCC_KEEP_WARM=0 "$@" "$qccrun" --state-dir "$tmp/st" --listen "127.0.0.1:$port" "$tmp/t.bin" \
    >"$tmp/q.out" 2>&1 &
  local pid=$!
  started+=("$pid")
  for _ in $(seq 300); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  send "$port" 2
  local t0
  t0=$(cpu_ticks "$pid")
  send "$port" "$n"
  local t1
  t1=$(cpu_ticks "$pid")
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  echo $((t1 - t0))
}

hz=$(getconf CLK_TCK)
ticks=$(run "$requests")
echo "tls-bench: trust=$trust close_every=$close_every requests=$requests cpu=$(awk -v t="$ticks" -v hz="$hz" -v n="$requests" \
  'BEGIN{printf "%.2f ms per request (%d ticks of 1/%d s)", t*1000/hz/n, t, hz}')"
if command -v valgrind >/dev/null; then
  n=20
  run 0 valgrind --tool=callgrind --callgrind-out-file="$tmp/base.cg" >/dev/null
  run "$n" valgrind --tool=callgrind --callgrind-out-file="$tmp/full.cg" >/dev/null
  b=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/base.cg")
  f=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/full.cg")
  echo "tls-bench: trust=$trust close_every=$close_every instructions per request: $(( (f - b) / n ))"
fi
