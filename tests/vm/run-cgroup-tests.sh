#!/usr/bin/env bash
# Runs husk's cgroup tests on the pure cgroup v2 hierarchy of the test VM; meant to run
# inside it:
#
#   HUSK=build/husk PROBE=build/tests/probe/probe tests/vm/run.sh tests/vm/run-cgroup-tests.sh
#
# 1. the C unit test program tests/unit/test-cgroup (TEST_CGROUP, default: next to $HUSK
#    in the build dir), whose pure-v2 tests skip on the hybrid dev machines and must run
#    here: if either is skipped, that counts as a failure;
# 2. python3 -m pytest tests/integration/test_cgroup_v2.py and test_checkpoint.py
#    (PYTEST_ARGS are added); checkpoint/restore skips on the dev machines (criu cannot run
#    on their kernel) and must run here: a skipped test_checkpoint.py test counts as failed.
#
# The last line is "N passed, N failed" (unit test cases + pytest tests; pytest errors
# count as failed, xfailed and skipped count as neither).  Exit status 0 when nothing failed.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src" || exit 1
python=/usr/bin/python3
log=$(mktemp -d /tmp/husk-vm-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

if ! grep -qs ' /sys/fs/cgroup cgroup2 ' /proc/self/mounts; then
	echo "run-cgroup-tests.sh: /sys/fs/cgroup is not a cgroup2 mount: run me through tests/vm/run.sh" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

unit_passed=0
unit_failed=0

# cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)," once per program.
run_unit_tests() {
	local bin=${TEST_CGROUP:-} status=0 p f name
	if [ -z "$bin" ] && [ -n "${HUSK:-}" ]; then
		bin=$(dirname "$HUSK")/tests/unit/test-cgroup
		if [ ! -x "$bin" ]; then
			echo "==> skipping the C unit tests: no $bin (set TEST_CGROUP)"
			return
		fi
	fi
	if [ -z "$bin" ]; then
		echo "==> skipping the C unit tests: set TEST_CGROUP or HUSK"
		return
	fi
	echo "==> $bin"
	if [ ! -x "$bin" ]; then
		echo "not found: $bin"
		unit_failed=1
		return
	fi
	"$bin" >"$log/unit.out" 2>&1 || status=$?
	cat "$log/unit.out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/unit.out" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/unit.out" | tail -n1)
	unit_passed=${p:-0}
	unit_failed=${f:-0}
	if [ "$status" -ne 0 ] && [ "$unit_failed" -eq 0 ]; then
		unit_failed=1 # crashed, or failed without saying so
	fi
	# These are what the VM is for: skipped here means they never run anywhere.
	for name in test_v2_lifecycle test_v2_create_rollback; do
		if ! grep -q "^\[       OK \] $name\$" "$log/unit.out" &&
			! grep -q "^\[  FAILED  \] $name\$" "$log/unit.out"; then
			echo "run-cgroup-tests.sh: $name did not run on the pure v2 hierarchy"
			unit_failed=$((unit_failed + 1))
		fi
	done
}

py_passed=0
py_failed=0

run_pytest() {
	local status=0 summary
	echo "==> pytest tests/integration/test_cgroup_v2.py tests/integration/test_checkpoint.py"
	# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
	"$python" -m pytest -v -p no:cacheprovider ${PYTEST_ARGS:-} \
		tests/integration/test_cgroup_v2.py tests/integration/test_checkpoint.py 2>&1 |
		tee "$log/pytest.out" || status=$?
	summary=$(grep -E '^=+ .*( in [0-9.]+s).* =+$' "$log/pytest.out" | tail -n1 || true)
	count() {
		echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0
	}
	py_passed=$(count passed)
	py_failed=$(($(count failed) + $(count 'errors?')))
	if [ "$status" -ne 0 ] && [ "$status" -ne 5 ] && [ "$py_failed" -eq 0 ]; then
		py_failed=1
	fi
	if grep -q '^tests/integration/test_checkpoint.py::.* SKIPPED' "$log/pytest.out"; then
		echo "run-cgroup-tests.sh: test_checkpoint.py skipped in the VM (does criu check fail?)"
		py_failed=$((py_failed + 1))
	fi
}

run_unit_tests
run_pytest
echo "vm unit: $unit_passed passed, $unit_failed failed; vm pytest: $py_passed passed, $py_failed failed"
echo "$((unit_passed + py_passed)) passed, $((unit_failed + py_failed)) failed"
[ $((unit_failed + py_failed)) -eq 0 ]
