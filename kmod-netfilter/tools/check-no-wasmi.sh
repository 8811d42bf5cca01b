#!/usr/bin/env bash
# Fails if an object contains any symbol of the wasmi crates (Rust-mangled
# names carry the crate name: `_ZN5wasmi`, `_ZN10wasmi_core`, `_R...5wasmi`).
# The kernel's engine object is built without the engine's `wasmi` feature,
# so only the project's own validator, translator and interpreter are in it.
#
#   check-no-wasmi.sh OBJECT            the check (build.sh runs it)
#   check-no-wasmi.sh --self-test       positive control: an object with a
#                                       wasmi-named symbol must fail the check
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

check() {
	local found
	found=$(llvm-nm "$1" | awk '{print $NF}' | grep -E '(^_ZN|^_R.*)[0-9]+wasmi(_[a-z]+)?[0-9]' || true)
	if [ -n "$found" ]; then
		echo "check-no-wasmi: $1 contains wasmi code ($(wc -l <<<"$found") symbols), e.g.:" >&2
		head -3 <<<"$found" >&2
		return 1
	fi
	echo "check-no-wasmi: $1: no wasmi symbols ($(llvm-nm "$1" | wc -l) symbols checked)"
}

if [ "${1:-}" = --self-test ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf 'void _ZN5wasmi6engine8executor7execute17h0123456789abcdefE(void) {}\nvoid wasmnf_engine_x(void) {}\n' >"$tmp/planted.c"
	printf 'void _ZN13wasmnf_engine4fast4exec3run17h0123456789abcdefE(void) {}\n' >"$tmp/clean.c"
	clang -c -o "$tmp/planted.o" "$tmp/planted.c"
	clang -c -o "$tmp/clean.o" "$tmp/clean.c"
	check "$tmp/clean.o" >/dev/null || { echo "check-no-wasmi: self-test: a clean object failed" >&2; exit 1; }
	if check "$tmp/planted.o" 2>/dev/null; then
		echo "check-no-wasmi: self-test: a planted wasmi symbol was not caught" >&2
		exit 1
	fi
	echo "check-no-wasmi: self-test ok (a planted wasmi symbol fails the check, a clean object passes)"
	exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 OBJECT | --self-test" >&2; exit 2; }
check "$1"
