#!/usr/bin/env bash
# Fetches Debian cloud kernels for the qemu matrix, without installing them:
#   scripts/kernels/fetch.sh 6.1 6.12
#   scripts/kernels/fetch.sh linux-image-6.1.0-54-cloud-amd64-unsigned
# A series (6.1, 6.12) means the newest linux-image-<series>*-cloud-amd64-unsigned
# in the apt lists. The .deb is fetched with apt-get download and only its
# kernel image and config are kept, in $KCACHE/<release>/ (vmlinuz, config,
# release, package); nothing goes to /boot or /lib/modules. The guests need
# no modules: everything they use (BPF, tracing, 8250 serial, initramfs) is
# built into Debian's cloud kernels. Prints one kernel directory per
# argument. Does nothing for a kernel already there; when Debian has moved
# on, fetches the new one and drops the older of the same series.
set -euo pipefail
# shellcheck source=scripts/kernels/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$#" -gt 0 ] || die "usage: $0 SERIES|PACKAGE..."

# linux-image-6.1.0-54-cloud-amd64-unsigned -> 6.1.0-54-cloud-amd64
release_of() {
  local r=${1#linux-image-}
  echo "${r%-unsigned}"
}

# Releases of a series: 6.1 -> 6.1.0-54-cloud-amd64, not 6.12.x.
series_pattern() {
  local esc=${1//./\\.}
  echo "^${esc}[.-][^ ]*-cloud-amd64\$"
}

# The package name for a series, from the apt lists (updated if they know none).
resolve() {
  local want=$1 pkgs pattern
  if [[ "$want" == linux-image-* ]]; then
    echo "$want"
    return
  fi
  pattern="^linux-image-${want//./\\.}[.-][^ ]*-cloud-amd64-unsigned\$"
  pkgs=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" || true)
  if [ -z "$pkgs" ]; then
    apt_update_once
    pkgs=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" || true)
  fi
  [ -n "$pkgs" ] || return 1
  sort -V <<<"$pkgs" | tail -n 1
}

# Download and extract one package; prints its kernel directory.
download() {
  local pkg=$1 release dir tmp deb
  release=$(release_of "$pkg")
  dir="$KCACHE/$release"
  if [ -s "$dir/vmlinuz" ] && [ -s "$dir/config" ]; then
    echo "$dir"
    return
  fi
  mkdir -p "$KCACHE"
  tmp=$(mktemp -d "$KCACHE/.fetch.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT # (download runs in a subshell of its own)
  say "downloading $pkg"
  # apt-get download writes into the current directory, which _apt cannot
  # write to (root-owned cache): apt only warns about that.
  (cd "$tmp" && apt-get download -q "$pkg" 2>&1 | grep -v 'Download is performed unsandboxed' >&2) || true
  deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | sort | sed -n 1p)
  [ -n "$deb" ] || return 1
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

# The newest kernel of a series already in the cache, if any.
cached_of_series() {
  local pattern
  pattern=$(series_pattern "$1")
  find "$KCACHE" -mindepth 2 -maxdepth 2 -name vmlinuz -printf '%h\n' 2>/dev/null | sed 's|.*/||' |
    grep -E "$pattern" | sort -V | tail -n 1
}

fetch() {
  local want=$1 pkg dir old
  if pkg=$(resolve "$want") && dir=$(download "$pkg"); then
    :
  else
    # The lists may name a package the archive no longer has: update, retry.
    apt_update_once
    if pkg=$(resolve "$want") && dir=$(download "$pkg"); then
      :
    elif [[ "$want" != linux-image-* ]] && old=$(cached_of_series "$want") && [ -n "$old" ]; then
      say "cannot fetch a $want kernel from Debian now: using the cached $old"
      echo "$KCACHE/$old"
      return
    else
      die "cannot fetch ${pkg:-a $want cloud kernel} (is bookworm-updates or bookworm-backports in the apt sources?)"
    fi
  fi
  if [[ "$want" != linux-image-* ]]; then
    for old in $(find "$KCACHE" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E "$(series_pattern "$want")" || true); do
      [ "$KCACHE/$old" = "$dir" ] || { say "dropping the older $old"; rm -rf "${KCACHE:?}/$old"; }
    done
  fi
  echo "$dir"
}

for want in "$@"; do
  fetch "$want"
done
