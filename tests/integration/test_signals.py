"""Signals: foreground `run` forwarding what husk receives, and `kill` by name and number,
to the init or (--all) to every process of the container."""

import signal
import subprocess

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_foreground_run_forwards_signals(husk_bin, root_dir, bundle, tmp_path, unique_id,
                                         assert_clean, sig):
    b = bundle(args=["/bin/probe", "wait-signal"])
    out_path = tmp_path / "run.out"
    with open(out_path, "w") as out:
        run = subprocess.Popen([str(husk_bin), "--root", str(root_dir), "run", "--bundle",
                                str(b), unique_id()], stdout=out, stderr=subprocess.STDOUT)
    try:
        assert lh.wait_until(lambda: "ready" in out_path.read_text(), 10), \
            out_path.read_text()
        run.send_signal(sig)
        rc = run.wait(15)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    text = out_path.read_text()
    assert rc == 0, text
    report = helpers.parse_json_output(text)
    assert report["signal"] == "SIG" + sig.name[3:], text
    assert report["sender_pid"] == 0, "sent from outside the container's pid namespace"
    assert_clean()


def waiting_container(husk, bundle, tmp_path, cid):
    """A detached container whose init is `probe wait-signal`, writing to a host file."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    b = bundle(lambda c: lh.add_bind(c, out),
               args=["/bin/sh", "-c", f"exec /bin/probe wait-signal > {out}/report"])
    st = lh.run_detached(husk, b, cid)
    assert lh.wait_until(lambda: "ready" in (out / "report").read_text()
                         if (out / "report").exists() else False, 10)
    return st, out / "report"


@pytest.mark.parametrize("spec,name", [("TERM", "SIGTERM"), ("SIGUSR1", "SIGUSR1"),
                                       ("12", "SIGUSR2"), ("hup", "SIGHUP"), (None, "SIGTERM")])
def test_kill_by_name_and_number(husk, bundle, tmp_path, unique_id, assert_clean, spec, name):
    cid = unique_id()
    _, report = waiting_container(husk, bundle, tmp_path, cid)
    proc = husk("kill", cid, *([spec] if spec else []))
    assert proc.returncode == 0, helpers.describe(proc)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    data = helpers.parse_json_output(report.read_text())
    assert data["signal"] == name
    husk("delete", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("spec", ["KILL", "SIGKILL", "9"])
def test_kill_sigkill_forms(husk, bundle, unique_id, assert_clean, spec):
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    proc = husk("kill", cid, spec)
    assert proc.returncode == 0, helpers.describe(proc)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    assert not lh.pid_alive(st["pid"])
    husk("delete", cid, check=True)
    assert_clean()


@pytest.mark.parametrize("spec", ["SIGBOGUS", "0x9", "65", "-1", ""])
def test_kill_bad_signal(husk, bundle, unique_id, assert_clean, spec):
    cid = unique_id()
    lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    proc = husk("kill", cid, spec)
    assert proc.returncode == 1, helpers.describe(proc)
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("husk: "), \
        helpers.describe(proc)
    assert lh.state(husk, cid)["status"] == "running"
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_kill_all(husk, bundle, tmp_path, unique_id, assert_clean):
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    pids = [st["pid"]]
    for i in range(2):
        pid_file = tmp_path / f"exec{i}.pid"
        husk("exec", "--detach", "--pid-file", pid_file, cid, "/bin/probe", "sleep", "inf",
             check=True)
        pids.append(int(pid_file.read_text()))
    assert all(lh.pid_alive(p) for p in pids)
    proc = husk("kill", "--all", cid, "KILL")
    assert proc.returncode == 0, helpers.describe(proc)
    assert lh.wait_until(lambda: not any(lh.pid_alive(p) for p in pids), 10), \
        [p for p in pids if lh.pid_alive(p)]
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)
    assert_clean()


def test_kill_without_all_spares_exec_processes_until_init_dies(husk, bundle, tmp_path,
                                                                unique_id, assert_clean):
    """kill (no --all) signals only the init; the pid namespace then takes the rest."""
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    pid_file = tmp_path / "exec.pid"
    husk("exec", "--detach", "--pid-file", pid_file, cid, "/bin/probe", "sleep", "inf",
         check=True)
    other = int(pid_file.read_text())
    husk("kill", cid, "KILL", check=True)
    assert lh.wait_until(lambda: not lh.pid_alive(st["pid"]), 5)
    # The init of a pid namespace takes its namespace down with it.
    assert lh.wait_until(lambda: not lh.pid_alive(other), 5)
    husk("delete", cid, check=True)
    assert_clean()


def test_kill_unknown_container(husk, assert_clean):
    assert_one_error_line(husk("kill", "no-such-container", "KILL"), "no-such-container")
    assert_clean()
