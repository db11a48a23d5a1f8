"""podman (through conmon) driving each runtime: the everyday container operations.

Every test runs with runc and with husk; see conftest.py for the storage and flags."""

import contextlib
import time

import pytest

from conftest import HEX64, cgroup_of, describe, in_script, wait_for

IMAGE = "localhost/husk-busybox:latest"


@contextlib.contextmanager
def detached(podman, name, *args):
    """podman run -d --name NAME ARGS; the container is removed (rm -f) on the way out,
    also when run failed half way and left it in "created"."""
    try:
        proc = podman.run("-d", "--name", name, *args)
        assert proc.returncode == 0, describe(proc)
        yield proc
    finally:
        podman("rm", "-f", "-t", "0", name)


def commands(calls):
    """The runtime command of each logged call (the first word that is not a global
    option or its value)."""
    names = []
    for call in calls:
        words = call.split()
        i = 0
        while i < len(words) and words[i].startswith("-"):
            i += 1 if "=" in words[i] else 2
        names.append(words[i] if i < len(words) else "")
    return names


def test_run_rm_echo(podman):
    mark = podman.runtime.mark()
    proc = podman.run("--rm", IMAGE, "echo", "hi")
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout == "hi\n"
    calls = podman.runtime.calls_since(mark)
    assert commands(calls) == ["create", "start", "delete"], calls
    create = calls[0]
    # conmon hands the runtime a JSON log file because the name is in runtime_supports_json
    assert create.startswith("--log-format=json --log "), create
    assert " --bundle " in create and " --pid-file " in create, create
    assert HEX64.match(create.split()[-1]), create
    assert calls[2].startswith("delete --force "), calls[2]


@pytest.mark.parametrize("status", [3, 0, 126])
def test_exit_status_passthrough(podman, status):
    proc = podman.run("--rm", IMAGE, "sh", "-c", f"exit {status}")
    assert proc.returncode == status, describe(proc)


def test_detached_exec_logs_ps_stop_rm(podman):
    name = f"det-{podman.runtime.name}"
    script = ('echo started; trap "echo got-term; exit 0" TERM; '
              'while :; do sleep 0.1; done')
    with detached(podman, name, IMAGE, "sh", "-c", script):
        ps = podman("ps", "--format", "{{.Names}} {{.Status}}")
        assert f"{name} Up" in ps.stdout, describe(ps)

        ex = podman("exec", name, "sh", "-c", "echo in-exec; cat /proc/1/cmdline; exit 4")
        assert ex.returncode == 4, describe(ex)
        assert ex.stdout.startswith("in-exec\nsh\0-c\0"), describe(ex)

        logs = wait_for(lambda: "started" in podman("logs", name).stdout, timeout=5)
        assert logs, describe(podman("logs", name))

        stop = podman("stop", "-t", "10", name, timeout=60)
        assert stop.returncode == 0, describe(stop)
        inspect = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
        assert inspect.stdout.strip() == "exited 0", describe(inspect)
        assert "got-term" in podman("logs", name).stdout
        rm = podman("rm", name)
        assert rm.returncode == 0, describe(rm)


def test_stop_escalates_to_sigkill(podman):
    """sleep as pid 1 ignores SIGTERM: podman sends kill 15, waits, then kill 9."""
    name = f"esc-{podman.runtime.name}"
    with detached(podman, name, IMAGE, "sleep", "1000"):
        mark = podman.runtime.mark()
        stop = podman("stop", "-t", "1", name, timeout=60)
        assert stop.returncode == 0, describe(stop)
        calls = podman.runtime.calls_since(mark)
        kills = [c for c in calls if c.startswith("kill ")]
        assert [k.split()[-1] for k in kills] == ["15", "9"], calls
        inspect = podman("inspect", "--format", "{{.State.ExitCode}}", name)
        assert inspect.stdout.strip() == "137", describe(inspect)


def test_run_tty(podman):
    proc = in_script(podman.shell_line("--rm", "-t", IMAGE, "sh", "-c",
                                       "tty; test -t 0 && echo stdin-is-tty; exit 5"),
                     env=podman.env)
    assert proc.returncode == 5, describe(proc)
    assert "/dev/pts/0" in proc.stdout, describe(proc)
    assert "stdin-is-tty" in proc.stdout, describe(proc)


def test_run_interactive_tty(podman):
    # script(1) forwards the line we feed it through the pty to the container's stdin
    cmd = podman.shell_line("--rm", "-it", IMAGE, "sh", "-c", "read line; echo got:$line")
    proc = in_script(cmd, env=podman.env, input="typed\n")
    assert proc.returncode == 0, describe(proc)
    assert "got:typed" in proc.stdout, describe(proc)


def test_exec_tty(podman):
    name = f"etty-{podman.runtime.name}"
    with detached(podman, name, IMAGE, "sleep", "1000"):
        mark = podman.runtime.mark()
        proc = in_script(podman.exec_line("-it", name, "sh", "-c", "tty; exit 3"),
                         env=podman.env)
        assert proc.returncode == 3, describe(proc)
        assert "/dev/pts/" in proc.stdout, describe(proc)
        execs = [c for c in podman.runtime.calls_since(mark) if " exec " in f" {c} "]
        assert execs and "--tty" in execs[0] and "--console-socket" in execs[0], execs


def test_stdin_pipe(podman):
    proc = podman.run("--rm", "-i", IMAGE, "sh", "-c", "cat; echo done", input="piped-in\n")
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout == "piped-in\ndone\n"


def test_memory_and_pids_limits(podman):
    inside = podman.run("--rm", "--memory", "64m", "--pids-limit", "50", IMAGE, "cat",
                        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                        "/sys/fs/cgroup/pids/pids.max")
    assert inside.returncode == 0, describe(inside)
    assert inside.stdout.split() == ["67108864", "50"], describe(inside)

    name = f"lim-{podman.runtime.name}"
    with detached(podman, name, "--memory", "64m", "--pids-limit", "50", IMAGE,
                  "sleep", "1000"):
        pid = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
        memory = cgroup_of(pid, "memory")
        pids = cgroup_of(pid, "pids")
        assert str(memory).startswith(f"/sys/fs/cgroup/memory{podman.cgroup_parent}/"), memory
        assert (memory / "memory.limit_in_bytes").read_text().strip() == "67108864"
        assert (pids / "pids.max").read_text().strip() == "50"
    assert not memory.exists(), f"container cgroup {memory} left after rm"


def test_sysctl_with_readonly_proc_sys(podman):
    """podman makes /proc/sys read-only (readonlyPaths) and sets sysctls: runc writes
    the sysctls before applying readonlyPaths."""
    proc = podman.run("--rm", "--sysctl", "kernel.msgmax=12345", IMAGE,
                      "cat", "/proc/sys/kernel/msgmax")
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout == "12345\n"


def test_failed_exec_of_missing_command(podman):
    mark = podman.runtime.mark()
    proc = podman.run("--rm", IMAGE, "/nonexistent")
    assert proc.returncode == 127, describe(proc)
    assert "/nonexistent" in proc.stderr, describe(proc)
    # podman cleans up with `delete --force` of a container create already removed;
    # runc says nothing then, so the user sees one error, not two
    calls = podman.runtime.calls_since(mark)
    assert any(c.startswith("delete --force") for c in calls), calls
    assert "does not exist" not in proc.stderr, describe(proc)


def test_pause_unpause(podman):
    name = f"pause-{podman.runtime.name}"
    with detached(podman, name, IMAGE, "sleep", "1000"):
        p = podman("pause", name)
        assert p.returncode == 0, describe(p)
        status = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        assert status == "paused"
        pid = int(podman("inspect", "--format", "{{.State.Pid}}", name).stdout)
        freezer = cgroup_of(pid, "freezer") / "freezer.state"
        assert freezer.read_text().strip() == "FROZEN"
        u = podman("unpause", name)
        assert u.returncode == 0, describe(u)
        assert freezer.read_text().strip() == "THAWED"
        assert podman("exec", name, "true").returncode == 0


def test_restart_reuses_id(podman):
    name = f"rst-{podman.runtime.name}"
    with detached(podman, name, IMAGE, "sleep", "1000"):
        first = podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        r = podman("restart", "-t", "0", name, timeout=60)
        assert r.returncode == 0, describe(r)
        second = podman("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        assert first != second
        ex = podman("exec", name, "echo", "after-restart")
        assert ex.stdout == "after-restart\n", describe(ex)


def test_stop_with_host_pid_namespace_uses_kill_all(podman):
    name = f"pidh-{podman.runtime.name}"
    with detached(podman, name, "--pid", "host", IMAGE, "sleep", "1000"):
        mark = podman.runtime.mark()
        stop = podman("stop", "-t", "1", name, timeout=60)
        assert stop.returncode == 0, describe(stop)
        calls = podman.runtime.calls_since(mark)
        assert any(c.startswith("kill --all ") for c in calls), calls


@pytest.mark.parametrize("flags,script,expected", [
    (["--user", "1000:1000"], "id", "uid=1000(test) gid=1000(test) groups=1000(test)"),
    (["--read-only"], "touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp-rw",
     "ro\ntmp-rw"),
    (["--tmpfs", "/data:size=1m"], "grep -o '/data tmpfs [^ ]*' /proc/mounts",
     "/data tmpfs rw,nosuid,nodev,relatime,size=1024k"),
    (["--cap-drop", "all", "--cap-add", "NET_RAW"], "grep CapEff /proc/self/status",
     "CapEff:\t0000000000002000"),
    (["--security-opt", "no-new-privileges"], "grep NoNewPrivs /proc/self/status",
     "NoNewPrivs:\t1"),
    (["--hostname", "h1", "-e", "FOO=bar", "-w", "/tmp"], "echo $(hostname) $FOO $(pwd)",
     "h1 bar /tmp"),
    (["--oom-score-adj", "200"], "cat /proc/self/oom_score_adj", "200"),
    (["--ulimit", "nofile=1000:2000"], "echo $(ulimit -n) $(ulimit -Hn)", "1000 2000"),
    (["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
     "cat /proc/self/uid_map | tr -s ' '", " 0 100000 65536"),
    (["--privileged"], "grep -E 'CapEff|Seccomp:' /proc/self/status",
     "CapEff:\t000001ffffffffff\nSeccomp:\t0"),
])
def test_run_options(podman, flags, script, expected):
    proc = podman.run("--rm", *flags, IMAGE, "sh", "-c", script)
    assert proc.returncode == 0, describe(proc)
    got = proc.stdout.strip("\n")
    if expected.startswith("CapEff:\t000001ff"):
        # the full mask depends on the kernel's last capability; compare its low bits
        assert got.split("\n")[1] == "Seccomp:\t0", got
        assert int(got.split("\n")[0].split("\t")[1], 16) & 0x1fffeffffff == 0x1fffeffffff
        return
    assert got == expected, describe(proc)


def test_default_state_dir_cleaned(podman):
    """conmon does not pass --root: the runtime's default root is used and must be
    empty again after --rm."""
    before = podman.runtime.state_dirs()
    proc = podman.run("--rm", IMAGE, "true")
    assert proc.returncode == 0, describe(proc)
    time.sleep(0.2)
    assert podman.runtime.state_dirs() == before
