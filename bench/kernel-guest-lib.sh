# Shared by the kernel benchmark's guest scripts (bench/kernel-guest.sh,
# bench/kernel-maps-guest.sh; copied in as /files/kernel-guest-lib.sh after
# /files/lib.sh): the settings, the module and nft, the veth pair into the
# flooding namespace with a socket that never reads on port 9000, and one
# flood window per case.
F=/files
[ -f /files/bench.env ] && . /files/bench.env
NFT="env LD_LIBRARY_PATH=/files/nft/lib /files/nft/nft"
WARMUP=${BENCH_WARMUP_MS:-200}
WINDOW=${BENCH_WINDOW_MS:-1000}
LEN=${BENCH_PAYLOAD:-18}
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

# run CASE PORT [FILTER_NAME]: one flood window to PORT, printed as
#   BENCH case=NAME sent=N ns=T total=N rx=N filter_packets=N filter_run_ns=N
# (the filter's counters as deltas over the window: a filter may serve
# several cases). Fails if veth lost datagrams or the filter missed one.
run() {
	fp0=0 fr0=0
	if [ -n "${3:-}" ]; then
		fp0=$(wasmnf_stat "$3" packets) fr0=$(wasmnf_stat "$3" run_ns)
	fi
	r0=$(rx)
	out=$($IP netns exec peer $NP udp-flood 10.99.0.1 "$2" "$WARMUP" "$WINDOW" "$LEN" 2>&1) ||
		die "flood for $1: $out"
	r1=$(rx)
	sent=$(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
	ns=$(echo "$out" | sed -n 's/.* ns=\([0-9]*\).*/\1/p')
	total=$(echo "$out" | sed -n 's/.* total=\([0-9]*\).*/\1/p')
	[ -n "$sent" ] && [ -n "$ns" ] && [ -n "$total" ] || die "flood for $1: $out"
	fp=0 fr=0
	if [ -n "${3:-}" ]; then
		fp=$(($(wasmnf_stat "$3" packets) - fp0)) fr=$(($(wasmnf_stat "$3" run_ns) - fr0))
		[ "$fp" -ge "$total" ] || die "$1: the filter saw $fp packets of $total"
	fi
	echo "BENCH case=$1 sent=$sent ns=$ns total=$total rx=$((r1 - r0)) filter_packets=$fp filter_run_ns=$fr"
	[ $((r1 - r0)) -ge "$total" ] || die "$1: veth delivered $((r1 - r0)) of $total"
}
