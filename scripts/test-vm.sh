#!/usr/bin/env bash
# Run the guest tests (tests/vm/*.sh) in the test VM, one boot each.
#
#   scripts/test-vm.sh [NAME...]     e.g. scripts/test-vm.sh kmod_load
#
# Builds wasmnf.ko first (scripts/kmod-build.sh; needs the cached kernel from
# scripts/kernel-build.sh), tests/vm/netprobe (UDP/TCP traffic tool) and
# tests/vm/nlraw (raw netlink requests). Each guest script runs in /files,
# which holds wasmnf.ko, lib.sh, netprobe, nlraw, the regression modules and
# the tools below.
# Directives in a guest script's comments:
#   # expect-exit: N        expected exit status (default 0)
#   # expect-log: TEXT      the console log must contain TEXT
#   # expect-log-re: ERE    the console log must match ERE
#   # vm-timeout: S         host-side timeout (default 300 s, 1200 s on the
#                           debug kernel)
#   # flavor: debug         run only on the debug kernel (skipped otherwise)
#   # expect-kernel-report: ERE
#                           a positive control: the log must contain this
#                           kernel report (the report check is inverted)
# Every other run fails on kernel warnings, BUGs, oopses, lockdep or
# sleep-in-atomic reports, KASAN/kmemleak reports, or an engine panic in the
# console log.
#
# WASMNF_KERNEL_FLAVOR=debug runs everything on the debug kernel (KASAN,
# lockdep, kmemleak; build it first with the same variable set).
# Ends with "vm-tests: N passed, N failed, N skipped"; exits non-zero on any
# failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

flavor=${WASMNF_KERNEL_FLAVOR:-test}
mem=512 tmult=1
[ "$flavor" = debug ] && mem=1024 tmult=4
# Guest-side traffic tool (busybox nc has no UDP).
(cd "$ROOT/tests/vm/netprobe" && cargo build --release --locked --quiet)
# Guest-side raw netlink tool (hand-built malformed requests).
(cd "$ROOT/tests/vm/nlraw" && cargo build --release --locked --quiet)
netprobe=$ROOT/tests/vm/netprobe/target/release/netprobe
# The real CLI (its shared libraries, libpcap, are copied by vm-run.sh), the
# example filters, setpriv (unprivileged-user tests) and nft (comparisons).
(cd "$ROOT" && cargo build --release --locked --quiet -p wasmnf-ctl && cargo xtask filters >/dev/null)
logdir=${VM_TEST_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/wasmnf-vm-tests.XXXXXX")}
mkdir -p "$logdir"
# The regression modules (tests/regress/*.wat) as regress-NAME.wasm with
# their expectations in regress.tsv (tests/vm/regress.sh), in this run's
# own directory (another kernel's suite may be writing its own).
regress=$logdir/regress
(cd "$ROOT" && cargo xtask regress "$regress" >/dev/null)
extra=("$ROOT/target/release/wasmnf" "$ROOT"/filters/target/wasm32-unknown-unknown/release/*.wasm
	"$regress"/regress-*.wasm "$regress/regress.tsv")
for tool in "$ROOT/tests/vm/nlraw/target/release/nlraw" /usr/bin/setpriv /usr/sbin/nft; do
	[ -x "$tool" ] && extra+=("$tool")
done
# The module is copied into the log directory (kmod-build.sh's KMOD_OUT):
# suites for two kernels can then run at once (scripts/test.sh).
ko=$(KMOD_OUT=$logdir "$ROOT/scripts/kmod-build.sh" | tail -n 1)
echo "test-vm: $flavor kernel, module $ko ($(stat -c %s "$ko") bytes); logs in $logdir"

if [ $# -gt 0 ]; then
	tests=()
	for n in "$@"; do tests+=("$ROOT/tests/vm/${n%.sh}.sh"); done
else
	tests=("$ROOT"/tests/vm/*.sh)
fi

# Kernel reports that fail any run.
forbidden='WARNING:|BUG:|Oops|Kernel panic|general protection fault|Call Trace:|possible recursive locking|possible circular locking|inconsistent lock state|possible irq lock inversion|suspicious RCU usage|lock held when returning|INFO: lockdep is turned off|sleeping function called from invalid context|scheduling while atomic|UBSAN:|unreferenced object|stack-protector|stack guard page|ENGINE PANIC|rust_kernel: panicked'

passed=0 failed=0 skipped=0 failed_names=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	[ -f "$t" ] || { echo "test-vm: no such test: $t" >&2; failed=$((failed + 1)); failed_names+=("$name"); continue; }
	want_flavor=$(sed -n 's/^# flavor: *//p' "$t" | head -n 1)
	if [ -n "$want_flavor" ] && [ "$want_flavor" != "$flavor" ]; then
		echo "SKIP $name (needs the $want_flavor kernel)"
		skipped=$((skipped + 1))
		continue
	fi
	expect_exit=$(sed -n 's/^# expect-exit: *//p' "$t" | head -n 1)
	expect_report=$(sed -n 's/^# expect-kernel-report: //p' "$t" | head -n 1)
	timeout_s=$(sed -n 's/^# vm-timeout: *//p' "$t" | head -n 1)
	log=$logdir/$name.log
	t0=$SECONDS
	set +e
	VM_QUIET=1 VM_LOG=$log VM_TIMEOUT=${timeout_s:-$((300 * tmult))} VM_MEM=$mem \
		"$ROOT/scripts/vm-run.sh" "$t" "$ko" "$ROOT/tests/vm/lib/lib.sh" "$netprobe" "${extra[@]}" 2>"$logdir/$name.vm-run.txt"
	rc=$?
	set -e
	problems=()
	[ "$rc" = "${expect_exit:-0}" ] || problems+=("exit status $rc, expected ${expect_exit:-0}")
	# Checks read a copy without carriage returns. No `... | grep -q`: under
	# pipefail, grep -q exiting early can make the writer die of SIGPIPE and
	# a found line look missing.
	clean=$log.txt
	tr -d '\r' <"$log" >"$clean"
	if [ -n "$expect_report" ]; then
		grep -aqE -- "$expect_report" "$clean" ||
			problems+=("positive control: no kernel report matching: $expect_report")
	elif grep -aqE -- "$forbidden" "$clean"; then
		problems+=("kernel report in the log: $(grep -aE -- "$forbidden" "$clean" | head -n 5 || true)")
	fi
	while IFS= read -r want; do
		[ -n "$want" ] || continue
		grep -aqF -- "$want" "$clean" || problems+=("log lacks: $want")
	done < <(sed -n 's/^# expect-log: //p' "$t")
	while IFS= read -r want; do
		[ -n "$want" ] || continue
		grep -aqE -- "$want" "$clean" || problems+=("log does not match: $want")
	done < <(sed -n 's/^# expect-log-re: //p' "$t")
	if [ ${#problems[@]} -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "FAIL $name ($((SECONDS - t0)) s): log $log"
		for p in "${problems[@]}"; do echo "    $p"; done
		echo "    --- last console lines ---"
		tail -n 25 "$clean" | sed 's/^/    /'
	fi
done
[ $failed -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "vm-tests: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
