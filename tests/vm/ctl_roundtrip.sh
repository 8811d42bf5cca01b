# Guest test (issue 5): the wasmnf CLI against the module's generic-netlink
# family: load/list/stats/unload round trip, and every error path a user
# can hit (bad file, duplicate name, unknown hook, oversized module, module
# not loaded, unprivileged user, another namespace).
# expect-log: wasmnf: filter web loaded
# expect-log: wasmnf: filter web unloaded
set -u
. /files/lib.sh
W=/files/wasmnf
F=/files
cd /tmp


# Module not loaded: the CLI says so (exit 4 = kernel refusal/absent).
expect_fail 4 "not loaded" $W list

insmod /files/wasmnf.ko || fail "insmod"
dmesg_has "genetlink family wasmnf registered" || fail "no family line"

$W load $F/drop_port.wasm --hook prerouting --name web --config port=8080 || fail "load"
$W list | tee /tmp/list.txt
grep -q "web" /tmp/list.txt || fail "list lacks web"
$W list --json | tee /tmp/list.json
grep -q '"name": *"web"' /tmp/list.json || fail "list --json lacks web"
grep -q '"hook": *"prerouting"' /tmp/list.json || fail "list --json lacks the hook"
$W stats web || fail "stats web"
$W stats --json | tee /tmp/stats.json
grep -q '"packets": *0' /tmp/stats.json || fail "fresh filter has packets"
# One instance per possible CPU ("0-1" -> 2).
possible=$(cat /sys/devices/system/cpu/possible)
ncpu=$(( ${possible#*-} + 1 ))
grep -q "\"instances\": *$ncpu" /tmp/list.json || fail "list --json: instances is not $ncpu (possible CPUs $possible)"

# Errors.
echo "not wasm" >/tmp/bad.wasm
expect_fail 3 "not a WebAssembly module" $W load /tmp/bad.wasm --hook input --name bad
expect_fail 4 "already loaded" $W load $F/drop_port.wasm --hook prerouting --name web --config port=8080
expect_fail 2 "" $W load $F/drop_port.wasm --hook sideways --name x --config port=1
expect_fail 4 "no filter named nosuch" $W unload nosuch
# Oversized: the CLI refuses locally; the kernel's own limit is tested with nlraw.
head -c 1100000 /dev/zero >/tmp/big.wasm
expect_fail 3 "" $W load /tmp/big.wasm --hook input --name big
# A valid module of 1,048,000 bytes (accept_all plus a 1,047,891-byte custom
# section, its size 0xd3 0xfa 0x3f in LEB128) loads whole.
{ cat $F/accept_all.wasm; printf '\000\323\372\077\003pad'; head -c 1047887 /dev/zero; } >/tmp/onemib.wasm
[ "$(wc -c </tmp/onemib.wasm)" -eq 1048000 ] || fail "onemib.wasm has the wrong size"
$W load /tmp/onemib.wasm --hook input --name onemib || fail "a 1 MiB module did not load"
$W list --json | grep -q '"size": *1048000' || fail "list does not show the 1 MiB module"
$W unload onemib || fail "unload onemib"

# Unprivileged: no CAP_NET_ADMIN -> EPERM from genetlink.
if [ -x /files/setpriv ]; then
	expect_fail 4 "CAP_NET_ADMIN" /files/setpriv --reuid 1000 --regid 1000 --clear-groups --inh-caps=-all $W list
	expect_fail 4 "CAP_NET_ADMIN" /files/setpriv --reuid 1000 --regid 1000 --clear-groups --inh-caps=-all $W unload web
else
	fail "no setpriv in the guest"
fi

# Another namespace sees none of these filters, and has its own.
$IP netns add other
$IP netns exec other $W list --json | tee /tmp/other.json
grep -q web /tmp/other.json && fail "namespace other sees web"
$IP netns exec other $W load $F/accept_all.wasm --hook input --name web || fail "load in other"
$IP netns exec other $W list | grep -q web || fail "other lacks its web"
# Replace in place.
$W load $F/drop_port.wasm --hook prerouting --name web --config port=9090 --replace || fail "replace"
$W list --json | grep -q "9090" || fail "replace did not take the new config"
# Replace with another hook (make before break).
$W load $F/accept_all.wasm --hook output --name web --replace || fail "replace to output"
$W list --json | grep -q '"hook": *"output"' || fail "replace did not move the hook"

$W unload web || fail "unload"
$W list --json | grep -q '"name": *"web"' && fail "web still listed"
# A namespace going away frees its filters (no leak, no warning).
$IP netns del other
sleep 1
# Several filters, then rmmod with filters loaded.
for i in 1 2 3 4 5; do $W load $F/accept_all.wasm --hook input --name a$i --priority $i || fail "load a$i"; done
[ "$($W list --json | grep -c '"name"')" = 5 ] || { $W list; fail "expected 5 filters"; }
rmmod wasmnf || fail "rmmod with filters loaded"
dmesg_has "wasmnf: unloaded" || fail "no unload line"
echo "ctl_roundtrip: ok"
