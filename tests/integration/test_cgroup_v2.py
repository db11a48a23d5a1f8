"""cgroup v2 end to end: real containers on a pure cgroup v2 hierarchy.

The dev machines are hybrid, so these tests skip there; tests/vm/run-cgroup-tests.sh runs
them in a VM booted with cgroup_no_v1=all (tests/vm/README.md).  Each test looks at the
container's cgroup from the host (its files, found through /proc/PID/cgroup of the
container's init) and, where a limit can be felt, from inside with the probe.

They are written from the runtime-spec and the kernel's cgroup v2 interface, not from
husk's code: the same file run against runc (HUSK=/usr/bin/runc) tells a test bug from a
husk bug.  HUSK_VM_DISK names a block device to throttle and to deny (the VM's virtio
disk); without it those tests skip.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import helpers

CGROUP_ROOT = Path("/sys/fs/cgroup")
MiB = 1024 * 1024


def pure_cgroup_v2():
    """True when /sys/fs/cgroup is a cgroup2 mount and no v1 hierarchy is mounted."""
    types = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype = right.split()[0] if right else ""
        if fstype in ("cgroup", "cgroup2"):
            types.add(fstype)
            if left.split()[4] == str(CGROUP_ROOT) and fstype != "cgroup2":
                return False
    return types == {"cgroup2"} and (CGROUP_ROOT / "cgroup.controllers").is_file()


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroup tests need root"),
    pytest.mark.skipif(not pure_cgroup_v2(),
                       reason="needs a pure cgroup v2 host (run them with tests/vm/run.sh)"),
]


# ---------------------------------------------------------------------------- helpers


def controllers():
    return set((CGROUP_ROOT / "cgroup.controllers").read_text().split())


def require_controller(name):
    if name not in controllers():
        pytest.skip(f"the {name} controller is not available")


def set_resources(**resources):
    """A config mutator that sets linux.resources.<key> for each keyword."""
    def mutate(config):
        config.setdefault("linux", {}).setdefault("resources", {}).update(resources)
    return mutate


def cgroup_of(pid):
    """The cgroup v2 directory of a process, from the host's point of view."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return CGROUP_ROOT / line[3:].lstrip("/")
    raise AssertionError(f"no cgroup v2 line in /proc/{pid}/cgroup")


def read_ctl(cgroup, name):
    return (cgroup / name).read_text().strip()


def keyed(cgroup, name):
    """A flat-keyed cgroup file (memory.events, cgroup.events) as a dict of ints."""
    pairs = (line.split() for line in (cgroup / name).read_text().splitlines())
    return {key: int(value) for key, value in pairs}


def create(husk, bundle_dir, cid):
    """`create` the container; returns the pid of its init (waiting in its cgroup)."""
    proc = husk("create", "--bundle", bundle_dir, cid)
    assert proc.returncode == 0, helpers.describe(proc)
    state = husk("state", cid, check=True)
    return json.loads(state.stdout)["pid"]


def delete(husk, cid, force=False):
    proc = husk("delete", *(["--force"] if force else []), cid)
    assert proc.returncode == 0, helpers.describe(proc)


def created_cgroup(husk, bundle, unique_id, mutator, args=None):
    """Create a container from a bundle with `mutator` applied; returns (cid, cgroup dir)."""
    cid = unique_id()
    pid = create(husk, bundle(mutator, args=args), cid)
    cgroup = cgroup_of(pid)
    assert cgroup != CGROUP_ROOT, "the container runs in the root cgroup"
    return cid, cgroup


def disk_numbers():
    """(major, minor) of the VM's spare disk, or skip."""
    disk = os.environ.get("HUSK_VM_DISK")
    if not disk or not Path(disk).exists():
        pytest.skip("no spare block device (HUSK_VM_DISK)")
    st = os.stat(disk)
    if not Path(disk).is_block_device():
        pytest.skip(f"{disk} is not a block device")
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def husk_has_command(husk_bin, name):
    proc = subprocess.run([str(husk_bin), "--help"], capture_output=True, text=True, timeout=10)
    return re.search(rf"^\s+{name}\b", proc.stdout + proc.stderr, re.M) is not None


def shares_to_weight(shares):
    """The conversion runc and crun use for cpu.shares -> cpu.weight (the v1 range
    2..262144 mapped linearly onto 1..10000)."""
    return 1 + ((shares - 2) * 9999) // 262142


# ---------------------------------------------------------------------------- limits


def test_memory_limits(husk, bundle, unique_id):
    require_controller("memory")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        memory={"limit": 64 * MiB, "reservation": 16 * MiB, "swap": 96 * MiB}))
    assert read_ctl(cg, "memory.max") == str(64 * MiB)
    assert read_ctl(cg, "memory.low") == str(16 * MiB)
    # runtime-spec memory.swap is memory+swap; cgroup v2 limits the swap alone.
    if (cg / "memory.swap.max").exists():
        assert read_ctl(cg, "memory.swap.max") == str(32 * MiB)
    delete(husk, cid, force=True)


def test_pids_limit_is_enforced(bundle, run_probe):
    require_controller("pids")
    report = run_probe(bundle(set_resources(pids={"limit": 10}), args=["/bin/probe", "fork", "30"]))
    # The probe itself is one of the 10.
    assert 0 < report["forked"] <= 9, report
    assert report["errno_name"] == "EAGAIN", report


def test_pids_max_file(husk, bundle, unique_id):
    require_controller("pids")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(pids={"limit": 10}))
    assert read_ctl(cg, "pids.max") == "10"
    delete(husk, cid, force=True)


def test_cpu_max_and_weight(husk, bundle, unique_id):
    require_controller("cpu")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        cpu={"quota": 50000, "period": 100000, "shares": 512}))
    assert read_ctl(cg, "cpu.max") == "50000 100000"
    assert read_ctl(cg, "cpu.weight") == str(shares_to_weight(512))
    delete(husk, cid, force=True)


def test_cpu_burst(husk, bundle, unique_id):
    require_controller("cpu")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        cpu={"quota": 50000, "period": 100000, "burst": 20000}))
    if not (cg / "cpu.max.burst").exists():
        delete(husk, cid, force=True)
        pytest.skip("this kernel has no cpu.max.burst")
    assert read_ctl(cg, "cpu.max") == "50000 100000"
    assert read_ctl(cg, "cpu.max.burst") == "20000"
    delete(husk, cid, force=True)


def test_cpu_idle(husk, bundle, unique_id):
    require_controller("cpu")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(cpu={"idle": 1}))
    if not (cg / "cpu.idle").exists():
        delete(husk, cid, force=True)
        pytest.skip("this kernel has no cpu.idle")
    assert read_ctl(cg, "cpu.idle") == "1"
    delete(husk, cid, force=True)


def test_minus_one_means_max(husk, bundle, unique_id):
    """-1 is "no limit" for memory, memory+swap and pids: the files say max (writing -1
    itself would be refused by the kernel)."""
    require_controller("memory")
    require_controller("pids")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        memory={"limit": -1, "swap": -1}, pids={"limit": -1}))
    assert read_ctl(cg, "memory.max") == "max"
    if (cg / "memory.swap.max").exists():
        assert read_ctl(cg, "memory.swap.max") == "max"
    assert read_ctl(cg, "pids.max") == "max"
    delete(husk, cid, force=True)


def test_cpuset(bundle, run_probe):
    require_controller("cpuset")
    cpus = Path("/sys/fs/cgroup/cpuset.cpus.effective").read_text().strip()
    if cpus in ("", "0"):
        pytest.skip("needs two CPUs")
    last = os.cpu_count() - 1
    report = run_probe(bundle(set_resources(cpu={"cpus": str(last), "mems": "0"})))
    assert report["cpus_allowed"] == str(last), report["cpus_allowed"]


def test_cpuset_files(husk, bundle, unique_id):
    require_controller("cpuset")
    last = os.cpu_count() - 1
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        cpu={"cpus": str(last), "mems": "0"}))
    assert read_ctl(cg, "cpuset.cpus") == str(last)
    assert read_ctl(cg, "cpuset.mems") == "0"
    delete(husk, cid, force=True)


def test_io_max(husk, bundle, unique_id):
    require_controller("io")
    major, minor = disk_numbers()
    dev = {"major": major, "minor": minor}
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(blockIO={
        "throttleReadBpsDevice": [dict(dev, rate=MiB)],
        "throttleWriteIOPSDevice": [dict(dev, rate=100)],
    }))
    lines = read_ctl(cg, "io.max").splitlines()
    assert f"{major}:{minor} rbps={MiB} wbps=max riops=max wiops=100" in lines, lines
    delete(husk, cid, force=True)


def test_hugetlb_limit(husk, bundle, unique_id):
    require_controller("hugetlb")
    if not Path("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir():
        pytest.skip("no 2MB huge pages")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        hugepageLimits=[{"pageSize": "2MB", "limit": 4 * MiB}]))
    assert read_ctl(cg, "hugetlb.2MB.max") == str(4 * MiB)
    delete(husk, cid, force=True)


def test_unified_values(husk, bundle, unique_id):
    require_controller("memory")
    require_controller("pids")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        unified={"pids.max": "42", "memory.high": str(48 * MiB)}))
    assert read_ctl(cg, "pids.max") == "42"
    assert read_ctl(cg, "memory.high") == str(48 * MiB)
    delete(husk, cid, force=True)


# ---------------------------------------------------------------------------- placement


def test_cgroup_namespace_and_mount(bundle, run_probe):
    """With a cgroup namespace the container sees its own cgroup as the root, and the
    /sys/fs/cgroup it mounts is that cgroup (so it reads its own limits)."""
    require_controller("pids")
    report = run_probe(bundle(set_resources(pids={"limit": 17})))
    assert report["cgroup"] == ["0::/"], report["cgroup"]
    inside = run_probe(bundle(set_resources(pids={"limit": 17}),
                              args=["/bin/probe", "read", "/sys/fs/cgroup/pids.max"]))
    assert inside["ok"], inside
    assert inside["content"].strip() == "17"


def test_clone_into_cgroup(bundle, unique_id, husk_bin, root_dir):
    """The container's init is born in its cgroup (clone3 with CLONE_INTO_CGROUP), so no
    process of the container ever runs outside it, not even for an instant."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace not installed")
    cid = unique_id()
    bundle_dir = bundle()
    proc = helpers.run_husk(strace, "-f", "-qq", "-e", "trace=clone3", "-e", "signal=none",
                            husk_bin, "--root", root_dir, "run", "--bundle", bundle_dir, cid,
                            timeout=120)
    assert proc.returncode == 0, helpers.describe(proc)
    flags = re.findall(r"clone3\(\{flags=([A-Z0-9_|]+)", proc.stderr)
    assert flags, f"no clone3 call traced\n{proc.stderr[-2000:]}"
    assert any("CLONE_INTO_CGROUP" in f.split("|") for f in flags), \
        "no clone3 with CLONE_INTO_CGROUP; the flags were:\n  " + "\n  ".join(sorted(set(flags)))


def test_init_is_in_its_cgroup_before_start(husk, bundle, unique_id):
    cid, cg = created_cgroup(husk, bundle, unique_id, None)
    procs = [int(p) for p in read_ctl(cg, "cgroup.procs").split()]
    state = json.loads(husk("state", cid, check=True).stdout)
    assert state["pid"] in procs
    delete(husk, cid, force=True)


# ---------------------------------------------------------------------------- lifecycle


def test_delete_removes_the_cgroup(husk, bundle, unique_id, assert_clean):
    require_controller("memory")
    cid = unique_id()
    pid = create(husk, bundle(set_resources(memory={"limit": 64 * MiB}),
                              args=["/bin/probe", "exit", "0"]), cid)
    cg = cgroup_of(pid)
    assert cg.is_dir()
    assert husk("start", cid).returncode == 0
    assert helpers.wait_for_status(husk, cid, "stopped", timeout=30) == "stopped"
    assert cg.is_dir(), "the cgroup went away before delete"
    delete(husk, cid)
    assert not cg.exists(), f"{cg} still exists after delete"
    assert_clean()


def test_pause_and_resume(husk, bundle, unique_id, husk_bin):
    if not husk_has_command(husk_bin, "pause"):
        pytest.skip(f"{husk_bin.name} has no pause command")
    cid, cg = created_cgroup(husk, bundle, unique_id, None, args=["/bin/probe", "sleep", "inf"])
    assert husk("start", cid).returncode == 0
    assert helpers.wait_for_status(husk, cid, "running") == "running"
    proc = husk("pause", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert read_ctl(cg, "cgroup.freeze") == "1"
    deadline = time.monotonic() + 10
    while keyed(cg, "cgroup.events").get("frozen") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert keyed(cg, "cgroup.events")["frozen"] == 1
    assert helpers.container_status(husk, cid) == "paused"
    proc = husk("resume", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert read_ctl(cg, "cgroup.freeze") == "0"
    assert helpers.container_status(husk, cid) == "running"
    delete(husk, cid, force=True)
    assert not cg.exists()


def test_oom_killed_hog(husk, bundle, unique_id):
    """A process that outgrows memory.max (no swap to escape to) is OOM-killed, the
    container stops, and memory.events counts the kill."""
    require_controller("memory")
    cid, cg = created_cgroup(husk, bundle, unique_id, set_resources(
        memory={"limit": 32 * MiB, "swap": 32 * MiB}), args=["/bin/probe", "alloc", "128"])
    assert husk("start", cid).returncode == 0
    assert helpers.wait_for_status(husk, cid, "stopped", timeout=60) == "stopped"
    events = keyed(cg, "memory.events")
    assert events["oom_kill"] >= 1, events
    delete(husk, cid)
    assert not cg.exists()


# ---------------------------------------------------------------------------- bad values

IMPOSSIBLE = {
    # A CPU this machine does not have.
    "cpuset": ({"cpu": {"cpus": "1023"}}, "cpuset.cpus"),
    # A cgroup file that does not exist.
    "unified-key": ({"unified": {"memory.nonexistent": "1"}}, "memory.nonexistent"),
    # memory+swap below memory alone.
    "swap-below-limit": ({"memory": {"limit": 64 * MiB, "swap": 32 * MiB}}, "swap"),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_impossible_value_fails_cleanly(husk, bundle, unique_id, assert_clean, case):
    resources, word = IMPOSSIBLE[case]
    cid = unique_id()
    proc = husk("create", "--bundle", bundle(set_resources(**resources)), cid)
    assert proc.returncode != 0, helpers.describe(proc)
    assert word in proc.stderr, f"the error does not name {word!r}\n{helpers.describe(proc)}"
    assert husk("state", cid).returncode != 0, "the container exists after a failed create"
    assert_clean()


# ---------------------------------------------------------------------------- devices


def test_device_filter_without_resources(bundle, run_probe):
    """No linux.resources at all still gets the default device filter (deny all but the
    devices every container has): a disk node in the image cannot be opened."""
    major, minor = disk_numbers()

    def mutate(config):
        linux = config.setdefault("linux", {})
        linux.pop("resources", None)
        linux.setdefault("devices", []).append({
            "path": "/dev/testdisk", "type": "b", "major": major, "minor": minor,
            "fileMode": 0o660, "uid": 0, "gid": 0})

    denied = run_probe(bundle(mutate, args=["/bin/probe", "read", "/dev/testdisk"]))
    allowed = run_probe(bundle(mutate, args=["/bin/probe", "read", "/dev/zero"]))
    assert allowed["ok"], allowed
    assert not denied["ok"] and denied["errno_name"] == "EPERM", denied


def test_device_rules_ebpf(bundle, run_probe):
    """On cgroup v2 the device rules are an eBPF program attached to the cgroup: a denied
    device gives EPERM on open even though its node exists; an allowed one works."""
    major, minor = disk_numbers()

    def mutate(config):
        linux = config.setdefault("linux", {})
        linux.setdefault("devices", []).append({
            "path": "/dev/testdisk", "type": "b", "major": major, "minor": minor,
            "fileMode": 0o660, "uid": 0, "gid": 0})
        linux.setdefault("resources", {})["devices"] = [
            {"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        ]

    denied = run_probe(bundle(mutate, args=["/bin/probe", "read", "/dev/testdisk"]))
    allowed = run_probe(bundle(mutate, args=["/bin/probe", "read", "/dev/null"]))
    assert allowed["ok"], allowed
    assert not denied["ok"] and denied["errno_name"] == "EPERM", denied
