# Guest test (issue 15): a 100,000-prefix blocklist bulk-loaded into the
# kernel, then real traffic from 240 source addresses (200 IPv4, 40 IPv6)
# in the peer namespace, 3 datagrams each, half of them inside listed
# prefixes. Three filters at prerouting: top_talkers `seen` first (priority
# -10), cidr_filter `fw` (0), top_talkers `passed` after it (10). `seen`
# must count exactly the 3 datagrams of every source, `passed` as many of
# every unlisted source and none of a listed one: exactly the listed sources
# are dropped, shown by `wasmnf map dump --json`. The neighbours on both
# sides are permanent entries, so that no ARP or neighbour discovery runs:
# an IPv6 neighbour advertisement from a source (answering the host's
# solicitation before its ICMP port unreachable) is a packet the filters
# count, and on a slow debug kernel it could land between the two dumps.
# expect-log: wasmnf: filter fw loaded
# vm-timeout: 600
set -u
. /files/lib.sh
F=/files
cd /tmp
insmod /files/wasmnf.ko || fail "insmod"
veth_ns peer v0 v1 10.99.0 fd99
PX="$IP netns exec peer"
# The sources: 10.99.1.1-200 and fd99::1:1-28 (hex) on the peer's side,
# routed back through v0 so the host accepts them.
{
	for i in $(seq 1 200); do echo "addr add 10.99.1.$i/32 dev v1"; done
	for i in $(seq 1 40); do echo "addr add fd99::1:$(printf %x "$i")/128 dev v1 nodad"; done
} >/tmp/addrs.txt
$PX $IP -batch /tmp/addrs.txt || fail "adding the sources"
$IP route add 10.99.1.0/24 dev v0 || fail "route"
$IP -6 route add fd99::1:0/112 dev v0 || fail "route6"

# 100,000 distinct /24s in 64.0.0.0/2 (none holds a source), plus the odd
# IPv4 sources as /32s and the odd IPv6 ones as /128s.
awk 'BEGIN {
	for (i = 0; i < 100000; i++) {
		j = (i * 40503 + 12345) % 4194304
		printf "%d.%d.%d.0/24\n", 64 + int(j / 65536), int(j / 256) % 256, j % 256
	}
	for (i = 1; i <= 200; i += 2) printf "10.99.1.%d\n", i
	for (i = 1; i <= 40; i += 2) printf "fd99::1:%x\n", i
}' >/tmp/list.txt
[ "$(wc -l </tmp/list.txt)" = 100120 ] || fail "list"

$W load $F/top_talkers.wasm --hook prerouting --priority -10 --name seen || fail "load seen"
$W load $F/cidr_filter.wasm --hook prerouting --name fw || fail "load fw"
$W load $F/top_talkers.wasm --hook prerouting --priority 10 --name passed || fail "load passed"
$NP time $W map load fw deny /tmp/list.txt | tee /tmp/load.txt
grep -q "rc=0" /tmp/load.txt || fail "map load"
[ "$($W map list fw --json | tr -d ' \n' | sed -n 's/.*"name":"deny"[^}]*"entries":\([0-9]*\).*/\1/p')" = 100120 ] ||
	fail "deny does not hold 100120 entries"

# Permanent neighbours both ways: the host's for every source, the peer's
# for the host's two addresses (no ARP, no neighbour discovery at all).
hmac=$($IP -br link show v0 | awk '{print $3}') pmac=$($PX $IP -br link show v1 | awk '{print $3}')
case "$hmac$pmac" in *:*:*:*:*:*:*:*:*:*) ;; *) fail "MAC addresses: '$hmac' '$pmac'" ;; esac
{
	for i in $(seq 1 200); do echo "neigh replace 10.99.1.$i lladdr $pmac dev v0 nud permanent"; done
	for i in $(seq 1 40); do echo "neigh replace fd99::1:$(printf %x "$i") lladdr $pmac dev v0 nud permanent"; done
} >/tmp/neigh.txt
$IP -batch /tmp/neigh.txt || fail "host neighbours"
$PX $IP neigh replace 10.99.0.1 lladdr "$hmac" dev v1 nud permanent || fail "peer neighbour"
$PX $IP neigh replace fd99::1 lladdr "$hmac" dev v1 nud permanent || fail "peer neighbour6"
# The pings from the peer's main addresses: left to choose, IPv6 would send
# from fd99::1:28 (the longest prefix shared with fd99::1, added last), a
# source the filters count.
$PX ping -c 1 -W 2 -I 10.99.0.2 10.99.0.1 >/dev/null || fail "ping"
$PX ping -6 -c 1 -W 2 -I fd99::2 fd99::1 >/dev/null 2>&1 ||
	$PX ping6 -c 1 -W 2 -I fd99::2 fd99::1 >/dev/null || fail "ping6"
# shellcheck disable=SC2046
$PX $NP udp-send 10.99.0.1 9000 3 x $(for i in $(seq 1 200); do echo 10.99.1.$i; done) || fail "send from the IPv4 sources"
# shellcheck disable=SC2046
$PX $NP udp-send fd99::1 9000 3 x $(for i in $(seq 1 40); do printf 'fd99::1:%x\n' "$i"; done) || fail "send from the IPv6 sources"
sleep 0.5

# count FILTER ADDR: the packets top_talkers FILTER counted from ADDR (0 if none).
$W map dump seen talkers --json | tr -d ' \n' | sed 's/},{/}\n{/g' >/tmp/seen.txt
$W map dump passed talkers --json | tr -d ' \n' | sed 's/},{/}\n{/g' >/tmp/passed.txt
count() {
	n=$(grep -F "\"key\":\"$2\"," "/tmp/$1.txt" | sed -n 's/.*"value":\[\([0-9]*\),.*/\1/p')
	echo "${n:-0}"
}
bad=0
# check ADDR LISTED: `seen` counted the 3 datagrams, and `passed` none of a
# listed source and all 3 of another.
check() {
	s=$(count seen "$1") p=$(count passed "$1")
	want=3
	[ "$2" = 1 ] && want=0
	if [ "$s" != 3 ] || [ "$p" != "$want" ]; then
		echo "source $1 (listed $2): seen $s, passed $p"
		bad=$((bad + 1))
	fi
}
for i in $(seq 1 200); do check "::ffff:10.99.1.$i" $((i % 2)); done
for i in $(seq 1 40); do check "fd99::1:$(printf %x "$i")" $((i % 2)); done
[ "$bad" = 0 ] || fail "$bad of 240 sources were not counted or dropped exactly"
dropped=$(wasmnf_stat fw dropped)
[ "$dropped" -ge 360 ] || fail "fw dropped $dropped, expected at least the 360 datagrams of listed sources"

for f in passed fw seen; do $W unload $f || fail "unload $f"; done
rmmod wasmnf || fail "rmmod"
echo "maps_sources: ok"
