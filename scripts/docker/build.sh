#!/usr/bin/env bash
# The Dockerfile's build stage, as a script so it can run outside Docker too
# (scripts/docker/check.sh): in the directory of a Sonde checkout, install
# the BPF toolchain, build the BPF objects and the TypeScript, and keep only
# the production npm packages. Needs Debian 12 (bookworm) with Node.js 20.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "${SONDE_SKIP_APT:-0}" != 1 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends clang llvm make libbpf-dev bpftool >/dev/null
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
npm prune --omit=dev --no-audit --no-fund --loglevel=error
