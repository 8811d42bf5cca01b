# Harness self-check: a guest that never finishes is killed by the host-side
# timeout, and the run fails with 124.
# vm-timeout: 20
# expect-exit: 124
echo "harness: hanging on purpose"
while :; do sleep 1; done
