"""Bad input: every failure is exit status 1 with exactly one `husk: <message>` line
naming the problem, and leaves nothing behind (no state dir, mount, cgroup or process)."""

import json

import pytest

import helpers
from helpers import assert_one_error_line

# `create` and `run` read the bundle the same way; both must refuse cleanly.
CREATING = ["create", "run"]


def refuse(husk, command, bundle_dir, cid, *words):
    proc = husk(command, "--bundle", bundle_dir, cid, timeout=20)
    line = assert_one_error_line(proc, *words)
    assert helpers.container_status(husk, cid) is None, f"{cid} exists after: {line}"
    return line


@pytest.mark.parametrize("command", CREATING)
def test_missing_bundle_dir(husk, tmp_path, unique_id, assert_clean, command):
    missing = tmp_path / "no-such-bundle"
    refuse(husk, command, missing, unique_id(), str(missing))
    assert_clean()


@pytest.mark.parametrize("command", CREATING)
def test_missing_config(husk, tmp_path, unique_id, assert_clean, command):
    empty = tmp_path / "empty-bundle"
    (empty / "rootfs").mkdir(parents=True)
    refuse(husk, command, empty, unique_id(), "config.json")
    assert_clean()


@pytest.mark.parametrize("command", CREATING)
@pytest.mark.parametrize("text", ["{", "", "not json", '{"ociVersion": "1.3.0",}', "[1, 2"])
def test_malformed_config(husk, bundle, unique_id, assert_clean, command, text):
    b = bundle()
    (b / "config.json").write_text(text)
    refuse(husk, command, b, unique_id(), "config.json", "invalid JSON")
    assert_clean()


@pytest.mark.parametrize("command", CREATING)
@pytest.mark.parametrize("value", ["not-a-list", 42, {"a": 1}, [1, 2]])
def test_wrong_type_names_the_field(husk, bundle, unique_id, assert_clean, command, value):
    def mutate(config):
        config["process"]["args"] = value

    refuse(husk, command, bundle(mutate), unique_id(), "process.args", "expected")
    assert_clean()


@pytest.mark.parametrize("command", CREATING)
@pytest.mark.parametrize("version", ["2.0.0", "0.1.0", "banana"])
def test_unsupported_oci_version(husk, bundle, unique_id, assert_clean, command, version):
    def mutate(config):
        config["ociVersion"] = version

    refuse(husk, command, bundle(mutate), unique_id(), "ociVersion")
    assert_clean()


@pytest.mark.parametrize("command", CREATING)
def test_missing_rootfs(husk, bundle, unique_id, assert_clean, command):
    def mutate(config):
        config["root"]["path"] = "no-such-rootfs"

    line = refuse(husk, command, bundle(mutate), unique_id())
    assert "no-such-rootfs" in line or "root.path" in line, line
    assert_clean()


BAD_IDS = {
    "empty": "",
    "slash": "a/b",
    "dotdot": "..",
    "dot": ".",
    "newline": "x\n",
    "too-long": "a" * 1025,
    "space": "a b",
    "star": "a*",
    "nul-free-unicode": "caf\u00e9",
}


@pytest.mark.parametrize("command", CREATING)
@pytest.mark.parametrize("name", sorted(BAD_IDS))
def test_invalid_container_id(husk, bundle, root_dir, assert_clean, command, name):
    b = bundle()
    proc = husk(command, "--bundle", b, BAD_IDS[name], timeout=20)
    assert_one_error_line(proc, "invalid container id")
    assert list(root_dir.iterdir()) == []
    assert_clean()


@pytest.mark.parametrize("name", ["slash", "dotdot", "newline"])
@pytest.mark.parametrize("command", ["state", "start", "delete", "kill", "ps"])
def test_invalid_id_in_other_commands(husk, root_dir, assert_clean, command, name):
    """A bad id must never become a path under --root, whatever the command."""
    proc = husk(command, BAD_IDS[name])
    assert proc.returncode == 1, helpers.describe(proc)
    assert len(proc.stderr.splitlines()) == 1, helpers.describe(proc)
    assert list(root_dir.iterdir()) == []
    assert_clean()


@pytest.mark.lifecycle
def test_duplicate_id(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    first = bundle(args=["/bin/probe", "wait-signal"])
    husk("create", "--bundle", first, cid, check=True)
    before = json.loads(husk("state", cid, check=True).stdout)

    proc = husk("create", "--bundle", bundle(), cid)
    assert_one_error_line(proc, "already exists", cid)
    # The refused create must not have touched the existing container.
    after = json.loads(husk("state", cid, check=True).stdout)
    assert (after["pid"], after["status"], after["bundle"]) == (
        before["pid"], "created", str(first))

    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("command", ["start", "kill", "delete", "ps", "exec"])
def test_unknown_container(husk, assert_clean, command):
    args = [command, "nope"] + (["/bin/true"] if command == "exec" else [])
    assert_one_error_line(husk(*args), 'container "nope" does not exist')
    assert_clean()


def test_missing_id_argument(husk, assert_clean):
    for command in ("create", "start", "state", "delete", "kill"):
        proc = husk(command)
        assert proc.returncode == 1, helpers.describe(proc)
        assert len(proc.stderr.splitlines()) == 1, helpers.describe(proc)
    assert_clean()


def test_failed_create_leaves_nothing_with_bad_process(husk, bundle, unique_id, assert_clean):
    """The config is valid but the process cannot be executed: create fails (as runc
    does, the exec failure is reported by create) or the container can never run; either
    way after delete --force nothing may remain."""
    cid = unique_id()
    proc = husk("create", "--bundle", bundle(args=["/no/such/binary"]), cid, timeout=20)
    if proc.returncode == 0:
        husk("start", cid)
        husk("delete", "--force", cid)
    else:
        assert_one_error_line(proc, "/no/such/binary")
    assert helpers.container_status(husk, cid) is None
    assert_clean()
