#!/bin/bash
# Sourced by the two stage-2 guest scripts (guest.sh with tests/vm/init as PID 1,
# systemd-guest.sh under systemd): runs the command of the run directory that
# tests/vm/run.sh made, with its output on the virtio-serial ports husk.stdout and
# husk.stderr, which the host reads through FIFOs (clean bytes: a serial tty would turn \n
# into \r\n), and writes its exit status. The caller defines die().
#
# Only bash builtins here where possible: every other command is a host binary loaded over
# 9p under emulation, which is slow.

out=/dev/console
err=/dev/console

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

# run_command RUN_DIR [VAR=VALUE...]: RUN_DIR/cmd with the variables of RUN_DIR/env (then
# the VAR=VALUE given), in $HUSK_VM_CWD, under $HUSK_VM_TIMEOUT; its status to
# RUN_DIR/status.
run_command() {
	local run=$1 status=0
	shift
	open_output
	# shellcheck disable=SC1091 # written by run.sh
	. "$run/env" || die "read $run/env"
	[ $# -eq 0 ] || export "$@"
	cd "$HUSK_VM_CWD" || die "cd $HUSK_VM_CWD"
	# The host's watchdog kills qemu; this one, a little earlier, still gets the output
	# and a status (124) back.
	timeout -k 10 "$HUSK_VM_TIMEOUT" bash "$run/cmd" </dev/null >"$out" 2>"$err" || status=$?
	{ echo "$status" >"$run/status.tmp" && mv "$run/status.tmp" "$run/status"; } ||
		die "write $run/status"
}
