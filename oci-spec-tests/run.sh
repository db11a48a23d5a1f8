#!/bin/sh
# Runs the OCI runtime-spec conformance suite against one runtime and prints TAP.
#
#   RUNTIME=/path/to/runtime ./oci-spec-tests/run.sh [PYTEST-ARGS...]
#
# RUNTIME defaults to <repo>/husk.  Extra arguments go to pytest (e.g. -k hooks).
# Output: "TAP version 13", "1..N", one "ok"/"not ok" line per test (failures carry a
# YAML diagnostic block, skips "# SKIP reason"), then "N passed, N failed, N skipped".
# Exit status: 0 when nothing failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${RUNTIME:=$(dirname "$here")/husk}"
python=${PYTHON:-/usr/bin/python3}

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the suite creates containers and must run as root" >&2
	exit 2
fi

export RUNTIME OCITEST_TAP=1
cd "$here"
exec "$python" -m pytest -p no:cacheprovider "$here" "$@"
