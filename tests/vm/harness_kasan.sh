# Debug kernel only. Positive control of KASAN and of the log checks: LKDTM
# reads freed slab memory; KASAN must report it.
# flavor: debug
# expect-kernel-report: BUG: KASAN: slab-use-after-free
[ -w /sys/kernel/debug/provoke-crash/DIRECT ] || { echo "no LKDTM in this kernel"; exit 1; }
# KFENCE (also on in the debug kernel) samples some allocations into its own
# pool and reports a use-after-free there itself ("BUG: KFENCE: ..."), so
# KASAN would see nothing: CI saw that once. Off for this test, so the
# report is KASAN's every time.
kfence=/sys/module/kfence/parameters/sample_interval
if [ -e $kfence ]; then
	echo 0 >$kfence || { echo "cannot turn KFENCE off ($kfence)"; exit 1; }
fi
echo READ_AFTER_FREE >/sys/kernel/debug/provoke-crash/DIRECT
exit 0
