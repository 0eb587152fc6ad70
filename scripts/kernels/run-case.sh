#!/usr/bin/env bash
# Boots one kernel in qemu (TCG) on the guest initramfs and runs one case.
#   scripts/kernels/run-case.sh KERNEL_DIR INITRD OUT_DIR CASE_JSON [TIMEOUT_S]
# KERNEL_DIR comes from fetch.sh, INITRD from build-rootfs.sh. Writes
#   OUT_DIR/console.log    the guest's console (kernel, /init, case progress)
#   OUT_DIR/result.jsonl   the case's records (second serial port)
# qemu is killed after TIMEOUT_S (default 300) seconds; exit status 124 then.
# It runs in this script's process group, with nothing left behind: the
# caller may kill that group at any time, and qemu dies with the caller.
#
# TCG only: KVM is present on the development machines but hangs the guest.
set -euo pipefail
# shellcheck source=scripts/kernels/lib.sh
. "$(dirname "$0")/lib.sh"

[ "$#" -ge 4 ] || die "usage: $0 KERNEL_DIR INITRD OUT_DIR CASE_JSON [TIMEOUT_S]"
kdir=$1 initrd=$2 out=$3 case_json=$4 timeout_s=${5:-300}
[ -s "$kdir/vmlinuz" ] || die "no kernel in $kdir (scripts/kernels/fetch.sh)"
[ -s "$initrd" ] || die "no initrd $initrd (scripts/kernels/build-rootfs.sh)"
mkdir -p "$out"
rm -f "$out/console.log" "$out/result.jsonl"
: >"$out/result.jsonl"

case_b64=$(printf '%s' "$case_json" | base64 -w0)
append="console=ttyS0 panic=-1 oops=panic loglevel=4 nokaslr mitigations=off tsc=reliable sonde.case=$case_b64"

# --foreground keeps timeout (and so qemu) in our process group. The parent
# death signals tie qemu to timeout and timeout to our caller: whatever
# kills the caller (a test runner killed mid-case) kills the guest too.
# nice: the host's own tests, running beside the guests, keep their timing.
exec setpriv --pdeathsig KILL timeout --foreground --kill-after=10 "$timeout_s" \
  setpriv --pdeathsig KILL nice -n 10 qemu-system-x86_64 \
  -accel tcg -cpu max -smp 1 -m 2048 \
  -nodefaults -no-user-config -display none -monitor none -no-reboot \
  -kernel "$kdir/vmlinuz" -initrd "$initrd" -append "$append" \
  -serial "file:$out/console.log" -serial "file:$out/result.jsonl"
