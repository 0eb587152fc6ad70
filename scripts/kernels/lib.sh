# shellcheck shell=bash disable=SC2034
# Shared by the kernel-matrix scripts (sourced, not run).
#
# Everything these scripts download or build lives in a cache outside the
# repository, kept between runs:
#   $KCACHE/<version>/vmlinuz, config   one extracted kernel (never installed in /boot)
#   $KCACHE/system-<key>.cpio           the guest's system files (busybox, node, curl, libs)
#   $KCACHE/initrd-<repo>.cpio          system files + this checkout's build (per run)

SONDE_CACHE_DIR=${SONDE_CACHE_DIR:-/var/cache/sonde}
KCACHE="$SONDE_CACHE_DIR/kernels"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { printf '\033[1m[kernels]\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# apt-get update at most once per boot of this machine (and only when needed).
_apt_updated=0
apt_update_once() {
  local stamp=/run/sonde-kernels-apt-updated
  [ "$_apt_updated" = 1 ] && return 0
  if [ ! -e "$stamp" ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    touch "$stamp" 2>/dev/null || true
  fi
  _apt_updated=1
}

# Install the Debian packages that are missing.
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "run as root to install: ${missing[*]}"
  apt_update_once
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What the host needs to build guests and run them.
HOST_PACKAGES=(qemu-system-x86 busybox-static cpio)
