# Shared by the guest tests (scripts/test-vm.sh copies it to /files/lib.sh).
# The tools in the guest: raw netlink, the CLI, traffic.
N=/files/nlraw
W=/files/wasmnf
NP=/files/netprobe
fail() {
	echo "GUEST-TEST-FAIL: $*"
	exit 1
}

# dmesg_has FIXED-STRING: the kernel log contains the string.
# wait_listening FILE: until a background `netprobe udp-recv` writing to
# FILE has bound its socket (up to 20 s: a loaded debug-kernel guest can
# take seconds to start a process); datagrams sent before that are lost.
wait_listening() {
	for _ in $(seq 200); do
		grep -q "netprobe: listening" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "netprobe udp-recv did not start listening ($1)"
}

dmesg_has() {
	dmesg | grep -qF -- "$1"
}

# veth_ns NS HOST_IF PEER_IF NET4 [NET6]: a veth pair from init_net into a
# new network namespace NS. The init_net side HOST_IF gets NET4.1/24 (and
# NET6::1/64), the NS side PEER_IF gets NET4.2/24 (and NET6::2/64); both are
# up, and so is NS's loopback. Fails the test if any step fails.
veth_ns() {
	ns=$1 hif=$2 pif=$3 net4=$4 net6=${5:-}
	$IP netns add "$ns" &&
		$IP link add "$hif" type veth peer name "$pif" &&
		$IP link set "$pif" netns "$ns" &&
		$IP addr add "$net4.1/24" dev "$hif" &&
		{ [ -z "$net6" ] || $IP addr add "$net6::1/64" dev "$hif" nodad; } &&
		$IP link set "$hif" up &&
		$IP netns exec "$ns" $IP link set lo up &&
		$IP netns exec "$ns" $IP addr add "$net4.2/24" dev "$pif" &&
		{ [ -z "$net6" ] || $IP netns exec "$ns" $IP addr add "$net6::2/64" dev "$pif" nodad; } &&
		$IP netns exec "$ns" $IP link set "$pif" up ||
		fail "veth_ns $*: setting up the namespace failed"
}

# kmemleak_clear: on a kernel with kmemleak (the debug flavor), forget what
# it knows so far (from boot), so that kmemleak_check reports only what the
# test did. kmemleak_check: wait until the test's objects are old enough to
# be reported (5 s), scan twice (an object freed by RCU during the first
# scan is gone by the second), and fail the test on any unreferenced
# object. Both do nothing elsewhere.
KMEMLEAK=/sys/kernel/debug/kmemleak
kmemleak_clear() {
	[ -w $KMEMLEAK ] && echo clear >$KMEMLEAK
	return 0
}
kmemleak_check() {
	[ -w $KMEMLEAK ] || return 0
	sleep 6
	echo scan >$KMEMLEAK
	sleep 2
	echo scan >$KMEMLEAK
	leaks=$(cat $KMEMLEAK)
	[ -z "$leaks" ] || { echo "$leaks" | head -n 60; fail "kmemleak reports unreferenced objects"; }
	echo "kmemleak: nothing unreferenced"
}

# wasmnf_stat NAME FIELD: a counter from `wasmnf stats --json`.
wasmnf_stat() {
	$W stats "$1" --json | tr -d ' \n' | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
# udp_expect ADDR PORT COUNT WANT [TIMEOUT_MS]: send COUNT datagrams from $PX
# (a command prefix that runs in the sending namespace)
# once the receiver listens; WANT=all|none arrive (waiting up to TIMEOUT_MS,
# default 1500 for none; 5000 for all, which ends as soon as all arrived).
udp_expect() {
	if [ "$4" = all ]; then dflt=5000; else dflt=1500; fi
	$NP udp-recv "$2" "$3" "${5:-$dflt}" >/tmp/recv.txt 2>&1 &
	pid=$!
	wait_listening /tmp/recv.txt
	$PX $NP udp-send "$1" "$2" "$3" >/dev/null 2>&1
	wait $pid
	rc=$?
	cat /tmp/recv.txt
	if [ "$4" = all ]; then
		[ $rc = 0 ] || fail "UDP to $1:$2 should pass"
	else
		grep -q "received 0 datagrams" /tmp/recv.txt || fail "UDP to $1:$2 should be dropped"
	fi
}

# expect_fail STATUS TEXT CMD...: CMD exits STATUS and prints TEXT (stderr or stdout).
expect_fail() {
	want=$1 text=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	echo "\$ $* -> rc=$rc: $out"
	[ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
	echo "$out" | grep -qF -- "$text" || fail "'$*' does not say: $text"
}
