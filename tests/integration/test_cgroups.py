"""cgroups end to end on a v1/hybrid host: linux.resources as the host and the container see
them, limits that the kernel enforces (pids, devices, memory/OOM), the cgroup namespace,
an absolute cgroupsPath, removal from every hierarchy, and values the kernel refuses."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line, describe, wait_for_status

CG = Path("/sys/fs/cgroup")
MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    not (CG / "memory" / "memory.limit_in_bytes").exists(),
    reason="needs a cgroup v1 (legacy or hybrid) host; v2 is covered by tests/vm")

HAS_MEMSW = (CG / "memory" / "memory.memsw.limit_in_bytes").exists()


# ------------------------------------------------------------------------- helpers


def with_resources(resources, cgroups_path=None, devices=None, drop_cgroupns=False):
    def mutate(config):
        linux = config.setdefault("linux", {})
        linux["resources"] = resources
        if cgroups_path is not None:
            linux["cgroupsPath"] = cgroups_path
        if devices is not None:
            linux["devices"] = devices
        if drop_cgroupns:
            linux["namespaces"] = [n for n in linux.get("namespaces", [])
                                   if n["type"] != "cgroup"]
    return mutate


def start_detached(husk, bundle_dir, cid):
    husk("run", "--detach", "--bundle", bundle_dir, cid, check=True)
    state = json.loads(husk("state", cid, check=True).stdout)
    assert state["status"] == "running", state
    return state["pid"]


def host_file(ctrl, rel, name):
    return (CG / ctrl / rel.strip("/") / name).read_text().strip()


def exec_probe(husk, cid, *args):
    proc = husk("exec", cid, "/bin/probe", *args, check=True)
    return helpers.parse_json_output(proc.stdout)


def blkio_weight_file():
    """The proportional weight file of the blkio hierarchy (BFQ prefixes it), or None."""
    for name in ("blkio.weight", "blkio.bfq.weight"):
        if any((CG / "blkio").glob(f"*/{name}")) or (CG / "blkio" / name).exists():
            return name
    return None


def hierarchies_with(rel):
    return [root for root in helpers.cgroup_hierarchies() if (root / rel.strip("/")).is_dir()]


@pytest.fixture
def husktest_parent():
    """Removes the /husktest parent cgroups that an absolute cgroupsPath makes (husk
    removes the container's own directory only)."""
    yield "/husktest"
    for root in helpers.cgroup_hierarchies():
        parent = root / "husktest"
        if parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                pass


# ------------------------------------------------------------------------- values applied


def test_resources_visible_on_host_and_inside(husk, bundle, unique_id, assert_clean):
    resources = {
        "memory": {"limit": 64 * MIB, "reservation": 32 * MIB},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 10},
    }
    if HAS_MEMSW:
        resources["memory"]["swap"] = 96 * MIB
    weight_file = blkio_weight_file()
    if weight_file:
        resources["blockIO"] = {"weight": 300}
    cid = unique_id()
    b = bundle(with_resources(resources), args=["/bin/probe", "sleep", "inf"])
    start_detached(husk, b, cid)
    rel = f"husk/{cid}"
    expected = {
        ("memory", "memory.limit_in_bytes"): str(64 * MIB),
        ("memory", "memory.soft_limit_in_bytes"): str(32 * MIB),
        ("cpu", "cpu.shares"): "512",
        ("cpu", "cpu.cfs_quota_us"): "50000",
        ("cpu", "cpu.cfs_period_us"): "100000",
        ("cpuset", "cpuset.cpus"): "0",
        ("pids", "pids.max"): "10",
    }
    if HAS_MEMSW:
        expected[("memory", "memory.memsw.limit_in_bytes")] = str(96 * MIB)
    if weight_file:
        expected[("blkio", weight_file)] = "300"
    for (ctrl, name), want in expected.items():
        got = host_file(ctrl, rel, name)
        # blkio.bfq.weight reads "default 300".
        assert got.split()[-1] == want, f"host {ctrl}/{rel}/{name}: {got!r} != {want!r}"
        # With its own cgroup namespace and the cgroup mount, the container sees its own
        # cgroup as the root of each hierarchy.
        inside = exec_probe(husk, cid, "read", f"/sys/fs/cgroup/{ctrl}/{name}")
        assert inside["ok"], inside
        assert inside["content"].split()[-1] == want, (ctrl, name, inside)
    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("allowed", [False, True], ids=["no-rule", "allow-rule"])
def test_devices_deny_all(husk, bundle, unique_id, assert_clean, allowed):
    """A leading deny-all keeps the default /dev/null; a device node that no rule allows
    cannot be opened (EPERM from the devices cgroup), and an allow rule lets it through."""
    rules = [{"allow": False, "access": "rwm"}]
    if allowed:
        rules.append({"allow": True, "type": "b", "major": 7, "minor": 0, "access": "r"})
    cid = unique_id()
    b = bundle(with_resources({"devices": rules}), args=["/bin/probe", "sleep", "inf"])
    # loop0's major:minor; an unbound loop device opens fine and reads nothing.
    os.mknod(b / "rootfs" / "loop-node", 0o600 | 0o060000, os.makedev(7, 0))
    start_detached(husk, b, cid)
    null = exec_probe(husk, cid, "read", "/dev/null")
    assert null["ok"], null
    node = exec_probe(husk, cid, "read", "/loop-node")
    if allowed:
        assert node["ok"], node
        assert "b 7:0 r" in host_file("devices", f"husk/{cid}", "devices.list").splitlines()
    else:
        assert not node["ok"] and node["errno_name"] == "EPERM", node
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_pids_limit_enforced(bundle, run_probe, assert_clean):
    b = bundle(with_resources({"pids": {"limit": 10}}), args=["/bin/probe", "fork", "50"])
    report = run_probe(b)
    # The probe itself is one of the 10.
    assert 1 <= report["forked"] <= 9, report
    assert report["errno_name"] == "EAGAIN", report
    assert_clean()


def memory_hog_resources(limit):
    mem = {"limit": limit}
    if HAS_MEMSW:
        mem["swap"] = limit  # no swap: the hog cannot escape the limit by swapping
    return {"memory": mem}


def test_memory_hog_is_oom_killed(husk, bundle, unique_id, assert_clean):
    b = bundle(with_resources(memory_hog_resources(64 * MIB)),
               args=["/bin/probe", "alloc", "200"])
    proc = husk("run", "--bundle", b, unique_id(), timeout=60)
    assert proc.returncode == 128 + signal.SIGKILL, describe(proc)
    assert '"ok":true' not in proc.stdout, describe(proc)
    assert_clean()


def test_memory_hog_oom_reported_by_events(husk, husk_bin, root_dir, bundle, unique_id,
                                           assert_clean, tmp_path):
    cid = unique_id()
    b = bundle(with_resources(memory_hog_resources(64 * MIB)),
               args=["/bin/probe", "alloc", "200"])
    husk("create", "--bundle", b, cid, check=True)
    out = tmp_path / "events.out"
    with open(out, "w") as f:
        events = subprocess.Popen([str(husk_bin), "--root", str(root_dir), "events",
                                   "--interval", "10s", cid], stdout=f,
                                  stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)  # let events read the baseline OOM count
        husk("start", cid, check=True)
        _, err = events.communicate(timeout=30)
    finally:
        if events.poll() is None:
            events.kill()
            events.wait()
    assert events.returncode == 0, err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {"type": "oom", "id": cid} in lines, lines
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)
    assert_clean()


# ------------------------------------------------------------------------- placement


def test_cgroup_namespace_shows_root(bundle, run_probe, assert_clean):
    report = run_probe(bundle())
    assert report["cgroup"], report
    for line in report["cgroup"]:
        assert line.split(":", 2)[2] == "/", report["cgroup"]
    assert_clean()


def test_without_cgroup_namespace_the_path_shows(bundle, run_probe, unique_id, assert_clean):
    cid = unique_id()
    report = run_probe(bundle(with_resources({}, drop_cgroupns=True)), cid=cid)
    memory = [line for line in report["cgroup"] if line.split(":")[1] == "memory"]
    assert memory and memory[0].endswith(f":/husk/{cid}"), report["cgroup"]
    assert_clean()


def test_in_its_cgroup_without_a_cgroup_mount(bundle, run_probe, unique_id, assert_clean):
    """The process joins its cgroup before the first cgroup mount, or after the other mounts
    when the config has none: it must be in it either way."""
    cid = unique_id()

    def mutate(config):
        with_resources({}, drop_cgroupns=True)(config)
        config["mounts"] = [m for m in config["mounts"] if m.get("type") != "cgroup"]
    report = run_probe(bundle(mutate), cid=cid)
    assert_in_every_hierarchy(report["cgroup"], f"/husk/{cid}")
    assert_clean()


USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def assert_in_every_hierarchy(cgroup_lines, rel):
    """/proc/PID/cgroup lines name rel in every mounted hierarchy (the v1 ones and the
    hybrid's unified one, "0::PATH")."""
    assert len(cgroup_lines) == len(helpers.cgroup_hierarchies()), cgroup_lines
    for line in cgroup_lines:
        assert line.split(":", 2)[2] == rel, cgroup_lines


def with_userns(config):
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = USERNS_MAP
    config["linux"]["gidMappings"] = USERNS_MAP
    config["mounts"] = [m for m in config["mounts"]
                        if m["type"] not in ("sysfs", "cgroup", "cgroup2", "mqueue")]


@pytest.mark.parametrize("variant", ["plain", "userns", "no-clone3"])
def test_init_and_exec_join_every_hierarchy(husk, bundle, unique_id, assert_clean, tmp_path,
                                            variant):
    """The container's process joins the v1 hierarchies itself (it writes "0" to each
    `tasks` file the parent opened: the kernel's fast path) and the hybrid's unified one by
    clone3(CLONE_INTO_CGROUP) or, without clone3, by the parent; exec's process too. A
    child already in a new user namespace must still get in."""
    cid = unique_id()
    env = {"HUSK_TEST_NO_CLONE3": "1"} if variant == "no-clone3" else None
    base = with_resources({"pids": {"limit": 50}}, drop_cgroupns=True)

    def mutate(config):
        base(config)
        if variant == "userns":
            with_userns(config)
    if variant == "userns":
        lh.make_traversable(tmp_path)
    b = bundle(mutate, args=["/bin/probe", "sleep", "inf"])
    husk("run", "--detach", "--bundle", b, cid, check=True, env=env)
    pid = json.loads(husk("state", cid, check=True).stdout)["pid"]
    assert_in_every_hierarchy(Path(f"/proc/{pid}/cgroup").read_text().splitlines(),
                              f"/husk/{cid}")
    proc = husk("exec", cid, "/bin/probe", "read", "/proc/self/cgroup", check=True, env=env)
    seen = helpers.parse_json_output(proc.stdout)["content"].splitlines()
    assert_in_every_hierarchy(seen, f"/husk/{cid}")
    assert host_file("pids", f"husk/{cid}", "pids.current") == "1"
    husk("delete", "--force", cid, check=True)
    assert hierarchies_with(f"husk/{cid}") == []
    assert_clean()


def test_concurrent_creates_and_deletes_share_the_default_parent(husk, bundle, unique_id,
                                                                  assert_clean):
    """Containers created and deleted at the same time under the default /husk parent: one's
    delete may remove the empty parent while another is making its own cgroup below it, and
    a cpuset parent that another husk has just made may not have its cpus yet (a child
    copying that would refuse every task with ENOSPC). Every run must succeed."""
    import threading
    b = bundle(args=["/bin/true"])
    ids = [[unique_id() for _ in range(40)] for _ in range(4)]
    failures = []

    def worker(batch):
        for cid in batch:
            proc = husk("run", "--bundle", b, cid, timeout=60)
            if proc.returncode != 0:
                failures.append(describe(proc))

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [], failures[:3]
    assert_clean()


def test_absolute_cgroups_path(husk, bundle, unique_id, assert_clean, husktest_parent):
    cid = unique_id()
    rel = f"{husktest_parent}/{cid}"
    b = bundle(with_resources({"pids": {"limit": 7}}, cgroups_path=rel),
               args=["/bin/probe", "sleep", "inf"])
    pid = start_detached(husk, b, cid)
    assert host_file("pids", rel, "pids.max") == "7"
    host_view = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for ctrl in ("memory", "pids", "cpu", "freezer", "devices"):
        line = [entry for entry in host_view if ctrl in entry.split(":")[1].split(",")]
        assert line and line[0].endswith(":" + rel), host_view
    assert not (CG / "pids" / "husk" / cid).exists()
    husk("delete", "--force", cid, check=True)
    assert hierarchies_with(rel) == []
    assert_clean()


def test_delete_after_init_killed_removes_every_hierarchy(husk, bundle, unique_id,
                                                          assert_clean):
    cid = unique_id()
    b = bundle(with_resources({"memory": {"limit": 64 * MIB}}),
               args=["/bin/probe", "sleep", "inf"])
    pid = start_detached(husk, b, cid)
    rel = f"husk/{cid}"
    present = hierarchies_with(rel)
    for ctrl in ("memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer",
                 "blkio"):
        if (CG / ctrl).is_dir():
            assert CG / ctrl in present, (ctrl, present)
    os.kill(pid, signal.SIGKILL)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)
    assert hierarchies_with(rel) == [], hierarchies_with(rel)
    assert_clean()


# ------------------------------------------------------------------------- refused values


@pytest.mark.parametrize("resources,words", [
    ({"cpu": {"cpus": "64-127"}}, ["linux.resources.cpu.cpus", "64-127"]),
    ({"cpu": {"mems": "5"}}, ["linux.resources.cpu.mems"]),
    ({"unified": {"foo.bar": "1"}}, ["linux.resources.unified", "foo.bar"]),
    ({"cpu": {"quota": 50000, "period": 100}}, ["linux.resources.cpu.period"]),
], ids=["cpus-out-of-range", "mems-absent-node", "unknown-unified-key", "period-too-small"])
def test_refused_value_is_named_and_nothing_left(husk, bundle, unique_id, assert_clean,
                                                 resources, words):
    proc = husk("run", "--bundle", bundle(with_resources(resources)), unique_id())
    assert_one_error_line(proc, *words)
    assert_clean()


@pytest.mark.skipif(not HAS_MEMSW, reason="needs swap accounting (memory.memsw.*)")
def test_swap_below_memory_limit_is_refused(husk, bundle, unique_id, assert_clean):
    b = bundle(with_resources({"memory": {"limit": 64 * MIB, "swap": 32 * MIB}}))
    proc = husk("run", "--bundle", b, unique_id())
    assert_one_error_line(proc, "linux.resources.memory")
    assert_clean()


def test_one_byte_memory_limit_fails_cleanly(husk, bundle, unique_id, assert_clean):
    """The kernel accepts a 1-byte limit (rounded up to a page); the container process
    cannot even start under it.  create must fail with one error line and leave nothing."""
    proc = husk("run", "--bundle", bundle(with_resources({"memory": {"limit": 1}})),
                unique_id())
    assert_one_error_line(proc)
    assert_clean()


def test_one_byte_memory_limit_error_names_memory(husk, bundle, unique_id):
    proc = husk("run", "--bundle", bundle(with_resources({"memory": {"limit": 1}})),
                unique_id())
    assert_one_error_line(proc, "memory")
