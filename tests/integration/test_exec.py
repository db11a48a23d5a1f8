"""`husk exec`: a new process in every namespace and the cgroup of a running container."""

import json
import subprocess

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line

EXEC_NS = ["cgroup", "ipc", "mnt", "net", "pid", "uts"]


@pytest.fixture
def running(husk, bundle, unique_id):
    """A running container (probe sleep inf as init); returns (id, state)."""
    cid = unique_id()
    st = lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    yield cid, st
    husk("delete", "--force", cid)


def exec_probe(husk, cid, *args, expect=0, exec_opts=()):
    proc = husk("exec", *exec_opts, cid, "/bin/probe", *args)
    assert proc.returncode == expect, helpers.describe(proc)
    return helpers.parse_json_output(proc.stdout)


def test_exec_joins_namespaces_and_cgroup(husk, running):
    cid, st = running
    report = exec_probe(husk, cid)
    for ns in EXEC_NS:
        assert report["namespaces"][ns] == lh.host_ns(ns, st["pid"]), ns
    assert report["namespaces"]["user"] == lh.host_ns("user", st["pid"])
    assert report["pid"] != 1 and report["ppid"] == 0, "exec'd process is in the pid ns"
    # /proc/self/cgroup of a process in a cgroup namespace is relative to its root: compare
    # against what the init sees from inside its namespace, i.e. the same view.
    init_view = exec_probe(husk, cid, "read", "/proc/1/cgroup")
    assert init_view["ok"], init_view
    assert sorted(report["cgroup"]) == sorted(init_view["content"].splitlines())


def test_exec_detached_same_cgroup_from_host(husk, running, tmp_path):
    cid, st = running
    pid_file = tmp_path / "exec.pid"
    proc = husk("exec", "--detach", "--pid-file", pid_file, cid, "/bin/probe", "sleep", "30")
    assert proc.returncode == 0, helpers.describe(proc)
    pid = int(pid_file.read_text().strip())
    assert lh.pid_alive(pid)
    assert lh.proc_cgroup(pid) == lh.proc_cgroup(st["pid"])
    for ns in EXEC_NS:
        assert lh.host_ns(ns, pid) == lh.host_ns(ns, st["pid"]), ns
    ps = json.loads(husk("ps", "--format", "json", cid, check=True).stdout)
    assert sorted(ps) == sorted([st["pid"], pid])


def test_exec_env_cwd_user(husk, running):
    cid, _ = running
    report = exec_probe(husk, cid, exec_opts=["--env", "LT_A=1", "-e", "LT_B=two words",
                                              "--cwd", "/home/test", "--user", "1000:1001"])
    assert "LT_A=1" in report["env"] and "LT_B=two words" in report["env"]
    assert any(e.startswith("PATH=") for e in report["env"]), "config env is inherited"
    assert report["cwd"] == "/home/test"
    assert (report["uid"], report["gid"]) == (1000, 1001)
    assert report["groups"] == []


def test_exec_inherits_process_config(husk, running):
    cid, st = running
    init = exec_probe(husk, cid, "read", "/proc/1/status")
    report = exec_probe(husk, cid)
    # Same capabilities and no_new_privs as the container's process config.
    assert "\nCapEff:\t" + report["cap_eff"] in init["content"]
    assert "\nCapBnd:\t" + report["cap_bnd"] in init["content"]
    assert report["no_new_privs"] == 1


def test_exec_cap_added_but_not_inheritable(husk, running):
    cid, _ = running
    base = exec_probe(husk, cid)
    report = exec_probe(husk, cid, exec_opts=["--cap", "CAP_SYS_ADMIN"])
    bit = lh.cap_mask(["CAP_SYS_ADMIN"])
    for key in ("cap_eff", "cap_prm", "cap_bnd"):
        assert int(report[key], 16) == int(base[key], 16) | bit, key
    assert int(report["cap_inh"], 16) & bit == 0
    assert int(report["cap_amb"], 16) & bit == 0


def test_exec_exit_code_passthrough(husk, running):
    cid, _ = running
    proc = husk("exec", cid, "/bin/probe", "exit", "42")
    assert proc.returncode == 42, helpers.describe(proc)
    proc = husk("exec", cid, "/bin/probe", "signal-self", "TERM")
    assert proc.returncode == 128 + 15, helpers.describe(proc)


def test_exec_process_file(husk, running, tmp_path):
    cid, _ = running
    process = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
        "args": ["/bin/probe", "report", "from-file"],
        "env": ["PATH=/bin", "LT_FILE=yes"],
        "cwd": "/tmp",
        "noNewPrivileges": True,
        "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 333, "hard": 444}],
    }
    path = tmp_path / "process.json"
    path.write_text(json.dumps(process))
    proc = husk("exec", "--process", path, cid)
    assert proc.returncode == 0, helpers.describe(proc)
    report = helpers.parse_json_output(proc.stdout)
    assert report["args"] == ["/bin/probe", "report", "from-file"]
    assert "LT_FILE=yes" in report["env"]
    assert report["cwd"] == "/tmp"
    assert (report["uid"], report["gid"], report["groups"]) == (1000, 1000, [5])
    assert report["rlimits"]["RLIMIT_NOFILE"] == {"soft": 333, "hard": 444}


def test_exec_bad_process_file(husk, running, tmp_path):
    cid, _ = running
    path = tmp_path / "process.json"
    path.write_text('{"args": "not-a-list", "cwd": "/"}')
    assert_one_error_line(husk("exec", "--process", path, cid), "args")


def test_exec_tty(husk_bin, root_dir, running, tracker):
    cid, _ = running
    cmd = f"{husk_bin} --root {root_dir} exec --tty {cid} /bin/probe"
    # script's stdin stays open until the end: at EOF script types the EOF character into
    # the terminal, and the container's tty would echo it into the output.
    with subprocess.Popen(["script", "-qec", cmd, "/dev/null"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        out = p.stdout.read()
        err = p.stderr.read()
        p.wait(timeout=30)
    proc = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    assert proc.returncode == 0, helpers.describe(proc)
    # script(1) may echo control characters before the output: parse from the first brace.
    text = proc.stdout.replace("\r", "")
    report = helpers.parse_json_output(text[text.index("{"):])
    term = report["terminal"]
    assert term["stdin"] and term["stdout"] and term["stderr"], term
    assert term["ttyname"].startswith("/dev/pts/"), term


def test_exec_missing_executable(husk, running):
    cid, _ = running
    proc = husk("exec", cid, "no-such-program")
    assert_one_error_line(proc, "no-such-program")


def test_exec_into_stopped_container(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    lh.run_detached(husk, bundle(args=["/bin/probe", "exit", "0"]), cid)
    assert helpers.wait_for_status(husk, cid, "stopped") == "stopped"
    assert_one_error_line(husk("exec", cid, "/bin/probe"), cid)
    husk("delete", cid, check=True)
    assert_clean()


def test_exec_into_created_container(husk, bundle, unique_id, assert_clean):
    cid = unique_id()
    husk("create", "--bundle", bundle(args=["/bin/probe", "sleep", "inf"]), cid, check=True)
    proc = husk("exec", cid, "/bin/probe", "exit", "0")
    # runc allows exec into a created container; either it works or it is refused cleanly.
    if proc.returncode != 0:
        assert_one_error_line(proc, cid)
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_exec_unknown_container(husk, assert_clean):
    assert_one_error_line(husk("exec", "no-such-container", "/bin/probe"), "no-such-container")
    assert_clean()


def test_exec_joins_user_and_time_namespaces(husk, bundle, tmp_path, unique_id, assert_clean):
    """setns into a time namespace only applies to children, and a user namespace must be
    joined first: exec has to get both right."""
    lh.make_traversable(tmp_path)

    def mutate(config):
        lh.ensure_namespace(config, "user")
        lh.ensure_namespace(config, "time")
        mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        config["linux"]["uidMappings"] = mapping
        config["linux"]["gidMappings"] = mapping
        config["linux"]["timeOffsets"] = {"boottime": {"secs": 3_000_000, "nanosecs": 0}}
    cid = unique_id()
    st = lh.run_detached(husk, bundle(mutate, args=["/bin/probe", "sleep", "inf"]), cid)
    report = exec_probe(husk, cid)
    for ns in EXEC_NS + ["user", "time"]:
        assert report["namespaces"][ns] == lh.host_ns(ns, st["pid"]), ns
    assert [int(x) for x in report["uid_map"].split()] == [0, 100000, 65536]
    assert report["uid"] == 0
    uptime = exec_probe(husk, cid, "read", "/proc/uptime")
    assert float(uptime["content"].split()[0]) > 3_000_000, uptime
    husk("delete", "--force", cid, check=True)
    assert_clean()


def test_exec_process_has_only_stdio(husk, running):
    cid, _ = running
    report = exec_probe(husk, cid)
    assert sorted(report["fds"]) == ["0", "1", "2"], report["fds"]


def test_exec_process_leads_its_own_session(husk, bundle, unique_id, assert_clean):
    """Without a terminal the exec'd process gets its own session (as the init and runc's
    exec'd processes do), not the caller's, which lies outside the container."""
    cid = unique_id()
    lh.run_detached(husk, bundle(args=["/bin/probe", "sleep", "inf"]), cid)
    proc = husk("exec", cid, "/bin/sh", "-c", "cat /proc/$$/stat", check=True)
    fields = proc.stdout[proc.stdout.rindex(")") + 2:].split()
    pid = int(proc.stdout.split()[0])
    assert int(fields[3]) == pid, proc.stdout
    husk("delete", "--force", cid, check=True)
    assert_clean()

