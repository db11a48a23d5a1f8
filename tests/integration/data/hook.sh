#!/bin/sh
# hook.sh LOG NAME ACTION [ARG...]: a test hook for the OCI hook tests.
# Appends one line to LOG: NAME, the state JSON from stdin (newlines removed), all
# arguments, $HOOK_TEST and $PATH (or "unset"), tab-separated.  Then ACTION:
#   -      exit 0
#   fail   exit 3
#   sleep  write our pid to LOG.pid and sleep 30 s (for timeout and kill tests)
#   slow   sleep 1 s before writing the line (a hook that takes its time)
log=$1
name=$2
action=$3
state=$(cat | tr -d '\n\t')
[ "$action" = slow ] && sleep 1
printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$state" "$*" "${HOOK_TEST-unset}" "${PATH-unset}" >>"$log"
case "$action" in
fail)
	exit 3
	;;
sleep)
	echo $$ >"$log.pid"
	exec sleep 30
	;;
esac
exit 0
