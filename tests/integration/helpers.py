"""Helpers shared by the integration tests: running husk, building bundles, and finding
(and removing) what a test left behind on the host.

conftest.py wraps these in fixtures; tests may also import them directly
(`from helpers import ...`)."""

import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MKROOTFS = REPO / "tests" / "fixtures" / "mkrootfs.sh"
CGROUP_ROOT = Path("/sys/fs/cgroup")
HUSK_ERROR_RE = re.compile(r"^husk: .+")

# The config used when `husk spec` does not work (yet): what runc's `spec` produces,
# adapted to husk.  Tests must not depend on the difference.
FALLBACK_CONFIG = {
    "ociVersion": "1.3.0",
    "process": {
        "terminal": False,
        "user": {"uid": 0, "gid": 0},
        "args": ["/bin/probe"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {
            "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "husk",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
        },
    ],
    "linux": {
        "namespaces": [
            {"type": "pid"},
            {"type": "network"},
            {"type": "ipc"},
            {"type": "uts"},
            {"type": "mount"},
            {"type": "cgroup"},
        ],
        "maskedPaths": [
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
        ],
        "readonlyPaths": [
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ],
    },
}


# ---------------------------------------------------------------------------- running husk


def run_husk(husk_bin, *args, root=None, check=False, timeout=30, input=None, env=None,
             global_args=(), cwd=None):
    """Run `husk [--root ROOT] [GLOBAL_ARGS] ARGS...` and return the CompletedProcess (text).

    Output goes through temporary files, not pipes: a container started by `create` or
    `run --detach` inherits husk's stdout/stderr and would keep a pipe open long after
    husk exited.  check=True raises AssertionError with the output on a non-zero exit,
    which reads better in a test report than CalledProcessError."""
    cmd = [str(husk_bin)]
    if root is not None:
        cmd += ["--root", str(root)]
    cmd += [str(a) for a in global_args]
    cmd += [str(a) for a in args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdin = subprocess.DEVNULL
        if input is not None:
            stdin = tempfile.TemporaryFile()
            stdin.write(input.encode())
            stdin.seek(0)
        try:
            proc = subprocess.run(cmd, stdin=stdin, stdout=out, stderr=err, timeout=timeout,
                                  env=env, cwd=cwd)
        finally:
            if input is not None:
                stdin.close()
        out.seek(0)
        err.seek(0)
        proc.stdout = out.read().decode(errors="replace")
        proc.stderr = err.read().decode(errors="replace")
    if check and proc.returncode != 0:
        raise AssertionError(describe(proc))
    return proc


def describe(proc):
    """A readable account of a finished command, for assertion messages."""
    cmd = proc.args if isinstance(proc.args, str) else " ".join(map(str, proc.args))
    return (f"command: {cmd}\nexit status: {proc.returncode}\n"
            f"stdout: {proc.stdout!r}\nstderr: {proc.stderr!r}")


def parse_json_output(text):
    """The JSON document a probe printed: the last line that parses as a JSON object
    (anything before it, e.g. hook output, is ignored)."""
    # "\n" only: splitlines() also splits at \x85, \u2028, ..., which JSON may hold raw.
    for line in reversed(text.split("\n")):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise ValueError(f"no JSON object in output: {text!r}")


def assert_one_error_line(proc, *words):
    """The error contract: exit status 1 and exactly one line `husk: <message>` on stderr
    containing every one of `words`."""
    assert proc.returncode == 1, describe(proc)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr\n{describe(proc)}"
    assert HUSK_ERROR_RE.match(lines[0]), f"stderr does not start with 'husk: '\n{describe(proc)}"
    for word in words:
        assert word in lines[0], f"{word!r} not in the error message\n{describe(proc)}"
    return lines[0]


# ---------------------------------------------------------------------------- ids


def short_hash(text, length=6):
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class IdFactory:
    """Short container ids unique per test and per test run:
    t-<hash of the test's node id and of this pytest process>-<n>.  Cgroup paths
    (/husk/<id>) are machine-wide, so two runs of the same test must not collide."""

    def __init__(self, nodeid):
        self.prefix = f"t-{short_hash(f'{nodeid}:{os.getpid()}')}"
        self.issued = []

    def __call__(self):
        cid = f"{self.prefix}-{len(self.issued)}"
        self.issued.append(cid)
        return cid


# ---------------------------------------------------------------------------- bundles


def build_rootfs(dest, probe_bin):
    subprocess.run(["bash", str(MKROOTFS), str(dest), str(probe_bin)], check=True,
                   capture_output=True, text=True)


def read_config(bundle):
    return json.loads((Path(bundle) / "config.json").read_text())


def write_config(bundle, config):
    (Path(bundle) / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def generate_config(husk_bin, bundle, root):
    """config.json from `husk spec`, or FALLBACK_CONFIG if that does not work."""
    try:
        proc = run_husk(husk_bin, "spec", "--bundle", bundle, root=root, timeout=10)
        if proc.returncode == 0:
            return read_config(bundle)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        pass
    return json.loads(json.dumps(FALLBACK_CONFIG))


def make_bundle(dest, rootfs_template, husk_bin, root, config_mutator=None, args=None):
    """A bundle at dest: a copy of rootfs_template as rootfs/ and a config.json whose
    process runs /bin/probe (or args) without a terminal, then config_mutator(config)."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(rootfs_template), str(dest / "rootfs")], check=True)
    config = generate_config(husk_bin, dest, root)
    config.setdefault("process", {})
    config["process"]["terminal"] = False
    config["process"]["args"] = list(args) if args is not None else ["/bin/probe"]
    if config_mutator is not None:
        result = config_mutator(config)
        if result is not None:
            config = result
    write_config(dest, config)
    return dest


# ---------------------------------------------------------------------------- leftovers


def _proc_starttime(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None  # a zombie is gone for every purpose that matters here
    return int(fields[19])


def _ancestors_of_self():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            break
    return pids


def _unescape_mountinfo(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def cgroup_hierarchies():
    """Roots of every mounted cgroup hierarchy (v1 controllers, named, and v2)."""
    roots = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return roots
    for line in lines:
        left, _, right = line.partition(" - ")
        fstype = right.split()[0] if right else ""
        if fstype in ("cgroup", "cgroup2"):
            roots.append(Path(_unescape_mountinfo(left.split()[4])))
    return roots


def cgroup_candidates(ids, cgroup_paths=()):
    """Where husk may have made a cgroup for these ids: /husk/<id> (the default), the
    systemd scope of the default slice, and any explicit linux.cgroupsPath."""
    rel = []
    for cid in ids:
        rel += [f"husk/{cid}", f"system.slice/husk-{cid}.scope"]
    for path in cgroup_paths:
        if path and ":" not in path and ".." not in path.split("/"):
            rel.append(path.strip("/"))
    return [root / r for root in cgroup_hierarchies() for r in rel if r]


class Tracker:
    """What one test may leave behind, and how to find and remove it.

    tmp: the test's private temp dir (bundles live in it; the --root usually too);
    root: the --root; ids: container ids issued; pids: (pid, starttime) of processes
    the test learned about (from `state`, pid files...)."""

    def __init__(self, tmp, root, husk_bin=None):
        self.tmp = str(Path(tmp).resolve())
        self.root = Path(root)
        self.husk_bin = husk_bin
        self.ids = []
        self.bundles = []
        self.pids = set()

    # -- bookkeeping -------------------------------------------------------------

    def note_pid(self, pid):
        start = _proc_starttime(pid)
        if pid and pid > 0 and start is not None:
            self.pids.add((pid, start))

    def note_pid_file(self, path):
        try:
            self.note_pid(int(Path(path).read_text().strip()))
        except (OSError, ValueError):
            pass

    def note_output(self, args, proc):
        """Learn pids from the output of `state` and `ps --format json`."""
        if proc.returncode != 0 or not args:
            return
        try:
            if args[0] == "state":
                self.note_pid(int(json.loads(proc.stdout).get("pid") or 0))
            elif args[0] == "ps" and "json" in args:
                for pid in json.loads(proc.stdout) or []:
                    self.note_pid(int(pid))
        except (ValueError, TypeError, AttributeError):
            pass

    def cgroup_paths(self):
        paths = []
        for bundle in self.bundles:
            try:
                paths.append(read_config(bundle).get("linux", {}).get("cgroupsPath", ""))
            except (OSError, ValueError, AttributeError):
                pass
        return paths

    # -- finding -----------------------------------------------------------------

    def state_dirs(self):
        try:
            return sorted(self.root.iterdir())
        except FileNotFoundError:
            return []

    def mounts(self):
        found = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = _unescape_mountinfo(line.split()[4])
            if point == self.tmp or point.startswith(self.tmp + "/"):
                found.append(point)
        return found

    def cgroups(self):
        return [p for p in cgroup_candidates(self.ids, self.cgroup_paths()) if p.is_dir()]

    def processes(self):
        """Live processes that belong to this test: known pids, anything whose command
        line, cwd or root is inside the test's temp dir, and members of its cgroups."""
        me = _ancestors_of_self()
        found = set()
        for pid, start in self.pids:
            if _proc_starttime(pid) == start:
                found.add(pid)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace")
                places = [cmdline]
                for link in ("cwd", "root"):
                    try:
                        places.append(os.readlink(entry / link))
                    except OSError:
                        pass
            except OSError:
                continue
            if any(self.tmp in place for place in places):
                found.add(pid)
        for cg in self.cgroups():
            for procs in cg.rglob("cgroup.procs"):
                try:
                    found.update(int(p) for p in procs.read_text().split())
                except (OSError, ValueError):
                    pass
        return sorted(p for p in found if p not in me and _proc_starttime(p) is not None)

    def leftovers(self):
        """Everything left behind, as readable strings; empty when clean."""
        left = [f"state dir {p}" for p in self.state_dirs()]
        left += [f"mount {m}" for m in self.mounts()]
        left += [f"cgroup {c}" for c in self.cgroups()]
        for pid in self.processes():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace").strip()
            except OSError:
                cmd = "?"
            left.append(f"process {pid} ({cmd})")
        return left

    # -- removing ----------------------------------------------------------------

    def cleanup(self):
        """Best effort removal of everything leftovers() finds: husk delete --force for
        every state dir, then kill processes, lazy-unmount, rmdir cgroups, rm state."""
        if self.husk_bin is not None:
            for entry in self.state_dirs():
                try:
                    run_husk(self.husk_bin, "delete", "--force", entry.name, root=self.root,
                             timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _wait_gone(self.processes, 5)
        for point in sorted(self.mounts(), key=len, reverse=True):
            _umount_lazy(point)
        for cg in sorted(self.cgroups(), key=lambda p: len(p.parts), reverse=True):
            for sub in sorted((p for p in cg.rglob("*") if p.is_dir()),
                              key=lambda p: len(p.parts), reverse=True) + [cg]:
                _rmdir_cgroup(sub)
        for entry in self.state_dirs():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                try:
                    entry.unlink()
                except OSError:
                    pass


def _wait_gone(finder, seconds):
    deadline = time.monotonic() + seconds
    while finder() and time.monotonic() < deadline:
        time.sleep(0.05)


def _umount_lazy(point):
    libc = ctypes.CDLL(None, use_errno=True)
    MNT_DETACH = 2
    libc.umount2(point.encode(), MNT_DETACH)


def _rmdir_cgroup(path):
    # A cgroup dir empties only once its processes are gone; killed ones take a moment.
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


# ---------------------------------------------------------------------------- waiting


def container_status(husk, cid):
    """`state ID`'s status, or None when the container does not exist (or state fails)."""
    proc = husk("state", cid, timeout=10)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout).get("status")
    except (ValueError, AttributeError):
        return None


def wait_for_status(husk, cid, wanted, timeout=10):
    """Poll `state` until the status is `wanted`; returns the last status seen."""
    deadline = time.monotonic() + timeout
    status = container_status(husk, cid)
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        status = container_status(husk, cid)
    return status


def load_schema_validator(name):
    """A jsonschema validator for one of the runtime-spec schemas, or None when the
    jsonschema module or the schema files are not available (the test then skips).
    HUSK_OCI_SCHEMA_DIR overrides where the schema files are looked for."""
    try:
        import jsonschema
    except ImportError:
        return None
    candidates = [os.environ.get("HUSK_OCI_SCHEMA_DIR", ""),
                  REPO / "oci-spec-tests" / "schema",
                  REPO.parent / "shared" / "reference" / "oci-runtime-spec-v1.3.0" / "schema"]
    for directory in candidates:
        path = Path(directory) / name if directory else None
        if path and path.is_file():
            schema = json.loads(path.read_text())
            resolver = jsonschema.RefResolver(base_uri=path.resolve().as_uri(), referrer=schema)
            cls = jsonschema.validators.validator_for(schema)
            return cls(schema, resolver=resolver)
    return None
