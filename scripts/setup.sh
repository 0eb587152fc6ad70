#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine (as root), then builds.
#   scripts/setup.sh          what `sonde run` needs
#   scripts/setup.sh --test   and what the tests drive (servers, clients)
# Safe to run again: it only installs what is absent and rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "run as root: Sonde loads BPF programs, and this installs Debian packages"
  exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# Build: clang (BPF target), bpftool (vmlinux.h, static linking), libbpf
# headers; run: libbpf1 (loaded through koffi).
packages=(clang llvm make libbpf-dev libbpf1 bpftool)
if [ "$want_test" = 1 ]; then
  # Test peers: real servers and clients (openssl, gnutls-serv and wget for
  # TLS; nghttpd, nghttp and h2load for HTTP/2; python3-venv for the grpcio
  # peers' venv), prometheus (and promtool) to scrape Sonde, docker-compose (v1, to
  # parse docker-compose.yml: no engine runs here), capsh to drop privileges, and
  # qemu with busybox and cpio for the kernel matrix (test/kernels).
  packages+=(curl nginx-light python3 libcap2-bin iproute2 qemu-system-x86 busybox-static cpio
    openssl gnutls-bin wget nghttp2-client nghttp2-server python3-venv prometheus docker-compose)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tracefs: tracepoints are attached through it.
if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  say "mounting tracefs at /sys/kernel/tracing"
  mount -t tracefs nodev /sys/kernel/tracing
fi

# npm packages, when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

say "building (BPF objects and TypeScript)"
npm run --silent build

if [ "$want_test" = 1 ]; then
  # A real Jaeger v2 for the end-to-end tests, built once from the Go module
  # proxy and cached outside the repository.
  say "Jaeger v2 for the end-to-end tests: $(bash scripts/jaeger.sh | tail -1)"
  # OpenSSL 1.1.1 (libssl.so.1.1, which Debian 12 no longer ships) for the
  # TLS tests, built once from the crates.io crate openssl-src and cached.
  say "OpenSSL 1.1 for the TLS tests: $(bash scripts/peers/openssl-1.1.sh | tail -1)"
  # The Go gRPC/HTTP/2 peers and the grpcio venv, likewise built once and cached.
  peers=$(bash scripts/grpc-peers.sh)
  say "gRPC test peers: $(dirname "$(sed -n 's/^go_server=//p' <<<"$peers")"), $(sed -n 's/^python=//p' <<<"$peers")"
fi
