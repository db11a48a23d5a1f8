"""root.path and root.readonly (config.md "Root"), seen from inside the container and from
the host."""

import shutil
import sys
from pathlib import Path

import pytest

import helpers
from helpers import assert_one_error_line

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import rootfs_util as ru  # noqa: E402

MARKER = "rootfs-marker-7f3a"


def mark(rootfs, text=MARKER):
    (Path(rootfs) / "marker").write_text(text)


def test_root_path_relative_to_bundle(husk, bundle, unique_id, assert_clean):
    b = bundle(args=ru.probe_script(["read", "/marker"], ["report"])[:])
    mark(b / "rootfs")
    read, report = ru.run_script(husk, b, unique_id(), 2)
    assert read["ok"] and read["content"] == MARKER, read
    # The bind of the rootfs is "/" in the container, and nothing of the host's / shows.
    root = ru.top_mount(report, "/")
    assert root["root"].endswith("/rootfs"), root
    assert report["cwd"] == "/"
    assert_clean()


def test_root_path_absolute_outside_bundle(husk, bundle, tmp_path, unique_id, assert_clean):
    elsewhere = tmp_path / "images" / "abs-rootfs"

    def mutate(config):
        config["root"]["path"] = str(elsewhere)

    b = bundle(mutate, args=ru.probe_script(["read", "/marker"]))
    elsewhere.parent.mkdir()
    shutil.move(str(b / "rootfs"), str(elsewhere))
    mark(elsewhere, "absolute")
    (read,) = ru.run_script(husk, b, unique_id(), 1)
    assert read["ok"] and read["content"] == "absolute", read
    assert_clean()


def test_root_path_relative_with_subdir(husk, bundle, unique_id, assert_clean):
    """root.path "images/../rootfs-2": relative paths are resolved against the bundle, not
    against husk's cwd."""
    def mutate(config):
        config["root"]["path"] = "images/../rootfs-2"

    b = bundle(mutate, args=ru.probe_script(["read", "/marker"]))
    (b / "images").mkdir()
    (b / "rootfs").rename(b / "rootfs-2")
    mark(b / "rootfs-2", "second")
    proc = husk("run", "--bundle", b, unique_id(), cwd="/")
    assert proc.returncode == 0, helpers.describe(proc)
    assert ru.json_lines(proc.stdout)[0]["content"] == "second"
    assert_clean()


def readonly_bundle(bundle, readonly, extra_mounts=()):
    def mutate(config):
        config["root"]["readonly"] = readonly
        config["mounts"] += list(extra_mounts)

    return bundle(mutate, args=ru.probe_script(["write", "/x", "hello"],
                                               ["write", "/tmp/y", "hello"], ["report"]))


def test_root_readonly_refuses_writes(husk, bundle, unique_id, assert_clean):
    tmpfs = {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]}
    b = readonly_bundle(bundle, True, [tmpfs])
    write_root, write_tmp, report = ru.run_script(husk, b, unique_id(), 3)
    assert not write_root["ok"] and ru.errno_of(write_root) == "EROFS", write_root
    # A mount on top of the read-only root stays writable.
    assert write_tmp["ok"], write_tmp
    assert "ro" in ru.mount_flags(ru.top_mount(report, "/"))
    assert "rw" in ru.mount_flags(ru.top_mount(report, "/tmp"))
    assert not (b / "rootfs" / "x").exists()
    assert not (b / "rootfs" / "tmp" / "y").exists(), "the /tmp tmpfs wrote into the image"
    assert_clean()


def test_root_readonly_does_not_make_host_rootfs_readonly(husk, bundle, unique_id,
                                                          assert_clean):
    """The read-only remount is of the container's bind of the rootfs, never of the host
    mount the rootfs lives on."""
    b = readonly_bundle(bundle, True)
    ru.run_script(husk, b, unique_id(), 3)
    (b / "rootfs" / "after").write_text("still writable from the host")
    assert_clean()


def test_root_writable(husk, bundle, unique_id, assert_clean):
    b = readonly_bundle(bundle, False)
    write_root, write_tmp, report = ru.run_script(husk, b, unique_id(), 3)
    assert write_root["ok"] and write_tmp["ok"], (write_root, write_tmp)
    assert "rw" in ru.mount_flags(ru.top_mount(report, "/"))
    # Writes land in the bundle's rootfs on the host.
    assert (b / "rootfs" / "x").read_text() == "hello"
    assert (b / "rootfs" / "tmp" / "y").read_text() == "hello"
    assert_clean()


@pytest.mark.parametrize("command", ["create", "run"])
@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_missing_rootfs(husk, bundle, tmp_path, unique_id, assert_clean, command, kind):
    missing = "no-such-rootfs" if kind == "relative" else str(tmp_path / "no-such-abs-rootfs")

    def mutate(config):
        config["root"]["path"] = missing

    cid = unique_id()
    proc = husk(command, "--bundle", bundle(mutate), cid, timeout=20)
    line = assert_one_error_line(proc, "root.path", missing)
    assert "No such file or directory" in line, line
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_rootfs_is_a_file(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        config["root"]["path"] = "rootfs-file"

    b = bundle(mutate)
    (b / "rootfs-file").write_text("not a directory")
    cid = unique_id()
    assert_one_error_line(husk("run", "--bundle", b, cid, timeout=20), "root.path",
                          "rootfs-file")
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_rootfs_symlink_is_followed_on_the_host(husk, bundle, tmp_path, unique_id,
                                                assert_clean):
    """root.path is trusted host configuration: a symlink there is the admin's choice."""
    real = tmp_path / "real-rootfs"

    def mutate(config):
        config["root"]["path"] = "rootfs-link"

    b = bundle(mutate, args=ru.probe_script(["read", "/marker"]))
    shutil.move(str(b / "rootfs"), str(real))
    (b / "rootfs-link").symlink_to(real)
    mark(real, "via-link")
    (read,) = ru.run_script(husk, b, unique_id(), 1)
    assert read["content"] == "via-link", read
    assert_clean()


def test_host_root_not_visible(husk, bundle, tmp_path, unique_id, assert_clean):
    """After pivot_root the host's / is gone: no mount of the container reaches the host's
    tree, and the bundle dir (a host path) does not exist inside."""
    b = bundle(args=ru.probe_script(["stat", str(tmp_path)], ["report"]))
    st, report = ru.run_script(husk, b, unique_id(), 2)
    assert not st["exists"], st
    for m in report["mounts"]:
        assert not m["mount_point"].startswith(str(tmp_path)), m
    assert_clean()
