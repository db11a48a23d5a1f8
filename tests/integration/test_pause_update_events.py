"""pause/resume, update and events on a v1/hybrid host: status rules, what the host sees,
and the JSON that events prints (runc's shape)."""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import assert_one_error_line, describe, wait_for_status

CG = Path("/sys/fs/cgroup")
MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    not (CG / "freezer").is_dir() or not (CG / "memory" / "memory.limit_in_bytes").exists(),
    reason="needs a cgroup v1 (legacy or hybrid) host with the freezer; v2 is tests/vm's")

HAS_MEMSW = (CG / "memory" / "memory.memsw.limit_in_bytes").exists()
SLEEP = ["/bin/probe", "sleep", "inf"]
BUSY = ["/bin/sh", "-c", "while :; do :; done"]


# ------------------------------------------------------------------------- helpers


def with_resources(resources):
    def mutate(config):
        config.setdefault("linux", {})["resources"] = resources
    return mutate


def start_detached(husk, bundle_dir, cid):
    husk("run", "--detach", "--bundle", bundle_dir, cid, check=True)
    state = json.loads(husk("state", cid, check=True).stdout)
    assert state["status"] == "running", state
    return state["pid"]


def host(ctrl, cid, name):
    return (CG / ctrl / "husk" / cid / name).read_text().strip()


def cpu_usage(cid):
    return int(host("cpuacct", cid, "cpuacct.usage"))


def stats(husk, cid):
    proc = husk("events", "--stats", cid, check=True)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, describe(proc)
    return json.loads(lines[0])


class EventsStream:
    """`husk events` in the background, its stdout in a file."""

    def __init__(self, husk_bin, root, cid, out, *args):
        self.out = out
        with open(out, "w") as f:
            self.proc = subprocess.Popen(
                [str(husk_bin), "--root", str(root), "events", *args, cid], stdout=f,
                stderr=subprocess.PIPE, text=True)

    def events(self):
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(e) for e in self.events()):
                return True
            time.sleep(0.05)
        return False

    def finish(self, timeout):
        try:
            _, err = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, err


# ------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["pause", "resume", "update", "events"])
def test_help(husk, command):
    proc = husk(command, "--help")
    assert proc.returncode == 0, describe(proc)
    assert "usage" in proc.stdout.lower() and command in proc.stdout
    assert command in husk("--help", check=True).stdout


@pytest.mark.parametrize("command", ["pause", "resume", "update", "events"])
def test_missing_id_is_a_usage_error(husk, command):
    assert_one_error_line(husk(command), command, "container id")


@pytest.mark.parametrize("command", ["pause", "resume", "update", "events"])
def test_unknown_container(husk, command, assert_clean):
    assert_one_error_line(husk(command, "nosuch"), "nosuch", "does not exist")
    assert_clean()


# ------------------------------------------------------------------------- pause / resume


def test_pause_freezes_and_resume_thaws(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    pid = start_detached(husk, bundle(args=BUSY), cid)
    husk("pause", cid, check=True)
    assert json.loads(husk("state", cid, check=True).stdout)["status"] == "paused"
    assert host("freezer", cid, "freezer.state") == "FROZEN"
    # A frozen busy loop uses no CPU at all.
    before = cpu_usage(cid)
    time.sleep(0.3)
    assert cpu_usage(cid) == before
    assert Path(f"/proc/{pid}/status").exists()

    husk("resume", cid, check=True)
    assert json.loads(husk("state", cid, check=True).stdout)["status"] == "running"
    assert host("freezer", cid, "freezer.state") == "THAWED"
    before = cpu_usage(cid)
    time.sleep(0.3)
    assert cpu_usage(cid) > before
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_pause_and_resume_status_rules(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    husk("create", "--bundle", bundle(args=SLEEP), cid, check=True)
    assert_one_error_line(husk("pause", cid), "cannot pause", cid, "status is created")
    assert_one_error_line(husk("resume", cid), "cannot resume", cid, "status is created")
    husk("start", cid, check=True)
    assert_one_error_line(husk("resume", cid), "cannot resume", "status is running")
    husk("pause", cid, check=True)
    assert_one_error_line(husk("pause", cid), "cannot pause", "status is paused")
    husk("resume", cid, check=True)
    husk("kill", cid, "KILL", check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    assert_one_error_line(husk("pause", cid), "cannot pause", "status is stopped")
    assert_one_error_line(husk("resume", cid), "cannot resume", "status is stopped")
    husk("delete", cid, check=True)
    assert_clean()


def test_exec_into_paused_container_fails(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("pause", cid, check=True)
    proc = husk("exec", cid, "/bin/probe", "exit", "0", timeout=10)
    assert_one_error_line(proc, cid, "paused")
    husk("resume", cid, check=True)
    husk("exec", cid, "/bin/probe", "exit", "0", check=True)
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_delete_force_of_paused_container(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("pause", cid, check=True)
    assert_one_error_line(husk("delete", cid), "paused")
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_kill_all_of_paused_container(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("pause", cid, check=True)
    husk("kill", "--all", cid, "KILL", check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)
    assert_clean()


def test_kill_init_of_paused_container(husk, bundle, unique_id):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("pause", cid, check=True)
    try:
        husk("kill", cid, "KILL", check=True)
        assert wait_for_status(husk, cid, "stopped", timeout=5) == "stopped"
    finally:
        husk("delete", "--force", cid)


# ------------------------------------------------------------------------- update


def test_update_flags_change_live_values(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    b = bundle(with_resources({"memory": {"limit": 64 * MIB}, "pids": {"limit": 10},
                               "cpu": {"shares": 1024}}), args=SLEEP)
    start_detached(husk, b, cid)
    husk("update", "--memory", "128m", "--memory-reservation", "64m", "--cpu-shares", "256",
         "--cpu-quota", "20000", "--cpu-period", "100000", "--pids-limit", "20",
         "--cpuset-cpus", "0", cid, check=True)
    assert host("memory", cid, "memory.limit_in_bytes") == str(128 * MIB)
    assert host("memory", cid, "memory.soft_limit_in_bytes") == str(64 * MIB)
    assert host("cpu", cid, "cpu.shares") == "256"
    assert host("cpu", cid, "cpu.cfs_quota_us") == "20000"
    assert host("cpu", cid, "cpu.cfs_period_us") == "100000"
    assert host("pids", cid, "pids.max") == "20"
    assert host("cpuset", cid, "cpuset.cpus") == "0"
    # runc's flag spelling, and unlimited values.
    husk("update", "--cpu-share", "300", "--pids-limit", "-1", "--cpu-quota", "-1", cid,
         check=True)
    assert host("cpu", cid, "cpu.shares") == "300"
    assert host("pids", cid, "pids.max") == "max"
    assert host("cpu", cid, "cpu.cfs_quota_us") == "-1"
    # The config copy keeps what the container was created with (documented choice).
    saved = json.loads(Path(json.loads(husk("state", cid, check=True).stdout)["bundle"],
                            "config.json").read_text())
    assert saved["linux"]["resources"]["pids"]["limit"] == 10
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_update_blkio_weight(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    names = [n for n in ("blkio.weight", "blkio.bfq.weight")
             if (CG / "blkio" / "husk" / cid / n).exists()]
    if not names:
        husk("delete", "--force", cid, check=True)
        pytest.skip("no proportional blkio weight on this host")
    husk("update", "--blkio-weight", "200", cid, check=True)
    assert host("blkio", cid, names[0]).split()[-1] == "200"
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_update_resources_file_then_flags_override(husk, bundle, unique_id, assert_clean,
                                                   tmp_path):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    doc = {"memory": {"limit": 96 * MIB}, "pids": {"limit": 30}, "cpu": {"shares": 700}}
    husk("update", "--resources", "-", "--pids-limit", "40", cid,
         input=json.dumps(doc), check=True)
    assert host("memory", cid, "memory.limit_in_bytes") == str(96 * MIB)
    assert host("pids", cid, "pids.max") == "40"
    assert host("cpu", cid, "cpu.shares") == "700"
    path = tmp_path / "resources.json"
    path.write_text(json.dumps({"pids": {"limit": 50}}))
    husk("update", "-r", path, cid, check=True)
    assert host("pids", cid, "pids.max") == "50"
    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("value,expected", [
    ("100m", 100 * MIB), ("1g", 1 << 30), ("1G", 1 << 30), ("262144k", 256 * MIB),
    ("200MB", 200 * MIB), ("300MiB", 300 * MIB), ("1.5g", 3 << 29), ("83886080", 80 * MIB),
])
def test_update_memory_sizes(husk, bundle, unique_id, assert_clean, value, expected):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("update", "--memory", value, cid, check=True)
    assert host("memory", cid, "memory.limit_in_bytes") == str(expected)
    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.skipif(not HAS_MEMSW, reason="needs swap accounting (memory.memsw.*)")
def test_update_memory_keeps_swap_disabled(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    b = bundle(with_resources({"memory": {"limit": 64 * MIB, "swap": 64 * MIB}}), args=SLEEP)
    start_detached(husk, b, cid)
    for size in (128 * MIB, 32 * MIB):
        husk("update", "--memory", str(size), cid, check=True)
        assert host("memory", cid, "memory.limit_in_bytes") == str(size)
        assert host("memory", cid, "memory.memsw.limit_in_bytes") == str(size)
    husk("update", "--memory", "64m", "--memory-swap", "-1", cid, check=True)
    assert host("memory", cid, "memory.limit_in_bytes") == str(64 * MIB)
    assert int(host("memory", cid, "memory.memsw.limit_in_bytes")) > 1 << 60
    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.skipif(not HAS_MEMSW, reason="needs swap accounting (memory.memsw.*)")
def test_update_memory_leaves_unlimited_swap_alone(husk, bundle, unique_id, assert_clean):
    """No limits at all is not "swap disabled": a new memory limit keeps memsw unlimited."""
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("update", "--memory", "128m", cid, check=True)
    assert host("memory", cid, "memory.limit_in_bytes") == str(128 * MIB)
    assert int(host("memory", cid, "memory.memsw.limit_in_bytes")) > 1 << 60
    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("args,words", [
    (["--memory", "lots"], ["--memory", "lots"]),
    (["--memory", "12x"], ["--memory"]),
    (["--cpu-quota", "1.5"], ["--cpu-quota"]),
    (["--cpu-shares", "-2"], ["--cpu-shares"]),
    (["--blkio-weight", "70000"], ["--blkio-weight"]),
    (["--no-such-flag", "1"], ["--no-such-flag"]),
])
def test_update_bad_flag(husk, bundle, unique_id, assert_clean, args, words):
    cid = unique_id()
    start_detached(husk, bundle(with_resources({"pids": {"limit": 10}}), args=SLEEP), cid)
    assert_one_error_line(husk("update", *args, cid), "update", *words)
    assert host("pids", cid, "pids.max") == "10"
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_update_refused_values_are_named(husk, bundle, unique_id, assert_clean, tmp_path):
    cid = unique_id()
    start_detached(husk, bundle(with_resources({"cpu": {"cpus": "0-1"}}), args=SLEEP), cid)
    assert_one_error_line(husk("update", "--cpuset-cpus", "64-127", cid),
                          cid, "linux.resources.cpu.cpus", "64-127")
    assert host("cpuset", cid, "cpuset.cpus") == "0-1"
    proc = husk("update", "-r", "-", cid, input='{"memory": {"limit": "big"}}')
    assert_one_error_line(proc, "memory.limit", "integer")
    proc = husk("update", "-r", tmp_path / "missing.json", cid)
    assert_one_error_line(proc, "--resources", "missing.json")
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_update_status_rules(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    husk("create", "--bundle", bundle(args=SLEEP), cid, check=True)
    husk("update", "--pids-limit", "12", cid, check=True)  # created: allowed
    assert host("pids", cid, "pids.max") == "12"
    husk("start", cid, check=True)
    husk("pause", cid, check=True)
    husk("update", "--pids-limit", "13", cid, check=True)  # paused: allowed
    assert host("pids", cid, "pids.max") == "13"
    assert json.loads(husk("state", cid, check=True).stdout)["status"] == "paused"
    husk("resume", cid, check=True)
    husk("kill", cid, "KILL", check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    assert_one_error_line(husk("update", "--pids-limit", "14", cid), "cannot update",
                          "status is stopped")
    husk("delete", cid, check=True)
    assert_clean()


# ------------------------------------------------------------------------- events


def test_events_stats_shape_and_values(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    b = bundle(with_resources({"memory": {"limit": 64 * MIB}, "pids": {"limit": 10}}),
               args=SLEEP)
    start_detached(husk, b, cid)
    ev = stats(husk, cid)
    assert ev["type"] == "stats" and ev["id"] == cid, ev
    data = ev["data"]
    assert data["cpu"]["usage"]["total"] > 0, data
    assert {"kernel", "user"} <= set(data["cpu"]["usage"]), data
    usage = data["memory"]["usage"]
    assert usage["limit"] == 64 * MIB, usage
    assert 0 < usage["usage"] <= usage["max"], usage
    assert usage["failcnt"] == 0, usage
    assert {"limit", "usage"} <= set(data["memory"]["swap"]), data
    assert data["pids"] == {"current": 1, "limit": 10}, data
    # Live values: update shows at once; an unlimited pids.max reads 0, as runc reports it.
    husk("update", "--memory", "100m", "--pids-limit", "-1", cid, check=True)
    husk("exec", "--detach", cid, "/bin/probe", "sleep", "inf", check=True)
    data = stats(husk, cid)["data"]
    assert data["memory"]["usage"]["limit"] == 100 * MIB, data
    assert data["pids"] == {"current": 2, "limit": 0}, data
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_events_stats_of_paused_and_stopped(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    start_detached(husk, bundle(args=SLEEP), cid)
    husk("pause", cid, check=True)
    assert stats(husk, cid)["type"] == "stats"
    husk("resume", cid, check=True)
    husk("kill", cid, "KILL", check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    assert_one_error_line(husk("events", "--stats", cid), cid, "status is stopped")
    assert_one_error_line(husk("events", cid), cid, "status is stopped")
    husk("delete", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("interval", ["0", "5", "-1s", "fast", "1x"])
def test_events_bad_interval(husk, interval):
    assert_one_error_line(husk("events", "--interval", interval, "x"), "--interval", interval)


def test_events_stream_ticks_and_ends_with_the_container(husk, husk_bin, root_dir, bundle,
                                                        unique_id, assert_clean, tmp_path):
    cid = unique_id()
    start_detached(husk, bundle(with_resources({"pids": {"limit": 10}}), args=SLEEP), cid)
    stream = EventsStream(husk_bin, root_dir, cid, tmp_path / "events.out",
                          "--interval", "200ms")
    try:
        time.sleep(1.1)
        assert stream.proc.poll() is None, "events ended while the container runs"
        husk("kill", cid, "KILL", check=True)
        rc, err = stream.finish(timeout=10)
    finally:
        if stream.proc.poll() is None:
            stream.proc.kill()
            stream.proc.wait()
    assert rc == 0, err
    events = stream.events()
    # ~5 ticks in 1.1 s, none before the first 200 ms; allow for a loaded machine but not
    # for a missing timer or a busy loop.
    assert 2 <= len(events) <= 7, events
    for e in events:
        assert e["type"] == "stats" and e["id"] == cid, e
        assert e["data"]["pids"]["limit"] == 10, e
    husk("delete", cid, check=True)
    assert_clean()


def test_events_oom_while_the_container_lives(husk, husk_bin, root_dir, bundle, unique_id,
                                              assert_clean, tmp_path):
    """A hog child is OOM-killed, the init survives: events reports the OOM at once (not
    only at the next stats tick) and keeps streaming."""
    mem = {"limit": 64 * MIB}
    if HAS_MEMSW:
        mem["swap"] = 64 * MIB
    cid = unique_id()
    b = bundle(with_resources({"memory": mem}),
               args=["/bin/sh", "-c", "sleep 2; /bin/probe alloc 200; exec /bin/probe sleep inf"])
    start_detached(husk, b, cid)
    stream = EventsStream(husk_bin, root_dir, cid, tmp_path / "events.out",
                          "--interval", "1m")
    try:
        assert stream.wait_for(lambda e: e["type"] == "oom", 20), stream.events()
        assert stream.events() == [{"type": "oom", "id": cid}]
        assert wait_for_status(husk, cid, "running") == "running"
        assert stream.proc.poll() is None
        husk("kill", cid, "KILL", check=True)
        rc, err = stream.finish(timeout=10)
    finally:
        if stream.proc.poll() is None:
            stream.proc.kill()
            stream.proc.wait()
    assert rc == 0, err
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)
    assert_clean()
