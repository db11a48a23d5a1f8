"""The lifecycle of runtime.md end to end: create, start, state, kill, delete, run, list,
ps, seen from the CLI, from the host (/proc, cgroups, the state dir) and from inside."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line


def marker_bundle(bundle, tmp_path, then="sleep 1000"):
    """A bundle whose process first writes OUT/marker (OUT is a host dir bound into the
    container), then runs `then`."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)

    def mutate(config):
        lh.add_bind(config, out)
    b = bundle(mutate, args=["/bin/sh", "-c", f"echo started > {out}/marker; {then}"])
    return b, out / "marker"


def test_create_start_stop_delete(husk, bundle, tmp_path, root_dir, unique_id, assert_clean):
    b, marker = marker_bundle(bundle, tmp_path, then="read line < /dev/null; sleep 1000")
    cid = unique_id()
    pid_file = tmp_path / "pid"
    proc = husk("create", "--bundle", b, "--pid-file", pid_file, cid)
    assert proc.returncode == 0, helpers.describe(proc)

    st = lh.state(husk, cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["bundle"] == str(b)
    pid = st["pid"]
    assert pid > 0 and lh.pid_alive(pid), st
    assert int(pid_file.read_text().strip()) == pid
    # The user program must not run before start.
    time.sleep(0.3)
    assert not marker.exists(), "the process ran before start"
    assert (root_dir / cid).is_dir()
    assert lh.container_cgroups(cid), "no cgroup for a created container"
    assert any(cid in line for line in lh.proc_cgroup(pid)), lh.proc_cgroup(pid)

    proc = husk("start", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert lh.wait_until(marker.exists), "start did not run the process"
    st = lh.state(husk, cid)
    assert st["status"] == "running" and st["pid"] == pid

    proc = husk("kill", cid, "KILL")
    assert proc.returncode == 0, helpers.describe(proc)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    st = lh.state(husk, cid)
    assert st["pid"] == 0, st
    assert not lh.pid_alive(pid)

    proc = husk("delete", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert helpers.container_status(husk, cid) is None
    assert lh.container_cgroups(cid) == []
    assert_clean()


def test_process_exit_makes_it_stopped(husk, bundle, unique_id, assert_clean):
    b = bundle(args=["/bin/probe", "exit", "3"])
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True)
    husk("start", cid, check=True)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    assert lh.state(husk, cid)["pid"] == 0
    husk("delete", cid, check=True)
    assert_clean()


def test_start_twice_errors(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    husk("create", "--bundle", bundle(args=["/bin/probe", "sleep", "inf"]), cid, check=True)
    husk("start", cid, check=True)
    proc = husk("start", cid)
    assert_one_error_line(proc, cid)
    assert lh.state(husk, cid)["status"] == "running"
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_start_and_kill_on_stopped_error(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    husk("create", "--bundle", bundle(args=["/bin/probe", "exit", "0"]), cid, check=True)
    husk("start", cid, check=True)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    assert_one_error_line(husk("start", cid), cid, "stopped")
    assert_one_error_line(husk("kill", cid, "KILL"), cid, "stopped")
    assert lh.state(husk, cid)["status"] == "stopped"
    husk("delete", cid, check=True)
    assert_clean()


def test_delete_running_needs_force(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    proc = husk("delete", cid)
    assert_one_error_line(proc, cid)
    assert lh.state(husk, cid)["status"] == "running"
    assert lh.pid_alive(st["pid"])
    proc = husk("delete", "--force", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert not lh.pid_alive(st["pid"])
    assert_clean()


def test_delete_created_container(husk, bundle, tmp_path, unique_id, assert_clean):
    """runtime.md: "Attempting to delete a container that is not stopped MUST have no effect
    on the container and MUST generate an error" -- created is not stopped; --force deletes."""
    b, marker = marker_bundle(bundle, tmp_path)
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True)
    pid = lh.state(husk, cid)["pid"]
    refused = husk("delete", cid)
    assert refused.returncode == 1 and "not stopped" in refused.stderr, helpers.describe(refused)
    assert lh.state(husk, cid)["status"] == "created"
    proc = husk("delete", "--force", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert not lh.pid_alive(pid)
    assert not marker.exists(), "delete of a created container ran its process"
    assert_clean()


def test_run_foreground_exit_code(husk, bundle, unique_id, assert_clean):
    proc = husk("run", "--bundle", bundle(args=["/bin/probe", "exit", "7"]), unique_id())
    assert proc.returncode == 7, helpers.describe(proc)
    assert_clean()


def test_run_foreground_signal_exit_code(husk, bundle, unique_id, assert_clean):
    proc = husk("run", "--bundle", bundle(args=["/bin/probe", "signal-self", "SEGV"]),
                unique_id())
    assert proc.returncode == 128 + signal.SIGSEGV, helpers.describe(proc)
    assert_clean()


def test_run_foreground_reuses_id(husk, bundle, unique_id, assert_clean):
    """Foreground run deletes the container: the same id is free right after."""
    b = bundle(args=["/bin/probe", "exit", "0"])
    cid = unique_id()
    for _ in range(2):
        proc = husk("run", "--bundle", b, cid)
        assert proc.returncode == 0, helpers.describe(proc)
    assert_clean()


def test_run_detach(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    proc = husk("run", "--detach", "--bundle", bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    assert proc.returncode == 0, helpers.describe(proc)
    st = lh.state(husk, cid)
    assert st["status"] == "running" and lh.pid_alive(st["pid"])
    time.sleep(0.2)
    assert lh.state(husk, cid)["status"] == "running"
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_list_shows_statuses(husk, bundle, unique_id, assert_clean):
    created, running, stopped = unique_id(), unique_id(), unique_id()
    husk("create", "--bundle", bundle(args=["/bin/probe", "sleep", "inf"]), created,
         check=True)
    lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), running)
    lh.run_detached(husk, bundle(args=["/bin/probe", "exit", "0"]), stopped)
    assert helpers.wait_for_status(husk, stopped, "stopped") == "stopped"
    want = {created: "created", running: "running", stopped: "stopped"}

    proc = husk("list", "--format", "json")
    assert proc.returncode == 0, helpers.describe(proc)
    entries = json.loads(proc.stdout)
    assert {e["id"]: e["status"] for e in entries} == want
    pids = {e["id"]: e["pid"] for e in entries}
    assert pids[stopped] == 0 and pids[created] > 0 and pids[running] > 0

    proc = husk("list")
    assert proc.returncode == 0, helpers.describe(proc)
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "PID", "STATUS"], proc.stdout
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert {cid: row[2] for cid, row in rows.items()} == want
    assert rows[running][1] == str(pids[running])

    proc = husk("list", "-q")
    assert sorted(proc.stdout.split()) == sorted(want)
    for cid in want:
        husk("delete", "--force", cid, check=True)
    assert_clean()


def test_ps_lists_init_pid(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    proc = husk("ps", "--format", "json", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert json.loads(proc.stdout) == [st["pid"]]
    proc = husk("ps", cid)
    assert proc.returncode == 0, helpers.describe(proc)
    assert str(st["pid"]) in proc.stdout.split()
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_duplicate_id_leaves_first_alone(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    b = bundle(args=["/bin/probe", "sleep", "inf"])
    husk("create", "--bundle", b, cid, check=True)
    before = lh.state(husk, cid)
    cgroups = lh.container_cgroups(cid)
    for command in ("create", "run"):
        proc = husk(command, "--bundle", bundle(args=["/bin/probe", "exit", "0"]), cid)
        assert_one_error_line(proc, cid)
        assert lh.state(husk, cid) == before
        assert lh.pid_alive(before["pid"])
        assert lh.container_cgroups(cid) == cgroups
    husk("start", cid, check=True)
    assert lh.state(husk, cid)["status"] == "running"
    husk("delete", "--force", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("force", [False, True], ids=["delete", "delete-force"])
def test_create_killed_midway_is_deletable(husk, husk_bin, root_dir, bundle, tmp_path,
                                           unique_id, assert_clean, force):
    """SIGKILL `husk create` while a createRuntime hook sleeps: whatever it left must be
    removable by `delete` (state dir, cgroup, container process)."""
    log = tmp_path / "hooks.log"

    def mutate(config):
        config["hooks"] = {"createRuntime": [lh.hook(log, "createRuntime", "sleep")]}
    b = bundle(mutate, args=["/bin/probe", "sleep", "inf"])
    cid = unique_id()
    with open(tmp_path / "create.out", "w") as out:
        create = subprocess.Popen([str(husk_bin), "--root", str(root_dir), "create",
                                   "--bundle", str(b), cid],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        hook_pid_file = Path(f"{log}.pid")
        assert lh.wait_until(hook_pid_file.exists, 10), "the createRuntime hook never ran"
        hook_pid = int(lh.wait_until(lambda: hook_pid_file.read_text().strip(), 5))
        os.kill(create.pid, signal.SIGKILL)
        create.wait(10)
    finally:
        if create.poll() is None:
            create.kill()
            create.wait()
    # The hook is the test's own process in husk's (the caller's) cgroup: not husk's job.
    try:
        os.kill(hook_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    time.sleep(0.2)
    proc = husk("delete", *(["--force"] if force else []), cid)
    # delete may say there is no such container only if nothing at all was left.
    assert_clean("after delete of a half-created container\n" + helpers.describe(proc))


def test_kill_created_container(husk, bundle, tmp_path, unique_id, assert_clean):
    """runtime.md: kill applies to a created container too; its process never runs."""
    b, marker = marker_bundle(bundle, tmp_path)
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True)
    pid = lh.state(husk, cid)["pid"]
    proc = husk("kill", cid, "KILL")
    assert proc.returncode == 0, helpers.describe(proc)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    assert not lh.pid_alive(pid)
    assert not marker.exists()
    assert_one_error_line(husk("start", cid), cid)
    husk("delete", cid, check=True)
    assert_clean()


def test_process_killed_from_host_is_stopped(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    os.kill(st["pid"], signal.SIGKILL)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    assert lh.state(husk, cid)["pid"] == 0
    husk("delete", cid, check=True)
    assert_clean()


def test_run_foreground_passes_stdin(husk, bundle, unique_id, assert_clean):
    b = bundle(args=["/bin/sh", "-c", "read line; echo got:$line"])
    proc = husk("run", "--bundle", b, unique_id(), input="hello-stdin\n")
    assert proc.returncode == 0, helpers.describe(proc)
    assert proc.stdout.strip() == "got:hello-stdin", helpers.describe(proc)
    assert_clean()
