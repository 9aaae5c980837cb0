#!/bin/bash
# qcc-run's memory footprint (SPEC "Targets": <= 32 KiB RSS per open stream):
# 200 paced SSE streams at once through qcc-run, (VmHWM - idle) / 200, where
# idle is VmRSS after one forwarded request. Also guards the idle heap:
# anonymous RSS (our heap plus the libraries' relocated data) well under 4 MiB. The
# file-backed part of idle RSS depends on the system's libraries: printed only.
. "$(dirname "$0")/lib.sh"
LOADGEN_BIN=$QCC_BUILD_ROOT/tools/bench/loadgen
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN" "$LOADGEN_BIN"
[ -z "${QCC_IT_WRAPPER:-}" ] || skip_all "qcc-run runs under $QCC_IT_WRAPPER: its RSS is not qcc-run's"
STREAMS=200
# meson test sets MALLOC_PERTURB_, which fills every allocation and so makes
# untouched buffer pages resident: measure the allocator as it runs in use.
export MALLOC_PERTURB_=0
ulimit -n 4096 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((STREAMS * 2 + 64)) ] ||
	skip_all "needs $((STREAMS * 2 + 64)) file descriptors"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
# 56 events 18 ms apart: each stream stays open ~1 s
start_mock up1 --key-env QCC_IT_KEY_UP1 --event-delay-ms 18
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"

status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$QCC_PID/status"; }

code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$(qcc_url)/v1/messages" \
	-H "x-api-key: client-token" -d "$(body_stream footprint)")
assert_eq "one request forwarded before measuring" "200" "$code"
idle=$(status_kib VmRSS)
anon=$(status_kib RssAnon)
diag "idle: VmRSS $idle KiB (RssAnon $anon, RssFile $(status_kib RssFile))"
assert_le "idle anonymous RSS <= 4096 KiB" "${anon:-99999}" 4096

echo 5 >"/proc/$QCC_PID/clear_refs" 2>/dev/null # VmHWM from here (as tools/bench does)
"$LOADGEN_BIN" --port "$QCC_PORT" -c $STREAMS -n $STREAMS --stream --key client-token \
	--paced-ms 1000 --timeout 20 >"$T/loadgen.json" 2>"$T/loadgen.err"
assert_eq "all $STREAMS streams completed" "0" "$(jq -r .error_total "$T/loadgen.json" 2>/dev/null)"
hwm=$(status_kib VmHWM)
per=$(( (hwm - idle) * 10 / STREAMS ))
diag "peak VmHWM $hwm KiB: $((per / 10)).$((per % 10)) KiB per open stream"
assert_le "RSS per open stream <= 32 KiB (SPEC)" "$per" 320

stop_qcc
done_testing
