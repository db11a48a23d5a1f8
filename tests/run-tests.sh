#!/usr/bin/env bash
# Builds husk and runs every test suite: C unit tests (make check), then the pytest
# integration tests and oci-spec-tests.  The last line of output is always
# "N passed, N failed" (unit test cases + pytest tests + the VM's cgroup v2 tests + the fuzz
# targets + the ASan/UBSan build's tests; pytest errors count as failed).
#
# Environment:
#   HUSK_SKIP_DEPS=1      do not run tests/install-deps.sh
#   HUSK_SKIP_AUTOGEN=1   do not regenerate ./configure (it must exist)
#   HUSK_BUILD_DIR=DIR    configure and build in DIR instead of in the source tree
#   PYTEST_ARGS="..."     extra arguments for pytest (e.g. "-k probe -x")
#   HUSK_TEST_SUITES="..." the pytest suites (default "tests/integration oci-spec-tests
#                         tests/engines")
#   HUSK_SKIP_VM=1        do not run the cgroup v2 tests in a VM (tests/vm/check.sh)
#   HUSK_SKIP_FUZZ=1      do not run the fuzz targets (tests/fuzz/run-fuzz.sh)
#   FUZZ_SECONDS=60       fuzzing time, in total over the targets
#   HUSK_SKIP_SANITIZE=1  do not run the ASan/UBSan build's tests (tests/sanitize.sh)
#   SANITIZE_SUITES, SANITIZE_PYTEST_ARGS  the sanitizer run's pytest suites and arguments
#                         (default: tests/integration and oci-spec-tests, not tests/engines)
# Exit status: 0 when nothing failed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
# Debian's python3 has pytest; a pyenv or venv python earlier in PATH may not.
python=/usr/bin/python3

log_dir=$(mktemp -d /tmp/husk-tests.XXXXXX)
# The sanitizer build lives in here too: tests that drop to an unprivileged user run its probe.
chmod 755 "$log_dir"
trap 'rm -rf "$log_dir"' EXIT

step() {
	echo "==> $*"
}

# A step nothing can run without: on failure, still end with the summary line.
must() {
	if ! "$@"; then
		echo "failed: $*"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

if [ "${HUSK_SKIP_DEPS:-0}" != 1 ]; then
	step "installing dependencies"
	must bash tests/install-deps.sh
fi

if [ "${HUSK_SKIP_AUTOGEN:-0}" != 1 ]; then
	step "autogen.sh"
	must ./autogen.sh
fi

build=${HUSK_BUILD_DIR:-$src}
mkdir -p "$build"
build=$(cd "$build" && pwd)
cd "$build"
step "configure (in $build)"
must "$src/configure" -q
step "make"
must make -j2

# ------------------------------------------------------------------ unit tests
step "make check"
unit_status=0
make -j2 check >"$log_dir/check.out" 2>&1 || unit_status=$?
cat "$log_dir/check.out"
if [ "$unit_status" -ne 0 ]; then
	for log in tests/unit/*.log; do
		[ -f "$log" ] || continue
		echo "---- $log"
		cat "$log"
	done
fi

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)," per program; a
# program that crashed or failed without saying so still counts as one failure.
unit_passed=0
unit_failed=0
for trs in tests/unit/*.trs; do
	[ -f "$trs" ] || continue
	log=${trs%.trs}.log
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
	unit_passed=$((unit_passed + ${p:-0}))
	unit_failed=$((unit_failed + ${f:-0}))
	if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs" && [ "${f:-0}" -eq 0 ]; then
		unit_failed=$((unit_failed + 1))
	fi
done
if [ "$unit_status" -ne 0 ] && [ "$unit_failed" -eq 0 ]; then
	unit_failed=1 # the unit tests did not even build or run
fi

# ------------------------------------------------------------------ integration tests
suites=()
# shellcheck disable=SC2086 # HUSK_TEST_SUITES is split on purpose
for dir in ${HUSK_TEST_SUITES:-tests/integration oci-spec-tests tests/engines}; do
	[ -d "$src/$dir" ] && suites+=("$src/$dir")
done

py_passed=0
py_failed=0
# One pytest process per suite: each keeps its own process-wide state (oci-spec-tests makes
# its process a child subreaper, the engines start daemons) away from the others.
export HUSK="$build/husk" PROBE="$build/tests/probe/probe"
for suite in "${suites[@]}"; do
	name=$(basename "$suite")
	step "pytest $suite"
	pytest_status=0
	# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
	(cd "$src" && "$python" -m pytest -v -p no:cacheprovider ${PYTEST_ARGS:-} "$suite") \
		2>&1 | tee "$log_dir/pytest-$name.out" || pytest_status=$?
	summary=$(grep -E '^=+ .*( in [0-9.]+s).* =+$' "$log_dir/pytest-$name.out" | tail -n1 || true)
	count() {
		echo "$summary" | grep -oE "[0-9]+ $1" | grep -oE '^[0-9]+' || echo 0
	}
	suite_failed=$(($(count failed) + $(count 'errors?')))
	# pytest exit 5 = nothing collected; anything else non-zero without counted failures
	# (an internal error, a crash in collection) is a failure too.
	if [ "$pytest_status" -ne 0 ] && [ "$pytest_status" -ne 5 ] && [ "$suite_failed" -eq 0 ]; then
		suite_failed=1
	fi
	py_passed=$((py_passed + $(count passed)))
	py_failed=$((py_failed + suite_failed))
done

# ------------------------------------------------------------------ cgroup v2 in a VM
# tests/vm/check.sh boots a pure cgroup v2 kernel under qemu and runs the cgroup tests
# there; it prints a SKIP line and counts 0 tests when the VM cannot run on this machine.
vm_passed=0
vm_failed=0
if [ "${HUSK_SKIP_VM:-0}" != 1 ]; then
	step "cgroup v2 tests in a VM (tests/vm/check.sh)"
	HUSK="$build/husk" PROBE="$build/tests/probe/probe" \
		TEST_CGROUP="$build/tests/unit/test-cgroup" \
		bash "$src/tests/vm/check.sh" 2>&1 | tee "$log_dir/vm.out" || true
	vm_summary=$(tail -n1 "$log_dir/vm.out")
	if [[ $vm_summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		vm_passed=${BASH_REMATCH[1]}
		vm_failed=${BASH_REMATCH[2]}
	else
		vm_failed=1
	fi
fi

# ------------------------------------------------------------------ fuzzing, sanitizers
# Both scripts end with "N passed, N failed": one test per fuzz target; the sanitizer run's
# unit tests and pytest tests, plus one failure per sanitizer report.
counts_of() { # FILE -> "PASSED FAILED" from its last line; "0 1" when it has none
	if [[ $(tail -n1 "$1") =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	else
		echo "0 1"
	fi
}
fuzz_passed=0
fuzz_failed=0
if [ "${HUSK_SKIP_FUZZ:-0}" != 1 ]; then
	step "fuzz targets (tests/fuzz/run-fuzz.sh, ${FUZZ_SECONDS:-60}s)"
	HUSK_BUILD_DIR=$build FUZZ_SECONDS=${FUZZ_SECONDS:-60} \
		bash "$src/tests/fuzz/run-fuzz.sh" 2>&1 | tee "$log_dir/fuzz.out" || true
	read -r fuzz_passed fuzz_failed < <(counts_of "$log_dir/fuzz.out")
fi
san_passed=0
san_failed=0
if [ "${HUSK_SKIP_SANITIZE:-0}" != 1 ]; then
	step "ASan/UBSan build: unit and integration tests (tests/sanitize.sh)"
	SANITIZE_BUILD_DIR=${SANITIZE_BUILD_DIR:-$log_dir/sanitize} \
		SANITIZE_SUITES=${SANITIZE_SUITES:-tests/integration oci-spec-tests} \
		bash "$src/tests/sanitize.sh" 2>&1 | tee "$log_dir/sanitize.out" || true
	read -r san_passed san_failed < <(counts_of "$log_dir/sanitize.out")
fi

passed=$((unit_passed + py_passed + vm_passed + fuzz_passed + san_passed))
failed=$((unit_failed + py_failed + vm_failed + fuzz_failed + san_failed))
echo "unit: $unit_passed passed, $unit_failed failed; pytest: $py_passed passed, $py_failed failed;" \
	"vm: $vm_passed passed, $vm_failed failed; fuzz: $fuzz_passed passed, $fuzz_failed failed;" \
	"sanitize: $san_passed passed, $san_failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
