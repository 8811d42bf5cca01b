# Guest test (issue 11): every module of tests/regress/ (crashes and
# divergences the fuzzers found; scripts/test-vm.sh compiles them with
# `cargo xtask regress`) is sent to the kernel through raw generic netlink,
# without the CLI's local check first, and gets the answer its `;; expect:`
# line states: refused with the errno of the refusal's class and the
# engine's message (EOPNOTSUPP for a construct the engine does not run,
# ECANCELED for a failing init, EINVAL otherwise: docs/netlink.md), or loaded; a
# loaded one then sees real packets on the input hook (loopback UDP) and its
# counters show them. Among them, the valid two-instruction module that
# panicked wasmi's translator and took the kernel down. The guest stays up
# and the kernel log stays clean (test-vm.sh checks for reports).
# expect-log: wasmnf: unloaded
set -u
. /files/lib.sh
cd /tmp
[ -s /files/regress.tsv ] || fail "no regression list in the guest"
insmod /files/wasmnf.ko || fail "insmod"
$IP link set lo up || fail "lo up"

count=0
while IFS="$(printf '\t')" read -r name expect; do
	count=$((count + 1))
	file=/files/regress-$name.wasm
	[ -s "$file" ] || fail "$name: no $file"
	fname=r$count
	out=$($N load-file "$fname" "$file" 4096) || fail "$name: nlraw: $out"
	echo "$name: expect '$expect': $out"
	case $expect in
	refused:* | init:*)
		text=${expect#*: }
		case $expect in
		init:*) errno="ECANCELED(125)" ;;
		"refused: the engine does not run"*) errno="EOPNOTSUPP(95)" ;;
		*) errno="EINVAL(22)" ;;
		esac
		case "$out" in
		*"errno=$errno msg=\""*"$text"*) ;;
		*) fail "$name: expected $errno with '$text'" ;;
		esac
		;;
	*)
		case "$out" in *"errno=OK(0)"*) ;; *) fail "$name: expected the load to succeed" ;; esac
		$NP udp-send 127.0.0.1 9 3 regress >/dev/null || true
		stats=$($W stats "$fname" --json) || fail "$name: stats"
		echo "$stats"
		echo "$stats" | grep -q '"packets": *[1-9]' || fail "$name: no packet ran through the filter"
		# The counter the expected status moves, and none of the others.
		case $expect in
		*" ok") want=accepted zero="traps out_of_fuel invalid_verdicts" ;;
		*" trap: "*) want=traps zero="out_of_fuel invalid_verdicts" ;;
		*" invalid verdict "*) want=invalid_verdicts zero="traps out_of_fuel" ;;
		*" out of fuel") want=out_of_fuel zero="traps invalid_verdicts" ;;
		*) fail "$name: unknown expectation '$expect'" ;;
		esac
		echo "$stats" | grep -q "\"$want\": *[1-9]" || fail "$name: $want did not count"
		for z in $zero; do
			echo "$stats" | grep -qE "\"$z\": *0([^0-9]|\$)" || fail "$name: $z counted"
		done
		$W unload "$fname" || fail "$name: unload"
		;;
	esac
done </files/regress.tsv
[ "$count" -ge 6 ] || fail "only $count regression modules"
# Nothing is left loaded, and the module still loads a real filter.
[ "$($W list --json | grep -c '"name"')" = 0 ] || { $W list; fail "a regression module stayed loaded"; }
$W load /files/accept_all.wasm --hook input || fail "a normal load after the regression modules"
$W unload accept_all || fail "unload accept_all"
rmmod wasmnf || fail "rmmod"
echo "regress: $count modules, kernel alive"
