"""checkpoint and restore (criu through libcriu).

They need a kernel the installed criu supports: Debian's criu 3.17 fails `criu check` on the
dev machines' 6.18 kernel (unknown vDSO layout), so here everything skips, and the test VM
(tests/vm, Debian 12's 6.1 kernel; tests/vm/run-cgroup-tests.sh runs this file and fails
if it skipped there) is where these tests run:

    HUSK=build/husk PROBE=build/tests/probe/probe tests/vm/run.sh \\
        /usr/bin/python3 -m pytest -v tests/integration/test_checkpoint.py

The container's work is a shell loop counting in a variable, that is in memory, and writing
each value to /counter in its rootfs: a restore that continued counts on from where the
checkpoint stopped it; one that started the process afresh would start again at 1.  Its
stdio are pipes, as an engine's (conmon, a shim) are: criu hands pipes over to the restoring
runtime, but cannot reopen files that lie outside the container.  criu dumps a pid
namespace only when its init leads its own session, which husk's init does, as runc's and
crun's (test_init_leads_its_own_session).
"""

import glob
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers import assert_one_error_line, describe, run_husk, wait_for_status


def _criu_check():
    """None when criu works here, else why not."""
    criu = shutil.which("criu") or "/usr/sbin/criu"
    if not Path(criu).exists():
        return "criu is not installed"
    try:
        proc = subprocess.run([criu, "check"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"criu check: {e}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return f"criu check fails on this kernel ({last}); tests/vm runs these tests"
    return None


CRIU_PROBLEM = _criu_check()
needs_criu = pytest.mark.skipif(CRIU_PROBLEM is not None, reason=str(CRIU_PROBLEM))

# Counts in a shell variable; `exit 7` after `limit` rounds (0: never).
COUNTER = ("i=0; while [ {limit} -eq 0 ] || [ $i -lt {limit} ]; do i=$((i+1)); "
           "echo $i > /counter; sleep 0.2; done; exit 7")


def counter_bundle(bundle, limit=0):
    def mutate(config):
        config["root"]["readonly"] = False
    return bundle(mutate, args=["/bin/sh", "-c", COUNTER.format(limit=limit)])


def leads_its_session(pid):
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[3]) == pid


def read_counter(bundle_dir):
    try:
        return int((Path(bundle_dir) / "rootfs" / "counter").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def wait_counter(bundle_dir, at_least, timeout=30):
    deadline = time.monotonic() + timeout
    value = read_counter(bundle_dir)
    while value < at_least and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read_counter(bundle_dir)
    assert value >= at_least, f"the counter stayed at {value}, wanted {at_least}"
    return value


def husk_with_pipes(husk_bin, root, *args, timeout=120):
    """Run husk with pipes as stdio (what the container inherits); returns the
    CompletedProcess.  Output is read until husk exits, not until the pipes close: a
    detached container keeps them open."""
    cmd = [str(husk_bin), "--root", str(root), *[str(a) for a in args]]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = b""
    if proc.returncode != 0:
        err = proc.stderr.read()
    for f in (proc.stdin, proc.stdout, proc.stderr):
        f.close()
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err.decode(errors="replace"))


def start_counter(husk_bin, root_dir, bundle_dir, cid):
    proc = husk_with_pipes(husk_bin, root_dir, "run", "--detach", "--bundle", bundle_dir, cid)
    assert proc.returncode == 0, describe(proc)
    return wait_counter(bundle_dir, 3)


def state_of(husk, cid):
    proc = husk("state", cid, check=True)
    return json.loads(proc.stdout)


@needs_criu
def test_checkpoint_stops_and_restore_continues(husk, husk_bin, root_dir, bundle, unique_id,
                                                tmp_path, assert_clean):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images, work = tmp_path / "images", tmp_path / "work"

    proc = husk("checkpoint", "--image-path", images, "--work-path", work, cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    assert (images / "inventory.img").is_file()
    assert (images / "descriptors.json").is_file()
    assert (work / "dump.log").is_file()
    # runc's rule: the checkpointed container is gone, processes, state and cgroup.
    assert_one_error_line(husk("state", cid), "does not exist")
    assert_clean("after checkpoint")
    stopped_at = read_counter(b)
    time.sleep(1)
    assert read_counter(b) == stopped_at, "the counter went on after the checkpoint"

    proc = husk_with_pipes(husk_bin, root_dir, "restore", "--detach", "--bundle", b,
                           "--image-path", images, "--work-path", work, cid)
    assert proc.returncode == 0, describe(proc)
    assert (work / "restore.log").is_file()
    state = state_of(husk, cid)
    assert state["status"] == "running", state
    assert state["pid"] > 0
    assert state["bundle"] == str(b)
    # On from where it stopped: the shell's variable came back with its memory.
    value = wait_counter(b, stopped_at + 3)
    assert value > stopped_at
    proc = husk("delete", "--force", cid)
    assert proc.returncode == 0, describe(proc)
    assert_clean("after delete")


def cgroup_of(pid):
    """The cgroup2 path of a process ("0::/husk/ID" on the VM's pure v2 hierarchy)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def children_of(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


@pytest.mark.parametrize("mode", ["soft", "full", "ignore"])
@needs_criu
def test_restored_processes_are_in_the_new_cgroup(husk, husk_bin, root_dir, bundle, unique_id,
                                                  tmp_path, mode, assert_clean):
    """Whatever criu does with cgroups (--manage-cgroups-mode), the restored tree ends up in
    the cgroup of the new container, not in the old one nor in the restoring husk's."""
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images = tmp_path / "images"
    proc = husk("checkpoint", "--manage-cgroups-mode", mode, "--image-path", images, cid,
                timeout=120)
    assert proc.returncode == 0, describe(proc)
    restored = unique_id()
    proc = husk_with_pipes(husk_bin, root_dir, "restore", "--detach", "--bundle", b,
                           "--manage-cgroups-mode", mode, "--image-path", images, restored)
    assert proc.returncode == 0, describe(proc)
    pid = state_of(husk, restored)["pid"]
    want = f"/husk/{restored}"
    assert cgroup_of(pid) == want
    wait_counter(b, read_counter(b) + 2)
    for child in children_of(pid):
        assert cgroup_of(child) == want, f"child {child} of the restored init"
    husk("delete", "--force", restored, check=True)
    assert_clean()


@needs_criu
def test_bind_mounts_come_from_the_new_bundle(husk, husk_bin, root_dir, bundle, unique_id,
                                              tmp_path, assert_clean):
    """A bind mount is external to criu: restore binds the source the bundle's config.json
    names now (here another directory than at checkpoint time, relative to the bundle)."""
    loop = ("i=0; while :; do i=$((i+1)); echo $i > /counter; echo $i > /data/last; "
            "sleep 0.2; done")

    def mutate(config):
        config["root"]["readonly"] = False
        config["mounts"].append({"destination": "/data", "type": "bind", "source": "data1",
                                 "options": ["rbind", "rw"]})
    b = bundle(mutate, args=["/bin/sh", "-c", loop])
    (b / "data1").mkdir()
    (b / "data2").mkdir()
    (b / "rootfs" / "data").mkdir(exist_ok=True)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images = tmp_path / "images"
    proc = husk("checkpoint", "--image-path", images, cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    stopped_at = int((b / "data1" / "last").read_text())

    config = json.loads((b / "config.json").read_text())
    config["mounts"][-1]["source"] = "data2"
    (b / "config.json").write_text(json.dumps(config))
    proc = husk_with_pipes(husk_bin, root_dir, "restore", "--detach", "--bundle", b,
                           "--image-path", images, cid)
    assert proc.returncode == 0, describe(proc)
    value = wait_counter(b, stopped_at + 3)
    assert int((b / "data2" / "last").read_text()) > stopped_at
    assert int((b / "data1" / "last").read_text()) == stopped_at
    assert value > stopped_at
    husk("delete", "--force", cid, check=True)
    assert_clean()


@needs_criu
def test_restore_writes_the_pid_file_and_runs_the_prestart_hooks(husk, husk_bin, root_dir,
                                                                  bundle, unique_id,
                                                                  tmp_path):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images = tmp_path / "images"
    husk("checkpoint", "--image-path", images, cid, timeout=120, check=True)

    hooks_out = tmp_path / "hooks"
    config = json.loads((b / "config.json").read_text())
    config["hooks"] = {stage: [{"path": "/bin/sh",
                                "args": ["sh", "-c", f"cat > {hooks_out}.{stage}"]}]
                       for stage in ("prestart", "createRuntime")}
    (b / "config.json").write_text(json.dumps(config))
    pid_file = tmp_path / "restored.pid"
    proc = husk_with_pipes(husk_bin, root_dir, "restore", "--detach", "--bundle", b,
                           "--image-path", images, "--pid-file", pid_file, cid)
    assert proc.returncode == 0, describe(proc)
    pid = state_of(husk, cid)["pid"]
    assert int(pid_file.read_text()) == pid
    for stage in ("prestart", "createRuntime"):
        state = json.loads(Path(f"{hooks_out}.{stage}").read_text())
        assert state["id"] == cid and state["pid"] == pid, (stage, state)
    husk("delete", "--force", cid, check=True)


@needs_criu
def test_restore_in_the_foreground_returns_the_exit_status(husk, husk_bin, root_dir, bundle,
                                                            unique_id, tmp_path,
                                                            assert_clean):
    b = counter_bundle(bundle, limit=25)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images = tmp_path / "images"
    proc = husk("checkpoint", "--image-path", images, cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    stopped_at = read_counter(b)
    assert stopped_at < 25, "the loop ended before the checkpoint: slow machine?"

    proc = husk_with_pipes(husk_bin, root_dir, "restore", "--bundle", b, "--image-path",
                           images, cid)
    # The loop ran its remaining rounds (not 25 from the start) and exited 7.
    assert proc.returncode == 7, describe(proc)
    assert read_counter(b) == 25
    assert_clean("after a foreground restore")


@needs_criu
def test_leave_running(husk, husk_bin, root_dir, bundle, unique_id, tmp_path, assert_clean):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    pid = state_of(husk, cid)["pid"]
    images = tmp_path / "images"
    proc = husk("checkpoint", "--leave-running", "--image-path", images, cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    assert (images / "inventory.img").is_file()
    state = state_of(husk, cid)
    assert state["status"] == "running" and state["pid"] == pid, state
    wait_counter(b, read_counter(b) + 3)
    husk("delete", "--force", cid, check=True)
    assert_clean()


@needs_criu
def test_checkpoint_default_image_path_is_checkpoint_in_the_cwd(husk, husk_bin, root_dir,
                                                                 bundle, unique_id, tmp_path):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = husk("checkpoint", "--leave-running", cid, cwd=cwd, timeout=120)
    assert proc.returncode == 0, describe(proc)
    assert (cwd / "checkpoint" / "inventory.img").is_file()
    assert (cwd / "checkpoint" / "dump.log").is_file()
    husk("delete", "--force", cid, check=True)


@needs_criu
def test_checkpoint_of_a_paused_container(husk, husk_bin, root_dir, bundle, unique_id,
                                          tmp_path, assert_clean):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    husk("pause", cid, check=True)
    images = tmp_path / "images"
    proc = husk("checkpoint", "--image-path", images, cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    assert_one_error_line(husk("state", cid), "does not exist")
    assert_clean("after checkpoint")


@needs_criu
def test_checkpoint_needs_a_running_container(husk, husk_bin, root_dir, bundle, unique_id,
                                              tmp_path):
    images = tmp_path / "images"
    assert_one_error_line(husk("checkpoint", "--image-path", images, "nosuch"),
                          "nosuch", "does not exist")

    created = unique_id()
    husk("create", "--bundle", counter_bundle(bundle), created, check=True)
    assert_one_error_line(husk("checkpoint", "--image-path", images, created),
                          f'cannot checkpoint container "{created}"', "status is created")
    assert state_of(husk, created)["status"] == "created"
    husk("delete", "--force", created, check=True)

    stopped = unique_id()
    husk("run", "--detach", "--bundle", bundle(args=["/bin/true"]), stopped, check=True)
    assert wait_for_status(husk, stopped, "stopped") == "stopped"
    assert_one_error_line(husk("checkpoint", "--image-path", images, stopped),
                          "status is stopped")
    husk("delete", stopped, check=True)


@needs_criu
def test_init_leads_its_own_session(husk, husk_bin, root_dir, bundle, unique_id,
                                    assert_clean):
    """Runs everywhere: the init of a container without a terminal leads its own session,
    as runc's and crun's do (criu refuses to dump a pid namespace whose init's session
    leader is outside it)."""
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    assert leads_its_session(state_of(husk, cid)["pid"])
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_checkpoint_refuses_a_bad_cgroups_mode(husk):
    proc = husk("checkpoint", "--manage-cgroups-mode", "sometimes", "c1")
    assert_one_error_line(proc, "--manage-cgroups-mode", "sometimes")


@needs_criu
def test_restore_without_a_checkpoint_leaves_nothing(husk, bundle, unique_id, tmp_path,
                                                     assert_clean):
    b = counter_bundle(bundle)
    cid = unique_id()
    missing = tmp_path / "missing"
    proc = husk("restore", "--detach", "--bundle", b, "--image-path", missing, cid)
    assert_one_error_line(proc, "--image-path", str(missing))
    assert_one_error_line(husk("state", cid), "does not exist")

    empty = tmp_path / "empty"
    empty.mkdir()
    proc = husk("restore", "--detach", "--bundle", b, "--image-path", empty, cid)
    assert_one_error_line(proc, "no checkpoint", str(empty))
    assert_one_error_line(husk("state", cid), "does not exist")
    assert_clean("after failed restores")


@needs_criu
def test_failed_restore_names_the_log_and_leaves_nothing(husk, husk_bin, root_dir, bundle,
                                                         unique_id, tmp_path, assert_clean):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images, work = tmp_path / "images", tmp_path / "work"
    proc = husk("checkpoint", "--leave-running", "--image-path", images, "--work-path", work,
                cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    # A checkpoint criu cannot read: its process tree image is gone.
    (images / "pstree.img").unlink()
    other = unique_id()
    proc = husk_with_pipes(husk_bin, root_dir, "restore", "--detach", "--bundle", b,
                           "--image-path", images, "--work-path", work, other)
    assert proc.returncode == 1, describe(proc)
    assert "criu failed" in proc.stderr and str(work / "restore.log") in proc.stderr, \
        describe(proc)
    assert_one_error_line(husk("state", other), "does not exist")
    husk("delete", "--force", cid, check=True)
    assert_clean("after a failed restore")


@needs_criu
def test_restore_of_a_checkpoint_twice_needs_a_free_id(husk, husk_bin, root_dir, bundle,
                                                       unique_id, tmp_path):
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images = tmp_path / "images"
    proc = husk("checkpoint", "--leave-running", "--image-path", images, cid, timeout=120)
    assert proc.returncode == 0, describe(proc)
    proc = husk("restore", "--detach", "--bundle", b, "--image-path", images, cid)
    assert_one_error_line(proc, f'container "{cid}" already exists')
    assert state_of(husk, cid)["status"] == "running"
    husk("delete", "--force", cid, check=True)


def hide_libcriu(args):
    """args run in a private mount namespace where libcriu.so.2 cannot be loaded."""
    candidates = ("/usr/lib*/libcriu.so.2", "/usr/lib/*/libcriu.so.2", "/lib*/libcriu.so.2")
    libs = [p for pattern in candidates for p in glob.glob(pattern) if Path(p).exists()]
    binds = "".join(f"mount --bind /dev/null {lib} && " for lib in libs)
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", binds + 'exec "$@"',
            "sh", *[str(a) for a in args]]


def test_without_libcriu(husk, husk_bin, root_dir, bundle, unique_id, tmp_path, assert_clean):
    """Runs everywhere (no criu needed): a husk that cannot load libcriu says so, and
    neither command changes anything."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    built_with = "+CRIU" in husk("--version", check=True).stdout
    want = ("libcriu.so.2 not found: install criu" if built_with
            else "husk was built without libcriu")
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    images = tmp_path / "images"
    images.mkdir()
    (images / "inventory.img").write_bytes(b"")

    proc = subprocess.run(hide_libcriu([husk_bin, "--root", root_dir, "checkpoint",
                                        "--image-path", images, cid]),
                          capture_output=True, text=True, timeout=60)
    assert_one_error_line(proc, "checkpoint: " + want)
    assert state_of(husk, cid)["status"] == "running"

    other = unique_id()
    proc = subprocess.run(hide_libcriu([husk_bin, "--root", root_dir, "restore", "--detach",
                                        "--bundle", b, "--image-path", images, other]),
                          capture_output=True, text=True, timeout=60)
    assert_one_error_line(proc, "restore: " + want)
    assert_one_error_line(husk("state", other), "does not exist")
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_restore_refuses_strict_cgroups_mode(husk, bundle, unique_id, tmp_path, root_dir,
                                             assert_clean):
    """Runs everywhere: criu's strict mode remakes the container's cgroup with cgroupfs
    files only, which would drop husk's device rules: refused before anything is made."""
    cid = unique_id()
    proc = husk("restore", "--detach", "--bundle", counter_bundle(bundle),
                "--manage-cgroups-mode", "strict", "--image-path", tmp_path, cid)
    assert_one_error_line(proc, "restore", "strict", "not supported")
    assert not (root_dir / cid).exists()
    assert_clean()


def test_delete_removes_a_mount_a_killed_restore_left(husk, husk_bin, root_dir, bundle,
                                                      unique_id, tmp_path, assert_clean):
    """Runs everywhere: a restore killed while the rootfs was bound on the state dir's
    criu-root leaves a mounted directory there; delete detaches and removes it."""
    import ctypes
    b = counter_bundle(bundle)
    cid = unique_id()
    start_counter(husk_bin, root_dir, b, cid)
    mnt = root_dir / cid / "criu-root"
    mnt.mkdir()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mount(str(b / "rootfs").encode(), str(mnt).encode(), None,
                      0x1000 | 0x4000, None) == 0, ctypes.get_errno()  # MS_BIND | MS_REC
    assert (mnt / "bin").exists()
    husk("delete", "--force", cid, check=True)
    assert not (root_dir / cid).exists()
    assert str(mnt) not in Path("/proc/self/mountinfo").read_text()
    assert_clean()

