#!/usr/bin/env bash
# Can wasmnf.ko be built for, and loaded into, this kernel?
#
#   scripts/kernel-check.sh [KDIR]   a kernel build tree (default: the
#                                    running kernel's, /lib/modules/$(uname -r)/build)
#
# Checks, each printed as `ok`, `warn` or `FAIL` with what to do:
# the tree is a configured x86_64 kernel with CONFIG_RUST and netfilter;
# the rustc and bindgen that built it against the ones available here (and
# the rustup command for the matching toolchain); the Rust metadata and the
# build records the module's build needs (rust/*.rmeta, libmacros.so,
# rust/.core.o.cmd, the source of the engine object's code generation);
# the LLVM tools; the code generation and objtool options the engine object
# will get; and, for the running kernel, whether modules can be loaded
# (module loading disabled, signature enforcement, lockdown).
#
# Exit status: 0 the module can be built (warnings may remain), 1 it cannot
# (a FAIL line says why and what to do), 2 usage.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -le 1 ] || { echo "usage: $0 [KDIR]" >&2; exit 2; }
running=$(uname -r)
KDIR=${1:-/lib/modules/$running/build}
fails=0 warns=0
ok() { printf 'ok    %s\n' "$*"; }
warn() { printf 'warn  %s\n' "$*"; warns=$((warns + 1)); }
fail() { printf 'FAIL  %s\n' "$*"; fails=$((fails + 1)); }
done_() {
	if [ $fails -gt 0 ]; then
		echo "kernel-check: $KDIR: the module cannot be built here ($fails problems, $warns warnings)"
		exit 1
	fi
	echo "kernel-check: $KDIR: the module can be built (${warns} warnings): KDIR=$KDIR scripts/kmod-build.sh"
	exit 0
}
cfg() { sed -n "s/^$1=//p" "$KDIR/.config" | tr -d '"'; }

echo "kernel-check: $KDIR"
if [ ! -f "$KDIR/Makefile" ] || [ ! -f "$KDIR/.config" ]; then
	fail "no configured kernel build tree at $KDIR: for the running kernel install its headers (Debian: apt install linux-headers-$running; Ubuntu: also linux-lib-rust-$running), or pass the directory you built the kernel in"
	done_
fi
release=$(cat "$KDIR/include/config/kernel.release" 2>/dev/null || echo unknown)
ok "kernel $release"
if [ "$(cfg CONFIG_X86_64)" = y ]; then ok "x86_64"; else fail "not an x86_64 kernel: the engine object is built for x86_64 only"; fi
if [ "$(cfg CONFIG_RUST)" = y ]; then
	ok "CONFIG_RUST=y"
else
	fail "CONFIG_RUST is not set: this kernel has no Rust support, which the module is written in. Use a kernel built with CONFIG_RUST=y (Ubuntu builds its kernels with it; or rebuild yours: docs/kernel.md, \"Building for your distribution's kernel\"), or the project's test kernel (scripts/kernel-build.sh)"
fi
for opt in CONFIG_NETFILTER CONFIG_MODULES CONFIG_MODULE_UNLOAD; do
	case $(cfg $opt) in
	y) ok "$opt=y" ;;
	*) fail "$opt is not set: the module needs it; rebuild the kernel with $opt=y" ;;
	esac
done
[ $fails -eq 0 ] || done_

# The toolchain: modules must be built by the rustc and bindgen that built
# the kernel.
want_rustc=$(cfg CONFIG_RUSTC_VERSION_TEXT)
toolchain=${RUSTUP_TOOLCHAIN:-$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")}
have_rustc=$(RUSTUP_TOOLCHAIN=$toolchain rustc --version 2>/dev/null || echo none)
want_ver=$(sed -n 's/^rustc \([0-9.]*\).*/\1/p' <<<"$want_rustc")
if [ "$want_rustc" = "$have_rustc" ]; then
	ok "rustc: $have_rustc (the kernel's)"
else
	fail "rustc: the kernel was built with '$want_rustc', toolchain '$toolchain' here is '$have_rustc': rustup toolchain install $want_ver --profile minimal --component rust-src && RUSTUP_TOOLCHAIN=$want_ver KDIR=$KDIR scripts/kmod-build.sh"
fi
if RUSTUP_TOOLCHAIN=$toolchain rustc --print sysroot >/dev/null 2>&1 &&
	[ -d "$(RUSTUP_TOOLCHAIN=$toolchain rustc --print sysroot)/lib/rustlib/src/rust/library/core" ]; then
	ok "rust-src (the engine object rebuilds core and alloc with the kernel's flags)"
else
	fail "rust-src is missing for toolchain '$toolchain': rustup component add rust-src --toolchain $toolchain"
fi
want_bindgen=$(cfg CONFIG_BINDGEN_VERSION_TEXT)
have_bindgen=$(bindgen --version 2>/dev/null || echo none)
if [ "$want_bindgen" = "$have_bindgen" ]; then
	ok "bindgen: $have_bindgen (the kernel's)"
else
	fail "bindgen: the kernel was built with '$want_bindgen', here: '$have_bindgen': cargo install bindgen-cli --version ${want_bindgen#bindgen } --locked"
fi
for tool in clang ld.lld llvm-objcopy llvm-nm llvm-readelf; do
	command -v $tool >/dev/null && ok "$tool" || fail "$tool not found: the module is built with LLVM=1 (Debian/Ubuntu: apt install clang lld llvm)"
done
if [ "$(cfg CONFIG_CC_IS_CLANG)" != y ]; then
	warn "the kernel was built with $(cfg CONFIG_CC_VERSION_TEXT) (not clang): the module's C helper is built with LLVM=1; a GCC-built Rust kernel needs its own compiler for C (untested)"
fi

# What the module's build reads from the tree.
missing=()
for f in rust/libkernel.rmeta rust/libcore.rmeta rust/libmacros.so rust/bindings/.bindings_generated.rs.cmd Module.symvers; do
	[ -e "$KDIR/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -eq 0 ]; then
	ok "Rust metadata and build records (rust/*.rmeta, libmacros.so, bindgen flags, Module.symvers)"
else
	fail "the tree lacks ${missing[*]}: it is not a full Rust-enabled build tree (Ubuntu: apt install linux-lib-rust-$running; a tree you built: run make modules_prepare, or a full build, with CONFIG_RUST=y)"
fi
if flags=$("$ROOT/kmod-netfilter/tools/kernel-rustflags.sh" "$KDIR" 2>&1); then
	ok "engine code generation (from rust/.core.o.cmd): $(grep -v '^--target' <<<"$flags" | tr '\n' ' ')"
	case $flags in *cf-protection=branch*) ok "IBT: ENDBR64 at indirect branch targets, no jump tables" ;; *) [ "$(cfg CONFIG_X86_KERNEL_IBT)" = y ] && fail "CONFIG_X86_KERNEL_IBT=y but the kernel's Rust flags have no -Zcf-protection=branch: report this" ;; esac
	[ "$(cfg CONFIG_MITIGATION_RETPOLINE)" = y ] && ok "retpoline: $(grep -E 'retpoline|function-return' <<<"$flags" | tr '\n' ' ')"
	[ "$(cfg CONFIG_KASAN)" = y ] && ok "KASAN: $(grep -c sanitizer <<<"$flags") sanitizer flags"
	objtool=$("$ROOT/kmod-netfilter/tools/kernel-rustflags.sh" --objtool "$KDIR" | tr '\n' ' ')
	if [ -n "$objtool" ]; then
		if [ -x "$KDIR/tools/objtool/objtool" ]; then ok "objtool: $objtool--module"; else fail "the tree has no tools/objtool/objtool, which checks the engine object: build it (make -C $KDIR tools/objtool) or use the full build tree"; fi
	fi
else
	fail "$flags"
fi
[ "$(cfg CONFIG_CFI_CLANG)" = y ] && warn "CONFIG_CFI_CLANG=y (kCFI): the engine object's calls into the module are not yet checked against kCFI (issue 12); untested"

# Loading, for the running kernel only.
if [ "$release" = "$running" ]; then
	if [ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)" = 1 ]; then
		fail "module loading is disabled (kernel.modules_disabled=1) until the next boot"
	fi
	if [ "$(cfg CONFIG_MODULE_SIG_FORCE)" = y ] || grep -q '\[integrity\]\|\[confidentiality\]' /sys/kernel/security/lockdown 2>/dev/null; then
		warn "the kernel only loads signed modules (MODULE_SIG_FORCE or lockdown, e.g. Secure Boot): sign wasmnf.ko with a key it trusts ($KDIR/scripts/sign-file sha256 KEY CERT wasmnf.ko), or enrol one with mokutil"
	else
		ok "unsigned modules load"
	fi
else
	ok "not the running kernel ($running): loading not checked"
fi
done_
