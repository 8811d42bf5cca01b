#!/usr/bin/env bash
# Host-side checks of the kernel-side code (no kernel, no VM needed):
# formatting of the module's Rust sources, the engine object crate
# (kmod-netfilter/engine-ffi: fmt, clippy for the host and for
# x86_64-unknown-none, host tests of its C API with the self-test filters),
# the guest tools (tests/vm/netprobe, tests/vm/nlraw), and bash syntax of the
# scripts.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
step() { printf '\n=== %s\n' "$*" >&2; }

step "rustfmt: kmod-netfilter/src"
rustfmt --check --edition 2021 --config-path "$ROOT/kmod-netfilter/.rustfmt.toml" \
	"$ROOT/kmod-netfilter/src/wasmnf_main.rs"

step "engine-ffi: fmt, clippy (host and x86_64-unknown-none), tests"
(
	cd "$ROOT/kmod-netfilter/engine-ffi"
	cargo fmt --check
	cargo clippy --locked --all-targets -q -- -D warnings
	RUSTC_BOOTSTRAP=1 cargo clippy --locked --target x86_64-unknown-none \
		-Zbuild-std=core,alloc -q -- -D warnings
	cargo test --locked
)

step "check-no-wasmi: positive control (a planted wasmi symbol fails the check)"
"$ROOT/kmod-netfilter/tools/check-no-wasmi.sh" --self-test
step "panic-sites: positive control (planted panic calls are found through relocations)"
"$ROOT/kmod-netfilter/tools/panic-sites.sh" --self-test

for tool in netprobe nlraw; do
	step "$tool: fmt, clippy"
	(
		cd "$ROOT/tests/vm/$tool"
		cargo fmt --check
		cargo clippy --locked -q -- -D warnings
	)
done

step "bash -n scripts and guest tests"
for f in "$ROOT"/scripts/{kernel-build,kmod-build,vm-run,test-vm,kmod-check}.sh \
	"$ROOT"/kmod-netfilter/engine-ffi/build.sh "$ROOT"/kmod-netfilter/tools/gen-bindings.sh; do
	bash -n "$f"
done
for f in "$ROOT"/tests/vm/*.sh "$ROOT"/tests/vm/lib/*.sh; do
	sh -n "$f"
done
echo "kmod-check: ok" >&2
