#!/bin/bash
# tools/demo.sh (the README's first command) runs end to end and cleans up.
# It needs the fixed ports of examples/quickstart.yaml (18001, 18002): skips
# when they are taken.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
[ -f "$QCC_SOURCE_ROOT/examples/quickstart.yaml" ] || skip_all "examples/quickstart.yaml not there yet"
for p in 18001 18002; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		skip_all "127.0.0.1:$p is in use (the demo needs it)"
	fi
done

QCC_BUILD_DIR=$QCC_BUILD_ROOT TMPDIR=$T timeout 60 bash "$QCC_SOURCE_ROOT/tools/demo.sh" >"$T/demo.out" 2>&1
rc=$?
assert_eq "demo exits 0" "0" "$rc"
out=$(cat "$T/demo.out")
assert_contains "demo: healthz answered" "$out" '"status":"ok"'
assert_contains "demo: stream went through" "$out" "event: message_stop"
assert_contains "demo: an upstream named itself" "$out" "Hello from upstream-"
assert_contains "demo: qccc show printed the table" "$out" "QCC_DEMO_KEY_1"
assert_not_contains "demo: no key value printed" "$out" "demo-key-1"
assert_eq "demo: left no temp dir behind" "0" "$(find "$T" -maxdepth 1 -name 'qcc-demo.*' | wc -l)"
sleep 0.2
busy=0
for p in 18001 18002; do
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && busy=$((busy + 1))
done
assert_eq "demo: stopped its mock upstreams" "0" "$busy"

done_testing
