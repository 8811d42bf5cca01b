# Guest test (issue 15): the namespace's map-memory limit. The module is
# loaded with a low `map_memory_max` (the parameter, default 1 GiB): a
# filter whose maps would take the namespace over it is refused with E2BIG
# and a message that names the limit and the filter's largest map; the
# filters already loaded keep working; after one is unloaded the same load
# fits. Another namespace has a budget of its own.
# expect-log: wasmnf: filter a loaded
# expect-log: wasmnf: unloaded
# vm-timeout: 300
set -u
. /files/lib.sh
F=/files
cd /tmp

# How many bytes cidr_filter's maps take, from a first load under the
# default limit (so the test does not restate the engine's sizes).
insmod /files/wasmnf.ko || fail "insmod"
[ "$(cat /sys/module/wasmnf/parameters/map_memory_max)" = 1073741824 ] ||
	fail "default map_memory_max is $(cat /sys/module/wasmnf/parameters/map_memory_max)"
$W load $F/cidr_filter.wasm --hook input --name probe || fail "load cidr_filter"
one=$($W list --json | tr -d ' \n' | sed -n 's/.*"map_bytes":\([0-9]*\).*/\1/p')
[ "${one:-0}" -gt 1000000 ] || fail "cidr_filter's map_bytes is ${one:-missing}"
$W unload probe || fail "unload probe"
rmmod wasmnf || fail "rmmod"

# Room for one cidr_filter and a half: the second is over.
limit=$((one + one / 2))
insmod /files/wasmnf.ko map_memory_max=$limit || fail "insmod map_memory_max=$limit"
[ "$(cat /sys/module/wasmnf/parameters/map_memory_max)" = "$limit" ] || fail "parameter not set"
$W load $F/cidr_filter.wasm --hook input --name a || fail "load a"
expect_fail 4 "map \`deny\`: namespace maps $((one + one)) > map_memory_max $limit bytes" \
	$W load $F/cidr_filter.wasm --hook input --name b
$W list | grep -q '^b:' && fail "the refused filter is listed"
$W list | grep -q '^a:' || fail "a is gone after the refusal"

# a still filters: deny its own source.
veth_ns peer v0 v1 10.99.0 fd99
PX="$IP netns exec peer"
$W map update a deny 10.99.0.0/24 1 || fail "update a deny"
udp_expect 10.99.0.1 9000 3 none
$W map delete a deny 10.99.0.0/24 || fail "delete a deny"
udp_expect 10.99.0.1 9000 3 all

# Another namespace has its own budget: one cidr_filter fits there.
$IP netns add other || fail "netns other"
$IP netns exec other $W load $F/cidr_filter.wasm --hook input --name c || fail "load c in other"
$IP netns exec other $W unload c || fail "unload c"
$IP netns del other

# With a gone, b fits.
$W unload a || fail "unload a"
$W load $F/cidr_filter.wasm --hook input --name b || fail "load b after a went"
$W unload b || fail "unload b"
$IP netns del peer
rmmod wasmnf || fail "rmmod"
dmesg_has "wasmnf: unloaded" || fail "no unload line"
echo "map_limit: ok"
