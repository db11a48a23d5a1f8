#!/usr/bin/env bash
# argv-logger.sh: stands in for an OCI runtime binary, appends one line describing how it
# was called to a log file, then execs the real runtime with the same argv (same pid, same
# fds, same environment), so the engine cannot tell the difference.
#
# Configuration, first found wins:
#   ARGV_LOGGER_RUNTIME, ARGV_LOGGER_LOG   in the environment, or
#   the file "$0.conf" next to the name it was called by, with lines RUNTIME=... LOG=...
# Engines do not reliably pass their environment down to the runtime (containerd's shim,
# conmon), so the tests copy this script into a temp dir and write a .conf beside it.
#
# Log line (tab separated): time, pid, ppid, parent's comm, where fds 0/1/2 point, then
# each argument shell-quoted. With ARGV_LOGGER_SAVE_FILES=1 (or SAVE_FILES=1 in the .conf)
# the content of a `--process FILE` argument is appended on the next line, indented.
# With ARGV_LOGGER_STATUS=1 (or STATUS=1 in the .conf) it does not exec: it runs the runtime
# as a child and logs a second line "exit=N". (stderr is left alone: the container process
# of create/run/exec inherits it.) The engine then sees another pid, so use it to study,
# not to test.
set -u

conf="$0.conf"
runtime=${ARGV_LOGGER_RUNTIME:-}
log=${ARGV_LOGGER_LOG:-}
save_files=${ARGV_LOGGER_SAVE_FILES:-}
status=${ARGV_LOGGER_STATUS:-}
if [ -r "$conf" ]; then
	while IFS='=' read -r key value; do
		case "$key" in
		RUNTIME) [ -n "$runtime" ] || runtime=$value ;;
		LOG) [ -n "$log" ] || log=$value ;;
		SAVE_FILES) [ -n "$save_files" ] || save_files=$value ;;
		STATUS) [ -n "$status" ] || status=$value ;;
		esac
	done <"$conf"
fi
if [ -z "$runtime" ]; then
	echo "argv-logger.sh: no runtime configured (set ARGV_LOGGER_RUNTIME or write $conf)" >&2
	exit 127
fi

if [ -n "$log" ]; then
	fds=""
	for fd in 0 1 2; do
		fds+="$fd=$(readlink "/proc/$$/fd/$fd" 2>/dev/null || echo closed) "
	done
	parent=$(cat "/proc/$PPID/comm" 2>/dev/null || echo '?')
	line="$(date +%H:%M:%S.%N)	pid=$$	ppid=$PPID	parent=$parent	${fds% }	"
	line+=$(printf '%q ' "$@")
	process_file=""
	if [ "${save_files:-0}" = 1 ]; then
		prev=""
		for arg in "$@"; do
			case "$prev" in
			--process | -p) process_file=$arg ;;
			esac
			case "$arg" in
			--process=*) process_file=${arg#--process=} ;;
			esac
			prev=$arg
		done
	fi
	{
		# One write per invocation keeps concurrent lines whole (O_APPEND).
		if [ -n "$process_file" ] && [ -r "$process_file" ]; then
			printf '%s\n    process: %s\n' "${line% }" "$(tr -d '\n' <"$process_file")"
		else
			printf '%s\n' "${line% }"
		fi
	} >>"$log"
fi

if [ -z "$log" ] || [ "${status:-0}" != 1 ]; then
	exec "$runtime" "$@"
fi
"$runtime" "$@"
rc=$?
printf '%s\tpid=%s\texit=%s\n' "$(date +%H:%M:%S.%N)" "$$" "$rc" >>"$log"
exit "$rc"
