#!/bin/bash
# tools/demo.sh (the README's first command) runs end to end on free ports and
# cleans up: the stream goes through, upstream-1 is made to fail and the next
# request is answered by upstream-2, `qccc status` / `endpoint list` / `logs
# --errors` show why; no ANSI codes when stdout is not a terminal.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
[ -f "$QCC_SOURCE_ROOT/examples/quickstart.yaml" ] || skip_all "examples/quickstart.yaml not there yet"

# The ports of the old fixed-port demo, held busy: the demo must not care.
python3 -c 'import socket, sys, time
ss = []
for p in (7860, 18001, 18002):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.listen(1); ss.append(s)
    except OSError:
        pass
sys.stdout.write("held\n"); sys.stdout.flush()
time.sleep(120)' >"$T/hold.out" 2>&1 &
track_pid $!
wait_until 50 0.1 grep -q held "$T/hold.out"

unset QCC_STATE_DIR
QCC_BUILD_DIR=$QCC_BUILD_ROOT TMPDIR=$T timeout 60 bash "$QCC_SOURCE_ROOT/tools/demo.sh" >"$T/demo.out" 2>&1
rc=$?
assert_eq "demo exits 0 (old fixed ports taken)" "0" "$rc"
out=$(cat "$T/demo.out")
assert_contains "demo: qccc start printed the export line" "$out" "export ANTHROPIC_BASE_URL=http://127.0.0.1:"
assert_contains "demo: stream went through" "$out" "event: message_stop"
assert_contains "demo: an upstream named itself" "$out" "Hello from upstream-"
assert_contains "demo: after the fault, upstream-2 answered" "$out" "the next request was answered by: upstream-2"
assert_contains "demo: qccc status shows the retry" "$out" "1 retry"
assert_contains "demo: the error log says why" "$out" "upstream mock-1: HTTP 529"
assert_contains "demo: qccc show printed the table" "$out" "QCC_DEMO_KEY_1"
assert_contains "demo: stopped qcc-run" "$out" "drained; exiting"
assert_not_contains "demo: no key value printed" "$out" "demo-key-1"
assert_not_contains "demo: no ANSI codes when stdout is not a terminal" "$out" $'\033['
assert_eq "demo: left no temp dir behind" "0" "$(find "$T" -maxdepth 1 -name 'qcc-demo.*' | wc -l)"
ports=$(grep -oE 'upstream-[12]  http://127.0.0.1:[0-9]+' "$T/demo.out" | sed 's/.*://')
sleep 0.2
busy=0
for p in $ports; do
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && busy=$((busy + 1))
done
assert_eq "demo: stopped its mock upstreams" "0" "$busy"

# On a terminal (script(1) gives it one) the headings are bold.
if command -v script >/dev/null 2>&1; then
	QCC_BUILD_DIR=$QCC_BUILD_ROOT TMPDIR=$T timeout 60 script -qec "bash $QCC_SOURCE_ROOT/tools/demo.sh" /dev/null \
		>"$T/demo-tty.out" 2>&1
	assert_contains "demo on a terminal: bold headings" "$(cat "$T/demo-tty.out")" $'\033[1m== 1.'
fi

done_testing
