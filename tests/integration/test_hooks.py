"""OCI hooks: order, the state on stdin, env and args, timeouts, failures.  Every hook runs
data/hook.sh, which appends a line to a log in a host dir that is also bound into the
container at the same path (startContainer hooks run inside)."""

import os
import time
from pathlib import Path

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line

ORDER = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]
ANNOTATIONS = {"lt.key": "lt-value", "org.example/other": "x y"}


@pytest.fixture
def hook_log(tmp_path):
    logdir = tmp_path / "hooklog"
    logdir.mkdir()
    return logdir / "hooks.log"


def hooks_bundle(bundle, hook_log, hooks, args=("/bin/probe", "exit", "0")):
    """A bundle with the given hooks {stage: [entries]}; the log dir is bound in."""
    def mutate(config):
        config["hooks"] = hooks
        config["annotations"] = dict(ANNOTATIONS)
        lh.add_bind(config, hook_log.parent)
    b = bundle(mutate, args=list(args))
    lh.install_hook_in_rootfs(b)
    return b


def every_stage(hook_log, slow_start=False):
    """One hook per stage; slow_start: the startContainer hook takes a second, so that a
    start that does not wait for it runs poststart first, every time."""
    hooks = {stage: [lh.hook(hook_log, stage, in_container=stage == "startContainer")]
             for stage in ORDER}
    if slow_start:
        hooks["startContainer"] = [lh.hook(hook_log, "startContainer", "slow",
                                           in_container=True)]
    return hooks


def names(hook_log):
    return [entry[0] for entry in lh.read_hook_log(hook_log)]


def lifecycle_with_hooks(husk, b, hook_log, cid):
    """create, start, delete --force; returns the host pid and the hook names seen after
    each step."""
    seen = []
    husk("create", "--bundle", b, cid, check=True)
    seen.append(names(hook_log))
    host_pid = lh.state(husk, cid)["pid"]
    husk("start", cid, check=True)
    seen.append(names(hook_log))
    husk("delete", "--force", cid, check=True)
    seen.append(names(hook_log))
    return host_pid, seen


def test_order(husk, bundle, hook_log, unique_id, assert_clean):
    # start must wait for the startContainer hooks (and for the user process to be
    # executed) before it runs the poststart hooks.
    b = hooks_bundle(bundle, hook_log, every_stage(hook_log, slow_start=True),
                     args=["/bin/probe", "sleep", "inf"])
    _, seen = lifecycle_with_hooks(husk, b, hook_log, unique_id())
    assert seen[0] == ORDER[:3], "create runs prestart, createRuntime, createContainer"
    assert seen[1] == ORDER[:5], "start runs startContainer, then poststart"
    assert seen[2] == ORDER
    assert_clean()


def test_state_on_stdin(husk, bundle, hook_log, unique_id, assert_clean):
    b = hooks_bundle(bundle, hook_log, every_stage(hook_log),
                     args=["/bin/probe", "sleep", "inf"])
    cid = unique_id()
    host_pid, _ = lifecycle_with_hooks(husk, b, hook_log, cid)
    states = {name: st for name, st, *_ in lh.read_hook_log(hook_log)}
    assert set(states) == set(ORDER)
    for name, st in states.items():
        assert st.get("id") == cid, (name, st)
        assert st.get("bundle") == str(b), (name, st)
        assert st.get("annotations") == ANNOTATIONS, (name, st)
        assert st.get("ociVersion"), (name, st)
    want_status = {"prestart": "creating", "createRuntime": "creating",
                   "createContainer": "creating", "startContainer": "created",
                   "poststart": "running", "poststop": "stopped"}
    assert {n: s.get("status") for n, s in states.items()} == want_status
    for name in ("prestart", "createRuntime", "poststart"):
        assert states[name].get("pid") == host_pid, (name, states[name])
    assert_clean()


def test_state_pid_in_container_namespace(husk, bundle, hook_log, unique_id, assert_clean):
    """runtime.md, State: for hooks executed in the container namespace the pid is the one
    seen by the container: 1 with a new pid namespace."""
    b = hooks_bundle(bundle, hook_log, every_stage(hook_log),
                     args=["/bin/probe", "sleep", "inf"])
    lifecycle_with_hooks(husk, b, hook_log, unique_id())
    states = {name: st for name, st, *_ in lh.read_hook_log(hook_log)}
    for name in ("createContainer", "startContainer"):
        assert states[name].get("pid") == 1, (name, states[name])
    assert_clean()


def test_runtime_hooks_see_the_process_in_its_cgroup(husk, bundle, hook_log, tmp_path,
                                                     unique_id, assert_clean):
    """husk makes the cgroup while the container process sets up its namespaces and first
    mounts; by the time prestart and createRuntime run (a hook may act on the container's
    cgroup) the process must be in it."""
    seen = {}
    hooks = {}
    for stage in ("prestart", "createRuntime"):
        seen[stage] = tmp_path / f"{stage}.cgroup"
        script = ('pid=$(grep -o \'"pid": *[0-9]*\' | grep -o \'[0-9]*$\'); '
                  f'cat /proc/$pid/cgroup > {seen[stage]}')
        hooks[stage] = [{"path": "/bin/sh", "args": ["sh", "-c", script]}]
    b = hooks_bundle(bundle, hook_log, hooks)
    cid = unique_id()
    husk("run", "--bundle", b, cid, check=True)
    for stage, path in seen.items():
        lines = path.read_text().splitlines()
        ours = [line for line in lines
                if line.startswith("0::") or ":memory:" in line or ":pids:" in line]
        assert ours, (stage, lines)
        for line in ours:
            assert line.endswith(f"/{cid}"), (stage, lines)
    assert_clean()


def test_run_runs_every_hook_in_order(husk, bundle, hook_log, unique_id, assert_clean):
    b = hooks_bundle(bundle, hook_log, every_stage(hook_log, slow_start=True))
    proc = husk("run", "--bundle", b, unique_id())
    assert proc.returncode == 0, helpers.describe(proc)
    assert names(hook_log) == ORDER
    assert_clean()


def test_hook_env_and_args(husk, bundle, hook_log, unique_id, assert_clean):
    hooks = {
        "createRuntime": [lh.hook(hook_log, "with-env", env=["HOOK_TEST=from-config",
                                                            "PATH=/hook/path"],
                                  extra_args=["one", "two words"])],
        "poststart": [lh.hook(hook_log, "without-env")],
    }
    b = hooks_bundle(bundle, hook_log, hooks)
    env = dict(os.environ, HOOK_TEST="leaked-from-husk")
    proc = husk("run", "--bundle", b, unique_id(), env=env)
    assert proc.returncode == 0, helpers.describe(proc)
    entries = {e[0]: e for e in lh.read_hook_log(hook_log)}
    name, _, args, hook_test, path = entries["with-env"]
    assert args.endswith("with-env - one two words"), args
    assert hook_test == "from-config"
    assert path == "/hook/path"
    # A hook gets exactly its own env: nothing from the runtime's environment.
    assert entries["without-env"][3] == "unset"
    assert_clean()


def test_hooks_run_in_list_order(husk, bundle, hook_log, unique_id, assert_clean):
    hooks = {"createRuntime": [lh.hook(hook_log, f"cr{i}") for i in range(4)]}
    proc = husk("run", "--bundle", hooks_bundle(bundle, hook_log, hooks), unique_id())
    assert proc.returncode == 0, helpers.describe(proc)
    assert names(hook_log) == ["cr0", "cr1", "cr2", "cr3"]
    assert_clean()


def test_timeout_kills_slow_hook(husk, bundle, hook_log, unique_id, assert_clean):
    hooks = {"createRuntime": [lh.hook(hook_log, "slow", "sleep", timeout=1)],
             "createContainer": [lh.hook(hook_log, "after")]}
    b = hooks_bundle(bundle, hook_log, hooks)
    cid = unique_id()
    started = time.monotonic()
    proc = husk("create", "--bundle", b, cid, timeout=25)
    took = time.monotonic() - started
    assert_one_error_line(proc, "createRuntime")
    assert took < 10, f"create took {took:.1f}s with a 1s hook timeout"
    assert names(hook_log) == ["slow"], "a hook after the failed one ran"
    hook_pid = int(Path(f"{hook_log}.pid").read_text())
    assert lh.wait_until(lambda: not lh.pid_alive(hook_pid), 5), "the slow hook still runs"
    assert helpers.container_status(husk, cid) is None
    assert_clean()


@pytest.mark.parametrize("stage", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create(husk, bundle, hook_log, unique_id, assert_clean,
                                          stage):
    hooks = {stage: [lh.hook(hook_log, stage, "fail")],
             "poststart": [lh.hook(hook_log, "poststart")]}
    cid = unique_id()
    proc = husk("create", "--bundle", hooks_bundle(bundle, hook_log, hooks), cid)
    assert_one_error_line(proc, stage)
    assert names(hook_log) == [stage]
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_missing_hook_binary(husk, bundle, hook_log, tmp_path, unique_id, assert_clean):
    missing = tmp_path / "no-such-hook"
    hooks = {"createRuntime": [{"path": str(missing), "args": ["no-such-hook"]}]}
    cid = unique_id()
    proc = husk("create", "--bundle", hooks_bundle(bundle, hook_log, hooks), cid)
    assert_one_error_line(proc, str(missing))
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_relative_hook_path_refused(husk, bundle, hook_log, unique_id, assert_clean):
    hooks = {"poststop": [{"path": "bin/true"}]}
    cid = unique_id()
    proc = husk("create", "--bundle", hooks_bundle(bundle, hook_log, hooks), cid)
    assert_one_error_line(proc, "bin/true")
    assert_clean()


def test_failing_start_container_hook_fails_start(husk, bundle, hook_log, unique_id,
                                                  assert_clean):
    hooks = {"startContainer": [lh.hook(hook_log, "startContainer", "fail",
                                        in_container=True)]}
    b = hooks_bundle(bundle, hook_log, hooks, args=["/bin/probe", "sleep", "inf"])
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True)
    proc = husk("start", cid)
    assert_one_error_line(proc, "startContainer")
    assert names(hook_log) == ["startContainer"]
    assert helpers.container_status(husk, cid) in (None, "stopped")
    husk("delete", "--force", cid)
    assert_clean()


def log_lines(path):
    try:
        return Path(path).read_text().splitlines()
    except FileNotFoundError:
        return []


def test_poststart_failure_stops_the_container(husk, bundle, hook_log, tmp_path, unique_id,
                                              assert_clean):
    """runtime.md lifecycle step 9 (1.3.0): "If any poststart hook fails, the runtime MUST
    generate an error, stop the container, and continue the lifecycle at step 12" -- the
    container is destroyed and the poststop hooks run."""
    hooks = {"poststart": [lh.hook(hook_log, "poststart", "fail")],
             "poststop": [lh.hook(hook_log, "poststop")]}
    b = hooks_bundle(bundle, hook_log, hooks, args=["/bin/probe", "sleep", "inf"])
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True)
    proc = husk("start", cid)
    assert_one_error_line(proc, "poststart hook #0")
    assert names(hook_log) == ["poststart", "poststop"]
    gone = husk("state", cid)
    assert gone.returncode == 1 and "does not exist" in gone.stderr, helpers.describe(gone)
    assert_clean()


def test_poststop_failure_only_warns(husk, bundle, hook_log, tmp_path, unique_id,
                                    assert_clean):
    log = tmp_path / "husk.log"
    hooks = {"poststop": [lh.hook(hook_log, "stop1", "fail"), lh.hook(hook_log, "stop2")]}
    b = hooks_bundle(bundle, hook_log, hooks)
    cid = unique_id()
    husk("create", "--bundle", b, cid, check=True, global_args=["--log", log])
    husk("start", cid, check=True)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    proc = husk("delete", cid, global_args=["--log", log])
    assert proc.returncode == 0, helpers.describe(proc)
    assert names(hook_log) == ["stop1", "stop2"], "the remaining poststop hooks must run"
    warnings = [line for line in log_lines(log) if "warn" in line and "poststop" in line]
    assert warnings, f"no poststop warning in the log: {log_lines(log)}"
    assert_clean()
