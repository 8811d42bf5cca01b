# Guest test (issue 11), debug kernel: a load can fail at any allocation
# that may fail without hurting the kernel. Filters are loaded through raw
# netlink with /proc/thread-self/fail-nth = N for N = 1, 2, ...: the N-th
# fault point the request passes fails, until a load completes with none
# left. The points: the module's own allocations and what the kernel
# allocates for it (failslab and fail_page_alloc, limited to stacks through
# the module's text), and the engine's fallible allocations (linear memory,
# stacks, maps: `fail_wasmnf_alloc`, the module's own fault attribute; the
# engine's load runs on the module's own stack, whose callers failslab's
# stack filter cannot see). The engine's other load-time allocations are
# __GFP_NOFAIL (docs/kernel.md, "Allocation failure at load"), which no
# injection fails. Every attempt must be answered (refused, or loaded where
# a fallback absorbed the failure); every filter must see ENOMEM from the
# module and from the engine (the injection reached both), load normally
# afterwards, and leave nothing to kmemleak. Kernel reports fail the run
# (scripts/test-vm.sh).
# flavor: debug
# vm-timeout: 1500
# expect-log: fault_inject: ok
set -u
. /files/lib.sh
F=/files
D=/sys/kernel/debug
kmemleak_clear
insmod $F/wasmnf.ko || fail "insmod"
[ -d $D/failslab ] && [ -d $D/fail_page_alloc ] ||
	fail "no failslab/fail_page_alloc in debugfs (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS)"
[ -w /proc/self/fail-nth ] || fail "no /proc/self/fail-nth (CONFIG_FAULT_INJECTION)"
[ -d $D/fail_wasmnf_alloc ] || fail "no fail_wasmnf_alloc in debugfs (the module's fault attribute)"
echo 0 >$D/fail_wasmnf_alloc/verbose

# The module's memory: its text starts at the address /proc/modules gives,
# and no allocation site of the module lies past address + size.
line=$(grep '^wasmnf ' /proc/modules)
size=$(echo "$line" | awk '{print $2}') base=$(echo "$line" | awk '{print $6}')
case "$base" in 0x0* | "") fail "no address for wasmnf in /proc/modules: '$base'" ;; esac
end=$(printf '%#x' $((base + size)))
echo "wasmnf: $base-$end"
# kmemleak allocates its own record of every allocation it tracks, with
# the module still on the stack, and would make each of the module's
# allocations a second point to fail (absorbed by kmemleak's pool, so only
# a longer sweep): stacks through kmemleak's __alloc_object (where that
# record is allocated; mem_pool_alloc is inlined into it) are left alone.
range=$(sort /proc/kallsyms | awk '
	found { print $1; exit }
	$2 ~ /^[tT]$/ && $3 == "__alloc_object" { found = 1; printf "0x%s 0x", $1 }')
rstart=${range% *} rend=${range#* }
case "$range" in "0x"*" 0x"?*) ;; *) fail "no __alloc_object (kmemleak) in /proc/kallsyms: '$range'" ;; esac
[ $((rend - rstart)) -gt 0 ] && [ $((rend - rstart)) -lt 16384 ] ||
	fail "__alloc_object's range is not one function: $rstart-$rend"
echo "kmemleak (not failed): $rstart-$rend"
for f in failslab fail_page_alloc; do
	echo N >$D/$f/ignore-gfp-wait || fail "$f ignore-gfp-wait"
	echo 0 >$D/$f/verbose
	echo 32 >$D/$f/stacktrace-depth
	echo "$base" >$D/$f/require-start || fail "$f require-start"
	echo "$end" >$D/$f/require-end || fail "$f require-end"
	echo "$rstart" >$D/$f/reject-start || fail "$f reject-start"
	echo "$rend" >$D/$f/reject-end || fail "$f reject-end"
done
echo 0 >$D/fail_page_alloc/min-order

# sweep NAME FILE: loads FILE as NAME with fail-nth 1, 2, ... until a load
# made fewer allocations than N.
sweep() {
	name=$1 file=$2 n=0 refused=0 enomem=0 absorbed=0 engine=0
	out=$($N load-file "$name" "$file" 4096)
	case "$out" in *"errno=OK(0)"*) ;; *) fail "$name: the control load failed: $out" ;; esac
	$W unload "$name" >/dev/null || fail "$name: unload after the control load"
	while :; do
		n=$((n + 1))
		[ $n -le 3000 ] || fail "$name: still failing allocations after 3000 attempts"
		out=$($N load-file "$name" "$file" 4096 $n)
		left=${out##*fail-nth=}
		case "$out" in
		*"errno=OK(0)"*)
			$W unload "$name" >/dev/null || fail "$name: unload (fail-nth $n): $out"
			[ "$left" = 0 ] || break
			absorbed=$((absorbed + 1))
			;;
		*"errno=NOREPLY"*) fail "$name: no answer with fail-nth $n: $out" ;;
		*"errno="*)
			[ "$left" = 0 ] || fail "$name: refused with no failure injected (fail-nth $n): $out"
			refused=$((refused + 1))
			case "$out" in *"errno=ENOMEM"*) enomem=$((enomem + 1)) ;; esac
			# The engine's refusals: the instance's memory or stacks, a map.
			case "$out" in *"errno=ENOMEM"*"filter's instance"* | *"errno=ENOMEM"*"out of memory allocating"*)
				engine=$((engine + 1)) ;;
			esac
			echo "$out" >>/tmp/answers.txt
			;;
		*) fail "$name: nlraw: $out" ;;
		esac
		[ $((n % 50)) = 0 ] && echo "$name: fail-nth $n: $out"
	done
	echo "$name: $((n - 1)) allocations failed in turn: $refused loads refused ($enomem ENOMEM, $engine of them the engine's), $absorbed loaded anyway; fail-nth $n: loaded"
	[ $((enomem - engine)) -ge 1 ] || fail "$name: no attempt was refused with the module's ENOMEM: the injection did not reach it"
	[ $engine -ge 1 ] || fail "$name: no attempt was refused with the engine's ENOMEM: the injection did not reach it"
	$W list | grep -q "^$name" && fail "$name: still loaded after the sweep"
	return 0
}
sweep fw $F/firewall.wasm
sweep deny $F/cidr_filter.wasm
sweep talk $F/top_talkers.wasm
sweep rate $F/icmp_ratelimit.wasm
echo "the answers, each once:"
sed 's/^nlraw: load-file: //; s/ replies=.*//' /tmp/answers.txt | sort | uniq -c

# Afterwards: everything loads and unloads as usual.
for f in firewall cidr_filter top_talkers icmp_ratelimit; do
	$W load $F/$f.wasm --hook input --name "after_$f" >/dev/null || fail "load $f after the sweep"
done
for f in firewall cidr_filter top_talkers icmp_ratelimit; do
	$W unload "after_$f" || fail "unload $f after the sweep"
done
rmmod wasmnf || fail "rmmod"
[ -w $KMEMLEAK ] || fail "no kmemleak on the debug kernel"
kmemleak_check
echo "fault_inject: ok"
