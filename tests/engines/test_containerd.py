"""containerd 1.6 (io.containerd.runc.v2 shim) driving each runtime through ctr, with a
private daemon per session (own root, state, socket; CRI plugin disabled)."""

import pytest

from conftest import ctr_cgroup, describe, in_script, wait_for

IMAGE = "localhost/husk-busybox:latest"


def ctr_run(containerd, runtime, cid, *args, timeout=60):
    return containerd.ctr("run", *containerd.runtime_args(runtime), "--cgroup",
                          ctr_cgroup(runtime, cid), *args, timeout=timeout)


def task_status(containerd, cid):
    for line in containerd.ctr("tasks", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return fields[2]
    return None


def remove(containerd, cid):
    containerd.ctr("tasks", "kill", "-s", "KILL", cid)
    wait_for(lambda: task_status(containerd, cid) in (None, "STOPPED"), timeout=10)
    containerd.ctr("tasks", "delete", cid)
    containerd.ctr("containers", "delete", cid)


def test_run_rm_echo(ctr):
    containerd, rt = ctr
    cid = f"echo-{rt.name}"
    mark = rt.mark()
    proc = ctr_run(containerd, rt, cid, "--rm", IMAGE, cid, "echo", "hi")
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout == "hi\n"
    calls = rt.calls_since(mark)
    root = containerd.base / f"{rt.name}-root" / "default"
    # the shim always passes --root ROOT/NAMESPACE --log FILE --log-format json
    assert all(c.startswith(f"--root {root} --log ") and " --log-format json " in c
               for c in calls), calls
    verbs = [c.split()[6] for c in calls]
    assert verbs[:3] == ["create", "start", "delete"], calls


def test_exit_status(ctr):
    containerd, rt = ctr
    cid = f"exit-{rt.name}"
    proc = ctr_run(containerd, rt, cid, "--rm", IMAGE, cid, "sh", "-c", "exit 7")
    assert proc.returncode == 7, describe(proc)


def test_final_delete_force_is_quiet(ctr):
    """After `delete`, the shim's cleanup runs `delete --force` of the gone container;
    runc exits 0 then (or says nothing), so containerd logs no error text from it."""
    containerd, rt = ctr
    cid = f"dforce-{rt.name}"
    mark = rt.mark()
    before = len(containerd.log_text())
    proc = ctr_run(containerd, rt, cid, "--rm", IMAGE, cid, "true")
    assert proc.returncode == 0, describe(proc)
    calls = rt.calls_since(mark)
    assert any(" delete --force " in c for c in calls), calls
    wait_for(lambda: "cleanup warnings" in containerd.log_text()[before:], timeout=5)
    new_log = containerd.log_text()[before:]
    assert "does not exist" not in new_log, new_log


def test_detached_exec_ps_kill(ctr):
    containerd, rt = ctr
    cid = f"det-{rt.name}"
    script = 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    try:
        proc = ctr_run(containerd, rt, cid, "-d", IMAGE, cid, "sh", "-c", script)
        assert proc.returncode == 0, describe(proc)
        assert task_status(containerd, cid) == "RUNNING"

        ex = containerd.ctr("tasks", "exec", "--exec-id", "e1", "--fifo-dir",
                            containerd.base / "fifo", cid, "sh", "-c", "echo in-exec; exit 6")
        assert ex.returncode == 6, describe(ex)
        assert ex.stdout == "in-exec\n"

        ps = containerd.ctr("tasks", "ps", cid)
        assert ps.returncode == 0 and len(ps.stdout.splitlines()) >= 2, describe(ps)

        kill = containerd.ctr("tasks", "kill", cid)
        assert kill.returncode == 0, describe(kill)
        assert wait_for(lambda: task_status(containerd, cid) == "STOPPED", timeout=10)
        delete = containerd.ctr("tasks", "delete", cid)
        assert delete.returncode == 0, describe(delete)
    finally:
        remove(containerd, cid)


def test_exec_tty(ctr):
    containerd, rt = ctr
    cid = f"etty-{rt.name}"
    try:
        proc = ctr_run(containerd, rt, cid, "-d", IMAGE, cid, "sleep", "1000")
        assert proc.returncode == 0, describe(proc)
        line = " ".join(containerd.ctr_argv("tasks", "exec", "-t", "--exec-id", "t1", cid,
                                            "sh", "-c", "tty; exit 3"))
        ex = in_script(line)
        assert ex.returncode == 3, describe(ex)
        assert "/dev/pts/" in ex.stdout, describe(ex)
    finally:
        remove(containerd, cid)


def test_run_tty(ctr):
    containerd, rt = ctr
    cid = f"tty-{rt.name}"
    line = " ".join(containerd.ctr_argv(
        "run", *map(str, containerd.runtime_args(rt)), "--cgroup", ctr_cgroup(rt, cid),
        "-t", "--rm", IMAGE, cid, "sh", "-c", "'tty; exit 2'"))
    proc = in_script(line)
    assert proc.returncode == 2, describe(proc)
    assert "/dev/pts/0" in proc.stdout, describe(proc)


def test_memory_limit(ctr):
    containerd, rt = ctr
    cid = f"mem-{rt.name}"
    try:
        proc = ctr_run(containerd, rt, cid, "-d", "--memory-limit", "67108864", IMAGE, cid,
                       "sleep", "1000")
        assert proc.returncode == 0, describe(proc)
        group = ctr_cgroup(rt, cid)
        limit = f"/sys/fs/cgroup/memory{group}/memory.limit_in_bytes"
        assert open(limit).read().strip() == "67108864"
        # ctr's spec has no /sys/fs/cgroup mount; /proc/self/cgroup still names the group
        inside = containerd.ctr("tasks", "exec", "--exec-id", "m1", "--fifo-dir",
                                containerd.base / "fifo", cid, "cat", "/proc/self/cgroup")
        assert f"memory:{group}" in inside.stdout, describe(inside)
    finally:
        remove(containerd, cid)


def test_pause_resume(ctr):
    containerd, rt = ctr
    cid = f"pause-{rt.name}"
    try:
        proc = ctr_run(containerd, rt, cid, "-d", IMAGE, cid, "sleep", "1000")
        assert proc.returncode == 0, describe(proc)
        p = containerd.ctr("tasks", "pause", cid)
        assert p.returncode == 0, describe(p)
        assert task_status(containerd, cid) == "PAUSED"
        r = containerd.ctr("tasks", "resume", cid)
        assert r.returncode == 0, describe(r)
        assert task_status(containerd, cid) == "RUNNING"
    finally:
        remove(containerd, cid)


def test_kill_all(ctr):
    containerd, rt = ctr
    cid = f"killall-{rt.name}"
    try:
        proc = ctr_run(containerd, rt, cid, "-d", IMAGE, cid, "sleep", "1000")
        assert proc.returncode == 0, describe(proc)
        mark = rt.mark()
        k = containerd.ctr("tasks", "kill", "-a", "-s", "KILL", cid)
        assert k.returncode == 0, describe(k)
        assert any(" kill --all " in c for c in rt.calls_since(mark))
        assert wait_for(lambda: task_status(containerd, cid) == "STOPPED", timeout=10)
    finally:
        remove(containerd, cid)


def test_privileged(ctr):
    containerd, rt = ctr
    cid = f"priv-{rt.name}"
    proc = ctr_run(containerd, rt, cid, "--rm", "--privileged", IMAGE, cid, "sh", "-c",
                   "grep -E 'CapEff|Seccomp:' /proc/self/status; test -e /dev/loop-control "
                   "&& echo host-devices")
    assert proc.returncode == 0, describe(proc)
    assert "Seccomp:\t0" in proc.stdout and "host-devices" in proc.stdout, describe(proc)
