#!/usr/bin/env bash
# Build the engine as one relocatable object for the kernel module:
#   engine-ffi/wasmnf_engine.o_shipped  (Kbuild copies it to wasmnf_engine.o)
#
# cargo builds this crate as a staticlib for x86_64-unknown-none with the
# kernel's code generation constraints, rebuilding core/alloc from rust-src:
#   code-model=kernel, no red zone, soft-float (the target's default),
#   relocation-model=static, -Z plt=yes (no GOTPCREL relocations, which the
#   x86 module loader rejects), no unwind tables, panic=abort, LTO.
# Then ld.lld -r merges the archive into one object keeping only what the
# exported wasmnf_engine_* symbols reach (one section per kind, sections.lds), llvm-objcopy makes every other
# symbol local and drops LLVM bitcode sections, and the result is checked:
# allowed relocation types, no undefined symbols but the module callbacks.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
out=$here/wasmnf_engine.o_shipped
target=x86_64-unknown-none
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$here/../../rust-toolchain.toml")
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$toolchain}
export RUSTC_BOOTSTRAP=1
export CARGO_ENCODED_RUSTFLAGS=$(printf '%s\x1f' -Crelocation-model=static -Ccode-model=kernel \
	-Cno-redzone=y -Cforce-unwind-tables=n -Zplt=yes ${WASMNF_ENGINE_EXTRA_RUSTFLAGS:-} | sed 's/\x1f$//')
cargo build --release --locked --target "$target" -Zbuild-std=core,alloc --lib ${CARGO_QUIET:+--quiet}
lib=${CARGO_TARGET_DIR:-$here/target}/$target/release/libwasmnf_engine_ffi.a

# The API: every wasmnf_engine_* function defined in the archive.
mapfile -t api < <(llvm-nm --defined-only -g "$lib" 2>/dev/null | awk '$2=="T" && $3 ~ /^wasmnf_engine_/ {print $3}' | sort -u)
[ ${#api[@]} -gt 0 ] || { echo "engine-ffi: no wasmnf_engine_* symbols in $lib" >&2; exit 1; }
undef_args=() keep_args=()
for s in "${api[@]}"; do undef_args+=(-u "$s"); keep_args+=("--keep-global-symbol=$s"); done

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp" "$tmp.r"' EXIT
# Without --whole-archive, only the archive members the API needs are taken;
# sections.lds merges the thousands of per-function sections.
ld.lld -m elf_x86_64 -r -T "$here/sections.lds" "${undef_args[@]}" -o "$tmp.r" "$lib"
llvm-objcopy "${keep_args[@]}" --remove-section=.llvmbc --remove-section=.llvmcmd "$tmp.r" "$tmp"

# Checks: the module loader accepts only these relocation types, and the
# object may need nothing from the kernel but the module's callbacks.
bad_relocs=$(llvm-readelf -r "$tmp" | awk '/^[0-9a-f]+ +[0-9a-f]+ +R_X86_64_/ {print $3}' |
	sort -u | grep -Ev '^R_X86_64_(64|PC32|PLT32|32S|32|PC64)$' || true)
[ -z "$bad_relocs" ] || { echo "engine-ffi: relocation types the module loader rejects: $bad_relocs" >&2; exit 1; }
undefined=$(llvm-nm -u "$tmp" | awk '{print $2}' | sort -u)
allowed='^(wasmnf_kmod_krealloc|wasmnf_kmod_kfree|wasmnf_kmod_engine_panic)$'
unexpected=$(grep -Ev "$allowed" <<<"$undefined" || true)
[ -z "$unexpected" ] || { echo "engine-ffi: unexpected undefined symbols: $unexpected" >&2; exit 1; }
# Only the project's own engine runs in the kernel (issue 11): no wasmi code
# may reach the object (checked by symbol names; tools/check-no-wasmi.sh has
# the positive control).
"$here/../tools/check-no-wasmi.sh" "$tmp"
mv "$tmp" "$out"
echo "engine-ffi: $out ($(stat -c %s "$out") bytes, ${#api[@]} exported functions)"
