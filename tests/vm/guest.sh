#!/bin/bash
# Stage 2 of the test VM: PID 1 after tests/vm/init set up the guest and switched to the
# overlay of the host's tree.  Argument: the run directory that tests/vm/run.sh made on the
# host, shared read-write over 9p and mounted here at the same path.  It holds:
#
#   cmd      the command to run, as a bash script (run.sh quotes the arguments)
#   env      exported variables: HUSK, PROBE, HUSK_VM_CWD, HUSK_VM_TIMEOUT, ...
#   status   written here: the command's exit status
#
# The command's stdout and stderr go to the virtio-serial ports husk.stdout and
# husk.stderr, which the host reads through FIFOs (clean bytes: a serial tty would turn
# \n into \r\n).  The VM powers off when the command ends.  PID 1 must never exit (the
# kernel would panic; with panic=-1 and qemu -no-reboot that also ends the VM, but
# without a status).
#
# Only bash builtins here where possible: every other command is a host binary loaded
# over 9p under emulation, which is slow.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run=$1
out=/dev/console
err=/dev/console

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	# Power-off is asynchronous and takes the 9p root away: wait with builtins only.
	while :; do
		read -r -t 60 <>/dev/console || true
	done
}

# Whatever goes wrong before the command runs ends the VM without a status file: the host
# then says so and shows the console log.
die() {
	echo "husk-vm guest: $*" >/dev/console
	power_off
}

# /dev/vportNpM of the virtio-serial port called $1, if there is one.
find_port() {
	local dir name
	for dir in /sys/class/virtio-ports/*; do
		[ -f "$dir/name" ] || continue
		read -r name <"$dir/name"
		[ "$name" = "$1" ] && echo "/dev/${dir##*/}" && return
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
	open_output
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
