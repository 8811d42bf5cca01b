# Shared by the guest tests (scripts/test-vm.sh copies it to /files/lib.sh).
fail() {
	echo "GUEST-TEST-FAIL: $*"
	exit 1
}

# dmesg_has FIXED-STRING: the kernel log contains the string.
dmesg_has() {
	dmesg | grep -qF -- "$1"
}
