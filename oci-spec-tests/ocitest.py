"""The oci-spec-tests toolkit: drive any runc-compatible runtime binary through its CLI,
build busybox bundles whose config.json is written here (not by `RUNTIME spec`), and find
what a container left behind on the host.

Used by conftest.py; also a tiny command line bundle builder for debugging a runtime by
hand:

    python3 oci-spec-tests/ocitest.py mkbundle DEST [ARGS...]

writes DEST/config.json (the suite's default config, process.args = ARGS or `sh`) and
DEST/rootfs (busybox-static plus /bin/ocitest-probe).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE_SOURCE = HERE / "tools" / "ocitest-probe.c"
BUSYBOX = Path(os.environ.get("OCITEST_BUSYBOX", "/bin/busybox"))
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PARENT = "ocitest"  # every container of the suite lives under /ocitest/<id>
SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                       r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
# The version written into every config.  A runtime that only implements an older 1.x
# may rightly refuse 1.3.0 (config.md: a 1.1 config "is not compatible with a runtime
# that supports 1.0 and not 1.1"); OCITEST_OCI_VERSION=1.0.2 lets such a runtime be tested.
OCI_VERSION = os.environ.get("OCITEST_OCI_VERSION", "1.3.0")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's default set: enough for root in the container to own its files and make nodes,
# nothing that the host root here (which lacks CAP_SYS_RESOURCE) could not grant.
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

CAP_BITS = {name: bit for bit, name in enumerate([
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"])}


def cap_mask(names):
    """The /proc/PID/status hex mask for a list of capability names."""
    mask = 0
    for name in names:
        mask |= 1 << CAP_BITS[name]
    return mask


def cap_names(mask_hex):
    mask = int(mask_hex, 16)
    return sorted(name for name, bit in CAP_BITS.items() if mask & (1 << bit))


# ---------------------------------------------------------------- bundles

def host_run(argv, check=True):
    """subprocess.run for host commands (cc, mount, ...): registered with the reaper so
    that it cannot take their exit status.  Returns the CompletedProcess (text)."""
    with reaper().lock:
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        REAPER.direct.add(proc.pid)
    try:
        out, err = proc.communicate()
    finally:
        REAPER.untrack(proc.pid)
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv, out, err)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def build_probe(dest):
    """Compile tools/ocitest-probe.c statically; returns the binary path."""
    out = Path(dest) / "ocitest-probe"
    host_run([os.environ.get("CC", "cc"), "-static", "-O2", "-o", out, PROBE_SOURCE])
    return out


def build_rootfs(dest, probe):
    """A busybox-static rootfs: one symlink per applet, /etc/passwd and /etc/group, the
    probe at /bin/ocitest-probe, and the empty mount points the default config needs."""
    dest = Path(dest)
    head = BUSYBOX.read_bytes()[:16384]
    if b"ld-linux" in head or b"ld-musl" in head:
        raise RuntimeError(f"{BUSYBOX} is dynamically linked; install busybox-static")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "mnt",
              "root", "home/test", "tmp", "var/tmp"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    os.chmod(dest / "var/tmp", 0o1777)
    os.chown(dest / "home/test", 1000, 1000)
    shutil.copy2(BUSYBOX, dest / "bin/busybox")
    applets = host_run([BUSYBOX, "--list"]).stdout.split()
    for applet in applets:
        link = dest / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    shutil.copy2(probe, dest / "bin/ocitest-probe")
    (dest / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                     "test:x:1000:1000:test:/home/test:/bin/sh\n"
                                     "nobody:x:65534:65534:nobody:/:/bin/false\n")
    (dest / "etc/group").write_text("root:x:0:\ntest:x:1000:\nnogroup:x:65534:\n")
    (dest / "etc/hostname").write_text("ocitest\n")


def default_config(cid, args=("sh",)):
    """A minimal runc-like config: pid/ipc/uts/mount/network namespaces, the standard
    mounts, terminal false, and a cgroupsPath that the suite can find and clean up."""
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [PATH_ENV, "TERM=xterm", "HOME=/root"],
            "cwd": "/",
            "capabilities": {k: list(DEFAULT_CAPS)
                             for k in ("bounding", "effective", "permitted")},
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "ocitest",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "cgroupsPath": f"/{CGROUP_PARENT}/{cid}",
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
        },
    }


def copy_rootfs(template, dest):
    shutil.copytree(template, dest, symlinks=True)


def write_config(bundle, config):
    (Path(bundle) / "config.json").write_text(json.dumps(config, indent=2))


def read_config(bundle):
    return json.loads((Path(bundle) / "config.json").read_text())


# ---------------------------------------------------------------- the runtime

class Result:
    """What one runtime invocation did: returncode, stdout, stderr (text)."""

    def __init__(self, args, returncode, stdout, stderr, timed_out=False):
        self.args, self.returncode = args, returncode
        self.stdout, self.stderr, self.timed_out = stdout, stderr, timed_out

    def __repr__(self):
        return str(self)

    @property
    def ok(self):
        return self.returncode == 0

    def __str__(self):
        return (f"$ {' '.join(self.args)}\nexit status {self.returncode}"
                f"{' (timed out)' if self.timed_out else ''}\n"
                f"stdout: {self.stdout.strip()[-2000:]}\nstderr: {self.stderr.strip()[-2000:]}")


class Runtime:
    """One runtime binary with one private --root.  Every container id it creates is
    remembered, so that cleanup() can force-delete them."""

    def __init__(self, binary, root, workdir):
        self.binary, self.root, self.workdir = str(binary), Path(root), Path(workdir)
        self.ids = []
        self._n = 0

    def __call__(self, *args, timeout=30, preexec_fn=None, env=None):
        """Runs the runtime with stdout/stderr in files, not pipes: a container started by
        `create` inherits them and would otherwise keep a pipe reader waiting forever."""
        self._n += 1
        argv = [self.binary, "--root", str(self.root)] + [str(a) for a in args]
        out_path = self.workdir / f"rt{self._n}.out"
        err_path = self.workdir / f"rt{self._n}.err"
        with open(out_path, "w+b") as out, open(err_path, "w+b") as err:
            # The reaper must not take the exit status of the runtime itself.
            with reaper().lock:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=err, start_new_session=True,
                                        preexec_fn=preexec_fn, env=env)
                REAPER.direct.add(proc.pid)
            timed_out = False
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                rc = proc.wait()
            finally:
                REAPER.untrack(proc.pid)
        return Result(argv, rc, out_path.read_text(errors="replace"),
                      err_path.read_text(errors="replace"), timed_out)

    def new_id(self):
        cid = "ocit-" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    # The operations, in the runc CLI spelling.
    def create(self, bundle, cid, **kw):
        return self("create", "--bundle", bundle, cid, **kw)

    def start(self, cid, **kw):
        return self("start", cid, **kw)

    def run(self, bundle, cid, **kw):
        return self("run", "--bundle", bundle, cid, **kw)

    def kill(self, cid, sig="KILL", **kw):
        return self("kill", cid, sig, **kw)

    def delete(self, cid, force=False, **kw):
        return self("delete", *(["--force"] if force else []), cid, **kw)

    def state_result(self, cid):
        return self("state", cid)

    def state(self, cid):
        res = self.state_result(cid)
        assert res.ok, f"state {cid} failed\n{res}"
        try:
            return json.loads(res.stdout)
        except ValueError:
            raise AssertionError(f"state {cid} printed no JSON\n{res}") from None

    def status(self, cid):
        """The status, or None when `state` errors (the container does not exist)."""
        res = self.state_result(cid)
        if not res.ok:
            return None
        try:
            return json.loads(res.stdout).get("status")
        except ValueError:
            return None

    def wait_status(self, cid, wanted, timeout=10):
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.status(cid)
            if status == wanted:
                return status
            time.sleep(0.05)
        raise AssertionError(f"container {cid} did not become {wanted!r} within {timeout}s "
                             f"(last status {status!r})")

    def list_ids(self):
        """The ids `list --format json` reports, or None if the runtime cannot list."""
        res = self("list", "--format", "json")
        if not res.ok:
            return None
        try:
            data = json.loads(res.stdout or "null") or []
        except ValueError:
            return None
        return [c.get("id") for c in data if isinstance(c, dict)]

    def cleanup(self):
        for cid in self.ids:
            if self.status(cid) is not None:
                self.delete(cid, force=True, timeout=20)


# ---------------------------------------------------------------- the host side

def cgroup_hierarchies():
    """(mountpoint, controllers, is_v2) for every cgroup hierarchy mounted on the host."""
    result = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts = fields[sep + 1], fields[sep + 3].split(",")
            mnt = Path(fields[4].replace("\\040", " "))
            if fstype == "cgroup2":
                ctrls = (mnt / "cgroup.controllers").read_text().split()
                result.append((mnt, ctrls, True))
            elif fstype == "cgroup":
                ctrls = [o for o in opts if o not in ("rw", "ro", "relatime", "nosuid",
                                                      "nodev", "noexec")]
                result.append((mnt, ctrls, False))
    return result


def controller_dir(controller, cgroup_path):
    """Host directory of cgroup_path for one controller, v1 mount first, then v2; None when
    the controller is not mounted on this host."""
    rel = cgroup_path.lstrip("/")
    for mnt, ctrls, is_v2 in cgroup_hierarchies():
        if not is_v2 and controller in ctrls:
            return mnt / rel
    for mnt, ctrls, is_v2 in cgroup_hierarchies():
        if is_v2 and controller in ctrls:
            return mnt / rel
    return None


def cgroup_dirs_of(cid):
    """Every host cgroup directory that exists for /ocitest/<cid>."""
    found = []
    for mnt, _, _ in cgroup_hierarchies():
        d = mnt / CGROUP_PARENT / cid
        if d.is_dir():
            found.append(d)
    return found


def remove_cgroup_tree(path):
    """rmdir a cgroup and its children, deepest first; cgroup dirs hold no files to unlink."""
    path = Path(path)
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            child.rmdir()
        except OSError:
            pass
    try:
        path.rmdir()
    except OSError:
        pass


def mounts_under(prefix):
    prefix = str(prefix).rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if (point + "/").startswith(prefix):
                points.append(point)
    return points


def umount_all_under(prefix):
    """Lazily unmount whatever a broken runtime left mounted on the host under prefix, so
    that removing the tree cannot reach through a bind mount into host directories."""
    left = mounts_under(prefix)
    for point in sorted(left, key=len, reverse=True):
        host_run(["umount", "-l", point], check=False)
    return left


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class Reaper:
    """Makes this process the child subreaper for everything the runtime forks, and reaps
    the orphans in a thread -- the job containerd-shim or conmon does for an engine.
    Without it a container process whose runtime exited is reparented to pid 1, and if
    pid 1 does not reap (as in some VMs), its zombie pins the container's cgroup forever.
    Direct children (the runtime invocations, waited for by subprocess) are left alone."""

    PR_SET_CHILD_SUBREAPER = 36

    def __init__(self):
        import ctypes
        import threading
        libc = ctypes.CDLL(None, use_errno=True)
        self.enabled = libc.prctl(self.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        self.direct = set()
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="ocitest-reaper", daemon=True)
        if self.enabled:
            self.thread.start()

    def track(self, pid):
        with self.lock:
            self.direct.add(pid)

    def untrack(self, pid):
        with self.lock:
            self.direct.discard(pid)

    def _zombie_children(self):
        me = os.getpid()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] == "Z" and int(fields[1]) == me:
                yield int(entry.name)

    def reap(self):
        for pid in self._zombie_children():
            with self.lock:
                if pid in self.direct:
                    continue
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def _loop(self):
        while not self.stop_event.wait(0.05):
            self.reap()

    def stop(self):
        self.stop_event.set()


REAPER = None


def reaper():
    global REAPER
    if REAPER is None:
        REAPER = Reaper()
    return REAPER


def wait_for_file(path, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Path(path).exists():
            return True
        time.sleep(0.05)
    return False


def parse_mountinfo(text):
    """[{id, parent, root, point, opts: set, optional: [..], fstype, source, super: set}]"""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10:
            continue
        sep = fields.index("-")
        mounts.append({
            "id": int(fields[0]), "parent": int(fields[1]), "root": fields[3],
            "point": fields[4].replace("\\040", " "), "opts": set(fields[5].split(",")),
            "optional": fields[6:sep], "fstype": fields[sep + 1], "source": fields[sep + 2],
            "super": set(fields[sep + 3].split(",")) if len(fields) > sep + 3 else set(),
        })
    return mounts


def probe_json(res):
    """The first JSON object line the probe printed on the container's stdout."""
    for line in res.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    raise AssertionError(f"the probe printed no JSON\n{res}")


def check_state_document(state):
    """Problems with a state document against runtime.md's State section (empty if none)."""
    problems = []
    for key in ("ociVersion", "id", "status", "bundle"):
        if key not in state:
            problems.append(f"missing REQUIRED property {key!r}")
        elif not isinstance(state[key], str):
            problems.append(f"{key!r} is not a string: {state[key]!r}")
    if isinstance(state.get("ociVersion"), str) and not SEMVER_RE.match(state["ociVersion"]):
        problems.append(f"ociVersion {state['ociVersion']!r} is not SemVer 2.0.0")
    if state.get("status") not in ("creating", "created", "running", "stopped"):
        problems.append(f"status {state.get('status')!r} is not one of the spec's values")
    if "pid" in state and (not isinstance(state["pid"], int) or state["pid"] < 0):
        problems.append(f"pid {state['pid']!r} is not an integer >= 0")
    if state.get("status") in ("created", "running") and not isinstance(state.get("pid"), int):
        problems.append("pid is REQUIRED when status is created or running on Linux")
    ann = state.get("annotations")
    if ann is not None and not (isinstance(ann, dict) and
                                all(isinstance(k, str) and k and isinstance(v, str)
                                    for k, v in ann.items())):
        problems.append(f"annotations is not a map of non-empty strings to strings: {ann!r}")
    return problems


def main(argv):
    if len(argv) < 2 or argv[0] != "mkbundle":
        print(__doc__, file=sys.stderr)
        return 2
    dest = Path(argv[1]).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    probe = build_probe(dest)
    build_rootfs(dest / "rootfs", probe)
    probe.unlink()
    config = default_config(dest.name, args=argv[2:] or ["sh"])
    write_config(dest, config)
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

