#!/usr/bin/env bash
# Installs everything husk's build and test suite need (Debian/Ubuntu, as root).
# Idempotent: does nothing, not even `apt-get update`, when all packages are present.
set -euo pipefail

packages=(
	build-essential autoconf automake libtool pkg-config git
	libyajl-dev libseccomp-dev libcap-dev libsystemd-dev libcmocka-dev
	criu # libcriu (checkpoint/restore) and its criu.pc: Debian has no separate -dev package
	busybox-static util-linux
	python3 python3-pytest python3-jsonschema jq
	qemu-system-x86 xz-utils strace
	podman buildah skopeo umoci conmon containerd runc crun # tests/engines: husk under engines
	fuse-overlayfs slirp4netns catatonit uidmap # podman's recommends (not installed by default)
	clang libclang-rt-dev # libFuzzer and the ASan/UBSan runtimes (tests/fuzz, tests/sanitize.sh)
)

missing=()
for pkg in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -qq update
apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
