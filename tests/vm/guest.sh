#!/bin/bash
# Stage 2 of the test VM: PID 1 after tests/vm/init switched to the overlay of the host's
# tree.  Argument: the run directory that tests/vm/run.sh made on the host and shares
# read-write over 9p (tag "run"), mounted here at the same path.  It holds:
#
#   cmd      the command to run, as a bash script (run.sh quotes the arguments)
#   env      exported variables: HUSK, PROBE, HUSK_VM_CWD, HUSK_VM_TIMEOUT, ...
#   shares   more host directories to mount read-write at the same path: "TAG PATH" lines
#   status   written here: the command's exit status
#
# The command's stdout and stderr go to the virtio-serial ports husk.stdout and
# husk.stderr, which the host reads through FIFOs (clean bytes: a serial tty would turn
# \n into \r\n).  The VM powers off when the command ends; PID 1 must never exit (the
# kernel would panic; with panic=-1 and qemu -no-reboot that also ends the VM).
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run=$1
out=/dev/console
err=/dev/console

say() {
	echo "husk-vm guest: $*" >"$err"
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}

# Whatever goes wrong before the command runs ends the VM without a status file: the host
# then says so and shows the console log.
die() {
	say "$*"
	power_off
}

mount_9p() {
	local tag=$1 path=$2
	mkdir -p "$path" || return 1
	mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000" "$tag" "$path"
}

mount_basics() {
	mount -t proc proc /proc || die "mount proc"
	mount -t sysfs sysfs /sys || die "mount sysfs"
	mkdir -p /dev/pts /dev/shm /dev/mqueue
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts || die "mount devpts"
	ln -sf pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm || die "mount /dev/shm"
	mount -t mqueue mqueue /dev/mqueue || die "mount mqueue"
	ln -sf /proc/self/fd /dev/fd
	# The guest's own /tmp and /run: bundles must not live on 9p (slow; chown and mknod
	# are dropped there), and the host's must not show through.
	mount -t tmpfs -o mode=1777 tmpfs /tmp || die "mount /tmp"
	mount -t tmpfs -o mode=0755 tmpfs /run || die "mount /run"
	hostname husk-vm
}

mount_shares() {
	local tag path
	mount_9p run "$run" || die "mount the run directory $run (9p tag run)"
	while read -r tag path; do
		[ -n "$tag" ] || continue
		mount_9p "$tag" "$path" || die "mount $path (9p tag $tag)"
	done <"$run/shares"
}

# A pure v2 hierarchy with every controller available to children, like a systemd host
# (nsdelegate included).
setup_cgroup2() {
	local controller
	mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || die "mount cgroup2"
	for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
		echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control ||
			die "enable the $controller controller"
	done
}

# /dev/vportNpM of the virtio-serial port called $1, if there is one.
find_port() {
	local dir
	for dir in /sys/class/virtio-ports/*; do
		[ -f "$dir/name" ] && [ "$(cat "$dir/name")" = "$1" ] && echo "/dev/${dir##*/}" && return
	done
	return 0
}

open_output() {
	local port
	port=$(find_port husk.stdout)
	[ -n "$port" ] && [ -c "$port" ] && out=$port
	port=$(find_port husk.stderr)
	[ -n "$port" ] && [ -c "$port" ] && err=$port
}

main() {
	local status=0
	mount_basics
	open_output
	mount_shares
	setup_cgroup2
	# shellcheck disable=SC1091 # written by run.sh
	. "$run/env" || die "read $run/env"
	cd "$HUSK_VM_CWD" || die "cd $HUSK_VM_CWD"
	# The host's watchdog kills qemu; this one, a little earlier, still gets the output
	# and a status (124) back.
	timeout -k 10 "$HUSK_VM_TIMEOUT" bash "$run/cmd" </dev/null >"$out" 2>"$err" || status=$?
	echo "$status" >"$run/status.tmp" && mv "$run/status.tmp" "$run/status"
	power_off
}

main
