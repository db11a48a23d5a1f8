#!/usr/bin/env bash
# bench/run.sh — husk against crun and runc, side by side in the same run.
#
# Usage (as root): bench/run.sh
# Environment:
#   HUSK=PATH     benchmark this husk binary instead of building one
#   RUNS=100      timed runs per runtime for run, create+start+delete, state and exec
#   ROUNDS=10     those runs are split in ROUNDS rounds with the order rotated each round
#   WARMUP=3      untimed runs per runtime per round
#   LOOP_N=100    containers per sample of the sequential-runs benchmark
#   LOOP_ROUNDS=5 samples of that benchmark per runtime
#   RSS_RUNS=10   GNU time samples per runtime and operation
#   STATE_FS=tmpfs  the runtimes' state dirs (--root) on a private tmpfs, like /run on most
#                 hosts; STATE_FS=disk leaves them on the filesystem of /tmp
#   OUT=DIR       where latest.md and latest.png go (default bench/results)
#
# Writes OUT/latest.md (the table, also printed), OUT/latest.png (the chart) and
# OUT/raw/ (hyperfine JSON and text, RSS samples, memory limits, binary facts).
# Leaves nothing else behind: the scratch dir, containers and cgroups are removed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
export RUNS=${RUNS:-100} ROUNDS=${ROUNDS:-10} WARMUP=${WARMUP:-3}
export STATE_FS=${STATE_FS:-tmpfs} LOOP_N=${LOOP_N:-100} LOOP_ROUNDS=${LOOP_ROUNDS:-5} RSS_RUNS=${RSS_RUNS:-10}
OUT=${OUT:-$here/results}

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"
((RUNS % ROUNDS == 0)) || die "RUNS ($RUNS) must be a multiple of ROUNDS ($ROUNDS)"

install_missing() {
	local -A need=([crun]=crun [runc]=runc [hyperfine]=hyperfine [gnuplot]=gnuplot-nox
		[/usr/bin/time]=time [jq]=jq [busybox]=busybox-static [unshare]=util-linux
		[python3]=python3)
	local cmd missing=()
	for cmd in "${!need[@]}"; do
		command -v "$cmd" >/dev/null || missing+=("${need[$cmd]}")
	done
	# mkrootfs.sh needs the static busybox, which the dynamic package does not give.
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
		missing+=(busybox-static)
	((${#missing[@]} == 0)) && return 0
	echo "bench: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -qq update
	apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
}

WORK=$(mktemp -d /tmp/husk-bench.XXXXXX)
export WORK
export CGPARENT=husk-bench-$$

# Containers are removed by measure.sh; what is left here is the scratch dir and the
# cgroup parent the runtimes created on our behalf (none of them removes a parent).
cleanup() {
	local d
	for d in /sys/fs/cgroup/*/"$CGPARENT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

build_husk() {
	if [ -n "${HUSK:-}" ]; then
		[ -x "$HUSK" ] || die "HUSK=$HUSK is not an executable"
		HUSK=$(realpath "$HUSK")
		return
	fi
	echo "bench: building husk in $WORK/build" >&2
	mkdir -p "$WORK/build"
	(cd "$WORK/build" && "$src/configure" -q && make -s -j"$(nproc)" husk) >"$WORK/build.log" 2>&1 ||
		{
			tail -n 30 "$WORK/build.log" >&2
			die "building husk failed"
		}
	HUSK=$WORK/build/husk
}

# config.json from `husk spec`, edited alike for every runtime: no terminal, a read-only
# root, and ociVersion 1.0.2 because crun 1.8.1 refuses to parse 1.3.0. Every container
# lives under one cgroup parent of ours ($CGPARENT), so that no runtime creates cgroups
# below the caller's own cgroup (runc's default for a relative path).
make_bundle() { # DIR CGROUP ARGS_JSON
	mkdir -p "$1"
	jq --arg root "$WORK/rootfs" --arg cg "/$CGPARENT/$2" --argjson args "$3" '
		.ociVersion = "1.0.2"
		| .process.terminal = false
		| .process.args = $args
		| .root = {path: $root, readonly: true}
		| .linux.cgroupsPath = $cg' "$WORK/spec/config.json" >"$1/config.json"
}

make_bundles() {
	bash "$src/tests/fixtures/mkrootfs.sh" "$WORK/rootfs"
	mkdir -p "$WORK/spec"
	"$HUSK" spec --bundle "$WORK/spec"
	make_bundle "$WORK/b-true" true '["/bin/true"]'
	local rt
	for rt in husk crun runc; do
		make_bundle "$WORK/b-sleep-$rt" "sleep-$rt" '["/bin/sleep","86400"]'
	done
}

binary_facts() { # lines "RUNTIME bytes text data bss libs"
	local rt b
	for rt in husk crun runc; do
		case $rt in
		husk) b=$HUSK ;;
		*) b=$(command -v "$rt") ;;
		esac
		# shellcheck disable=SC2046
		echo "$rt $(stat -c %s "$b") $(size "$b" | awk 'NR == 2 {print $1, $2, $3}') $(ldd "$b" | wc -l)"
	done >"$RAW/binaries.txt"
}

machine_facts() {
	{
		echo "cpus $(nproc)"
		echo "cpu $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
		echo "kernel $(uname -r)"
		echo "memory $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
		echo "cgroups hybrid: v1 controllers, cgroup2 at /sys/fs/cgroup/unified (unmounted for the run)"
		echo "husk $("$HUSK" --version | head -n1)"
		echo "crun $(crun --version | head -n1)"
		echo "runc $(runc --version | head -n1)"
		echo "hyperfine $(hyperfine --version)"
		echo "state dirs on $STATE_FS"
		echo "load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "date $(date -u +%Y-%m-%dT%H:%MZ)"
	} >"$RAW/machine.txt"
}

install_missing
build_husk
export HUSK CRUN=$(command -v crun) RUNC=$(command -v runc)
RAW=$OUT/raw
rm -rf "$RAW"
mkdir -p "$RAW"
export RAW
make_bundles
binary_facts
machine_facts

# crun 1.8.1 will not run on a hybrid host; without the cgroup2 mount it sees a plain v1
# host. Every runtime runs in this same namespace, so the comparison stays fair.
unshare --mount --propagation private sh -c \
	'umount /sys/fs/cgroup/unified 2>/dev/null || umount -l /sys/fs/cgroup/unified; exec "$0"' \
	"$here/measure.sh"

echo "load average at end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/machine.txt"
python3 "$here/report.py" "$RAW" "$OUT/latest.md" "$OUT/latest.dat"
gnuplot -e "datafile='$OUT/latest.dat'; outfile='$OUT/latest.png'; loopn='$LOOP_N'" "$here/chart.gp"
cat "$OUT/latest.md"
