#!/bin/bash
# The table cannot be pulled out from under qcc-run (issue 13): while a load
# loop sends requests, the live table.bin is rewritten in place with garbage
# of the same size, truncated in place (`: > table.bin`), replaced by a FIFO
# and deleted. Each is rejected at reload with its reason logged, the old
# generation keeps serving, no request fails, qcc-run stays alive, and a
# good table built afterwards is picked up. (qcc-run used to map the file:
# truncation was SIGBUS, garbage a segfault, and a FIFO blocked the loop.)
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

MIN_REQUESTS=200
export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_KEY_UP2=$(make_secret sk-it-up2)
start_mock up1 --key-env QCC_IT_KEY_UP1
start_mock up2 --key-env QCC_IT_KEY_UP2
QCC_PORT=$(free_port)
std_config "$T/a.yaml" up1
std_config "$T/b.yaml" up2
build_table "$T/a.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)
g0=$(healthz_generation)
size=$(stat -c %s "$T/table.bin")

# Load: batches of 10 keep-alive requests per curl until the stop file
# exists, at most 150 batches; one "http_code exitcode" line per request.
load_worker() {
	local urls=() b
	for b in $(seq 10); do urls+=(-o /dev/null "$P/v1/messages"); done
	for ((b = 0; b < 150; b++)); do
		[ -e "$T/stop" ] && break
		curl -sS -m 20 -w '%{http_code} %{exitcode}\n' -H 'x-api-key: client-token' \
			-H 'content-type: application/json' -d "$(body_json load)" "${urls[@]}" \
			>>"$T/load.out" 2>>"$T/load.err"
	done
}
: >"$T/load.out"
load_worker &
LOAD=$!
track_pid $LOAD
wait_until 100 0.05 test -s "$T/load.out"

rejects() { grep -c 'table reload .* rejected' "$QCC_ERR_LOG"; }
ask() { curl -sS -m 10 "$P/v1/messages" -H 'x-api-key: client-token' -d "$(body_json c)" | jq -r '.content[0].text' 2>/dev/null; }

# after NAME REASON BEFORE: the rejection (with REASON) is logged, the old
# generation still serves, qcc-run lives.
after() {
	local name=$1 reason=$2 before=$3
	if wait_until 100 0.05 eval '[ "$(rejects)" -gt "$before" ]'; then
		ok "$name: reload rejected"
	else
		not_ok "$name: reload rejected" "$(tail -c 400 "$QCC_ERR_LOG")"
	fi
	assert_contains "$name: the log says why" "$(grep 'table reload' "$QCC_ERR_LOG" | tail -n 1)" "$reason"
	check "$name: qcc-run alive" kill -0 "$QCC_PID"
	assert_eq "$name: generation unchanged" "$g0" "$(healthz_generation)"
	assert_contains "$name: the old table still serves" "$(ask)" "from up1"
}

# 1. same-size garbage written in place (same inode: cp would do the same)
r=$(rejects)
head -c "$size" /dev/urandom | dd of="$T/table.bin" conv=notrunc status=none
after "garbage in place" "not a qcc table" "$r"
r=$(rejects)
kill -HUP "$QCC_PID"
after "garbage in place + SIGHUP" "not a qcc table" "$r"

# 1b. two same-size rewrites 0.2 s apart: the second usually lands in the
# second of libev's stat of the first (whole-second mtimes), so only the
# tableset's nanosecond re-check sees it; both must be tried and rejected.
r=$(rejects)
head -c "$size" /dev/urandom | dd of="$T/table.bin" conv=notrunc status=none
sleep 0.2
head -c "$size" /dev/urandom | dd of="$T/table.bin" conv=notrunc status=none
after "garbage twice within a second" "not a qcc table" "$((r + 1))"

# 2. truncated in place
r=$(rejects)
: >"$T/table.bin"
after "truncated in place" "0 bytes, too short" "$r"

# 3. a FIFO at the table path (nobody writes it: opening it must not block)
rm -f "$T/table.bin"
r=$(rejects)
mkfifo "$T/table.bin"
after "FIFO at the path" "not a regular file" "$r"
r=$(rejects)
kill -HUP "$QCC_PID"
after "FIFO at the path + SIGHUP" "not a regular file" "$r"

# 4. deleted: the watcher only warns; SIGHUP tries it and rejects
gone() { grep -c 'disappeared' "$QCC_ERR_LOG"; }
d=$(gone)
rm -f "$T/table.bin"
if wait_until 100 0.05 eval '[ "$(gone)" -gt "$d" ]'; then
	ok "deleted: the log says it disappeared"
else
	not_ok "deleted: the log says it disappeared" "$(tail -c 400 "$QCC_ERR_LOG")"
fi
check "deleted: qcc-run alive" kill -0 "$QCC_PID"
assert_eq "deleted: generation unchanged" "$g0" "$(healthz_generation)"
r=$(rejects)
kill -HUP "$QCC_PID"
after "deleted + SIGHUP" "No such file" "$r"

# 5. a good table afterwards is picked up
if build_table "$T/b.yaml" "$T/table.bin"; then
	g1=$(wait_generation_above "$g0")
	assert_ne "a good table afterwards: generation advances" "$g0" "$g1"
	assert_contains "a good table afterwards: the new upstream answers" "$(ask)" "from up2"
else
	not_ok "qccc build after the damage" "$(cat "$T/qccc.out")"
fi

# The load ran across all of it: at least MIN_REQUESTS, none failed.
wait_until 600 0.05 eval '[ "$(wc -l <"$T/load.out")" -ge $MIN_REQUESTS ]'
touch "$T/stop"
wait "$LOAD"
total=$(wc -l <"$T/load.out")
failed=$(grep -vc '^200 0$' "$T/load.out")
diag "load: $total requests, $failed failed"
assert_le "at least $MIN_REQUESTS requests during the damage" "$MIN_REQUESTS" "$total"
assert_eq "zero failed requests" "0" "$failed"
check "qcc-run alive at the end" kill -0 "$QCC_PID"

stop_qcc
stop_mocks
done_testing
