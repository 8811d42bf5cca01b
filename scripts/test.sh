#!/usr/bin/env bash
# The whole test suite (what .ci/run calls after scripts/setup.sh):
#   scripts/test.sh            userspace checks and tests, the fuzzers' short form, then the
#                              kernel tests in the VM (test kernel, kernel benchmark smoke run,
#                              again on the hardened kernel (mitigations, IBT) with objtool's
#                              positive control, and on the debug kernel with KASAN/lockdep/kmemleak)
# The VM suites are single-threaded (one TCG guest at a time each), so two
# run at once: a background lane (test kernel, benchmark smoke run, hardened
# kernel) from the end of `cargo test`, beside the fuzzers and then the debug
# kernel's suite in the foreground. The lane's output is printed when it ends.
#   scripts/test.sh --no-vm    userspace only
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
START=$SECONDS
step() { printf '\n=== [%dm%02ds] %s\n' $(((SECONDS - START) / 60)) $(((SECONDS - START) % 60)) "$*" >&2; }
vm=1
[ "${1:-}" = "--no-vm" ] && vm=0

# The kernels are the cold path's longest steps and mostly need the cores
# that the userspace steps leave idle (test runs, time-bound fuzzing, the
# VM's single-threaded phases): build all three in the background, niced,
# from the start; each kernel step below then finds its kernel cached, or
# waits for the build in progress (kernel-build.sh's lock). A failed
# background build is built again, in the foreground, by its step.
if [ $vm = 1 ]; then
	step "kernel build dependencies (clang, llvm, qemu, bindgen: kmod-check needs them too)"
	scripts/kernel-build.sh --deps
	kernel_log=${WASMNF_CACHE:-/var/cache/wasmnf}/kernel/logs/test-sh-background.log
	mkdir -p "$(dirname "$kernel_log")"
	step "test, debug and hardened kernels: building in the background (niced; $kernel_log)"
	# Its own process group, so that leaving early stops the whole build.
	setsid bash -c 'for flavor in test debug hardened; do
		WASMNF_KERNEL_FLAVOR=$flavor nice -n 10 scripts/kernel-build.sh || exit 1
	done' >"$kernel_log" 2>&1 &
	kernels_pid=$!
	trap 'kill -- "-$kernels_pid" 2>/dev/null || true' EXIT
fi

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

# The background lane: everything that boots the test and hardened kernels.
if [ $vm = 1 ]; then
	lane_log=$(mktemp "${TMPDIR:-/tmp}/wasmnf-test-lane.XXXXXX")
	step "VM lane in the background: test kernel, benchmark smoke, hardened kernel ($lane_log)"
	# Its own process group (job control for this one job), so that leaving
	# early stops its guests too.
	set -m
	(
		# A failed step does not stop the lane: the later kernels still run.
		lrc=0
		step "lane: test kernel (cached, or waiting for the background build)"
		scripts/kernel-build.sh || exit 1
		step "lane: kernel tests in the VM"
		scripts/test-vm.sh || lrc=1
		step "lane: kernel benchmark, smoke mode (the method works; figures: bench/kernel.sh)"
		bench/kernel.sh --smoke || lrc=1
		step "lane: hardened kernel (CPU mitigations, IBT, stack protector; cached or waiting)"
		WASMNF_KERNEL_FLAVOR=hardened scripts/kernel-build.sh || exit 1
		step "lane: kernel tests in the VM on the hardened kernel (the module built with its code generation, objtool clean)"
		WASMNF_KERNEL_FLAVOR=hardened scripts/test-vm.sh || lrc=1
		step "lane: done (exit status $lrc)"
		exit $lrc
	) >"$lane_log" 2>&1 &
	lane_pid=$!
	set +m
	trap 'kill -- "-$kernels_pid" 2>/dev/null || true; kill -- "-$lane_pid" 2>/dev/null || true' EXIT
fi

step "fuzzers, short form (differential against wasmtime, cargo-fuzz targets)"
scripts/fuzz.sh --short

if [ $vm = 0 ]; then
	exit 0
fi
step "kernel-side crates on the host (fmt, clippy, C API tests)"
scripts/kmod-check.sh
step "debug kernel (KASAN, lockdep, kmemleak, atomic-sleep checks; cached or waiting)"
WASMNF_KERNEL_FLAVOR=debug scripts/kernel-build.sh
step "kernel tests in the VM on the debug kernel"
rc=0
WASMNF_KERNEL_FLAVOR=debug scripts/test-vm.sh || rc=$?
step "hardened kernel (cached or waiting)"
WASMNF_KERNEL_FLAVOR=hardened scripts/kernel-build.sh
step "scripts/kernel-check.sh on the test and hardened trees and on a kernel without CONFIG_RUST"
tests/kernel-check.sh || rc=$?
step "objtool's positive control on the hardened tree (a planted raw indirect jump fails)"
kmod-netfilter/tools/objtool-check.sh --self-test "$(WASMNF_KERNEL_FLAVOR=hardened scripts/kernel-build.sh --print-kdir)" || rc=$?
step "waiting for the VM lane (test kernel, benchmark smoke, hardened kernel)"
lane_rc=0
wait "$lane_pid" || lane_rc=$?
echo "--- the VM lane's output ($lane_log), exit status $lane_rc:"
cat "$lane_log"
[ $rc = 0 ] && [ $lane_rc = 0 ] || { step "failed (debug kernel's suite or host kernel checks: $rc, VM lane: $lane_rc)"; exit 1; }
step "done"
