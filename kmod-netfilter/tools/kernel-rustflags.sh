#!/usr/bin/env bash
# The kernel's own Rust code generation, read from a built kernel tree: the
# rustc command line Kbuild used for the tree's `core`
# ($KDIR/rust/.core.o.cmd), so the engine object (engine-ffi/build.sh) is
# compiled exactly as the kernel's own Rust for that configuration: the
# kernel's target spec, and every codegen flag the configuration added
# (IBT: -Zcf-protection=branch -Cjump-tables=n; retpolines; return thunks;
# call padding; KASAN's -Zsanitizer=kernel-address with its -Cllvm-args;
# kCFI ...). Nothing is listed here but what is NOT codegen: build-mode
# options the engine sets itself (optimisation, LTO, codegen units, debug
# assertions, overflow checks, symbol mangling, sections) and rustc plumbing.
# A flag a future kernel adds is therefore taken, not dropped.
#
#   kernel-rustflags.sh KDIR            the flags, one per line (--target
#                                       with an absolute path first)
#   kernel-rustflags.sh --objtool KDIR  the objtool options Kbuild gave the
#                                       tree's Rust objects (add --module)
set -euo pipefail
mode=flags
[ "${1:-}" = --objtool ] && { mode=objtool; shift; }
kdir=${1:?usage: kernel-rustflags.sh [--objtool] KDIR}
cmd=$kdir/rust/.core.o.cmd
[ -f "$cmd" ] || {
	echo "kernel-rustflags: $cmd not found: $kdir is not a built kernel tree with CONFIG_RUST=y (its rust/ objects are built by 'make modules_prepare' or a full build)" >&2
	exit 1
}
line=$(sed -n 's/^savedcmd_rust\/core\.o := //p' "$cmd")
[ -n "$line" ] || { echo "kernel-rustflags: no savedcmd line in $cmd" >&2; exit 1; }

if [ $mode = objtool ]; then
	# `...; ./tools/objtool/objtool OPTIONS rust/core.o`: OPTIONS. Under IBT
	# (or clang LTO) Kbuild runs objtool on linked objects only, vmlinux.o
	# and each module's linked object, with --link: then the options are
	# vmlinux.o's. Nothing when the configuration runs no objtool.
	opts=$(sed -n 's/.*tools\/objtool\/objtool \(.*\) rust\/core\.o.*/\1/p' <<<"$line")
	if [ -z "$opts" ] && [ -f "$kdir/.vmlinux.o.cmd" ]; then
		opts=$(grep -o 'objtool/objtool [^;]* vmlinux\.o' "$kdir/.vmlinux.o.cmd" | head -n 1 |
			sed 's/^objtool\/objtool //; s/ vmlinux\.o$//')
	fi
	tr -s ' ' '\n' <<<"$opts" | sed '/^$/d'
	exit 0
fi

rustc_part=${line%%;*}
for tok in $rustc_part; do
	case $tok in
	--target=*)
		t=${tok#--target=}
		case $t in /*) ;; *) t=$kdir/${t#./} ;; esac
		echo "--target=$t" ;;
	-Copt-level=* | -Cdebug-assertions=* | -Coverflow-checks=* | -Ccodegen-units=* | \
		-Clto=* | -Cembed-bitcode=* | -Csymbol-mangling-version=* | -Cpanic=* | \
		-Cmetadata=* | -Cdebuginfo=* | -Cstrip=* | -Zbinary_dep_depinfo=* | \
		-Zunstable-options | -Zfunction-sections=*) ;;
	-C* | -Z*) echo "$tok" ;;
	esac
done
