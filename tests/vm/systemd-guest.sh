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
# and husk.stderr (guest-lib.sh runs it).  The unit powers the VM off when this script ends (SuccessAction= and
# FailureAction=poweroff-immediate), so the status must be written before: a script that
# fails earlier ends the VM without one, and the host shows the console log, where
# this script's messages and systemd's go.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
run=$1

die() {
	echo "husk-vm systemd guest: $*" >/dev/console
	exit 1
}

# shellcheck source=tests/vm/guest-lib.sh
. "${BASH_SOURCE[0]%/*}/guest-lib.sh" || die "read guest-lib.sh"

run_command "$run" HUSK_VM_SYSTEMD=1
