#!/usr/bin/env bash
# One entry point for people and CI:
#   tools/run.sh demo [--keep]   set up, build, run the live demo
#   tools/run.sh test            set up, build, run the whole test suite
#   tools/run.sh test-asan       same under ASan+UBSan (separate build dir)
#   tools/run.sh install [PREFIX]
#                                build qccc and qcc-run (stripped) into PREFIX/bin
#                                (default /usr/local as root, else ~/.local)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-test}
shift || true

# Packages are installed as root; an unprivileged install builds with what is there.
if [ "$mode" != install ] || [ "$(id -u)" = 0 ]; then
  bash tools/setup.sh
fi

configure() { # DIR [meson options...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir"
}

client_deps() {
  if command -v npm >/dev/null 2>&1 && [ -f tests/clients/package.json ] \
     && [ ! -d tests/clients/node_modules ]; then
    (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error) || \
      echo "run.sh: npm ci failed; client tests will report it" >&2
  fi
}

run_tests() { # DIR
  local dir=$1 rc=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 || rc=$?
  # One plain closing line that any reader understands.
  python3 - "$dir/meson-logs/testlog.json" <<'PY' || true
import json, sys
ok = bad = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skip += 1
    else: bad += 1
print(f"{ok} passed, {bad} failed, {skip} skipped")
PY
  return $rc
}

case "$mode" in
  demo)
    configure build
    exec bash tools/demo.sh "$@"
    ;;
  test)
    configure build
    client_deps
    run_tests build
    ;;
  test-asan)
    configure build-asan -Db_sanitize=address,undefined -Db_lundef=false
    client_deps
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      run_tests build-asan
    ;;
  install)
    prefix=${1:-}
    if [ -z "$prefix" ]; then
      if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix=$HOME/.local; fi
    fi
    case "$prefix" in /*) ;; *) prefix=$PWD/$prefix ;; esac
    if [ -f build-install/build.ninja ]; then
      meson configure build-install --prefix "$prefix" >/dev/null
    else
      meson setup build-install --prefix "$prefix" -Dtests=disabled >/dev/null
    fi
    ninja -C build-install compiler/qccc runtime/qcc-run
    meson install -C build-install --no-rebuild --strip --quiet
    echo "installed $prefix/bin/qccc and $prefix/bin/qcc-run"
    case ":$PATH:" in
      *":$prefix/bin:"*) echo "next: qccc init && qccc start && qccc run" ;;
      *) echo "$prefix/bin is not on your PATH: add it, e.g."
         echo "  echo 'export PATH=\"$prefix/bin:\$PATH\"' >> ~/.bashrc && export PATH=\"$prefix/bin:\$PATH\"" ;;
    esac
    ;;
  *)
    echo "usage: tools/run.sh demo [--keep] | test | test-asan | install [PREFIX]" >&2
    exit 2
    ;;
esac
