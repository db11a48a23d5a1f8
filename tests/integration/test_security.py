"""Security defences (issue 6), seen from inside: seccomp filters (errno, kill, notify with
a listener), refusal of bad seccomp/capability input, maskedPaths/readonlyPaths, no leaked
fds or cwd (CVE-2024-21626 class), and no way to overwrite the husk binary through
/proc/<pid>/exe (CVE-2019-5736 class)."""

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import helpers
from helpers import assert_one_error_line

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import rootfs_util as ru  # noqa: E402

SIGSYS = 31


def with_seccomp(seccomp, **process):
    def mutate(config):
        config["linux"]["seccomp"] = seccomp
        config["root"]["readonly"] = False
        config["process"].update(process)
    return mutate


def block_mkdir(action, **rule):
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action, **rule}]}


MKDIR = ["syscall", "mkdir", "/tmp/probe-dir"]


# ---------------------------------------------------------------------------- seccomp


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_seccomp_errno(husk, bundle, unique_id, assert_clean, nnp):
    b = bundle(with_seccomp(block_mkdir("SCMP_ACT_ERRNO", errnoRet=1), noNewPrivileges=nnp),
               args=ru.probe_script(MKDIR, ["syscall", "getpid"], ["report"]))
    mkdir, getpid, report = ru.run_script(husk, b, unique_id(), 3)
    assert not mkdir["ok"] and mkdir["errno_name"] == "EPERM", mkdir
    assert getpid["ok"], getpid
    assert report["seccomp"] == 2 and report["seccomp_filters"] >= 1, report["seccomp"]
    assert report["no_new_privs"] == int(nnp)
    assert not (b / "rootfs" / "tmp" / "probe-dir").exists()
    assert_clean()


def test_seccomp_errno_default_is_eperm(husk, bundle, unique_id, assert_clean):
    """config-linux.md: errnoRet unset means EPERM."""
    b = bundle(with_seccomp(block_mkdir("SCMP_ACT_ERRNO")), args=ru.probe_script(MKDIR))
    (mkdir,) = ru.run_script(husk, b, unique_id(), 1)
    assert mkdir["errno_name"] == "EPERM", mkdir
    assert_clean()


def test_seccomp_errno_ret_other_value(husk, bundle, unique_id, assert_clean):
    b = bundle(with_seccomp(block_mkdir("SCMP_ACT_ERRNO", errnoRet=28)),
               args=ru.probe_script(MKDIR))
    (mkdir,) = ru.run_script(husk, b, unique_id(), 1)
    assert mkdir["errno_name"] == "ENOSPC", mkdir
    assert_clean()


def known_syscalls():
    """Every syscall name of this architecture that libseccomp knows, from the kernel
    headers (so that the allow list is complete without naming anything unknown)."""
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if not header.exists():
        pytest.skip("no asm/unistd_64.h")
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        pytest.skip("no libseccomp.so.2")
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    names = []
    for line in header.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("__NR_"):
            name = parts[1][len("__NR_"):]
            if lib.seccomp_syscall_resolve_name(name.encode()) >= 0:
                names.append(name)
    return names


def test_seccomp_default_errno_ret(husk, bundle, unique_id, assert_clean):
    """defaultAction ERRNO with defaultErrnoRet: everything is allowed by name except
    mkdir/mkdirat, which fall to the default and get defaultErrnoRet."""
    allowed = [n for n in known_syscalls() if n not in ("mkdir", "mkdirat")]
    seccomp = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 25,
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}
    b = bundle(with_seccomp(seccomp), args=ru.probe_script(MKDIR))
    (mkdir,) = ru.run_script(husk, b, unique_id(), 1)
    assert mkdir["errno_name"] == "ENOTTY", mkdir
    assert_clean()


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS"])
def test_seccomp_kill(husk, bundle, unique_id, assert_clean, action):
    b = bundle(with_seccomp(block_mkdir(action)), args=["/bin/probe", *MKDIR])
    proc = husk("run", "--bundle", b, unique_id(), timeout=20)
    assert proc.returncode == 128 + SIGSYS, helpers.describe(proc)
    assert proc.stdout == "", "the probe died before printing"
    assert_clean()


class Listener:
    """A seccomp agent: accepts one connection on an AF_UNIX socket and records the
    message and the fds that came with it (SCM_RIGHTS)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(20)
        self.message = b""
        self.fd_links = []
        self.error = None
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(20)
                while True:
                    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 8)
                    for fd in fds:
                        self.fd_links.append(os.readlink(f"/proc/self/fd/{fd}"))
                        # Closing the notify fd makes the waiting syscall fail with ENOSYS.
                        os.close(fd)
                    if not data:
                        break
                    self.message += data
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.sock.close()

    def result(self):
        """Called once the run is over: husk connected by then, or never will."""
        self.thread.join(2)
        if self.thread.is_alive():
            # Wake the pending accept() with a connection of our own that sends nothing.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
                try:
                    wake.connect(self.path)
                except OSError:
                    pass
            self.thread.join(20)
        return self.message, self.fd_links, self.error


def test_seccomp_notify_sends_fd_and_state(husk, bundle, tmp_path, unique_id, assert_clean):
    listener = Listener(tmp_path / "agent.sock")
    seccomp = block_mkdir("SCMP_ACT_NOTIFY")
    seccomp["listenerPath"] = listener.path
    seccomp["listenerMetadata"] = "rootfstests-metadata"
    b = bundle(with_seccomp(seccomp), args=ru.probe_script(MKDIR, ["syscall", "getpid"]))
    cid = unique_id()
    proc = husk("run", "--bundle", b, cid, timeout=30)
    message, links, error = listener.result()
    assert proc.returncode == 0, helpers.describe(proc)
    assert error is None, error
    assert links == ["anon_inode:seccomp notify"], links
    state = json.loads(message)
    assert state["fds"] == ["seccompFd"], state
    assert state["metadata"] == "rootfstests-metadata", state
    assert state["state"]["id"] == cid and state["state"]["bundle"] == str(b), state
    assert state["state"]["status"] in ("creating", "created"), state
    assert state["pid"] == state["state"]["pid"] and state["pid"] > 0, state
    mkdir, getpid = ru.json_lines(proc.stdout)
    assert mkdir["errno_name"] == "ENOSYS", mkdir  # the agent closed the fd: no answer
    assert getpid["ok"]
    assert_clean()


# ---------------------------------------------------------------------------- bad input


BAD_SECCOMP = {
    "unknown-action": ({"defaultAction": "SCMP_ACT_ALLOW",
                        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]},
                       ["linux.seccomp.syscalls[0].action", "SCMP_ACT_BOGUS"]),
    "unknown-default": ({"defaultAction": "SCMP_ACT_NOPE"},
                        ["linux.seccomp.defaultAction", "SCMP_ACT_NOPE"]),
    "unknown-arch": ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"]},
                     ["linux.seccomp.architectures[0]", "SCMP_ARCH_BOGUS"]),
    "unknown-op": ({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}]},
                   ["linux.seccomp.syscalls[0].args[0].op", "SCMP_CMP_BOGUS"]),
    "unknown-flag": ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]},
                     ["linux.seccomp.flags[0]", "SECCOMP_FILTER_FLAG_NOPE"]),
}


@pytest.mark.parametrize("command", ["create", "run"])
@pytest.mark.parametrize("case", sorted(BAD_SECCOMP))
def test_bad_seccomp(husk, bundle, unique_id, assert_clean, command, case):
    seccomp, words = BAD_SECCOMP[case]
    cid = unique_id()
    proc = husk(command, "--bundle", bundle(with_seccomp(seccomp)), cid, timeout=20)
    assert_one_error_line(proc, *words)
    assert helpers.container_status(husk, cid) is None
    assert_clean()


@pytest.mark.parametrize("command", ["create", "run"])
@pytest.mark.parametrize("kind", ["bounding", "effective", "ambient"])
def test_unknown_capability(husk, bundle, unique_id, assert_clean, command, kind):
    """config.md: a capability that cannot be mapped "MUST be logged as a warning by the
    runtime. Runtimes SHOULD NOT fail" -- the warning names the field, the container runs."""
    def mutate(config):
        caps = config["process"]["capabilities"]
        for s in ("bounding", "permitted", "effective", "inheritable", "ambient"):
            caps.setdefault(s, [])
            if "CAP_KILL" not in caps[s]:
                caps[s].append("CAP_KILL")
        caps[kind] = ["CAP_KILL", "CAP_BOGUS"]

    cid = unique_id()
    proc = husk(command, "--bundle", bundle(mutate), cid, timeout=20)
    assert proc.returncode == 0, helpers.describe(proc)
    warning = [l for l in proc.stderr.splitlines() if "CAP_BOGUS" in l]
    assert warning and "warning" in warning[0], proc.stderr
    assert f"process.capabilities.{kind}" in warning[0], warning
    if command == "create":
        husk("delete", "--force", cid, check=True)
    assert helpers.container_status(husk, cid) is None
    assert_clean()


@pytest.mark.parametrize("command", ["create", "run"])
@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_missing_listener_path(husk, bundle, tmp_path, unique_id, assert_clean, command, nnp):
    """A listenerPath nobody listens on: create/run fail with one line naming the field,
    and no container is left (not even one that dies at start)."""
    seccomp = block_mkdir("SCMP_ACT_NOTIFY")
    seccomp["listenerPath"] = str(tmp_path / "no-agent.sock")
    cid = unique_id()
    b = bundle(with_seccomp(seccomp, noNewPrivileges=nnp), args=["/bin/probe", *MKDIR])
    proc = husk(command, "--bundle", b, cid, timeout=20)
    if command == "create" and proc.returncode == 0:
        husk("delete", "--force", cid)
        pytest.fail("create succeeded with a listenerPath nobody listens on")
    assert_one_error_line(proc, "listenerPath", "no-agent.sock")
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_notify_without_listener_path(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    b = bundle(with_seccomp(block_mkdir("SCMP_ACT_NOTIFY")))
    assert_one_error_line(husk("run", "--bundle", b, cid, timeout=20), "listenerPath")
    assert_clean()


# ---------------------------------------------------------------------------- masks


def test_default_masked_and_readonly_paths(husk, bundle, unique_id, assert_clean):
    """The masks of `husk spec`: a masked file reads empty, a masked directory is an empty
    read-only tmpfs, /proc/sys is read-only; writing there fails with EROFS."""
    b = bundle(args=ru.probe_script(["read", "/proc/keys"], ["ls", "/proc/acpi"],
                                    ["write", "/proc/acpi/x", "x"], ["ls", "/sys/firmware"],
                                    ["write", "/proc/sys/kernel/hostname", "evil"],
                                    ["report"]))
    config = helpers.read_config(b)
    assert "/proc/keys" in config["linux"]["maskedPaths"]
    assert "/proc/sys" in config["linux"]["readonlyPaths"]
    keys, acpi, acpi_w, firmware, sysw, report = ru.run_script(husk, b, unique_id(), 6)
    assert keys["ok"] and keys["content"] == "", keys
    assert acpi["ok"] and acpi["entries"] == [], acpi
    assert ru.errno_of(acpi_w) == "EROFS", acpi_w
    assert firmware["ok"] and firmware["entries"] == [], firmware
    assert ru.errno_of(sysw) == "EROFS", sysw
    acpi_mount = ru.top_mount(report, "/proc/acpi")
    assert acpi_mount["fstype"] == "tmpfs" and "ro" in ru.mount_flags(acpi_mount)
    assert "ro" in ru.mount_flags(ru.top_mount(report, "/proc/sys"))
    assert ru.top_mount(report, "/proc/keys")["major_minor"] != ru.top_mount(
        report, "/proc")["major_minor"], "/proc/keys is not covered"
    assert_clean()


def test_masked_file_is_not_writable_through(husk, bundle, unique_id, assert_clean):
    """The /dev/null bound over a masked file swallows writes; the masked file itself is
    not reachable."""
    def mutate(config):
        config["root"]["readonly"] = False
        config["linux"]["maskedPaths"] = ["/etc/secret", "/etc/secret-dir"]

    b = bundle(mutate, args=ru.probe_script(["read", "/etc/secret"],
                                            ["write", "/etc/secret", "x"],
                                            ["ls", "/etc/secret-dir"]))
    (b / "rootfs" / "etc" / "secret").write_text("do not show")
    (b / "rootfs" / "etc" / "secret-dir").mkdir()
    (b / "rootfs" / "etc" / "secret-dir" / "inside").write_text("hidden")
    read, write, ls = ru.run_script(husk, b, unique_id(), 3)
    assert read["content"] == "", read
    assert write["ok"], write
    assert (b / "rootfs" / "etc" / "secret").read_text() == "do not show"
    assert ls["entries"] == [], ls
    assert_clean()


def test_readonly_path_recursive(husk, bundle, unique_id, assert_clean):
    """readonlyPaths applies to submounts too: a tmpfs mounted below a readonly path is
    read-only as well."""
    def mutate(config):
        config["root"]["readonly"] = False
        config["mounts"].append({"destination": "/srv/ro/inner", "type": "tmpfs",
                                 "source": "tmpfs", "options": []})
        config["linux"]["readonlyPaths"] = ["/srv/ro"]

    b = bundle(mutate, args=ru.probe_script(["write", "/srv/ro/x", "x"],
                                            ["write", "/srv/ro/inner/x", "x"]))
    top, inner = ru.run_script(husk, b, unique_id(), 2)
    assert ru.errno_of(top) == "EROFS" and ru.errno_of(inner) == "EROFS", (top, inner)
    assert_clean()


# ---------------------------------------------------------------------------- fds and cwd


def test_only_stdio_fds_reach_the_process(husk, bundle, unique_id, assert_clean):
    b = bundle()
    report = ru.json_lines(husk("run", "--bundle", b, unique_id(), check=True).stdout)[-1]
    assert sorted(report["fds"], key=int) == ["0", "1", "2"], report["fds"]
    assert report["cwd"] == "/"
    assert_clean()


def test_preserve_fds(husk_bin, bundle, root_dir, tmp_path, unique_id, assert_clean):
    f3, f4 = tmp_path / "three", tmp_path / "four"
    f3.write_text("3")
    f4.write_text("4")
    b = bundle()
    cmd = ["/bin/sh", "-c", 'exec 3<"$1" 4<"$2"; shift 2; exec "$@"', "sh", str(f3), str(f4),
           str(husk_bin), "--root", str(root_dir), "run", "--preserve-fds", "2", "--bundle",
           str(b), unique_id()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, helpers.describe(proc)
    fds = ru.json_lines(proc.stdout)[-1]["fds"]
    assert sorted(fds, key=int) == ["0", "1", "2", "3", "4"], fds
    assert fds["3"].endswith("/three") and fds["4"].endswith("/four"), fds
    assert_clean()


@pytest.fixture
def running(husk, bundle, unique_id):
    """A created-and-started container whose init waits for a signal."""
    cid = unique_id()
    husk("run", "--detach", "--bundle", bundle(args=["/bin/probe", "sleep", "60"]), cid,
         check=True)
    yield cid
    husk("delete", "--force", cid)


def test_exec_gets_only_stdio_fds(husk, running, assert_clean):
    proc = husk("exec", running, "/bin/probe", check=True)
    report = ru.json_lines(proc.stdout)[-1]
    assert sorted(report["fds"], key=int) == ["0", "1", "2"], report["fds"]
    assert report["cwd"] == "/"


@pytest.mark.parametrize("fd", [3, 4, 5, 6, 7, 8, 9])
def test_cwd_through_leaked_fd_is_impossible(husk, bundle, unique_id, assert_clean, fd):
    """CVE-2024-21626: process.cwd /proc/self/fd/N must not reach a host directory that
    husk still holds open at chdir time.  Either the run fails, or the cwd is inside."""
    def mutate(config):
        config["process"]["cwd"] = f"/proc/self/fd/{fd}"

    cid = unique_id()
    proc = husk("run", "--bundle", bundle(mutate), cid, timeout=20)
    if proc.returncode == 0:
        cwd = ru.json_lines(proc.stdout)[-1]["cwd"]
        assert cwd is not None and not cwd.startswith("(unreachable)"), cwd
        assert cwd.startswith("/"), cwd
    else:
        assert_one_error_line(proc, "cwd")
    assert_clean()


@pytest.mark.parametrize("fd", [3, 4, 5, 6, 7])
def test_exec_cwd_through_leaked_fd_is_impossible(husk, running, fd):
    proc = husk("exec", "--cwd", f"/proc/self/fd/{fd}", running, "/bin/probe")
    if proc.returncode == 0:
        cwd = ru.json_lines(proc.stdout)[-1]["cwd"]
        assert cwd is not None and not cwd.startswith("(unreachable)"), cwd
    else:
        assert proc.returncode in (1, 127, 128), helpers.describe(proc)


def test_cwd_inside_rootfs(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        config["process"]["cwd"] = "/home/test"

    report = ru.json_lines(husk("run", "--bundle", bundle(mutate), unique_id(),
                                check=True).stdout)[-1]
    assert report["cwd"] == "/home/test"
    assert_clean()


# ---------------------------------------------------------------------------- /proc/self/exe


ATTACKER = r"""
log=/attack.log
: > $log
end=$(( $(date +%s) + 6 ))
while [ $(date +%s) -lt $end ]; do
  for e in /proc/[0-9]*/exe; do
    p=${e%/exe}; p=${p#/proc/}
    [ "$p" = "$$" ] && continue
    t=$(readlink "$e" 2>/dev/null) || continue
    case "$t" in
    *husk*)
      echo "SAW $p $t" >> $log
      ( exec 3< "$e" || exit 0
        # The process may have exec'd its payload in between: only a husk binary counts
        # (writing the container's own /bin/probe is no escape).
        case "$(readlink /proc/self/fd/3)" in *husk*) ;; *) exit 0 ;; esac
        echo "OPENED $p" >> $log
        for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
          if echo PWNED >> /proc/self/fd/3; then echo "WROTE $p" >> $log; exit 0; fi
          sleep 0.25
        done ) 2>/dev/null &
      ;;
    esac
    if echo PWNED 2>/dev/null >> "$e"; then echo "WROTE-DIRECT $p" >> $log; fi
  done
done
wait
echo done >> $log
"""


def test_proc_exe_overwrite_attempt(husk_bin, bundle, root_dir, tmp_path, unique_id,
                                    assert_clean):
    """CVE-2019-5736 class: while `husk exec` enters the container, a process in the
    container looks for /proc/<pid>/exe links to the husk binary, opens them, and tries to
    write through them (directly, and by reopening the fd after husk exits).  The husk
    binary on the host must be unchanged.  A copy of husk is used so that a successful
    attack cannot damage the build."""
    husk_copy = tmp_path / "husk-under-attack"
    shutil.copy2(husk_bin, husk_copy)
    before = ru.file_sha256(husk_copy)

    def mutate(config):
        config["root"]["readonly"] = False

    b = bundle(mutate, args=["/bin/sh", "-c", ATTACKER])
    cid = unique_id()

    def hk(*args, **kw):
        return helpers.run_husk(husk_copy, *args, root=root_dir, timeout=30, **kw)

    hk("run", "--detach", "--bundle", b, cid, check=True)
    try:
        deadline = time.monotonic() + 4
        execs = 0
        while time.monotonic() < deadline:
            proc = hk("exec", cid, "/bin/probe")
            assert proc.returncode == 0, helpers.describe(proc)
            fds = ru.json_lines(proc.stdout)[-1]["fds"]
            assert sorted(fds, key=int) == ["0", "1", "2"], fds
            execs += 1
        for _ in range(100):  # the attacker stops by itself after ~6 s
            if "done" in (b / "rootfs" / "attack.log").read_text():
                break
            time.sleep(0.1)
    finally:
        hk("delete", "--force", cid)
    log = (b / "rootfs" / "attack.log").read_text()
    print(f"{execs} execs; attacker log:\n{log}")
    assert ru.file_sha256(husk_copy) == before, f"the husk binary was modified:\n{log}"
    assert "WROTE" not in log, log
    assert_clean()


def test_runtime_runs_from_a_sealed_copy_of_its_loaded_part(husk_bin, bundle, root_dir,
                                                           unique_id, assert_clean):
    """`husk run` re-executes itself from a memfd sealed against writes, resizing and new
    seals, holding the part of the binary the loader needs (the same bytes, ELF header
    aside; debug info and section headers are left out unless it is a sanitizer build)."""
    import fcntl
    cid = unique_id()
    b = bundle(args=["/bin/probe", "sleep", "inf"])
    cmd = [str(husk_bin), "--root", str(root_dir), "run", "--bundle", str(b), cid]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        exe = f"/proc/{proc.pid}/exe"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.readlink(exe).startswith("/memfd:husk"):
            time.sleep(0.02)
        assert os.readlink(exe).startswith("/memfd:husk"), os.readlink(exe)
        fd = os.open(exe, os.O_RDONLY)
        try:
            seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
            want = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | \
                fcntl.F_SEAL_WRITE
            assert seals & want == want, hex(seals)
            copy = os.read(fd, 1 << 24)
        finally:
            os.close(fd)
        with pytest.raises(OSError):
            os.close(os.open(exe, os.O_WRONLY))
        original = Path(husk_bin).read_bytes()
        assert 64 < len(copy) <= len(original)
        assert copy[64:] == original[64:len(copy)]
        assert copy[:16] == original[:16]
        if b"__asan_init" not in original and b"__ubsan_handle" not in original:
            # Section headers always come after the loaded part, even in a stripped file.
            assert len(copy) < len(original), (len(copy), len(original))
    finally:
        # Only once it is running: a delete while run is still creating it finds nothing.
        helpers.wait_for_status(lambda *a, **k: helpers.run_husk(husk_bin, *a, root=root_dir,
                                                                   **k), cid, "running")
        helpers.run_husk(husk_bin, "delete", "--force", cid, root=root_dir)
        proc.wait(timeout=10)
    assert_clean()


def test_unknown_syscall_names_skipped_with_debug_note(husk, bundle, unique_id, assert_clean):
    """Syscalls the installed libseccomp does not know are skipped, not fatal; --debug says
    which ones (issue 6)."""
    def mutate(config):
        config["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["husk_no_such_syscall", "mkdir"],
                          "action": "SCMP_ACT_ERRNO"}]}
    b = bundle(mutate, args=["/bin/probe", "syscall", "mkdir", "/tmp/x"])
    proc = husk("run", "--bundle", b, unique_id(), global_args=["--debug"])
    assert proc.returncode == 0, helpers.describe(proc)
    assert '"husk_no_such_syscall" is unknown to libseccomp' in proc.stderr, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errno_name"] == "EPERM", result
    quiet = husk("run", "--bundle", b, unique_id())
    assert quiet.returncode == 0 and "libseccomp" not in quiet.stderr, helpers.describe(quiet)
    assert_clean()
