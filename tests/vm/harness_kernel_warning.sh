# Harness self-check, positive control of the log checks: LKDTM provokes a
# real kernel WARNING, which scripts/test-vm.sh must find in the console log
# (every other test fails on such a report).
# expect-kernel-report: WARNING: CPU: [0-9]+ PID: [0-9]+ at .*lkdtm
# expect-log: lkdtm: Performing direct entry WARNING
[ -w /sys/kernel/debug/provoke-crash/DIRECT ] || { echo "no LKDTM in this kernel"; exit 1; }
echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
exit 0
