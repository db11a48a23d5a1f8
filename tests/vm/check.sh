#!/usr/bin/env bash
# The VM step of tests/run-tests.sh, run on the host: boots the test VM and runs
# tests/vm/run-cgroup-tests.sh in it with HUSK, PROBE and TEST_CGROUP from the
# environment.  The last line is always "N passed, N failed".
#
# When the VM cannot run here (no qemu, Debian's kernel package cannot be fetched and none
# is cached) it prints a "SKIP:" line, then "0 passed, 0 failed", and exits 0: a CI
# machine without network must not fail for it.  Any other harness failure (a VM that
# does not boot, the watchdog) counts as one failure.
#
# HUSK_VM_TIMEOUT defaults to 600 s here: the whole step must fit in CI's ten minutes.
# PYTEST_ARGS belongs to run-tests.sh's own pytest run; HUSK_VM_PYTEST_ARGS are the ones
# for the VM's.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export HUSK_VM_TIMEOUT=${HUSK_VM_TIMEOUT:-600}
out=$(mktemp /tmp/husk-vm-check.XXXXXX)
trap 'rm -f "$out"' EXIT

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
status=0
PYTEST_ARGS=${HUSK_VM_PYTEST_ARGS:-} bash "$here/run.sh" bash tests/vm/run-cgroup-tests.sh 2>&1 |
	tee "$out" || status=${PIPESTATUS[0]}
echo "VM step: $(($(date +%s) - start)) s, exit status $status"
last=$(tail -n1 "$out")
if [[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed$ ]]; then
	echo "$last"
	[ "$status" -eq 0 ] && exit 0
	# A non-zero status with no failure counted (e.g. killed after printing) is a failure.
	if [[ $last =~ \ 0\ failed$ ]]; then
		echo "${last%%,*}, 1 failed"
	fi
	exit 1
fi
echo "failed: the VM run ended without a summary (exit status $status)"
echo "0 passed, 1 failed"
exit 1
