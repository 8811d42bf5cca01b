# Guest test: network namespaces and veth pairs work in the test VM, with
# IPv4 and IPv6 ping, UDP and TCP traffic across the pair.
# expect-log: WASMNF-VM-START
# expect-log-re: cpus=2$
set -eu
. /files/lib.sh

[ "$(nproc)" = 2 ] || fail "guest sees $(nproc) CPUs, want 2 (ACPI missing?)"

$IP netns add ns1
$IP link add veth0 type veth peer name veth1
$IP link set veth1 netns ns1
$IP addr add 10.99.0.1/24 dev veth0
$IP -6 addr add fd99::1/64 dev veth0 nodad
$IP link set veth0 up
$IP netns exec ns1 $IP link set lo up
$IP netns exec ns1 $IP addr add 10.99.0.2/24 dev veth1
$IP netns exec ns1 $IP -6 addr add fd99::2/64 dev veth1 nodad
$IP netns exec ns1 $IP link set veth1 up
$IP netns list | grep -q ns1 || fail "ns1 not listed"
$IP netns exec ns1 $IP -o link show | grep -q veth1 || fail "veth1 not in ns1"
$IP -o link show | grep -q veth1 && fail "veth1 still in the initial namespace"

# busybox ping -c 1 (ping -c 2 can hang under TCG on tinyconfig)
ping -c 1 -W 5 10.99.0.2 || fail "ping 10.99.0.2 from init_net"
$IP netns exec ns1 ping -c 1 -W 5 10.99.0.1 || fail "ping 10.99.0.1 from ns1"
ping6 -c 1 -W 5 fd99::2 || fail "ping6 fd99::2"

# UDP over IPv4 and IPv6: a receiver in ns1 gets what init_net sends.
$IP netns exec ns1 ./netprobe udp-recv 9000 5 10000 >/tmp/udp4.out &
udp_pid=$!
wait_listening /tmp/udp4.out
./netprobe udp-send 10.99.0.2 9000 5 || fail "udp-send over IPv4"
wait $udp_pid || { cat /tmp/udp4.out; fail "UDP/IPv4 datagrams not received in ns1"; }
cat /tmp/udp4.out
$IP netns exec ns1 ./netprobe udp-recv 9002 3 10000 >/tmp/udp6.out &
udp_pid=$!
wait_listening /tmp/udp6.out
./netprobe udp-send fd99::2 9002 3 || fail "udp-send over IPv6"
wait $udp_pid || { cat /tmp/udp6.out; fail "UDP/IPv6 datagrams not received in ns1"; }
cat /tmp/udp6.out

# TCP: a connection from init_net to ns1, echoed back.
$IP netns exec ns1 ./netprobe tcp-echo-server 9001 10000 &
tcp_pid=$!
sleep 1
./netprobe tcp-echo 10.99.0.2 9001 wasmnf-tcp-hello 5000 || fail "TCP echo across the veth pair"
wait $tcp_pid || fail "TCP echo server"

$IP netns del ns1
echo "netns_veth: ok"
