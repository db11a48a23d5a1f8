"""config.md "Mounts": every mount of the config shows in the container's mountinfo, in
order and with its options; bind/rbind of directories and files, relative destinations and
sources, read-only binds, propagation, rro and idmapped binds; a bad mount fails cleanly."""

import os
import sys
from pathlib import Path

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import rootfs_util as ru  # noqa: E402

MS_SHARED = 1 << 20


def tmpfs(dest, *options):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


def bind(source, dest, *options, kind="bind"):
    return {"destination": dest, "type": "bind", "source": str(source),
            "options": [kind, *options]}


def with_mounts(*mounts, readonly=None, **linux):
    def mutate(config):
        config["mounts"] += list(mounts)
        if readonly is not None:
            config["root"]["readonly"] = readonly
        config.setdefault("linux", {}).update(linux)
    return mutate


@pytest.fixture
def host_umounts():
    """Host mounts a fixture made for this test, to undo before the leftover check."""
    return []


@pytest.fixture
def assert_clean(assert_clean, host_umounts):
    """The harness' check, after removing the host mounts this module's fixtures made on
    purpose (they live in the test's temp dir, where any mount counts as a leftover)."""
    def check(context=""):
        while host_umounts:
            ru.host_umount(host_umounts.pop())
        assert_clean(context)
    return check


@pytest.fixture
def host_tree(tmp_path, root_dir, host_umounts):
    """A host directory to bind: file "file", an empty dir "sub" that gets a tmpfs with
    "inner" in it (the submount an rbind must carry and a bind must not).  Depends on
    root_dir so that the submount is gone before the harness' own leftover check runs."""
    top = tmp_path / "hostdir"
    (top / "sub").mkdir(parents=True)
    (top / "file").write_text("host content")
    ru.host_mount("tmpfs", top / "sub", fstype="tmpfs", data="size=1m")
    host_umounts.append(top / "sub")
    try:
        (top / "sub" / "inner").write_text("submount content")
        yield top
    finally:
        ru.host_umount(top / "sub")


# ---------------------------------------------------------------------------- order, options


def test_mounts_match_config_in_order(husk, bundle, unique_id, assert_clean):
    extra = [
        tmpfs("/mnt/a", "nosuid", "nodev", "noexec", "size=1m", "mode=700"),
        tmpfs("/mnt/a/b", "ro", "size=2m", "mode=755"),
        tmpfs("/mnt/c", "size=3m"),
        tmpfs("/mnt/c", "size=4m", "nosuid"),  # on top of the previous one
    ]
    b = bundle(with_mounts(*extra))
    config = helpers.read_config(b)
    report = ru.json_lines(husk("run", "--bundle", b, unique_id(), check=True).stdout)[-1]

    masked = set(config["linux"].get("maskedPaths", []) + config["linux"].get("readonlyPaths",
                                                                                 []))
    seen = [m for m in report["mounts"][1:] if m["mount_point"] not in masked and
            not m["mount_point"].startswith("/sys/fs/cgroup/")]
    assert [m["mount_point"] for m in seen] == [m["destination"] for m in config["mounts"]]
    for got, want in zip(seen, config["mounts"]):
        if want["type"] not in ("cgroup", "cgroup2"):
            assert got["fstype"] == want["type"], (got, want)
        for flag in ("ro", "nosuid", "nodev", "noexec"):
            if flag in want.get("options", []):
                assert flag in ru.mount_flags(got), (flag, got, want)

    a = ru.top_mount(report, "/mnt/a")
    assert {"nosuid", "nodev", "noexec", "rw"} <= ru.mount_flags(a), a
    assert {"size=1024k", "mode=700"} <= ru.super_flags(a), a
    ab = ru.top_mount(report, "/mnt/a/b")
    assert "ro" in ru.mount_flags(ab) and ab["parent"] == a["id"], ab
    assert {"size=2048k"} <= ru.super_flags(ab), ab
    lower, upper = ru.mounts_at(report, "/mnt/c")
    assert "size=3072k" in ru.super_flags(lower) and "size=4096k" in ru.super_flags(upper)
    assert upper["parent"] == lower["id"], "the later mount is on top of the earlier one"
    assert "nosuid" in ru.mount_flags(upper) and "nosuid" not in ru.mount_flags(lower)
    assert_clean()


def test_cgroup_hierarchies_are_read_only(husk, bundle, unique_id, assert_clean):
    """The default cgroup mount is ro: so is each hierarchy under it, whether mounted fresh
    in the cgroup namespace or bound from the host without one."""
    for drop_cgroupns in (False, True):
        def mutate(config):
            if drop_cgroupns:
                lh.drop_namespace(config, "cgroup")
        b = bundle(mutate)
        cg = [m for m in helpers.read_config(b)["mounts"] if m["type"] == "cgroup"]
        assert cg and "ro" in cg[0]["options"], cg
        report = ru.json_lines(husk("run", "--bundle", b, unique_id(), check=True).stdout)[-1]
        under = [m for m in report["mounts"] if m["mount_point"].startswith("/sys/fs/cgroup")]
        assert under, report["mounts"]
        for m in under:
            assert "ro" in ru.mount_flags(m), (drop_cgroupns, m)
    assert_clean()


def test_tmpfs_options_from_inside(husk, bundle, unique_id, assert_clean):
    """mode= reaches the filesystem; noexec really refuses exec."""
    b = bundle(with_mounts(tmpfs("/scratch", "noexec", "mode=1770", "size=512k")),
               args=["/bin/sh", "-c", "/bin/probe stat /scratch; cp /bin/busybox /scratch/bb; "
                     "/scratch/bb true; echo '{\"exec_status\": '$?'}'"])
    st, ex = ru.run_script(husk, b, unique_id(), 2)
    assert st["type"] == "dir" and st["mode_octal"] == "1770", st
    assert ex["exec_status"] == 126, ex  # EACCES from execve on a noexec mount
    assert_clean()


# ---------------------------------------------------------------------------- binds


def test_bind_directory(husk, bundle, host_tree, unique_id, assert_clean):
    b = bundle(with_mounts(bind(host_tree, "/data")),
               args=ru.probe_script(["read", "/data/file"], ["ls", "/data/sub"]))
    read, ls = ru.run_script(husk, b, unique_id(), 2)
    assert read["content"] == "host content", read
    # A plain bind does not carry the submount: sub is the empty directory underneath.
    assert ls["ok"] and ls["entries"] == [], ls
    assert_clean()


def test_rbind_directory_carries_submounts(husk, bundle, host_tree, unique_id, assert_clean):
    b = bundle(with_mounts(bind(host_tree, "/data", kind="rbind")),
               args=ru.probe_script(["read", "/data/sub/inner"], ["report"]))
    read, report = ru.run_script(husk, b, unique_id(), 2)
    assert read["ok"] and read["content"] == "submount content", read
    assert ru.top_mount(report, "/data/sub")["fstype"] == "tmpfs"
    assert_clean()


def test_bind_single_file_creates_a_file_target(husk, bundle, tmp_path, unique_id,
                                               assert_clean):
    src = tmp_path / "single"
    src.write_text("one file")
    b = bundle(with_mounts(bind(src, "/etc/deep/new-file")),
               args=ru.probe_script(["stat", "/etc/deep/new-file"],
                                    ["read", "/etc/deep/new-file"]))
    st, read = ru.run_script(husk, b, unique_id(), 2)
    assert st["type"] == "file", st
    assert read["content"] == "one file", read
    # The target was created in the image as an empty file (and a directory for its parent).
    target = b / "rootfs" / "etc" / "deep" / "new-file"
    assert target.is_file() and target.stat().st_size == 0
    assert_clean()


def test_bind_file_over_existing_file(husk, bundle, tmp_path, unique_id, assert_clean):
    src = tmp_path / "passwd"
    src.write_text("root:x:0:0:bound:/:/bin/sh\n")
    b = bundle(with_mounts(bind(src, "/etc/passwd", "ro")),
               args=ru.probe_script(["read", "/etc/passwd"]))
    before = ru.snapshot(b / "rootfs" / "etc" / "passwd")
    (read,) = ru.run_script(husk, b, unique_id(), 1)
    assert read["content"] == src.read_text(), read
    assert ru.snapshot(b / "rootfs" / "etc" / "passwd") == before
    assert_clean()


def test_relative_destination(husk, bundle, host_tree, unique_id, assert_clean):
    """A relative destination is relative to the container's / (config.md allows it for
    compatibility)."""
    b = bundle(with_mounts(bind(host_tree, "rel/data")),
               args=ru.probe_script(["read", "/rel/data/file"], ["report"]))
    read, report = ru.run_script(husk, b, unique_id(), 2)
    assert read["content"] == "host content", read
    ru.top_mount(report, "/rel/data")
    assert_clean()


def test_relative_bind_source_is_relative_to_bundle(husk, bundle, unique_id, assert_clean):
    b = bundle(with_mounts(bind("hostdata", "/data")),
               args=ru.probe_script(["read", "/data/f"]))
    (b / "hostdata").mkdir()
    (b / "hostdata" / "f").write_text("from the bundle")
    # husk's cwd is elsewhere: the source must still be found next to config.json.
    proc = husk("run", "--bundle", b, unique_id(), cwd="/")
    assert proc.returncode == 0, helpers.describe(proc)
    assert ru.json_lines(proc.stdout)[0]["content"] == "from the bundle"
    assert_clean()


def test_ro_bind_refuses_writes(husk, bundle, host_tree, unique_id, assert_clean):
    b = bundle(with_mounts(bind(host_tree, "/data", "ro"), readonly=False),
               args=ru.probe_script(["write", "/data/file", "changed"],
                                    ["write", "/data/new", "x"], ["report"]))
    before = ru.snapshots([host_tree, host_tree / "file"])
    w1, w2, report = ru.run_script(husk, b, unique_id(), 3)
    assert ru.errno_of(w1) == "EROFS" and ru.errno_of(w2) == "EROFS", (w1, w2)
    assert "ro" in ru.mount_flags(ru.top_mount(report, "/data"))
    assert ru.snapshots([host_tree, host_tree / "file"]) == before
    # The host's own view of the directory stays writable.
    (host_tree / "after").write_text("ok")
    assert_clean()


def test_rw_bind_writes_reach_host(husk, bundle, host_tree, unique_id, assert_clean):
    b = bundle(with_mounts(bind(host_tree, "/data", "rw")),
               args=ru.probe_script(["write", "/data/new", "from container"]))
    (w,) = ru.run_script(husk, b, unique_id(), 1)
    assert w["ok"], w
    assert (host_tree / "new").read_text() == "from container"
    assert_clean()


def test_rro_makes_submounts_readonly(husk, bundle, host_tree, unique_id, assert_clean):
    b = bundle(with_mounts(bind(host_tree, "/data", "rro", kind="rbind")),
               args=ru.probe_script(["write", "/data/new", "x"],
                                    ["write", "/data/sub/new", "x"], ["report"]))
    top, sub, report = ru.run_script(husk, b, unique_id(), 3)
    assert ru.errno_of(top) == "EROFS", top
    assert ru.errno_of(sub) == "EROFS", sub
    assert "ro" in ru.mount_flags(ru.top_mount(report, "/data/sub"))
    assert not (host_tree / "sub" / "new").exists()
    assert_clean()


def test_bind_mount_options_nosuid_nodev_noexec(husk, bundle, host_tree, unique_id,
                                               assert_clean):
    b = bundle(with_mounts(bind(host_tree, "/data", "nosuid", "nodev", "noexec")))
    report = ru.json_lines(husk("run", "--bundle", b, unique_id(), check=True).stdout)[-1]
    assert {"nosuid", "nodev", "noexec"} <= ru.mount_flags(ru.top_mount(report, "/data"))
    assert_clean()


# ---------------------------------------------------------------------------- propagation


@pytest.fixture
def shared_host_dir(tmp_path, root_dir, host_umounts):
    """A host tmpfs that is a shared mount (the host's own mounts here are private)."""
    d = tmp_path / "shared"
    d.mkdir()
    ru.host_mount("tmpfs", d, fstype="tmpfs", data="size=1m")
    host_umounts.append(d)
    try:
        ru.host_mount(None, d, flags=MS_SHARED)
        (d / "sub").mkdir()
        yield d
    finally:
        ru.host_umount(d / "sub")
        ru.host_umount(d)


def optional_kinds(m):
    return {field.split(":")[0] for field in m["optional"]}


@pytest.mark.parametrize("prop,expected", [("rshared", {"shared"}), ("rprivate", set()),
                                           ("shared", {"shared"}), ("private", set())])
def test_bind_propagation_flags(husk, bundle, host_tree, unique_id, assert_clean, prop,
                                expected):
    b = bundle(with_mounts(bind(host_tree, "/data", prop, kind="rbind")))
    report = ru.json_lines(husk("run", "--bundle", b, unique_id(), check=True).stdout)[-1]
    assert optional_kinds(ru.top_mount(report, "/data")) == expected, ru.top_mount(report,
                                                                                   "/data")
    if prop.startswith("r"):
        assert optional_kinds(ru.top_mount(report, "/data/sub")) == expected
    assert_clean()


def test_rslave_bind_receives_host_mounts(husk, bundle, shared_host_dir, unique_id,
                                          assert_clean, host_umounts):
    """rootfsPropagation rslave keeps the host's shared mounts as masters of the container's
    copies; an rslave bind then sees what the host mounts later, and nothing the container
    mounts goes back."""
    b = bundle(with_mounts(bind(shared_host_dir, "/shared", "rslave", kind="rbind"),
                           rootfsPropagation="rslave"),
               args=["/bin/probe", "wait-signal"])
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True)
    try:
        ru.host_mount("tmpfs", shared_host_dir / "sub", fstype="tmpfs", data="size=1m")
        host_umounts.append(shared_host_dir / "sub")
        (shared_host_dir / "sub" / "late").write_text("mounted after create")
        proc = husk("exec", cid, "/bin/sh", "-c",
                    "/bin/probe read /shared/sub/late; /bin/probe", check=True)
        read, report = ru.json_lines(proc.stdout)
        assert "master" in optional_kinds(ru.top_mount(report, "/shared")), \
            ru.top_mount(report, "/shared")
        assert read["ok"] and read["content"] == "mounted after create", read
    finally:
        husk("delete", "--force", cid)
    assert_clean()


@pytest.mark.parametrize("prop", ["shared", "rshared", "private", "rprivate", "rslave"])
def test_rootfs_propagation(husk, bundle, unique_id, assert_clean, prop):
    b = bundle(with_mounts(rootfsPropagation=prop))
    report = ru.json_lines(husk("run", "--bundle", b, unique_id(), check=True).stdout)[-1]
    kinds = optional_kinds(ru.top_mount(report, "/"))
    if "shared" in prop:
        assert "shared" in kinds, ru.top_mount(report, "/")
    elif "private" in prop:
        assert kinds == set(), ru.top_mount(report, "/")
    assert_clean()


def test_bad_rootfs_propagation(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    proc = husk("run", "--bundle", bundle(with_mounts(rootfsPropagation="sideways")), cid)
    assert_one_error_line(proc, "rootfsPropagation", "sideways")
    assert_clean()


# ---------------------------------------------------------------------------- idmap


def test_idmap_bind_without_user_namespace(husk, bundle, tmp_path, unique_id, assert_clean):
    """mounts[].uidMappings: containerID is the id on disk, hostID the id it appears as
    (the mapping is written to the mount's user namespace as uid_map "containerID hostID
    size").  On-disk 1000 shows as 0; on-disk 0 has no mapping and shows as overflow."""
    src = tmp_path / "idmapped"
    src.mkdir()
    (src / "owned-1000").write_text("x")
    os.chown(src / "owned-1000", 1000, 1000)
    (src / "owned-0").write_text("y")
    mount = bind(src, "/data", "idmap")
    mount["uidMappings"] = [{"containerID": 1000, "hostID": 0, "size": 1}]
    mount["gidMappings"] = [{"containerID": 1000, "hostID": 0, "size": 1}]
    b = bundle(with_mounts(mount), args=ru.probe_script(
        ["stat", "/data/owned-1000"], ["stat", "/data/owned-0"], ["report"]))
    mine, roots, report = ru.run_script(husk, b, unique_id(), 3)
    assert (mine["uid"], mine["gid"]) == (0, 0), mine
    assert (roots["uid"], roots["gid"]) == (65534, 65534), roots
    assert "idmapped" in ru.mount_flags(ru.top_mount(report, "/data"))
    assert report["namespaces"]["user"] == "user:[%d]" % os.stat("/proc/self/ns/user").st_ino
    # The host's view is unchanged.
    assert os.stat(src / "owned-1000").st_uid == 1000
    assert_clean()


USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def in_user_namespace(config):
    lh.ensure_namespace(config, "user")
    config["linux"]["uidMappings"] = USERNS_MAP
    config["linux"]["gidMappings"] = USERNS_MAP
    # sysfs and mqueue belong to the host's network and ipc namespaces otherwise
    lh.ensure_namespace(config, "network")
    lh.ensure_namespace(config, "ipc")


@pytest.mark.parametrize("own_mapping", [False, True])
def test_idmap_bind_in_a_user_namespace(husk, bundle, tmp_path, unique_id, assert_clean,
                                        own_mapping):
    """In a user namespace the container cannot idmap a mount of a host filesystem (that
    takes CAP_SYS_ADMIN over the filesystem's user namespace): husk makes the idmapped tree
    on the host side and the container attaches it.  Without mappings of its own the mount
    maps through the container's user namespace: on-disk 0 and 1000 show as 0 and 1000
    inside (a plain bind shows them as 65534).  With its own mapping, on-disk 1000 shows as
    host uid 100000, which is the container's root."""
    lh.make_traversable(tmp_path)
    src = tmp_path / "idmapped"
    src.mkdir()
    src.chmod(0o755)
    (src / "owned-1000").write_text("x")
    os.chown(src / "owned-1000", 1000, 1000)
    (src / "owned-0").write_text("y")
    mount = bind(src, "/mnt", "idmap")  # the rootfs is not the container root's to mkdir in
    if own_mapping:
        mount["uidMappings"] = [{"containerID": 1000, "hostID": 100000, "size": 1}]
        mount["gidMappings"] = [{"containerID": 1000, "hostID": 100000, "size": 1}]

    def mutate(config):
        in_user_namespace(config)
        with_mounts(mount)(config)
    b = bundle(mutate, args=ru.probe_script(
        ["stat", "/mnt/owned-1000"], ["stat", "/mnt/owned-0"], ["report"]))
    lh.make_traversable(b)
    mine, roots, report = ru.run_script(husk, b, unique_id(), 3)
    if own_mapping:
        assert (mine["uid"], mine["gid"]) == (0, 0), mine
        assert (roots["uid"], roots["gid"]) == (65534, 65534), roots
    else:
        assert (mine["uid"], mine["gid"]) == (1000, 1000), mine
        assert (roots["uid"], roots["gid"]) == (0, 0), roots
    assert "idmapped" in ru.mount_flags(ru.top_mount(report, "/mnt"))
    assert report["namespaces"]["user"] != "user:[%d]" % os.stat("/proc/self/ns/user").st_ino
    assert os.stat(src / "owned-1000").st_uid == 1000  # the host's view is unchanged
    assert_clean()


def test_idmap_without_mappings_or_userns_fails(husk, bundle, tmp_path, unique_id,
                                                assert_clean):
    src = tmp_path / "idm"
    src.mkdir()
    cid = unique_id()
    proc = husk("run", "--bundle", bundle(with_mounts(bind(src, "/data", "idmap"))), cid)
    assert_one_error_line(proc, "idmap")
    assert_clean()


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("command", ["create", "run"])
def test_missing_bind_source(husk, bundle, unique_id, assert_clean, command):
    cid = unique_id()
    b = bundle(with_mounts(bind("/nonexistent", "/data")))
    proc = husk(command, "--bundle", b, cid, timeout=20)
    assert_one_error_line(proc, 'mount "/nonexistent" to "/data": No such file or directory')
    assert helpers.container_status(husk, cid) is None
    assert not (b / "rootfs" / "data").exists() or not any((b / "rootfs" / "data").iterdir())
    assert_clean()


def test_unknown_filesystem_type(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    m = {"destination": "/weird", "type": "nosuchfs", "source": "none"}
    proc = husk("run", "--bundle", bundle(with_mounts(m)), cid, timeout=20)
    assert_one_error_line(proc, "/weird", "No such device")
    assert_clean()


def test_bind_dir_onto_existing_file_fails(husk, bundle, host_tree, unique_id, assert_clean):
    """The image has a file where a directory bind goes: mount(2) refuses, husk reports it
    and leaves the image's file alone."""
    cid = unique_id()
    b = bundle(with_mounts(bind(host_tree, "/etc/passwd")))
    before = ru.snapshot(b / "rootfs" / "etc" / "passwd")
    proc = husk("run", "--bundle", b, cid, timeout=20)
    assert_one_error_line(proc, "/etc/passwd", "Not a directory")
    assert ru.snapshot(b / "rootfs" / "etc" / "passwd") == before
    assert_clean()


def test_failed_mount_after_good_ones_leaves_nothing(husk, bundle, host_tree, unique_id,
                                                     assert_clean):
    cid = unique_id()
    before = ru.host_mountinfo()
    b = bundle(with_mounts(bind(host_tree, "/ok", kind="rbind"), tmpfs("/t"),
                           bind(host_tree / "missing", "/bad")))
    proc = husk("run", "--bundle", b, cid, timeout=20)
    assert_one_error_line(proc, "missing", "/bad")
    assert ru.new_host_mounts(before, [b, host_tree]) == []
    assert_clean()

