#!/bin/bash
# The journal in qcc-run (issue 5): kill -9 at random moments under load with
# journal.fsync always, 30 rounds: every restart recovers (torn tail cut),
# every startup record (written and fsynced before qcc-run answers) is
# there, and the journal checks clean at the end (`qccc journal check`).
# Corruption before the tail refuses to start, naming `qccc journal check
# --fix`. Keys never appear in the journal.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

ROUNDS=${QCC_IT_JOURNAL_ROUNDS:-30}
start_mock a
start_mock f
it_keys a f
cat >"$T/qcc.yaml" <<YAML
version: 1
proxy:
  host: 127.0.0.1
  access_log: true
health:
  enabled: true
  check: models
  check_interval: 1s
  timeout: 500ms
  retry_count: 0
queue:
  enabled: false
journal:
  fsync: always
switching_policy:
  cooldown_period: 1s
profiles:
  - name: main
    endpoints:
$(ep_yaml a)
$(ep_yaml f "max_failures: 1")
YAML
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
# f fails every request and check: breaker and health records keep coming
mock_fault f 'status=500'

starts=0
recovered=0
for r in $(seq "$ROUNDS"); do
	start_qcc "$T/table.bin"
	starts=$((starts + 1))
	(
		for i in $(seq 200); do
			curl -sS -m 2 -o /dev/null "$(qcc_url)/v1/messages" -H 'x-api-key: c' -d "$(body_json crash)" 2>/dev/null || break
		done
	) &
	LOADP=$!
	sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
	kill -KILL "$QCC_PID"
	wait "$QCC_PID" 2>/dev/null
	QCC_PID=""
	kill "$LOADP" 2>/dev/null
	wait "$LOADP" 2>/dev/null
done
# one more start: it must come up on whatever the last kill left
start_qcc "$T/table.bin"
starts=$((starts + 1))
recovered=$(grep -c 'torn tail' "$QCC_ERR_LOG")
diag "$starts starts, $recovered of them cut a torn tail"
stop_qcc

out=$("$QCCC_BIN" journal check --state-dir "$QCC_STATE" 2>&1)
rc=$?
assert_eq "qccc journal check after $ROUNDS kill -9 rounds: exit 0" "0" "$rc"
assert_contains "qccc journal check: ok_up_to" "$out" "ok_up_to="
assert_eq "every acknowledged startup record is there" "$starts" \
	"$(journal_json | jq '[.[] | select(.type=="startup")] | length')"
assert_le "breaker/health records were written under load" 1 \
	"$(journal_json | jq '[.[] | select(.type=="breaker" or .type=="health_status")] | length')"
assert_eq "the clean stop wrote a shutdown record" "true" \
	"$(journal_json | jq '[.[] | select(.type=="shutdown")] | last | .clean')"
if grep -qaF -e "$QCC_IT_KEY_A" -e "$QCC_IT_KEY_F" "$QCC_STATE/journal.qj"; then
	not_ok "no key in the journal file"
else
	ok "no key in the journal file"
fi

# corruption before the tail: refuse to start, name the repair command
mkdir -p "$T/bad"
cp "$QCC_STATE/journal.qj" "$T/bad/journal.qj"
chmod 600 "$T/bad/journal.qj"
size=$(stat -c %s "$T/bad/journal.qj")
printf '\xff\xff\xff\xff' | dd of="$T/bad/journal.qj" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
timeout 10 "$QCC_RUN_BIN" --state-dir "$T/bad" --listen "127.0.0.1:$(free_port)" "$T/table.bin" \
	>/dev/null 2>"$T/bad.err"
rc=$?
assert_eq "corrupt journal: qcc-run refuses to start (exit 1)" "1" "$rc"
assert_contains "corrupt journal: the message names qccc journal check --fix" "$(cat "$T/bad.err")" \
	"qccc journal check"
done_testing
