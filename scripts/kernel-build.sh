#!/usr/bin/env bash
# Build (or find in the cache) the wasmnf test kernel.
#
#   scripts/kernel-build.sh               build if not cached; print KDIR last
#   scripts/kernel-build.sh --print-kdir  print KDIR if cached, exit 1 if not
#   scripts/kernel-build.sh --deps        install the build's dependencies
#                                         (clang, llvm, qemu, bindgen, ...), even
#                                         with the kernel cached, and exit
#
# WASMNF_KERNEL_FLAVOR selects the kernel: `test` (default: fragment
# kmod-netfilter/kernel/wasmnf.config) or `debug` (the same plus
# kmod-netfilter/kernel/debug.config: KASAN, lockdep, kmemleak, ...) or
# `hardened` (wasmnf.config plus kmod-netfilter/kernel/hardened.config: CPU
# mitigations, IBT, stack protector, as distribution kernels have).
#
# The built tree lives outside the checkout in
#   ${WASMNF_CACHE:-/var/cache/wasmnf}/kernel/<key>
# where <key> hashes the kernel source package version, the flavor and its
# config fragments, rustc's and bindgen's versions and this script's RECIPE
# number. The tree is built under a temporary name and
# renamed into place only after it built completely, so an interrupted build
# is never taken for a cached one. See docs/kernel.md.
set -euo pipefail

RECIPE=1 # bump when the build steps below change what ends up in the tree

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WASMNF_CACHE:-/var/cache/wasmnf}
KCACHE=$CACHE/kernel
FLAVOR=${WASMNF_KERNEL_FLAVOR:-test}
case $FLAVOR in
test) FRAGMENTS=("$ROOT/kmod-netfilter/kernel/wasmnf.config") ;;
debug) FRAGMENTS=("$ROOT/kmod-netfilter/kernel/wasmnf.config" "$ROOT/kmod-netfilter/kernel/debug.config") ;;
hardened) FRAGMENTS=("$ROOT/kmod-netfilter/kernel/wasmnf.config" "$ROOT/kmod-netfilter/kernel/hardened.config") ;;
*) echo "kernel-build: WASMNF_KERNEL_FLAVOR must be test, debug or hardened, not '$FLAVOR'" >&2; exit 2 ;;
esac
SRC_PKG=linux-source-6.12
SRC_TAR=/usr/src/linux-source-6.12.tar.xz
BINDGEN_VERSION=0.69.5
APT_PKGS=(linux-source-6.12 clang lld llvm libclang-dev flex bison bc libelf-dev
	libssl-dev cpio make gcc libc6-dev xz-utils kmod qemu-system-x86
	busybox-static iproute2 python3)

# The kernel and every module for it must be built by the same rustc: use the
# toolchain pinned by rust-toolchain.toml even though the kernel tree lives
# outside the checkout (rustup would otherwise pick its default toolchain).
TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")
export RUSTUP_TOOLCHAIN=$TOOLCHAIN
export PATH=$HOME/.cargo/bin:$PATH
MAKE=(make ARCH=x86_64 LLVM=1)

log() { printf '[kernel-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Prints the cache key, or fails if an input is not installed yet.
cache_key() {
	local src_ver rustc_ver bindgen_ver
	src_ver=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null) || return 1
	[ -n "$src_ver" ] && [ -f "$SRC_TAR" ] || return 1
	rustc_ver=$(rustc --version 2>/dev/null) || return 1
	bindgen_ver=$(bindgen --version 2>/dev/null) || return 1
	{
		echo "recipe $RECIPE"
		echo "source $SRC_PKG $src_ver"
		echo "rustc $rustc_ver"
		echo "bindgen $bindgen_ver"
		echo "flavor $FLAVOR"
		for f in "${FRAGMENTS[@]}"; do
			echo "fragment $(basename "$f")"
			cat "$f"
		done
	} | sha256sum | cut -c1-16
}

cached_kdir() {
	local key
	key=$(cache_key) || return 1
	[ -f "$KCACHE/$key/.wasmnf-complete" ] || return 1
	echo "$KCACHE/$key"
}

deps_only=0
case "${1:-}" in
--print-kdir)
	cached_kdir || { echo "kernel-build: no cached kernel for the current inputs; run scripts/kernel-build.sh" >&2; exit 1; }
	exit 0
	;;
--deps) deps_only=1 ;;
"") ;;
*)
	echo "usage: $0 [--print-kdir | --deps]" >&2
	exit 2
	;;
esac

# Warm path: nothing to install, nothing to build.
if [ $deps_only = 0 ] && kdir=$(cached_kdir); then
	log "cached: $kdir"
	echo "$kdir"
	exit 0
fi

# ---- inputs -----------------------------------------------------------------
missing=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! rustup component list --installed --toolchain "$TOOLCHAIN" 2>/dev/null | grep -q '^rust-src'; then
	log "rustup component add rust-src (toolchain $TOOLCHAIN)"
	rustup component add rust-src --toolchain "$TOOLCHAIN"
fi

if [ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
	log "cargo install bindgen-cli $BINDGEN_VERSION"
	(cd / && cargo install bindgen-cli --version "$BINDGEN_VERSION" --locked --quiet)
fi

if [ $deps_only = 1 ]; then
	log "dependencies installed"
	exit 0
fi

key=$(cache_key) || die "cannot compute the cache key (are $SRC_PKG, rustc and bindgen installed?)"
kdir=$KCACHE/$key
mkdir -p "$KCACHE/logs"

# One kernel build at a time on this machine (they take all cores).
exec 9>"$KCACHE/.lock"
if ! flock -n 9; then
	log "another kernel build holds $KCACHE/.lock; waiting"
	flock 9
fi
if [ -f "$kdir/.wasmnf-complete" ]; then
	log "cached (built by a concurrent run): $kdir"
	echo "$kdir"
	exit 0
fi

logfile=$KCACHE/logs/build-$key-$(date +%Y%m%d-%H%M%S).log
log "cache key $key; full log in $logfile"
tmp=$KCACHE/.building-$key
# Leftovers of interrupted builds (we hold the lock, so none is running).
rm -rf "$KCACHE"/.building-* "$kdir"
mkdir -p "$tmp"

step() { # step NAME CMD... : run CMD with its output in the log, time it
	local name=$1 t0=$SECONDS
	shift
	log "$name ..."
	echo "=== $name: $*" >>"$logfile"
	if ! "$@" >>"$logfile" 2>&1; then
		tail -n 40 "$logfile" >&2
		die "$name failed (see $logfile)"
	fi
	log "$name done in $((SECONDS - t0)) s"
}

t_start=$SECONDS
step "extract $SRC_TAR" tar -xf "$SRC_TAR" -C "$tmp" --strip-components=1
cd "$tmp"
step "rustavailable" "${MAKE[@]}" rustavailable
step "tinyconfig" "${MAKE[@]}" tinyconfig
step "merge fragments ($FLAVOR)" env ARCH=x86_64 LLVM=1 scripts/kconfig/merge_config.sh -m .config "${FRAGMENTS[@]}"
step "olddefconfig" "${MAKE[@]}" olddefconfig

grep -q '^CONFIG_RUST=y' .config || die "CONFIG_RUST=y did not survive olddefconfig (HAVE_RUST false? wrong ARCH? rustc/bindgen unusable?)"
lost=()
while IFS= read -r opt; do
	case $opt in
	*=n) grep -q "^${opt%=n}=" .config && lost+=("$opt") ;;
	*) grep -qx "$opt" .config || lost+=("$opt") ;;
	esac
done < <(cat "${FRAGMENTS[@]}" | grep -E '^CONFIG_[A-Z0-9_]+=[yn]$')
[ ${#lost[@]} -eq 0 ] || die "options of the fragments not as asked after olddefconfig: ${lost[*]}"
log "config ok: CONFIG_RUST=y and every =y/=n option of the fragments holds"

step "make -j$(nproc) bzImage modules" "${MAKE[@]}" -j"$(nproc)" bzImage modules

{
	echo "key=$key"
	echo "recipe=$RECIPE"
	echo "flavor=$FLAVOR"
	echo "source=$SRC_PKG $(dpkg-query -W -f='${Version}' "$SRC_PKG")"
	echo "rustc=$(rustc --version)"
	echo "bindgen=$(bindgen --version)"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - t_start)) s"
} >.wasmnf-key
touch .wasmnf-complete
cd /
mv -T "$tmp" "$kdir"
log "built in $((SECONDS - t_start)) s: $kdir"
echo "$kdir"
