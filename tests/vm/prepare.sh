#!/usr/bin/env bash
# Makes sure a kernel and an initramfs for the test VM are in tests/vm/cache/ and prints
# their paths, one a line: the kernel image first, then the initramfs.
#
# The kernel is Debian's generic amd64 flavour (the cloud flavour lacks 9p), named at run
# time by `apt-cache depends linux-image-amd64` because old names leave the mirror after
# security updates.  The package is fetched with `apt-get download` and unpacked with
# `dpkg -x`, never installed.  The cache is keyed by package name and version, so later
# runs skip the download; without network, the newest cached kernel is used.  The modules
# are kept per module list (modules-HASH/): editing the list below fetches the package
# once more to collect them.
#
# Exit status: 0 ready; 77 the VM cannot run here (no qemu, no kernel package, no static
# busybox), with a line starting "SKIP:" on stderr; 1 anything else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${HUSK_VM_CACHE:-$here/cache}
# The 9p root, the disk and the output ports; then what criu (checkpoint/restore) needs:
# the socket diag modules it dumps sockets with; nf_tables (criu 3.17 checks for nftables
# set concatenations at start-up); nft_compat + xt_mark for the iptables-nft rules it locks
# a dumped network namespace with; nf_conntrack_netlink for the conntrack entries it dumps
# with one (nfnetlink answers EINVAL for a subsystem it cannot load, and the guest cannot
# autoload: its /lib/modules is the host's); veth and tun, which `criu check` probes.
# crc32c_generic before nf_tables: nf_tables needs libcrc32c, which fails to load without
# a crc32c implementation (a soft dependency that depmod ignores).
modules=(virtio_pci virtio_blk virtio_console 9pnet_virtio 9p overlay crc32c_generic
	nf_tables nft_compat xt_mark unix_diag inet_diag tcp_diag udp_diag netlink_diag
	af_packet_diag veth tun nf_conntrack_netlink)
modules_hash=$(printf '%s\n' "${modules[@]}" | sha256sum | cut -c1-16)

skip() {
	echo "SKIP: husk VM: $*" >&2
	exit 77
}

fail() {
	echo "husk VM: $*" >&2
	exit 1
}

check_tools() {
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	[ -x /bin/busybox ] || skip "/bin/busybox not found (apt-get install busybox-static)"
	# A dynamic busybox would find no libc in the initramfs.
	local ldd_says
	ldd_says=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
	if ! grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_says"; then
		skip "/bin/busybox is not static (apt-get install busybox-static)"
	fi
	local tool
	for tool in xz dpkg sha256sum; do
		command -v "$tool" >/dev/null || fail "$tool not found"
	done
}

# "linux-image-6.1.0-56-amd64 6.1.192-2", or nothing when apt does not know.  The meta
# package names the exact version it wants: one apt-cache call (each costs a second).
resolve_package() {
	command -v apt-cache >/dev/null || return 0
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\) (= \([^ )]*\)).*/\1 \2/p' |
		head -n1
}

newest_cached_kernel() {
	local dir
	# shellcheck disable=SC2012 # names are ours: linux-image-*_VERSION
	dir=$(ls -td "$cache"/linux-image-*/ 2>/dev/null | head -n1)
	[ -n "$dir" ] && [ -f "$dir/kernel-ready" ] && echo "${dir%/}"
}

# apt-get download into $1; on a 404 (stale package lists) refresh them once and retry.
download_package() {
	local dest=$1 pkg=$2 version=$3
	if (cd "$dest" && apt-get -qq -o APT::Sandbox::User=root download "$pkg=$version") \
		>"$dest/apt.log" 2>&1; then
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || return 1
	apt-get -qq update >>"$dest/apt.log" 2>&1 || return 1
	read -r pkg version <<<"$(resolve_package)"
	[ -n "$pkg" ] || return 1
	(cd "$dest" && apt-get -qq -o APT::Sandbox::User=root download "$pkg=$version") \
		>>"$dest/apt.log" 2>&1
}

# The uncompressed ELF inside vmlinuz boots about 2.5 s faster under emulation: qemu loads
# it directly (PVH entry) instead of running the decompressor in emulated code.
extract_vmlinux() {
	local vmlinuz=$1 out=$2 offset
	offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
	[ -n "$offset" ] || return 1
	tail -c +$((offset + 1)) "$vmlinuz" | xz -dc --single-stream >"$out" 2>/dev/null || true
	[ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# Copies the modules we load, and everything they depend on, from the unpacked package
# to $2/lib/modules/KVER, decompressed (busybox's modprobe may not read .ko.xz).
copy_modules() {
	local tree=$1 dest=$2 kver=$3 name line file want=() deps=() seen=" "
	local src=$tree/lib/modules/$kver
	busybox depmod -b "$tree" "$kver" || return 1
	for name in "${modules[@]}"; do
		if grep -qE "/${name//_/[_-]}\.ko(\.[a-z]+)?\$" "$src/modules.builtin" 2>/dev/null; then
			continue # built in: nothing to load
		fi
		line=$(grep -E "(^|/)${name//_/[_-]}\.ko(\.[a-z]+)?:" "$src/modules.dep") ||
			{ echo "module $name is not in $kver" >&2; return 1; }
		read -r -a deps <<<"${line/:/}"
		want+=("${deps[@]}")
	done
	mkdir -p "$dest/lib/modules/$kver"
	for file in "${want[@]}"; do
		case "$seen" in *" $file "*) continue ;; esac
		seen+="$file "
		mkdir -p "$dest/lib/modules/$kver/$(dirname "$file")"
		case "$file" in
		*.xz) xz -dc "$src/$file" >"$dest/lib/modules/$kver/${file%.xz}" ;;
		*.zst) zstd -qdc "$src/$file" >"$dest/lib/modules/$kver/${file%.zst}" ;;
		*) cp "$src/$file" "$dest/lib/modules/$kver/$file" ;;
		esac
	done
	cp "$src/modules.builtin" "$src/modules.order" "$dest/lib/modules/$kver/" 2>/dev/null || true
	busybox depmod -b "$dest" "$kver"
}

# Fetches and unpacks the kernel into $cache/PKG_VERSION/ (atomically: a half-built entry
# is never visible, and two runs racing both end with a complete one).  Returns 3 when the
# package cannot be downloaded; exits 1 on anything else.
fetch_kernel() {
	local pkg=$1 version=$2 final=$cache/${1}_${2} work deb kver
	mkdir -p "$cache"
	work=$(mktemp -d "$cache/.build.XXXXXX")
	# shellcheck disable=SC2064 # expand now: $work is local
	trap "rm -rf '$work'" EXIT
	echo "husk VM: fetching $pkg $version" >&2
	if ! download_package "$work" "$pkg" "$version"; then
		sed 's/^/  /' "$work/apt.log" >&2
		return 3
	fi
	deb=$(ls "$work"/linux-image-*.deb)
	dpkg -x "$deb" "$work/tree"
	kver=$(ls "$work/tree/lib/modules")
	mkdir -p "$work/entry/modules-$modules_hash"
	copy_modules "$work/tree" "$work/entry/modules-$modules_hash" "$kver" ||
		fail "cannot collect the modules"
	if ! extract_vmlinux "$work/tree/boot/vmlinuz-$kver" "$work/entry/vmlinux"; then
		rm -f "$work/entry/vmlinux"
		cp "$work/tree/boot/vmlinuz-$kver" "$work/entry/vmlinuz"
	fi
	echo "$kver" >"$work/entry/kver"
	touch "$work/entry/kernel-ready"
	mv -T "$work/entry" "$final" 2>/dev/null || true # lost a race: theirs is as good
	rm -rf "$work"
	trap - EXIT
}

# An entry made for another module list: fetch the package again and collect this list's
# modules into $1/modules-HASH (atomically, like fetch_kernel).  Returns 3 when the package
# cannot be downloaded.
refresh_modules() {
	local entry=$1 pkg=$2 version=$3 work kver
	work=$(mktemp -d "$cache/.modules.XXXXXX")
	# shellcheck disable=SC2064 # expand now: $work is local
	trap "rm -rf '$work'" EXIT
	echo "husk VM: collecting the modules of $pkg $version again (the module list changed)" >&2
	if ! download_package "$work" "$pkg" "$version"; then
		sed 's/^/  /' "$work/apt.log" >&2
		return 3
	fi
	dpkg -x "$(ls "$work"/linux-image-*.deb)" "$work/tree"
	kver=$(cat "$entry/kver")
	mkdir -p "$work/modules"
	copy_modules "$work/tree" "$work/modules" "$kver" || fail "cannot collect the modules"
	mv -T "$work/modules" "$entry/modules-$modules_hash" 2>/dev/null || true
	rm -rf "$work"
	trap - EXIT
}

# The initramfs: static busybox, the modules, and tests/vm/init; its name carries a hash
# of what went in, so that editing init rebuilds it.
build_initramfs() {
	local entry=$1 kver hash out work
	kver=$(cat "$entry/kver")
	hash=$( (cat "$here/init" /bin/busybox; printf '%s\n' "${modules[@]}") | sha256sum | cut -c1-16)
	out=$entry/initramfs-$hash.cpio
	if [ ! -f "$out" ]; then
		work=$(mktemp -d "$entry/.initramfs.XXXXXX")
		mkdir -p "$work/root/bin" "$work/root/etc"
		cp /bin/busybox "$work/root/bin/busybox"
		cp "$here/init" "$work/root/init"
		chmod 0755 "$work/root/init"
		printf '%s\n' "${modules[@]}" >"$work/root/etc/husk-vm-modules"
		cp -a "$entry/modules-$modules_hash/lib" "$work/root/"
		(cd "$work/root" && find . | LC_ALL=C sort | busybox cpio -o -H newc 2>/dev/null) \
			>"$work/initramfs.cpio"
		mv "$work/initramfs.cpio" "$out"
		rm -rf "$work"
		# Older builds (from an older init) are of no further use.
		find "$entry" -maxdepth 1 -name 'initramfs-*.cpio' ! -path "$out" -delete
	fi
	echo "$out"
}

main() {
	local pkg version entry
	check_tools
	read -r pkg version <<<"$(resolve_package)" || true
	entry=
	if [ -n "${pkg:-}" ]; then
		entry=$cache/${pkg}_${version}
		if [ ! -f "$entry/kernel-ready" ]; then
			local status=0
			(fetch_kernel "$pkg" "$version") || status=$?
			case $status in
			0) ;;
			3) entry= ;;
			*) exit 1 ;;
			esac
		fi
	fi
	if [ -z "$entry" ] || [ ! -f "$entry/kernel-ready" ]; then
		entry=$(newest_cached_kernel) ||
			skip "cannot fetch Debian's kernel package (linux-image-amd64${pkg:+ -> $pkg}) and none is cached in $cache"
		echo "husk VM: using the cached $(basename "$entry")" >&2
	fi
	if [ ! -d "$entry/modules-$modules_hash" ]; then
		local name=${entry##*/} status=0
		(refresh_modules "$entry" "${name%_*}" "${name##*_}") || status=$?
		case $status in
		0) ;;
		3) skip "cannot fetch ${name%_*} to collect the modules of the current list" ;;
		*) exit 1 ;;
		esac
	fi
	if [ -f "$entry/vmlinux" ]; then
		echo "$entry/vmlinux"
	else
		echo "$entry/vmlinuz"
	fi
	build_initramfs "$entry"
}

main "$@"
