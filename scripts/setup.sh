#!/usr/bin/env bash
# One-time set-up for building and testing wasmnf's userspace parts: the
# pinned Rust toolchain with the wasm32 and x86_64-unknown-none targets, and
# libpcap. Idempotent. (The test kernel's own dependencies are installed by
# scripts/kernel-build.sh.)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '[setup] %s\n' "$*" >&2; }

need_apt=()
for pkg in libpcap-dev pkg-config; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
	log "apt-get install ${need_apt[*]}"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

command -v rustup >/dev/null || { log "rustup is required (https://rustup.rs)"; exit 1; }
TOOLCHAIN=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
log "rust toolchain $TOOLCHAIN with wasm32-unknown-unknown, x86_64-unknown-none, rust-src"
rustup toolchain install "$TOOLCHAIN" --profile minimal >/dev/null 2>&1 || true
rustup target add --toolchain "$TOOLCHAIN" wasm32-unknown-unknown x86_64-unknown-none >/dev/null
rustup component add --toolchain "$TOOLCHAIN" rust-src rustfmt clippy >/dev/null
log "ok"
