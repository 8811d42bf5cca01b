# Guest test: filters loaded, replaced and unloaded over and over while a
# flood from another namespace runs through their hooks on another CPU.
# Regression for the crash nl_fuzz found on 2026-12-04: unregistering a
# netfilter hook does not wait for CPUs already running it, and the module
# freed the hook's data (slot, runtime, instances) right away; a packet
# then read a freed slot (NULL dereference in hook_trampoline, in softirq).
# Now the data outlives a grace period. The race needs a vCPU stopped
# inside the hook, which a busy host makes likely: with three busy loops on
# the host, the module without the grace period crashed in 2 of 4 runs of
# this test (a use-after-free in Machine::call, a NULL dereference), the
# fixed one passed 4 of 4. Kernel reports fail the run
# (scripts/test-vm.sh); the filters must all be gone at the end and the
# path must still work.
# expect-log: unload_race: ok
set -u
. /files/lib.sh
F=/files
insmod $F/wasmnf.ko || fail "insmod"
veth_ns peer v0 v1 10.97.0
PX="$IP netns exec peer"
# A socket on the port, so that no ICMP port unreachable ends the flood
# (the sender's socket is connected).
$NP udp-sink 5051 600 >/tmp/sink.txt 2>&1 &
sink=$!
wait_listening_sink() {
	for _ in $(seq 100); do grep -q "sink on port" /tmp/sink.txt 2>/dev/null && return 0; sleep 0.1; done
	fail "netprobe udp-sink did not start"
}
wait_listening_sink
# The sender on one CPU (veth delivers in its context, so the hooks run
# there), the control plane on the other.
$PX taskset -c 0 $NP udp-flood 10.97.0.1 5051 0 600000 16 >/tmp/flood.txt 2>&1 &
fl=$!
sleep 0.5
kill -0 $fl 2>/dev/null || { cat /tmp/flood.txt; fail "the flood did not start"; }
cycles=0
for i in $(seq 1 40); do
	# Unload (the slot's only hook goes).
	taskset -c 1 $W load $F/accept_all.wasm --hook prerouting --name cycle >/dev/null || fail "load $i"
	taskset -c 1 $W unload cycle >/dev/null || fail "unload $i"
	# Replace at another priority (make before break: the old hook goes).
	taskset -c 1 $W load $F/accept_all.wasm --hook prerouting --name move --priority 5 >/dev/null || fail "load move $i"
	taskset -c 1 $W load $F/drop_port.wasm --hook prerouting --name move --priority 7 --config port=9 --replace >/dev/null ||
		fail "replace move $i"
	taskset -c 1 $W unload move >/dev/null || fail "unload move $i"
	cycles=$i
done
kill -0 $fl 2>/dev/null || { cat /tmp/flood.txt; fail "the flood ended before the cycles did"; }
kill $fl $sink 2>/dev/null
wait $fl $sink 2>/dev/null
[ -z "$($W list --json | grep '"name"')" ] || fail "filters left"
$IP netns exec peer ping -c 1 -W 5 10.97.0.1 >/dev/null || fail "ping after the cycles"
rmmod wasmnf || fail "rmmod"
echo "unload_race: ok ($cycles cycles of load, unload, replace at another priority, unload)"
