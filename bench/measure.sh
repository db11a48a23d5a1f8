#!/usr/bin/env bash
# measure.sh — the measurements themselves; bench/run.sh calls it inside a private mount
# namespace where /sys/fs/cgroup/unified is unmounted (crun 1.8.1 refuses hybrid hosts).
#
# Environment (set by run.sh): HUSK CRUN RUNC (binaries), WORK (scratch dir holding
# rootfs/ and the bundles), RAW (where the raw results go), RUNS, ROUNDS, WARMUP,
# LOOP_N, LOOP_ROUNDS, RSS_RUNS, CGPARENT (the cgroup parent every container uses),
# STATE_FS (tmpfs or disk: where the runtimes' --root dirs live).
#
# Every timed benchmark runs the runtimes in ROUNDS rounds of one hyperfine invocation
# each, rotating their order every round: hyperfine times its commands one after the
# other, so rounds are what makes them alternate and share any drift of the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
names=(husk crun runc)
declare -A bin=([husk]=$HUSK [crun]=$CRUN [runc]=$RUNC)

root_of() { echo "$WORK/state/$1"; }

log() { echo "bench: $*" >&2; }

# The containers this script may have left, by runtime and id; removed on any exit.
cleanup() {
	local rt id
	for rt in "${names[@]}"; do
		for id in true-"$rt" cyc-"$rt" sleep-"$rt" mem-"$rt"; do
			"${bin[$rt]}" --root "$(root_of "$rt")" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	# crun still creates its cgroup2 directories (O_CREAT on cgroup.procs included) under the
	# now plain tmpfs directory /sys/fs/cgroup/unified, hidden on the host by the real mount.
	local u=/sys/fs/cgroup/unified
	if [ "$(stat -f -c %T "$u")" = tmpfs ] && [ -d "$u/$CGPARENT" ]; then
		rm -rf "${u:?}/$CGPARENT"
	fi
}
trap cleanup EXIT

# rotate N ITEMS...: ITEMS rotated left by N.
rotate() {
	local n=$1
	shift
	local a=("$@") i
	for ((i = 0; i < ${#a[@]}; i++)); do
		printf '%s\n' "${a[(i + n) % ${#a[@]}]}"
	done
}

# bench_rounds NAME RUNS_PER_ROUND ROUNDS WARMUP LABEL=COMMAND...
# One hyperfine per round; raw JSON in $RAW/NAME-ROUND.json.
bench_rounds() {
	local name=$1 runs=$2 rounds=$3 warmup=$4
	shift 4
	local -a specs=("$@") args
	local r spec
	for ((r = 0; r < rounds; r++)); do
		args=()
		while IFS= read -r spec; do
			args+=(-n "${spec%%=*}" "${spec#*=}")
		done < <(rotate "$r" "${specs[@]}")
		hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
			--export-json "$RAW/$name-$r.json" "${args[@]}" >"$RAW/$name-$r.txt" 2>&1
	done
	log "$name done"
}

check_runtimes_work() {
	local rt
	for rt in "${names[@]}"; do
		"${bin[$rt]}" --root "$(root_of "$rt")" run --bundle "$WORK/b-true" true-"$rt" \
			</dev/null || {
			log "$rt cannot run the benchmark bundle here"
			exit 1
		}
	done
}

bench_run() {
	local specs=() rt
	for rt in "${names[@]}"; do
		specs+=("$rt=${bin[$rt]} --root $(root_of "$rt") run --bundle $WORK/b-true true-$rt")
	done
	specs+=("floor=unshare --pid --fork --mount --uts --ipc --net --cgroup chroot $WORK/rootfs /bin/true")
	bench_rounds run "$((RUNS / ROUNDS))" "$ROUNDS" "$WARMUP" "${specs[@]}"
}

bench_cycle() {
	local specs=() rt
	for rt in "${names[@]}"; do
		specs+=("$rt=$here/lib/cycle.sh ${bin[$rt]} $(root_of "$rt") $WORK/b-true cyc-$rt")
	done
	bench_rounds cycle "$((RUNS / ROUNDS))" "$ROUNDS" "$WARMUP" "${specs[@]}"
}

start_sleepers() {
	local rt
	for rt in "${names[@]}"; do
		"${bin[$rt]}" --root "$(root_of "$rt")" run --detach --bundle "$WORK/b-sleep-$rt" \
			sleep-"$rt" </dev/null >/dev/null 2>&1
	done
}

stop_sleepers() {
	local rt
	for rt in "${names[@]}"; do
		"${bin[$rt]}" --root "$(root_of "$rt")" delete --force sleep-"$rt"
	done
}

bench_state_exec() {
	local specs=() rt pid
	for rt in "${names[@]}"; do
		specs+=("$rt=${bin[$rt]} --root $(root_of "$rt") state sleep-$rt")
	done
	bench_rounds state "$((RUNS / ROUNDS))" "$ROUNDS" "$WARMUP" "${specs[@]}"
	specs=()
	for rt in "${names[@]}"; do
		specs+=("$rt=${bin[$rt]} --root $(root_of "$rt") exec sleep-$rt /bin/true")
	done
	# The floor of an exec: join the same namespaces and root with nsenter.
	pid=$("$HUSK" --root "$(root_of husk)" state sleep-husk | jq -r .pid)
	specs+=("floor=nsenter --target $pid --mount --uts --ipc --net --pid --cgroup --root --wd /bin/true")
	bench_rounds exec "$((RUNS / ROUNDS))" "$ROUNDS" "$WARMUP" "${specs[@]}"
}

bench_loop() {
	local specs=() rt
	for rt in "${names[@]}"; do
		specs+=("$rt=$here/lib/loop.sh $LOOP_N ${bin[$rt]} --root $(root_of "$rt") run --bundle $WORK/b-true true-$rt")
	done
	specs+=("floor=$here/lib/loop.sh $LOOP_N unshare --pid --fork --mount --uts --ipc --net --cgroup chroot $WORK/rootfs /bin/true")
	bench_rounds loop 1 "$LOOP_ROUNDS" 0 "${specs[@]}"
}

# Peak RSS (GNU time %M: the largest maxrss of the runtime process and the children it
# waited for) of run, state and exec, interleaved; lines "RUNTIME OP KB" in $RAW/rss.txt.
measure_rss() {
	local i rt kb out=$RAW/rss.txt
	: >"$out"
	for ((i = 0; i < RSS_RUNS; i++)); do
		for rt in "${names[@]}"; do
			local r=${bin[$rt]} root
			root=$(root_of "$rt")
			/usr/bin/time -f %M -o "$WORK/rss" "$r" --root "$root" run --bundle "$WORK/b-true" \
				true-"$rt" </dev/null >/dev/null
			echo "$rt run $(tail -n1 "$WORK/rss")" >>"$out"
			/usr/bin/time -f %M -o "$WORK/rss" "$r" --root "$root" state sleep-"$rt" >/dev/null
			echo "$rt state $(tail -n1 "$WORK/rss")" >>"$out"
			/usr/bin/time -f %M -o "$WORK/rss" "$r" --root "$root" exec sleep-"$rt" /bin/true \
				</dev/null >/dev/null
			echo "$rt exec $(tail -n1 "$WORK/rss")" >>"$out"
		done
	done
	log "rss done"
}

# mem_try RUNTIME BYTES: true when a container limited to BYTES starts and runs /bin/true,
# five times in a row: near the edge an OOM kill is not deterministic (the memory cgroup
# charges in per-cpu batches), and two good runs were seen at limits that fail 1 run in 5.
mem_try() {
	local rt=$1 bytes=$2 k
	jq --argjson l "$bytes" '.linux.resources.memory.limit = $l' "$WORK/b-true/config.json" \
		>"$WORK/b-mem/config.json"
	for k in 1 2 3 4 5; do
		if ! timeout 30 "${bin[$rt]}" --root "$(root_of "$rt")" run --bundle "$WORK/b-mem" \
			mem-"$rt" </dev/null >/dev/null 2>&1; then
			"${bin[$rt]}" --root "$(root_of "$rt")" delete --force mem-"$rt" >/dev/null 2>&1 || true
			return 1
		fi
	done
}

# The smallest linux.resources.memory.limit (16 KiB resolution) under which each runtime
# can start a container, bisected from 16 MiB down; lines "RUNTIME BYTES" ("RUNTIME >16M"
# when even 16 MiB fails) in $RAW/memlimit.txt.
measure_memlimit() {
	local rt lo hi mid step=16384 out=$RAW/memlimit.txt
	: >"$out"
	mkdir -p "$WORK/b-mem"
	for rt in "${names[@]}"; do
		lo=0
		hi=$((16 << 20))
		if ! mem_try "$rt" "$hi"; then
			echo "$rt >16M" >>"$out"
			continue
		fi
		while ((hi - lo > step)); do
			mid=$(((lo + hi) / 2 / 4096 * 4096))
			if mem_try "$rt" "$mid"; then hi=$mid; else lo=$mid; fi
		done
		echo "$rt $hi" >>"$out"
	done
	log "memlimit done"
}

# The state dirs go on a tmpfs, as /run is on most hosts (on this VM /run is ext4, where
# every create/delete pays journal latency that swamps the runtimes' own work); STATE_FS=disk
# keeps them on the scratch dir's filesystem. The mount lives and dies with this namespace.
mkdir -p "$WORK/state"
if [ "${STATE_FS:-tmpfs}" = tmpfs ]; then
	mount -t tmpfs -o mode=0700 husk-bench-state "$WORK/state"
fi

check_runtimes_work
bench_run
bench_cycle
start_sleepers
bench_state_exec
measure_rss
stop_sleepers
bench_loop
measure_memlimit
