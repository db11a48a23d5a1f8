#!/usr/bin/env bash
# tests/vm/run.sh CMD [ARG]...
#
# Boots Debian's generic kernel under qemu (software emulation) with a pure cgroup v2
# hierarchy and runs CMD there as root, with the repository as working directory; prints
# CMD's stdout and stderr and exits with its status.  The guest sees the host's whole tree
# read-only under a tmpfs overlay (so every host binary and library works), has its own
# tmpfs /tmp, and a 64 MiB virtio disk at $HUSK_VM_DISK (/dev/vda) for io.max and device
# tests.  With HUSK_VM_SYSTEMD=1 the guest boots systemd as PID 1 and CMD runs as a systemd
# service (systemctl, systemd-run and the system bus work).  See tests/vm/README.md.
#
# Environment (all optional):
#   HUSK, PROBE, TEST_CGROUP  passed to CMD, made absolute; a build dir that the guest
#                     could not see (under /tmp or /run) is shared read-write
#   PYTEST_ARGS       passed to CMD
#   HUSK_VM_ENV       names of more variables to pass, space-separated
#   HUSK_VM_SHARE     more host directories to share read-write, colon-separated
#   HUSK_VM_TIMEOUT   watchdog for the whole VM in seconds (default 1200)
#   HUSK_VM_MEMORY    guest memory in MiB (default 512)
#   HUSK_VM_CPUS      guest CPUs (default 2)
#   HUSK_VM_KEEP=1    keep the run directory (console log, qemu log) for a post-mortem
#   HUSK_VM_SYSTEMD=1 boot systemd as PID 1 and run CMD as its service husk-vm.service
#
# Exit status: CMD's; 124 when the watchdog ended the VM; 77 when the VM cannot run here
# (no qemu, no kernel package; a "SKIP:" line says why); 125 any other harness failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
limit=${HUSK_VM_TIMEOUT:-1200}
memory=${HUSK_VM_MEMORY:-512}
cpus=${HUSK_VM_CPUS:-2}

harness_error() {
	echo "husk VM: $*" >&2
	exit 125
}

if [ $# -eq 0 ]; then
	echo "usage: tests/vm/run.sh CMD [ARG]..." >&2
	exit 125
fi
if ! [[ $limit =~ ^[0-9]+$ ]] || [ "$limit" -lt 60 ]; then
	harness_error "HUSK_VM_TIMEOUT must be a number of seconds, at least 60"
fi
if ! [[ $memory =~ ^[0-9]+$ ]] || [ "$memory" -lt 256 ]; then
	harness_error "HUSK_VM_MEMORY must be a number of MiB, at least 256"
fi
[[ $cpus =~ ^[1-9][0-9]*$ ]] || harness_error "HUSK_VM_CPUS must be a positive number"
case "${HUSK_VM_SYSTEMD:-0}" in
0 | '') systemd=0 ;;
1) systemd=1 ;;
*) harness_error "HUSK_VM_SYSTEMD must be 0 or 1" ;;
esac
if [ "$systemd" = 1 ] && [ ! -x /lib/systemd/systemd ]; then
	echo "SKIP: husk VM: HUSK_VM_SYSTEMD=1 needs systemd (/lib/systemd/systemd) on the host" >&2
	exit 77
fi
[ "$(id -u)" -eq 0 ] || harness_error "must run as root (the guest's tree is the host's /, read by qemu)"

prepared=$(bash "$here/prepare.sh") || {
	status=$?
	[ "$status" -eq 77 ] && exit 77
	harness_error "cannot prepare the kernel and initramfs"
}
kernel=$(sed -n 1p <<<"$prepared")
initramfs=$(sed -n 2p <<<"$prepared")

run=$(mktemp -d /tmp/husk-vm.XXXXXX)
qemu_pid=
readers=()

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	release_readers
	if [ "${HUSK_VM_KEEP:-0}" = 1 ]; then
		echo "husk VM: kept $run" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A reader still blocked in open() (qemu never opened its end) gets a writer for an
# instant, so that it sees end-of-file; one that already has its data ends by itself.
release_readers() {
	local fifo pid
	for fifo in "$run/stdout.out" "$run/stderr.out"; do
		[ -p "$fifo" ] || continue
		exec {fd}<>"$fifo"
		exec {fd}>&-
	done
	for pid in "${readers[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	readers=()
}

absolute() {
	case "$1" in
	/*) echo "$1" ;;
	*) echo "$PWD/$1" ;;
	esac
}

# Paths under these are the guest's own tmpfs: a host directory there must be shared.
hidden_in_guest() {
	case "$1" in
	/tmp/* | /run/* | /dev/shm/*) return 0 ;;
	esac
	return 1
}

# The build dir holding $1 (the nearest ancestor with config.status), else its directory.
build_dir_of() {
	local dir
	dir=$(dirname "$1")
	while [ "$dir" != / ]; do
		[ -f "$dir/config.status" ] && { echo "$dir"; return; }
		dir=$(dirname "$dir")
	done
	dirname "$1"
}

write_env() {
	local var value names
	names="HUSK PROBE TEST_CGROUP PYTEST_ARGS ${HUSK_VM_ENV:-}"
	{
		for var in $names; do
			[ -n "${!var+set}" ] || continue
			value=${!var}
			case "$var" in
			HUSK | PROBE | TEST_CGROUP) value=$(absolute "$value") ;;
			esac
			printf 'export %s=%q\n' "$var" "$value"
		done
		printf 'export HUSK_VM=1 HUSK_VM_DISK=/dev/vda HUSK_VM_CWD=%q HUSK_VM_TIMEOUT=%q\n' \
			"$repo" "$((limit - 30))"
	} >"$run/env"
}

# "TAG PATH" lines for every directory shared read-write besides the run directory: the
# ones asked for, and build dirs and a repository the guest could not see otherwise.
write_shares() {
	local want=() path dir n=0 chosen=()
	IFS=: read -r -a want <<<"${HUSK_VM_SHARE:-}"
	for var in HUSK PROBE TEST_CGROUP; do
		[ -n "${!var:-}" ] || continue
		path=$(absolute "${!var}")
		hidden_in_guest "$path" && want+=("$(build_dir_of "$path")")
	done
	hidden_in_guest "$repo/" && want+=("$repo")
	# Shortest first, so that a directory inside one already shared is skipped.
	while read -r dir; do
		[ -n "$dir" ] || continue
		[ -d "$dir" ] || harness_error "cannot share $dir: not a directory"
		case "$dir" in
		/tmp | /run | /dev/shm)
			harness_error "will not share all of $dir (it is the guest's own tmpfs):" \
				"put the binaries in a directory below it" ;;
		esac
		for path in "${chosen[@]}"; do
			case "$dir/" in "$path"/*) continue 2 ;; esac
		done
		chosen+=("$dir")
	done < <(for dir in "${want[@]}"; do
		[ -n "$dir" ] && (cd "$dir" 2>/dev/null && pwd -P || echo "$dir")
	done | awk '{ print length($0) " " $0 }' | sort -n -s | cut -d' ' -f2- | uniq)
	: >"$run/shares"
	for dir in "${chosen[@]}"; do
		case "$dir" in *[[:space:],]*) harness_error "cannot share \"$dir\": whitespace or comma in the path" ;; esac
		echo "share$n $dir" >>"$run/shares"
		n=$((n + 1))
	done
}

qemu_share_args() {
	local tag dir
	while read -r tag dir; do
		printf '%s\n' -fsdev "local,id=$tag,path=$dir,security_model=none,multidevs=remap" \
			-device "virtio-9p-pci,fsdev=$tag,mount_tag=$tag"
	done <"$run/shares"
}

start_readers() {
	local stream
	for stream in stdout stderr; do
		mkfifo "$run/$stream.in" "$run/$stream.out"
	done
	cat "$run/stdout.out" &
	readers+=($!)
	cat "$run/stderr.out" >&2 &
	readers+=($!)
}

boot() {
	local append share_args
	append="console=ttyS0 loglevel=4 quiet panic=-1 mitigations=off cgroup_no_v1=all"
	append+=" husk_run=$run"
	if [ "$systemd" = 1 ]; then
		# systemd's own messages stay off the console unless something fails (quiet).
		append+=" husk_guest=$here/systemd-guest.sh husk_systemd=1 systemd.hostname=husk-vm"
	else
		append+=" husk_guest=$here/guest.sh"
	fi
	mapfile -t share_args < <(qemu_share_args)
	timeout -k 10 "$limit" qemu-system-x86_64 \
		-nodefaults -no-user-config -display none -monitor none -nic none -no-reboot \
		-machine pc -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$memory" \
		-kernel "$kernel" -initrd "$initramfs" -append "$append" \
		-serial "file:$run/console.log" \
		-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap" \
		-device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot" \
		-fsdev "local,id=run,path=$run,security_model=none" \
		-device "virtio-9p-pci,fsdev=run,mount_tag=run" \
		"${share_args[@]}" \
		-drive "file=$run/disk.img,format=raw,if=virtio,cache=unsafe" \
		-device virtio-serial-pci \
		-chardev "pipe,id=stdout,path=$run/stdout" \
		-device "virtserialport,chardev=stdout,name=husk.stdout" \
		-chardev "pipe,id=stderr,path=$run/stderr" \
		-device "virtserialport,chardev=stderr,name=husk.stderr" \
		</dev/null >"$run/qemu.log" 2>&1 &
	qemu_pid=$!
}

explain_failure() {
	echo "husk VM: $1; the end of the console log:" >&2
	tail -n 30 "$run/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /' >&2
	if [ -s "$run/qemu.log" ]; then
		echo "husk VM: qemu said:" >&2
		sed 's/^/  | /' "$run/qemu.log" >&2
	fi
}

main() {
	local qemu_status=0 status
	case "$here/systemd-guest.sh $run" in
	*[[:space:]]*[[:space:]]*) harness_error "the repository path must not contain whitespace" ;;
	esac
	printf 'exec' >"$run/cmd"
	printf ' %q' "$@" >>"$run/cmd"
	echo >>"$run/cmd"
	write_env
	write_shares
	truncate -s 64M "$run/disk.img"
	start_readers
	boot
	wait "$qemu_pid" || qemu_status=$?
	qemu_pid=
	release_readers
	if [ -f "$run/status" ]; then
		status=$(cat "$run/status")
		[[ $status =~ ^[0-9]+$ ]] || harness_error "bad status file: $status"
		[ "$status" -ne 124 ] || echo "husk VM: the command timed out in the guest" >&2
		exit "$status"
	fi
	if [ "$qemu_status" -eq 124 ] || [ "$qemu_status" -eq 137 ]; then
		explain_failure "the watchdog stopped the VM after $limit s"
		exit 124
	fi
	explain_failure "the VM ended without an exit status (qemu exit status $qemu_status)"
	exit 125
}

main "$@"
