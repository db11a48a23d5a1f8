"""The husk command line contract: global options, help, version, error format, and the
basic lifecycle commands (create/start/state/list/ps/kill/delete/run/exec)."""

import json
import os
import re
import signal
from pathlib import Path

import pytest

import helpers
from helpers import assert_one_error_line, describe, wait_for_status

COMMANDS = ["spec", "features", "state", "list", "create", "start", "run", "kill", "delete",
            "ps", "exec"]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# ------------------------------------------------------------------------- global options


def test_version(husk):
    proc = husk("--version", check=True)
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"husk version \d+\.\d+\.\d+\S*", lines[0]), lines
    assert any(re.fullmatch(r"commit: \S+", line) for line in lines), lines
    assert "spec: 1.3.0" in lines
    features = [line for line in lines if line.startswith("+")]
    assert len(features) == 1, lines
    assert {"+SECCOMP", "+CAP"} <= set(features[0].split())


def test_help(husk):
    proc = husk("--help", check=True)
    assert "usage" in proc.stdout.lower()
    for command in COMMANDS:
        assert command in proc.stdout, command


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(husk, command):
    proc = husk(command, "--help")
    assert proc.returncode == 0, describe(proc)
    assert "usage" in proc.stdout.lower() and command in proc.stdout
    assert proc.stderr == ""


def test_unknown_command(husk, assert_clean):
    proc = husk("frobnicate")
    assert_one_error_line(proc, "frobnicate")
    assert_clean()


def test_unknown_option(husk):
    assert_one_error_line(husk("state", "--no-such-option", "x"), "--no-such-option")


def test_error_goes_to_json_log(husk, tmp_path):
    log = tmp_path / "husk.log"
    proc = husk("state", "nope", global_args=["--log", log, "--log-format", "json"])
    line = assert_one_error_line(proc, 'container "nope" does not exist')
    message = line[len("husk: "):]
    entries = [json.loads(entry) for entry in log.read_text().splitlines() if entry.strip()]
    errors = [e for e in entries if e.get("level") == "error"]
    assert len(errors) == 1, entries
    assert errors[0]["msg"] == message
    assert RFC3339.match(errors[0]["time"]), errors[0]


def test_error_goes_to_text_log(husk, tmp_path):
    log = tmp_path / "husk.log"
    proc = husk("state", "nope", global_args=["--log", log, "--log-format", "text"])
    line = assert_one_error_line(proc, "does not exist")
    # logrus's text format, as runc writes it: quotes inside msg are escaped.
    msg = line[len("husk: "):].replace("\\", "\\\\").replace('"', '\\"')
    text = log.read_text()
    assert re.fullmatch(r'time="[^"]+" level=error msg="(.*)"\n', text), text
    assert f'msg="{msg}"' in text


# ------------------------------------------------------------------------- spec / features


def test_spec_writes_config(husk, tmp_path):
    proc = husk("spec", "--bundle", tmp_path, check=True)
    assert proc.stderr == ""
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["ociVersion"] == "1.3.0"
    assert config["root"]["path"] == "rootfs"
    assert config["process"]["args"]
    assert config["process"]["cwd"] == "/"
    types = {ns["type"] for ns in config["linux"]["namespaces"]}
    assert {"pid", "mount", "ipc", "uts"} <= types
    assert "user" not in types
    validator = helpers.load_schema_validator("config-schema.json")
    if validator is not None:
        validator.validate(config)


def test_spec_defaults_to_current_dir(husk, tmp_path):
    husk("spec", check=True, cwd=tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["ociVersion"] == "1.3.0"


def test_spec_refuses_to_overwrite(husk, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert_one_error_line(husk("spec", "--bundle", tmp_path), "config.json", "exists")
    assert (tmp_path / "config.json").read_text() == "{}"


def test_spec_rootless(husk, tmp_path):
    husk("spec", "--rootless", "--bundle", tmp_path, check=True)
    config = json.loads((tmp_path / "config.json").read_text())
    linux = config["linux"]
    assert "user" in {ns["type"] for ns in linux["namespaces"]}
    assert "network" not in {ns["type"] for ns in linux["namespaces"]}
    assert linux["uidMappings"] and linux["gidMappings"]
    assert linux["uidMappings"][0]["containerID"] == 0


def test_features(husk):
    features = json.loads(husk("features", check=True).stdout)
    assert features["ociVersionMin"] == "1.0.0"
    assert features["ociVersionMax"] == "1.3.0"
    assert {"createRuntime", "createContainer", "startContainer", "poststart",
            "poststop"} <= set(features["hooks"])
    assert {"ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec"} <= set(
        features["mountOptions"])
    linux = features["linux"]
    assert {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} <= set(
        linux["namespaces"])
    assert {"CAP_SYS_ADMIN", "CAP_KILL", "CAP_CHOWN"} <= set(linux["capabilities"])
    assert {"v1", "v2", "systemd"} <= set(linux["cgroup"])
    assert linux["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in linux["seccomp"]["actions"]
    for key in ("apparmor", "selinux", "intelRdt", "mountExtensions"):
        assert isinstance(linux[key], dict), key
    assert isinstance(features.get("annotations", {}), dict)
    validator = helpers.load_schema_validator("features-schema.json")
    if validator is not None:
        validator.validate(features)


# ------------------------------------------------------------------------- state / list


def test_state_unknown_id(husk, assert_clean):
    assert_one_error_line(husk("state", "no-such-container"),
                          'container "no-such-container" does not exist')
    assert_clean()


def test_list_empty(husk):
    table = husk("list", check=True).stdout.splitlines()
    assert len(table) == 1 and table[0].split() == ["ID", "PID", "STATUS", "BUNDLE",
                                                    "CREATED", "OWNER"]
    assert json.loads(husk("list", "--format", "json", check=True).stdout) == []
    assert husk("list", "-q", check=True).stdout == ""


def test_list_with_missing_root_is_empty(husk, tmp_path):
    proc = husk("list", "--format", "json", root=tmp_path / "does-not-exist", check=True)
    assert json.loads(proc.stdout) == []


# ------------------------------------------------------------------------- lifecycle

def without_home(env):
    """The environment minus HOME, which runtimes add (from /etc/passwd, like runc) when
    the config does not set it."""
    home = [e for e in env if e.startswith("HOME=")]
    assert home in ([], ["HOME=/root"]), home
    return [e for e in env if not e.startswith("HOME=")]


def sleeper(*extra):
    """A bundle process that stays up until it gets SIGTERM/SIGINT/SIGHUP/SIGUSR*
    (as pid 1 it has to handle them: the default action is ignored for init)."""
    return ["/bin/probe", "wait-signal", *extra]


def create_running(husk, bundle, cid, args=None):
    b = bundle(args=args or sleeper())
    husk("create", "--bundle", b, cid, check=True)
    husk("start", cid, check=True)
    assert wait_for_status(husk, cid, "running") == "running"
    return b


@pytest.mark.lifecycle
def test_run_reports_from_inside(run_probe, bundle):
    b = bundle()
    config = helpers.read_config(b)
    report = run_probe(b)
    assert report["pid"] == 1
    assert report["cwd"] == "/"
    assert report["args"] == ["/bin/probe"]
    assert report["uid"] == 0 and report["gid"] == 0
    assert report["hostname"] == config.get("hostname", report["hostname"])
    assert sorted(without_home(report["env"])) == sorted(config["process"]["env"])
    for ns in config["linux"]["namespaces"]:
        name = {"network": "net", "mount": "mnt"}.get(ns["type"], ns["type"])
        assert report["namespaces"][name] != os.readlink(f"/proc/self/ns/{name}"), name
    assert set(report["fds"]) == {"0", "1", "2"}


@pytest.mark.lifecycle
def test_run_exit_status(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    proc = husk("run", "--bundle", bundle(args=["/bin/probe", "exit", "3"]), cid)
    assert proc.returncode == 3, describe(proc)
    assert helpers.container_status(husk, cid) is None, "run must delete the container"
    assert_clean()


@pytest.mark.lifecycle
def test_run_killed_by_signal(husk, bundle, unique_id, assert_clean):
    # As pid 1 the probe cannot kill itself with a sent signal; SIGSEGV is a real fault.
    b = bundle(args=["/bin/probe", "signal-self", "SEGV"],
               config_mutator=lambda c: c["process"].setdefault("rlimits", []).append(
                   {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}))
    proc = husk("run", "--bundle", b, unique_id())
    assert proc.returncode == 128 + signal.SIGSEGV, describe(proc)
    assert_clean()


@pytest.mark.lifecycle
def test_run_passes_stdout_and_stderr(husk, bundle, unique_id):
    b = bundle(args=["/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 4"])
    proc = husk("run", "--bundle", b, unique_id())
    assert proc.returncode == 4, describe(proc)
    assert proc.stdout == "to-out\n"
    assert proc.stderr == "to-err\n"


@pytest.mark.lifecycle
def test_create_start_state_delete(husk, bundle, unique_id, tmp_path, assert_clean):
    cid = unique_id()
    b = bundle(args=sleeper())
    pid_file = tmp_path / "pid"
    proc = husk("create", "--bundle", b, "--pid-file", pid_file, cid, check=True)
    assert proc.stdout == ""

    state = json.loads(husk("state", cid, check=True).stdout)
    assert state["id"] == cid
    assert state["status"] == "created"
    assert state["bundle"] == str(b)
    assert state["ociVersion"] == "1.3.0"
    assert state["pid"] > 0 and Path(f"/proc/{state['pid']}").exists()
    assert int(pid_file.read_text()) == state["pid"]
    validator = helpers.load_schema_validator("state-schema.json")
    if validator is not None:
        validator.validate(state)

    husk("start", cid, check=True)
    assert wait_for_status(husk, cid, "running") == "running"
    assert json.loads(husk("state", cid, check=True).stdout)["pid"] == state["pid"]

    husk("kill", cid, "KILL", check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)
    assert_one_error_line(husk("state", cid), "does not exist")
    assert_clean()


@pytest.mark.lifecycle
def test_list_and_ps_show_container(husk, bundle, unique_id):
    cid = unique_id()
    b = create_running(husk, bundle, cid)
    pid = json.loads(husk("state", cid, check=True).stdout)["pid"]

    rows = husk("list", check=True).stdout.splitlines()
    assert rows[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert rows[1].split()[:4] == [cid, str(pid), "running", str(b)]
    assert husk("list", "-q", check=True).stdout == cid + "\n"
    listed = json.loads(husk("list", "--format", "json", check=True).stdout)
    assert [(c["id"], c["status"], c["pid"]) for c in listed] == [(cid, "running", pid)]

    assert json.loads(husk("ps", "--format", "json", cid, check=True).stdout) == [pid]
    husk("delete", "--force", cid, check=True)


@pytest.mark.lifecycle
@pytest.mark.parametrize("sig", [None, "TERM", "SIGUSR1", "10", "SIGHUP"])
def test_kill_delivers_signal(husk, bundle, unique_id, sig):
    """wait-signal exits once it receives a signal: the container stopping proves delivery
    (pid 1 with a default action would ignore it)."""
    cid = unique_id()
    create_running(husk, bundle, cid)
    husk("kill", cid, *([sig] if sig else []), check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)


@pytest.mark.lifecycle
def test_kill_bad_signal(husk, bundle, unique_id):
    cid = unique_id()
    create_running(husk, bundle, cid)
    assert_one_error_line(husk("kill", cid, "NOTASIGNAL"), "NOTASIGNAL")
    assert helpers.container_status(husk, cid) == "running"
    husk("delete", "--force", cid, check=True)


@pytest.mark.lifecycle
def test_delete_running_needs_force(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    create_running(husk, bundle, cid)
    proc = husk("delete", cid)
    assert_one_error_line(proc, cid)
    assert helpers.container_status(husk, cid) == "running"
    husk("delete", "--force", cid, check=True)
    assert helpers.container_status(husk, cid) is None
    assert_clean()


@pytest.mark.lifecycle
def test_delete_created_container(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    husk("create", "--bundle", bundle(args=sleeper()), cid, check=True)
    husk("delete", "--force", cid, check=True)
    assert helpers.container_status(husk, cid) is None
    assert_clean()


@pytest.mark.lifecycle
def test_start_twice_fails(husk, bundle, unique_id):
    cid = unique_id()
    create_running(husk, bundle, cid)
    assert_one_error_line(husk("start", cid), cid)
    husk("delete", "--force", cid, check=True)


@pytest.mark.lifecycle
def test_run_detach(husk, bundle, unique_id, tmp_path):
    cid = unique_id()
    pid_file = tmp_path / "pid"
    husk("run", "--detach", "--pid-file", pid_file, "--bundle", bundle(args=sleeper()), cid,
         check=True, timeout=15)
    assert helpers.container_status(husk, cid) == "running"
    assert int(pid_file.read_text()) == json.loads(husk("state", cid).stdout)["pid"]
    husk("kill", cid, "KILL", check=True)
    assert wait_for_status(husk, cid, "stopped") == "stopped"
    husk("delete", cid, check=True)


@pytest.mark.lifecycle
def test_exec_joins_the_container(husk, bundle, unique_id):
    cid = unique_id()
    create_running(husk, bundle, cid)
    init = json.loads(husk("state", cid, check=True).stdout)["pid"]
    proc = husk("exec", cid, "/bin/probe", check=True)
    report = helpers.parse_json_output(proc.stdout)
    assert report["pid"] != 1
    for name in ("pid", "mnt", "ipc", "uts", "net"):
        assert report["namespaces"][name] == os.readlink(f"/proc/{init}/ns/{name}"), name
    husk("delete", "--force", cid, check=True)


@pytest.mark.lifecycle
def test_exec_options(husk, bundle, unique_id):
    cid = unique_id()
    create_running(husk, bundle, cid)
    proc = husk("exec", "--cwd", "/tmp", "--env", "HUSK_TEST=yes", "--user", "1000:1000", cid,
                "/bin/probe", check=True)
    report = helpers.parse_json_output(proc.stdout)
    assert report["cwd"] == "/tmp"
    assert "HUSK_TEST=yes" in report["env"]
    assert (report["uid"], report["gid"]) == (1000, 1000)
    proc = husk("exec", cid, "/bin/probe", "exit", "5")
    assert proc.returncode == 5, describe(proc)
    husk("delete", "--force", cid, check=True)


@pytest.mark.lifecycle
def test_exec_process_file(husk, bundle, unique_id, tmp_path):
    cid = unique_id()
    create_running(husk, bundle, cid)
    process = {"terminal": False, "user": {"uid": 0, "gid": 0}, "cwd": "/",
               "args": ["/bin/probe", "report", "from-file"], "env": ["A=b"]}
    (tmp_path / "process.json").write_text(json.dumps(process))
    proc = husk("exec", "--process", tmp_path / "process.json", cid, check=True)
    report = helpers.parse_json_output(proc.stdout)
    assert report["args"] == process["args"]
    assert without_home(report["env"]) == ["A=b"]
    husk("delete", "--force", cid, check=True)


@pytest.mark.lifecycle
def test_harness_sees_leftovers(husk, bundle, unique_id, leftovers, root_dir):
    """The leftover check itself must be able to fail: a created container is found (its
    state dir and its process), and is gone after delete --force."""
    cid = unique_id()
    husk("create", "--bundle", bundle(args=sleeper()), cid, check=True)
    pid = json.loads(husk("state", cid, check=True).stdout)["pid"]
    found = leftovers()
    assert f"state dir {root_dir / cid}" in found
    assert any(item.startswith(f"process {pid} ") for item in found), found
    husk("delete", "--force", cid, check=True)
    assert leftovers() == []
