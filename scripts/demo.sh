#!/usr/bin/env bash
# The wasmnf demo: builds what it needs (test kernel if not cached, module,
# CLI, example filters, traffic tool), boots the test VM, loads
# drop_port.wasm at prerouting, sends traffic from another network
# namespace, and prints `wasmnf stats` showing the drops.
#
#   scripts/demo.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" 2>/dev/null
"$ROOT/scripts/kernel-build.sh" >/dev/null
ko=$("$ROOT/scripts/kmod-build.sh" | tail -n 1)
(cd "$ROOT" && cargo build --release --locked --quiet -p wasmnf-ctl && cargo xtask filters >/dev/null 2>&1)
(cd "$ROOT/tests/vm/netprobe" && cargo build --release --locked --quiet)
log=$(mktemp "${TMPDIR:-/tmp}/wasmnf-demo.XXXXXX.log")
set +e
VM_QUIET=1 VM_LOG=$log "$ROOT/scripts/vm-run.sh" "$ROOT/scripts/demo/guest.sh" "$ko" "$ROOT/tests/vm/lib/lib.sh" \
	"$ROOT/target/release/wasmnf" "$ROOT/filters/target/wasm32-unknown-unknown/release/drop_port.wasm" \
	"$ROOT/tests/vm/netprobe/target/release/netprobe" 2>/dev/null
rc=$?
set -e
# The guest's output, without the kernel's boot messages.
tr -d '\r' <"$log" | sed -n '/WASMNF-VM-START/,/WASMNF-VM-RESULT/p' | grep -v '^\[ *[0-9.]*\]' | grep -v '^WASMNF-VM-\|could not flock'
echo "(full console log: $log)"
exit $rc
