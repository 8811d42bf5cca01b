#!/usr/bin/env bash
# Build wasmnf.ko: the engine object (cargo, engine-ffi/build.sh), then the
# module (Kbuild, make -C $KDIR M=kmod-netfilter).
#
#   scripts/kmod-build.sh                 against the cached test kernel
#   KDIR=/lib/modules/$(uname -r)/build scripts/kmod-build.sh
#                                         against another Rust-enabled kernel
#   KMOD_OUT=DIR scripts/kmod-build.sh    also copy wasmnf.ko into DIR
#
# Prints the path of wasmnf.ko last (DIR/wasmnf.ko with KMOD_OUT). The build
# is in-tree (kmod-netfilter/, engine-ffi/), so builds for different
# kernels take turns on a lock; KMOD_OUT copies the module out before the
# lock is released, so that a run for one kernel (scripts/test-vm.sh) keeps
# its module while another kernel's is built.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${KDIR:-}" ]; then
	KDIR=$("$ROOT/scripts/kernel-build.sh" --print-kdir) ||
		{ echo "kmod-build: no cached test kernel; run scripts/kernel-build.sh or set KDIR" >&2; exit 1; }
fi
[ -f "$KDIR/Makefile" ] || { echo "kmod-build: KDIR=$KDIR is not a kernel build tree" >&2; exit 1; }
grep -q '^CONFIG_RUST=y' "$KDIR/.config" 2>/dev/null ||
	{ echo "kmod-build: $KDIR was not built with CONFIG_RUST=y" >&2; exit 1; }

# The module's Rust code must be compiled by the rustc that built the
# kernel; for the test kernel that is the toolchain pinned in
# rust-toolchain.toml. make -C $KDIR runs outside the checkout, where rustup
# would pick its default, so pin it here unless the caller chose one.
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$toolchain}
export PATH=$HOME/.cargo/bin:$PATH

exec 9>"$ROOT/kmod-netfilter/.kmod-build.lock"
flock 9
t0=$SECONDS
KDIR=$KDIR "$ROOT/kmod-netfilter/engine-ffi/build.sh" >&2
t1=$SECONDS
# Kbuild's objtool warnings (under IBT it checks the whole linked module,
# engine object included) do not fail make: they fail this build.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
make -C "$KDIR" M="$ROOT/kmod-netfilter" ARCH=x86_64 LLVM=1 modules 2>&1 | tee "$log" >&2
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "kmod-build: make failed" >&2; exit 1; }
if grep -q 'warning: objtool:' "$log"; then
	echo "kmod-build: objtool warnings in the module (above); the module must be objtool-clean" >&2
	exit 1
fi
t2=$SECONDS
ko=$ROOT/kmod-netfilter/wasmnf.ko
[ -f "$ko" ] || { echo "kmod-build: $ko was not produced" >&2; exit 1; }
echo "kmod-build: engine $((t1 - t0)) s, module $((t2 - t1)) s; $(stat -c %s "$ko") bytes" >&2
if [ -n "${KMOD_OUT:-}" ]; then
	mkdir -p "$KMOD_OUT"
	cp "$ko" "$KMOD_OUT/wasmnf.ko"
	ko=$KMOD_OUT/wasmnf.ko
fi
echo "$ko"
