#!/usr/bin/env bash
# OpenSSL 1.1.1 as shared libraries (libssl.so.1.1, libcrypto.so.1.1) and
# its `openssl` program, for the TLS tests: Debian 12 ships only OpenSSL 3.
# The source is the OpenSSL 1.1.1 tree inside the crates.io crate
# openssl-src 111.x, fetched with cargo (no other download is needed), and
# built once into a cache outside the repository:
#
#   ${SONDE_CACHE_DIR:-/var/cache/sonde}/openssl-<version>/{lib,bin}
#
#   bash scripts/peers/openssl-1.1.sh          build if absent; last line of stdout: the directory
#   bash scripts/peers/openssl-1.1.sh --check  print the directory if built, else exit 1 (no build)
#
# Run the program with LD_LIBRARY_PATH=<dir>/lib so it maps these libraries.
# Progress goes to stderr.
set -euo pipefail

CRATE_VERSION=111.28.2+1.1.1w
OPENSSL_VERSION=1.1.1w

say() { printf '[openssl-1.1] %s\n' "$*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/../cache-root.sh"
out="$cache_root/openssl-$OPENSSL_VERSION"
done_marker="$out/.built-from-openssl-src-$CRATE_VERSION"

# Warm path: a file test only.
if [ -f "$done_marker" ]; then
  printf '%s\n' "$out"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "not built: run scripts/setup.sh --test (or bash scripts/peers/openssl-1.1.sh)"
  exit 1
fi

cargo=$(command -v cargo || true)
[ -z "$cargo" ] && [ -x "$HOME/.cargo/bin/cargo" ] && cargo=$HOME/.cargo/bin/cargo
if [ -z "$cargo" ]; then
  say "cargo is needed to fetch the OpenSSL 1.1.1 source (crates.io crate openssl-src $CRATE_VERSION)"
  exit 1
fi
for tool in perl make gcc; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is needed to build OpenSSL $OPENSSL_VERSION"; exit 1; }
done

mkdir -p "$cache_root"
# Two setups on a cold machine must not build twice into the same place.
exec 9>"$cache_root/.openssl-$OPENSSL_VERSION.lock"
command -v flock >/dev/null 2>&1 && flock 9
if [ -f "$done_marker" ]; then
  printf '%s\n' "$out"
  exit 0
fi

work=$(mktemp -d "$cache_root/.openssl-$OPENSSL_VERSION.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The crate, through cargo: a throwaway package that depends on exactly it.
# cargo's own home (and its registry cache) is used, so a rebuild after the
# directory was deleted downloads nothing.
say "fetching crates.io crate openssl-src $CRATE_VERSION"
mkdir -p "$work/fetch/src"
cat >"$work/fetch/Cargo.toml" <<EOF
[package]
name = "sonde-openssl-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
openssl-src = "=$CRATE_VERSION"
EOF
echo 'fn main() {}' >"$work/fetch/src/main.rs"
(cd "$work/fetch" && "$cargo" fetch --quiet)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
crate=$(ls -1 "$cargo_home"/registry/cache/*/"openssl-src-$CRATE_VERSION.crate" 2>/dev/null | head -1)
if [ -z "$crate" ]; then
  say "cargo fetched, but openssl-src-$CRATE_VERSION.crate is not under $cargo_home/registry/cache"
  exit 1
fi
tar -xzf "$crate" -C "$work"
src="$work/openssl-src-$CRATE_VERSION/openssl"

# Shared libraries and the command-line program only: the crate has no
# test or fuzz trees, and nothing else is needed. Its own configuration
# directory, so Debian's OpenSSL 3 openssl.cnf is never read by 1.1.
say "building OpenSSL $OPENSSL_VERSION (shared) in $work"
jobs=$(nproc 2>/dev/null || echo 2)
(
  cd "$src"
  ./config shared no-tests --prefix="$out" --openssldir="$out/ssl" >"$work/config.log" 2>&1 ||
    { tail -20 "$work/config.log" >&2; exit 1; }
  # One goal per make: given together, their sub-makes build the same objects at once.
  for goal in build_libs build_programs; do
    make -j"$jobs" "$goal" >>"$work/make.log" 2>&1 || { tail -40 "$work/make.log" | cut -c1-300 >&2; exit 1; }
  done
)

stage="$work/out"
mkdir -p "$stage/lib" "$stage/bin" "$stage/ssl"
cp -a "$src"/libssl.so.1.1 "$src"/libcrypto.so.1.1 "$stage/lib/"
ln -s libssl.so.1.1 "$stage/lib/libssl.so"
ln -s libcrypto.so.1.1 "$stage/lib/libcrypto.so"
cp -a "$src/apps/openssl" "$stage/bin/openssl"
LD_LIBRARY_PATH="$stage/lib" "$stage/bin/openssl" version >&2
touch "$stage/.built-from-openssl-src-$CRATE_VERSION"
rm -rf "$out"
mv "$stage" "$out"
printf '%s\n' "$out"
