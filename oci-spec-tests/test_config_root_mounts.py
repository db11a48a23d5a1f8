"""config.md "Root" and "Mounts", and config-linux.md "Default Filesystems": checked from
inside through /proc/self/mountinfo and open(2)."""

import os

import pytest

import ocitest
from ocitest import parse_mountinfo


def mountinfo(oci, mutate=None):
    res = oci.run_ok(oci.bundle(["/bin/cat", "/proc/self/mountinfo"], mutate))
    return parse_mountinfo(res.stdout)


def top_mount(mounts, point):
    """The mount visible at point: the last one listed there."""
    found = [m for m in mounts if m["point"] == point]
    assert found, f"nothing mounted on {point}: {[m['point'] for m in mounts]}"
    return found[-1]


def add_mounts(*entries):
    def mutate(config):
        config["mounts"].extend(entries)
    return mutate


def tmpfs(dest, *options):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


def test_root_readonly(oci):
    """config.md: "`readonly` (bool, OPTIONAL) If true then the root filesystem MUST be
    read-only inside the container, defaults to false.\""""
    def mutate(c):
        c["root"]["readonly"] = True
    report = oci.run_probe(mutate, args=("access", "/etc/passwd", "w", "/dev/null", "w"))
    assert report == {"/etc/passwd:w": "EROFS", "/dev/null:w": "ok"}


def test_root_writable_by_default(oci):
    """config.md: "`readonly` (bool, OPTIONAL) ... defaults to false.\""""
    def mutate(c):
        c["root"].pop("readonly", None)
    report = oci.run_probe(mutate, args=("access", "/etc/passwd", "w"))
    assert report == {"/etc/passwd:w": "ok"}


def test_root_path_absolute(oci):
    """config.md: "On POSIX platforms, `path` is either an absolute path or a relative
    path to the bundle.\""""
    b = oci.bundle(["/bin/ocitest-probe", "write", "/marker", "abs"])
    b.config["root"]["path"] = str(b.rootfs)
    b.write()
    oci.run_ok(b)
    assert (b.rootfs / "marker").read_text() == "abs"


def test_root_path_must_exist(oci, rt):
    """config.md: "A directory MUST exist at the path declared by the field." -- a missing
    one is an error and leaves no container."""
    def mutate(c):
        c["root"]["path"] = "no-such-rootfs"
    b = oci.bundle(mutate=mutate)
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)


def test_mounts_in_listed_order(oci):
    """config.md: "The runtime MUST mount entries in the listed order." -- /mnt/a/b is
    mounted on top of the tmpfs at /mnt/a, so it must come after it."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/a", "size=1m"), tmpfs("/mnt/a/b",
                                                                          "size=2m")))
    a, b = top_mount(mounts, "/mnt/a"), top_mount(mounts, "/mnt/a/b")
    assert b["parent"] == a["id"], "the second mount is not on top of the first"


def test_mounts_same_destination_last_wins(oci):
    """config.md: "The runtime MUST mount entries in the listed order." -- two tmpfs on
    the same destination: the second one is on top."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/o", "size=1m"), tmpfs("/mnt/o",
                                                                          "size=2m")))
    assert "size=2048k" in top_mount(mounts, "/mnt/o")["super"]


def test_mount_relative_destination(oci):
    """config.md: "it MAY be a relative path, in which case it MUST be interpreted as
    relative to "/".\""""
    mounts = mountinfo(oci, add_mounts(tmpfs("mnt/rel", "size=1m")))
    assert top_mount(mounts, "/mnt/rel")["fstype"] == "tmpfs"


def test_mount_destination_created(oci):
    """config.md: "`destination` (string, REQUIRED) Destination of mount point: path inside
    container." -- a destination that does not exist in the rootfs is still mounted."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/ocitest/new/dir", "size=1m")))
    assert top_mount(mounts, "/ocitest/new/dir")["fstype"] == "tmpfs"


def test_mount_filesystem_data_options(oci):
    """config.md: "Runtimes SHOULD treat unknown options as filesystem-specific ones and
    pass those as a comma-separated string to the fifth (`const void *data`) argument of
    mount(2).\""""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/t", "mode=0710", "size=3m",
                                             "nr_inodes=1234")))
    sup = top_mount(mounts, "/mnt/t")["super"]
    assert {"mode=710", "size=3072k", "nr_inodes=1234"} <= sup, sup


# Mount options of the MUST/SHOULD table, and where mountinfo shows them.
PER_MOUNT_FLAGS = [("ro", "ro"), ("nosuid", "nosuid"), ("nodev", "nodev"),
                   ("noexec", "noexec"), ("noatime", "noatime"),
                   ("nodiratime", "nodiratime"), ("relatime", "relatime")]
SUPER_FLAGS = [("sync", "sync"), ("dirsync", "dirsync"), ("lazytime", "lazytime")]


@pytest.mark.parametrize("option,shown", PER_MOUNT_FLAGS)
def test_mount_option_per_mount(oci, option, shown):
    """config.md: "Runtimes MUST/SHOULD/MAY implement the following option strings for
    Linux" -- a MUST option, seen in the mount's options in /proc/self/mountinfo."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/opt", option, "size=1m")))
    assert shown in top_mount(mounts, "/mnt/opt")["opts"]


@pytest.mark.parametrize("option,shown", SUPER_FLAGS)
def test_mount_option_superblock(oci, option, shown):
    """config.md: "Runtimes MUST/SHOULD/MAY implement the following option strings for
    Linux" -- a MUST option, seen in the superblock options in /proc/self/mountinfo."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/opt", option, "size=1m")))
    assert shown in top_mount(mounts, "/mnt/opt")["super"]


def test_mount_option_strictatime(oci):
    """config.md: `strictatime` | MUST -- neither noatime nor relatime on the mount."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/opt", "strictatime", "size=1m")))
    assert not {"noatime", "relatime"} & top_mount(mounts, "/mnt/opt")["opts"]


def test_mount_option_rw_after_ro(oci):
    """config.md: `rw` | MUST -- the later of ro/rw wins, as with mount(8)."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/opt", "ro", "rw", "size=1m")))
    opts = top_mount(mounts, "/mnt/opt")["opts"]
    assert "rw" in opts and "ro" not in opts


def test_mount_option_nosymfollow(oci):
    """config.md: `nosymfollow` | SHOULD -- shown as nosymfollow in mountinfo."""
    mounts = mountinfo(oci, add_mounts(tmpfs("/mnt/opt", "nosymfollow", "size=1m")))
    assert "nosymfollow" in top_mount(mounts, "/mnt/opt")["opts"]


def host_dir(rt, name):
    d = rt.workdir / name
    d.mkdir()
    (d / "file").write_text("from the host\n")
    return d


def bind(src, dest, *options):
    return {"destination": dest, "type": "none", "source": str(src),
            "options": ["bind", *options]}


def test_bind_mount(oci, rt):
    """config.md: `bind` | MUST | Bind mount -- the host directory's content is visible
    at the destination."""
    src = host_dir(rt, "src")
    res = oci.run_sh("cat /mnt/bind/file", add_mounts(bind(src, "/mnt/bind")))
    assert res.ok and res.stdout == "from the host\n", res


def test_rbind_mount_keeps_submounts(oci, rt):
    """config.md: `rbind` | MUST | Recursive bind mount -- a tmpfs mounted (on the host)
    inside the source directory is visible through an rbind, and not through a plain
    bind."""
    src = host_dir(rt, "src")
    inner = src / "sub"
    inner.mkdir()
    ocitest.host_run(["mount", "-t", "tmpfs", "-o", "size=1m", "ocitest", str(inner)])
    try:
        (inner / "inner-file").write_text("inner\n")
        res = oci.run_sh("cat /mnt/r/sub/inner-file; ls /mnt/b/sub",
                         add_mounts(bind(src, "/mnt/r", "rbind"), bind(src, "/mnt/b")))
    finally:
        ocitest.host_run(["umount", "-l", str(inner)])
    assert res.ok, res
    assert res.stdout == "inner\n", res


def test_bind_mount_readonly(oci, rt):
    """config.md: `ro` | MUST -- a bind mount with ro cannot be written inside, while the
    host directory stays writable."""
    src = host_dir(rt, "src")
    report = oci.run_probe(add_mounts(bind(src, "/mnt/ro", "ro")),
                           args=("access", "/mnt/ro/file", "w", "/mnt/ro/file", "r"))
    assert report == {"/mnt/ro/file:w": "EROFS", "/mnt/ro/file:r": "ok"}
    assert os.access(src / "file", os.W_OK)


@pytest.mark.parametrize("option,tag", [("shared", "shared:"), ("private", None),
                                        ("unbindable", "unbindable"),
                                        ("rshared", "shared:"), ("rprivate", None),
                                        ("runbindable", "unbindable")])
def test_bind_mount_propagation_option(oci, rt, option, tag):
    """config.md: `shared` / `private` / `unbindable` (and their recursive forms) | MUST |
    Bind mount propagation -- seen in the optional fields of /proc/self/mountinfo."""
    src = host_dir(rt, "src")
    mounts = mountinfo(oci, add_mounts(bind(src, "/mnt/p", option)))
    optional = " ".join(top_mount(mounts, "/mnt/p")["optional"])
    if tag is None:
        assert "shared:" not in optional and "master:" not in optional, optional
    else:
        assert tag in optional, optional


@pytest.mark.parametrize("point,fstype", [("/proc", "proc"), ("/sys", "sysfs"),
                                          ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs")])
def test_default_filesystems(oci, point, fstype):
    """config-linux.md: "The following filesystems SHOULD be made available in each
    container's filesystem" -- /proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs
    (the default config lists them as mounts)."""
    assert top_mount(mountinfo(oci), point)["fstype"] == fstype


def test_idmap_without_user_namespace_errors(oci, rt):
    """config.md: `idmap`: "If there are no `uidMappings` and `gidMappings` specified and
    the container isn't using user namespaces, an error MUST be returned.\""""
    src = host_dir(rt, "src")
    b = oci.bundle(mutate=add_mounts(bind(src, "/mnt/idmap", "idmap")))
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)


def test_mount_uid_mappings_without_gid_mappings_errors(oci, rt):
    """config.md: mount `uidMappings`: "If specified, it MUST be specified along with
    `gidMappings`." -- config.md: "Runtimes MUST generate an error when invalid or
    unsupported values are encountered.\""""
    src = host_dir(rt, "src")
    entry = bind(src, "/mnt/idmap", "idmap")
    entry["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]
    b = oci.bundle(mutate=add_mounts(entry))
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)
