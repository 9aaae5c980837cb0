#!/bin/bash
# Claude-Code-sized bodies over TLS (issue 12): 50 KB, 500 KB and 1 MB
# request bodies shaped like Claude Code's (tools/bench/ccbody.py: long
# history, tool_result code full of quotes, backslashes and non-ASCII),
# streamed and not, go through qcc-run to a TLS mock upstream (HTTP/1.1) and,
# when nginx with http2 is installed, to the same mock behind an h2
# terminator. The upstream logs each body's SHA-256 (mock-upstream --log):
# without a model map it is the client's body byte for byte; with one, it is
# the client's body with only the model's value changed.
. "$(dirname "$0")/lib.sh"
require_bins "$MOCK_BIN" "$QCCC_BIN" "$QCC_RUN_BIN"
command -v openssl >/dev/null || skip_all "openssl CLI not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
unset SSL_CERT_FILE SSL_CERT_DIR
CCBODY=$(cd "$(dirname "$0")/../.." && pwd)/tools/bench/ccbody.py
[ -f "$CCBODY" ] || bail_out "missing $CCBODY"

P=$T/pki
mkdir -p "$T/b"
make_pki "$P"

start_mock tls --tls-cert "$P/srv.pem" --tls-key "$P/srv.key"
start_mock plain
routes="tls"
if nginx_h2; then
	start_nginx_h2 "$P" 256 "  access_log off;" "\
    client_max_body_size 16m;
    location / {
      proxy_pass http://127.0.0.1:${MOCK_PORT[plain]};
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering off;
      proxy_request_buffering off;
    }"
	routes="tls h2"
else
	diag "nginx with http2 not installed: the h2 leg is not run"
fi

# the bodies, and what the upstream must receive: as sent, or with the model
# value (the first, top-level "model") spliced to glm-4.6
for size in 50k 500k 1m; do
	for s in stream no-stream; do
		f=$T/b/$size-$s.json
		if [ "$s" = stream ]; then python3 "$CCBODY" "$size" "$f"; else python3 "$CCBODY" "$size" "$f" --no-stream; fi ||
			bail_out "ccbody.py failed"
		python3 - "$f" "$f.mapped" <<'PY' || bail_out "could not make the mapped body"
import sys
b = open(sys.argv[1], "rb").read()
old = b'"model":"claude-sonnet-4-5"'
assert b.count(old) == 1
open(sys.argv[2], "wb").write(b.replace(old, b'"model":"glm-4.6"'))
PY
	done
done
sha() { sha256sum "$1" | cut -d' ' -f1; }

export QCC_IT_KEY_UP=$(make_secret sk-it-up)
table_for() { # URL MAP(0|1)
	{
		QCC_PORT='' yaml_head
		yaml_profile main
		tls_ep_yaml up "$1" QCC_IT_KEY_UP "$P/ca.pem" "timeout: 60s"
		[ "$2" = 0 ] || printf '        models:\n          claude-sonnet-4-5: glm-4.6\n'
	} >"$T/q.yaml"
	build_table "$T/q.yaml" "$T/table.bin" || bail_out "qccc build failed: $(cat "$T/qccc.out")"
}
post() { # FILE -> "STATUS"
	curl -sS -m 60 -o "$T/resp" -w '%{http_code}' -H 'content-type: application/json' \
		-H 'anthropic-version: 2023-06-01' -H 'Expect:' --data-binary "@$1" "$(qcc_url)/v1/messages"
}

for route in $routes; do
	if [ "$route" = tls ]; then url="https://127.0.0.1:${MOCK_PORT[tls]}" mock=tls; else url="https://127.0.0.1:$NPORT" mock=plain; fi
	for map in 0 1; do
		table_for "$url" "$map"
		start_qcc "$T/table.bin"
		for f in "$T"/b/*.json; do
			name=$(basename "$f" .json)
			want=$f
			[ "$map" = 0 ] || want=$f.mapped
			n0=$(mock_requests "$mock" | wc -l)
			assert_eq "$route map=$map $name: 200 through qcc-run" "200" "$(post "$f")"
			case $name in
				*-no-stream) assert_contains "$route map=$map $name: a JSON answer" "$(head -c 200 "$T/resp")" '"type":"message"' ;;
				*) assert_contains "$route map=$map $name: a whole stream" "$(cat "$T/resp")" "event: message_stop" ;;
			esac
			got=$(mock_requests "$mock" | tail -n +$((n0 + 1)) | jq -r '"\(.body_len) \(.body_sha256)"')
			assert_eq "$route map=$map $name: the upstream got $( [ "$map" = 0 ] && echo "the body byte for byte" || echo "it with only the model changed")" \
				"$(stat -c %s "$want") $(sha "$want")" "$got"
		done
		stop_qcc
	done
done
done_testing
