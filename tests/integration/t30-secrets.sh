#!/bin/bash
# Secrets never appear in output: endpoint keys and client tokens are absent
# from the access log, the error log, stdout, the state dir, `qccc show` and
# error answers, after good traffic, rejected clients and a bad upstream key.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_KEY_UP2=$(make_secret sk-it-up2)
export QCC_IT_CLIENT_TOKEN=$(make_secret qcc-tok)
WRONG_TOKEN=$(make_secret wrong-tok)
start_mock up1 --key-env QCC_IT_KEY_UP1
# up2 expects another key than the one qcc-run has: every request to it is a 401
start_mock up2 --key "$(make_secret other)"
QCC_PORT=$(free_port)
QCC_IT_TOKEN_ENV=QCC_IT_CLIENT_TOKEN std_config "$T/qcc.yaml" up1 up2
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin" --log-level debug
P=$(qcc_url)

ok_count=0
for i in $(seq 6); do
	code=$(curl -sS -m 10 -o "$T/ans.$i" -w '%{http_code}' "$P/v1/messages" -H "x-api-key: $QCC_IT_CLIENT_TOKEN" -d "$(body_json s)")
	[ "$code" = 200 ] && ok_count=$((ok_count + 1))
	curl -sS -m 10 -o "$T/sans.$i" -N "$P/v1/messages" -H "authorization: Bearer $QCC_IT_CLIENT_TOKEN" -d "$(body_stream s)"
done
assert_le "requests with the right token succeed (bad upstream key retried on up1)" 6 "$ok_count"
code=$(curl -sS -m 10 -o "$T/wrong.json" -w '%{http_code}' "$P/v1/messages" -H "x-api-key: $WRONG_TOKEN" -d "$(body_json s)")
assert_eq "wrong client token -> 401" "401" "$code"
assert_eq "wrong client token -> authentication_error" "authentication_error" "$(jq -r .error.type "$T/wrong.json" 2>/dev/null)"
code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$P/v1/models")
assert_eq "no client token -> 401" "401" "$code"
curl -sS -m 10 -o /dev/null "$P/v1/models" -H "authorization: Bearer $WRONG_TOKEN"
kill -USR1 "$QCC_PID" 2>/dev/null
sleep 0.3

"$QCCC_BIN" show "$T/table.bin" >"$T/show.txt" 2>&1
"$QCCC_BIN" show "$T/table.bin" --json >"$T/show.json" 2>&1
assert_le "access log written" 1 "$(wc -l <"$QCC_ACCESS_LOG" 2>/dev/null || echo 0)"

# everything qcc-run and qccc wrote or answered
everything=$(cat "$QCC_ACCESS_LOG" "$QCC_ERR_LOG" "$T/qcc-run.out" "$T/show.txt" "$T/show.json" \
	"$T/qccc.out" "$T"/ans.* "$T"/sans.* "$T/wrong.json" 2>/dev/null; find "$QCC_STATE" -type f -exec cat {} + 2>/dev/null)
assert_not_contains "endpoint key 1 never written" "$everything" "$QCC_IT_KEY_UP1"
assert_not_contains "endpoint key 2 never written" "$everything" "$QCC_IT_KEY_UP2"
assert_not_contains "client token never written" "$everything" "$QCC_IT_CLIENT_TOKEN"
assert_not_contains "rejected client token never written" "$everything" "$WRONG_TOKEN"
# the table itself holds key references, not keys
assert_not_contains "table holds no key" "$(tr -d '\0' <"$T/table.bin")" "$QCC_IT_KEY_UP1"
assert_contains "qccc show names the key env, not the key" "$(cat "$T/show.txt")" "QCC_IT_KEY_UP1"

stop_qcc
done_testing
