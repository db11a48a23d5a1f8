#!/bin/sh
# loop.sh N COMMAND [ARG...]
# Runs COMMAND N times in a row and fails at the first failure: the cost of many
# sequential short-lived containers, caches and page cache warm.
n=$1
shift
i=0
while [ "$i" -lt "$n" ]; do
	"$@" || exit 1
	i=$((i + 1))
done
