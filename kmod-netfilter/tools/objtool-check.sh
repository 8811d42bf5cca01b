#!/usr/bin/env bash
# objtool from the kernel tree over the engine object, with the options
# Kbuild gives that tree's Rust objects (tools/kernel-rustflags.sh --objtool)
# plus --module, as for any module object, and any warning fails the check:
# under IBT an indirect branch target without ENDBR64, under retpolines a raw
# indirect jump or call, under return thunks a bare `ret` ... Where Kbuild
# runs objtool per object (no IBT), it never does for the shipped engine
# object, so this pass also annotates it (retpoline/return sites, the
# sections the kernel patches at load); under IBT Kbuild runs objtool over
# the module's linked object, engine included, so this pass only checks
# (--dry-run) and scripts/kmod-build.sh fails on any objtool warning of
# Kbuild's pass.
#
#   objtool-check.sh KDIR OBJECT         annotate and check OBJECT in place
#   objtool-check.sh --self-test KDIR    positive control: a planted raw
#                                        indirect jump and an indirect call
#                                        target without ENDBR64 must fail the
#                                        check (for a tree whose options
#                                        include --retpoline or --ibt)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self_test=
[ "${1:-}" = --self-test ] && { self_test=1; shift; }
kdir=${1:?usage: objtool-check.sh [--self-test] KDIR [OBJECT]}
mapfile -t opts < <("$here/kernel-rustflags.sh" --objtool "$kdir")
objtool=$kdir/tools/objtool/objtool

check() { # check OBJECT: objtool's output, or nothing; fails on any output
	local obj=$1 log
	if [ ${#opts[@]} -eq 0 ]; then
		echo "objtool-check: $kdir runs no objtool on Rust objects (its configuration needs none); $obj not checked"
		return 0
	fi
	[ -x "$objtool" ] || { echo "objtool-check: $objtool not found (build the kernel tree first)" >&2; return 1; }
	# Under IBT (options with --link) Kbuild itself runs objtool over the
	# module's linked object, engine included, and annotates it; a second
	# annotation would make it skip the module's own sites: check only.
	local extra=()
	case " ${opts[*]} " in *" --link "*) extra=(--dry-run) ;; esac
	log=$("$objtool" "${opts[@]}" --module "${extra[@]}" "$obj" 2>&1) || true
	if [ -n "$log" ]; then
		echo "objtool-check: $obj: $(wc -l <<<"$log") warning lines from objtool ${opts[*]} --module; first:" >&2
		head -20 <<<"$log" >&2
		return 1
	fi
	echo "objtool-check: $obj clean (objtool ${opts[*]} --module ${extra[*]})"
}

if [ -z "$self_test" ]; then
	check "${2:?usage: objtool-check.sh KDIR OBJECT}"
	exit
fi

case " ${opts[*]} " in
*" --retpoline "* | *" --ibt "*) ;;
*)
	echo "objtool-check: self-test skipped: $kdir asks objtool for no branch checks (options: ${opts[*]:-none})"
	exit 0
	;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# `planted` jumps through a register to a label that has no ENDBR64, the
# form the interpreter's jump tables took; `clean` returns through the
# kernel's return thunk.
cat >"$tmp/planted.s" <<'ASM'
	.text
	.globl planted
	.type planted,@function
planted:
	endbr64
	leaq 1f(%rip), %rax
	jmp *%rax
1:
	jmp __x86_return_thunk
	.size planted, .-planted
ASM
cat >"$tmp/clean.s" <<'ASM'
	.text
	.globl clean
	.type clean,@function
clean:
	endbr64
	xorl %eax, %eax
	jmp __x86_return_thunk
	.size clean, .-clean
ASM
clang -c --target=x86_64-linux-gnu -o "$tmp/planted.o" "$tmp/planted.s"
clang -c --target=x86_64-linux-gnu -o "$tmp/clean.o" "$tmp/clean.s"
check "$tmp/clean.o" >/dev/null || { echo "objtool-check: self-test: a clean object failed" >&2; exit 1; }
if check "$tmp/planted.o" 2>"$tmp/warn"; then
	echo "objtool-check: self-test: a planted raw indirect jump passed the check" >&2
	exit 1
fi
echo "objtool-check: self-test ok: the planted raw indirect jump fails ($(head -1 "$tmp/warn" | cut -c1-120)...; $(sed -n 2p "$tmp/warn"))"
