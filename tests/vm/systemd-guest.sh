#!/bin/bash
# Stage 2 of the test VM in systemd mode (HUSK_VM_SYSTEMD=1 tests/vm/run.sh): the
# husk-vm.service that tests/vm/init wrote into the overlay, started by systemd as PID 1.
# Argument: the run directory that tests/vm/run.sh made on the host, shared read-write over
# 9p and mounted here at the same path.  It holds:
#
#   cmd      the command to run, as a bash script (run.sh quotes the arguments)
#   env      exported variables: HUSK, PROBE, HUSK_VM_CWD, HUSK_VM_TIMEOUT, ...
#   status   written here: the command's exit status
#
# As in guest.sh, the command's stdout and stderr go to the virtio-serial ports husk.stdout
# and husk.stderr.  The unit powers the VM off when this script ends (SuccessAction= and
# FailureAction=poweroff-immediate), so the status must be written before: a script that
# fails earlier ends the VM without one, and the host shows the console log, where
# this script's messages and systemd's go.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run=$1
out=/dev/console
err=/dev/console

die() {
	echo "husk-vm systemd guest: $*" >/dev/console
	exit 1
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
	export HUSK_VM_SYSTEMD=1
	cd "$HUSK_VM_CWD" || die "cd $HUSK_VM_CWD"
	timeout -k 10 "$HUSK_VM_TIMEOUT" bash "$run/cmd" </dev/null >"$out" 2>"$err" || status=$?
	{ echo "$status" >"$run/status.tmp" && mv "$run/status.tmp" "$run/status"; } ||
		die "write $run/status"
}

main
