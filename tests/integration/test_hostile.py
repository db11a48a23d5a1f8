"""Hostile images: a rootfs is untrusted input.  Symlinks and ".." in the image must never
make husk mount, create or bind anything outside the rootfs.  Each test builds a variant of
the test rootfs, runs it, and checks from the host that the targets outside are unchanged
(contents, mtime, mounts) and that nothing is left behind; from inside, that what happened
happened inside."""

import json
import os
import sys
from pathlib import Path

import pytest

import helpers
from helpers import assert_one_error_line

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import rootfs_util as ru  # noqa: E402

# Host places an escape would hit.  /etc is watched for mounts only (other processes may
# legitimately write there), the decoys below for everything.
HOST_WATCHED_MOUNTS = ["/etc", "/dev", "/proc", "/sys", "/usr", "/bin", "/root"]


def tmpfs(dest, *options):
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


@pytest.fixture
def decoy(tmp_path):
    """A host directory and file outside any rootfs, standing in for /etc and /etc/shadow:
    the symlinks in the hostile images point here (by absolute host path)."""
    d = tmp_path / "host-decoy"
    d.mkdir()
    (d / "secret").write_text("host secret\n")
    (d / "subdir").mkdir()
    return d


class Watch:
    """Snapshot of the host before a hostile run, compared after it."""

    def __init__(self, paths, extra_mount_places=()):
        self.paths = [str(p) for p in paths]
        self.places = HOST_WATCHED_MOUNTS + [str(p) for p in extra_mount_places]
        self.files = ru.snapshots(self.paths)
        self.mounts = ru.host_mountinfo()
        self.etc_entries = sorted(os.listdir("/etc"))

    def check(self):
        assert ru.snapshots(self.paths) == self.files, "a host path outside the rootfs changed"
        assert ru.new_host_mounts(self.mounts, self.places) == [], "the host gained a mount"
        new_in_etc = set(os.listdir("/etc")) - set(self.etc_entries)
        assert not {n for n in new_in_etc if n.startswith("husk-hostile")}, new_in_etc


def run_hostile(husk, b, cid):
    """Run a hostile bundle: returns (CompletedProcess, JSON lines)."""
    proc = husk("run", "--bundle", b, cid, timeout=30)
    return proc, ru.json_lines(proc.stdout)


def assert_failed_cleanly(proc, *words):
    assert_one_error_line(proc, *words)


# ---------------------------------------------------------------------------- destinations


@pytest.mark.parametrize("link_kind", ["absolute", "relative"])
def test_mount_destination_symlink_to_host_etc(husk, bundle, decoy, unique_id, assert_clean,
                                               link_kind):
    """/mnt/evil -> /etc (or ../../../../etc): a tmpfs on /mnt/evil lands on the image's
    /etc, or fails; never on the host's /etc."""
    b = bundle(lambda c: c["mounts"].append(tmpfs("/mnt/evil", "size=64k")),
               args=ru.probe_script(["ls", "/etc"], ["report"]))
    target = "/etc" if link_kind == "absolute" else "../../../../../../../../etc"
    ru.replace_with_symlink(b / "rootfs" / "mnt" / "evil", target)
    watch = Watch(["/etc/passwd", "/etc/hostname", b / "rootfs" / "etc" / "passwd"])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    if proc.returncode == 0:
        ls, report = docs
        points = [m["mount_point"] for m in report["mounts"]]
        assert "/etc" in points, f"the tmpfs is not on the container's /etc: {points}"
        assert ls["entries"] == [], "the container's /etc should be the empty tmpfs"
    else:
        assert_failed_cleanly(proc, "/mnt/evil")
    assert_clean()


def test_bind_destination_symlink_to_host_file(husk, bundle, decoy, tmp_path, unique_id,
                                               assert_clean):
    """/etc/target -> <host>/secret: a rw file bind there lands inside the rootfs, and a
    write from the container goes to the bind source, never to the host file."""
    src = tmp_path / "bind-source"
    src.write_text("source\n")
    mount = {"destination": "/etc/target", "type": "bind", "source": str(src),
             "options": ["bind", "rw"]}
    b = bundle(lambda c: c["mounts"].append(mount),
               args=ru.probe_script(["write", "/etc/target", "overwritten"],
                                    ["read", "/etc/target"]))
    ru.replace_with_symlink(b / "rootfs" / "etc" / "target", decoy / "secret")
    watch = Watch([decoy, decoy / "secret"])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    if proc.returncode == 0:
        write, read = docs
        assert write["ok"] and read["content"] == "overwritten", docs
        assert src.read_text() == "overwritten"
    else:
        assert_failed_cleanly(proc, "/etc/target")
    assert_clean()


def test_symlink_in_the_middle_of_a_destination(husk, bundle, decoy, unique_id, assert_clean):
    """/mnt/evil -> <host decoy>; destination /mnt/evil/newdir/deeper: the directories are
    created inside the rootfs (under the link's target taken inside the rootfs)."""
    b = bundle(lambda c: c["mounts"].append(tmpfs("/mnt/evil/newdir/deeper", "size=64k")),
               args=ru.probe_script(["report"]))
    ru.replace_with_symlink(b / "rootfs" / "mnt" / "evil", decoy)
    watch = Watch([decoy, decoy / "subdir"])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    assert not (decoy / "newdir").exists()
    if proc.returncode == 0:
        inside = b / "rootfs" / str(decoy).lstrip("/") / "newdir" / "deeper"
        assert inside.is_dir(), "the directories should have been made inside the rootfs"
        points = [m["mount_point"] for m in docs[0]["mounts"]]
        assert f"{decoy}/newdir/deeper" in points, points
    else:
        assert_failed_cleanly(proc, "/mnt/evil")
    assert_clean()


@pytest.mark.parametrize("dest", ["/../../../../../../etc/husk-hostile-dotdot",
                                  "/mnt/../../../../etc/husk-hostile-dotdot",
                                  "../../../etc/husk-hostile-dotdot"])
def test_dotdot_in_destination_stays_inside(husk, bundle, unique_id, assert_clean, dest):
    b = bundle(lambda c: c["mounts"].append(tmpfs(dest, "size=64k")),
               args=ru.probe_script(["report"]))
    watch = Watch(["/etc/passwd"])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    assert not Path("/etc/husk-hostile-dotdot").exists(), "created on the host's /etc"
    if proc.returncode == 0:
        points = [m["mount_point"] for m in docs[0]["mounts"]]
        assert "/etc/husk-hostile-dotdot" in points, points
        assert (b / "rootfs" / "etc" / "husk-hostile-dotdot").is_dir()
    else:
        assert_failed_cleanly(proc, "husk-hostile-dotdot")
    assert_clean()


# ---------------------------------------------------------------------------- /dev and /proc


@pytest.mark.parametrize("dev_tmpfs", [True, False], ids=["with-dev-tmpfs", "image-dev"])
def test_dev_symlink_to_host_dir(husk, bundle, decoy, unique_id, assert_clean, dev_tmpfs):
    """rootfs/dev -> <host decoy>: neither the /dev tmpfs nor the device nodes may end up in
    the host directory."""
    def mutate(config):
        if not dev_tmpfs:
            ru.strip_mount(config, "/dev")
            # /dev/pts, /dev/shm, /dev/mqueue would be made in the image's /dev: keep them.

    b = bundle(mutate, args=ru.probe_script(["stat", "/dev/null"], ["report"]))
    ru.replace_with_symlink(b / "rootfs" / "dev", decoy)
    watch = Watch([decoy, decoy / "subdir", decoy / "secret"], [decoy])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    assert sorted(os.listdir(decoy)) == ["secret", "subdir"], os.listdir(decoy)
    if proc.returncode == 0:
        null, report = docs
        assert null["type"] == "char" or null["type"] == "symlink", null
    else:
        assert_failed_cleanly(proc, "/dev")
    assert_clean()


@pytest.mark.parametrize("kind", ["symlink", "regular-file"])
def test_dev_null_replaced_before_masking(husk, bundle, decoy, unique_id, assert_clean, kind):
    """No /dev tmpfs, and the image's /dev/null is a symlink to a host file (or a regular
    file with content): masking binds /dev/null over masked files, so it must be the real
    device or the run must fail.  The host file is untouched either way."""
    def mutate(config):
        ru.strip_mount(config, "/dev")
        config["linux"]["maskedPaths"] = ["/proc/keys", "/etc/masked-file"]

    b = bundle(mutate, args=ru.probe_script(["read", "/proc/keys"],
                                            ["read", "/etc/masked-file"], ["stat", "/dev/null"]))
    (b / "rootfs" / "etc" / "masked-file").write_text("image secret")
    null = b / "rootfs" / "dev" / "null"
    if kind == "symlink":
        ru.replace_with_symlink(null, decoy / "secret")
    else:
        null.write_text("image null file with content")
    watch = Watch([decoy / "secret", decoy])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    if proc.returncode == 0:
        keys, masked, st = docs
        assert keys["ok"] and keys["content"] == "", keys
        assert masked["ok"] and masked["content"] == "", masked
        assert st["type"] == "char" and (st["rdev_major"], st["rdev_minor"]) == (1, 3), st
    else:
        assert_failed_cleanly(proc, "/dev/null")
    assert_clean()


def test_masked_path_symlink_to_host_file(husk, bundle, decoy, unique_id, assert_clean):
    """A masked path that is a symlink to a host file: masking resolves it inside the
    rootfs (where the target does not exist) and never covers or reads the host file."""
    def mutate(config):
        config["linux"]["maskedPaths"] = ["/etc/evil-mask"]

    b = bundle(mutate, args=ru.probe_script(["read", "/etc/evil-mask"], ["report"]))
    ru.replace_with_symlink(b / "rootfs" / "etc" / "evil-mask", decoy / "secret")
    watch = Watch([decoy / "secret", decoy], [decoy])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    if proc.returncode == 0:
        read, report = docs
        assert not read["ok"] or "host secret" not in read.get("content", ""), read
    else:
        assert_failed_cleanly(proc, "/etc/evil-mask")
    assert_clean()


@pytest.mark.parametrize("target", ["/etc", "decoy", "../../../../../sys"])
def test_proc_symlink(husk, bundle, decoy, unique_id, assert_clean, target):
    """rootfs/proc is a symlink: mounting procfs must fail or stay inside; everything that
    later writes under /proc (masks, readonly paths, sysctls) must not follow it."""
    b = bundle(args=ru.probe_script(["report"]))
    ru.replace_with_symlink(b / "rootfs" / "proc", decoy if target == "decoy" else target)
    watch = Watch([decoy, decoy / "secret", "/etc/passwd"], [decoy])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    assert sorted(os.listdir(decoy)) == ["secret", "subdir"]
    if proc.returncode == 0:
        points = {m["mount_point"]: m for m in docs[0]["mounts"]}
        assert points.get("/proc", {}).get("fstype") == "proc", sorted(points)
    else:
        assert_failed_cleanly(proc, "/proc")
    assert_clean()


def test_sys_symlink(husk, bundle, decoy, unique_id, assert_clean):
    b = bundle(args=ru.probe_script(["report"]))
    ru.replace_with_symlink(b / "rootfs" / "sys", decoy)
    watch = Watch([decoy, decoy / "secret"], [decoy])
    proc, docs = run_hostile(husk, b, unique_id())
    watch.check()
    if proc.returncode != 0:
        assert_failed_cleanly(proc, "/sys")
    assert_clean()


# ---------------------------------------------------------------------------- sources


@pytest.mark.parametrize("kind", ["missing", "dangling-symlink"])
def test_bad_bind_source(husk, bundle, tmp_path, unique_id, assert_clean, kind):
    src = tmp_path / "bind-src"
    if kind == "dangling-symlink":
        src.symlink_to(tmp_path / "nowhere")
    mount = {"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind"]}
    b = bundle(lambda c: c["mounts"].append(mount))
    cid = unique_id()
    watch = Watch([tmp_path], [b])
    proc = husk("run", "--bundle", b, cid, timeout=20)
    watch_entries = sorted(os.listdir(tmp_path))
    assert_failed_cleanly(proc, f'mount "{src}" to "/data": No such file or directory')
    assert helpers.container_status(husk, cid) is None
    assert watch_entries == watch.files[str(tmp_path)]["entries"]
    assert ru.new_host_mounts(watch.mounts, [b]) == []
    assert_clean()


def test_nothing_mounted_after_delete(husk, bundle, decoy, unique_id, assert_clean):
    """A created (not started) container with hostile links: after delete, the host has no
    new mount anywhere watched and the container's mount namespace is gone."""
    b = bundle(lambda c: c["mounts"].append(tmpfs("/mnt/evil", "size=64k")),
               args=["/bin/probe", "wait-signal"])
    ru.replace_with_symlink(b / "rootfs" / "mnt" / "evil", "/etc")
    watch = Watch(["/etc/passwd", decoy], [b, decoy])
    cid = unique_id()
    proc = husk("create", "--bundle", b, cid, timeout=20)
    if proc.returncode == 0:
        pid = json.loads(husk("state", cid, check=True).stdout)["pid"]
        inside = ru.host_mountinfo(pid)
        # From the container's own mountinfo: the tmpfs is on its /etc.
        assert any(p == "/etc" and t == "tmpfs" for p, _, t, _ in inside), inside
        husk("delete", "--force", cid, check=True)
    watch.check()
    assert_clean()
