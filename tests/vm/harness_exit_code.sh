# Harness self-check: the guest script's exit status reaches the host.
# expect-exit: 7
# expect-log: harness: about to exit 7
echo "harness: about to exit 7"
exit 7
