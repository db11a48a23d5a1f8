#!/usr/bin/env bash
# Builds husk's libFuzzer targets (tests/fuzz/fuzz-*.c) with clang
# -fsanitize=fuzzer,address,undefined against the libhusk sources, and runs each one on a
# temporary copy of its seed corpus (tests/fuzz/corpus/<target>/).
#
#   tests/fuzz/run-fuzz.sh [TARGET...]                fuzz (all targets by default)
#   tests/fuzz/run-fuzz.sh --reproduce TARGET FILE... run a target once on saved inputs
#
# TARGET is spec, signal, mount-options, id or state.  A crash, a sanitizer report, a
# timeout or a broken property (the targets abort) fails the target; the input is kept in
# $FUZZ_ARTIFACTS and printed, with the command that replays it.
# The last line of output is "N passed, N failed" (one test per target).
#
# Environment:
#   FUZZ_SECONDS=30    total fuzzing time, split evenly across the targets
#   HUSK_BUILD_DIR=DIR a configured husk build dir (for config.h and the library flags);
#                      by default ./configure runs in a temporary directory
#   FUZZ_ARTIFACTS=DIR where failing inputs are kept (default /tmp/husk-fuzz-artifacts)
#   FUZZ_CC=clang      the compiler (needs libFuzzer: Debian's libclang-rt-NN-dev)
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_src=$src/tests/fuzz
all_targets=(spec signal mount-options id state)
cc=${FUZZ_CC:-clang}
artifacts=${FUZZ_ARTIFACTS:-/tmp/husk-fuzz-artifacts}

# The longest input worth trying per target: a config with a few of everything; a signal
# name; a mounts[].options list; an id just over HUSK_ID_MAX (1024); a state.json.
declare -A max_len=([spec]=16384 [signal]=64 [mount-options]=1024 [id]=1100 [state]=4096)
declare -A dict=([spec]=$fuzz_src/spec.dict)

work=$(mktemp -d /tmp/husk-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

die() {
	echo "run-fuzz.sh: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

is_target() {
	local t
	for t in "${all_targets[@]}"; do
		[ "$t" = "$1" ] && return 0
	done
	return 1
}

# ------------------------------------------------------------------ build

# config.h and the library flags come from a configured build dir.
configured_build_dir() {
	local dir=${HUSK_BUILD_DIR:-}
	if [ -n "$dir" ] && [ -f "$dir/config.h" ] && [ -f "$dir/Makefile" ]; then
		(cd "$dir" && pwd)
		return
	fi
	mkdir -p "$work/configure"
	(cd "$work/configure" && "$src/configure" -q >&2) || return 1
	echo "$work/configure"
}

make_var() {
	sed -n "s/^$1 = //p" "$build/Makefile" | head -n1
}

# shellcheck disable=SC2054 # the commas belong to -fsanitize's list
sanitize_flags=(-fsanitize=address,undefined -fno-sanitize-recover=undefined
	-fno-omit-frame-pointer -g -O1)

compile_one() {
	local c=$1 o
	shift
	o=$work/obj/$(basename "$c" .c).o
	if ! "$cc" "$@" -c "$c" -o "$o" 2>"$o.err"; then
		echo "warning: $(basename "$c") does not compile with $cc:"
		head -n5 "$o.err"
	fi
}

compile_libhusk() {
	local cflags c jobs=0
	# shellcheck disable=SC2207 # the flags are words
	cflags=(-I"$build" -I"$src" -DHAVE_CONFIG_H $(make_var YAJL_CFLAGS) $(make_var SECCOMP_CFLAGS)
		$(make_var CAP_CFLAGS) $(make_var SYSTEMD_CFLAGS) $(make_var CRIU_CFLAGS)
		-fsanitize=fuzzer-no-link "${sanitize_flags[@]}" -w)
	mkdir -p "$work/obj"
	# Every libhusk file goes into the archive, so that the linker pulls in whatever a
	# target needs; a file that does not compile only matters if a target needs it.
	for c in "$src"/libhusk/*.c; do
		if [ "$jobs" -ge "$(nproc)" ]; then
			wait -n || true
			jobs=$((jobs - 1))
		fi
		compile_one "$c" "${cflags[@]}" &
		jobs=$((jobs + 1))
	done
	wait
	ar rcs "$work/libhusk-fuzz.a" "$work"/obj/*.o
}

build_target() {
	local t=$1 libs yajl_cflags
	# shellcheck disable=SC2207 # the flags are words
	libs=($(make_var YAJL_LIBS) $(make_var SECCOMP_LIBS) $(make_var CAP_LIBS)
		$(make_var SYSTEMD_LIBS) $(make_var CRIU_LIBS))
	# shellcheck disable=SC2207
	yajl_cflags=($(make_var YAJL_CFLAGS))
	"$cc" -I"$build" -I"$src" -DHAVE_CONFIG_H "${yajl_cflags[@]}" \
		-Wall -Wextra -fsanitize=fuzzer "${sanitize_flags[@]}" \
		"$fuzz_src/fuzz-$t.c" "$work/libhusk-fuzz.a" "${libs[@]}" -lpthread \
		-o "$work/bin/fuzz-$t"
}

build_all() {
	local t
	build=$(configured_build_dir) || die "configure failed"
	echo "==> building fuzz targets with $cc (config.h from $build)"
	compile_libhusk
	mkdir -p "$work/bin"
	for t in "$@"; do
		build_target "$t" || die "fuzz-$t does not build"
	done
}

# ------------------------------------------------------------------ run

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

show_input() {
	echo "---- input $1 ($(stat -c %s "$1") bytes; first 512 shown):"
	head -c 512 "$1" | od -A d -t x1z -v
}

report_failure() {
	local t=$1 log=$2 crash
	echo "---- fuzz-$t log (tail):"
	tail -n 60 "$log"
	mkdir -p "$artifacts"
	for crash in "$work/artifacts/$t"/*; do
		[ -f "$crash" ] || continue
		cp "$crash" "$artifacts/fuzz-$t-$(basename "$crash")"
		crash=$artifacts/fuzz-$t-$(basename "$crash")
		show_input "$crash"
		echo "---- reproduce: $0 --reproduce $t $crash"
	done
}

fuzz_target() {
	local t=$1 seconds=$2
	local log=$work/fuzz-$t.log status=0
	local args=(-max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=20
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/")
	[ -n "${dict[$t]:-}" ] && args+=(-dict="${dict[$t]}")
	mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
	if [ -d "$fuzz_src/corpus/$t" ]; then
		cp -r "$fuzz_src/corpus/$t/." "$work/corpus/$t/"
	fi
	echo "==> fuzz-$t for ${seconds}s (max_len ${max_len[$t]})"
	TMPDIR=$work/tmp "$work/bin/fuzz-$t" "${args[@]}" "$work/corpus/$t" >"$log" 2>&1 || status=$?
	if [ "$status" -ne 0 ]; then
		echo "FAIL fuzz-$t (exit $status)"
		report_failure "$t" "$log"
		return 1
	fi
	local runs cov
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 || true)
	echo "PASS fuzz-$t: ${runs:-?} runs, ${cov:-cov: ?}, corpus $(find "$work/corpus/$t" -type f | wc -l) inputs"
}

reproduce() {
	local t=$1
	shift
	is_target "$t" || die "unknown target $t (one of: ${all_targets[*]})"
	[ $# -gt 0 ] || die "--reproduce $t needs input files"
	build_all "$t"
	mkdir -p "$work/tmp"
	if TMPDIR=$work/tmp "$work/bin/fuzz-$t" "$@"; then
		echo "1 passed, 0 failed"
	else
		echo "0 passed, 1 failed"
		exit 1
	fi
}

main() {
	local targets=() t passed=0 failed=0 budget per
	if [ "${1:-}" = --reproduce ]; then
		shift
		reproduce "$@"
		return
	fi
	for t in "$@"; do
		is_target "$t" || die "unknown target $t (one of: ${all_targets[*]})"
		targets+=("$t")
	done
	[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
	command -v "$cc" >/dev/null || die "$cc not found (tests/install-deps.sh installs clang)"

	budget=${FUZZ_SECONDS:-30}
	per=$((budget / ${#targets[@]}))
	[ "$per" -ge 1 ] || per=1
	build_all "${targets[@]}"
	mkdir -p "$work/tmp"
	for t in "${targets[@]}"; do
		if fuzz_target "$t" "$per"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main "$@"
