"""The systemd cgroup driver (`husk --systemd-cgroup`) against a real systemd.

They need systemd as PID 1 answering on its private socket, on a pure cgroup v2 host; the
dev machines have neither, so they skip there and tests/vm/run-systemd-tests.sh runs them
in a VM that boots systemd (`HUSK_VM_SYSTEMD=1 tests/vm/run.sh`, tests/vm/README.md).

What is checked is what an engine relying on runc's systemd driver expects: a transient
scope named after linux.cgroupsPath ("slice:prefix:name") holding the container, with
Delegate=yes; the resources visible both as unit properties (what `systemctl show` and
systemd's own re-applying use) and in the cgroup files; update changing both; delete
stopping the unit; bad paths and a second container with the same unit failing cleanly.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import helpers

CGROUP_ROOT = Path("/sys/fs/cgroup")
SD = ("--systemd-cgroup",)
MiB = 1024 * 1024


def pid1_is_systemd():
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def pure_cgroup_v2():
    return (CGROUP_ROOT / "cgroup.controllers").is_file() and not any(
        " - cgroup " in line for line in Path("/proc/self/mountinfo").read_text().splitlines())


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the systemd driver needs root"),
    pytest.mark.skipif(not pid1_is_systemd(),
                       reason="PID 1 is not systemd (run: HUSK_VM_SYSTEMD=1 tests/vm/run.sh "
                              "tests/vm/run-systemd-tests.sh)"),
    pytest.mark.skipif(not Path("/run/systemd/private").exists(),
                       reason="systemd does not listen on /run/systemd/private"),
    pytest.mark.skipif(not pure_cgroup_v2(), reason="needs a pure cgroup v2 host"),
]


# ---------------------------------------------------------------------------- helpers


def systemctl_show(unit, *props):
    out = subprocess.run(["systemctl", "show", "-p", ",".join(props), unit],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def load_state(unit):
    return systemctl_show(unit, "LoadState")["LoadState"]


def wait_unit_gone(unit, seconds=10):
    deadline = time.monotonic() + seconds
    while load_state(unit) != "not-found" and time.monotonic() < deadline:
        time.sleep(0.1)
    return load_state(unit)


def cgroup_line(pid):
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise AssertionError(f"no cgroup v2 line in /proc/{pid}/cgroup")


def read_ctl(rel, name):
    return (CGROUP_ROOT / rel.lstrip("/") / name).read_text().strip()


def shares_to_weight(shares):
    """runc's and crun's cpu.shares -> cpu.weight mapping."""
    return 1 + ((shares - 2) * 9999) // 262142


def mutator(cgroups_path=None, resources=None, devices=None):
    def mutate(config):
        linux = config.setdefault("linux", {})
        if cgroups_path is None:
            linux.pop("cgroupsPath", None)
        else:
            linux["cgroupsPath"] = cgroups_path
        if resources is not None:
            linux.setdefault("resources", {}).update(resources)
        if devices is not None:
            linux.setdefault("devices", []).extend(devices)
    return mutate


def create(husk, bundle_dir, cid):
    proc = husk("create", "--bundle", bundle_dir, cid, global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)
    assert "using cgroupfs" not in proc.stderr, helpers.describe(proc)
    return json.loads(husk("state", cid, check=True).stdout)["pid"]


def delete(husk, cid):
    proc = husk("delete", "--force", cid, global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)


def run_probe(husk, bundle_dir, cid):
    proc = husk("run", "--bundle", bundle_dir, cid, global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)
    return helpers.parse_json_output(proc.stdout)


def disk_numbers():
    disk = os.environ.get("HUSK_VM_DISK")
    if not disk or not Path(disk).is_block_device():
        pytest.skip("no spare block device (HUSK_VM_DISK)")
    st = os.stat(disk)
    return os.major(st.st_rdev), os.minor(st.st_rdev)


# ---------------------------------------------------------------------------- the scope


def test_scope_with_delegate(husk, bundle, unique_id):
    cid = unique_id()
    unit = f"husk-{cid}.scope"
    pid = create(husk, bundle(mutator(f"system.slice:husk:{cid}")), cid)
    props = systemctl_show(unit, "ActiveState", "Delegate", "Slice", "ControlGroup",
                           "Description")
    assert props["ActiveState"] == "active", props
    assert props["Delegate"] == "yes", props
    assert props["Slice"] == "system.slice", props
    assert props["ControlGroup"] == f"/system.slice/{unit}", props
    assert props["Description"] == f"husk container {cid}", props
    assert cgroup_line(pid) == f"/system.slice/{unit}"
    delete(husk, cid)


def test_default_cgroups_path(husk, bundle, unique_id):
    """No linux.cgroupsPath: system.slice:husk:<id>, as runc does."""
    cid = unique_id()
    pid = create(husk, bundle(mutator(None)), cid)
    assert cgroup_line(pid) == f"/system.slice/husk-{cid}.scope"
    assert systemctl_show(f"husk-{cid}.scope", "ActiveState")["ActiveState"] == "active"
    delete(husk, cid)


def test_resources_as_properties_and_files(husk, bundle, unique_id):
    cid = unique_id()
    unit = f"husk-{cid}.scope"
    rel = f"/system.slice/{unit}"
    create(husk, bundle(mutator(f"system.slice:husk:{cid}", resources={
        "memory": {"limit": 64 * MiB, "reservation": 16 * MiB},
        "pids": {"limit": 10},
        "cpu": {"quota": 50000, "period": 100000, "shares": 512},
    })), cid)
    props = systemctl_show(unit, "MemoryMax", "MemoryLow", "TasksMax", "CPUQuotaPerSecUSec",
                           "CPUQuotaPeriodUSec", "CPUWeight", "MemoryAccounting",
                           "TasksAccounting", "CPUAccounting", "IOAccounting")
    assert props["MemoryMax"] == str(64 * MiB), props
    assert props["MemoryLow"] == str(16 * MiB), props
    assert props["TasksMax"] == "10", props
    assert props["CPUQuotaPerSecUSec"] == "500ms", props
    assert props["CPUQuotaPeriodUSec"] == "100ms", props
    assert props["CPUWeight"] == str(shares_to_weight(512)), props
    for acct in ("MemoryAccounting", "TasksAccounting", "CPUAccounting", "IOAccounting"):
        assert props[acct] == "yes", props
    assert read_ctl(rel, "memory.max") == str(64 * MiB)
    assert read_ctl(rel, "memory.low") == str(16 * MiB)
    assert read_ctl(rel, "pids.max") == "10"
    assert read_ctl(rel, "cpu.max") == "50000 100000"
    assert read_ctl(rel, "cpu.weight") == str(shares_to_weight(512))
    delete(husk, cid)


def test_cpuset_as_property(husk, bundle, unique_id):
    if "cpuset" not in (CGROUP_ROOT / "cgroup.controllers").read_text().split():
        pytest.skip("no cpuset controller")
    cid = unique_id()
    unit = f"husk-{cid}.scope"
    create(husk, bundle(mutator(f"system.slice:husk:{cid}",
                                resources={"cpu": {"cpus": "0", "mems": "0"}})), cid)
    props = systemctl_show(unit, "AllowedCPUs", "AllowedMemoryNodes")
    assert props == {"AllowedCPUs": "0", "AllowedMemoryNodes": "0"}, props
    assert read_ctl(f"/system.slice/{unit}", "cpuset.cpus") == "0"
    delete(husk, cid)


def test_pids_limit_is_enforced(husk, bundle, unique_id):
    cid = unique_id()
    report = run_probe(husk, bundle(mutator(f"system.slice:husk:{cid}",
                                            resources={"pids": {"limit": 10}}),
                                    args=["/bin/probe", "fork", "30"]), cid)
    assert 0 < report["forked"] <= 9, report
    assert report["errno_name"] == "EAGAIN", report
    assert wait_unit_gone(f"husk-{cid}.scope") == "not-found"


def test_device_filter_still_applies(husk, bundle, unique_id):
    """The eBPF device filter goes through cgroupfs on systemd's scope: a disk node in the
    image cannot be opened, /dev/null can."""
    major, minor = disk_numbers()
    disk = [{"path": "/dev/testdisk", "type": "b", "major": major, "minor": minor,
             "fileMode": 0o660, "uid": 0, "gid": 0}]
    denied_id, allowed_id = unique_id(), unique_id()
    denied = run_probe(husk, bundle(mutator(f"system.slice:husk:{denied_id}", devices=disk),
                                    args=["/bin/probe", "read", "/dev/testdisk"]), denied_id)
    allowed = run_probe(husk, bundle(mutator(f"system.slice:husk:{allowed_id}", devices=disk),
                                     args=["/bin/probe", "read", "/dev/null"]), allowed_id)
    assert allowed["ok"], allowed
    assert not denied["ok"] and denied["errno_name"] == "EPERM", denied


def test_exec_joins_the_scope(husk, bundle, unique_id, tmp_path):
    cid = unique_id()
    unit = f"husk-{cid}.scope"
    create(husk, bundle(mutator(f"system.slice:husk:{cid}"),
                        args=["/bin/probe", "sleep", "30"]), cid)
    husk("start", cid, check=True)
    pid_file = tmp_path / "exec.pid"
    proc = husk("exec", "--detach", "--pid-file", pid_file, cid, "/bin/probe", "sleep", "10",
                global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)
    assert cgroup_line(int(pid_file.read_text())) == f"/system.slice/{unit}"
    delete(husk, cid)


def test_systemd_reapplying_keeps_limits_and_device_filter(husk, bundle, unique_id):
    """systemd rewrites a unit's cgroup files from its properties when it re-applies them
    (a property change, daemon-reload): the limits must come out as husk set them, and the
    device filter husk attached must stay.  (daemon-reload itself is not used: the test VM
    runs systemd with SYSTEMD_UNIT_PATH set, which hides /run/systemd/transient, so a
    reload drops every transient unit's properties, runc's too.)"""
    major, minor = disk_numbers()
    cid = unique_id()
    rel = f"/system.slice/husk-{cid}.scope"
    disk = [{"path": "/dev/testdisk", "type": "b", "major": major, "minor": minor,
             "fileMode": 0o660, "uid": 0, "gid": 0}]
    create(husk, bundle(mutator(f"system.slice:husk:{cid}", devices=disk, resources={
        "memory": {"limit": 64 * MiB}, "pids": {"limit": 10},
        "cpu": {"quota": 50000, "period": 100000, "shares": 512}}),
        args=["/bin/probe", "sleep", "30"]), cid)
    husk("start", cid, check=True)
    # Each accounting property invalidates its controller: systemd writes its files anew.
    subprocess.run(["systemctl", "set-property", "--runtime", f"husk-{cid}.scope",
                    "MemoryAccounting=yes", "TasksAccounting=yes", "CPUAccounting=yes",
                    "DevicePolicy=auto"], check=True, timeout=60)
    assert read_ctl(rel, "memory.max") == str(64 * MiB)
    assert read_ctl(rel, "pids.max") == "10"
    assert read_ctl(rel, "cpu.max") == "50000 100000"
    assert read_ctl(rel, "cpu.weight") == str(shares_to_weight(512))
    proc = husk("exec", cid, "/bin/probe", "read", "/dev/testdisk", global_args=SD)
    report = helpers.parse_json_output(proc.stdout)
    assert not report["ok"] and report["errno_name"] == "EPERM", report
    delete(husk, cid)


# ---------------------------------------------------------------------------- update, delete


def test_update_changes_property_and_file(husk, bundle, unique_id):
    cid = unique_id()
    unit = f"husk-{cid}.scope"
    rel = f"/system.slice/{unit}"
    create(husk, bundle(mutator(f"system.slice:husk:{cid}", resources={
        "memory": {"limit": 64 * MiB}, "pids": {"limit": 10}})), cid)
    proc = husk("update", "--memory", "128m", "--pids-limit", "20", "--cpu-quota", "25000",
                "--cpu-period", "100000", cid, global_args=SD)
    assert proc.returncode == 0, helpers.describe(proc)
    props = systemctl_show(unit, "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec")
    assert props == {"MemoryMax": str(128 * MiB), "TasksMax": "20",
                     "CPUQuotaPerSecUSec": "250ms"}, props
    assert read_ctl(rel, "memory.max") == str(128 * MiB)
    assert read_ctl(rel, "pids.max") == "20"
    assert read_ctl(rel, "cpu.max") == "25000 100000"
    delete(husk, cid)


def test_delete_stops_the_unit(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    unit = f"husk-{cid}.scope"
    create(husk, bundle(mutator(f"system.slice:husk:{cid}"),
                        args=["/bin/probe", "sleep", "30"]), cid)
    husk("start", cid, check=True)
    assert systemctl_show(unit, "ActiveState")["ActiveState"] == "active"
    delete(husk, cid)
    assert load_state(unit) == "not-found"
    assert not (CGROUP_ROOT / "system.slice" / unit).exists()
    assert_clean()


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("cgroups_path,message", [
    ("a:b", "expected \"slice:prefix:name\""),
    ("x.slice:p:../n", "invalid unit name"),
    ("system.slice:p:other.slice", "a slice's parent is given by its name"),
    ("system.slice:p@x:n", "invalid character '@'"),
])
def test_bad_cgroups_path(husk, bundle, unique_id, root_dir, assert_clean, cgroups_path,
                          message):
    cid = unique_id()
    before = units_named("husk")
    proc = husk("create", "--bundle", bundle(mutator(cgroups_path)), cid, global_args=SD)
    assert proc.returncode != 0, helpers.describe(proc)
    assert message in proc.stderr, helpers.describe(proc)
    assert units_named("husk") == before
    assert not (root_dir / cid).exists()
    assert_clean()


def units_named(word):
    out = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                          f"*{word}*"], capture_output=True, text=True, timeout=30).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def test_second_container_same_unit(husk, bundle, unique_id, assert_clean):
    first, second = unique_id(), unique_id()
    path = f"system.slice:husk:{first}"
    unit = f"husk-{first}.scope"
    pid = create(husk, bundle(mutator(path)), first)
    proc = husk("create", "--bundle", bundle(mutator(path)), second, global_args=SD)
    assert proc.returncode != 0, helpers.describe(proc)
    assert f"unit \"{unit}\" already exists" in proc.stderr, helpers.describe(proc)
    # The first one is untouched.
    assert systemctl_show(unit, "ActiveState")["ActiveState"] == "active"
    assert cgroup_line(pid) == f"/system.slice/{unit}"
    assert husk("state", second).returncode != 0
    delete(husk, first)
    assert_clean()


def test_slice_unit(husk, bundle, unique_id):
    """A name that is a slice: a transient slice (no processes of its own in systemd's
    view), the container's init joined to it through cgroupfs."""
    cid = unique_id()
    name = "system-husk" + cid.replace("-", "_") + ".slice"
    try:
        pid = create(husk, bundle(mutator(f"system.slice:ignored:{name}")), cid)
        assert systemctl_show(name, "ActiveState")["ActiveState"] == "active"
        assert cgroup_line(pid) == f"/system.slice/{name}"
        delete(husk, cid)
        # A stopped slice may stay loaded (inactive) until systemd collects it.
        assert systemctl_show(name, "ActiveState")["ActiveState"] in ("inactive", ""), name
        assert not (CGROUP_ROOT / "system.slice" / name).exists()
    finally:
        subprocess.run(["systemctl", "stop", name], capture_output=True, timeout=30)
