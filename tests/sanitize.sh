#!/usr/bin/env bash
# Builds husk with AddressSanitizer + UndefinedBehaviorSanitizer in a second build dir and
# runs the unit tests (make check) and the pytest suites against that build, through
# tests/run-tests.sh (same counting, same final line).
#
# The probe runs inside containers and is linked -static, which the sanitizer runtimes do
# not support: it is built first, without sanitizers, and make check then finds it
# up to date.
#
# Sanitizer reports go to stderr, where the failing test shows them. (Not to log_path
# files: a process that cannot open its log file, a container's init in its own mount
# namespace or a seccomp-filtered test child, spins forever in the sanitizer runtime.)
# Reports that appear in the output are listed again at the end and count as failures.
#
# The last line of output is "N passed, N failed".
#
# Environment:
#   SANITIZE_BUILD_DIR=DIR   where to build (default /tmp/husk-sanitize); reused if present
#   SANITIZE_CC=clang        the compiler (clang or gcc)
#   SANITIZE_UNIT_TIMEOUT=120 seconds each unit test program may take
#   SANITIZE_SUITES="..."    the pytest suites (default: run-tests.sh's, all of them;
#                            run-tests.sh passes "tests/integration oci-spec-tests")
#   SANITIZE_PYTEST_ARGS=... extra pytest arguments (e.g. "-k lifecycle")
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
dir=${SANITIZE_BUILD_DIR:-/tmp/husk-sanitize}
cc=${SANITIZE_CC:-clang}
command -v "$cc" >/dev/null || cc=gcc
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"

fail_early() {
	echo "sanitize.sh: $*"
	echo "0 passed, 1 failed"
	exit 1
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# A source dir configured in place cannot host a second (VPATH) build: configure refuses,
# and make would take the in-tree objects for ours. Build from a clean copy then.
tree=$src
if [ -f "$src/config.status" ]; then
	tree=$dir/src
	echo "==> $src is configured in place: copying it to $tree"
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -C "$src" --exclude=./.git --exclude=./tests/vm/cache --exclude=./tests/fixtures/cache \
		--exclude=__pycache__ --exclude=.pytest_cache -cf - . | tar -C "$tree" -xf -
	make -C "$tree" -s distclean >/dev/null 2>&1 || fail_early "make distclean in the copy failed"
fi

build=$dir/build
mkdir -p "$build"
echo "==> configure (in $build) CC=$cc CFLAGS=$san"
(cd "$build" && CC=$cc CFLAGS=$san LDFLAGS=$san "$tree/configure" -q) ||
	fail_early "configure failed"
echo "==> the probe, without sanitizers"
make -C "$build" -s CFLAGS="-g -O2" LDFLAGS= tests/probe/probe || fail_early "probe build failed"

# abort_on_error: a report kills the process by SIGABRT, which no test mistakes for an
# ordinary exit status.
# fast_unwind_on_malloc=0: glibc has no frame pointers, and a leak found through
# vasprintf would otherwise show no caller.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# A sanitizer that dies where its own syscalls are refused (a unit test's seccomp allow
# list without sigaltstack, mmap or futex) can spin forever: a time limit per unit test
# program turns that into a failure. automake's harness takes LOG_COMPILER from the
# environment; timeout kills the program's whole process group.
export LOG_COMPILER="timeout -k 10 ${SANITIZE_UNIT_TIMEOUT:-120}"

# run-tests.sh's verdict is its last line, read below; its exit status adds nothing.
HUSK_SKIP_DEPS=1 HUSK_SKIP_AUTOGEN=1 HUSK_SKIP_VM=1 HUSK_SKIP_FUZZ=1 HUSK_SKIP_SANITIZE=1 \
	HUSK_BUILD_DIR=$build CC=$cc CFLAGS=$san LDFLAGS=$san \
	HUSK_TEST_SUITES=${SANITIZE_SUITES:-} PYTEST_ARGS=${SANITIZE_PYTEST_ARGS:-} \
	bash "$tree/tests/run-tests.sh" 2>&1 | tee "$dir/run-tests.out" || true

summary=$(tail -n1 "$dir/run-tests.out")
if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
	passed=${BASH_REMATCH[1]}
	failed=${BASH_REMATCH[2]}
else
	passed=0
	failed=1
fi

# husk re-executes itself from a sealed memfd (create, run, exec); the symbolizer cannot
# open "/memfd:husk (deleted)", so those frames carry only an offset. Resolve them against
# the binary the memfd was copied from.
symbolize_memfd_frames() {
	local offsets off
	# In order of first appearance, so that a report's frames stay in stack order.
	offsets=$(grep -oE '/memfd:husk \(deleted\)\+0x[0-9a-f]+' "$dir/run-tests.out" |
		sed 's/.*+//' | awk '!seen[$0]++')
	[ -n "$offsets" ] || return 0
	echo "==> frames in the sealed copy of husk (/memfd:husk+offset), from $build/husk:"
	for off in $offsets; do
		echo "  $off: $(addr2line -f -i -C -p -e "$build/husk" "$off" 2>/dev/null | paste -sd' ')"
	done
}

# Each report's first line, with its line number in the output above where the whole
# report (stack, shadow bytes) is.
reports=$(grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|Sanitizer: CHECK failed' \
	"$dir/run-tests.out" || true)
if [ -n "$reports" ]; then
	nreports=$(echo "$reports" | wc -l)
	echo "==> $nreports sanitizer report(s) in the output (line: report):"
	echo "$reports"
	failed=$((failed + nreports))
	symbolize_memfd_frames
else
	echo "==> no sanitizer reports in the output"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
