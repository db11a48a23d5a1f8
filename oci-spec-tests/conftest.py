"""Fixtures and the TAP reporter of the oci-spec-tests suite.

The runtime under test is the binary in env RUNTIME (default: <repo>/husk).  It is driven
only through the runc command line: --root, create --bundle, start, state, kill, delete
[--force], run --bundle, exec, list.

Fixtures:
    rt        a Runtime (ocitest.py) with a private --root for this test; at teardown every
              container it created is force-deleted, and its cgroups, mounts and
              directories are removed
    oci       the per-test helper: oci.bundle(args, mutate) builds a bundle with its own
              container id, oci.run_probe(...) runs it and returns the probe's JSON, ...

TAP: with OCITEST_TAP=1 in the environment, the normal pytest output is replaced by TAP
version 13 on stdout ("ok N - name", "not ok N - name" with a YAML diagnostic block,
"ok N - name # SKIP reason") and a last line "N passed, N failed, N skipped".
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import ocitest
from ocitest import Runtime

REPO = ocitest.HERE.parent


# ---------------------------------------------------------------- session fixtures

@pytest.fixture(scope="session")
def runtime_bin():
    path = Path(os.environ.get("RUNTIME") or REPO / "husk")
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"runtime binary {path} not found (set RUNTIME=/path/to/runtime)")
    return path


@pytest.fixture(scope="session")
def session_dir():
    """One private directory for the whole run (probe, rootfs template, per-test dirs),
    and the suite's cgroup parent: both are removed at the end unless they pre-existed."""
    ocitest.reaper()  # before any runtime runs, so that every orphan comes to us
    path = Path(tempfile.mkdtemp(prefix="ocitest-", dir=os.environ.get("OCITEST_TMPDIR")))
    os.chmod(path, 0o755)  # a user-namespaced container root must reach its rootfs
    parents_before = {mnt for mnt, _, _ in ocitest.cgroup_hierarchies()
                      if (mnt / ocitest.CGROUP_PARENT).exists()}
    yield path
    ocitest.umount_all_under(path)
    shutil.rmtree(path, ignore_errors=True)
    for mnt, _, _ in ocitest.cgroup_hierarchies():
        parent = mnt / ocitest.CGROUP_PARENT
        if mnt not in parents_before and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                pass  # not empty: a leftover, reported by the test that made it


@pytest.fixture(scope="session")
def probe_bin(session_dir):
    try:
        return ocitest.build_probe(session_dir)
    except Exception as e:  # no compiler or no static libc: nothing here can run
        pytest.skip(f"cannot build tools/ocitest-probe.c with `cc -static`: "
                    f"{getattr(e, 'stderr', '') or e}")


@pytest.fixture(scope="session")
def rootfs_template(session_dir, probe_bin):
    dest = session_dir / "rootfs-template"
    try:
        ocitest.build_rootfs(dest, probe_bin)
    except Exception as e:
        pytest.skip(f"cannot build the busybox rootfs: {e}")
    return dest


# ---------------------------------------------------------------- per-test fixtures

class Bundle:
    """A bundle directory, its config (a dict, written by write()) and the id the suite
    will give its container."""

    def __init__(self, path, cid, config):
        self.path, self.cid, self.config = Path(path), cid, config
        self.rootfs = self.path / "rootfs"

    def write(self):
        ocitest.write_config(self.path, self.config)
        return self

    def __str__(self):
        return str(self.path)


class Oci:
    """Helpers for one test: bundles, runs, and what the test left on the host."""

    LONG_RUNNING = ["sleep", "600"]

    def __init__(self, rt, workdir, rootfs_template):
        self.rt, self.workdir, self.template = rt, workdir, rootfs_template
        self._bundles = 0

    def bundle(self, args=("ocitest-probe", "report"), mutate=None, cid=None):
        """A bundle with a fresh rootfs copy and the default config; mutate(config) may
        change the config before it is written."""
        self._bundles += 1
        path = self.workdir / f"bundle{self._bundles}"
        path.mkdir()
        ocitest.copy_rootfs(self.template, path / "rootfs")
        cid = cid or self.rt.new_id()
        config = ocitest.default_config(cid, args=args)
        if mutate:
            mutate(config)
        return Bundle(path, cid, config).write()

    def run(self, bundle, timeout=30):
        return self.rt.run(bundle.path, bundle.cid, timeout=timeout)

    def run_ok(self, bundle, timeout=30):
        res = self.run(bundle, timeout=timeout)
        assert res.returncode == 0, f"the container did not run successfully\n{res}"
        return res

    def run_probe(self, mutate=None, args=("report",), timeout=30):
        """Runs /bin/ocitest-probe ARGS in a fresh bundle; returns its JSON output."""
        res = self.run_ok(self.bundle(["/bin/ocitest-probe", *args], mutate), timeout)
        return ocitest.probe_json(res)

    def run_sh(self, script, mutate=None, timeout=30):
        """Runs `sh -c script`; returns the Result (stdout is the container's)."""
        return self.run(self.bundle(["/bin/sh", "-c", script], mutate), timeout)

    def create_ok(self, bundle):
        res = self.rt.create(bundle.path, bundle.cid)
        assert res.ok, f"create failed\n{res}"
        return self.rt.state(bundle.cid)

    def start_long_running(self, mutate=None, args=None):
        """create + start a container that sleeps; returns (bundle, state)."""
        b = self.bundle(args or self.LONG_RUNNING, mutate)
        self.create_ok(b)
        res = self.rt.start(b.cid)
        assert res.ok, f"start failed\n{res}"
        self.rt.wait_status(b.cid, "running")
        return b, self.rt.state(b.cid)

    def stop(self, cid):
        """KILL a created or running container and wait until it is stopped."""
        self.rt.kill(cid, "KILL")
        self.rt.wait_status(cid, "stopped")

    def leftovers(self, cid):
        """What exists of container cid after it should be gone: a list of strings."""
        left = []
        res = self.rt.state_result(cid)
        if res.ok:
            left.append(f"`state {cid}` still succeeds: {res.stdout.strip()[:300]}")
        ids = self.rt.list_ids()
        if ids and cid in ids:
            left.append(f"`list` still shows {cid}")
        left += [f"cgroup {d}" for d in ocitest.cgroup_dirs_of(cid)]
        return left

    def assert_gone(self, cid):
        left = self.leftovers(cid)
        assert not left, "the container was left behind:\n  " + "\n  ".join(left)


@pytest.fixture
def rt(runtime_bin, session_dir, request):
    workdir = Path(tempfile.mkdtemp(prefix="t-", dir=session_dir))
    os.chmod(workdir, 0o755)
    root = workdir / "root"
    root.mkdir()
    runtime = Runtime(runtime_bin, root, workdir)
    yield runtime
    runtime.cleanup()
    ocitest.reaper().reap()
    # A container whose delete failed may keep its cgroups; they are ours (/ocitest/<id>).
    left = []
    for cid in runtime.ids:
        for d in ocitest.cgroup_dirs_of(cid):
            ocitest.remove_cgroup_tree(d)
            if d.exists():
                left.append(f"cgroup {d} (cannot be removed: {cgroup_tasks(d)})")
    left += [f"mount {m}" for m in ocitest.umount_all_under(workdir)]
    shutil.rmtree(workdir, ignore_errors=True)
    assert not left, "left on the host after delete --force:\n  " + "\n  ".join(left)


def cgroup_tasks(path):
    try:
        pids = (path / "cgroup.procs").read_text().split()
    except OSError:
        return "?"
    return "pids " + ", ".join(pids) if pids else "empty"


@pytest.fixture
def oci(rt, rootfs_template):
    return Oci(rt, rt.workdir, rootfs_template)


# ---------------------------------------------------------------- TAP output

class TapReporter:
    """Collects each test's phases and prints one TAP line when its teardown is done, so
    a teardown error still turns the test into `not ok`."""

    def __init__(self, config):
        self.config = config
        self.out = os.fdopen(os.dup(1), "w", buffering=1)
        self.number = 0
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.pending = {}

    def emit(self, line):
        self.out.write(line + "\n")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.emit("TAP version 13")
        self.emit(f"1..{len(session.items)}")

    def pytest_collectreport(self, report):
        if report.failed:  # an import error in a test file: one extra `not ok`
            self.number += 1
            self.counts["failed"] += 1
            self.emit(f"not ok {self.number} - collect {report.nodeid}")
            self.diagnostics(str(report.longrepr))

    def pytest_runtest_logreport(self, report):
        self.pending.setdefault(report.nodeid, []).append(report)
        if report.when != "teardown":
            return
        reports = self.pending.pop(report.nodeid)
        self.number += 1
        name = report.nodeid.split("::", 1)[-1]
        name = f"{Path(report.fspath).stem}::{name}".replace("#", "\\#")
        failed = [r for r in reports if r.failed]
        skipped = [r for r in reports if r.skipped]
        if failed:
            self.counts["failed"] += 1
            self.emit(f"not ok {self.number} - {name}")
            for r in failed:
                self.diagnostics(f"[{r.when}] " + r.longreprtext)
        elif skipped:
            self.counts["skipped"] += 1
            longrepr = skipped[0].longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            reason = reason.removeprefix("Skipped: ").replace("\n", " ")
            self.emit(f"ok {self.number} - {name} # SKIP {reason}")
        else:
            self.counts["passed"] += 1
            self.emit(f"ok {self.number} - {name}")

    def diagnostics(self, text):
        lines = text.rstrip().splitlines()
        if len(lines) > 60:
            lines = ["..."] + lines[-60:]
        self.emit("  ---")
        self.emit("  message: |")
        for line in lines:
            self.emit("    " + line)
        self.emit("  ...")

    def pytest_sessionfinish(self, session, exitstatus):
        c = self.counts
        self.emit(f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
        self.out.flush()


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    if os.environ.get("OCITEST_TAP", "") not in ("", "0"):
        terminal = config.pluginmanager.getplugin("terminalreporter")
        if terminal is not None:
            config.pluginmanager.unregister(terminal)
        config.pluginmanager.register(TapReporter(config), "ocitest-tap")


def pytest_report_header(config):
    return f"runtime under test: {os.environ.get('RUNTIME') or REPO / 'husk'}"
