#!/bin/sh
# /init of the kernel-matrix guests (busybox sh; built into the initramfs by
# scripts/kernels/build-rootfs.sh). Sets up what `sonde run` needs, runs the
# one case named on the kernel command line (sonde.case=<base64 JSON>),
# sends its results out on the second serial port, and powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LANG=C.UTF-8
# Libraries found even if the ld.so.cache does not fit this guest.
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
hostname sonde-guest
ip link set lo up

# ttyS1 carries the results: no line discipline in the way.
stty -F /dev/ttyS1 raw -echo 2>/dev/null

case_b64=$(sed -n 's/.*sonde\.case=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "sonde-guest: kernel $(uname -r), running the case"
cd /sonde && node test/kernels/guest/case.mjs --out /dev/ttyS1 --case-b64 "$case_b64"
echo "sonde-guest: case exited with $?"
sync
poweroff -f
