#!/bin/bash
# A corrupt table dropped in place is rejected, and the old one keeps serving;
# a good table afterwards is picked up.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"

export QCC_IT_KEY_UP1=$(make_secret sk-it-up1)
export QCC_IT_KEY_UP2=$(make_secret sk-it-up2)
start_mock up1 --key-env QCC_IT_KEY_UP1
start_mock up2 --key-env QCC_IT_KEY_UP2
QCC_PORT=$(free_port)
std_config "$T/qcc.yaml" up1
build_table "$T/qcc.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
cp "$T/table.bin" "$T/good.bin"
QCC_LISTEN_PORT=$QCC_PORT start_qcc "$T/table.bin"
P=$(qcc_url)
g0=$(healthz_generation)

# rejected N: the error log reports at least N rejected tables (2 s)
rejects() { [ "$(grep -ci 'reject' "$QCC_ERR_LOG")" -ge "$1" ]; }
expect_rejects() { # N NAME
	if wait_until 40 0.05 rejects "$1"; then ok "$2"; else not_ok "$2" "error log: $(tail -c 300 "$QCC_ERR_LOG")"; fi
}

ask() { curl -sS -m 10 "$P/v1/messages" -H 'x-api-key: client-token' -d "$(body_json c)" | jq -r '.content[0].text' 2>/dev/null; }

# 1. random bytes, renamed into place (what an atomic writer would do)
head -c 4096 /dev/urandom >"$T/junk.tmp"
mv "$T/junk.tmp" "$T/table.bin"
expect_rejects 1 "garbage table: rejection logged"
assert_eq "garbage table: healthz keeps the old generation" "$g0" "$(healthz_generation)"
assert_contains "garbage table: old table still serving" "$(ask)" "from up1"

# 2. a valid table cut short, written in place
size=$(stat -c %s "$T/good.bin")
head -c $((size / 2)) "$T/good.bin" >"$T/table.bin"
expect_rejects 2 "truncated table: rejection logged"
assert_eq "truncated table: healthz keeps the old generation" "$g0" "$(healthz_generation)"
assert_contains "truncated table: old table still serving" "$(ask)" "from up1"

# 3. a valid table with one payload byte flipped (checksum mismatch)
cp "$T/good.bin" "$T/flip.bin"
off=$((size - 9))
orig=$(od -An -tu1 -j "$off" -N1 "$T/flip.bin" | tr -d ' ')
printf '%b' "\\$(printf %03o $(((orig + 1) % 256)))" | dd of="$T/flip.bin" bs=1 seek="$off" conv=notrunc status=none
if cmp -s "$T/good.bin" "$T/flip.bin"; then not_ok "flipped byte: the copy differs"; else ok "flipped byte: the copy differs"; fi
mv "$T/flip.bin" "$T/table.bin"
expect_rejects 3 "flipped byte: rejection logged"
assert_eq "flipped byte: healthz keeps the old generation" "$g0" "$(healthz_generation)"
assert_contains "flipped byte: old table still serving" "$(ask)" "from up1"
kill -HUP "$QCC_PID"
expect_rejects 4 "flipped byte + SIGHUP: rejection logged"
assert_eq "flipped byte + SIGHUP: still the old generation" "$g0" "$(healthz_generation)"
check "qcc-run alive after bad tables" kill -0 "$QCC_PID"

# 4. recovery: a good new table is picked up
std_config "$T/qcc.yaml" up2
if build_table "$T/qcc.yaml" "$T/table.bin"; then
	g1=$(wait_generation_above "$g0")
	assert_ne "good table after bad ones: generation advances" "$g0" "$g1"
	assert_contains "good table after bad ones: new upstream answers" "$(ask)" "from up2"
else
	not_ok "qccc build over a corrupt table.bin" "$(cat "$T/qccc.out")"
fi

stop_qcc
done_testing
