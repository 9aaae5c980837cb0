#!/bin/bash
# The warmer is configured by the config (upstream.keep_warm,
# upstream.keep_warm_for, an endpoint's keep_warm), not by QCC_KEEP_WARM
# (unset here), and a reload changes it at once:
#   - upstream.keep_warm: 1s warms a (the default) about once a second,
#     c with its own 3s less often, and b with keep_warm: off never;
#   - a reload to upstream.keep_warm: off stops it where the endpoint has
#     no keep_warm of its own (c goes on);
#   - keep_warm_for: 2s stops warming 2 s after the last forwarded request,
#     and the next request starts it again.
# Warm-ups are counted in the mocks' logs (keyless GET /v1/models).
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
unset QCC_KEEP_WARM
start_mock a
start_mock b
start_mock c
it_keys a b c
models() { mock_requests "$1" 'select(.path == "/v1/models") | .auth' | wc -l; }
at_least() { [ "$(models "$1")" -ge "$2" ]; } # NAME N
config() { # OUT UPSTREAM_LINES
	{
		printf 'version: 1\nproxy:\n  host: 127.0.0.1\nhealth:\n  enabled: false\nqueue:\n  enabled: false\n'
		printf 'upstream:\n%s\n' "$2"
		printf 'profiles:\n  - name: main\n    endpoints:\n'
		ep_yaml a
		ep_yaml b "keep_warm: off"
		ep_yaml c "keep_warm: 3s"
	} >"$1"
}
reload() { # CONFIG
	local g
	g=$(healthz_generation)
	build_table "$1" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
	wait_generation_above "$g" >/dev/null || bail_out "the reload was not picked up"
}

config "$T/on.yaml" "  keep_warm: 1s"
build_table "$T/on.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
assert_contains "qccc show: upstream.keep_warm from the config" \
	"$("$QCCC_BIN" show "$T/table.bin")" "upstream.keep_warm: 1s"
assert_eq "qccc show says off for b's keep_warm: off" "off" \
	"$("$QCCC_BIN" show "$T/table.bin" | awk '/^  endpoint b$/ {b = 1} b && /keep_warm:/ {print $2; exit}')"
start_qcc "$T/table.bin"
wait_until 80 0.1 at_least a 4 || true
sleep 0.3
na=$(models a) nb=$(models b) nc=$(models c)
diag "warm-ups after a's 4th: a=$na b=$nb c=$nc"
assert_le "keep_warm: 1s: a warmed again and again (4 times within 8 s)" 4 "$na"
assert_eq "keep_warm: off on b: never warmed" "0" "$nb"
assert_le "keep_warm: 3s on c: warmed (at start)" 1 "$nc"
assert_le "and less often than a (c <= 2 by a's 4th)" "$nc" 2
# the warm-ups are counted in /metrics: every one the mocks saw (one may be
# on its way at the scrape)
metric() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/metrics | awk -v n="$1" '$1 == n {print $2}'; }
seen=$(($(models a) + $(models b) + $(models c)))
sent=$(metric qcc_upstream_warm_requests_total)
diag "warm-ups seen by the mocks: $seen, qcc_upstream_warm_requests_total: $sent"
assert_le "qcc_upstream_warm_requests_total counts what the mocks saw" "$seen" "$sent"
assert_le "... and no more than one or two beyond" "$sent" "$((seen + 2))"
assert_le "qcc_upstream_warm_connections_total: at least the first connection to a and to c" 2 \
	"$(metric qcc_upstream_warm_connections_total)"
assert_eq "warm-ups carry no key" "none" \
	"$(mock_requests a 'select(.path == "/v1/models") | .auth' | sort -u | tr -d '"')"

# ---- off by a reload ----------------------------------------------------------
config "$T/off.yaml" "  keep_warm: off"
reload "$T/off.yaml"
sleep 0.5 # one in flight may still land
na=$(models a) nc=$(models c)
sleep 2.5
assert_eq "after a reload to keep_warm: off, a (the default) is not warmed" "$na" "$(models a)"
wait_until 50 0.1 at_least c "$((nc + 1))" || true
assert_le "c, with its own keep_warm: 3s, still is" "$((nc + 1))" "$(models c)"

# ---- keep_warm_for ------------------------------------------------------------
config "$T/for.yaml" "  keep_warm: 1s
  keep_warm_for: 2s"
reload "$T/for.yaml"
# qcc-run forwarded nothing for longer than 2 s: nothing is warmed
na=$(models a)
sleep 2.5
assert_eq "keep_warm_for: 2s, no request for longer: a is not warmed" "$na" "$(models a)"
assert_eq "a request is forwarded" "200" "$(ask "$(body_json claude-sonnet-4-5)" | cut -d' ' -f1)"
wait_until 40 0.1 at_least a "$((na + 1))" || true
assert_le "after a request, a is warmed again" "$((na + 1))" "$(models a)"
sleep 3.5
na=$(models a)
sleep 2.5
assert_eq "and 2 s after it, no longer" "$na" "$(models a)"
stop_qcc
done_testing
