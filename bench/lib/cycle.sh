#!/bin/sh
# cycle.sh RUNTIME STATE_ROOT BUNDLE ID
# One create + start + delete --force of a container, as an engine drives a runtime.
# The container's stdio is /dev/null so that nothing holds the caller's pipes.
set -e
"$1" --root "$2" create --bundle "$3" "$4" </dev/null >/dev/null 2>&1
"$1" --root "$2" start "$4"
"$1" --root "$2" delete --force "$4"
