"""What a supervisor passes through husk's environment, as runc does: socket activation
(LISTEN_FDS: the fds from 3 and LISTEN_FDS/LISTEN_PID in the process's env) and the
sd_notify socket (NOTIFY_SOCKET: the host socket bound into the container)."""

import os
import socket
import subprocess

import helpers


def test_listen_fds_pass_through(husk_bin, root_dir, bundle, unique_id, tmp_path, assert_clean):
    held = tmp_path / "activation.txt"
    held.write_text("socket stand-in\n")
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")
    # fd 3 set up in the child only: the test process's own fd 3 may be pytest's.
    proc = subprocess.run(["bash", "-c", 'exec 3<"$0"; exec "$@"', str(held), husk_bin,
                           "--root", root_dir, "run", "--bundle", bundle(), unique_id()],
                          env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, helpers.describe(proc)
    report = helpers.parse_json_output(proc.stdout)
    assert report["fds"].get("3", "").endswith("activation.txt"), report["fds"]
    assert "LISTEN_FDS=1" in report["env"] and "LISTEN_PID=1" in report["env"], report["env"]
    assert_clean()


def test_no_listen_fds_no_extra_fd(run_probe, bundle, assert_clean):
    report = run_probe(bundle())
    assert sorted(report["fds"], key=int) == ["0", "1", "2"], report["fds"]
    assert not any(e.startswith("LISTEN_") for e in report["env"]), report["env"]
    assert_clean()


def test_notify_socket_bound_in(husk, bundle, unique_id, tmp_path, assert_clean):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        env = dict(os.environ, NOTIFY_SOCKET=str(path))
        b = bundle(args=["/bin/sh", "-c",
                         "/bin/probe stat /run/notify/notify.sock; /bin/probe"])
        proc = husk("run", "--bundle", b, unique_id(), env=env)
    finally:
        sock.close()
    assert proc.returncode == 0, helpers.describe(proc)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    stat = helpers.parse_json_output(lines[0])
    report = helpers.parse_json_output(lines[1])
    assert stat["exists"] and stat["type"] == "socket", stat
    assert "NOTIFY_SOCKET=/run/notify/notify.sock" in report["env"], report["env"]
    assert_clean()
