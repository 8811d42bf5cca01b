# The kernel benchmark's guest side (run by bench/kernel.sh in the test VM
# under qemu -icount shift=0, so guest time counts guest instructions).
#
# A UDP flood from a network namespace over veth into init_net, where every
# case hooks prerouting: no filter, an nftables rule `udp dport 8080 drop`,
# wasmnf accept_all, wasmnf drop_port port=8080; then a 12-rule nftables
# chain against the firewall filter with the same rules. Pass-path traffic goes to
# port 9000, where a socket that never reads sits (its queue fills, then
# every datagram is dropped there at a fixed cost); drop-path traffic goes to
# 8080. Each case floods for BENCH_WINDOW_MS of guest time after
# BENCH_WARMUP_MS and prints one line:
#   BENCH case=NAME sent=N ns=T total=N rx=N filter_packets=N filter_run_ns=N
# (sent, ns: datagrams and guest ns in the window; total: datagrams sent
# with the warmup; rx: v0's rx_packets delta, what veth delivered to
# init_net; filter_*: `wasmnf stats --json` of the case's filter, 0 for the
# others). The run fails if veth lost datagrams (rx != total) or a filter
# did not see every one.
set -u
. /files/lib.sh
W=/files/wasmnf
NP=/files/netprobe
. /files/kernel-guest-lib.sh
nft_on() {
	$NFT -f - <<EOF || die "nft rule"
table inet bench {
	chain pre {
		type filter hook prerouting priority 0; policy accept;
		udp dport 8080 drop
	}
}
EOF
}
nft_off() { $NFT delete table inet bench || die "nft delete"; }
# The 12-rule firewall (filters/firewall, the userspace suite's rule set
# with UDP 9000 for UDP 443, so the pass-path flood is accepted by the 7th
# rule) as an nftables chain with policy drop: the drop-path flood to 8080
# falls through all 12 rules.
FW_CONFIG="--config tcp=22,80,443 --config udp=53,123,9000 --config icmp=8,0 --config icmp6=128 --config allow=10.1.0.0/16,10.2.0.0/16"
nft_fw_on() {
	$NFT -f - <<EOF || die "nft firewall chain"
table inet bench {
	chain pre {
		type filter hook prerouting priority 0; policy drop;
		tcp flags & ack == ack accept
		tcp dport 22 accept
		tcp dport 80 accept
		tcp dport 443 accept
		udp dport 53 accept
		udp dport 123 accept
		udp dport 9000 accept
		icmp type echo-request accept
		icmp type echo-reply accept
		icmpv6 type echo-request accept
		ip saddr 10.1.0.0/16 accept
		ip saddr 10.2.0.0/16 accept
	}
}
EOF
}
wload() { $W load "$F/$1.wasm" --hook prerouting --name "$2" $3 >/dev/null || die "load $1"; }
wunload() { $W unload "$1" >/dev/null || die "unload $1"; }

run base1 9000
nft_on
$NFT list ruleset
run nft_pass 9000
nft_off
wload accept_all aa ""
run accept_all 9000 aa
wunload aa
wload drop_port dp "--config port=8080"
run drop_port_pass 9000 dp
wunload dp
run base2 9000
nft_on
run nft_drop 8080
nft_off
wload drop_port dp "--config port=8080"
run drop_port_drop 8080 dp
# Every flood datagram was dropped (`total` of the last run; the filter may
# also have seen, and passed, a few IPv6 control packets of the veth pair).
[ "$(wasmnf_stat dp dropped)" -ge "$total" ] || die "drop_port dropped $(wasmnf_stat dp dropped) of $total datagrams"
wunload dp
nft_fw_on
$NFT list ruleset
run nft_fw_pass 9000
run nft_fw_drop 8080
nft_off
wload firewall fw "$FW_CONFIG"
run fw_pass 9000 fw
run fw_drop 8080 fw
[ "$(wasmnf_stat fw dropped)" -ge "$total" ] || die "firewall dropped $(wasmnf_stat fw dropped) of $total datagrams"
wunload fw
run base3 9000
kill $sink
echo "BENCH-DONE"
