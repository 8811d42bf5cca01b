# The demo's guest side (run by scripts/demo.sh in the test VM): load
# drop_port.wasm at prerouting, send UDP and TCP from another namespace to
# the dropped port and to an open one, and print `wasmnf stats`.
set -u
. /files/lib.sh
W=/files/wasmnf
NP=/files/netprobe
say() { printf '\n### %s\n' "$*"; }
cd /tmp
insmod /files/wasmnf.ko || exit 1
veth_ns client v0 v1 10.99.0
say "wasmnf load drop_port.wasm --hook prerouting --config port=8080"
$W load /files/drop_port.wasm --hook prerouting --config port=8080 || exit 1
$W list
say "client -> 10.99.0.1:8080 (dropped): 20 UDP datagrams"
$NP udp-recv 8080 20 1500 >/tmp/recv8080 2>&1 &
sleep 0.3
$IP netns exec client $NP udp-send 10.99.0.1 8080 20
wait
grep -v FAIL /tmp/recv8080
grep -q "received 0 " /tmp/recv8080 && echo "(none arrived: the filter dropped them)"
say "client -> 10.99.0.1:9090 (passes): 20 UDP datagrams"
$NP udp-recv 9090 20 1500 &
sleep 0.3
$IP netns exec client $NP udp-send 10.99.0.1 9090 20
wait
say "client -> TCP 10.99.0.1:8080 (dropped)"
$NP tcp-echo-server 8080 2000 >/dev/null 2>&1 &
sleep 0.3
if $IP netns exec client $NP tcp-echo 10.99.0.1 8080 hello 1000 >/dev/null 2>&1; then
	echo "connected: NOT dropped"
else
	echo "(no connection: the SYNs to 8080 were dropped)"
fi
wait
say "wasmnf stats"
$W stats
