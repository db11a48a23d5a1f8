"""process.terminal: `run` relaying a pty under script(1), and `create --console-socket`
handing the pty master to an AF_UNIX server over SCM_RIGHTS."""

import array
import json
import os
import select
import socket
import subprocess
import threading
import time


import helpers
from helpers import assert_one_error_line

PROBE_AND_CONSOLE = ["/bin/sh", "-c", "/bin/probe; /bin/probe stat /dev/console"]


def json_lines(text):
    """Every JSON object in a terminal transcript (CRLF, maybe control bytes first)."""
    found = []
    for line in text.replace("\r", "").splitlines():
        if "{" not in line:
            continue
        try:
            found.append(json.loads(line[line.index("{"):]))
        except ValueError:
            pass
    return found


def terminal_bundle(bundle, args=PROBE_AND_CONSOLE):
    """make_bundle turns the terminal off before the mutator runs; the mutator turns it on."""
    return bundle(lambda c: c["process"].update(terminal=True), args=list(args))


def check_tty_report(report, console):
    term = report["terminal"]
    assert term["stdin"] and term["stdout"] and term["stderr"], term
    assert term["ttyname"] and term["ttyname"].startswith("/dev/pts/"), term
    # sh -c runs the probe: the container's init (pid 1) leads the session of the tty.
    assert report["sid"] == 1, "the container process must lead its own session (setsid)"
    assert console["exists"] and console["type"] == "char", console
    # /dev/console is the container's pty, not the host's console (5:1).
    assert (console["rdev_major"], console["rdev_minor"]) != (5, 1), console


def test_run_with_terminal_under_script(husk_bin, root_dir, bundle, unique_id, assert_clean):
    b = terminal_bundle(bundle)
    cmd = f"{husk_bin} --root {root_dir} run --bundle {b} {unique_id()}"
    proc = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, helpers.describe(proc)
    found = json_lines(proc.stdout)
    assert len(found) == 2, proc.stdout
    check_tty_report(*found)
    assert_clean()


def test_run_terminal_exit_code(husk_bin, root_dir, bundle, unique_id, assert_clean):
    b = terminal_bundle(bundle, args=["/bin/probe", "exit", "9"])
    cmd = f"{husk_bin} --root {root_dir} run --bundle {b} {unique_id()}"
    proc = subprocess.run(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 9, helpers.describe(proc)
    assert_clean()


class ConsoleServer:
    """Accepts one connection on an AF_UNIX socket and receives the pty master fd."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.master = None
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.sock.settimeout(30)
            conn, _ = self.sock.accept()
            with conn:
                fds = array.array("i")
                msg, ancdata, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
                for level, kind, data in ancdata:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
                if not fds:
                    raise AssertionError(f"no fd received (message {msg!r})")
                self.master = fds[0]
                for extra in fds[1:]:
                    os.close(extra)
        except Exception as e:  # reported by the test thread
            self.error = e

    def wait_master(self, timeout=30):
        self.thread.join(timeout)
        if self.error:
            raise self.error
        assert self.master is not None, "husk never sent the pty master"
        return self.master

    def close(self):
        self.sock.close()
        if self.master is not None:
            os.close(self.master)


def read_until_eof(fd, timeout=15):
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def test_console_socket_receives_pty_master(husk, bundle, tmp_path, unique_id, assert_clean):
    b = terminal_bundle(bundle)
    server = ConsoleServer(tmp_path / "console.sock")
    cid = unique_id()
    try:
        proc = husk("create", "--bundle", b, "--console-socket", server.path, cid)
        assert proc.returncode == 0, helpers.describe(proc)
        master = server.wait_master()
        assert os.isatty(master)
        husk("start", cid, check=True)
        output = read_until_eof(master)
        found = json_lines(output)
        assert len(found) == 2, output
        check_tty_report(*found)
        assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
        husk("delete", cid, check=True)
    finally:
        server.close()
    assert_clean()


def test_console_socket_input_reaches_container(husk, bundle, tmp_path, unique_id,
                                                assert_clean):
    b = terminal_bundle(bundle, args=["/bin/sh", "-c", "read line; echo got:$line"])
    server = ConsoleServer(tmp_path / "console.sock")
    cid = unique_id()
    try:
        husk("create", "--bundle", b, "--console-socket", server.path, cid, check=True)
        master = server.wait_master()
        husk("start", cid, check=True)
        os.write(master, b"hello-tty\n")
        output = read_until_eof(master)
        assert "got:hello-tty" in output, output
        assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
        husk("delete", cid, check=True)
    finally:
        server.close()
    assert_clean()


def test_terminal_create_without_console_socket(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    proc = husk("create", "--bundle", terminal_bundle(bundle), cid)
    assert_one_error_line(proc, "console")
    assert helpers.container_status(husk, cid) is None
    assert_clean()


def test_console_socket_missing(husk, bundle, tmp_path, unique_id, assert_clean):
    missing = tmp_path / "no-such.sock"
    proc = husk("create", "--bundle", terminal_bundle(bundle), "--console-socket", missing,
                unique_id())
    assert_one_error_line(proc, str(missing))
    assert_clean()
