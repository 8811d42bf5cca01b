#!/usr/bin/env bash
# The kernel benchmark: per-packet cost of a filter at the prerouting hook,
# wasmnf against an nftables rule, in the test VM under qemu -icount shift=0
# (guest time = guest instructions, so "ns" below are instructions).
#
#   bench/kernel.sh              two boots (BENCH_BOOTS), one table each
#   bench/kernel.sh --smoke      one boot, 200 ms windows (~25 s): checks
#                                that the method still works (scripts/test.sh
#                                runs it); its figures are not the benchmark's
#   bench/kernel.sh --maps       maps against nftables sets instead
#                                (bench/kernel-maps-guest.sh): the LPM
#                                cidr_filter with 100,000 and 100 prefixes
#                                against `ip saddr @blocklist drop`, pass and
#                                drop paths, and the bulk load of 100,000
#                                prefixes (`wasmnf map load` vs `nft -f`)
#
# Each boot runs bench/kernel-guest.sh once: a UDP flood over veth from a
# network namespace, interleaving base / nft pass / accept_all / drop_port
# pass / base / nft drop / drop_port drop / the 12-rule nft chain pass and
# drop / the firewall filter pass and drop / base. Per case: pps = datagrams
# sent / guest time; cost = 1e9/pps; overhead = cost - mean base cost.
# bench/README.md ("Kernel: netfilter hook under qemu -icount") has the
# method and the figures.
#
# Environment: BENCH_BOOTS (2), BENCH_WINDOW_MS (2000 guest ms per case),
# BENCH_WARMUP_MS (300), BENCH_PAYLOAD (18 bytes of UDP payload: 60-byte
# frames, 64 with an FCS), BENCH_SMP (1 guest CPU), BENCH_LOGDIR.
# Needs the cached test kernel (scripts/kernel-build.sh) and, once, Debian's
# nftables packages (fetched with apt-get download into the cache).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WASMNF_CACHE:-/var/cache/wasmnf}
boots=${BENCH_BOOTS:-2}
smoke=0
guest=$ROOT/bench/kernel-guest.sh
vm_timeout=${BENCH_VM_TIMEOUT:-600}
case ${1:-} in
--smoke) smoke=1 boots=1 BENCH_WINDOW_MS=200 BENCH_WARMUP_MS=50 ;;
--maps) guest=$ROOT/bench/kernel-maps-guest.sh vm_timeout=${BENCH_VM_TIMEOUT:-2400} ;;
"") ;;
*) echo "usage: $0 [--smoke | --maps]" >&2; exit 2 ;;
esac
logdir=${BENCH_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/wasmnf-bench-kernel.XXXXXX")}
mkdir -p "$logdir"

build() { # the builds' chatter goes to a log, shown on failure
	"$@" 2>>"$logdir/build.txt" || { tail -n 30 "$logdir/build.txt" >&2; exit 2; }
}
build "$ROOT/scripts/kernel-build.sh" >/dev/null
ko=$(KMOD_OUT=$logdir build "$ROOT/scripts/kmod-build.sh" | tail -n 1)
(cd "$ROOT" && build cargo build --release --locked --quiet -p wasmnf-ctl && build cargo xtask filters >/dev/null)
(cd "$ROOT/tests/vm/netprobe" && build cargo build --release --locked --quiet)
filters=$ROOT/filters/target/wasm32-unknown-unknown/release

# nft for the guest: Debian's nftables and its libraries, unpacked into the
# cache, then the binary and every library it resolves to in one directory
# (the guest runs it with LD_LIBRARY_PATH=/files/nft/lib).
nftcache=$CACHE/nft
if [ ! -x "$nftcache/stage/nft" ]; then
	echo "bench/kernel: fetching nftables for the guest into $nftcache" >&2
	rm -rf "$nftcache" && mkdir -p "$nftcache/debs" "$nftcache/root" "$nftcache/stage/lib"
	debs=(nftables libnftables1 libnftnl11 libjansson4 libxtables12 libmnl0 libedit2 libgmp10 libbsd0 libmd0)
	(cd "$nftcache/debs" && { apt-get download "${debs[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get download "${debs[@]}" >/dev/null; }; }) ||
		{ echo "bench/kernel: apt-get download of nftables failed" >&2; exit 2; }
	for d in "$nftcache"/debs/*.deb; do dpkg -x "$d" "$nftcache/root"; done
	libs=$nftcache/root/usr/lib/x86_64-linux-gnu:$nftcache/root/lib/x86_64-linux-gnu
	install -m 0755 "$nftcache/root/usr/sbin/nft" "$nftcache/stage/nft"
	LD_LIBRARY_PATH=$libs ldd "$nftcache/root/usr/sbin/nft" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
		while read -r lib; do cp -L "$lib" "$nftcache/stage/lib/"; done
	if LD_LIBRARY_PATH=$libs ldd "$nftcache/root/usr/sbin/nft" | grep -q 'not found'; then
		rm -rf "$nftcache/stage"
		echo "bench/kernel: nft has unresolved libraries" >&2
		exit 2
	fi
fi

# report LOG: the table of one boot.
report() {
	tr -d '\r' <"$1" | grep -a '^BENCH case=' | awk -v smoke=$smoke '
	{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		c = v["case"]; order[++n] = c
		pps[c] = v["sent"] * 1e9 / v["ns"]; sent[c] = v["sent"]; rx[c] = v["rx"]
		fp[c] = v["filter_packets"]; fr[c] = v["filter_run_ns"]
	}
	END {
		b = 0; bmin = 1e18; bmax = 0
		for (i = 1; i <= 3; i++) { p = pps["base" i]; b += p; if (p < bmin) bmin = p; if (p > bmax) bmax = p }
		b /= 3; cb = 1e9 / b
		printf "base: mean %.0f pps (%.1f ns/packet), drift between base runs %.2f%% (min %.0f, max %.0f)\n", b, cb, 100 * (bmax - bmin) / b, bmin, bmax
		nftp = 1e9 / pps["nft_pass"] - cb
		nftd = 1e9 / pps["nft_drop"]
		# The firewall chain: its pass-path overhead, and its drop-path
		# overhead estimated as for a filter (below).
		fwp = 1e9 / pps["nft_fw_pass"] - cb
		fwd = 1e9 / pps["nft_fw_drop"] - nftd + nftp
		printf "%-16s %10s %8s %10s %8s %9s %10s %s\n", "case", "pps", "ns/pkt", "overhead", "x nft", "run_ns/pkt", "rx", "note"
		for (i = 1; i <= n; i++) {
			c = order[i]; cc = 1e9 / pps[c]; o = cc - cb
			rn = fp[c] > 0 ? sprintf("%.0f", fr[c] / fp[c]) : "-"
			note = ""
			if (c ~ /^base/) { x = "-" }
			else if (c == "nft_drop") { x = "(ref)"; note = sprintf("%+.0f vs base: the dropped packet skips the socket", o) }
			else if (c == "nft_fw_pass") { x = "(ref fw)"; note = "12-rule chain, accepted by rule 7" }
			else if (c == "nft_fw_drop") { x = "(ref fw)"; note = sprintf("through 12 rules to policy drop; drop-path overhead est. %.0f", fwd) }
			else if (c == "fw_pass") { x = sprintf("%.2f", o / fwp); note = "x the 12-rule chain" }
			else if (c == "fw_drop") { e = cc - nftd + nftp; x = sprintf("%.2f", e / fwd); note = sprintf("drop-path overhead est. %.0f, x the 12-rule chain", e) }
			else if (c ~ /_drop$/) {
				# The base passes its packets up to the socket; a dropped one
				# skips that. The nft rule does the same work whatever its
				# verdict, so a filter'\''s drop-path overhead is estimated as
				# (its cost - nft drop cost) + nft pass-path overhead.
				e = cc - nftd + nftp
				x = sprintf("%.2f", e / nftp)
				note = sprintf("drop-path overhead est. %.0f (vs nft drop %+.0f)", e, cc - nftd)
			} else { x = sprintf("%.2f", o / nftp) }
			printf "%-16s %10.0f %8.1f %+10.1f %8s %9s %10d %s\n", c, pps[c], cc, o, x, rn, rx[c], note
		}
		if (smoke) {
			# The method, not the speed: a stable base, and every hook
			# costing something, i.e. the rules and filters were in the path.
			bad = ""
			if (n != 12) bad = bad " cases=" n
			if ((bmax - bmin) / b > 0.01) bad = bad " base-drift"
			if (nftp < 50) bad = bad " nft_pass-overhead"
			if (1e9 / pps["accept_all"] - cb < 50) bad = bad " accept_all-overhead"
			if (1e9 / pps["drop_port_pass"] - cb < 50) bad = bad " drop_port_pass-overhead"
			if (1e9 / pps["nft_drop"] >= cb) bad = bad " nft_drop-not-cheaper"
			if (fp["drop_port_drop"] == 0) bad = bad " drop_port-stats"
			if (fp["fw_drop"] == 0) bad = bad " firewall-stats"
			if (1e9 / pps["nft_fw_pass"] - cb < nftp) bad = bad " nft_fw_pass-not-dearer"
			if (bad != "") { print "bench/kernel smoke: FAIL:" bad; exit 1 }
			print "bench/kernel smoke: ok"
		}
	}'
}

# report_maps LOG: the table of one boot of --maps.
report_maps() {
	tr -d '\r' <"$1" | grep -a '^BENCH \(case\|load\)=' | awk -v big="${BENCH_PREFIXES:-100000}" '
	{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if ($2 ~ /^load=/) { load[v["load"]] = v["ns"]; next }
		c = v["case"]; cost[c] = v["ns"] / v["sent"]
		fp[c] = v["filter_packets"]; fr[c] = v["filter_run_ns"]
	}
	END {
		cb = (cost["base1"] + cost["base2"] + cost["base3"]) / 3
		printf "base: %.1f ns/packet (drift %.2f%%)\n", cb, 100 * (max3(cost["base1"], cost["base2"], cost["base3"]) - min3(cost["base1"], cost["base2"], cost["base3"])) / cb
		printf "%-10s %-5s %12s %12s %8s %s\n", "prefixes", "path", "nft", "wasmnf", "x nft", "wasmnf run_ns/pkt"
		split(big " 100", ns, " ")
		for (k = 1; k <= 2; k++) {
			n = ns[k]
			np = cost["nft_" n "_pass"] - cb; wp = cost["cidr_" n "_pass"] - cb
			printf "%-10s %-5s %+12.1f %+12.1f %8.2f %.0f\n", n, "pass", np, wp, wp / np, fr["cidr_" n "_pass"] / fp["cidr_" n "_pass"]
			# Both drop before the socket: the drop-path overhead of each is
			# its cost against the nft drop, plus the nft pass overhead.
			nd = cost["nft_" n "_drop"]; wd = cost["cidr_" n "_drop"] - nd + np
			printf "%-10s %-5s %+12.1f %+12.1f %8.2f %.0f\n", n, "drop", np, wd, wd / np, fr["cidr_" n "_drop"] / fp["cidr_" n "_drop"]
		}
		printf "bulk load of %d prefixes: wasmnf map load %.0f ms, nft -f %.0f ms (%.2fx nft)\n", big, load["wasmnf_" big] / 1e6, load["nft_" big] / 1e6, load["wasmnf_" big] / load["nft_" big]
	}
	function max3(a, b, c) { return a > b ? (a > c ? a : c) : (b > c ? b : c) }
	function min3(a, b, c) { return a < b ? (a < c ? a : c) : (b < c ? b : c) }'
}

# The guest's settings, copied in as /files/bench.env; nft as /files/nft.
: >"$logdir/bench.env"
for v in BENCH_WINDOW_MS BENCH_WARMUP_MS BENCH_PAYLOAD BENCH_PREFIXES; do
	[ -z "${!v:-}" ] || echo "$v=${!v}" >>"$logdir/bench.env"
done
ln -sfn "$nftcache/stage" "$logdir/nft"
args=("$ko" "$ROOT/tests/vm/lib/lib.sh" "$ROOT/bench/kernel-guest-lib.sh" "$ROOT/target/release/wasmnf" "$filters/accept_all.wasm" "$filters/drop_port.wasm" "$filters/cidr_filter.wasm" "$filters/firewall.wasm"
	"$ROOT/tests/vm/netprobe/target/release/netprobe" "$logdir/nft" "$logdir/bench.env")
status=0
for boot in $(seq 1 "$boots"); do
	log=$logdir/boot$boot.log
	t0=$SECONDS
	set +e
	VM_ICOUNT=0 VM_ACCEL=tcg VM_SMP=${BENCH_SMP:-1} VM_QUIET=1 VM_LOG=$log VM_TIMEOUT=$vm_timeout \
		"$ROOT/scripts/vm-run.sh" "$guest" "${args[@]}" 2>"$logdir/boot$boot.vm-run.txt"
	rc=$?
	set -e
	echo "== boot $boot ($((SECONDS - t0)) s host time, log $log)"
	# (grep reads the file itself: `tr | grep -q` under pipefail can fail
	# on a found line when tr dies of SIGPIPE.)
	if [ $rc != 0 ] || ! grep -aq '^BENCH-DONE' "$log"; then
		echo "bench/kernel: boot $boot failed (exit $rc):"
		tr -d '\r' <"$log" | grep -a 'BENCH\|nft\|wasmnf' | tail -n 20
		status=1
		continue
	fi
	if bad=$(tr -d '\r' <"$log" | grep -aE 'WARNING:|BUG:|Oops|Call Trace:|ENGINE PANIC|rust_kernel: panicked' | head -n 3) && [ -n "$bad" ]; then
		echo "bench/kernel: kernel report in boot $boot: $bad"
		status=1
	fi
	if [ "$guest" = "$ROOT/bench/kernel-maps-guest.sh" ]; then
		report_maps "$log" || status=1
	else
		report "$log" || status=1
	fi
done
exit $status
