# Guest test (issue 11, item 4): kernel-side fuzzing of the control plane.
# `nlraw fuzz` (tests/vm/nlraw/src/fuzz.rs) sends generated and mutated
# generic-netlink messages to the wasmnf family for a bounded time from
# several threads, one of them in network namespaces it keeps replacing, while
# loopback UDP runs through whatever filters it loaded. Then the module
# must still work: the CLI loads, lists and unloads a filter, every filter
# the fuzzer left behind unloads, rmmod succeeds, and on a kernel with
# kmemleak (the debug flavor) a scan finds nothing. Kernel reports in the
# console (warnings, BUG, KASAN, lockdep...) fail the run in
# scripts/test-vm.sh; so does a request that never returns (nlraw reports
# it).
# The seed is fixed: a failure reproduces with the same messages per
# sender (their interleaving varies). Longer runs: a copy of this script
# with other secs, seed and senders below, and a larger vm-timeout
# (docs/netlink.md, "Fuzzing").
# expect-log: nlraw: fuzz: seed 
# expect-log-re: nlraw: fuzz: [1-9][0-9]* messages from [0-9]+ senders in
# expect-log: wasmnf: filter after_fuzz loaded
# expect-log: wasmnf: unloaded
# expect-log: nl_fuzz: ok
# vm-timeout: 240
set -u
. /files/lib.sh
cd /tmp
[ -x $N ] || fail "no nlraw in the guest"

kmemleak=/sys/kernel/debug/kmemleak
[ -e $kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# The debug kernel (the one with kmemleak) runs tens of times slower: the
# same messages take longer, so it fuzzes longer (still within the timeout).
secs=20 seed=1 senders=4
[ -e $kmemleak ] && secs=$((secs * 2))
# nlraw reports a request still running this long after the end.
grace=$secs
[ $grace -ge 30 ] || grace=30
# Forget what kmemleak knows from boot: what it reports at the end comes
# from the module and the fuzz.
kmemleak_clear

insmod /files/wasmnf.ko || fail "insmod"
$IP link set lo up || fail "lo up"

# Packets through the filters the fuzzer loads, replaces and unloads.
(
	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt $end ]; do
		$NP udp-send 127.0.0.1 9 20 fuzz >/dev/null 2>&1
		sleep 0.2
	done
) &
traffic=$!

# Shown on the console as it runs (the seed line first, should the kernel
# die mid-run). In the background: when a request never returns, nlraw
# says so $grace s after the end, but its stuck threads keep it from exiting.
(
	{
		$N fuzz $secs $seed $senders
		echo "rc=$?" >/tmp/fuzz.rc
	} | tee /tmp/fuzz.txt
) &
fuzz=$!
waited=0
while [ ! -e /tmp/fuzz.rc ] && [ $waited -lt $((secs + grace + 30)) ]; do
	grep -q "still inside a request" /tmp/fuzz.txt 2>/dev/null && break
	sleep 1
	waited=$((waited + 1))
done
[ -e /tmp/fuzz.rc ] || fail "nlraw fuzz did not finish: a request that never returns (kernel hang)?"
wait $fuzz $traffic
[ "$(cat /tmp/fuzz.rc)" = rc=0 ] || fail "nlraw fuzz: $(cat /tmp/fuzz.rc)"

# The counts: the fuzzer sent messages, got acks, loaded filters (so it
# reached the success paths, not only the parser's refusals), and moved
# between namespaces; every reply parsed.
line=$(grep '^nlraw: fuzz: [0-9]* messages from ' /tmp/fuzz.txt)
msgs=$(echo "$line" | sed -n 's/^nlraw: fuzz: \([0-9]*\) messages from .*/\1/p')
acks=$(echo "$line" | sed -n 's/.* \([0-9]*\) acks, .*/\1/p')
loads=$(echo "$line" | sed -n 's/.* \([0-9]*\) loads ok, .*/\1/p')
[ "${msgs:-0}" -gt 0 ] || fail "the fuzzer sent no messages: $line"
[ "${acks:-0}" -gt 0 ] || fail "no request was acked: $line"
[ "${loads:-0}" -gt 0 ] || fail "no load succeeded: $line"
grep -q ' [1-9][0-9]* namespaces, 0 replies not parsed$' /tmp/fuzz.txt ||
	fail "no namespace sender, or replies that did not parse: $(tail -n 1 /tmp/fuzz.txt)"

# The module still works.
$W list || fail "list after the fuzz"
$W load /files/accept_all.wasm --hook input --name after_fuzz || fail "CLI load after the fuzz"
$W list | tee /tmp/list.txt
grep -q after_fuzz /tmp/list.txt || fail "list lacks after_fuzz"
$NP udp-send 127.0.0.1 9 3 after >/dev/null 2>&1
$W stats || fail "stats after the fuzz"
$W stats after_fuzz --json | grep -q '"packets": *[1-9]' || fail "after_fuzz saw no packets"
$W unload after_fuzz || fail "unload after_fuzz"
# What the fuzzer left loaded in init_net (its namespaces are gone).
left=$($W list --json | grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
echo "left by the fuzzer: ${left:-none}"
for n in $left; do
	$W unload "$n" || fail "unload $n"
done
[ "$($W list --json | grep -c '"name"')" = 0 ] || { $W list; fail "filters left after unloading"; }

rmmod wasmnf || fail "rmmod"
dmesg_has "wasmnf: unloaded" || fail "no unload line"

kmemleak_check
echo "nl_fuzz: ok ($msgs messages, $acks acks, $loads loads ok in $secs s)"
