#!/usr/bin/env bash
# scripts/kernel-check.sh tried as a new user would (issue 12): it says yes
# for the test and hardened kernel trees (built and cached by
# scripts/kernel-build.sh), and no, with what to do, for a real kernel build
# tree without CONFIG_RUST (Debian 12's own kernel headers, installed here)
# and for a directory that is not a kernel tree.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
check=$ROOT/scripts/kernel-check.sh
bad=0
expect() { # expect STATUS TEXT KDIR
	local want=$1 text=$2 kdir=$3 out rc=0
	out=$("$check" "$kdir" 2>&1) || rc=$?
	if [ "$rc" != "$want" ] || ! grep -qF -- "$text" <<<"$out"; then
		echo "kernel-check test: $kdir: expected exit $want and '$text', got exit $rc:" >&2
		echo "$out" >&2
		bad=1
	else
		echo "kernel-check test: $kdir: exit $rc, '$text'"
	fi
}
for flavor in test hardened; do
	kdir=$(WASMNF_KERNEL_FLAVOR=$flavor "$ROOT/scripts/kernel-build.sh" --print-kdir)
	expect 0 "the module can be built" "$kdir"
done
hardened=$(WASMNF_KERNEL_FLAVOR=hardened "$ROOT/scripts/kernel-build.sh" --print-kdir)
expect 0 "IBT: ENDBR64 at indirect branch targets" "$hardened"
if ! ls -d /usr/src/linux-headers-*-amd64 >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-headers-amd64 >/dev/null
fi
headers=$(ls -d /usr/src/linux-headers-*-amd64 | head -n 1)
expect 1 "FAIL  CONFIG_RUST is not set" "$headers"
expect 1 "no configured kernel build tree" "$ROOT/docs"
exit $bad
