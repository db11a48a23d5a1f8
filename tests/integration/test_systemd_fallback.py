"""`husk --systemd-cgroup` where no systemd answers: one warning, then cgroupfs at the path
systemd would have used ("slice:prefix:name" -> /slice/prefix-name.scope), and everything
(update, delete) still works.  Runs on hosts without systemd (the dev machines); where
systemd answers, tests/integration/test_cgroup_systemd.py covers the real driver."""

import json
import os
from pathlib import Path

import pytest

import helpers

SD = ("--systemd-cgroup",)
MIB = 1 << 20
WARNING = "systemd cgroup driver: "


def systemd_answers():
    return Path("/run/systemd/private").exists() or Path("/run/dbus/system_bus_socket").exists()


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root"),
    pytest.mark.skipif(systemd_answers(),
                       reason="a systemd or a system bus is here: no fallback to test"),
]


def cgroup_lines(pid):
    """/proc/PID/cgroup as {hierarchy id + controllers: path}."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    return {line.rsplit(":", 1)[0]: line.rsplit(":", 1)[1] for line in lines}


@pytest.fixture
def new_slice_dirs():
    """system.slice directories the fallback makes in each hierarchy as the scope's parent
    (a host without systemd has none): removed afterwards if this test made them."""
    existed = {root for root in helpers.cgroup_hierarchies() if (root / "system.slice").exists()}
    yield
    for root in helpers.cgroup_hierarchies():
        if root not in existed:
            try:
                (root / "system.slice").rmdir()
            except OSError:
                pass


def mutator(cgroups_path=None, resources=None):
    def mutate(config):
        linux = config.setdefault("linux", {})
        linux.pop("cgroupsPath", None)
        if cgroups_path is not None:
            linux["cgroupsPath"] = cgroups_path
        if resources is not None:
            linux["resources"] = resources
    return mutate


def run_detached(husk, bundle_dir, cid):
    proc = husk("run", "--detach", "--bundle", bundle_dir, cid, global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)
    return proc, json.loads(husk("state", cid, check=True).stdout)["pid"]


def assert_fallback_warning(proc):
    lines = [line for line in proc.stderr.splitlines() if WARNING in line]
    assert len(lines) == 1, helpers.describe(proc)
    assert lines[0].endswith(": using cgroupfs"), lines
    assert "/run/systemd/private" in lines[0] or "libsystemd" in lines[0], lines


def memory_dir(rel):
    """rel in the memory hierarchy: v1's memory mount, or a cgroup2 root offering memory."""
    for root in helpers.cgroup_hierarchies():
        controllers = root / "cgroup.controllers"
        if (root / "memory.limit_in_bytes").exists() or (
                controllers.exists() and "memory" in controllers.read_text().split()):
            return root / rel.strip("/")
    pytest.skip("no memory controller mounted")


def memory_limit(rel):
    d = memory_dir(rel)
    name = "memory.limit_in_bytes" if (d / "memory.limit_in_bytes").exists() else "memory.max"
    return int((d / name).read_text())


def test_fallback_warns_and_uses_cgroupfs(husk, bundle, unique_id, assert_clean,
                                          new_slice_dirs):
    cid = unique_id()
    rel = f"/system.slice/husk-{cid}.scope"
    proc, pid = run_detached(husk, bundle(mutator(f"system.slice:husk:{cid}",
                                                  {"memory": {"limit": 64 * MIB}}),
                                          args=["/bin/probe", "sleep", "30"]), cid)
    assert_fallback_warning(proc)
    # Every hierarchy the container is in puts it at systemd's path for the unit.
    paths = set(cgroup_lines(pid).values())
    assert paths == {rel}, paths
    assert memory_limit(rel) == 64 * MIB
    up = husk("update", "--memory", "100m", cid, global_args=SD)
    assert up.returncode == 0, helpers.describe(up)
    assert WARNING not in up.stderr
    assert memory_limit(rel) == 100 * MIB
    d = husk("delete", "--force", cid, global_args=SD)
    assert d.returncode == 0, helpers.describe(d)
    assert not memory_dir(rel).exists()
    assert_clean()


def test_fallback_default_path(husk, bundle, unique_id, assert_clean, new_slice_dirs, root_dir):
    cid = unique_id()
    proc, pid = run_detached(husk, bundle(mutator(None), args=["/bin/probe", "sleep", "30"]),
                             cid)
    assert_fallback_warning(proc)
    assert set(cgroup_lines(pid).values()) == {f"/system.slice/husk-{cid}.scope"}
    # On record as cgroupfs: a later delete or update never talks to a systemd that may
    # answer by then about a unit of that name.
    state = json.loads((root_dir / cid / "state.json").read_text())
    assert state["cgroupSystemd"] is False, state
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_fallback_foreground_run(husk, bundle, unique_id, assert_clean, new_slice_dirs):
    cid = unique_id()
    proc = husk("run", "--bundle", bundle(mutator(f"system.slice:husk:{cid}")), cid,
                global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)
    assert_fallback_warning(proc)
    report = helpers.parse_json_output(proc.stdout)
    # Its own cgroup namespace, rooted at the scope path.
    assert all(line.endswith(":/") for line in report["cgroup"]), report["cgroup"]
    assert_clean()


@pytest.mark.parametrize("cgroups_path,message", [
    ("a:b", "expected \"slice:prefix:name\""),
    ("x.slice:p:../n", "invalid unit name"),
])
def test_bad_path_is_an_error_before_any_fallback(husk, bundle, unique_id, root_dir,
                                                  assert_clean, cgroups_path, message):
    cid = unique_id()
    proc = husk("create", "--bundle", bundle(mutator(cgroups_path)), cid, global_args=SD)
    assert proc.returncode != 0, helpers.describe(proc)
    assert message in proc.stderr, helpers.describe(proc)
    assert not (root_dir / cid).exists()
    assert_clean()
