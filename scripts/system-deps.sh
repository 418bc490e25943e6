#!/usr/bin/env bash
# Pre-test step: the Debian packages some tests use. As root, installs the missing ones;
# otherwise says what is missing, and those tests skip themselves with a one-line reason.
set -uo pipefail
# X0_SKIP_SYSTEM_DEPS=1: touch nothing (a machine whose packages are managed elsewhere); the tests
# needing a missing package skip themselves with a one-line reason, as they do without root.
if [ "${X0_SKIP_SYSTEM_DEPS:-}" = "1" ]; then
  echo "system-deps: skipped (X0_SKIP_SYSTEM_DEPS=1)"
  exit 0
fi
# command → package that provides it
declare -A NEEDED=(
  [openssl]=openssl
  [mosquitto_sub]=mosquitto-clients
  [make]=make
  [clang]=clang
  [llc]=llvm
  [bpftool]=bpftool
  [ip]=iproute2
  [ping]=iputils-ping
  [nft]=nftables
  [batctl]=batctl
  [promtool]=prometheus
  [chromium]=chromium
  [qemu-aarch64-static]=qemu-user-static
  [linux.uml]=user-mode-linux
  [vde_switch]=vde2
  [uml_mconsole]=uml-utilities
)
missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
# Headers, not commands: libbpf's bpf_helpers.h, and asm/types.h for -target bpf.
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)
[ -e /usr/include/asm/types.h ] || [ -e "/usr/include/$(uname -m)-linux-gnu/asm/types.h" ] || missing+=(gcc-multilib)
root=false
[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 && root=true
if [ ${#missing[@]} -gt 0 ] && $root; then
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "system-deps: apt-get install ${missing[*]} failed"; exit 1; }
elif [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: missing ${missing[*]} (not root): the tests needing them are skipped; install with: sudo apt-get install ${missing[*]}"
fi
# The arm64 Node.js and glibc the firmware's arm64 test runs under qemu-user (.x0/cache/arm64).
if $root; then
  bash "$(dirname "$0")/arm64-runtime.sh" || echo "system-deps: no arm64 runtime (the arm64 firmware test is skipped)"
fi
