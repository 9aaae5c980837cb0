#!/bin/bash
# qcc demo: two mock upstreams on loopback, examples/quickstart.yaml compiled
# with qccc, qcc-run in front, one streaming request shown as it streams.
#
#   tools/demo.sh           run the demo, then stop everything
#   tools/demo.sh --keep    leave it running (prints how to point Claude Code at it)
#
# Builds nothing: run `meson setup build && ninja -C build` first
# (QCC_BUILD_DIR overrides the build directory).
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
	sed -n '2,9p' "$0" | cut -c3-
	exit 0
	;;
*)
	echo "usage: tools/demo.sh [--keep]" >&2
	exit 2
	;;
esac

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
	echo "demo: $*" >&2
	exit 1
}

for b in "$MOCK" "$QCCC" "$QCC_RUN"; do
	[ -x "$b" ] || die "missing $b — build first: meson setup build && ninja -C build"
done
[ -f "$CONFIG" ] || die "missing $CONFIG"
command -v curl >/dev/null || die "curl is needed"

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for p in 18001 18002; do
	port_busy "$p" && die "port 127.0.0.1:$p is in use (examples/quickstart.yaml expects the mock upstreams there)"
done
PORT=7860
if port_busy "$PORT"; then
	for _ in $(seq 50); do
		PORT=$((20000 + RANDOM % 30000))
		port_busy "$PORT" || break
	done
	port_busy "$PORT" && die "7860 is taken and no free port found"
	echo "demo: 127.0.0.1:7860 is taken, using 127.0.0.1:$PORT"
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/qcc-demo.XXXXXX")
chmod 700 "$DIR"
PIDS=()
stop_all() {
	local p
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

say "1. two mock upstreams (Anthropic Messages API stand-ins)"
for i in 1 2; do
	setsid "$MOCK" --listen "127.0.0.1:1800$i" --name "upstream-$i" --key-env "QCC_DEMO_KEY_$i" \
		--events 24 --event-delay-ms 60 --log "$DIR/upstream-$i.log" \
		</dev/null >>"$DIR/upstream-$i.err" 2>&1 &
	PIDS+=($!)
done
for i in 1 2; do
	for _ in $(seq 50); do port_busy "1800$i" && break; sleep 0.05; done
	port_busy "1800$i" || die "mock upstream $i did not start: $(cat "$DIR/upstream-$i.err")"
	echo "upstream-$i  http://127.0.0.1:1800$i  (key from \$QCC_DEMO_KEY_$i)"
done

say "2. compile the config: qccc build -c examples/quickstart.yaml -o $DIR/table.bin"
"$QCCC" build -c "$CONFIG" -o "$DIR/table.bin" || die "qccc build failed"

say "3. start the proxy: qcc-run --listen 127.0.0.1:$PORT table.bin"
setsid "$QCC_RUN" --state-dir "$DIR/state" --listen "127.0.0.1:$PORT" \
	--access-log "$DIR/access.log" "$DIR/table.bin" </dev/null >>"$DIR/qcc-run.log" 2>&1 &
PIDS+=($!)
ready=0
for _ in $(seq 100); do
	if curl -fsS -m 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "${PIDS[-1]}" 2>/dev/null || break
	sleep 0.1
done
[ "$ready" = 1 ] || die "qcc-run did not become ready: $(tail -c 800 "$DIR/qcc-run.log")"
echo "healthz: $(curl -sS -m 2 "http://127.0.0.1:$PORT/healthz")"

say "4. a streaming request through the proxy (events arrive as the upstream sends them)"
cat <<EOF
curl -N http://127.0.0.1:$PORT/v1/messages \\
  -H 'x-api-key: any-client-key' -H 'anthropic-version: 2023-06-01' \\
  -H 'content-type: application/json' \\
  -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello"}]}'

EOF
curl -sS -N -m 30 "http://127.0.0.1:$PORT/v1/messages" \
	-H 'x-api-key: any-client-key' -H 'anthropic-version: 2023-06-01' \
	-H 'content-type: application/json' \
	-d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello"}]}' ||
	die "the streaming request failed"
echo "(the proxy swapped the client's key for the endpoint's; the upstream names itself in the text)"

say "5. what the table holds: qccc show"
"$QCCC" show "$DIR/table.bin"

if [ "$KEEP" = 1 ]; then
	cat >"$DIR/stop.sh" <<EOF
#!/bin/sh
kill ${PIDS[*]} 2>/dev/null
rm -rf "$DIR"
EOF
	chmod +x "$DIR/stop.sh"
	say "6. running — point Claude Code at it"
	cat <<EOF
export ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT
claude                      # answers come from the mock upstreams in this demo

Rebuild while it runs (the runtime swaps tables with no restart):
  $QCCC build -c $CONFIG -o $DIR/table.bin
Logs: $DIR/access.log  $DIR/qcc-run.log  $DIR/upstream-1.log
Stop: $DIR/stop.sh
EOF
else
	say "6. done — stopping (run with --keep to leave it running for Claude Code)"
fi
