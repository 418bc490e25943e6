#!/usr/bin/env bash
# Builds bpf/ when clang is there; without it the kernel tests skip themselves and say why.
set -euo pipefail
if command -v clang >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
  make -s -C "$(dirname "$0")/../bpf"
else
  echo "build-bpf: no clang/make: eBPF programs not built (install: clang llvm libbpf-dev gcc-multilib make)"
fi
