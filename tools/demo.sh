#!/bin/bash
# qcc demo: two mock upstreams on free loopback ports, examples/quickstart.yaml
# (pointed at them, failover order) started with `qccc start`, one streaming
# request shown as it streams, then upstream-1 made to fail: the next request
# is answered by upstream-2 and `qccc status` / `qccc endpoint list` say why.
#
#   tools/demo.sh           run the demo, then stop everything
#   tools/demo.sh --keep    leave it running (prints how to point Claude Code at it)
#
# Builds nothing: run `meson setup build && ninja -C build` first
# (QCC_BUILD_DIR overrides the build directory). Colours only on a terminal
# (and not with NO_COLOR set).
set -u
set -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${QCC_BUILD_DIR:-$ROOT/build}
MOCK=$BUILD/tools/mock-upstream/mock-upstream
QCCC=$BUILD/compiler/qccc
QCC_RUN=$BUILD/runtime/qcc-run
CONFIG=$ROOT/examples/quickstart.yaml
KEEP=0

case "${1:-}" in
--keep) KEEP=1 ;;
"") ;;
-h | --help)
	sed -n '2,12p' "$0" | cut -c3-
	exit 0
	;;
*)
	echo "usage: tools/demo.sh [--keep]" >&2
	exit 2
	;;
esac

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	BOLD=$'\033[1m' OFF=$'\033[0m'
else
	BOLD="" OFF=""
fi
say() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
die() {
	echo "demo: $*" >&2
	exit 1
}

for b in "$MOCK" "$QCCC" "$QCC_RUN"; do
	[ -x "$b" ] || die "missing $b — build first: meson setup build && ninja -C build"
done
[ -f "$CONFIG" ] || die "missing $CONFIG"
command -v curl >/dev/null || die "curl is needed"

# A free loopback port: bind 0 and read it back.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null && return
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
			echo "$p"
			return
		}
	done
	return 1
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/qcc-demo.XXXXXX")
chmod 700 "$DIR"
export QCC_STATE_DIR=$DIR/state
PIDS=()
stop_all() {
	local p
	"$QCCC" stop --timeout 20 --force >/dev/null 2>&1
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$DIR"
}
on_exit() {
	local rc=$?
	if [ "$KEEP" = 1 ] && [ "$rc" = 0 ]; then
		return
	fi
	stop_all
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Demo keys: stand-ins for real API keys, only the mocks know them.
export QCC_DEMO_KEY_1=${QCC_DEMO_KEY_1:-demo-key-1}
export QCC_DEMO_KEY_2=${QCC_DEMO_KEY_2:-demo-key-2}

say "1. two mock upstreams (Anthropic Messages API stand-ins) on free ports"
declare -A UP
for i in 1 2; do
	setsid "$MOCK" --listen 127.0.0.1:0 --port-file "$DIR/upstream-$i.port" --name "upstream-$i" \
		--key-env "QCC_DEMO_KEY_$i" --events 24 --event-delay-ms 60 --log "$DIR/upstream-$i.log" \
		</dev/null >>"$DIR/upstream-$i.err" 2>&1 &
	PIDS+=($!)
done
for i in 1 2; do
	for _ in $(seq 100); do [ -s "$DIR/upstream-$i.port" ] && break; sleep 0.05; done
	[ -s "$DIR/upstream-$i.port" ] || die "mock upstream $i did not start: $(cat "$DIR/upstream-$i.err")"
	UP[$i]=$(cat "$DIR/upstream-$i.port")
	echo "upstream-$i  http://127.0.0.1:${UP[$i]}  (key from \$QCC_DEMO_KEY_$i)"
done
PORT=$(free_port) || die "no free port for qcc-run"

say "2. the config: examples/quickstart.yaml on these ports, endpoints tried in order"
sed -e "s/127.0.0.1:18001/127.0.0.1:${UP[1]}/" -e "s/127.0.0.1:18002/127.0.0.1:${UP[2]}/" \
	-e "s/^  port: 7860/  port: $PORT/" "$CONFIG" >"$DIR/qcc.yaml"
printf '\nloadbalancer:\n  strategy: failover       # mock-1 first, mock-2 when it fails\n' >>"$DIR/qcc.yaml"
grep -E 'port:|base_url:|strategy:' "$DIR/qcc.yaml"

say "3. qccc start: build the table, start qcc-run in the background, wait until it serves"
(cd "$DIR" && "$QCCC" start) || die "qccc start failed"
URL=http://127.0.0.1:$PORT

ask() { # BODY... -> the reply
	curl -sS -m 30 "$URL/v1/messages" -H 'x-api-key: any-client-key' -H 'anthropic-version: 2023-06-01' \
		-H 'content-type: application/json' "$@"
}

say "4. a streaming request through the proxy (events arrive as the upstream sends them)"
cat <<EOF
curl -N $URL/v1/messages \\
  -H 'x-api-key: any-client-key' -H 'anthropic-version: 2023-06-01' \\
  -H 'content-type: application/json' \\
  -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello"}]}'

EOF
ask -N -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello"}]}' ||
	die "the streaming request failed"
echo "(the proxy swapped the client's key for the endpoint's; the upstream names itself in the text)"

say "5. failover: upstream-1 now answers 529 overloaded to everything"
echo "curl -d status=529 http://127.0.0.1:${UP[1]}/_control/fault"
curl -sS -m 5 -o /dev/null -d status=529 "http://127.0.0.1:${UP[1]}/_control/fault" || die "fault control failed"
body='{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello again"}]}'
reply=$(ask -d "$body") || die "the request after the fault failed"
who=$(printf '%s' "$reply" | sed -n 's/.*Hello from \(upstream-[0-9]\)\..*/\1/p')
echo "the next request was answered by: ${who:-nobody} (the client saw no error)"
echo
echo "\$ qccc status"
"$QCCC" status
echo
echo "\$ qccc endpoint list"
"$QCCC" endpoint list
echo
echo "\$ qccc logs --errors -n 4"
"$QCCC" logs --errors -n 4

say "6. what the table holds: qccc show"
"$QCCC" show "$DIR/table.bin"

if [ "$KEEP" = 1 ]; then
	cat >"$DIR/stop.sh" <<EOF
#!/bin/sh
QCC_STATE_DIR=$QCC_STATE_DIR "$QCCC" stop
kill ${PIDS[*]} 2>/dev/null
rm -rf "$DIR"
EOF
	chmod +x "$DIR/stop.sh"
	curl -sS -m 5 -o /dev/null -d ok "http://127.0.0.1:${UP[1]}/_control/fault"
	say "7. running — point Claude Code at it (upstream-1 answers again)"
	cat <<EOF
export QCC_STATE_DIR=$QCC_STATE_DIR
$QCCC run                   # Claude Code through qcc-run; answers come from the mocks
$QCCC env                   # or the exports for your shell

Edit $DIR/qcc.yaml, then \`$QCCC reload\` (no restart, no dropped request).
Logs: $QCCC logs --all
Stop: $DIR/stop.sh
EOF
else
	say "7. done — stopping (run with --keep to leave it running for Claude Code)"
	"$QCCC" stop
fi
