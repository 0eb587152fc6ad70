#!/usr/bin/env bash
# The Dockerfile's runtime stage: what `sonde run` needs besides Node.js:
# libbpf (loaded through koffi) and mount (to mount tracefs if the host's is
# not mounted in). Nothing to compile, no toolchain.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "${SONDE_SKIP_APT:-0}" != 1 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libbpf1 mount >/dev/null
  rm -rf /var/lib/apt/lists/*
fi
