#!/usr/bin/env bash
# Everything the kernel matrix needs before its first guest boots:
#   scripts/kernels/prepare.sh 6.1 6.12
# installs qemu-system-x86, busybox-static and cpio if missing, fetches the
# kernels (fetch.sh) and builds the guest initramfs (build-rootfs.sh).
# Prints, on stdout, one line per kernel and one for the initrd:
#   kernel 6.1 /var/cache/sonde/kernels/6.1.0-56-cloud-amd64
#   initrd /var/cache/sonde/kernels/initrd-0123456789ab.cpio
# The project must be built (npm run build) first: the guest runs dist/.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=scripts/kernels/lib.sh
. "$here/lib.sh"

need_packages "${HOST_PACKAGES[@]}"
for series in "$@"; do
  dir=$("$here/fetch.sh" "$series")
  echo "kernel $series $dir"
done
# Assigned first: a failure inside echo's $(...) would not stop this script.
initrd=$("$here/build-rootfs.sh")
echo "initrd $initrd"
