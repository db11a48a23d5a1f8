"""config.md "POSIX-platform Hooks" and runtime.md lifecycle steps 3-13.

Every hook is /bin/busybox run as `sh -c SCRIPT NAME LOG` (args[0] = "sh", so busybox
only behaves as a shell if the runtime passes args as execv's argv).  The script appends
"NAME STATUS" to LOG and keeps the state it read from stdin, its environment and its
namespaces next to it.  busybox is at /bin/busybox both on the host (busybox-static) and
in the rootfs, so the same hook works in the runtime and in the container namespace.
"""

import json
import os
import time
from pathlib import Path

import pytest

import ocitest

HOOK_SCRIPT = r"""
state=$(cat)
status=$(printf '%s' "$state" | sed -n 's/.*"status" *: *"\([^"]*\)".*/\1/p')
printf '%s\n' "$state" > "$1.$0.json"
for ns in mnt net uts pid; do printf '%s=%s\n' $ns "$(readlink /proc/self/ns/$ns)"; done \
    > "$1.$0.ns"
printf '%s\n' "$OCITEST_HOOK_ENV" > "$1.$0.env"
printf '%s %s\n' "$0" "$status" >> "$1"
"""

HOOK_ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "OCITEST_HOOK_ENV=from-config"]


def hook(name, log, script=HOOK_SCRIPT, timeout=None):
    h = {"path": "/bin/busybox", "args": ["sh", "-c", script, name, str(log)],
         "env": list(HOOK_ENV)}
    if timeout is not None:
        h["timeout"] = timeout
    return h


def failing(name, log):
    return hook(name, log, script=HOOK_SCRIPT + "exit 1\n")


class HookLog:
    """The hook log of one bundle: host hooks write rootfs/hooks.log by its host path,
    startContainer hooks by its container path /hooks.log -- the same file."""

    def __init__(self, bundle):
        self.host = bundle.rootfs / "hooks.log"

    def path_for(self, kind):
        return "/hooks.log" if kind == "startContainer" else self.host

    def lines(self):
        try:
            return [tuple(line.split(" ", 1)) for line in self.host.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def names(self):
        return [name for name, _ in self.lines()]

    def wait_for(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while name not in self.names() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert name in self.names(), f"the {name} hook did not run: {self.lines()}"

    def state(self, name):
        return json.loads(Path(f"{self.host}.{name}.json").read_text())

    def namespaces(self, name):
        text = Path(f"{self.host}.{name}.ns").read_text()
        return dict(line.split("=", 1) for line in text.splitlines())

    def env(self, name):
        return Path(f"{self.host}.{name}.env").read_text().strip()


def hooked_bundle(oci, hooks, args=None, mutate=None):
    """A bundle whose config.hooks is hooks(log) -> {kind: [hook, ...]}."""
    b = oci.bundle(args or oci.LONG_RUNNING, mutate)
    log = HookLog(b)
    b.config["hooks"] = hooks(log)
    b.write()
    return b, log


ALL_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
             "poststop"]


def all_hooks(log):
    return {kind: [hook(kind, log.path_for(kind))] for kind in ALL_KINDS}


def full_lifecycle(oci, rt, b):
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    rt.wait_status(b.cid, "running")
    oci.stop(b.cid)
    res = rt.delete(b.cid)
    assert res.ok, res


def test_hooks_called_in_listed_order(oci, rt):
    """config.md: "Hooks MUST be called in the listed order." -- prestart, createRuntime,
    createContainer, startContainer, poststart, poststop, each exactly once."""
    b, log = hooked_bundle(oci, all_hooks)
    full_lifecycle(oci, rt, b)
    assert log.names() == ALL_KINDS


def test_hooks_of_one_kind_run_in_array_order(oci, rt):
    """config.md: "Hooks MUST be called in the listed order." -- within one array too."""
    def hooks(log):
        return {"createRuntime": [hook(f"createRuntime{i}", log.host) for i in range(3)]}
    b, log = hooked_bundle(oci, hooks)
    oci.create_ok(b)
    assert log.names() == ["createRuntime0", "createRuntime1", "createRuntime2"]


def test_create_runs_create_hooks_only(oci, rt):
    """config.md: "The `createRuntime` hooks MUST be called as part of the `create`
    operation" (likewise prestart and createContainer); startContainer and poststart
    belong to start: after create only the first three have run."""
    b, log = hooked_bundle(oci, all_hooks)
    oci.create_ok(b)
    assert log.names() == ["prestart", "createRuntime", "createContainer"]


def test_hooks_receive_state_on_stdin(oci, rt):
    """config.md: "The state of the container MUST be passed to hooks over stdin so that
    they may do work appropriate to the current state of the container.\""""
    b, log = hooked_bundle(oci, all_hooks)
    full_lifecycle(oci, rt, b)
    for kind in ALL_KINDS:
        state = log.state(kind)
        assert ocitest.check_state_document(state) == [], (kind, state)
        assert state["id"] == b.cid, kind
        assert state["bundle"] == str(b.path), kind


# The spec defines `creating` as "being created (step 2)" and `created` as "finished the
# create operation (after step 2)"; hooks 3-5 run after step 2 but inside the create
# operation, so both readings are accepted for them.  startContainer runs before the
# program is executed: `created`, or a runtime-defined value for a new state (runtime.md:
# "Additional values MAY be defined by the runtime") -- but none of the other three.
SPEC_STATUSES = {"creating", "created", "running", "stopped"}
STATUS_OK = {
    "prestart": lambda s: s in ("creating", "created"),
    "createRuntime": lambda s: s in ("creating", "created"),
    "createContainer": lambda s: s in ("creating", "created"),
    "startContainer": lambda s: s == "created" or s not in SPEC_STATUSES,
    "poststart": lambda s: s == "running",
    "poststop": lambda s: s == "stopped",
}


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_hook_state_status(oci, rt, kind):
    """runtime.md: the state's `status` -- "`creating`: the container is being created",
    "`created`: the runtime has finished the create operation ... and the container process
    has neither exited nor executed the user-specified program", "`running`: the container
    process has executed the user-specified program but has not exited", "`stopped`: the
    container process has exited" -- as seen by each hook kind on stdin."""
    b, log = hooked_bundle(oci, lambda log: {kind: [hook(kind, log.path_for(kind))]})
    full_lifecycle(oci, rt, b)
    lines = log.lines()
    assert [name for name, _ in lines] == [kind]
    assert STATUS_OK[kind](lines[0][1]), f"{kind} hook saw status {lines[0][1]!r}"


def test_runtime_namespace_hooks_see_runtime_pid(oci, rt):
    """runtime.md: "For hooks executed in the runtime namespace, it is the pid as seen by
    the runtime." -- createRuntime and poststart get the pid that `state` reports."""
    b, log = hooked_bundle(oci, lambda log: {k: [hook(k, log.host)]
                                             for k in ("createRuntime", "poststart")})
    state = oci.create_ok(b)
    assert rt.start(b.cid).ok
    assert log.state("createRuntime").get("pid") == state["pid"]
    assert log.state("poststart").get("pid") == state["pid"]


def test_runtime_namespace_hooks_run_on_host(oci, rt):
    """config.md: "The `createRuntime` hooks MUST be executed in the runtime namespace."
    (likewise prestart, poststart and poststop)."""
    kinds = ["prestart", "createRuntime", "poststart", "poststop"]
    b, log = hooked_bundle(oci, lambda log: {k: [hook(k, log.host)] for k in kinds})
    full_lifecycle(oci, rt, b)
    for kind in kinds:
        ns = log.namespaces(kind)
        for name in ("mnt", "net", "uts", "pid"):
            assert ns[name] == os.readlink(f"/proc/self/ns/{name}"), (kind, name)


def test_container_namespace_hooks(oci, rt):
    """config.md: "The `createContainer` hooks MUST be executed in the container
    namespace." and "The `startContainer` hooks MUST be executed in the container
    namespace.\""""
    kinds = ["createContainer", "startContainer"]
    b, log = hooked_bundle(oci, lambda log: {k: [hook(k, log.path_for(k))] for k in kinds})
    state = oci.create_ok(b)
    container_ns = {n: os.readlink(f"/proc/{state['pid']}/ns/{n}") for n in ("mnt", "net",
                                                                              "uts", "pid")}
    assert rt.start(b.cid).ok
    log.wait_for("startContainer")  # its completion is checked by another test
    for kind in kinds:
        assert log.namespaces(kind) == container_ns, kind


def test_start_container_hook_path_resolves_in_container(oci, rt):
    """config.md: "The `startContainer` hooks' path MUST resolve in the container
    namespace." -- the hook exists only inside the rootfs."""
    b = oci.bundle(oci.LONG_RUNNING)
    (b.rootfs / "ocitest-hook.sh").write_text("#!/bin/sh\necho ran > /start-hook-ran\n")
    os.chmod(b.rootfs / "ocitest-hook.sh", 0o755)
    b.config["hooks"] = {"startContainer": [{"path": "/ocitest-hook.sh"}]}
    b.write()
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    assert ocitest.wait_for_file(b.rootfs / "start-hook-ran"), "the hook did not run"


def test_start_container_hooks_done_when_start_returns(oci, rt):
    """config.md: "The `startContainer` hooks MUST be called before the user-specified
    process is executed as part of the `start` operation." with "The `poststart` hooks MUST
    be called after the user-specified process is executed but before the `start`
    operation returns." -- so when start returns, the startContainer hooks have finished."""
    slow = "sleep 1\n" + HOOK_SCRIPT
    b, log = hooked_bundle(oci, lambda log: {"startContainer": [
        hook("startContainer", "/hooks.log", script=slow)]})
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    assert log.names() == ["startContainer"], "start returned before its startContainer hook"


def test_hook_args_and_env(oci, rt):
    """config.md: hook `args` "with the same semantics as IEEE Std 1003.1-2008 `execv`'s
    *argv*" and `env` "with the same semantics as IEEE Std 1003.1-2008's `environ`" --
    busybox behaves as `sh` only if argv[0] is "sh"; the env reaches the hook."""
    b, log = hooked_bundle(oci, lambda log: {"createRuntime": [hook("createRuntime",
                                                                    log.host)]})
    oci.create_ok(b)
    assert log.names() == ["createRuntime"]
    assert log.env("createRuntime") == "from-config"


def test_start_container_hooks_before_program(oci, rt):
    """config.md: "The `startContainer` hooks MUST be called before the user-specified
    process is executed as part of the `start` operation.\""""
    b, log = hooked_bundle(
        oci, lambda log: {"startContainer": [hook("startContainer", "/hooks.log")]},
        args=["/bin/sh", "-c", "cp /hooks.log /seen-by-program"])
    oci.create_ok(b)
    assert log.names() == [], "startContainer ran during create"
    assert rt.start(b.cid).ok
    assert ocitest.wait_for_file(b.rootfs / "seen-by-program")
    rt.wait_status(b.cid, "stopped")
    seen = (b.rootfs / "seen-by-program").read_text().split()
    assert seen[0] == "startContainer" and STATUS_OK["startContainer"](seen[1]), seen


def test_poststart_before_start_returns(oci, rt):
    """config.md: "The `poststart` hooks MUST be called after the user-specified process
    is executed but before the `start` operation returns.\""""
    slow = "sleep 1\n" + HOOK_SCRIPT
    b, log = hooked_bundle(oci, lambda log: {"poststart": [hook("poststart", log.host,
                                                                script=slow)]})
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    assert log.names() == ["poststart"], "start returned before the poststart hook finished"


def test_poststop_after_delete_before_it_returns(oci, rt):
    """config.md: "The `poststop` hooks MUST be called after the container is deleted but
    before the `delete` operation returns.\""""
    b, log = hooked_bundle(oci, lambda log: {"poststop": [hook("poststop", log.host)]})
    state = oci.create_ok(b)
    assert rt.start(b.cid).ok
    oci.stop(b.cid)
    assert log.names() == [], "poststop ran before delete"
    assert rt.delete(b.cid).ok
    assert log.names() == ["poststop"]
    assert not ocitest.pid_alive(state["pid"])


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create(oci, rt, kind):
    """runtime.md: "If any `createRuntime` hook fails, the runtime MUST generate an error,
    stop the container, and continue the lifecycle at step 12." (likewise prestart and
    createContainer) -- create fails, the container is gone or stopped, the program never
    ran, and the poststop hooks run (step 13)."""
    b, log = hooked_bundle(
        oci, lambda log: {kind: [failing(kind, log.host)],
                          "poststop": [hook("poststop", log.host)]},
        args=["/bin/ocitest-probe", "write", "/program-ran", "yes"])
    res = rt.create(b.path, b.cid)
    assert not res.ok, f"create succeeded although a {kind} hook failed\n{res}"
    status = rt.status(b.cid)
    assert status in (None, "stopped"), f"container is {status} after a failed {kind} hook"
    if status is None:
        oci.assert_gone(b.cid)
    else:
        assert rt.delete(b.cid).ok
    time.sleep(0.2)
    assert not (b.rootfs / "program-ran").exists()
    assert log.names() == [kind, "poststop"], "poststop hooks were not run (step 13)"


def test_failing_start_container_hook_fails_start(oci, rt):
    """runtime.md: "If any `startContainer` hook fails, the runtime MUST generate an
    error, stop the container, and continue the lifecycle at step 12.\""""
    b, log = hooked_bundle(
        oci, lambda log: {"startContainer": [failing("startContainer", "/hooks.log")]},
        args=["/bin/ocitest-probe", "write", "/program-ran", "yes"])
    oci.create_ok(b)
    res = rt.start(b.cid)
    assert not res.ok, f"start succeeded although the startContainer hook failed\n{res}"
    time.sleep(0.2)
    assert not (b.rootfs / "program-ran").exists()
    assert rt.status(b.cid) in (None, "stopped")


def test_failing_poststart_hook_fails_start(oci, rt):
    """runtime.md: "If any `poststart` hook fails, the runtime MUST generate an error,
    stop the container, and continue the lifecycle at step 12.\""""
    b, log = hooked_bundle(oci, lambda log: {"poststart": [failing("poststart", log.host)]})
    state = oci.create_ok(b)
    res = rt.start(b.cid)
    assert not res.ok, f"start succeeded although the poststart hook failed\n{res}"
    deadline = time.monotonic() + 5
    while ocitest.pid_alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ocitest.pid_alive(state["pid"]), "the container was not stopped"
    assert rt.status(b.cid) in (None, "stopped")


def test_failing_poststop_hook_only_warns(oci, rt):
    """runtime.md: "If any `poststop` hook fails, the runtime MUST log a warning, but the
    remaining hooks and lifecycle continue as if the hook had succeeded.\""""
    b, log = hooked_bundle(oci, lambda log: {"poststop": [failing("poststop1", log.host),
                                                          hook("poststop2", log.host)]})
    oci.create_ok(b)
    oci.stop(b.cid)
    res = rt.delete(b.cid)
    assert res.ok, f"delete failed because of a poststop hook\n{res}"
    assert log.names() == ["poststop1", "poststop2"]
    oci.assert_gone(b.cid)


def test_hook_timeout(oci, rt):
    """config.md: "`timeout` (int, OPTIONAL) is the number of seconds before aborting the
    hook." -- a createRuntime hook that hangs is aborted after 1s and create fails (a
    failing hook, runtime.md step 4)."""
    b, log = hooked_bundle(oci, lambda log: {"createRuntime": [
        hook("createRuntime", log.host, script="sleep 30", timeout=1)]})
    start = time.monotonic()
    res = rt.create(b.path, b.cid, timeout=40)
    took = time.monotonic() - start
    assert not res.ok, f"create succeeded although the hook timed out\n{res}"
    assert took < 15, f"the hook was not aborted after its 1s timeout (create took {took:.1f}s)"
    assert rt.status(b.cid) in (None, "stopped")
