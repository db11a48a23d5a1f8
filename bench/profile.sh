#!/usr/bin/env bash
# bench/profile.sh — where the time of a `husk run` goes.
#
# Usage (as root): HUSK=/path/to/husk bench/profile.sh   (HUSK defaults to a fresh build)
#   TRACES=20  traced runs for the phase table
#   OUT=DIR    default bench/results/profile
#
# Same bundle, cgroup v1 view and tmpfs state dir as run.sh. Writes to OUT:
#   phases.md        median time of each phase of `husk run` (phases.py over TRACES
#                    runs traced with strace --seccomp-bpf, marker syscalls only)
#   strace-c.txt     syscall counts and times (strace -c -f)
#   strace-r.txt     one full trace with relative timestamps (strace -r -f -T)
#   perf-stat.txt    perf stat -r 20 of `husk run` (software counters; this VM has no PMU)
#   callgrind-state.txt, callgrind-run.txt   instruction profiles (callgrind_annotate)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
OUT=${OUT:-$here/results/profile}
TRACES=${TRACES:-20}
WORK=$(mktemp -d /tmp/husk-profile.XXXXXX)
CGPARENT=husk-profile-$$
export WORK CGPARENT TRACES OUT

cleanup() {
	local d
	for d in /sys/fs/cgroup/*/"$CGPARENT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

for tool in strace valgrind perf jq; do
	command -v "$tool" >/dev/null || {
		echo "profile: installing $tool" >&2
		DEBIAN_FRONTEND=noninteractive apt-get -qq install -y "$([ "$tool" = perf ] && echo linux-perf || echo "$tool")" >/dev/null
	}
done

if [ -z "${HUSK:-}" ]; then
	mkdir -p "$WORK/build"
	(cd "$WORK/build" && "$src/configure" -q && make -s -j"$(nproc)" husk) >"$WORK/build.log" 2>&1
	HUSK=$WORK/build/husk
fi
HUSK=$(realpath "$HUSK")
export HUSK

bash "$src/tests/fixtures/mkrootfs.sh" "$WORK/rootfs"
mkdir -p "$WORK/spec" "$WORK/b" "$WORK/state" "$OUT"
"$HUSK" spec --bundle "$WORK/spec"
jq --arg root "$WORK/rootfs" --arg cg "/$CGPARENT/x" '
	.ociVersion = "1.0.2" | .process.terminal = false | .process.args = ["/bin/true"]
	| .root = {path: $root, readonly: true} | .linux.cgroupsPath = $cg' \
	"$WORK/spec/config.json" >"$WORK/b/config.json"

# shellcheck disable=SC2016
unshare --mount --propagation private bash -c '
set -euo pipefail
umount /sys/fs/cgroup/unified
mount -t tmpfs -o mode=0700 husk-profile-state "$WORK/state"
run() { "$HUSK" --root "$WORK/state" run --bundle "$WORK/b" "$1" </dev/null; }

for i in $(seq 1 "$TRACES"); do
	strace --seccomp-bpf -f -ttt -o "$WORK/ph-$i.txt" \
		-e trace=execve,execveat,clone3,unshare,pivot_root,exit_group,mkdir,sendmsg,sethostname \
		"$HUSK" --root "$WORK/state" run --bundle "$WORK/b" ph </dev/null
done
python3 '"$here"'/phases.py "$WORK"/ph-*.txt >"$OUT/phases.md"

strace -c -f -o "$OUT/strace-c.txt" "$HUSK" --root "$WORK/state" run --bundle "$WORK/b" sc </dev/null
strace -r -f -T -o "$OUT/strace-r.txt" "$HUSK" --root "$WORK/state" run --bundle "$WORK/b" sr </dev/null

if perf stat -e task-clock true >/dev/null 2>&1; then
	perf stat -r 20 -e task-clock,context-switches,cpu-migrations,page-faults \
		-o "$OUT/perf-stat.txt" "$HUSK" --root "$WORK/state" run --bundle "$WORK/b" pf </dev/null
fi

"$HUSK" --root "$WORK/state" run --detach --bundle "$WORK/b" cgs </dev/null >/dev/null 2>&1 || true
# a stopped container is enough for state: it reads the state dir and checks the pid
valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.state" \
	"$HUSK" --root "$WORK/state" state cgs >/dev/null 2>"$WORK/cg.state.err" || true
{ callgrind_annotate --inclusive=yes "$WORK/cg.state" 2>/dev/null || true; } | head -n 60 >"$OUT/callgrind-state.txt" || true
"$HUSK" --root "$WORK/state" delete --force cgs
# The parent side only: run re-executes itself from a sealed memfd, which valgrind cannot
# follow (fexecve of a memfd fails under it); what is recorded is what it gets to do.
valgrind --tool=callgrind --trace-children=no --callgrind-out-file="$WORK/cg.run" \
	"$HUSK" --root "$WORK/state" run --bundle "$WORK/b" cgr </dev/null 2>"$WORK/cg.run.err" || true
{
	grep -v "^==" "$WORK/cg.run.err" || true
	{ callgrind_annotate --inclusive=yes "$WORK/cg.run" 2>/dev/null || true; } | head -n 60 || true
} >"$OUT/callgrind-run.txt"
"$HUSK" --root "$WORK/state" delete --force cgr >/dev/null 2>&1 || true
'
echo "profile: results in $OUT" >&2
cat "$OUT/phases.md"
