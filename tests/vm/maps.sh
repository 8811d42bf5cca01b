# Guest test (issue 15): a filter's maps in the kernel, read and written
# with `wasmnf map` while real packets flow between namespaces over veth.
# cidr_filter's lpm `deny` blocks what the CLI puts in it, IPv4 and IPv6;
# get, dump, delete, load from a file, clear; typed errors with the exit
# status and message a user sees; top_talkers' per-source counters read
# back; updates under a flood; then unload and rmmod are clean.
# expect-log: wasmnf: filter fw loaded
# expect-log: wasmnf: unloaded
# vm-timeout: 400
set -u
. /files/lib.sh
F=/files
cd /tmp
insmod /files/wasmnf.ko || fail "insmod"

# init_net (10.99.0.1, fd99::1) <-veth-> ns peer (10.99.0.2, fd99::2)
veth_ns peer v0 v1 10.99.0 fd99
PX="$IP netns exec peer"

# entries FILTER MAP: how many entries `map dump` prints.
entries() {
	$W map dump "$1" "$2" | grep -c '^  '
}

echo "== cidr_filter: its maps, empty, let everything through"
$W load $F/cidr_filter.wasm --hook input --name fw || fail "load cidr_filter"
$W map list fw | tee /tmp/maps.txt
grep -q "^deny: lpm" /tmp/maps.txt || fail "map list lacks deny"
grep -q "^allow: lpm" /tmp/maps.txt || fail "map list lacks allow"
grep -q "0 of 1000000 entries" /tmp/maps.txt || fail "deny is not empty with 1000000 entries"
$W map list fw --json | grep -q '"name": *"deny"' || fail "map list --json lacks deny"
$W list | tee /tmp/list.txt
grep -q "fw: .* maps 2 (" /tmp/list.txt || fail "list does not show the maps"
bytes=$($W list --json | tr -d ' \n' | sed -n 's/.*"map_bytes":\([0-9]*\).*/\1/p')
[ "${bytes:-0}" -gt 1000000 ] || fail "list --json: map_bytes is ${bytes:-missing}"
udp_expect 10.99.0.1 9000 5 all
udp_expect fd99::1 9000 3 all

echo "== an IPv4 prefix, then an IPv6 one, drop their sources"
$W map update fw deny 10.99.0.0/24 1 || fail "update deny 10.99.0.0/24"
udp_expect 10.99.0.1 9000 5 none
udp_expect fd99::1 9000 3 all
[ "$(wasmnf_stat fw dropped)" -ge 5 ] || fail "dropped is $(wasmnf_stat fw dropped), expected at least 5"
$W map update fw deny fd99::/64 2 --json | tee /tmp/upd.json
grep -q '"updated": *1' /tmp/upd.json || fail "update --json fd99::/64"
udp_expect fd99::1 9000 3 none
$W map get fw deny 10.99.0.0/24 | tee /tmp/get.txt
grep -q "^10.99.0.0/24  1$" /tmp/get.txt || fail "get 10.99.0.0/24"
$W map get fw deny fd99::/64 --json | tee /tmp/get.json
grep -q '"value": *2' /tmp/get.json || fail "get --json fd99::/64"
$W map dump fw deny --json | tee /tmp/dump.json
grep -q '"key": *"fd99::/64"' /tmp/dump.json || fail "dump --json lacks fd99::/64"
[ "$(entries fw deny)" = 2 ] || fail "deny should hold 2 entries"

echo "== delete: IPv4 passes again, IPv6 is still dropped"
$W map delete fw deny 10.99.0.0/24 --json | tee /tmp/del.json
grep -q '"deleted": *1' /tmp/del.json || fail "delete --json"
udp_expect 10.99.0.1 9000 5 all
udp_expect fd99::1 9000 3 none

echo "== errors a user can make"
expect_fail 4 "no map nosuch" $W map get fw nosuch 1
expect_fail 4 "no filter named nofw" $W map list nofw
expect_fail 2 "key notanip" $W map update fw deny notanip 1
expect_fail 2 "an IPv4 prefix is at most /32" $W map update fw deny 10.0.0.0/33 1
expect_fail 4 "no such key" $W map get fw deny 192.0.2.0/24
$W map update fw deny 192.0.2.0/24 3 --create || fail "create-only of a new key"
expect_fail 4 "key exists" $W map update fw deny 192.0.2.0/24 4 --create
expect_fail 4 "no such key" $W map update fw deny 198.51.100.0/24 4 --replace
$W map update fw deny 192.0.2.0/24 4 --replace || fail "replace-only of an existing key"
$W map get fw deny 192.0.2.0/24 | grep -q "  4$" || fail "replace did not change the value"
expect_fail 4 "no such key" $W map delete fw deny 198.51.100.0/24
# A file with a bad line sends nothing.
printf '203.0.113.0/24 1\n10.1.0.0/16 x\n' >/tmp/bad.txt
expect_fail 2 "/tmp/bad.txt:2:" $W map load fw deny /tmp/bad.txt
$W map get fw deny 203.0.113.0/24 >/dev/null 2>&1 && fail "a file with a bad line loaded its first line"
expect_fail 1 "cannot read map file" $W map load fw deny /tmp/nosuch.txt
# The map limit at load is checked and named.
expect_fail 3 "over the limit" $W load $F/cidr_filter.wasm --hook input --name small --map-memory 4096

echo "== load 1,000 prefixes from a file (and our source), then clear"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "172.%d.%d.0/24 %d\n", 16 + int(i / 250), i % 250, i }' >/tmp/feed.txt
echo "10.99.0.2 7" >>/tmp/feed.txt
$W map load fw deny /tmp/feed.txt | tee /tmp/load.txt
grep -q "fw: 1001 entries loaded into deny" /tmp/load.txt || fail "map load"
n=$(entries fw deny)
# The feed, 192.0.2.0/24 and fd99::/64.
[ "$n" = 1003 ] || fail "deny holds $n entries, expected 1003"
$W map get fw deny 172.19.249.0/24 | grep -q "  999$" || fail "the last feed entry is missing"
udp_expect 10.99.0.1 9000 5 none
$W map clear fw deny --json | grep -q '"cleared": *true' || fail "clear --json"
[ "$(entries fw deny)" = 0 ] || fail "clear left entries"
$W map load fw deny /tmp/feed.txt --json | grep -q '"loaded": *1001' || fail "map load --json"
$W map clear fw deny || fail "clear"
udp_expect 10.99.0.1 9000 5 all
udp_expect fd99::1 9000 3 all

echo "== updates while a flood runs (no warning, no lost verdict)"
$NP udp-sink 9100 6 >/tmp/sink.txt 2>&1 &
sink=$!
sleep 0.5
$PX $NP udp-flood 10.99.0.1 9100 0 4000 64 >/tmp/flood.txt 2>&1 &
flood=$!
for i in 1 2 3 4 5; do
	$W map load fw deny /tmp/feed.txt >/dev/null || fail "load under flood ($i)"
	$W map clear fw deny || fail "clear under flood ($i)"
done
# Two updaters at once (each its own process and socket), and a replace,
# still under the flood.
awk 'BEGIN { for (i = 0; i < 500; i++) printf "192.168.%d.%d 1\n", int(i / 250), i % 250 }' >/tmp/a.txt
awk 'BEGIN { for (i = 0; i < 500; i++) printf "2001:db8::%x 2\n", i }' >/tmp/b.txt
for i in 1 2 3; do $W map load fw deny /tmp/a.txt >/dev/null || fail "updater a"; done &
ua=$!
for i in 1 2 3; do $W map load fw deny /tmp/b.txt >/dev/null || fail "updater b"; done &
ub=$!
$W load $F/cidr_filter.wasm --hook input --name fw --replace >/dev/null || fail "replace under flood"
wait $ua || fail "updater a failed"
wait $ub || fail "updater b failed"
wait $flood
wait $sink
cat /tmp/flood.txt /tmp/sink.txt
[ "$(entries fw deny)" = 1000 ] || fail "deny holds $(entries fw deny) entries after the two updaters, expected 1000"
$W map clear fw deny || fail "clear"
[ "$(entries fw deny)" = 0 ] || fail "deny is not empty after the last clear"

echo "== another namespace cannot see or change the maps; unprivileged users are refused"
expect_fail 4 "no filter named fw" $PX $W map list fw
expect_fail 4 "no such filter" $PX $W map update fw deny 10.0.0.0/8 1
expect_fail 4 "CAP_NET_ADMIN" /files/setpriv --reuid 1000 --regid 1000 --clear-groups --inh-caps=-all $W map dump fw deny
[ "$(entries fw deny)" = 0 ] || fail "another namespace changed the map"

echo "== replace keeps the maps that carry over; --reset-maps starts empty"
$W map update fw deny 10.99.0.2 9 || fail "update before replace"
$W load $F/cidr_filter.wasm --hook input --name fw --replace | tee /tmp/rep.txt
grep -q "fw: map deny kept (1 entries)" /tmp/rep.txt || fail "replace did not report deny kept"
dmesg_has "filter fw loaded (" || fail "no load line"
dmesg | grep -q "filter fw loaded .*, 2 maps kept)" || fail "the module did not keep both maps"
udp_expect 10.99.0.1 9000 5 none
$W map get fw deny 10.99.0.2 | grep -q "  9$" || fail "the kept entry"
# Replace at another hook (make before break) keeps them too.
$W load $F/cidr_filter.wasm --hook prerouting --name fw --replace >/dev/null || fail "replace to prerouting"
udp_expect 10.99.0.1 9000 5 none
$W load $F/cidr_filter.wasm --hook input --name fw --replace --reset-maps | tee /tmp/rep.txt
grep -q "kept" /tmp/rep.txt && fail "--reset-maps reported a kept map"
[ "$(entries fw deny)" = 0 ] || fail "--reset-maps kept entries"
udp_expect 10.99.0.1 9000 5 all
expect_fail 2 "" $W load $F/cidr_filter.wasm --hook input --name fw --reset-maps

# One cidr_filter at a time: its maps take about 90 MB of the guest's 512.
$W unload fw || fail "unload fw"

echo "== a load that fills its map first: the first packet is already dropped"
printf '# our peer\n10.99.0.2 5\nfd99::2 6\n' >/tmp/pre.txt
$W load $F/cidr_filter.wasm --hook input --name pre --map deny=@/tmp/pre.txt | tee /tmp/pre.out
grep -q "pre: 2 entries loaded into deny" /tmp/pre.out || fail "load --map"
udp_expect 10.99.0.1 9000 5 none
udp_expect fd99::1 9000 3 none
expect_fail 2 "/tmp/bad.txt:2:" $W load $F/cidr_filter.wasm --hook input --name pre2 --map deny=@/tmp/bad.txt
expect_fail 2 "has no map" $W load $F/cidr_filter.wasm --hook input --name pre2 --map nosuch=@/tmp/pre.txt
$W list --json | grep -q '"name": *"pre2"' && fail "a refused load --map left a filter"
$W unload pre || fail "unload pre"

echo "== top_talkers: per-source counters a user reads"
$W load $F/top_talkers.wasm --hook input --name tt || fail "load top_talkers"
before=$($W map get tt talkers ::ffff:10.99.0.2 --json 2>/dev/null | tr -d ' \n' | sed -n 's/.*"value":\[\([0-9]*\),.*/\1/p')
udp_expect 10.99.0.1 9000 20 all
$W map dump tt talkers | tee /tmp/talkers.txt
after=$($W map get tt talkers ::ffff:10.99.0.2 --json | tr -d ' \n' | sed -n 's/.*"value":\[\([0-9]*\),.*/\1/p')
[ "${after:-0}" -ge $(( ${before:-0} + 20 )) ] || fail "talkers: 10.99.0.2 went from ${before:-0} to ${after:-0} packets, expected at least 20 more"
$W map update tt overflow 0 5 || fail "update an array entry"
$W map get tt overflow 0 | grep -q "  5$" || fail "array entry"
expect_fail 4 "index past" $W map update tt overflow 1 5
expect_fail 4 "" $W map delete tt overflow 0

$W unload tt || fail "unload tt"

echo "== proto_stats: a per-CPU array, one row per CPU, read per CPU and summed"
$W load $F/proto_stats.wasm --hook input --name ps || fail "load proto_stats"
udp_expect 10.99.0.1 9000 20 all
$W map dump ps protocols | tee /tmp/ps.txt
line=$(grep '^  17  ' /tmp/ps.txt) || fail "no UDP row"
possible=$(cat /sys/devices/system/cpu/possible)
ncpu=$(( ${possible#*-} + 1 ))
[ "$(echo "$line" | grep -o 'cpu[0-9]*' | wc -l)" = "$ncpu" ] || fail "UDP row does not have $ncpu CPUs: $line"
sum=$(echo "$line" | awk '{ for (i = 1; i < NF; i++) if ($i == "sum") print $(i + 1) }')
[ "${sum:-0}" -ge 20 ] || fail "UDP packets summed over CPUs: ${sum:-none}, expected at least 20"
$W map dump ps protocols --json | grep -q '"sum"' || fail "dump --json has no sum"
$W unload ps || fail "unload ps"
$IP netns del peer
rmmod wasmnf || fail "rmmod"
dmesg_has "wasmnf: unloaded" || fail "no unload line"
echo "maps: ok"
