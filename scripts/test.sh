#!/usr/bin/env bash
# The whole test suite (what .ci/run calls after scripts/setup.sh):
#   scripts/test.sh            userspace checks and tests, then the kernel tests in the VM
#                              (test kernel, kernel benchmark smoke run, and again on the
#                              debug kernel with KASAN/lockdep/kmemleak)
#   scripts/test.sh --no-vm    userspace only
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
step() { printf '\n=== %s\n' "$*" >&2; }

step "format"
cargo fmt --all --check
(cd filters && cargo fmt --all --check)
step "clippy (workspace, and filters for wasm32)"
cargo clippy --workspace --all-targets -q -- -D warnings
(cd filters && cargo clippy --release -q -- -D warnings)
step "engine builds for x86_64-unknown-none (no_std, the kernel's proxy)"
cargo build -q -p wasmnf-engine --target x86_64-unknown-none --release
step "cargo test"
cargo test --workspace

if [ "${1:-}" = "--no-vm" ]; then
	exit 0
fi
step "kernel-side crates on the host (fmt, clippy, C API tests)"
scripts/kmod-check.sh
step "test kernel (cached)"
scripts/kernel-build.sh
step "kernel tests in the VM"
scripts/test-vm.sh
step "kernel benchmark, smoke mode (the method works; figures: bench/kernel.sh)"
bench/kernel.sh --smoke
step "debug kernel (KASAN, lockdep, kmemleak, atomic-sleep checks; cached)"
WASMNF_KERNEL_FLAVOR=debug scripts/kernel-build.sh
step "kernel tests in the VM on the debug kernel"
WASMNF_KERNEL_FLAVOR=debug scripts/test-vm.sh
