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
# husk.stderr (guest-lib.sh runs it).  The VM powers off when the command ends.  PID 1 must never exit (the
# kernel would panic; with panic=-1 and qemu -no-reboot that also ends the VM, but
# without a status).
#
# Only bash builtins here where possible: every other command is a host binary loaded
# over 9p under emulation, which is slow.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run=$1

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

# shellcheck source=tests/vm/guest-lib.sh
. "${BASH_SOURCE[0]%/*}/guest-lib.sh" || die "read guest-lib.sh"

run_command "$run"
power_off
