"""The runtime's answers that engines parse, compared with runc's directly (no engine):
exit statuses and the words engines match in error text (containerd's shim maps
"container not running" and "does not exist" to NotFound; podman matches "does not exist"
after a failed `state`)."""

import json
import subprocess

import pytest

from conftest import describe, run_cmd, wait_for


@pytest.fixture
def rt(runtime, tmp_path, image_files):
    """(runtime, call(*args)) with a private --root, and a busybox bundle."""
    root = tmp_path / "state"
    bundle = tmp_path / "bundle"
    (bundle / "rootfs").mkdir(parents=True)
    run_cmd(["tar", "-xf", image_files["rootfs"], "-C", bundle / "rootfs"], check=True)
    spec = run_cmd([runtime.real, "spec", "--bundle", bundle])
    if not (bundle / "config.json").exists():
        # runc spec writes into the current directory, not --bundle
        run_cmd([runtime.real, "spec"], cwd=bundle, check=True)
    assert (bundle / "config.json").exists(), describe(spec)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False

    def call(*args, timeout=30):
        # Files, not pipes: the container process of create inherits stdout and stderr,
        # and a pipe would stay open (and the call hang) until the container exits.
        out, err = tmp_path / "out", tmp_path / "err"
        with open(out, "w") as o, open(err, "w") as e:
            proc = subprocess.run([str(a) for a in (runtime.real, "--root", root, *args)],
                                  stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                  timeout=timeout, text=True)
        proc.stdout, proc.stderr = out.read_text(), err.read_text()
        return proc

    def set_args(*args):
        config["process"]["args"] = list(args)
        (bundle / "config.json").write_text(json.dumps(config))
        return bundle
    yield runtime, call, set_args
    for cid in (root.iterdir() if root.exists() else []):
        call("delete", "--force", cid.name)


def test_delete_force_missing_container(rt):
    _, call, _ = rt
    proc = call("delete", "--force", "never-created")
    assert proc.returncode == 0, describe(proc)


def test_delete_missing_container_message(rt):
    _, call, _ = rt
    proc = call("delete", "never-created")
    assert proc.returncode != 0
    assert "does not exist" in proc.stderr, describe(proc)


def test_state_missing_container_message(rt):
    _, call, _ = rt
    proc = call("state", "never-created")
    assert proc.returncode != 0
    assert "does not exist" in proc.stderr, describe(proc)


def stopped_container(call, set_args, cid):
    b = set_args("true")
    assert call("create", "--bundle", b, cid).returncode == 0
    assert call("start", cid).returncode == 0
    assert wait_for(lambda: json.loads(call("state", cid).stdout or "{}").get("status")
                    == "stopped", timeout=10)


def test_kill_stopped_container(rt):
    _, call, set_args = rt
    stopped_container(call, set_args, "k1")
    proc = call("kill", "k1", "TERM")
    assert proc.returncode != 0
    assert "container not running" in proc.stderr, describe(proc)
    # kill --all on a stopped container is not an error (podman stop with --pid host)
    proc = call("kill", "--all", "k1", "KILL")
    assert proc.returncode == 0, describe(proc)


def test_kill_signal_zero(rt):
    _, call, set_args = rt
    b = set_args("sleep", "100")
    assert call("create", "--bundle", b, "k0").returncode == 0
    proc = call("kill", "k0", "0")
    assert proc.returncode == 0, describe(proc)


def test_state_and_ps_json(rt):
    _, call, set_args = rt
    b = set_args("sleep", "100")
    assert call("create", "--bundle", b, "s1").returncode == 0
    state = json.loads(call("state", "s1").stdout)
    for key in ("ociVersion", "id", "pid", "status", "bundle", "created"):
        assert key in state, state
    assert state["status"] == "created" and state["id"] == "s1"
    assert state["bundle"] == str(b)
    ps = call("ps", "--format", "json", "s1")
    assert json.loads(ps.stdout) == [state["pid"]], describe(ps)
