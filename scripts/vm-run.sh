#!/usr/bin/env bash
# Boot the cached wasmnf test kernel under qemu and run one guest script in it.
#
#   scripts/vm-run.sh GUEST_SCRIPT [FILE...]
#
# GUEST_SCRIPT runs under busybox sh as the payload of the guest's init, with
# proc, sys, dev, debugfs, /tmp and /run mounted and lo up. Each FILE (a module, a CLI,
# a filter...) is copied into the guest's /files (the script's working
# directory); dynamically linked executables get their shared libraries.
# iproute2's real `ip` is at /usr/sbin/ip, exported as $IP (busybox's own `ip`
# applet cannot make veth pairs and busybox sh prefers its applets).
#
# The guest console is written to a log file (its path is printed first).
# Exit status: the guest script's, read from a marker line carrying a per-run
# nonce; 124 on host-side timeout, 125 if the guest ended without the marker.
#
# Environment:
#   KDIR             kernel tree with arch/x86/boot/bzImage (default: the cache,
#                    via scripts/kernel-build.sh --print-kdir, which honours
#                    WASMNF_KERNEL_FLAVOR=test|debug|hardened)
#   VM_TIMEOUT       host-side timeout in seconds (default 300)
#   VM_MEM           guest memory in MiB (default 512)
#   VM_SMP           guest CPUs (default 2)
#   VM_ACCEL         tcg (default) | kvm | auto (auto probes KVM once, with a
#                    short timeout, caches the answer, and falls back to tcg)
#   VM_LOG           console log path (default: a new file under $TMPDIR)
#   VM_APPEND        extra kernel command-line arguments
#   VM_ICOUNT        if set, run with `-icount shift=$VM_ICOUNT` (tcg only):
#                    guest time counts guest instructions (shift=0: 1 ns per
#                    instruction), for repeatable timing (bench/kernel.sh)
#   VM_QUIET=1       do not echo the console to stderr while the guest runs
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${WASMNF_CACHE:-/var/cache/wasmnf}

usage() { echo "usage: $0 GUEST_SCRIPT [FILE...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
guest_script=$1
shift
[ -f "$guest_script" ] || { echo "vm-run: no such guest script: $guest_script" >&2; exit 2; }
for f in "$@"; do
	[ -e "$f" ] || { echo "vm-run: no such file: $f" >&2; exit 2; }
done

if [ -z "${KDIR:-}" ]; then
	KDIR=$("$ROOT/scripts/kernel-build.sh" --print-kdir) ||
		{ echo "vm-run: no cached kernel; run scripts/kernel-build.sh first" >&2; exit 2; }
fi
bzimage=$KDIR/arch/x86/boot/bzImage
[ -f "$bzimage" ] || { echo "vm-run: no bzImage at $bzimage" >&2; exit 2; }

timeout_s=${VM_TIMEOUT:-300}
mem=${VM_MEM:-512}
smp=${VM_SMP:-2}
accel=${VM_ACCEL:-tcg}

work=$(mktemp -d "${TMPDIR:-/tmp}/wasmnf-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=${VM_LOG:-$(mktemp "${TMPDIR:-/tmp}/wasmnf-vm-$(basename "$guest_script" .sh).XXXXXX.log")}
: >"$log"
echo "vm-run: console log: $log" >&2

# ---- initramfs --------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,files,guest}

is_elf() { [ "$(head -c 4 "$1" | tail -c 3)" = ELF ]; }
is_dynamic() { is_elf "$1" && ldd "$1" >/dev/null 2>&1; }

# copy_elf SRC DEST: copy an executable and, if dynamically linked, its
# shared libraries (at their host paths) and the dynamic loader.
copy_elf() {
	local src=$1 dest=$2 lib
	install -D -m 0755 "$src" "$root$dest"
	if is_dynamic "$src"; then
		ldd "$src" | grep -o '/[^ ]*' | while read -r lib; do
			[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
		done
	fi
}

busybox=$(command -v busybox) || { echo "vm-run: busybox not found (apt-get install busybox-static)" >&2; exit 2; }
! is_dynamic "$busybox" ||
	{ echo "vm-run: $busybox is not static (apt-get install busybox-static)" >&2; exit 2; }
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	case $applet in
	busybox | ip) ;; # the real ip from iproute2 below
	*) ln -sf busybox "$root/bin/$applet" ;;
	esac
done
ip_bin=$(command -v ip || true)
[ -n "$ip_bin" ] && [ -x "$ip_bin" ] || ip_bin=/usr/sbin/ip
[ -x "$ip_bin" ] || { echo "vm-run: iproute2's ip not found (apt-get install iproute2)" >&2; exit 2; }
copy_elf "$ip_bin" /usr/sbin/ip

install -m 0755 "$guest_script" "$root/guest/test.sh"
for f in "$@"; do
	dest=/files/$(basename "$f")
	if [ -x "$f" ] && [ -f "$f" ] && is_elf "$f"; then
		copy_elf "$f" "$dest"
	else
		cp -rL "$f" "$root$dest"
	fi
done

nonce=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
marker="WASMNF-VM-RESULT $nonce"
cat >"$root/init" <<EOF
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin IP=/usr/sbin/ip HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /var && ln -sf /run /var/run
hostname wasmnf-guest
/usr/sbin/ip link set lo up
echo "WASMNF-VM-START \$(uname -r) cpus=\$(nproc)"
cd /files
sh /guest/test.sh
rc=\$?
echo "$marker rc=\$rc"
sync
reboot -f
EOF
chmod 0755 "$root/init"

# /dev/console must exist in the archive so init has a console from its first
# instruction; the kernel's gen_init_cpio makes the node without needing root.
{
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
	if [ -x "$KDIR/usr/gen_init_cpio" ]; then
		printf 'dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\n' >"$work/dev.list"
		"$KDIR/usr/gen_init_cpio" "$work/dev.list"
	fi
} | gzip -1 >"$work/initramfs.cpio.gz"

# ---- accelerator ------------------------------------------------------------
qemu=(qemu-system-x86_64 -nographic -no-reboot -nic none -m "$mem" -smp "$smp"
	-kernel "$bzimage" -initrd "$work/initramfs.cpio.gz")
cmdline="console=ttyS0 panic=-1 oops=panic rdinit=/init ${VM_APPEND:-}"

kvm_probe() { # prints kvm or tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo tcg; return; }
	local key stamp
	key=$( (sha256sum "$bzimage"; uname -r; qemu-system-x86_64 --version) | sha256sum | cut -c1-16)
	stamp=$CACHE/vm/kvm-probe-$key
	if [ ! -f "$stamp" ]; then
		mkdir -p "$CACHE/vm"
		local pdir plog
		pdir=$(mktemp -d) plog=$(mktemp)
		mkdir -p "$pdir/bin"
		install -m 0755 "$busybox" "$pdir/bin/busybox"
		printf '#!/bin/busybox sh\n/bin/busybox echo WASMNF-KVM-PROBE-OK\n/bin/busybox reboot -f\n' >"$pdir/init"
		chmod 0755 "$pdir/init"
		(cd "$pdir" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$pdir/probe.cpio.gz"
		timeout -k 2 20 qemu-system-x86_64 -accel kvm -nographic -no-reboot -nic none -m 256 \
			-kernel "$bzimage" -initrd "$pdir/probe.cpio.gz" \
			-append "console=ttyS0 panic=-1 rdinit=/init" </dev/null >"$plog" 2>&1 || true
		if grep -q WASMNF-KVM-PROBE-OK "$plog"; then echo kvm >"$stamp"; else echo tcg >"$stamp"; fi
		rm -rf "$pdir" "$plog"
	fi
	cat "$stamp"
}
case $accel in
tcg | kvm) ;;
auto) accel=$(kvm_probe) ;;
*) echo "vm-run: VM_ACCEL must be tcg, kvm or auto" >&2; exit 2 ;;
esac
qemu+=(-accel "$accel")
if [ -n "${VM_ICOUNT:-}" ]; then
	[ "$accel" = tcg ] || { echo "vm-run: VM_ICOUNT needs VM_ACCEL=tcg" >&2; exit 2; }
	qemu+=(-icount "shift=$VM_ICOUNT")
fi

# ---- run --------------------------------------------------------------------
t0=$(date +%s.%N)
set +e
if [ "${VM_QUIET:-0}" = 1 ]; then
	timeout -k 5 "$timeout_s" "${qemu[@]}" -append "$cmdline" </dev/null >"$log" 2>&1
	qrc=$?
else
	timeout -k 5 "$timeout_s" "${qemu[@]}" -append "$cmdline" </dev/null 2>&1 | tee "$log" >&2
	qrc=${PIPESTATUS[0]}
fi
set -e
elapsed=$(echo "$(date +%s.%N) - $t0" | bc)

rc_line=$(tr -d '\r' <"$log" | grep -a "^$marker rc=[0-9]*$" | tail -n 1 || true)
if [ -n "$rc_line" ]; then
	rc=${rc_line##*rc=}
	printf 'vm-run: guest script %s exited %s (accel %s, %.1f s, log %s)\n' \
		"$guest_script" "$rc" "$accel" "$elapsed" "$log" >&2
	exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	printf 'vm-run: TIMEOUT after %s s: qemu killed, no result marker (log %s)\n' "$timeout_s" "$log" >&2
	exit 124
fi
printf 'vm-run: guest ended without the result marker (qemu exit %s, %.1f s, log %s)\n' "$qrc" "$elapsed" "$log" >&2
exit 125
