#!/usr/bin/env bash
# Runs husk's systemd cgroup driver tests in the test VM booted with systemd as PID 1;
# meant to run inside it:
#
#   HUSK=build/husk HUSK_VM_SYSTEMD=1 tests/vm/run.sh tests/vm/run-systemd-tests.sh [TEST]...
#
# First it checks the guest: PID 1 is systemd, /sys/fs/cgroup is a cgroup2 mount, systemd
# answers on its private socket (/run/systemd/private, what systemctl uses as root) and
# on the system bus (/run/dbus/system_bus_socket, through dbus-daemon).  Then
# python3 -m pytest tests/integration/test_cgroup_systemd.py (PYTEST_ARGS are added), or
# the TEST files or directories given instead.
#
# The last line is "N passed, N failed" (pytest errors count as failed, xfailed and skipped
# count as neither; a broken guest or a missing test file is one failure).  Exit status 0
# when nothing failed.
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src" || exit 1
python=/usr/bin/python3
tests=("$@")
[ $# -gt 0 ] || tests=(tests/integration/test_cgroup_systemd.py)
log=$(mktemp -d /tmp/husk-vm-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

fail() {
	echo "run-systemd-tests.sh: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

check_guest() {
	local comm state
	read -r comm </proc/1/comm || comm=
	[ "$comm" = systemd ] ||
		fail "PID 1 is \"$comm\", not systemd: run me through HUSK_VM_SYSTEMD=1 tests/vm/run.sh"
	grep -qs ' /sys/fs/cgroup cgroup2 ' /proc/self/mounts ||
		fail "/sys/fs/cgroup is not a cgroup2 mount"
	# --wait: the command may start a moment before systemd's start-up is over.
	state=$(timeout 60 systemctl is-system-running --wait 2>&1)
	[ "$state" = running ] ||
		fail "systemd is not running on its private socket: systemctl is-system-running says \"$state\""
	timeout 60 busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
		org.freedesktop.systemd1.Manager GetUnit s init.scope >"$log/busctl.out" 2>&1 ||
		fail "systemd does not answer on the system bus: $(cat "$log/busctl.out")"
	echo "==> PID 1 is systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')," \
		"state $state, answering on /run/systemd/private and the system bus"
}

py_passed=0
py_failed=0

run_pytest() {
	local status=0 summary
	echo "==> pytest ${tests[*]}"
	# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
	"$python" -m pytest -v -p no:cacheprovider ${PYTEST_ARGS:-} "${tests[@]}" 2>&1 |
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
}

check_guest
for test in "${tests[@]}"; do
	[ -e "$test" ] || fail "$test does not exist (yet): no systemd driver tests to run"
done
run_pytest
echo "vm systemd pytest: $py_passed passed, $py_failed failed"
echo "$py_passed passed, $py_failed failed"
[ "$py_failed" -eq 0 ]
