# Guest test (issue 6): filters run per packet at netfilter hooks, with real
# traffic between network namespaces over veth: drop_port drops TCP and UDP
# to its port over IPv4 and IPv6 at prerouting while other traffic passes;
# counters match the traffic; every hook is exercised; icmp_ratelimit limits;
# a filter that loops forever is stopped by fuel and counted; replace under a
# flood, and unloading everything under traffic, are clean.
# vm-timeout: 400
set -u
. /files/lib.sh
W=/files/wasmnf
F=/files
NP=/files/netprobe
cd /tmp
insmod /files/wasmnf.ko || fail "insmod"

# init_net (10.99.0.1, fd99::1) <-veth-> ns peer (10.99.0.2, fd99::2)
veth_ns peer v0 v1 10.99.0 fd99
PX="$IP netns exec peer"

# tcp_expect ADDR PORT ok|fail
tcp_expect() {
	$NP tcp-echo-server "$2" 2500 >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	$PX $NP tcp-echo "$1" "$2" hello 1500
	rc=$?
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	if [ "$3" = ok ]; then [ $rc = 0 ] || fail "TCP to $1:$2 should pass"; else [ $rc != 0 ] || fail "TCP to $1:$2 should be dropped"; fi
}

echo "== drop_port at prerouting (inet)"
$W load $F/drop_port.wasm --hook prerouting --name dp --config port=8080 || fail "load drop_port"
udp_expect 10.99.0.1 8080 5 none
udp_expect fd99::1 8080 3 none
udp_expect 10.99.0.1 9090 5 all
udp_expect fd99::1 9090 3 all
d=$(wasmnf_stat dp dropped)
[ "$d" = 8 ] || fail "dropped=$d, expected exactly the 8 UDP datagrams to 8080"
tcp_expect 10.99.0.1 8080 fail
tcp_expect fd99::1 8080 fail
tcp_expect 10.99.0.1 9090 ok
tcp_expect fd99::1 9090 ok
$PX ping -c 1 -W 5 10.99.0.1 >/dev/null || fail "ping must pass drop_port"
$W stats dp
# One snapshot for the three counters: with three reads, a late TCP SYN
# retransmit to the dropped port landing between them broke the sum (seen on
# the debug kernel, where everything is slower).
snap=$($W stats dp --json | tr -d ' \n')
field() { echo "$snap" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
p=$(field packets) a=$(field accepted) d=$(field dropped)
[ -n "$p" ] && [ "$p" = $((a + d)) ] || fail "packets $p != accepted $a + dropped $d"
[ "$(wasmnf_stat dp run_ns)" -gt 0 ] || fail "run_ns not counted"
$W unload dp || fail "unload dp"
udp_expect 10.99.0.1 8080 3 all

echo "== ipv4-only filter leaves IPv6 alone"
$W load $F/drop_port.wasm --hook input --family ipv4 --name dp4 --config port=8080 || fail "load ipv4"
udp_expect 10.99.0.1 8080 3 none
udp_expect fd99::1 8080 3 all
$W unload dp4

echo "== output and postrouting (in the sending namespace)"
for h in output postrouting; do
	$PX $W load $F/drop_port.wasm --hook $h --name o --config port=7070 || fail "load at $h"
	# The sender gets EPERM for the first dropped datagram and stops.
	udp_expect 10.99.0.1 7070 3 none
	udp_expect 10.99.0.1 7071 3 all
	[ "$($PX $W stats o --json | tr -d ' \n' | sed -n 's/.*"dropped":\([0-9]*\).*/\1/p')" -ge 1 ] || fail "$h: drops not counted"
	$PX $W unload o
done

echo "== forward (init_net routes between two namespaces)"
veth_ns far v2 v3 10.98.0
$IP netns exec far $IP route add default via 10.98.0.1
$PX $IP route add 10.98.0.0/24 via 10.99.0.1
echo 1 >/proc/sys/net/ipv4/ip_forward
# Control before any filter: the routed path works and its neighbours are
# resolved. CI once saw forwarded 6061 not arrive at all (the filter's counters
# were never read); without this step a slow ARP or a link that is not yet up
# in "far" cannot be told from a filter that drops what it should pass.
fwd_ok=0
for i in 1 2 3 4 5; do
	if timeout -s KILL 4 $PX ping -c 1 -W 2 10.98.0.2 >/dev/null 2>&1; then fwd_ok=1; break; fi
	sleep 0.5
done
if [ $fwd_ok != 1 ]; then
	$IP neigh; $IP -s link; $IP netns exec far $IP -s link
	fail "forward: ping from peer to far through init_net fails without any filter (network setup, not wasmnf)"
fi
$W load $F/drop_port.wasm --hook forward --name fw --config port=6060 || fail "load forward"
for port_want in "6060 none" "6061 all"; do
	set -- $port_want
	# The receiver stops as soon as it has all 3, so a long window costs
	# nothing when they pass. 5 s was too short: CI on the debug kernel saw
	# the filter accept all 3 (its counters) and 1 arrive, the guest having
	# stalled 3 s and 6.7 s meanwhile ("clocksource: Long readout interval").
	if [ $2 = all ]; then wait_ms=30000; else wait_ms=1500; fi
	$IP netns exec far $NP udp-recv $1 3 $wait_ms >/tmp/recv.txt 2>&1 &
	pid=$!
	wait_listening /tmp/recv.txt
	$PX $NP udp-send 10.98.0.2 $1 3 >/tmp/send.txt 2>&1
	wait $pid
	rc=$?
	cat /tmp/recv.txt
	if [ $2 = all ] && [ $rc != 0 ]; then
		cat /tmp/send.txt; $W stats fw; $IP neigh
		fail "forwarded UDP $1 should pass"
	fi
	[ $2 = all ] || grep -q "received 0" /tmp/recv.txt || fail "forwarded UDP $1 should drop"
done
[ "$(wasmnf_stat fw dropped)" = 3 ] || fail "forward: dropped=$(wasmnf_stat fw dropped), expected 3"
$W unload fw

echo "== icmp_ratelimit"
$W load $F/icmp_ratelimit.wasm --hook prerouting --name rl --config rate=1 --config burst=1 || fail "load icmp_ratelimit"
ok=0
# busybox ping can hang without a reply under TCG: bound each one.
for i in 1 2 3 4 5 6 7 8; do timeout -s KILL 3 $PX ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1 && ok=$((ok + 1)); done
$W stats rl
echo "pings answered: $ok of 8"
[ "$ok" -ge 1 ] || fail "rate limiter let nothing through"
[ "$ok" -lt 8 ] || fail "rate limiter limited nothing"
[ "$(wasmnf_stat rl dropped)" -ge 1 ] || fail "rate limiter drops not counted"
udp_expect 10.99.0.1 9090 3 all
$W unload rl

echo "== a filter that loops forever"
echo AGFzbQEAAAABBgFgAX8BfwMCAQAHCgEGZmlsdGVyAAAKCgEIAANADAALAAs= | base64 -d >/tmp/spin.wasm # (module (func (export "filter") (param i32) (result i32) (loop (br 0)) unreachable))
$W load /tmp/spin.wasm --hook prerouting --name spin --fuel 10000 || fail "load spin"
udp_expect 10.99.0.1 9090 5 all
[ "$(wasmnf_stat spin out_of_fuel)" -ge 5 ] || fail "out_of_fuel=$(wasmnf_stat spin out_of_fuel)"
$W load /tmp/spin.wasm --hook prerouting --name spin --fuel 10000 --on-error drop --replace || fail "replace spin fail-closed"
udp_expect 10.99.0.1 9090 3 none
$W unload spin

echo "== replace under a flood"
$W load $F/drop_port.wasm --hook prerouting --name flood --config port=5050 || fail "load flood"
$PX $NP udp-send 10.99.0.1 5051 200000 >/dev/null 2>&1 &
fl=$!
for i in 1 2 3 4 5 6; do
	$W load $F/drop_port.wasm --hook prerouting --name flood --config port=$((5050 + i % 2)) --replace || fail "replace $i under flood"
done
$W load $F/drop_port.wasm --hook prerouting --name flood --config port=5050 --replace || fail "final replace"
udp_expect 10.99.0.1 5050 3 none
echo "== unload everything under traffic"
for i in 1 2 3; do $W load $F/accept_all.wasm --hook input --name all$i --priority $i || fail "load all$i"; done
$W stats
for n in flood all1 all2 all3; do $W unload $n || fail "unload $n under traffic"; done
kill $fl 2>/dev/null
wait $fl 2>/dev/null
[ -z "$($W list --json | grep '"name"')" ] || fail "filters left"
# The backlog the flood left can take a while to drain on the debug kernel:
# wait up to 10 s (it returns as soon as the 3 datagrams are in).
udp_expect 10.99.0.1 5050 3 all 10000
rmmod wasmnf || fail "rmmod"
echo "dataplane: ok"
