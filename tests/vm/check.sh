#!/usr/bin/env bash
# The VM step of tests/run-tests.sh, run on the host: boots the test VM twice, with HUSK,
# PROBE and TEST_CGROUP from the environment:
#
#   1. tests/vm/run-cgroup-tests.sh in the plain guest (the cgroupfs driver);
#   2. tests/vm/run-systemd-tests.sh in the guest booted with systemd as PID 1
#      (HUSK_VM_SYSTEMD=1: the systemd cgroup driver); HUSK_VM_SKIP_SYSTEMD=1 leaves it out.
#
# The last line is always "N passed, N failed", the sum of both runs.
#
# When the VM cannot run here (no qemu, Debian's kernel package cannot be fetched and none
# is cached) it prints a "SKIP:" line, then "0 passed, 0 failed", and exits 0: a CI
# machine without network must not fail for it.  The same goes for the second run alone
# when the host has no systemd.  Any other harness failure (a VM that does not boot, the
# watchdog) counts as one failure.
#
# HUSK_VM_TIMEOUT (default 600 s) is the budget of the whole step, both boots: the whole
# step must fit in CI's ten minutes.  The first run's watchdog leaves 120 s of it to the
# second; the second gets what is left.  PYTEST_ARGS belongs to run-tests.sh's own pytest
# run; HUSK_VM_PYTEST_ARGS are the ones for the first VM's, HUSK_VM_SYSTEMD_PYTEST_ARGS
# for the second's.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
budget=${HUSK_VM_TIMEOUT:-600}
systemd_reserve=120
out=$(mktemp /tmp/husk-vm-check.XXXXXX)
trap 'rm -f "$out"' EXIT

if ! [[ $budget =~ ^[0-9]+$ ]] || [ "$budget" -lt $((60 + systemd_reserve)) ]; then
	echo "failed: HUSK_VM_TIMEOUT must be a number of seconds, at least $((60 + systemd_reserve))"
	echo "0 passed, 1 failed"
	exit 1
fi

status=0
bash "$here/prepare.sh" >/dev/null || status=$?
if [ "$status" -eq 77 ]; then
	echo "SKIP: the cgroup v2 VM tests did not run (see above); they count as 0 tests"
	echo "0 passed, 0 failed"
	exit 0
fi
if [ "$status" -ne 0 ]; then
	echo "failed: tests/vm/prepare.sh (exit status $status)"
	echo "0 passed, 1 failed"
	exit 1
fi

start=$(date +%s)
passed=0
failed=0

# vm_run LABEL TIMEOUT PYTEST_ARGS [VAR=VALUE]... -- CMD...: one boot; adds its counts to
# passed and failed.
vm_run() {
	local label=$1 limit=$2 pytest_args=$3 t0 status=0 last p f
	local -a vars=()
	shift 3
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	t0=$(date +%s)
	env HUSK_VM_TIMEOUT="$limit" PYTEST_ARGS="$pytest_args" "${vars[@]}" \
		bash "$here/run.sh" "$@" 2>&1 | tee "$out" || status=${PIPESTATUS[0]}
	echo "VM step ($label): $(($(date +%s) - t0)) s, exit status $status"
	if [ "$status" -eq 77 ]; then
		echo "SKIP: the $label VM tests did not run (see above); they count as 0 tests"
		return
	fi
	last=$(tail -n1 "$out")
	if ! [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		echo "failed: the $label VM run ended without a summary (exit status $status)"
		failed=$((failed + 1))
		return
	fi
	p=${BASH_REMATCH[1]}
	f=${BASH_REMATCH[2]}
	# A non-zero status with no failure counted (e.g. killed after printing) is a failure.
	[ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
}

vm_run "cgroup v2" $((budget - systemd_reserve)) "${HUSK_VM_PYTEST_ARGS:-}" -- \
	bash tests/vm/run-cgroup-tests.sh
if [ "${HUSK_VM_SKIP_SYSTEMD:-0}" = 1 ]; then
	echo "SKIP: the systemd VM tests (HUSK_VM_SKIP_SYSTEMD=1); they count as 0 tests"
else
	left=$((budget - ($(date +%s) - start)))
	[ "$left" -ge 60 ] || left=60
	vm_run "systemd" "$left" "${HUSK_VM_SYSTEMD_PYTEST_ARGS:-}" HUSK_VM_SYSTEMD=1 -- \
		bash tests/vm/run-systemd-tests.sh
fi
echo "VM step: $(($(date +%s) - start)) s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
