"""The probe itself, run directly on the host (no container, no husk): its JSON must
parse and tell the truth, since every container test believes it."""

import ctypes
import json
import os
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

import helpers

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the probe tests expect root")


def probe(probe_bin, *args, check=True, **kwargs):
    proc = subprocess.run([str(probe_bin), *map(str, args)], capture_output=True, text=True,
                          timeout=30, **kwargs)
    if check:
        assert proc.returncode == 0, helpers.describe(proc)
    return proc


def probe_json(probe_bin, *args, **kwargs):
    proc = probe(probe_bin, *args, **kwargs)
    assert proc.stdout.count("\n") == 1, "one JSON document, one line"
    return json.loads(proc.stdout)


def status_field(name, pid="self"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    return None


# ------------------------------------------------------------------------- report


@pytest.fixture
def report(probe_bin, tmp_path):
    proc = subprocess.Popen([str(probe_bin)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path, text=True)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    data = json.loads(out)
    data["_popen_pid"] = proc.pid
    data["_cwd"] = str(tmp_path)
    return data


def test_report_identity(report):
    assert report["pid"] == report["_popen_pid"]
    assert report["ppid"] == os.getpid()
    assert report["cwd"] == report["_cwd"]
    for key in ("uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid"):
        assert report[key] == 0, key
    assert sorted(report["groups"]) == sorted(os.getgroups())
    assert report["sid"] == os.getsid(0)


def test_report_has_every_field(report):
    expected = {
        "pid", "ppid", "uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid",
        "groups", "umask", "cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb",
        "no_new_privs", "seccomp", "seccomp_filters", "rlimits", "hostname", "domainname",
        "cwd", "env", "args", "fds", "cgroup", "mounts", "namespaces", "oom_score_adj",
        "personality", "sched_policy", "nice", "cpus_allowed", "ioprio", "terminal",
        "uid_map", "gid_map",
    }
    assert expected <= set(report)


def test_report_caps_and_security_match_status(report):
    for key, field in (("cap_bnd", "CapBnd"), ("cap_amb", "CapAmb"), ("cap_inh", "CapInh")):
        assert report[key] == status_field(field), key
    assert re.fullmatch(r"[0-9a-f]{16}", report["cap_eff"])
    assert report["no_new_privs"] == int(status_field("NoNewPrivs"))
    assert report["seccomp"] == int(status_field("Seccomp"))
    assert report["seccomp_filters"] == int(status_field("Seccomp_filters"))
    assert report["cpus_allowed"] == status_field("Cpus_allowed_list")


def test_report_host_views_match(report):
    uts = os.uname()
    assert report["hostname"] == uts.nodename
    assert report["domainname"] == Path("/proc/sys/kernel/domainname").read_text().strip()
    assert report["cgroup"] == Path("/proc/self/cgroup").read_text().splitlines()
    for name, value in report["namespaces"].items():
        assert value == os.readlink(f"/proc/self/ns/{name}"), name
    assert set(report["namespaces"]) == {
        "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time",
        "time_for_children", "user", "uts"}
    assert report["uid_map"] == Path("/proc/self/uid_map").read_text()
    assert report["gid_map"] == Path("/proc/self/gid_map").read_text()
    assert report["oom_score_adj"] == int(Path("/proc/self/oom_score_adj").read_text())


def test_report_mounts(report):
    mounts = report["mounts"]
    keys = {"id", "parent", "major_minor", "root", "mount_point", "options", "optional",
            "fstype", "source", "super_options"}
    assert mounts and all(set(m) == keys for m in mounts)
    assert len(mounts) == len(Path("/proc/self/mountinfo").read_text().splitlines())
    proc_mounts = [m for m in mounts if m["mount_point"] == "/proc"]
    assert proc_mounts and proc_mounts[-1]["fstype"] == "proc"
    assert any(m["mount_point"] == "/" for m in mounts)
    assert all(isinstance(m["id"], int) and isinstance(m["optional"], list) for m in mounts)


def test_report_rlimits(probe_bin):
    def lower_nofile():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (123, hard))

    data = probe_json(probe_bin, preexec_fn=lower_nofile)
    limits = data["rlimits"]
    assert limits["RLIMIT_NOFILE"]["soft"] == 123
    assert limits["RLIMIT_NOFILE"]["hard"] == resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for name in ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_STACK", "RLIMIT_NPROC", "RLIMIT_MEMLOCK"):
        soft, hard = resource.getrlimit(getattr(resource, name))
        as_json = lambda v: -1 if v == resource.RLIM_INFINITY else v  # noqa: E731
        assert limits[name] == {"soft": as_json(soft), "hard": as_json(hard)}, name
    assert len(limits) == 16


def test_report_env_args_and_escaping(probe_bin):
    weird = 'quote" back\\slash\nnewline\ttab \x01 ctrl é ü 😀'
    env = {"PATH": "/usr/bin:/bin", "PROBE_WEIRD": weird}
    data = probe_json(probe_bin, "report", weird, "", env=env)
    assert data["args"] == [str(probe_bin), "report", weird, ""]
    assert sorted(data["env"]) == sorted(f"{k}={v}" for k, v in env.items())


def test_report_fds_lists_inherited_only(probe_bin, tmp_path):
    target = tmp_path / "inherited"
    target.write_text("x")
    fd = os.open(target, os.O_RDONLY)
    try:
        data = probe_json(probe_bin, pass_fds=(fd,), stdin=subprocess.DEVNULL)
    finally:
        os.close(fd)
    # The directory fd the probe reads /proc/self/fd with must not appear.
    assert set(data["fds"]) == {"0", "1", "2", str(fd)}
    assert data["fds"][str(fd)] == str(target)
    assert data["fds"]["0"] == "/dev/null"


def test_report_process_attributes(probe_bin):
    def setup():
        os.umask(0o027)
        os.nice(3)
        Path("/proc/self/oom_score_adj").write_text("123")
        libc = ctypes.CDLL(None, use_errno=True)
        libc.personality(0x0040000)  # ADDR_NO_RANDOMIZE

    data = probe_json(probe_bin, preexec_fn=setup)
    assert data["umask"] == "0027"
    assert data["nice"] == os.getpriority(os.PRIO_PROCESS, 0) + 3
    assert data["oom_score_adj"] == 123
    assert data["personality"] == 0x0040000
    assert data["sched_policy"] == os.SCHED_OTHER


def test_report_scheduler_and_affinity(probe_bin):
    def setup():
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        os.sched_setaffinity(0, {0})

    data = probe_json(probe_bin, preexec_fn=setup)
    assert data["sched_policy"] == os.SCHED_BATCH
    assert data["cpus_allowed"] == "0"


@pytest.mark.skipif(not shutil.which("ionice"), reason="ionice (util-linux) not installed")
def test_report_ioprio(probe_bin):
    data = probe_json(shutil.which("ionice"), "-c", "2", "-n", "5", str(probe_bin))
    assert data["ioprio_class"] == 2
    assert data["ioprio_level"] == 5
    assert data["ioprio"] == (2 << 13) | 5


def test_report_terminal(probe_bin):
    data = probe_json(probe_bin, stdin=subprocess.DEVNULL)
    assert data["terminal"] == {"stdin": False, "stdout": False, "stderr": False,
                                "ttyname": None}
    master, slave = os.openpty()
    try:
        data = probe_json(probe_bin, stdin=slave)
        assert data["terminal"]["stdin"] is True
        assert data["terminal"]["stdout"] is False
        assert data["terminal"]["ttyname"] == os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_report_without_proc_gives_nulls(probe_bin, tmp_path):
    """In a root without /proc mounted, everything read from /proc is null, no crash."""
    rootfs = tmp_path / "rootfs"
    helpers.build_rootfs(rootfs, probe_bin)

    def enter():
        os.chroot(rootfs)
        os.chdir("/")

    data = probe_json("/bin/probe", preexec_fn=enter)
    for key in ("fds", "umask", "cap_eff", "seccomp", "cgroup", "mounts", "uid_map",
                "oom_score_adj", "cpus_allowed"):
        assert data[key] is None, key
    assert all(v is None for v in data["namespaces"].values())
    assert data["uid"] == 0
    assert data["cwd"] == "/"
    assert data["rlimits"]["RLIMIT_NOFILE"] is not None


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) not installed")
def test_report_mount_escapes(probe_bin, tmp_path):
    """mountinfo escapes spaces and backslashes as octal; the probe must undo that."""
    odd = tmp_path / "a b\\c"
    odd.mkdir()
    script = f'mount -t tmpfs "odd src" "{odd}" && exec "{probe_bin}"'
    data = probe_json("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
    match = [m for m in data["mounts"] if m["mount_point"] == str(odd)]
    assert len(match) == 1
    assert match[0]["source"] == "odd src"
    assert match[0]["fstype"] == "tmpfs"


# ------------------------------------------------------------------------- other modes


def test_exit_status(probe_bin):
    assert probe(probe_bin, "exit", 7, check=False).returncode == 7
    assert probe(probe_bin, "exit", 0, check=False).returncode == 0


def test_sleep(probe_bin):
    start = time.monotonic()
    probe(probe_bin, "sleep", "0.3")
    assert 0.3 <= time.monotonic() - start < 10


@pytest.mark.parametrize("sig", ["TERM", "SIGUSR1", "9", "kill"])
def test_signal_self(probe_bin, sig):
    proc = probe(probe_bin, "signal-self", sig, check=False)
    expected = {"TERM": signal.SIGTERM, "SIGUSR1": signal.SIGUSR1, "9": signal.SIGKILL,
                "kill": signal.SIGKILL}[sig]
    assert proc.returncode == -expected


def test_usage_errors(probe_bin):
    for args in (["no-such-mode"], ["exit"], ["exit", "x"], ["write", "/tmp/x"],
                 ["signal-self", "NOPE"], ["syscall", "reboot"]):
        proc = probe(probe_bin, *args, check=False)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("probe: "), args
        assert proc.stdout == "", args


def test_stat(probe_bin, tmp_path):
    f = tmp_path / "file"
    f.write_text("12345")
    os.chmod(f, 0o640)
    os.chown(f, 1000, 1001)
    data = probe_json(probe_bin, "stat", f)
    assert data == {"path": str(f), "exists": True, "type": "file", "mode": 0o640,
                    "mode_octal": "0640", "uid": 1000, "gid": 1001, "rdev_major": 0,
                    "rdev_minor": 0, "size": 5, "nlink": 1}

    data = probe_json(probe_bin, "stat", "/dev/null")
    assert (data["type"], data["rdev_major"], data["rdev_minor"]) == ("char", 1, 3)

    os.symlink("file", tmp_path / "link")
    data = probe_json(probe_bin, "stat", tmp_path / "link")
    assert (data["type"], data["target"]) == ("symlink", "file")

    os.mkfifo(tmp_path / "fifo")
    assert probe_json(probe_bin, "stat", tmp_path / "fifo")["type"] == "fifo"
    assert probe_json(probe_bin, "stat", tmp_path)["type"] == "dir"

    data = probe_json(probe_bin, "stat", tmp_path / "missing")
    assert data["exists"] is False
    assert data["errno_name"] == "ENOENT"
    assert data["errno"] == 2


def test_ls(probe_bin, tmp_path):
    for name in ("a", "b c"):
        (tmp_path / name).touch()
    data = probe_json(probe_bin, "ls", tmp_path)
    assert data["ok"] is True
    assert sorted(data["entries"]) == ["a", "b c"]
    assert probe_json(probe_bin, "ls", tmp_path / "nope")["errno_name"] == "ENOENT"


def test_read(probe_bin, tmp_path):
    f = tmp_path / "f"
    f.write_text("hello\n")
    assert probe_json(probe_bin, "read", f) == {"path": str(f), "ok": True,
                                               "content": "hello\n", "truncated": False}
    f.write_bytes(b"x" * 5000)
    data = probe_json(probe_bin, "read", f)
    assert data["content"] == "x" * 4096 and data["truncated"] is True
    f.write_bytes(b"ok\xff\x00\xc3\xa9")
    assert probe_json(probe_bin, "read", f)["content"] == "ok\u00ff\u0000\u00e9"
    data = probe_json(probe_bin, "read", tmp_path / "missing")
    assert data["ok"] is False and data["errno_name"] == "ENOENT"
    assert probe_json(probe_bin, "read", tmp_path)["errno_name"] == "EISDIR"


def test_write(probe_bin, tmp_path):
    f = tmp_path / "w"
    assert probe_json(probe_bin, "write", f, "some text") == {"path": str(f), "ok": True}
    assert f.read_text() == "some text"
    assert stat.S_IMODE(f.stat().st_mode) == 0o644 & ~os.umask(os.umask(0))
    probe_json(probe_bin, "write", f, "x")
    assert f.read_text() == "x"
    data = probe_json(probe_bin, "write", tmp_path / "no" / "dir", "x")
    assert data["ok"] is False and data["errno_name"] == "ENOENT"


def test_mkdir(probe_bin, tmp_path):
    d = tmp_path / "d"
    assert probe_json(probe_bin, "mkdir", d) == {"path": str(d), "ok": True}
    assert d.is_dir()
    data = probe_json(probe_bin, "mkdir", d)
    assert data["ok"] is False and data["errno_name"] == "EEXIST"


@pytest.mark.parametrize("name", ["getcwd", "getpid", "uname", "mkdir", "mkdirat", "chmod",
                                  "fchmodat"])
def test_syscall_succeeds_and_changes_nothing(probe_bin, tmp_path, name):
    target = tmp_path / "target"
    if name.startswith("ch") or name.startswith("fch"):
        target.mkdir(mode=0o750)
    before = sorted(p.name for p in tmp_path.iterdir())
    data = probe_json(probe_bin, "syscall", name, target)
    assert data["syscall"] == name
    assert data["ok"] is True and data["errno"] == 0 and data["errno_name"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if target.exists():
        assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_syscall_reports_errno(probe_bin, tmp_path):
    data = probe_json(probe_bin, "syscall", "mkdir", tmp_path / "no" / "such")
    assert data == {"syscall": "mkdir", "ok": False, "ret": -1, "errno": 2,
                    "errno_name": "ENOENT"}
    data = probe_json(probe_bin, "syscall", "chmod", tmp_path / "missing")
    assert data["errno_name"] == "ENOENT"


def test_fork(probe_bin):
    data = probe_json(probe_bin, "fork", 5)
    assert data == {"requested": 5, "forked": 5, "errno": 0, "errno_name": None}


def test_fork_hits_nproc_limit(probe_bin):
    """RLIMIT_NPROC binds an unprivileged user: the probe must report EAGAIN."""
    def become_limited_nobody():
        resource.setrlimit(resource.RLIMIT_NPROC, (3, 3))
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    data = probe_json(probe_bin, "fork", 10, preexec_fn=become_limited_nobody)
    assert data["forked"] <= 2
    assert data["errno_name"] == "EAGAIN"


def test_alloc(probe_bin):
    assert probe_json(probe_bin, "alloc", 16) == {"requested_mb": 16, "ok": True}

    def limit_address_space():
        resource.setrlimit(resource.RLIMIT_AS, (256 << 20, resource.RLIM_INFINITY))

    data = probe_json(probe_bin, "alloc", 512, preexec_fn=limit_address_space)
    assert data["ok"] is False and data["errno_name"] == "ENOMEM"


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM])
def test_wait_signal(probe_bin, sig):
    proc = subprocess.Popen([str(probe_bin), "wait-signal"], stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "no ready line"
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0
    assert json.loads(out) == {"signal": signal.Signals(sig).name, "signo": int(sig),
                               "sender_pid": os.getpid()}

