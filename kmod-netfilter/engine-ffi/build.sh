#!/usr/bin/env bash
# Build the engine as one relocatable object for the kernel module:
#   engine-ffi/wasmnf_engine.o_shipped  (Kbuild copies it to wasmnf_engine.o)
#
# cargo builds this crate as a staticlib with the code generation of the
# kernel it is built against (KDIR, a built kernel tree; scripts/kmod-build.sh
# passes it): the kernel's own target spec and the codegen flags Kbuild gave
# the kernel's Rust for that configuration, read from the tree by
# ../tools/kernel-rustflags.sh (under IBT -Zcf-protection=branch and no jump
# tables, under retpoline external thunks, under KASAN the sanitizer, ...),
# rebuilding core/alloc from rust-src with them; panic=abort, LTO.
# Then ld.lld -r merges the archive into one object keeping only what the
# exported wasmnf_engine_* symbols reach (one section per kind, sections.lds),
# llvm-objcopy makes every other symbol local and drops LLVM bitcode
# sections, objtool from the same tree runs over it with the options Kbuild
# gives the kernel's Rust objects plus --module (adding the annotations the
# kernel patches at load: retpoline and return sites, ENDBR seals) and any
# warning fails the build, and the result is checked: allowed relocation
# types, no undefined symbols but the module callbacks and what the
# kernel's code generation calls (thunks, sanitizer hooks), no wasmi.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
out=$here/wasmnf_engine.o_shipped
: "${KDIR:?engine-ffi: set KDIR to the kernel build tree (scripts/kmod-build.sh does)}"
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$here/../../rust-toolchain.toml")
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$toolchain}
export RUSTC_BOOTSTRAP=1
mapfile -t kflags < <("$here/../tools/kernel-rustflags.sh" "$KDIR")
target=
rustflags=()
for f in "${kflags[@]}"; do
	case $f in
	--target=*) target=${f#--target=} ;;
	*) rustflags+=("$f") ;;
	esac
done
[ -f "$target" ] || { echo "engine-ffi: no kernel target spec in the flags of $KDIR" >&2; exit 1; }
# A JSON target spec needs -Zunstable-options (as Kbuild passes it).
rustflags+=(-Zunstable-options ${WASMNF_ENGINE_EXTRA_RUSTFLAGS:-})
export CARGO_ENCODED_RUSTFLAGS=$(printf '%s\x1f' "${rustflags[@]}" | sed 's/\x1f$//')
echo "engine-ffi: kernel code generation from $KDIR: ${rustflags[*]}" >&2
# One target directory per kernel configuration: switching kernels never
# reuses objects compiled with another's flags.
flags_key=$(printf '%s\n' "$target" "${rustflags[@]}" | cat - "$target" | sha256sum | cut -c1-12)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target/k-$flags_key}
cargo build --release --locked --target "$target" -Zjson-target-spec -Zbuild-std=core,alloc --lib ${CARGO_QUIET:+--quiet}
lib=$CARGO_TARGET_DIR/$(basename "$target" .json)/release/libwasmnf_engine_ffi.a

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
"$here/../tools/objtool-check.sh" "$KDIR" "$tmp"

# Checks: the module loader accepts only these relocation types, and the
# object may need nothing from the kernel but the module's callbacks.
bad_relocs=$(llvm-readelf -r "$tmp" | awk '/^[0-9a-f]+ +[0-9a-f]+ +R_X86_64_/ {print $3}' |
	sort -u | grep -Ev '^R_X86_64_(64|PC32|PLT32|32S|32|PC64)$' || true)
[ -z "$bad_relocs" ] || { echo "engine-ffi: relocation types the module loader rejects: $bad_relocs" >&2; exit 1; }
undefined=$(llvm-nm -u "$tmp" | awk '{print $2}' | sort -u)
# The module callbacks, and what the kernel's code generation calls: the
# kernel's own mem*/bcmp (the kernel target leaves them to the "libc", as for
# the kernel's Rust), the retpoline and return thunks, KASAN's hooks, the
# stack protector. modpost checks each is exported to modules.
allowed='^(wasmnf_kmod_krealloc|wasmnf_kmod_kfree|wasmnf_kmod_engine_panic|memcpy|memmove|memset|memcmp|bcmp|__x86_indirect_thunk_[a-z0-9]+|__x86_indirect_call_thunk_[a-z0-9]+|__x86_indirect_jump_thunk_[a-z0-9]+|__x86_return_thunk|__asan_[a-z0-9_]+|__stack_chk_fail|__fentry__)$'
unexpected=$(grep -Ev "$allowed" <<<"$undefined" || true)
[ -z "$unexpected" ] || { echo "engine-ffi: unexpected undefined symbols: $unexpected" >&2; exit 1; }
# Only the project's own engine runs in the kernel (issue 11): no wasmi code
# may reach the object (checked by symbol names; tools/check-no-wasmi.sh has
# the positive control).
"$here/../tools/check-no-wasmi.sh" "$tmp"
mv "$tmp" "$out"
echo "engine-ffi: $out ($(stat -c %s "$out") bytes, ${#api[@]} exported functions)"
