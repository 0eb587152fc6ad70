#!/usr/bin/env bash
# Makes the gRPC test peers that are more than a script available, built once
# and cached outside the repository, and prints where they are:
#
#   bash scripts/grpc-peers.sh
#   -> stdout: go_server=PATH, go_client=PATH, go_http2_server=PATH, go_loadgen=PATH, python=PATH
#
# - the Go peers (test/peers/grpc/go: grpc-go's echo and helloworld server and
#   client, a net/http HTTP/2 server, and the benchmark's gRPC load generator),
#   built per hash of their sources into
#     ${SONDE_CACHE_DIR:-/var/cache/sonde}/grpc-go-peer-<hash>/{grpc-go-server,grpc-go-client,http2-go-server,grpc-go-loadgen}
#   Modules come from the Go module proxy into the default GOMODCACHE, checked
#   against the committed go.sum.
# - a venv with grpcio as pinned in test/peers/grpc/requirements.txt, from PyPI:
#     ${SONDE_CACHE_DIR:-/var/cache/sonde}/py-grpc-<grpcio version>/bin/python
#
# scripts/setup.sh --test runs it, and so does test/helpers/grpc.ts, so both
# find the same paths. Warm, it does a hash and a few file tests. Progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[grpc-peers] %s\n' "$*" >&2; }

. scripts/cache-root.sh

go_src=test/peers/grpc/go
# File names are part of the hash, so a moved file rebuilds too.
go_hash=$( (cd "$go_src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum) |
  sha256sum | cut -c1-12)
go_dir=$cache_root/grpc-go-peer-$go_hash

requirements=test/peers/grpc/requirements.txt
grpcio_version=$(sed -n 's/^grpcio==\([^[:space:];]*\).*/\1/p' "$requirements")
if [ -z "$grpcio_version" ]; then
  say "$requirements pins no grpcio==VERSION"
  exit 1
fi
venv=$cache_root/py-grpc-$grpcio_version
# Written last, holding the hash of what was installed: a venv without it is half made.
stamp=$venv/.sonde-requirements
want_stamp=$(sha256sum <"$requirements" | cut -c1-64)

# Source directory -> binary name.
go_commands=(server:grpc-go-server client:grpc-go-client http2:http2-go-server loadgen:grpc-go-loadgen)
go_ready() {
  local c
  for c in "${go_commands[@]}"; do [ -x "$go_dir/${c#*:}" ] || return 1; done
}
# The venv's python links to the interpreter it was made from: check it still runs.
py_ready() { [ "$(cat "$stamp" 2>/dev/null)" = "$want_stamp" ] && "$venv/bin/python" -S -c '' 2>/dev/null; }

report() {
  printf 'go_server=%s\ngo_client=%s\ngo_http2_server=%s\ngo_loadgen=%s\npython=%s\n' \
    "$go_dir/grpc-go-server" "$go_dir/grpc-go-client" "$go_dir/http2-go-server" "$go_dir/grpc-go-loadgen" "$venv/bin/python"
}

if go_ready && py_ready; then
  report
  exit 0
fi

# Test files starting at once on a cold machine must not build into the same
# place together: the later ones wait, then find everything made.
exec 9>"$cache_root/.grpc-peers.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

if ! go_ready; then
  if ! command -v go >/dev/null 2>&1; then
    say "Go is needed to build the grpc-go test peers"
    exit 1
  fi
  say "building the grpc-go peers ($go_src, $(go version | cut -d' ' -f3))"
  start=$(date +%s)
  tmp=$go_dir.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Static and stripped; -mod=readonly so a build never rewrites the committed go.mod and go.sum.
  for c in "${go_commands[@]}"; do
    (cd "$go_src" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath -ldflags='-s -w' \
      -o "$tmp/${c#*:}" "./${c%%:*}") >&2
  done
  rm -rf "$go_dir"
  mv "$tmp" "$go_dir"
  say "built $go_dir in $(($(date +%s) - start)) s"
fi

if ! py_ready; then
  say "making a Python venv with grpcio $grpcio_version ($(python3 --version 2>&1))"
  start=$(date +%s)
  rm -rf "$venv"
  python3 -m venv "$venv"
  # Wheels only: building grpcio from source would take many minutes.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
    -r "$requirements" >&2
  printf '%s\n' "$want_stamp" >"$stamp"
  say "made $venv in $(($(date +%s) - start)) s"
fi

report
