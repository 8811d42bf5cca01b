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
. /files/kernel-guest-lib.sh
BIG=${BENCH_PREFIXES:-100000}

# timed NAME N CMD...: runs CMD, prints its guest time as a load line.
timed() {
	name=$1 n=$2
	shift 2
	out=$($NP time "$@") || die "$name: $out"
	echo "BENCH load=$name ns=$(echo "$out" | sed -n 's/.*ns=\([0-9]*\).*/\1/p') entries=$n"
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
	run "nft_${n}_pass" 9000
	$NFT add element inet bench blocklist '{ 10.99.0.0/24 }' || die "nft add element"
	run "nft_${n}_drop" 9000
	nft_off
	$W load $F/cidr_filter.wasm --hook prerouting --name cf >/dev/null || die "load cidr_filter"
	timed "wasmnf_$n" "$n" $W map load cf deny /tmp/p$n.txt
	[ "$($W map list cf --json | tr -d ' \n' | sed -n 's/.*"name":"deny"[^}]*"entries":\([0-9]*\).*/\1/p')" = "$n" ] ||
		die "deny does not hold $n entries"
	run "cidr_${n}_pass" 9000 cf
	$W map update cf deny 10.99.0.0/24 1 || die "map update"
	run "cidr_${n}_drop" 9000 cf
	[ "$(wasmnf_stat cf dropped)" -ge "$total" ] || die "cidr_filter dropped $(wasmnf_stat cf dropped) of $total"
	$W unload cf >/dev/null || die "unload"
}

run base1 9000
suite "$BIG"
run base2 9000
suite 100
run base3 9000
kill $sink
echo "BENCH-DONE"
