#!/usr/bin/env bash
# mkimage.sh OUTDIR [TAG]
#
# Builds a one-layer busybox-static container image for the engine tests, without any
# registry or engine:
#   OUTDIR/rootfs.tar          the root filesystem as a plain tar (for `podman import`)
#   OUTDIR/docker-archive.tar  the same rootfs as a docker-archive image tagged TAG
#                              (default localhost/husk-busybox:latest), which
#                              `ctr images import`, `skopeo copy docker-archive:...` and
#                              `podman load` all accept
# The rootfs is tests/fixtures/mkrootfs.sh's (busybox applets in /bin, /etc/passwd with
# root, nobody and test). The image config sets PATH and Cmd ["/bin/sh"].
set -euo pipefail

die() {
	echo "mkimage.sh: $*" >&2
	exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: mkimage.sh OUTDIR [TAG]"
out=$1
tag=${2:-localhost/husk-busybox:latest}
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
command -v sha256sum >/dev/null || die "sha256sum is missing (coreutils)"

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.mkimage.XXXXXX")
trap 'rm -rf "$work"' EXIT

bash "$here/../fixtures/mkrootfs.sh" "$work/rootfs"

# Fixed owner and mtime, sorted names: the same busybox gives the same layer digest.
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
	-C "$work/rootfs" -cf "$work/layer.tar" .
cp "$work/layer.tar" "$out/rootfs.tar"

case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
armv7l | armv6l) arch=arm ;;
ppc64le) arch=ppc64le ;;
s390x) arch=s390x ;;
riscv64) arch=riscv64 ;;
*) die "unknown machine $(uname -m)" ;;
esac

diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/archive/$diff_id"
mv "$work/layer.tar" "$work/archive/$diff_id/layer.tar"

jq -cn --arg arch "$arch" --arg diff "sha256:$diff_id" '{
	architecture: $arch,
	os: "linux",
	created: "1970-01-01T00:00:00Z",
	config: {
		Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
		Cmd: ["/bin/sh"]
	},
	rootfs: {type: "layers", diff_ids: [$diff]},
	history: [{created: "1970-01-01T00:00:00Z", created_by: "tests/engines/mkimage.sh"}]
}' >"$work/config.json"
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/archive/$config_id.json"

jq -cn --arg config "$config_id.json" --arg tag "$tag" --arg layer "$diff_id/layer.tar" \
	'[{Config: $config, RepoTags: [$tag], Layers: [$layer]}]' >"$work/archive/manifest.json"
# The legacy "repositories" file: {"name": {"tag": "layer id"}}; some importers want it.
jq -cn --arg repo "${tag%:*}" --arg t "${tag##*:}" --arg id "$diff_id" \
	'{($repo): {($t): $id}}' >"$work/archive/repositories"

tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
	-C "$work/archive" -cf "$out/docker-archive.tar" \
	manifest.json repositories "$config_id.json" "$diff_id"
echo "mkimage.sh: $out/rootfs.tar and $out/docker-archive.tar ($tag)"
