# Shared by proxy-bench.sh and instr-bench.sh (sourced, not run): how a target
# is configured, probed and reported on, so both benchmarks measure the same
# setup. Uses the caller's $tmp.

# The last lines of each given file that exists, on one line (for messages).
last_lines() { # FILE...
  local f
  for f in "$@"; do
    [ -f "$f" ] && tail -n 3 "$f" 2>/dev/null | tr '\n' ' '
  done
  return 0
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Bounded wait until 127.0.0.1:PORT accepts connections.
wait_port() { # PORT PID
  local i
  for i in $(seq 1 100); do
    kill -0 "$2" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# A mock upstream on the load generator's core (${pin_gen[@]}, may be empty);
# uses the caller's $mock, $events and started[].
start_mock() { # NAME EXTRA_ARGS... -> sets mock_port
  local name=$1
  shift
  rm -f "$tmp/$name.port"
  "${pin_gen[@]}" "$mock" --listen 127.0.0.1:0 --port-file "$tmp/$name.port" \
    --name "$name" --events "$events" "$@" >"$tmp/$name.out" 2>&1 &
  local pid=$!
  started+=("$pid")
  local i
  for i in $(seq 1 100); do
    [ -s "$tmp/$name.port" ] && break
    sleep 0.05
  done
  mock_port=$(cat "$tmp/$name.port" 2>/dev/null || true)
  [ -n "$mock_port" ] && wait_port "$mock_port" "$pid" \
    || die "mock upstream $name did not start: $(last_lines "$tmp/$name.out")"
}

# One real request through a target: it must forward before we measure it.
probe() { # PORT
  curl -sf -m 3 -o /dev/null -H 'content-type: application/json' -H 'x-api-key: bench-client' \
    -H 'anthropic-version: 2023-06-01' \
    --data '{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}' \
    "http://127.0.0.1:$1/v1/messages"
}

# nginx.conf.in / haproxy.cfg.in with their placeholders filled in.
render() { # TEMPLATE OUT PORT UPSTREAM_PORT
  sed -e "s|@DIR@|$tmp|g" -e "s|@PORT@|$3|g" -e "s|@UPSTREAM_PORT@|$4|g" "$1" > "$2"
}

# qcc-run's config for the benchmarks: one endpoint (the mock), no access log,
# health checks and queue off; the key comes from QCC_BENCH_UPSTREAM_KEY.
qcc_bench_yaml() { # OUT UPSTREAM_PORT LISTEN_PORT
  cat > "$1" <<EOF
version: 1
proxy:
  host: 127.0.0.1
  port: $3
  access_log: false
  log_level: warning
  max_connections: 8192
health:
  enabled: false
queue:
  enabled: false
profiles:
  - name: bench
    priority: primary
    endpoints:
      - id: mock
        base_url: http://127.0.0.1:$2
        api_key_env: QCC_BENCH_UPSTREAM_KEY
        timeout: 60s
EOF
}
