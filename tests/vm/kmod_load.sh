# Guest test: wasmnf.ko loads, runs its engine self-test in kernel context,
# registers its generic-netlink family, and unloads cleanly, twice.
# expect-log: wasmnf: selftest drop_udp_8080 pkt=udp:8080 verdict=drop status=ok
# expect-log: wasmnf: selftest drop_udp_8080 pkt=udp:53 verdict=accept status=ok
# expect-log: wasmnf: selftest drop_udp_8080 pkt=tcp:8080 verdict=accept status=ok
# expect-log: wasmnf: selftest drop_udp_8080 pkt=short verdict=accept status=trap: packet read out of bounds
# expect-log: wasmnf: selftest spin pkt=udp:8080 verdict=accept status=out of fuel
# expect-log: wasmnf: selftest hostcalls pkt=udp:8080 verdict=accept status=ok
# expect-log: wasmnf: selftest unsupported: refused: the engine does not run
# expect-log: wasmnf: selftest passed (6 runs)
# expect-log: wasmnf: loaded (abi 3)
# expect-log: wasmnf: unloaded
# expect-log-re: wasmnf: selftest engine stack max=[0-9]+ bytes \(packet path\)
# expect-log-re: wasmnf: selftest engine load stack max=[0-9]+ bytes of the 64 KiB load stack
# expect-log: wasmnf: genetlink family wasmnf registered (version 1)
set -eu
. /files/lib.sh

ko=/files/wasmnf.ko
[ -f $ko ] || fail "no $ko"
# Debug kernel: forget what kmemleak knows from boot, so that what it reports
# at the end comes from the load/unload cycles.
kmemleak_clear

insmod $ko || fail "insmod failed"
[ -d /sys/module/wasmnf ] || fail "/sys/module/wasmnf missing after insmod"
echo "wasmnf coresize=$(cat /sys/module/wasmnf/coresize) bytes"
dmesg_has "wasmnf: loaded (abi 3)" || fail "no load line"
dmesg_has "wasmnf: selftest passed" || fail "self-test did not pass"
stack=$(dmesg | sed -n 's/.*wasmnf: selftest engine stack max=\([0-9]*\) bytes.*/\1/p' | tail -n 1)
[ -n "$stack" ] || fail "no stack figure"
[ "$stack" -gt 0 ] || fail "stack probe measured nothing"
[ "$stack" -lt 4096 ] || fail "engine stack use $stack bytes is not under 4 KiB"

# Traffic into init_net from a namespace with the module loaded (no filters).
veth_ns peer v0 v1 10.98.0
$IP netns exec peer ping -c 1 -W 5 10.98.0.1 || fail "ping with the module loaded"

rmmod wasmnf || fail "rmmod failed"
[ -d /sys/module/wasmnf ] && fail "/sys/module/wasmnf still there after rmmod"
dmesg_has "wasmnf: unloaded" || fail "no unload line"

# A second load/unload cycle must work as the first.
dmesg -c >/dev/null
insmod $ko || fail "second insmod failed"
dmesg_has "wasmnf: loaded (abi 3)" || fail "no load line on reload"
$IP netns exec peer ping -c 1 -W 5 10.98.0.1 || fail "ping after reload"
rmmod wasmnf || fail "second rmmod failed"
dmesg_has "wasmnf: unloaded" || fail "no unload line on reload"
kmemleak_check
echo "kmod_load: ok"
