#!/bin/bash
# The warmer follows the table (runtime/warmer.c): every origin of the table
# is warmed (a keyless GET /v1/models, at start and after each idle
# interval), one at a time per origin, never with the key; after a reload
# without an endpoint, its origin is no longer warmed, the others still are;
# requests in flight count as use (no warm-up while busy).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
start_mock a --event-delay-ms 60 # a stream lasts ~3.3 s
start_mock b
start_mock c
it_keys a b c
models() { mock_requests "$1" 'select(.path == "/v1/models") | .auth' | wc -l; }
config() { # OUT NAME...
	local out=$1 n
	shift
	{
		printf 'version: 1\nproxy:\n  host: 127.0.0.1\nhealth:\n  enabled: false\nqueue:\n  enabled: false\n'
		printf 'profiles:\n  - name: main\n    endpoints:\n'
		for n in "$@"; do
			printf '      - id: %s\n        base_url: %s\n        api_key_env: QCC_IT_KEY_%s\n' "$n" "$(mock_url "$n")" "${n^^}"
		done
	} >"$out"
}
config "$T/abc.yaml" a b c
build_table "$T/abc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_KEEP_WARM=1 start_qcc "$T/table.bin"
warmed() { [ "$(models a)" -ge "$1" ] && [ "$(models b)" -ge "$1" ] && [ "$(models c)" -ge "$1" ]; }
wait_until 60 0.1 warmed 2 || bail_out "not every origin was warmed twice: a=$(models a) b=$(models b) c=$(models c)"
assert_eq "warm-ups carry no key" "none" "$(mock_requests a 'select(.path == "/v1/models") | .auth' | sort -u | tr -d '"')"

# b leaves the table
config "$T/ac.yaml" a c
g=$(healthz_generation)
build_table "$T/ac.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
wait_generation_above "$g" >/dev/null || bail_out "the reload was not picked up"
sleep 0.5
b0=$(models b) a0=$(models a) c0=$(models c)
sleep 3.5
assert_eq "after the reload, the removed origin is not warmed" "$b0" "$(models b)"
assert_le "the others still are (a)" "$((a0 + 2))" "$(models a)"
assert_le "the others still are (c)" "$((c0 + 2))" "$(models c)"
assert_le "bounded: at most one per interval (a: <= 4 in 3.5 s)" "$(models a)" "$((a0 + 4))"

# a long stream on a (the only endpoint now): no warm-up to a while it runs
config "$T/a.yaml" a
g=$(healthz_generation)
build_table "$T/a.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
wait_generation_above "$g" >/dev/null || bail_out "the reload was not picked up"
sleep 1.5
a1=$(models a)
curl -sS -m 10 -o "$T/stream.out" -H 'content-type: application/json' --data "$(body_stream claude-sonnet-4-5)" \
	"$(qcc_url)/v1/messages" &
slow=$!
track_pid "$slow"
sleep 3
assert_le "no warm-up while a stream is in flight on the origin (<= 1: one may have gone as it began)" \
	"$(models a)" "$((a1 + 1))"
wait "$slow"
assert_eq "the stream completed" "1" "$(grep -c '^event: message_stop' "$T/stream.out")"
stop_qcc
done_testing
