"""runtime.md: the state, the lifecycle and the operations (create, start, state, kill,
delete), driven through the runc command line; plus the runc CLI contract for run, exec
and list that engines rely on."""

import json
import os
import time

import ocitest


def test_state_of_created_container(oci, rt):
    """runtime.md: "This operation MUST return the state of a container as specified in
    the State section." -- checked on a created container: REQUIRED ociVersion, id,
    status, bundle, and pid (REQUIRED when status is created on Linux)."""
    b = oci.bundle(oci.LONG_RUNNING)
    state = oci.create_ok(b)
    assert ocitest.check_state_document(state) == [], state
    assert state["id"] == b.cid
    assert state["status"] == "created"
    assert state["bundle"] == str(b.path)
    assert os.path.isabs(state["bundle"])
    assert ocitest.pid_alive(state["pid"]), f"state pid {state['pid']} is not a live process"


def test_status_running_after_start(oci, rt):
    """runtime.md: "`running`: the container process has executed the user-specified
    program but has not exited"."""
    b, state = oci.start_long_running()
    assert state["status"] == "running"
    assert ocitest.check_state_document(state) == [], state
    # The pid is the process that executed the program: its executable is now sleep.
    assert os.path.realpath(f"/proc/{state['pid']}/exe").endswith("busybox")
    cmdline = open(f"/proc/{state['pid']}/cmdline", "rb").read().split(b"\0")
    assert cmdline[0] == b"sleep", cmdline


def test_status_stopped_after_exit(oci, rt):
    """runtime.md: "`stopped`: the container process has exited"."""
    b = oci.bundle(["/bin/true"])
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    rt.wait_status(b.cid, "stopped")
    state = rt.state(b.cid)
    assert ocitest.check_state_document(state) == [], state


def test_state_bundle_is_absolute_path(oci, rt, tmp_path):
    """runtime.md: "`bundle` (string, REQUIRED) is the absolute path to the container's
    bundle directory." -- even when create was given a relative path."""
    b = oci.bundle(oci.LONG_RUNNING)
    cwd = os.getcwd()
    os.chdir(b.path.parent)
    try:
        res = rt.create(b.path.name, b.cid)
    finally:
        os.chdir(cwd)
    assert res.ok, res
    assert rt.state(b.cid)["bundle"] == str(b.path)


def test_state_annotations(oci, rt):
    """runtime.md: "`annotations` (map, OPTIONAL) contains the list of annotations
    associated with the container." -- the config's annotations appear in the state."""
    ann = {"org.ocitest.key": "value", "com.example.empty": ""}
    b = oci.bundle(oci.LONG_RUNNING, mutate=lambda c: c.update(annotations=ann))
    state = oci.create_ok(b)
    assert state.get("annotations") == ann


def test_state_without_id_errors(rt):
    """runtime.md: "This operation MUST generate an error if it is not provided the ID of
    a container.\""""
    assert not rt("state").ok


def test_state_of_unknown_container_errors(rt):
    """runtime.md: "Attempting to query a container that does not exist MUST generate an
    error.\""""
    assert not rt.state_result("ocit-does-not-exist").ok


def test_create_without_id_errors(oci, rt):
    """runtime.md: "This operation MUST generate an error if it is not provided a path to
    the bundle and the container ID to associate with the container.\""""
    b = oci.bundle(oci.LONG_RUNNING)
    res = rt("create", "--bundle", b.path)
    assert not res.ok, res
    assert not rt.list_ids(), "a container was created without an id"


def test_create_with_existing_id_errors(oci, rt):
    """runtime.md: "If the ID provided is not unique across all containers within the
    scope of the runtime ... the implementation MUST generate an error and a new container
    MUST NOT be created.\""""
    b1 = oci.bundle(oci.LONG_RUNNING)
    first = oci.create_ok(b1)
    b2 = oci.bundle(oci.LONG_RUNNING, cid=b1.cid)
    res = rt.create(b2.path, b1.cid)
    assert not res.ok, res
    again = rt.state(b1.cid)
    assert again["pid"] == first["pid"] and again["bundle"] == str(b1.path)
    assert again["status"] == "created"


def test_create_with_invalid_id_errors(oci, rt):
    """runtime.md: "If the ID provided ... is not valid in any other way, the
    implementation MUST generate an error and a new container MUST NOT be created." -- an
    id with a path separator cannot name a container."""
    b = oci.bundle(oci.LONG_RUNNING)
    res = rt.create(b.path, "../ocit-escape")
    assert not res.ok, res
    assert not (rt.root.parent / "ocit-escape").exists()
    assert not rt.list_ids()


def test_program_not_run_before_start(oci, rt):
    """runtime.md: "`process.args` MUST NOT be applied until triggered by the `start`
    operation." -- the program writes a file; it must not exist before start, and must
    appear after it."""
    b = oci.bundle(["/bin/ocitest-probe", "write", "/started", "yes"])
    oci.create_ok(b)
    time.sleep(0.5)  # a runtime that runs the program early gets time to show it
    assert not (b.rootfs / "started").exists(), "the program ran before start"
    assert rt.status(b.cid) == "created"
    assert rt.start(b.cid).ok
    assert ocitest.wait_for_file(b.rootfs / "started"), "the program did not run after start"


def test_config_changes_after_create_have_no_effect(oci, rt):
    """runtime.md: "Any updates to `config.json` after this step MUST NOT affect the
    container.\""""
    b = oci.bundle(["/bin/ocitest-probe", "write", "/which", "original"])
    oci.create_ok(b)
    b.config["process"]["args"] = ["/bin/ocitest-probe", "write", "/which", "changed"]
    b.write()
    assert rt.start(b.cid).ok
    assert ocitest.wait_for_file(b.rootfs / "which")
    time.sleep(0.1)
    assert (b.rootfs / "which").read_text() == "original"


def test_start_without_id_errors(rt):
    """runtime.md: "This operation MUST generate an error if it is not provided the
    container ID.\" (start)"""
    assert not rt("start").ok


def test_start_running_container_errors(oci, rt):
    """runtime.md: "Attempting to `start` a container that is not `created` MUST have no
    effect on the container and MUST generate an error." -- a running one."""
    b, state = oci.start_long_running()
    res = rt.start(b.cid)
    assert not res.ok, res
    again = rt.state(b.cid)
    assert again["status"] == "running" and again["pid"] == state["pid"]


def test_start_stopped_container_errors(oci, rt):
    """runtime.md: "Attempting to `start` a container that is not `created` MUST have no
    effect on the container and MUST generate an error." -- a stopped one."""
    b = oci.bundle(["/bin/ocitest-probe", "write", "/count", "x"])
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    rt.wait_status(b.cid, "stopped")
    (b.rootfs / "count").unlink()
    res = rt.start(b.cid)
    assert not res.ok, res
    time.sleep(0.3)
    assert not (b.rootfs / "count").exists(), "the program ran a second time"
    assert rt.status(b.cid) == "stopped"


def test_start_without_process_errors(oci, rt):
    """runtime.md: "This operation MUST generate an error if `process` was not set." --
    either create refuses the config or start fails; the program never runs."""
    b = oci.bundle(oci.LONG_RUNNING, mutate=lambda c: c.pop("process"))
    res = rt.create(b.path, b.cid)
    if res.ok:
        res = rt.start(b.cid)
        assert not res.ok, f"start succeeded without a process\n{res}"
    else:
        oci.assert_gone(b.cid)


def test_kill_without_id_errors(rt):
    """runtime.md: "This operation MUST generate an error if it is not provided the
    container ID.\" (kill)"""
    assert not rt("kill").ok


def test_kill_created_container(oci, rt):
    """runtime.md: "This operation MUST send the specified signal to the container
    process." -- KILL on a created container stops it."""
    b = oci.bundle(oci.LONG_RUNNING)
    state = oci.create_ok(b)
    assert rt.kill(b.cid, "KILL").ok
    rt.wait_status(b.cid, "stopped")
    assert not ocitest.pid_alive(state["pid"])


def test_kill_sends_the_signal(oci, rt):
    """runtime.md: "This operation MUST send the specified signal to the container
    process." -- the program traps USR1 and records it."""
    script = "trap 'echo usr1 > /got; exit 0' USR1; echo ready > /ready; " \
             "while :; do sleep 0.1; done"
    b, _ = oci.start_long_running(args=["/bin/sh", "-c", script])
    assert ocitest.wait_for_file(b.rootfs / "ready")
    assert rt.kill(b.cid, "USR1").ok
    assert ocitest.wait_for_file(b.rootfs / "got"), "the program did not receive USR1"
    rt.wait_status(b.cid, "stopped")


def test_kill_stopped_container_errors(oci, rt):
    """runtime.md: "Attempting to send a signal to a container that is neither `created`
    nor `running` MUST have no effect on the container and MUST generate an error.\""""
    b = oci.bundle(["/bin/true"])
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    rt.wait_status(b.cid, "stopped")
    res = rt.kill(b.cid, "KILL")
    assert not res.ok, res
    assert rt.status(b.cid) == "stopped"


def test_delete_without_id_errors(rt):
    """runtime.md: "This operation MUST generate an error if it is not provided the
    container ID.\" (delete)"""
    assert not rt("delete").ok


def test_delete_running_container_errors(oci, rt):
    """runtime.md: "Attempting to `delete` a container that is not `stopped` MUST have no
    effect on the container and MUST generate an error." -- a running one."""
    b, state = oci.start_long_running()
    res = rt.delete(b.cid)
    assert not res.ok, res
    assert rt.status(b.cid) == "running"
    assert ocitest.pid_alive(state["pid"])


def test_delete_created_container_errors(oci, rt):
    """runtime.md: "Attempting to `delete` a container that is not `stopped` MUST have no
    effect on the container and MUST generate an error." -- a created one."""
    b = oci.bundle(oci.LONG_RUNNING)
    state = oci.create_ok(b)
    res = rt.delete(b.cid)
    assert not res.ok, f"delete of a created container succeeded\n{res}"
    assert rt.status(b.cid) == "created"
    assert ocitest.pid_alive(state["pid"])


def test_delete_removes_container(oci, rt):
    """runtime.md: "Deleting a container MUST delete the resources that were created
    during the `create` step." -- afterwards `state` errors, `list` does not show it, its
    cgroups are gone."""
    b = oci.bundle(["/bin/true"])
    oci.create_ok(b)
    assert ocitest.cgroup_dirs_of(b.cid), "create made no cgroup at linux.cgroupsPath"
    assert rt.start(b.cid).ok
    rt.wait_status(b.cid, "stopped")
    res = rt.delete(b.cid)
    assert res.ok, res
    oci.assert_gone(b.cid)


def test_delete_keeps_resources_not_created_by_container(oci, rt):
    """runtime.md: "Note that resources associated with the container, but not created by
    this container, MUST NOT be deleted." -- a bind-mounted host directory and a joined
    network namespace survive delete."""
    keep = rt.workdir / "keep"
    keep.mkdir()
    (keep / "file").write_text("data")
    host_net = os.readlink("/proc/self/ns/net")

    def mutate(c):
        c["mounts"].append({"destination": "/mnt/keep", "type": "none", "source": str(keep),
                            "options": ["rbind", "rw"]})
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                    if n["type"] != "network"]
        c["linux"]["namespaces"].append({"type": "network", "path": "/proc/self/ns/net"})
    b = oci.bundle(["/bin/sh", "-c", "echo more > /mnt/keep/other"], mutate)
    oci.run_ok(b)
    assert (keep / "file").read_text() == "data"
    assert (keep / "other").read_text() == "more\n"
    assert os.readlink("/proc/self/ns/net") == host_net


def test_id_reusable_after_delete(oci, rt):
    """runtime.md: "Once a container is deleted its ID MAY be used by a subsequent
    container." -- and the runtime MUST then create it (\"This operation MUST create a new
    container.\")."""
    b = oci.bundle(["/bin/true"])
    oci.create_ok(b)
    oci.stop(b.cid)
    assert rt.delete(b.cid).ok
    state = oci.create_ok(b)
    assert state["status"] == "created"


def test_operations_on_same_container(oci, rt):
    """runtime.md: "The entity using a runtime to create a container MUST be able to use
    the operations defined in this specification against that same container." -- create,
    state, start, kill, delete in sequence on one id."""
    b = oci.bundle(oci.LONG_RUNNING)
    oci.create_ok(b)
    assert rt.start(b.cid).ok
    assert rt.state(b.cid)["status"] == "running"
    assert rt.kill(b.cid, "KILL").ok
    rt.wait_status(b.cid, "stopped")
    assert rt.delete(b.cid).ok
    assert rt.status(b.cid) is None


def test_run_returns_exit_status(oci, rt):
    """CLI (runc contract): `run` runs create+start in the foreground and exits with the
    container's exit status -- runtime.md: "The runtime MUST run the user-specified
    program, as specified by `process`.\""""
    res = oci.run_sh("echo hello; exit 7")
    assert res.returncode == 7, res
    assert res.stdout == "hello\n"


def test_exec_joins_container(oci, rt):
    """CLI (runc contract): `exec ID ARGS` runs a process inside the running container
    (same hostname and pid namespace) -- runtime.md: "The entity using a runtime to create
    a container MUST be able to use the operations ... against that same container.\""""
    b, state = oci.start_long_running(mutate=lambda c: c.update(hostname="ocitest-exec"))
    res = rt("exec", b.cid, "/bin/ocitest-probe", "report")
    assert res.ok, res
    report = json.loads(res.stdout)
    assert report["hostname"] == "ocitest-exec"
    assert report["ns"]["pid"] == os.readlink(f"/proc/{state['pid']}/ns/pid")


def test_list_shows_container(oci, rt):
    """CLI (runc contract): `list --format json` shows every container of this --root with
    its status -- runtime.md: "The entity using a runtime to create a container MUST be
    able to use the operations ... against that same container.\""""
    b = oci.bundle(oci.LONG_RUNNING)
    oci.create_ok(b)
    res = rt("list", "--format", "json")
    assert res.ok, res
    entries = {c["id"]: c for c in json.loads(res.stdout)}
    assert entries[b.cid]["status"] == "created"
