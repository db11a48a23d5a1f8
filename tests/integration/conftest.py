"""Fixtures for husk's integration tests.

    husk_bin, probe_bin   the binaries under test (env HUSK, PROBE); tests skip if missing
    root_dir              a fresh --root for this test; at teardown nothing may be left
    husk(*args, ...)      run husk with --root root_dir; returns CompletedProcess (text)
    bundle(mutator, args) a bundle dir with a busybox rootfs and /bin/probe as process
    run_probe(bundle, id) `husk run` the bundle and return the probe's JSON as a dict
    unique_id()           a fresh short container id for this test
    leftovers()           what this test left on the host (state dirs, mounts, cgroups,
                          processes), as a list of strings
    assert_clean()        assert leftovers() is empty

Every test that uses husk/root_dir is checked at teardown: leftovers are reported as a
teardown error and then removed (delete --force, kill, umount, rmdir), so that one failing
test does not poison the next.
"""

import os
import subprocess
from pathlib import Path

import pytest

import helpers
from helpers import REPO


def _binary_from_env(var, default):
    path = Path(os.environ.get(var) or default)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path


@pytest.fixture(scope="session")
def husk_bin():
    path = _binary_from_env("HUSK", REPO / "husk")
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"husk binary not found at {path} (build it, or set HUSK=/path/to/husk)")
    return path


@pytest.fixture(scope="session")
def probe_bin():
    path = _binary_from_env("PROBE", REPO / "tests" / "probe" / "probe")
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"probe binary not found at {path} "
                    "(make tests/probe/probe, or set PROBE=/path/to/probe)")
    return path


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory, probe_bin):
    """One busybox rootfs per session; bundles get a copy of it."""
    dest = tmp_path_factory.mktemp("rootfs-template") / "rootfs"
    try:
        helpers.build_rootfs(dest, probe_bin)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot build the test rootfs: {e.stderr.strip()}")
    return dest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the item, so that teardown knows whether the test
    itself already failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def tracker(request, tmp_path, husk_bin):
    root = tmp_path / "root"
    root.mkdir()
    t = helpers.Tracker(tmp_path, root, husk_bin)
    t.id_factory = helpers.IdFactory(request.node.nodeid)
    t.pid_files = []
    yield t
    for path in t.pid_files:
        t.note_pid_file(path)
    left = t.leftovers()
    if left:
        t.cleanup()
        still = t.leftovers()
        call = getattr(request.node, "rep_call", None)
        if call is not None and call.failed and not still:
            return  # the failure is already reported; leftovers are its consequence
        pytest.fail("test left behind:\n  " + "\n  ".join(left) +
                    ("\nand cleanup could not remove:\n  " + "\n  ".join(still) if still
                     else "\n(cleaned up)"), pytrace=False)


@pytest.fixture
def root_dir(tracker):
    return tracker.root


@pytest.fixture
def unique_id(tracker):
    def make():
        cid = tracker.id_factory()
        tracker.ids.append(cid)
        return cid
    return make


@pytest.fixture
def husk(tracker, husk_bin):
    def run(*args, root=None, check=False, timeout=30, input=None, global_args=(), env=None,
            cwd=None):
        args = [str(a) for a in args]
        if "--pid-file" in args[:-1]:
            tracker.pid_files.append(args[args.index("--pid-file") + 1])
        proc = helpers.run_husk(husk_bin, *args, root=root if root is not None else tracker.root,
                                check=check, timeout=timeout, input=input,
                                global_args=global_args, env=env, cwd=cwd)
        tracker.note_output(args, proc)
        for path in tracker.pid_files:
            tracker.note_pid_file(path)
        return proc
    return run


@pytest.fixture
def bundle(tracker, tmp_path, husk_bin, rootfs_template):
    count = [0]

    def make(config_mutator=None, args=None):
        count[0] += 1
        dest = tmp_path / f"bundle{count[0]}"
        tracker.bundles.append(dest)
        return helpers.make_bundle(dest, rootfs_template, husk_bin, tracker.root,
                                   config_mutator=config_mutator, args=args)
    return make


@pytest.fixture
def run_probe(husk, unique_id):
    """Run a bundle in the foreground and return the probe's JSON report.  The run must
    exit 0 unless expect_status says otherwise."""
    def run(bundle_dir, cid=None, timeout=30, expect_status=0, extra_args=()):
        cid = cid or unique_id()
        proc = husk("run", "--bundle", bundle_dir, *extra_args, cid, timeout=timeout)
        if expect_status is not None:
            assert proc.returncode == expect_status, helpers.describe(proc)
        try:
            return helpers.parse_json_output(proc.stdout)
        except ValueError:
            raise AssertionError("probe printed no JSON\n" + helpers.describe(proc)) from None
    return run


@pytest.fixture
def leftovers(tracker):
    return tracker.leftovers


@pytest.fixture
def assert_clean(tracker):
    def check(context=""):
        left = tracker.leftovers()
        assert not left, f"left behind{' ' + context if context else ''}: {left}"
    return check
