"""/dev inside the container (config-linux.md "Default Devices", "Devices", runtime-linux.md
"Dev symbolic links"): the default nodes and links, /dev/pts and /dev/shm, linux.devices,
and the same with a user namespace (where nodes are bind-mounted from the host)."""

import os
import stat
import sys
from pathlib import Path

import pytest

import helpers
from helpers import assert_one_error_line

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import rootfs_util as ru  # noqa: E402

DEFAULT_DEVICES = {
    "/dev/null": (1, 3),
    "/dev/zero": (1, 5),
    "/dev/full": (1, 7),
    "/dev/random": (1, 8),
    "/dev/urandom": (1, 9),
    "/dev/tty": (5, 0),
}
DEV_LINKS = {
    "/dev/fd": "/proc/self/fd",
    "/dev/stdin": "/proc/self/fd/0",
    "/dev/stdout": "/proc/self/fd/1",
    "/dev/stderr": "/proc/self/fd/2",
    "/dev/ptmx": "pts/ptmx",
}
USERNS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
          "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def stat_script(paths, *more):
    return ru.probe_script(*[["stat", p] for p in paths], *more)


def with_userns(config):
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"].update(USERNS)
    # sysfs and cgroup mounts need more than a plain test user namespace gives; /dev is
    # what this file is about.
    config["mounts"] = [m for m in config["mounts"]
                        if m["type"] not in ("sysfs", "cgroup", "cgroup2", "mqueue")]
    config["linux"]["maskedPaths"] = [p for p in config["linux"].get("maskedPaths", [])
                                      if not p.startswith("/sys")]


@pytest.fixture
def userns_bundle(tmp_path_factory, rootfs_template, husk_bin, root_dir):
    """Bundles for a user namespace: the mapped root (host uid 100000) must be able to
    walk to the rootfs, and pytest's temp dirs are 0700.  These live in a 0755 dir outside
    them, checked for leftover mounts and removed at the end."""
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="husk-rootfstests-", dir="/tmp"))
    base.chmod(0o755)
    count = [0]

    def make(config_mutator=None, args=None):
        count[0] += 1
        return helpers.make_bundle(base / f"bundle{count[0]}", rootfs_template, husk_bin,
                                   root_dir, config_mutator=config_mutator, args=args)
    try:
        yield make
    finally:
        left = [e[0] for e in ru.host_mountinfo() if e[0].startswith(str(base))]
        for point in sorted(left, key=len, reverse=True):
            ru.host_umount(point)
        shutil.rmtree(base, ignore_errors=True)
        assert not left, f"mounts left behind: {left}"


def with_devices(*devices, userns=False):
    def mutate(config):
        config["linux"]["devices"] = list(devices)
        if userns:
            with_userns(config)
    return mutate


def check_default_devices(docs):
    for doc in docs:
        major, minor = DEFAULT_DEVICES[doc["path"]]
        assert doc["exists"] and doc["type"] == "char", doc
        assert (doc["rdev_major"], doc["rdev_minor"]) == (major, minor), doc


def test_default_devices(husk, bundle, unique_id, assert_clean):
    b = bundle(args=stat_script(list(DEFAULT_DEVICES)))
    docs = ru.run_script(husk, b, unique_id(), len(DEFAULT_DEVICES))
    check_default_devices(docs)
    for doc in docs:
        assert doc["mode_octal"] == "0666", doc
        assert (doc["uid"], doc["gid"]) == (0, 0), doc
    assert_clean()


def test_default_devices_work(husk, bundle, unique_id, assert_clean):
    """The nodes are usable, not only present: /dev/null swallows, /dev/zero reads zeros,
    /dev/full refuses writes with ENOSPC."""
    b = bundle(args=ru.probe_script(["write", "/dev/null", "x"], ["read", "/dev/zero"],
                                    ["write", "/dev/full", "x"], ["read", "/dev/urandom"]))
    null, zero, full, urandom = ru.run_script(husk, b, unique_id(), 4)
    assert null["ok"], null
    assert zero["ok"] and zero["content"] == "\0" * 4096, zero.get("error")
    assert ru.errno_of(full) == "ENOSPC", full
    assert urandom["ok"] and len(urandom["content"]) > 0, urandom
    assert_clean()


def test_dev_symlinks(husk, bundle, unique_id, assert_clean):
    b = bundle(args=stat_script(list(DEV_LINKS)))
    for doc in ru.run_script(husk, b, unique_id(), len(DEV_LINKS)):
        assert doc["type"] == "symlink" and doc["target"] == DEV_LINKS[doc["path"]], doc
    assert_clean()


def test_dev_pts_and_shm_mounted(husk, bundle, unique_id, assert_clean):
    b = bundle(args=ru.probe_script(["stat", "/dev/pts/ptmx"], ["report"]))
    ptmx, report = ru.run_script(husk, b, unique_id(), 2)
    pts = ru.top_mount(report, "/dev/pts")
    assert pts["fstype"] == "devpts", pts
    assert {"ptmxmode=666", "mode=620", "gid=5"} <= ru.super_flags(pts), pts
    shm = ru.top_mount(report, "/dev/shm")
    assert shm["fstype"] == "tmpfs" and {"nosuid", "nodev", "noexec"} <= ru.mount_flags(shm)
    # /dev/ptmx leads to this devpts instance (5:2), not the host's.
    assert ptmx["type"] == "char" and (ptmx["rdev_major"], ptmx["rdev_minor"]) == (5, 2)
    assert_clean()


def test_dev_is_a_fresh_tmpfs(husk, bundle, unique_id, assert_clean):
    """What the image has in /dev is hidden by the /dev tmpfs; the host's /dev never
    shows."""
    b = bundle(args=ru.probe_script(["ls", "/dev"], ["report"]))
    (b / "rootfs" / "dev" / "image-file").write_text("x")
    ls, report = ru.run_script(husk, b, unique_id(), 2)
    assert "image-file" not in ls["entries"], ls
    assert "vda" not in ls["entries"] and "kmsg" not in ls["entries"], ls
    assert ru.top_mount(report, "/dev")["fstype"] == "tmpfs"
    assert_clean()


MYNULL = {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600,
          "uid": 1000, "gid": 1001}
FUSE = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666,
        "uid": 0, "gid": 0}


def test_linux_devices_created(husk, bundle, unique_id, assert_clean):
    nested = {"path": "/dev/sub/dir/mynode", "type": "c", "major": 1, "minor": 5}
    fifo = {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620}
    blk = {"path": "/dev/myblk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o640}
    b = bundle(with_devices(MYNULL, FUSE, nested, fifo, blk),
               args=stat_script(["/dev/mynull", "/dev/fuse", "/dev/sub/dir/mynode",
                                 "/dev/myfifo", "/dev/myblk"]))
    mynull, fuse, node, myfifo, myblk = ru.run_script(husk, b, unique_id(), 5)
    assert (mynull["type"], mynull["rdev_major"], mynull["rdev_minor"]) == ("char", 1, 3)
    assert mynull["mode_octal"] == "0600" and (mynull["uid"], mynull["gid"]) == (1000, 1001)
    assert (fuse["type"], fuse["rdev_major"], fuse["rdev_minor"]) == ("char", 10, 229)
    assert fuse["mode_octal"] == "0666", fuse
    assert (node["type"], node["rdev_major"], node["rdev_minor"]) == ("char", 1, 5), node
    assert myfifo["type"] == "fifo" and myfifo["mode_octal"] == "0620", myfifo
    assert (myblk["type"], myblk["rdev_major"], myblk["rdev_minor"]) == ("block", 7, 200)
    assert myblk["mode_octal"] == "0640", myblk
    assert_clean()


def test_linux_device_overrides_default_mode(husk, bundle, unique_id, assert_clean):
    """A linux.devices entry for a default device (same type and numbers) sets its mode."""
    null = {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640}
    b = bundle(with_devices(null), args=stat_script(["/dev/null"]))
    (doc,) = ru.run_script(husk, b, unique_id(), 1)
    assert doc["type"] == "char" and doc["mode_octal"] == "0640", doc
    assert_clean()


def test_device_path_taken_by_a_regular_file_fails(husk, bundle, unique_id, assert_clean):
    """config-linux.md: a file at `path` that does not match the device is an error.  Here
    the image's own /dev is used (no /dev tmpfs) and it ships a regular file there."""
    def mutate(config):
        ru.strip_mount(config, "/dev")
        config["linux"]["devices"] = [MYNULL]

    b = bundle(mutate)
    (b / "rootfs" / "dev" / "mynull").write_text("not a device")
    cid = unique_id()
    proc = husk("run", "--bundle", b, cid, timeout=20)
    assert_one_error_line(proc, "/dev/mynull")
    assert (b / "rootfs" / "dev" / "mynull").read_text() == "not a device"
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_device_bad_type_fails(husk, bundle, unique_id, assert_clean):
    bad = {"path": "/dev/bad", "type": "z", "major": 1, "minor": 3}
    cid = unique_id()
    proc = husk("run", "--bundle", bundle(with_devices(bad)), cid, timeout=20)
    assert_one_error_line(proc, "linux.devices", '"z"')
    assert_clean()


# ---------------------------------------------------------------------------- user namespace


def test_default_devices_with_user_namespace(husk, userns_bundle, unique_id, assert_clean):
    """mknod is refused in a user namespace: the nodes are the host's, bind-mounted."""
    b = userns_bundle(with_devices(userns=True),
               args=stat_script(list(DEFAULT_DEVICES), ["write", "/dev/null", "x"], ["report"]))
    *docs, write, report = ru.run_script(husk, b, unique_id(), len(DEFAULT_DEVICES) + 2)
    check_default_devices(docs)
    assert write["ok"], write
    assert report["uid_map"].split() == ["0", "100000", "65536"], report["uid_map"]
    for path in DEFAULT_DEVICES:
        m = ru.top_mount(report, path)
        # A bind of the host's node of the same name (from the host's devtmpfs).
        assert m["root"] == path[len("/dev"):] and m["fstype"] == "devtmpfs", m
    assert_clean()


def test_linux_devices_with_user_namespace(husk, userns_bundle, unique_id, assert_clean):
    """A device that exists on the host is bound from there."""
    if not stat.S_ISCHR(os.stat("/dev/fuse").st_mode):
        pytest.skip("no /dev/fuse on this host")
    b = userns_bundle(with_devices(FUSE, userns=True), args=stat_script(["/dev/fuse"]))
    (doc,) = ru.run_script(husk, b, unique_id(), 1)
    assert (doc["type"], doc["rdev_major"], doc["rdev_minor"]) == ("char", 10, 229), doc
    assert_clean()


def test_made_up_device_with_user_namespace_fails_cleanly(husk, userns_bundle, unique_id,
                                                          assert_clean):
    """/dev/mynull does not exist on the host, so there is nothing to bind: a clear error
    naming it (never a bind of some other host file)."""
    cid = unique_id()
    b = userns_bundle(with_devices(MYNULL, userns=True))
    proc = husk("run", "--bundle", b, cid, timeout=20)
    assert_one_error_line(proc, "/dev/mynull")
    assert_clean()


def test_dev_tmpfs_not_leaking_device_nodes_to_host(husk, bundle, unique_id, assert_clean):
    """Without a /dev tmpfs the nodes are made in the image's /dev (as runc does); they
    must land inside the bundle's rootfs, nowhere else."""
    def mutate(config):
        ru.strip_mount(config, "/dev")
        config["linux"]["devices"] = [MYNULL]

    b = bundle(mutate, args=stat_script(["/dev/mynull"]))
    (doc,) = ru.run_script(husk, b, unique_id(), 1)
    assert doc["type"] == "char", doc
    node = os.lstat(b / "rootfs" / "dev" / "mynull")
    assert stat.S_ISCHR(node.st_mode) and os.major(node.st_rdev) == 1
    assert "mynull" not in os.listdir("/dev")
    assert_clean()
