#!/usr/bin/env bash
# npm run bench: builds what the benchmark needs, then runs it.
#   bench/run.sh [--quick] [--only=tls|grpc]
# Results: bench/results/latest.md and latest.json.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --test
if ! dpkg-query -W -f='${Status}' wrk 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# The Go server and the constant-rate load generator: standard library only,
# built once per source version and cached outside the repository.
cache=${SONDE_CACHE_DIR:-/var/cache/sonde}/bench-bin
mkdir -p "$cache"
build() { # name
  local src=bench/peers/$1 hash out
  hash=$(cat "$src"/*.go "$src"/go.mod | sha256sum | cut -c1-12)
  out=$cache/$1-$hash
  if [ ! -x "$out" ]; then
    echo "[bench] building $1" >&2
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" . && mv "$out.tmp" "$out")
  fi
  echo "$out"
}
export SONDE_BENCH_LOADGEN=$(build loadgen)
export SONDE_BENCH_GOSERVER=$(build goserver)

# The cost of one probed TLS-library call: a C loop over libssl calls
# (bench/peers/uprobe-hit), linked to the system libssl, whose headers are
# in libssl-dev.
if ! dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q "install ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl-dev >/dev/null
fi
build_c() { # name
  local src=bench/peers/$1/$1.c hash out
  hash=$(sha256sum "$src" | cut -c1-12)
  out=$cache/$1-$hash
  if [ ! -x "$out" ]; then
    echo "[bench] building $1" >&2
    gcc -O2 -Wall -o "$out.tmp" "$src" -lssl -lcrypto && mv "$out.tmp" "$out"
  fi
  echo "$out"
}
export SONDE_BENCH_UPROBE_HIT=$(build_c uprobe-hit)

npx tsc -p tsconfig.bench.json
exec node dist/bench/bench.js "$@"
