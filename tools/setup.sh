#!/usr/bin/env bash
# Install what qcc needs to build, test and benchmark on Debian 12 (run as root).
# Idempotent and quick when everything is already there: apt-get runs only for
# packages that are missing.
set -euo pipefail

pkgs=(
  gcc clang llvm libclang-rt-14-dev meson ninja-build pkg-config     # toolchain, fuzzing runtime
  libcyaml-dev libyaml-dev libxxhash-dev libssl-dev libjansson-dev    # compiler + shared
  libev-dev libcurl4-openssl-dev libhttp-parser-dev libmimalloc-dev   # runtime
  libcriterion-dev curl jq python3 python3-yaml python3-jsonschema     # tests
  openssl                                                             # TLS test bed: CA made at test time
  python3-prometheus-client
  procps psmisc valgrind iproute2 util-linux                          # storms: private net namespace
  nginx-light haproxy wrk                                             # benchmark peers
  chromium                                                            # status page browser test (headless)
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js + npm for the real-client tests (official SDK, Claude Code CLI); any
# node >= 18 already on the machine will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Services that packages start on install (nginx) are not ours to run.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  rm -f /usr/sbin/policy-rc.d
fi
