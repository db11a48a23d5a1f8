"""Fixtures for driving real container engines with husk (and with runc, for reference).

Every scenario runs once per runtime, runc first: a scenario that fails only with husk is a
husk bug, one that fails with both is a test or host problem.

    runtime            parametrized: a Runtime (name, real binary, argv-logger wrapper)
    image_files        the busybox-static image as rootfs.tar and docker-archive.tar
    podman             a Podman bound to this test's runtime, private storage per session
    buildah_cmd        the buildah argv prefix sharing that storage
    containerd         a private containerd daemon per session (own root/state/socket)
    leftovers          host paths the engines create outside their private dirs

Environment: HUSK=/path/to/husk (default: ./husk in the repo); runc is found in PATH;
HUSK_ENGINES_NO_DEFAULT_SYSCTLS=1 drops podman's default_sysctls (to look past a sysctl
bug; the default is the distro's containers.conf, as users have it).
Each engine's tests skip, with the reason, when its binaries are not installed.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RUNTIME_NAMES = ("runc", "husk")
# Root lacks CAP_SYS_RESOURCE here and podman asks for 1048576 open files by default.
NOFILE_HARD = 20000
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def run_cmd(argv, *, timeout=60, check=False, input=None, env=None, cwd=None):
    """Run argv, capture text output; never hang a test for longer than timeout."""
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, input=input, env=env, cwd=cwd,
                          stdin=None if input is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(describe(proc))
    return proc


def describe(proc):
    return (f"$ {' '.join(map(str, proc.args))}\nexit status {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")


def in_script(command, *, timeout=60, env=None, input=None):
    """Run a shell command line on a fresh pty (script(1)), as a user at a terminal would.
    Returns the CompletedProcess; script -e passes the command's exit status through."""
    return run_cmd(["script", "-qec", command, "/dev/null"], timeout=timeout, env=env,
                   input=input)


def mounts_under(path):
    """Mount points at or below path, deepest first (the order to unmount them)."""
    prefix = str(path).rstrip("/")
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all_under(path):
    for point in mounts_under(path):
        subprocess.run(["umount", "-l", point], capture_output=True)


def cgroup_of(pid, controller):
    """The host path of pid's cgroup for a v1 controller (or "" for the v2 line)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return Path("/sys/fs/cgroup") / controller / path.lstrip("/")
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def remove_cgroup_tree(name):
    """rmdir /sys/fs/cgroup/*/NAME and everything below it, deepest first."""
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / name
        if not top.is_dir():
            continue
        dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(str(p)),
                      reverse=True)
        for d in dirs + [top]:
            try:
                d.rmdir()
            except OSError:
                pass


def wait_for(predicate, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# ----------------------------------------------------------------------------- runtimes

class Runtime:
    """One OCI runtime as engines see it: `path` is an argv-logger wrapper with the
    runtime's own name (podman decides by the name whether a runtime speaks JSON logs)."""

    def __init__(self, name, real, wrapper, log):
        self.name = name
        self.real = real
        self.path = wrapper
        self.log = log
        self.default_root = Path("/run") / name

    def mark(self):
        return self.log.stat().st_size if self.log.exists() else 0

    def calls_since(self, mark):
        """The argv lines logged since mark, each as the list of shell-quoted words after
        the fd column (continuation lines with --process content are dropped)."""
        if not self.log.exists():
            return []
        with open(self.log) as f:
            f.seek(mark)
            text = f.read()
        calls = []
        for line in text.splitlines():
            if line.startswith("    ") or "\t" not in line:
                continue
            fields = line.split("\t")
            if len(fields) >= 6 and not fields[2].startswith("exit="):
                calls.append(fields[5])
        return calls

    def state_dirs(self):
        """Engine-made containers in the default root: podman's 64-hex ids and buildah's
        "buildah-*" (other users of the default root are not ours to judge)."""
        root = self.default_root
        names = os.listdir(root) if root.is_dir() else []
        return {n for n in names if HEX64.match(n) or n.startswith("buildah-")}

    def __repr__(self):
        return f"Runtime({self.name})"


def _husk_path():
    path = Path(os.environ.get("HUSK") or REPO / "husk")
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="session")
def short_dir():
    """A session dir with a short path: podman refuses a runroot longer than 50
    characters and unix socket paths (containerd's) are limited to 107."""
    path = Path(tempfile.mkdtemp(prefix="husk-eng.", dir="/tmp"))
    yield path
    unmount_all_under(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def runtimes(session_dir):
    """name -> Runtime for every runtime found; a missing one maps to the skip reason."""
    found = {}
    wrapper_dir = session_dir / "bin"
    wrapper_dir.mkdir()
    husk = _husk_path()
    runc = shutil.which("runc")
    candidates = {
        "husk": husk if husk.is_file() and os.access(husk, os.X_OK) else None,
        "runc": Path(runc) if runc else None,
    }
    reasons = {
        "husk": f"husk binary not found at {husk} (build it, or set HUSK=/path/to/husk)",
        "runc": "runc is not installed (apt-get install runc)",
    }
    for name in RUNTIME_NAMES:
        real = candidates[name]
        if real is None:
            found[name] = reasons[name]
            continue
        wrapper = wrapper_dir / name
        shutil.copy(HERE / "argv-logger.sh", wrapper)
        wrapper.chmod(0o755)
        log = session_dir / f"argv-{name}.log"
        Path(f"{wrapper}.conf").write_text(f"RUNTIME={real}\nLOG={log}\nSAVE_FILES=1\n")
        found[name] = Runtime(name, real, wrapper, log)
    return found


@pytest.fixture(params=RUNTIME_NAMES)
def runtime(request, runtimes):
    rt = runtimes[request.param]
    if isinstance(rt, str):
        pytest.skip(rt)
    before = rt.state_dirs()
    mark = rt.mark()
    yield rt
    left = rt.state_dirs() - before
    if left:
        calls = "\n  ".join(rt.calls_since(mark))
        pytest.fail(f"{rt.name} left state in {rt.default_root}: {sorted(left)}\n"
                    f"calls:\n  {calls}", pytrace=False)


def need(*binaries):
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        pytest.skip(f"not installed: {' '.join(missing)} "
                    f"(apt-get install {' '.join(missing)})")


# ----------------------------------------------------------------------------- host paths

# Paths the engines create outside the private dirs we give them (c/image's blob-info
# cache, podman's SHM lock and network run dir, the containerd shim's socket dir and ctr's
# default FIFO dir). Whatever of these did not exist before the session is removed after it.
ENGINE_HOST_PATHS = ("/var/lib/containers", "/run/containers", "/run/libpod",
                     "/dev/shm/libpod_lock", "/run/containerd")


@pytest.fixture(scope="session", autouse=True)
def host_paths_guard():
    existed = {p for p in ENGINE_HOST_PATHS if os.path.lexists(p)}
    yield
    for p in ENGINE_HOST_PATHS:
        if p in existed or not os.path.lexists(p):
            continue
        unmount_all_under(p)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)


# ----------------------------------------------------------------------------- the image

@pytest.fixture(scope="session")
def image_files(session_dir):
    need("jq", "tar")
    out = session_dir / "image"
    proc = run_cmd(["bash", HERE / "mkimage.sh", out], timeout=120)
    if proc.returncode != 0:
        pytest.skip("cannot build the busybox image:\n" + describe(proc))
    return {"rootfs": out / "rootfs.tar", "archive": out / "docker-archive.tar",
            "tag": "localhost/husk-busybox:latest"}


# ----------------------------------------------------------------------------- podman

class Podman:
    """podman with private storage, cgroupfs, file events and our runtime; `run` adds the
    flags every container here needs (no network, rlimits within the hard limits, a
    session cgroup parent)."""

    def __init__(self, base, runtime, cgroup_parent):
        self.base = base
        self.runtime = runtime
        self.cgroup_parent = cgroup_parent
        self.env = dict(os.environ, CONTAINERS_CONF=str(base / "containers.conf"),
                        TMPDIR=str(base / "tmp"))

    def global_args(self):
        b = self.base
        return ["podman", "--root", b / "root", "--runroot", b / "runroot",
                "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--tmpdir", b / "libpod-tmp",
                "--network-config-dir", b / "net", "--runtime", self.runtime.path]

    def argv(self, *args):
        return [str(a) for a in self.global_args() + list(args)]

    def __call__(self, *args, timeout=60, check=False, input=None):
        return run_cmd(self.argv(*args), timeout=timeout, check=check, input=input,
                       env=self.env)

    def run_flags(self):
        return ["--network", "none", "--ulimit", f"nofile={NOFILE_HARD}:{NOFILE_HARD}",
                "--ulimit", "nproc=32768:32768", "--cgroup-parent", self.cgroup_parent]

    def run(self, *args, timeout=60, check=False, input=None):
        return self("run", *self.run_flags(), *args, timeout=timeout, check=check,
                    input=input)

    def shell_line(self, *args):
        """The command line for `podman run` with our flags, for script(1)."""
        import shlex
        return " ".join(shlex.quote(a) for a in self.argv("run", *self.run_flags(), *args))

    def exec_line(self, *args):
        import shlex
        return " ".join(shlex.quote(a) for a in self.argv("exec", *args))


SYSTEM_CONTAINERS_CONF = Path("/usr/share/containers/containers.conf")


def _write_containers_conf(base):
    """CONTAINERS_CONF replaces every other containers.conf, so start from the distro's
    file: its defaults (default_sysctls = net.ipv4.ping_group_range, the capability list)
    are what podman users get and must stay in the test."""
    # podman passes --log-format=json --log FILE only to runtimes it knows speak JSON;
    # husk does, so it is added to the list (docs/engines.md).
    ours = (f"tmp_dir = \"{base / 'libpod-tmp'}\"\n"
            "events_logger = \"file\"\n"
            "cgroup_manager = \"cgroupfs\"\n"
            "runtime_supports_json = [\"crun\", \"runc\", \"kata\", \"runsc\", \"krun\", "
            "\"youki\", \"husk\"]\n")
    network = f"network_config_dir = \"{base / 'net'}\"\n"
    system = SYSTEM_CONTAINERS_CONF.read_text() if SYSTEM_CONTAINERS_CONF.exists() else ""
    if os.environ.get("HUSK_ENGINES_NO_DEFAULT_SYSCTLS") == "1":
        # A knob to look past a sysctl bug: podman then sets no sysctl of its own.
        system = re.sub(r"(?m)^default_sysctls = \[[^\]]*\]", "default_sysctls = []", system)
    lines = system.splitlines(keepends=True)
    for section, text in (("[engine]", ours), ("[network]", network)):
        for i, line in enumerate(lines):
            if line.strip() == section:
                lines.insert(i + 1, text)
                break
        else:
            lines.append(f"\n{section}\n{text}")
    (base / "containers.conf").write_text("".join(lines))


@pytest.fixture(scope="session")
def podman_storage(short_dir, image_files):
    need("podman", "conmon")
    base = short_dir / "pm"
    for sub in ("root", "runroot", "tmp", "libpod-tmp", "net"):
        (base / sub).mkdir(parents=True)
    _write_containers_conf(base)
    cgroup_parent = f"husk-engines-{os.getpid()}"
    importer = Podman(base, Runtime("runc", None, "runc", base / "none.log"),
                      "/" + cgroup_parent)
    proc = importer("import", image_files["rootfs"], image_files["tag"], timeout=120)
    if proc.returncode != 0:
        pytest.skip("podman import failed:\n" + describe(proc))
    yield base, "/" + cgroup_parent
    importer("rm", "-a", "-f", "-t", "0", timeout=120)
    importer("rmi", "-a", "-f", timeout=120)
    unmount_all_under(base)
    remove_cgroup_tree(cgroup_parent)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def podman(podman_storage, runtime):
    base, cgroup_parent = podman_storage
    pm = Podman(base, runtime, cgroup_parent)
    yield pm
    left = pm("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout.strip()
    if left:
        pm("rm", "-a", "-f", "-t", "0", timeout=120)
    merged = [m for m in mounts_under(base / "root") if m.endswith("/merged")]
    assert not left, f"podman containers left: {left}"
    assert not merged, f"overlay mounts left: {merged}"


# ----------------------------------------------------------------------------- containerd

class Containerd:
    def __init__(self, base, proc):
        self.base = base
        self.proc = proc
        self.address = base / "containerd.sock"

    def ctr(self, *args, timeout=60, check=False, input=None):
        return run_cmd(["ctr", "--address", self.address, *args], timeout=timeout,
                       check=check, input=input)

    def ctr_argv(self, *args):
        return [str(a) for a in ["ctr", "--address", self.address, *args]]

    def runtime_args(self, runtime):
        root = self.base / f"{runtime.name}-root"
        return ["--runc-binary", runtime.path, "--runc-root", root,
                "--fifo-dir", self.base / "fifo"]

    def log_text(self):
        return (self.base / "containerd.log").read_text(errors="replace")


def _containerd_config(base):
    proc = run_cmd(["containerd", "config", "default"], check=True)
    text = proc.stdout
    replacements = [
        ('disabled_plugins = []',
         'disabled_plugins = ["io.containerd.grpc.v1.cri", '
         '"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", '
         '"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", '
         '"io.containerd.internal.v1.tracing"]'),
        ('root = "/var/lib/containerd"', f'root = "{base}/root"'),
        ('state = "/run/containerd"', f'state = "{base}/state"'),
        ('address = "/run/containerd/containerd.sock"', f'address = "{base}/containerd.sock"'),
        ('path = "/opt/containerd"', f'path = "{base}/opt"'),
    ]
    for old, new in replacements:
        if old not in text:
            raise AssertionError(f"containerd config default has no line {old!r}")
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="session")
def containerd(short_dir, image_files):
    need("containerd", "ctr")
    base = short_dir / "ctd"
    base.mkdir()
    (base / "config.toml").write_text(_containerd_config(base))
    log = open(base / "containerd.log", "w")
    proc = subprocess.Popen(["containerd", "--config", base / "config.toml"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    log.close()
    daemon = Containerd(base, proc)
    try:
        up = wait_for(lambda: daemon.ctr("version", timeout=10).returncode == 0, timeout=20)
        if not up:
            pytest.skip("private containerd did not come up:\n" + daemon.log_text()[-3000:])
        imp = daemon.ctr("images", "import", image_files["archive"], timeout=120)
        if imp.returncode != 0:
            pytest.skip("ctr images import failed:\n" + describe(imp))
        yield daemon
    finally:
        for line in daemon.ctr("tasks", "ls", "-q").stdout.split():
            daemon.ctr("tasks", "kill", "-s", "KILL", line)
            daemon.ctr("tasks", "delete", "-f", line)
        for line in daemon.ctr("containers", "ls", "-q").stdout.split():
            daemon.ctr("containers", "delete", line)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        unmount_all_under(base)
        for name in RUNTIME_NAMES:
            remove_cgroup_tree(f"husk-engines-ctd-{os.getpid()}-{name}")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ctr(containerd, runtime):
    """(containerd, runtime); checks at teardown that no task, container or rootfs mount
    of this test is left."""
    yield containerd, runtime
    tasks = containerd.ctr("tasks", "ls", "-q").stdout.split()
    containers = containerd.ctr("containers", "ls", "-q").stdout.split()
    for t in tasks:
        containerd.ctr("tasks", "kill", "-s", "KILL", t)
        containerd.ctr("tasks", "delete", "-f", t)
    for c in containers:
        containerd.ctr("containers", "delete", c)
    rootfs_mounts = [m for m in mounts_under(containerd.base / "state")
                     if m.endswith("/rootfs")]
    assert not tasks and not containers, f"left: tasks {tasks}, containers {containers}"
    assert not rootfs_mounts, f"rootfs mounts left: {rootfs_mounts}"


def ctr_cgroup(runtime, cid):
    """A cgroupsPath of our own for ctr containers (ctr's default is /default/ID, shared
    with anything else using the default namespace)."""
    return f"/husk-engines-ctd-{os.getpid()}-{runtime.name}/{cid}"


def json_log_lines(path):
    """Parse a runtime's --log file in JSON format: one object per line."""
    lines = []
    for raw in Path(path).read_text().splitlines():
        if raw.strip():
            lines.append(json.loads(raw))
    return lines

