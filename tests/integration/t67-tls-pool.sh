#!/bin/bash
# Trust decides connection sharing (issue 12): qcc-run installs each
# endpoint's CA store itself (runtime/egress.c), so libcurl must still see
# endpoints with different trust as different TLS settings. One TLS mock,
# signed by CA "ca":
#   1. endpoint a (ca_file ca.pem) and b on the SAME host:port with the
#      ca_file of another CA: after a's request left a verified connection in
#      the pool, a request pinned to b fails verification with the reason;
#      it does not go out on a's connection.
#   2. the same with b on another name of that server (localhost): b's new
#      connection verifies with b's CAs, not with a store libcurl kept from
#      a's connection.
#   3. a reload that changes tls.ca_path to a directory without the CA: a new
#      connection after the reload verifies with the new directory (the mock
#      closes every connection, so each request connects).
#   4. the warmer keeps one connection per trust: a is warmed even though
#      b, on the same host:port, is refused.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
pki_init
pki_ca "$P" ca && pki_ca "$P" other || bail_out "openssl could not make the CAs"
pki_leaf "$P" srv ca "IP:127.0.0.1,DNS:localhost" || bail_out "openssl could not make the cert"
for d in ca other; do
	mkdir -p "$P/dir-$d" && cp "$P/$d.pem" "$P/dir-$d/" && openssl rehash "$P/dir-$d" >/dev/null 2>&1 ||
		bail_out "openssl rehash failed"
done

start_mock srv --tls-cert "$P/srv.pem" --tls-key "$P/srv.key"
start_mock fresh --tls-cert "$P/srv.pem" --tls-key "$P/srv.key" --close-every 1
it_keys a b
surl() { printf 'https://%s:%s' "${2:-127.0.0.1}" "${MOCK_PORT[$1]}"; }
ISSUER_REASON="unable to get local issuer certificate"

# config OUT GLOBAL_TLS URL_A [CA_A] URL_B [CA_B]: a in profile "first"
# (primary), b in "second" (secondary); no automatic switching.
config() {
	{
		printf 'version: 1\nproxy:\n  host: 127.0.0.1\nhealth:\n  enabled: false\nqueue:\n  enabled: false\n'
		printf 'switching_policy:\n  auto_switch: false\n  auto_recovery: false\n  fallback_enabled: false\n%s\n' "$2"
		printf 'profiles:\n'
		printf '  - name: first\n    priority: primary\n    endpoints:\n'
		printf '      - id: a\n        base_url: %s\n        api_key_env: QCC_IT_KEY_A\n' "$3"
		[ -z "$4" ] || printf '        ca_file: %s\n' "$4"
		printf '  - name: second\n    priority: secondary\n    endpoints:\n'
		printf '      - id: b\n        base_url: %s\n        api_key_env: QCC_IT_KEY_B\n' "$5"
		[ -z "$6" ] || printf '        ca_file: %s\n' "$6"
	} >"$1"
}
post() { # -> status; body in $T/resp.json
	curl -sS -m 20 -o "$T/resp.json" -w '%{http_code}' -H 'content-type: application/json' \
		-H 'anthropic-version: 2023-06-01' --data "$(body_json claude-sonnet-4-5)" "$(qcc_url)/v1/messages"
}
Q() { "$QCCC_BIN" "$@" --state-dir "$QCC_STATE"; }
endpoints_json() { curl -sS -m 5 --unix-socket "$QCC_STATE/admin.sock" http://qcc/endpoints; }
last_error() { endpoints_json | jq -r --arg id "$1" '[.. | objects | select(.id == $id and has("last_error"))][0].last_error // ""'; }
requests_to() { mock_requests "$1" | wc -l; }
table() { build_table "$1" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"; }
reload() { # CONFIG: build it over the served table, wait until qcc-run serves it
	local g
	g=$(healthz_generation)
	table "$1"
	wait_generation_above "$g" >/dev/null || bail_out "the reload was not picked up"
}

# ---- 1. same host:port, different ca_file -----------------------------------
cp "$P/ca.pem" "$P/a-ca.pem"
config "$T/same.yaml" "" "$(surl srv)" "$P/a-ca.pem" "$(surl srv)" "$P/other.pem"
table "$T/same.yaml"
start_qcc "$T/table.bin"
last_conn() { mock_requests srv '.conn' | tail -1; }
assert_eq "a (its CA in ca_file): 200" "200" "$(post)"
c1=$(last_conn)
assert_eq "a again: 200" "200" "$(post)"
assert_eq "on the same (pooled) connection" "$c1" "$(last_conn)"
n0=$(requests_to srv)
Q priority switch second --reason trust-test >/dev/null || bail_out "priority switch failed"
assert_eq "b (another CA in ca_file) on the same host:port: refused (502)" "502" "$(post)"
assert_contains "the client is told b's verification failed" \
	"$(jq -r .error.message "$T/resp.json")" "$ISSUER_REASON"
assert_eq "no request reached the upstream through b" "$n0" "$(requests_to srv)"
assert_contains "b's health status names the reason" "$(last_error b)" "$ISSUER_REASON"
Q priority switch first --reason back >/dev/null
assert_eq "a after b's refusal: 200" "200" "$(post)"
assert_eq "still on a's connection" "$c1" "$(last_conn)"
# the same trust in a new generation keeps the connection; a changed file is new trust
sed 's/^    endpoints:$/    description: reloaded\n    endpoints:/' "$T/same.yaml" >"$T/same2.yaml"
reload "$T/same2.yaml"
assert_eq "after a reload with the same ca_file: 200" "200" "$(post)"
assert_eq "on the connection verified before the reload" "$c1" "$(last_conn)"
cat "$P/ca.pem" "$P/other.pem" >"$P/a-ca.pem"
reload "$T/same.yaml"
assert_eq "after a reload with a changed ca_file: 200" "200" "$(post)"
assert_ne "on a new connection (verified with the new file)" "$c1" "$(last_conn)"
stop_qcc

# ---- 2. another name of the same server, different ca_file ------------------
config "$T/name.yaml" "" "$(surl srv)" "$P/ca.pem" "$(surl srv localhost)" "$P/other.pem"
table "$T/name.yaml"
start_qcc "$T/table.bin"
assert_eq "a: 200" "200" "$(post)"
n0=$(requests_to srv)
Q priority switch second --reason trust-test >/dev/null || bail_out "priority switch failed"
assert_eq "b (localhost, another CA): refused with b's CAs (502)" "502" "$(post)"
assert_contains "and the reason" "$(jq -r .error.message "$T/resp.json")" "$ISSUER_REASON"
assert_eq "no request reached the upstream through b" "$n0" "$(requests_to srv)"
stop_qcc

# ---- 3. a reload changes tls.ca_path; every request connects ----------------
config "$T/dir1.yaml" "tls:
  ca_path: $P/dir-ca" "$(surl fresh)" "" "$(surl fresh localhost)" ""
table "$T/dir1.yaml"
start_qcc "$T/table.bin"
assert_eq "tls.ca_path with the CA: 200" "200" "$(post)"
assert_eq "and again on a new connection: 200" "200" "$(post)"
config "$T/dir2.yaml" "tls:
  ca_path: $P/dir-other" "$(surl fresh)" "" "$(surl fresh localhost)" ""
reload "$T/dir2.yaml"
n0=$(requests_to fresh)
assert_eq "after a reload to a tls.ca_path without the CA: refused (502)" "502" "$(post)"
assert_contains "with the reason" "$(jq -r .error.message "$T/resp.json")" "$ISSUER_REASON"
assert_eq "no request reached the upstream after the reload" "$n0" "$(requests_to fresh)"
stop_qcc

# ---- 4. the warmer keeps a connection per trust, not per host:port ------------
# b (listed last, so the one an origin-wide warm-up went through) is refused;
# a must still get its warm connection.
config "$T/warm.yaml" "" "$(surl srv)" "$P/ca.pem" "$(surl srv)" "$P/other.pem"
table "$T/warm.yaml"
warmups() { mock_requests srv 'select(.path == "/v1/models")' | wc -l; }
w0=$(warmups)
warmed_twice() { [ "$(warmups)" -ge "$((w0 + 2))" ]; }
QCC_KEEP_WARM=1 start_qcc "$T/table.bin"
wait_until 60 0.1 warmed_twice || true
assert_le "a (its CA) is kept warm beside b (another CA) on the same host:port" "$((w0 + 2))" "$(warmups)"
stop_qcc
done_testing
