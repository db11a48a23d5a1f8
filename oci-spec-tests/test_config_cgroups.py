"""config-linux.md "Control groups": checked from the host while the container runs, in
whatever layout the host has (cgroup v1 controllers, hybrid, or pure v2).  A check whose
controller is not mounted here is skipped with the reason."""

import pytest

import ocitest


def cgroup_file(controller, cgroups_path, v1_name, v2_name):
    """The host file of one controller setting, or skip when the host lacks it."""
    d = ocitest.controller_dir(controller, cgroups_path)
    if d is None:
        pytest.skip(f"the {controller} controller is not mounted on this host")
    v2 = any(is_v2 and controller in ctrls and str(d).startswith(str(mnt))
             for mnt, ctrls, is_v2 in ocitest.cgroup_hierarchies())
    return d / (v2_name if v2 else v1_name), v2


def resources(**res):
    def mutate(config):
        config["linux"]["resources"] = res
    return mutate


def running_with(oci, mutate):
    b, state = oci.start_long_running(mutate=mutate)
    return b, state, b.config["linux"]["cgroupsPath"]


def proc_cgroups(pid):
    """{controller or "" (v2): path} from /proc/PID/cgroup."""
    result = {}
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        for ctrl in (ctrls.split(",") if ctrls else [""]):
            result[ctrl.removeprefix("name=")] = path
    return result


def test_cgroups_path_absolute(oci, rt):
    """config-linux.md: "In the case of an absolute path (starting with `/`), the runtime
    MUST take the path to be relative to the cgroups mount point." -- the container process
    is in /ocitest/<id> of the memory and pids hierarchies (or of cgroup v2)."""
    b, state, path = running_with(oci, None)
    cgroups = proc_cgroups(state["pid"])
    checked = []
    for ctrl in ("memory", "pids"):
        d = ocitest.controller_dir(ctrl, path)
        if d is None:
            continue
        v2 = "" in cgroups and ctrl not in cgroups
        assert cgroups["" if v2 else ctrl] == path, (ctrl, cgroups)
        assert str(state["pid"]) in (d / "cgroup.procs").read_text().split()
        checked.append(ctrl)
    if not checked:
        pytest.skip("neither memory nor pids is mounted on this host")


def test_cgroups_path_same_place_again(oci, rt):
    """config-linux.md: "If the value is specified, the runtime MUST consistently attach to
    the same place in the cgroups hierarchy given the same value of `cgroupsPath`." -- a
    process run with `exec` lands in the container's cgroups."""
    b, state, path = running_with(oci, None)
    res = rt("exec", b.cid, "/bin/cat", "/proc/self/cgroup")
    assert res.ok, res
    init = open(f"/proc/{state['pid']}/cgroup").read().splitlines()
    assert sorted(res.stdout.splitlines()) == sorted(init)


def test_memory_limit(oci, rt):
    """config-linux.md: memory "`limit` *(int64, OPTIONAL)* - sets limit of memory usage"."""
    limit = 64 * 1024 * 1024
    b, state, path = running_with(oci, resources(memory={"limit": limit}))
    f, _ = cgroup_file("memory", path, "memory.limit_in_bytes", "memory.max")
    assert int(f.read_text()) == limit


def test_memory_reservation(oci, rt):
    """config-linux.md: memory "`reservation` *(int64, OPTIONAL)* - sets soft limit of
    memory usage"."""
    value = 32 * 1024 * 1024
    b, state, path = running_with(oci, resources(memory={"reservation": value}))
    f, _ = cgroup_file("memory", path, "memory.soft_limit_in_bytes", "memory.low")
    assert int(f.read_text()) == value


def test_pids_limit(oci, rt):
    """config-linux.md: pids "`limit` *(int64, OPTIONAL)* - specifies the maximum number of
    tasks in the cgroup"."""
    b, state, path = running_with(oci, resources(pids={"limit": 42}))
    f, _ = cgroup_file("pids", path, "pids.max", "pids.max")
    assert f.read_text().strip() == "42"


def test_pids_limit_enforced(oci, rt):
    """config-linux.md: pids "`limit` ... specifies the maximum number of tasks in the
    cgroup" -- with limit 1 the container's shell cannot fork."""
    if ocitest.controller_dir("pids", "/") is None:
        pytest.skip("the pids controller is not mounted on this host")
    res = oci.run_sh("/bin/true && echo forked", resources(pids={"limit": 1}))
    assert "forked" not in res.stdout, res


def test_cpu_shares(oci, rt):
    """config-linux.md: cpu "`shares` *(uint64, OPTIONAL)* - specifies a relative share of
    CPU time available to the tasks in a cgroup" (v1 cpu.shares; on v2 it is converted to
    cpu.weight, where any value other than the default 100 shows it was applied)."""
    b, state, path = running_with(oci, resources(cpu={"shares": 512}))
    f, v2 = cgroup_file("cpu", path, "cpu.shares", "cpu.weight")
    if v2:
        assert int(f.read_text()) not in (0, 100)
    else:
        assert int(f.read_text()) == 512


def test_cpu_quota_period(oci, rt):
    """config-linux.md: cpu "`quota` *(int64, OPTIONAL)* - specifies the total amount of
    time in microseconds for which all tasks in a cgroup can run during one period" and
    "`period` *(uint64, OPTIONAL)* - specifies a period of time in microseconds"."""
    b, state, path = running_with(oci, resources(cpu={"quota": 50000, "period": 200000}))
    f, v2 = cgroup_file("cpu", path, "cpu.cfs_quota_us", "cpu.max")
    if v2:
        assert f.read_text().split() == ["50000", "200000"]
    else:
        assert int(f.read_text()) == 50000
        assert int((f.parent / "cpu.cfs_period_us").read_text()) == 200000


def test_cpuset_cpus(oci, rt):
    """config-linux.md: cpu "`cpus` *(string, OPTIONAL)* - list of CPUs the container will
    run on"."""
    b, state, path = running_with(oci, resources(cpu={"cpus": "0"}))
    f, _ = cgroup_file("cpuset", path, "cpuset.cpus", "cpuset.cpus")
    assert f.read_text().strip() == "0"


# A character device number no driver owns: open(2) fails with ENXIO when the device
# cgroup allows it and with EPERM when it does not, so the two are easy to tell apart.
TEST_DEVICE = {"path": "/dev/ocitest-dev", "type": "c", "major": 240, "minor": 77,
               "fileMode": 0o666}


def device_rules(*rules):
    def mutate(config):
        config["linux"]["devices"] = [dict(TEST_DEVICE)]
        config["linux"]["resources"] = {"devices": [dict(r) for r in rules]}
    return mutate


def device_access(oci, *rules):
    if ocitest.controller_dir("devices", "/") is None and not any(
            is_v2 for _, _, is_v2 in ocitest.cgroup_hierarchies()):
        pytest.skip("no device cgroup on this host")
    return oci.run_probe(device_rules(*rules), args=("access", TEST_DEVICE["path"], "r",
                                                     TEST_DEVICE["path"], "w"))


def test_device_allowlist_in_listed_order_deny_last(oci, rt):
    """config-linux.md: "The runtime MUST apply entries in the listed order." -- allow
    rwm then deny w: reading is allowed, writing is denied."""
    report = device_access(oci,
                           {"allow": True, "type": "c", "major": 240, "minor": 77,
                            "access": "rwm"},
                           {"allow": False, "type": "c", "major": 240, "minor": 77,
                            "access": "w"})
    assert report == {"/dev/ocitest-dev:r": "ENXIO", "/dev/ocitest-dev:w": "EPERM"}


def test_device_allowlist_in_listed_order_allow_last(oci, rt):
    """config-linux.md: "The runtime MUST apply entries in the listed order." -- deny all
    then allow rw: both are allowed."""
    report = device_access(oci,
                           {"allow": False, "access": "rwm"},
                           {"allow": True, "type": "c", "major": 240, "minor": 77,
                            "access": "rw"})
    assert report == {"/dev/ocitest-dev:r": "ENXIO", "/dev/ocitest-dev:w": "ENXIO"}


def test_device_deny_all(oci, rt):
    """config-linux.md: device allowlist `allow` "whether the entry is allowed or denied"
    -- deny all (type and numbers unset mean "all"): the test device cannot be opened."""
    report = device_access(oci, {"allow": False, "access": "rwm"})
    assert report == {"/dev/ocitest-dev:r": "EPERM", "/dev/ocitest-dev:w": "EPERM"}


def test_cgroups_removed_on_delete(oci, rt):
    """runtime.md: "Deleting a container MUST delete the resources that were created during
    the `create` step." -- the cgroups at cgroupsPath, in every hierarchy."""
    b, state, path = running_with(oci, resources(pids={"limit": 50}))
    assert ocitest.cgroup_dirs_of(b.cid), "no cgroup was created at cgroupsPath"
    oci.stop(b.cid)
    assert rt.delete(b.cid).ok
    assert ocitest.cgroup_dirs_of(b.cid) == []


def test_unified_unknown_controller_errors(oci, rt):
    """config-linux.md: "The runtime MUST generate an error when the configuration refers
    to a cgroup controller that is not present or that cannot be enabled.\""""
    b = oci.bundle(mutate=lambda c: c["linux"].update(
        resources={"unified": {"ocitestbogus.max": "1"}}))
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)
