"""Kernel-feature fallbacks: HUSK_TEST_NO_CLONE3=1 makes husk use clone(2) instead of
clone3(2); the same containers must work (namespaces, user and time namespaces, cgroup)."""

import os
import re
import shutil
import subprocess

import pytest

import helpers
import lifecycle_helpers as lh

NO_CLONE3 = dict(os.environ, HUSK_TEST_NO_CLONE3="1")


def run_report(husk, b, cid, env=NO_CLONE3):
    proc = husk("run", "--bundle", b, cid, env=env)
    assert proc.returncode == 0, helpers.describe(proc)
    return helpers.parse_json_output(proc.stdout)


def test_default_container_without_clone3(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    report = run_report(husk, bundle(lambda c: c.update(hostname="no-clone3")), cid)
    assert report["pid"] == 1
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert report["namespaces"][ns] != lh.host_ns(ns), ns
    assert report["hostname"] == "no-clone3"
    assert_clean()


def test_cgroup_without_clone3(husk, bundle, unique_id, assert_clean):
    """Without CLONE_INTO_CGROUP the child must still be moved into the container's cgroup
    before the user process runs."""
    cid = unique_id()
    report = run_report(husk, bundle(lambda c: lh.drop_namespace(c, "cgroup")), cid)
    for line in report["cgroup"]:
        assert f"/husk/{cid}" in line or line.endswith(f"/{cid}"), report["cgroup"]
    assert_clean()


def test_user_namespace_without_clone3(husk, bundle, tmp_path, unique_id, assert_clean):
    lh.make_traversable(tmp_path)

    def mutate(config):
        lh.ensure_namespace(config, "user")
        mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["linux"]["uidMappings"] = mapping
        config["linux"]["gidMappings"] = mapping
    report = run_report(husk, bundle(mutate), unique_id())
    assert [int(x) for x in report["uid_map"].split()] == [0, 100000, 65536]
    assert report["namespaces"]["user"] != lh.host_ns("user")
    assert_clean()


def test_time_namespace_without_clone3(husk, bundle, unique_id, assert_clean):
    """clone(2) cannot take CLONE_NEWTIME (it overlaps the exit signal bits): the fallback
    has to unshare it."""
    def mutate(config):
        lh.ensure_namespace(config, "time")
        config["linux"]["timeOffsets"] = {"boottime": {"secs": 1_000_000, "nanosecs": 0}}
    b = bundle(mutate, args=["/bin/sh", "-c", "cat /proc/self/timens_offsets; /bin/probe"])
    proc = husk("run", "--bundle", b, unique_id(), env=NO_CLONE3)
    assert proc.returncode == 0, helpers.describe(proc)
    offsets = [line.split() for line in proc.stdout.splitlines()[:2]]
    assert ["boottime", "1000000", "0"] in offsets, proc.stdout
    report = helpers.parse_json_output(proc.stdout)
    assert report["namespaces"]["time"] != lh.host_ns("time")
    assert_clean()


def test_exec_without_clone3(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    proc = husk("exec", cid, "/bin/probe", env=NO_CLONE3)
    assert proc.returncode == 0, helpers.describe(proc)
    report = helpers.parse_json_output(proc.stdout)
    assert report["namespaces"]["pid"] == lh.host_ns("pid", st["pid"])
    husk("delete", "--force", cid, check=True)
    assert_clean()


def strace_clone_calls(husk_bin, root_dir, b, cid, env, tmp_path):
    trace = tmp_path / f"strace-{cid}.txt"
    # Under ptrace LeakSanitizer cannot run (sanitizer builds of husk): don't ask it to.
    env = dict(env, ASAN_OPTIONS=(env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":"))
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=clone,clone3", "-o", str(trace),
                           str(husk_bin), "--root", str(root_dir), "run", "--bundle", str(b),
                           cid], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, helpers.describe(proc)
    lines = trace.read_text().splitlines()
    return ([line for line in lines if re.search(r"\bclone3\(", line)],
            [line for line in lines if re.search(r"\bclone\(", line)])


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_strace_no_clone3_when_disabled(husk_bin, root_dir, bundle, tmp_path, unique_id,
                                        assert_clean):
    b = bundle(args=["/bin/probe", "exit", "0"])
    clone3, clone = strace_clone_calls(husk_bin, root_dir, b, unique_id(), NO_CLONE3, tmp_path)
    assert clone3 == [], clone3
    assert any("CLONE_NEWPID" in line for line in clone), clone
    # And the default does use clone3, so that the assertion above means something.
    clone3, _ = strace_clone_calls(husk_bin, root_dir, b, unique_id(), dict(os.environ),
                                   tmp_path)
    assert any("CLONE_NEWPID" in line for line in clone3), clone3
    assert_clean()


# --------------------------------------------------------------------------- no pidfds

NO_PIDFD = dict(os.environ, HUSK_TEST_NO_PIDFD="1")


def test_lifecycle_without_pidfd(husk, bundle, unique_id, assert_clean):
    """HUSK_TEST_NO_PIDFD=1: kill, exec (namespaces joined one /proc/PID/ns file at a time),
    delete --force (waiting without a pidfd) and hooks with a timeout still work."""
    def mutate(config):
        config["hooks"] = {"poststart": [{"path": "/bin/true", "timeout": 5}]}
    cid = unique_id()
    b = bundle(mutate, args=["/bin/probe", "wait-signal"])
    proc = husk("run", "--detach", "--bundle", b, cid, env=NO_PIDFD)
    assert proc.returncode == 0, helpers.describe(proc)
    init = lh.state(husk, cid)
    proc = husk("exec", cid, "/bin/probe", env=NO_PIDFD)
    assert proc.returncode == 0, helpers.describe(proc)
    report = helpers.parse_json_output(proc.stdout)
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert report["namespaces"][ns] == lh.host_ns(ns, init["pid"]), ns
    proc = husk("kill", cid, "USR1", env=NO_PIDFD)
    assert proc.returncode == 0, helpers.describe(proc)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    proc = husk("delete", "--force", cid, env=NO_PIDFD)
    assert proc.returncode == 0, helpers.describe(proc)
    assert_clean()
