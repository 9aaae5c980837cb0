#!/bin/bash
# Added time to the client's first SSE event through qcc-run (issue 11: the
# events before the first content_block_delta are held so a failure there
# can still be retried). Healthy mock upstream, one keep-alive connection,
# N streamed requests per round, rounds alternating direct / qcc-run; prints
# the median (over rounds) of each round's p50 time to the first complete
# event, and qcc-run minus direct.
#
#   tools/bench/hold-bench.sh [--build DIR] [--requests N] [--rounds R]
#                             [--qcc-run BIN --qccc BIN]
#
# --qcc-run/--qccc run another build (e.g. one from before the hold) on the
# same mock, for a before/after figure.
set -euo pipefail
build=build
requests=2000
rounds=5
qcc_bin=""
qccc_bin=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --qcc-run) qcc_bin=$2; shift 2 ;;
    --qccc) qccc_bin=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
mock=$build/tools/mock-upstream/mock-upstream
loadgen=$build/tools/bench/loadgen
qccc=${qccc_bin:-$build/compiler/qccc}
qcc_bin=${qcc_bin:-$build/runtime/qcc-run}
events=56
pin_gen=()
tmp=$(mktemp -d)
started=()
die() { echo "hold-bench: $*" >&2; exit 1; }
cleanup() { for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
. "$here/peers.sh"

start_mock fast
up=$mock_port
qport=$(free_port)
export QCC_BENCH_UPSTREAM_KEY=bench-upstream
qcc_bench_yaml "$tmp/qcc.yaml" "$up" "$qport"
"$qccc" build -c "$tmp/qcc.yaml" -o "$tmp/table.bin" >/dev/null 2>&1 || die "qccc build failed"
"$qcc_bin" --state-dir "$tmp/state" --listen "127.0.0.1:$qport" "$tmp/table.bin" >"$tmp/qcc.out" 2>&1 &
started+=("$!")
wait_port "$qport" "$!" || die "qcc-run did not start: $(last_lines "$tmp/qcc.out")"
probe "$qport" || die "qcc-run does not forward"

first_p50() { # PORT -> p50 first event, microseconds
  "$loadgen" --port "$1" --stream -c 1 -n "$requests" --key bench-client |
    jq -r '.first_event_us.p50'
}
d=() q=()
for r in $(seq "$rounds"); do
  d+=("$(first_p50 "$up")")
  q+=("$(first_p50 "$qport")")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dm=$(med "${d[@]}") qm=$(med "${q[@]}")
echo "rounds: direct ${d[*]} | qcc-run ${q[*]} (p50 first event, us)"
awk -v d="$dm" -v q="$qm" 'BEGIN { printf "direct %.1f us, qcc-run %.1f us, added %.1f us\n", d, q, q - d }'
