#!/usr/bin/env bash
# Build the libFuzzer drivers with clang and run each for SECONDS (default 60)
# from its seed corpus. New crashes land in build-fuzz/crashes/.
#   tools/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_table fuzz_config fuzz_journal fuzz_http fuzz_admin fuzz_upstream_head fuzz_dechunk fuzz_reqpath fuzz_jsonscan fuzz_claudesettings fuzz_sse fuzz_migrate)

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz "${targets[@]/#/tools/fuzz/}"
mkdir -p build-fuzz/crashes
for t in "${targets[@]}"; do
  seed=tools/fuzz/corpus/${t#fuzz_}
  work=build-fuzz/corpus-${t#fuzz_}
  mkdir -p "$work"
  echo "== $t for ${secs}s (seeds: $seed)"
  "build-fuzz/tools/fuzz/$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/crashes/"$t"- "$work" "$seed"
done
