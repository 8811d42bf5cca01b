# The maps benchmark's guest side (bench/kernel.sh --maps, in the test VM
# under qemu -icount shift=0: guest time counts guest instructions).
#
# The LPM cidr_filter (source addresses against its `deny` map) against an
# nftables rule `ip saddr @blocklist drop` with an interval set, both
# holding the same N prefixes (100,000, then 100): N distinct /24s spread
# over 64.0.0.0/2 by an odd multiplier modulo 2^22, none covering the
# flood's source 10.99.0.2. Pass path: the flood's source is in neither list.
# Drop path: 10.99.0.0/24 is added to both (`wasmnf map update`, `nft add
# element`). The flood is bench/kernel-guest.sh's (UDP over veth into
# init_net at prerouting, a socket that never reads on port 9000). It also
# times the bulk load of the 100,000 prefixes: `wasmnf map load` into the
# loaded filter against `nft -f` adding them to the empty set, in guest ns
# (= instructions). Lines:
#   BENCH case=NAME sent=N ns=T total=N rx=N filter_packets=N filter_run_ns=N
#   BENCH load=NAME ns=T entries=N
set -u
. /files/lib.sh
F=/files
[ -f /files/bench.env ] && . /files/bench.env
NFT="env LD_LIBRARY_PATH=/files/nft/lib /files/nft/nft"
WARMUP=${BENCH_WARMUP_MS:-200}
WINDOW=${BENCH_WINDOW_MS:-1000}
LEN=${BENCH_PAYLOAD:-18}
BIG=${BENCH_PREFIXES:-100000}
cd /tmp
die() {
	echo "BENCH-FAIL: $*"
	exit 1
}
insmod /files/wasmnf.ko || die insmod
$NFT --version || die "nft does not run"

veth_ns peer v0 v1 10.99.0
$NP udp-sink 9000 100000 &
sink=$!
sleep 0.2

rx() { cat /sys/class/net/v0/statistics/rx_packets; }
# timed NAME N CMD...: runs CMD, prints its guest time as a load line.
timed() {
	name=$1 n=$2
	shift 2
	out=$($NP time "$@") || die "$name: $out"
	echo "BENCH load=$name ns=$(echo "$out" | sed -n 's/.*ns=\([0-9]*\).*/\1/p') entries=$n"
}

# run CASE [FILTER_NAME]: one flood window to port 9000 (the filter's
# counters as deltas over the window: a filter serves two cases).
run() {
	fp0=0 fr0=0
	if [ -n "${2:-}" ]; then
		fp0=$(wasmnf_stat "$2" packets) fr0=$(wasmnf_stat "$2" run_ns)
	fi
	r0=$(rx)
	out=$($IP netns exec peer $NP udp-flood 10.99.0.1 9000 "$WARMUP" "$WINDOW" "$LEN" 2>&1) ||
		die "flood for $1: $out"
	r1=$(rx)
	sent=$(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
	ns=$(echo "$out" | sed -n 's/.* ns=\([0-9]*\).*/\1/p')
	total=$(echo "$out" | sed -n 's/.* total=\([0-9]*\).*/\1/p')
	[ -n "$sent" ] && [ -n "$ns" ] && [ -n "$total" ] || die "flood for $1: $out"
	fp=0 fr=0
	if [ -n "${2:-}" ]; then
		fp=$(($(wasmnf_stat "$2" packets) - fp0)) fr=$(($(wasmnf_stat "$2" run_ns) - fr0))
		[ "$fp" -ge "$total" ] || die "$1: the filter saw $fp packets of $total"
	fi
	echo "BENCH case=$1 sent=$sent ns=$ns total=$total rx=$((r1 - r0)) filter_packets=$fp filter_run_ns=$fr"
	[ $((r1 - r0)) -ge "$total" ] || die "$1: veth delivered $((r1 - r0)) of $total"
}

# prefixes N: the lists, as a map file and as an nft element file.
prefixes() {
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++) {
			j = (i * 40503 + 12345) % 4194304
			printf "%d.%d.%d.0/24 1\n", 64 + int(j / 65536), int(j / 256) % 256, j % 256
		}
	}' >/tmp/p$1.txt
	awk 'BEGIN { printf "add element inet bench blocklist {\n" }
		NR > 1 { printf ",\n" }
		{ printf "%s", $1 }
		END { printf "\n}\n" }' /tmp/p$1.txt >/tmp/p$1.nft
	[ "$(wc -l </tmp/p$1.txt)" = "$1" ] || die "prefix list"
}
nft_table() {
	$NFT -f - <<EOF || die "nft table"
table inet bench {
	set blocklist { type ipv4_addr; flags interval; }
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		ip saddr @blocklist drop
	}
}
EOF
}
nft_off() { $NFT delete table inet bench || die "nft delete"; }

# suite N: nft then cidr_filter, pass then drop path, with N prefixes.
suite() {
	n=$1
	prefixes "$n"
	nft_table
	timed "nft_$n" "$n" env LD_LIBRARY_PATH=/files/nft/lib /files/nft/nft -f /tmp/p$n.nft
	run "nft_${n}_pass"
	$NFT add element inet bench blocklist '{ 10.99.0.0/24 }' || die "nft add element"
	run "nft_${n}_drop"
	nft_off
	$W load $F/cidr_filter.wasm --hook prerouting --name cf >/dev/null || die "load cidr_filter"
	timed "wasmnf_$n" "$n" $W map load cf deny /tmp/p$n.txt
	[ "$($W map list cf --json | tr -d ' \n' | sed -n 's/.*"name":"deny"[^}]*"entries":\([0-9]*\).*/\1/p')" = "$n" ] ||
		die "deny does not hold $n entries"
	run "cidr_${n}_pass" cf
	$W map update cf deny 10.99.0.0/24 1 || die "map update"
	run "cidr_${n}_drop" cf
	[ "$(wasmnf_stat cf dropped)" -ge "$total" ] || die "cidr_filter dropped $(wasmnf_stat cf dropped) of $total"
	$W unload cf >/dev/null || die "unload"
}

run base1
suite "$BIG"
run base2
suite 100
run base3
kill $sink
echo "BENCH-DONE"
