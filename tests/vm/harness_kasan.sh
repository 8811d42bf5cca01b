# Debug kernel only. Positive control of KASAN and of the log checks: LKDTM
# reads freed slab memory; KASAN must report it.
# flavor: debug
# expect-kernel-report: BUG: KASAN: slab-use-after-free
[ -w /sys/kernel/debug/provoke-crash/DIRECT ] || { echo "no LKDTM in this kernel"; exit 1; }
echo READ_AFTER_FREE >/sys/kernel/debug/provoke-crash/DIRECT
exit 0
