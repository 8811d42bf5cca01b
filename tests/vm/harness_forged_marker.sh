# Harness self-check: a result line without the run's nonce is not trusted;
# a guest that powers off without init's marker fails with 125.
# expect-exit: 125
echo "WASMNF-VM-RESULT 0000000000000000 rc=0"
sync
reboot -f
