#!/usr/bin/env bash
# Makes a real Jaeger v2 (the all-in-one `jaeger` binary) available to the
# end-to-end tests, built from source fetched through the Go module proxy:
# no release download and no Docker are needed, only `go`.
#
#   bash scripts/jaeger.sh    -> last line of stdout: absolute path of the binary
#
# The binary is cached outside the repository, in
#   ${SONDE_CACHE_DIR:-/var/cache/sonde}/jaeger-<version>/jaeger
# and reused when present, so a warm machine does no Go work at all. Module
# downloads go to the default GOMODCACHE (or wherever GOMODCACHE points), so a
# rebuild after the binary was deleted fetches nothing. All progress is on stderr.
set -euo pipefail

# Jaeger's Go module path has no /v2 suffix, so the proxy refuses @v2.x.y; the
# v1 tag v1.76.0 is the same commit as Jaeger v2.13.0.
JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.76.0
JAEGER_V2_VERSION=2.13.0

say() { printf '[jaeger] %s\n' "$*" >&2; }

. "$(dirname "${BASH_SOURCE[0]}")/cache-root.sh"
dir="$cache_root/jaeger-$JAEGER_V2_VERSION"
bin="$dir/jaeger"

# Warm path: nothing but a file test, so it costs milliseconds.
if [ -x "$bin" ]; then
  printf '%s\n' "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  say "Go 1.21 or newer is needed to build Jaeger (it fetches the exact toolchain Jaeger asks for)"
  exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
bin="$dir/jaeger"

# Two test runs starting on a cold machine must not build twice into the same
# place: the second waits for the first, then finds the binary.
exec 9>"$dir/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if [ -x "$bin" ]; then
  printf '%s\n' "$bin"
  exit 0
fi

# `go install pkg@version` refuses modules whose go.mod has replace
# directives, and Jaeger's has one; so build through a throw-away wrapper
# module that requires Jaeger and copies its replace directives. With no other
# requirements, the wrapper selects exactly the dependency versions Jaeger's
# own build uses.
work=$(mktemp -d "${TMPDIR:-/tmp}/sonde-jaeger-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "building Jaeger $JAEGER_V2_VERSION ($JAEGER_MODULE@$JAEGER_VERSION) with $(go version | cut -d' ' -f3); the first build takes minutes"
start=$(date +%s)

cd "$work"
go mod download -json "$JAEGER_MODULE@$JAEGER_VERSION" >"$work/module.json"
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$work/module.json"; }
src=$(json_field Dir)
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  say "could not locate the downloaded Jaeger module (go mod download said: $(tr -d '\n' <"$work/module.json"))"
  exit 1
fi
go_line=$(grep -m1 '^go ' "$src/go.mod")

{
  echo "module sonde.local/jaeger-build"
  echo
  echo "$go_line"
  echo
  echo "require $JAEGER_MODULE $JAEGER_VERSION"
  echo
  # Single-line and block forms of replace directives, as in Jaeger's go.mod.
  awk '
    /^replace[[:space:]]*\($/ { inblock = 1; print; next }
    inblock { print; if ($0 ~ /^\)/) inblock = 0; next }
    /^replace[[:space:]]/ { print }
  ' "$src/go.mod"
} >go.mod
# Jaeger's go.sum covers its whole build list, and `go mod download` has just
# verified Jaeger's own hashes: no checksum-database look-ups are needed.
cp "$src/go.sum" go.sum
chmod u+w go.sum
echo "$JAEGER_MODULE $JAEGER_VERSION $(json_field Sum)" >>go.sum
echo "$JAEGER_MODULE $JAEGER_VERSION/go.mod $(json_field GoModSum)" >>go.sum

# Static, stripped, reproducible: the tests only need it to run on this host.
# The version is stamped the way Jaeger's Makefile does, so its logs say which
# Jaeger this is.
CGO_ENABLED=0 go build -mod=mod -trimpath \
  -ldflags="-s -w -X $JAEGER_MODULE/internal/version.latestVersion=v$JAEGER_V2_VERSION" \
  -o "$work/jaeger" "$JAEGER_MODULE/cmd/jaeger" >&2

# Move into place atomically, so a reader never sees a half-written binary.
mv "$work/jaeger" "$bin.tmp.$$"
mv "$bin.tmp.$$" "$bin"
say "built $bin in $(($(date +%s) - start)) s"
printf '%s\n' "$bin"
