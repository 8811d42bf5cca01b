#!/usr/bin/env bash
# The whole test suite (what .ci/run calls after scripts/setup.sh):
#   scripts/test.sh            userspace checks and tests, the fuzzers' short form, then the
#                              kernel tests in the VM (test kernel, kernel benchmark smoke run,
#                              again on the hardened kernel (mitigations, IBT) with objtool's
#                              positive control, and on the debug kernel with KASAN/lockdep/kmemleak)
#   scripts/test.sh --no-vm    userspace only
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
step() { printf '\n=== %s\n' "$*" >&2; }

step "format"
cargo fmt --all --check
(cd filters && cargo fmt --all --check)
(cd fuzz && cargo fmt --all --check)
step "clippy (workspace, and filters for wasm32)"
cargo clippy --workspace --all-targets -q -- -D warnings
(cd filters && cargo clippy --release -q -- -D warnings)
cargo clippy -q -p wasmnf-engine --no-default-features -- -D warnings
step "engine builds for x86_64-unknown-none without wasmi (no_std, the kernel's proxy)"
cargo build -q -p wasmnf-engine --no-default-features --target x86_64-unknown-none --release
step "cargo test"
cargo test --workspace

step "fuzzers, short form (differential against wasmtime, cargo-fuzz targets)"
scripts/fuzz.sh --short

if [ "${1:-}" = "--no-vm" ]; then
	exit 0
fi
step "kernel build dependencies (clang, llvm, qemu, bindgen: kmod-check needs them too)"
scripts/kernel-build.sh --deps
step "kernel-side crates on the host (fmt, clippy, C API tests)"
scripts/kmod-check.sh
step "test kernel (cached)"
scripts/kernel-build.sh
step "kernel tests in the VM"
scripts/test-vm.sh
step "kernel benchmark, smoke mode (the method works; figures: bench/kernel.sh)"
bench/kernel.sh --smoke
step "hardened kernel (CPU mitigations, IBT, stack protector; cached)"
WASMNF_KERNEL_FLAVOR=hardened scripts/kernel-build.sh
step "scripts/kernel-check.sh on the test and hardened trees and on a kernel without CONFIG_RUST"
tests/kernel-check.sh
step "objtool's positive control on the hardened tree (a planted raw indirect jump fails)"
kmod-netfilter/tools/objtool-check.sh --self-test "$(WASMNF_KERNEL_FLAVOR=hardened scripts/kernel-build.sh --print-kdir)"
step "kernel tests in the VM on the hardened kernel (the module built with its code generation, objtool clean)"
WASMNF_KERNEL_FLAVOR=hardened scripts/test-vm.sh
step "debug kernel (KASAN, lockdep, kmemleak, atomic-sleep checks; cached)"
WASMNF_KERNEL_FLAVOR=debug scripts/kernel-build.sh
step "kernel tests in the VM on the debug kernel"
WASMNF_KERNEL_FLAVOR=debug scripts/test-vm.sh
