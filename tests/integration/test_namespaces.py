"""linux.namespaces, uid/gid mappings, hostname/domainname, timeOffsets and sysctl:
compared from inside (the probe) with the host's /proc/self/ns."""

import os
import subprocess
from pathlib import Path

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line

ALL_TYPES = list(lh.NAMESPACE_FILES)
USER_MAPPING = [{"containerID": 0, "hostID": 100000, "size": 65536}]


@pytest.fixture(autouse=True)
def traversable_tmp(tmp_path):
    """Bundles live in tmp_path; a user namespace's root must be able to reach them."""
    lh.make_traversable(tmp_path)


def add_user_ns(config):
    lh.ensure_namespace(config, "user")
    config["linux"]["uidMappings"] = USER_MAPPING
    config["linux"]["gidMappings"] = USER_MAPPING


def drop_mounts(config, *destinations):
    config["mounts"] = [m for m in config["mounts"] if m["destination"] not in destinations]


def only_namespaces(types):
    """A mutator that lists exactly `types` (plus mount, which the rootfs needs); what a
    namespace type needs to be alone is adjusted here."""
    def mutate(config):
        wanted = ["mount"] + [t for t in types if t != "mount"]
        if "user" in wanted and "pid" not in wanted:
            wanted.append("pid")  # proc can only be mounted by the owner of the pid ns
        lh.set_namespaces(config, wanted)
        if "uts" not in wanted:
            config.pop("hostname", None)
            config.pop("domainname", None)
        if "user" in wanted:
            add_user_ns(config)
            if "network" not in wanted:
                # sysfs belongs to the host's network namespace: not mountable in a user ns
                drop_mounts(config, "/sys", "/sys/fs/cgroup")
            if "ipc" not in wanted:
                drop_mounts(config, "/dev/mqueue")  # likewise for the host's ipc namespace
                config["linux"]["maskedPaths"] = [
                    p for p in config["linux"].get("maskedPaths", []) if not p.startswith("/sys")]
    return mutate


def ns_of(report, ns_type):
    return report["namespaces"][lh.NAMESPACE_FILES[ns_type]]


@pytest.mark.parametrize("ns_type", [t for t in ALL_TYPES if t != "mount"])
def test_listed_namespace_is_new_others_are_hosts(run_probe, bundle, assert_clean, ns_type):
    report = run_probe(bundle(only_namespaces([ns_type])))
    assert ns_of(report, "mount") != lh.host_ns("mnt")
    assert ns_of(report, ns_type) != lh.host_ns(lh.NAMESPACE_FILES[ns_type]), ns_type
    also_new = {"mount", ns_type} | ({"pid"} if ns_type == "user" else set())
    for other in ALL_TYPES:
        if other not in also_new:
            assert ns_of(report, other) == lh.host_ns(lh.NAMESPACE_FILES[other]), \
                f"{other} should be the host's when not listed"
    assert_clean()


def test_all_namespaces_at_once(run_probe, bundle, assert_clean):
    def mutate(config):
        lh.set_namespaces(config, ALL_TYPES)
        add_user_ns(config)
    report = run_probe(bundle(mutate))
    for ns_type in ALL_TYPES:
        assert ns_of(report, ns_type) != lh.host_ns(lh.NAMESPACE_FILES[ns_type]), ns_type
    assert report["pid"] == 1
    assert_clean()


@pytest.fixture
def foreign_netns():
    """A network namespace held by a sleeping `unshare --net` process."""
    holder = subprocess.Popen(["unshare", "--net", "sleep", "120"])
    try:
        path = Path(f"/proc/{holder.pid}/ns/net")
        host = lh.host_ns("net")
        assert lh.wait_until(lambda: os.readlink(path) != host, 5)
        yield path, os.readlink(path)
    finally:
        holder.kill()
        holder.wait()


def test_join_network_namespace_by_path(run_probe, bundle, assert_clean, foreign_netns):
    path, inode = foreign_netns
    report = run_probe(bundle(lambda c: lh.ensure_namespace(c, "network", path)))
    assert ns_of(report, "network") == inode
    assert ns_of(report, "network") != lh.host_ns("net")
    assert ns_of(report, "ipc") != lh.host_ns("ipc")  # the others are still new
    assert_clean()


@pytest.fixture
def cgroupns_bound_after_mountns(tmp_path):
    """A process in new mount and cgroup namespaces, and its cgroup namespace bound onto a
    file in the host's mount namespace after its own was copied: in that mount namespace the
    file is an empty file, not the namespace."""
    holder = subprocess.Popen(["unshare", "--mount", "--cgroup", "sleep", "120"])
    target = tmp_path / "cgns"
    target.touch()
    try:
        mnt = Path(f"/proc/{holder.pid}/ns/mnt")
        assert lh.wait_until(lambda: os.readlink(mnt) != lh.host_ns("mnt"), 5)
        cgroup = Path(f"/proc/{holder.pid}/ns/cgroup")
        subprocess.run(["mount", "--bind", str(cgroup), str(target)], check=True)
        yield mnt, target, os.readlink(cgroup)
    finally:
        subprocess.run(["umount", str(target)], check=False)
        holder.kill()
        holder.wait()


def test_join_cgroup_namespace_path_of_the_runtime_mount_namespace(
        run_probe, bundle, assert_clean, cgroupns_bound_after_mountns):
    """Namespace paths resolve where the runtime runs, even one joined after the mount
    namespace (the cgroup namespace waits for the cgroup)."""
    mnt, cgns_path, cgns_inode = cgroupns_bound_after_mountns

    def mutate(config):
        lh.ensure_namespace(config, "mount", str(mnt))
        lh.ensure_namespace(config, "cgroup", str(cgns_path))
    report = run_probe(bundle(mutate))
    assert ns_of(report, "cgroup") == cgns_inode
    assert ns_of(report, "mount") != lh.host_ns("mnt")
    subprocess.run(["umount", str(cgns_path)], check=True)  # ours, not the container's
    assert_clean()


def test_user_namespace_mappings(run_probe, bundle, assert_clean):
    report = run_probe(bundle(only_namespaces(["user", "network"])))
    assert [int(x) for x in report["uid_map"].split()] == [0, 100000, 65536]
    assert [int(x) for x in report["gid_map"].split()] == [0, 100000, 65536]
    assert report["uid"] == 0 and report["gid"] == 0
    assert_clean()


def test_user_namespace_file_ownership_seen_from_host(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        only_namespaces(["user", "network", "ipc", "uts"])(config)
        config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["mode=1777"]})
        for caps in config["process"]["capabilities"].values():
            caps.append("CAP_CHOWN")
    b = bundle(mutate, args=["/bin/sh", "-c",
                             "echo x > /tmp/root-file; chown 1000:1001 /tmp/root-file; "
                             "echo y > /tmp/user-file; chown 5:6 /tmp/user-file; "
                             "touch /tmp/done; sleep 1000"])
    cid = unique_id()
    st = lh.run_detached(husk, b, cid)
    tmp = Path(f"/proc/{st['pid']}/root/tmp")
    assert lh.wait_until((tmp / "done").exists), "the container did not write its files"
    owner = (tmp / "root-file").stat()
    assert (owner.st_uid, owner.st_gid) == (101000, 101001)
    owner = (tmp / "user-file").stat()
    assert (owner.st_uid, owner.st_gid) == (100005, 100006)
    assert (tmp / "done").stat().st_uid == 100000
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_hostname_and_domainname(run_probe, bundle, assert_clean):
    def mutate(config):
        config["hostname"] = "lt-host"
        config["domainname"] = "lt.example"
    report = run_probe(bundle(mutate))
    assert report["hostname"] == "lt-host"
    assert report["domainname"] == "lt.example"
    assert os.uname().nodename != "lt-host"
    assert_clean()


def host_uptime():
    return float(Path("/proc/uptime").read_text().split()[0])


def test_time_offsets(husk, bundle, unique_id, assert_clean):
    monotonic, boottime = 1_000_000, 2_000_000

    def mutate(config):
        lh.ensure_namespace(config, "time")
        config["linux"]["timeOffsets"] = {"monotonic": {"secs": monotonic, "nanosecs": 0},
                                          "boottime": {"secs": boottime, "nanosecs": 500}}
    b = bundle(mutate, args=["/bin/sh", "-c", "cat /proc/self/timens_offsets /proc/uptime"])
    before = host_uptime()
    proc = husk("run", "--bundle", b, unique_id())
    after = host_uptime()
    assert proc.returncode == 0, helpers.describe(proc)
    lines = proc.stdout.splitlines()
    offsets = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in lines[:2]}
    assert offsets == {"monotonic": [monotonic, 0], "boottime": [boottime, 500]}, proc.stdout
    uptime = float(lines[2].split()[0])
    assert before + boottime - 1 <= uptime <= after + boottime + 1, (before, uptime, after)
    assert_clean()


def test_sysctl_in_new_netns(run_probe, bundle, assert_clean):
    def mutate(config):
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "12345678"}
    report = run_probe(bundle(mutate, args=["/bin/probe", "read", "/proc/sys/net/ipv4/ip_forward"]))
    assert report["ok"] and report["content"].strip() == "1", report
    report = run_probe(bundle(mutate, args=["/bin/probe", "read", "/proc/sys/kernel/shmmax"]))
    assert report["ok"] and report["content"].strip() == "12345678", report
    assert_clean()


# ------------------------------------------------------------------------ bad input


def refuse(husk, b, cid, *words):
    proc = husk("create", "--bundle", b, cid, timeout=20)
    line = assert_one_error_line(proc, *words)
    assert helpers.container_status(husk, cid) is None, f"{cid} exists after: {line}"
    return line


def test_sysctl_not_namespaced_refused(husk, bundle, unique_id, assert_clean):
    before = Path("/proc/sys/kernel/panic").read_text()

    def mutate(config):
        config["linux"]["sysctl"] = {"kernel.panic": before.strip()}
    refuse(husk, bundle(mutate), unique_id(), "kernel.panic")
    assert Path("/proc/sys/kernel/panic").read_text() == before
    assert_clean()


def test_sysctl_net_without_netns_refused(husk, bundle, unique_id, assert_clean):
    # The host's own value: even a wrong write would change nothing on this machine.
    current = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()

    def mutate(config):
        lh.drop_namespace(config, "network")
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": current}
    refuse(husk, bundle(mutate), unique_id(), "net.ipv4.ip_forward")
    assert_clean()


def test_unknown_namespace_type(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        config["linux"]["namespaces"].append({"type": "bogus"})
    refuse(husk, bundle(mutate), unique_id(), "bogus")
    assert_clean()


def test_namespace_path_not_a_namespace(husk, bundle, unique_id, assert_clean):
    refuse(husk, bundle(lambda c: lh.ensure_namespace(c, "network", "/etc/passwd")),
           unique_id(), "/etc/passwd")
    assert_clean()


def test_namespace_path_missing(husk, bundle, unique_id, tmp_path, assert_clean):
    missing = tmp_path / "no-such-ns"
    refuse(husk, bundle(lambda c: lh.ensure_namespace(c, "ipc", missing)),
           unique_id(), str(missing))
    assert_clean()


def test_namespace_path_of_wrong_type(husk, bundle, unique_id, assert_clean):
    # A real namespace, but a uts one given as the network namespace.
    refuse(husk, bundle(lambda c: lh.ensure_namespace(c, "network", "/proc/1/ns/uts")),
           unique_id(), "/proc/1/ns/uts")
    assert_clean()


def test_hostname_without_uts_namespace(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        lh.drop_namespace(config, "uts")
        config["hostname"] = "lt-host"
    refuse(husk, bundle(mutate), unique_id(), "hostname")
    assert os.uname().nodename != "lt-host"
    assert_clean()


def test_uid_mappings_without_user_namespace(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        config["linux"]["uidMappings"] = USER_MAPPING
        config["linux"]["gidMappings"] = USER_MAPPING
    refuse(husk, bundle(mutate), unique_id(), "uidMappings")
    assert_clean()


def test_time_offsets_without_time_namespace(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        config["linux"]["timeOffsets"] = {"monotonic": {"secs": 10, "nanosecs": 0}}
    refuse(husk, bundle(mutate), unique_id(), "timeOffsets")
    assert_clean()
