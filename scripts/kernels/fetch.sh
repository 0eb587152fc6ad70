#!/usr/bin/env bash
# Fetches Debian cloud kernels for the qemu matrix, without installing them:
#   scripts/kernels/fetch.sh 6.1 6.12
#   scripts/kernels/fetch.sh linux-image-6.1.0-54-cloud-amd64-unsigned
# A series (6.1, 6.12) means the newest linux-image-<series>*-cloud-amd64-unsigned
# in the apt lists. The .deb is fetched with apt-get download and only its
# kernel image and config are kept, in $KCACHE/<release>/ (vmlinuz, config,
# release, package). Prints one kernel directory per argument. Does nothing
# for a kernel already there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || die "usage: $0 SERIES|PACKAGE..."

# The package name for a series, from the apt lists (updated if they know none).
resolve() {
  local want=$1 esc pkgs
  if [[ "$want" == linux-image-* ]]; then
    echo "$want"
    return
  fi
  esc=${want//./\\.}
  local pattern="^linux-image-${esc}[.-][^ ]*-cloud-amd64-unsigned\$"
  pkgs=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" || true)
  if [ -z "$pkgs" ]; then
    apt_update_once
    pkgs=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" || true)
  fi
  [ -n "$pkgs" ] || die "no Debian package matches $pattern (is bookworm-backports or bookworm-updates in the apt sources?)"
  sort -V <<<"$pkgs" | tail -n 1
}

fetch() {
  local pkg=$1 release dir tmp deb
  # linux-image-6.1.0-54-cloud-amd64-unsigned -> 6.1.0-54-cloud-amd64
  release=${pkg#linux-image-}
  release=${release%-unsigned}
  dir="$KCACHE/$release"
  if [ -s "$dir/vmlinuz" ] && [ -s "$dir/config" ]; then
    echo "$dir"
    return
  fi
  tmp=$(mktemp -d "$KCACHE/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  say "downloading $pkg"
  # apt-get download writes into the current directory; _apt cannot write
  # there (root-owned cache), which apt only warns about.
  (cd "$tmp" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1)
  if [ -z "$deb" ]; then
    apt_update_once
    (cd "$tmp" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
    deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1)
  fi
  [ -n "$deb" ] || die "apt-get download $pkg failed"
  say "extracting $(basename "$deb")"
  dpkg-deb -x "$deb" "$tmp/x"
  [ -f "$tmp/x/boot/vmlinuz-$release" ] || die "$pkg has no boot/vmlinuz-$release"
  mkdir -p "$tmp/out"
  cp "$tmp/x/boot/vmlinuz-$release" "$tmp/out/vmlinuz"
  cp "$tmp/x/boot/config-$release" "$tmp/out/config"
  echo "$release" >"$tmp/out/release"
  dpkg-deb -f "$deb" Package Version >"$tmp/out/package"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  echo "$dir"
}

for want in "$@"; do
  fetch "$(resolve "$want")"
done
