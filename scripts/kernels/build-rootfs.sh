#!/usr/bin/env bash
# Builds the guest's root filesystem as an initramfs, from this machine's
# own files: no image to download, no disk, nothing shared at run time.
#   scripts/kernels/build-rootfs.sh     prints the path of the initrd to boot
#
# Two cpio archives, concatenated (the kernel unpacks both into its rootfs):
#  1. system: busybox (static), /usr/bin/node, curl, libbpf1 and every
#     shared library they need, /etc basics, an ld.so.cache. Built once and
#     kept in the cache until one of those binaries or this script changes.
#  2. project: this checkout's build as the guest sees it under /sonde
#     (sonde, package.json, dist/, the production node_modules, the test
#     peers and the guest scripts of test/kernels/guest, whose init.sh
#     becomes /init). Rebuilt on every call: it is what is under test.
# Both are uncompressed: under TCG, unpacking is far cheaper than inflating.
set -euo pipefail
# shellcheck source=scripts/kernels/lib.sh
. "$(dirname "$0")/lib.sh"

need_packages "${HOST_PACKAGES[@]}"
[ -f "$REPO/dist/collector/cli/main.js" ] || die "the project is not built: npm run build"
mkdir -p "$KCACHE"

NODE=$(readlink -f "$(command -v node)")
CURL=$(readlink -f "$(command -v curl)")
BUSYBOX=/bin/busybox
# awk reads to the end: exiting early would kill ldconfig with SIGPIPE,
# and under pipefail that fails this script (silently, at random).
LIBBPF=$(ldconfig -p | awk '/libbpf\.so\.1 .*x86-64/ && !f {f = $NF} END {print f}')
[ -n "$LIBBPF" ] || die "libbpf1 is not installed (scripts/setup.sh installs it)"
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is not static: apt-get install busybox-static"

# Native Node modules of the production dependencies (koffi).
# (npm ls exits non-zero over mere warnings, such as an extraneous package.)
PROD_MODULES=$(cd "$REPO" && { npm ls --omit=dev --all --parseable 2>/dev/null || true; } |
  grep "^$REPO/node_modules/" | sed "s|^$REPO/||" | sort -u)
[ -n "$PROD_MODULES" ] || die "npm ls found no production dependencies in $REPO/node_modules (npm ci)"
NATIVE=$(cd "$REPO" && for m in $PROD_MODULES; do find "$m" -name '*.node' -type f; done | sort -u)

key=$( (sha256sum <"$0"; stat -L -c '%n %s %Y' "$NODE" "$CURL" "$BUSYBOX" "$LIBBPF";
  for n in $NATIVE; do echo "$n"; done) | sha256sum | cut -c1-16)
system="$KCACHE/system-$key.cpio"

# Copy one file into the staging root at the same path, keeping symlinks
# (and what they point to), with /lib, /bin... resolved as on this host.
add_file() {
  local root=$1 path=$2 dir real
  dir=$(readlink -f "$(dirname "$path")")
  path="$dir/$(basename "$path")"
  [ -e "$root$path" ] || [ -L "$root$path" ] && return 0
  mkdir -p "$root$dir"
  cp -a "$path" "$root$path"
  if [ -L "$path" ]; then
    real=$(readlink -f "$path")
    add_file "$root" "$real"
  fi
}

# A binary or shared object and, recursively, every library it loads.
add_elf() {
  local root=$1 f=$2 lib
  add_file "$root" "$f"
  for lib in $(ldd "$f" 2>/dev/null | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}'); do
    add_file "$root" "$lib"
  done
}

build_system() {
  local root applet
  root=$(mktemp -d "$KCACHE/.system.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  say "building the guest system archive ($(basename "$system"))"
  mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,proc,sys,dev,tmp,run,root,var/tmp}
  # Debian's merged /usr, as on the host.
  ln -s usr/bin "$root/bin"
  ln -s usr/sbin "$root/sbin"
  ln -s usr/lib "$root/lib"
  ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp" "$root/var/tmp"

  cp "$BUSYBOX" "$root/usr/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
  done

  add_elf "$root" "$NODE"
  add_elf "$root" "$CURL"
  add_elf "$root" "$LIBBPF"
  for n in $NATIVE; do
    for lib in $(ldd "$REPO/$n" 2>/dev/null | awk '/=> \// {print $3}'); do add_file "$root" "$lib"; done
  done
  [ "$NODE" = /usr/bin/node ] || ln -sf "$NODE" "$root/usr/bin/node"

  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
  echo sonde-guest >"$root/etc/hostname"
  # dlopen("libbpf.so.1") (koffi) finds multiarch libraries through the cache.
  cp /etc/ld.so.conf "$root/etc/"
  [ -d /etc/ld.so.conf.d ] && cp -a /etc/ld.so.conf.d "$root/etc/"
  ldconfig -r "$root"

  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$system.tmp"
  mv "$system.tmp" "$system"
  # Older system archives of previous inputs are of no further use.
  find "$KCACHE" -maxdepth 1 -name 'system-*.cpio' ! -name "$(basename "$system")" -delete
  rm -rf "$root"
  trap - EXIT
}

[ -s "$system" ] || build_system

# The project, rebuilt every time, per checkout.
repo_key=$(echo "$REPO" | sha256sum | cut -c1-12)
initrd="$KCACHE/initrd-$repo_key.cpio"
stage=$(mktemp -d "$KCACHE/.project.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/sonde/test/peers" "$stage/sonde/test/kernels" "$stage/sonde/node_modules"
cp -a "$REPO/sonde" "$REPO/package.json" "$stage/sonde/"
(cd "$REPO" && tar -cf - --exclude=dist/bpf/.obj dist) | (cd "$stage/sonde" && tar -xf -)
# shellcheck disable=SC2086 # one path per word
(cd "$REPO" && tar -cf - $PROD_MODULES) | (cd "$stage/sonde" && tar -xf -)
cp -a "$REPO/test/peers/node-server.mjs" "$stage/sonde/test/peers/"
cp -a "$REPO/test/kernels/guest" "$stage/sonde/test/kernels/"
install -m 0755 "$REPO/test/kernels/guest/init.sh" "$stage/init"
# Written aside and renamed: a guest still booting keeps the initrd it opened.
{ cat "$system"; cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0; } >"$initrd.tmp"
mv "$initrd.tmp" "$initrd"
echo "$initrd"
