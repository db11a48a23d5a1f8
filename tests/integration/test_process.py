"""The `process` object of config.md: args, env, cwd, user, rlimits, no_new_privs,
capabilities, oomScoreAdj, scheduler, ioPriority, personality, as the probe sees them."""

import os

import pytest

import helpers
import lifecycle_helpers as lh
from helpers import assert_one_error_line


def refuse(husk, b, cid, *words):
    proc = husk("create", "--bundle", b, cid, timeout=20)
    line = assert_one_error_line(proc, *words)
    assert helpers.container_status(husk, cid) is None, f"{cid} exists after: {line}"
    return line


def test_args_and_env(run_probe, bundle, assert_clean):
    def mutate(config):
        config["process"]["env"] = ["PATH=/bin:/usr/bin", "LT_ONE=1", "LT_SPACES=a b  c",
                                    "LT_EMPTY="]
    report = run_probe(bundle(mutate, args=["/bin/probe", "report", "x y", ""]))
    assert report["args"] == ["/bin/probe", "report", "x y", ""]
    env = report["env"]
    for var in ("PATH=/bin:/usr/bin", "LT_ONE=1", "LT_SPACES=a b  c", "LT_EMPTY="):
        assert var in env, env
    # Only the configured environment (and what the spec lets the runtime add).
    extra = {e.split("=", 1)[0] for e in env} - {"PATH", "LT_ONE", "LT_SPACES", "LT_EMPTY",
                                                 "HOME", "TERM", "container"}
    assert not extra, f"unexpected variables from the runtime's environment: {extra}"
    assert_clean()


def test_args_resolved_through_path(run_probe, bundle, assert_clean):
    def mutate(config):
        config["process"]["env"] = ["PATH=/usr/local/bin:/bin"]
    report = run_probe(bundle(mutate, args=["probe"]))
    assert report["args"][0] == "probe"
    assert_clean()


def test_cwd(run_probe, bundle, assert_clean):
    report = run_probe(bundle(lambda c: c["process"].update(cwd="/home/test")))
    assert report["cwd"] == "/home/test"
    assert_clean()


def test_missing_cwd_is_created(run_probe, bundle, assert_clean):
    report = run_probe(bundle(lambda c: c["process"].update(cwd="/no/such/dir")))
    assert report["cwd"] == "/no/such/dir"
    assert_clean()


def test_relative_cwd_refused(husk, bundle, unique_id, assert_clean):
    refuse(husk, bundle(lambda c: c["process"].update(cwd="home/test")), unique_id(),
           "process.cwd")
    assert_clean()


def test_user_groups_umask(run_probe, bundle, assert_clean):
    def mutate(config):
        config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7, 1002],
                                     "umask": 0o027}
    report = run_probe(bundle(mutate))
    for key in ("uid", "euid", "suid", "fsuid"):
        assert report[key] == 1000, key
    for key in ("gid", "egid", "sgid", "fsgid"):
        assert report[key] == 1001, key
    assert sorted(report["groups"]) == [5, 7, 1002]
    assert report["umask"] == "0027"
    assert_clean()


def test_default_umask_and_no_groups(run_probe, bundle, assert_clean):
    report = run_probe(bundle(lambda c: c["process"].update(user={"uid": 1000, "gid": 1000})))
    assert report["uid"] == 1000 and report["gid"] == 1000
    assert report["groups"] == [], "supplementary groups leaked from the runtime"
    assert report["umask"] == "0022"
    # A non-root user keeps no capabilities in its effective/permitted sets.
    assert int(report["cap_eff"], 16) == 0 and int(report["cap_prm"], 16) == 0
    assert_clean()


def test_rlimits(run_probe, bundle, assert_clean):
    def mutate(config):
        config["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
            {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        ]
    report = run_probe(bundle(mutate))
    assert report["rlimits"]["RLIMIT_NOFILE"] == {"soft": 1000, "hard": 2000}
    assert report["rlimits"]["RLIMIT_CORE"] == {"soft": 0, "hard": 4096}
    assert report["rlimits"]["RLIMIT_NPROC"] == {"soft": 300, "hard": 400}
    assert_clean()


def test_rlimit_above_hard_limit_fails(husk, bundle, unique_id, assert_clean):
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no finite nofile hard limit to exceed")

    def mutate(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1000,
                                         "hard": hard + 1000}]
    # Root here lacks CAP_SYS_RESOURCE, so raising the hard limit must fail at create.
    line = refuse(husk, bundle(mutate), unique_id(), "setrlimit")
    assert "RLIMIT_NOFILE" in line, line
    assert_clean()


def test_unknown_rlimit_refused(husk, bundle, unique_id, assert_clean):
    def mutate(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    refuse(husk, bundle(mutate), unique_id(), "RLIMIT_BOGUS")
    assert_clean()


@pytest.mark.parametrize("value", [True, False])
def test_no_new_privileges(run_probe, bundle, assert_clean, value):
    report = run_probe(bundle(lambda c: c["process"].update(noNewPrivileges=value)))
    assert report["no_new_privs"] == (1 if value else 0)
    assert_clean()


def test_capabilities_all_five_sets(run_probe, bundle, assert_clean):
    caps = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SETPCAP",
                     "CAP_NET_RAW", "CAP_BPF"],
        "effective": ["CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_BPF"],
        "permitted": ["CAP_KILL", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_BPF"],
        "inheritable": ["CAP_NET_RAW", "CAP_KILL"],
        "ambient": ["CAP_NET_RAW", "CAP_KILL"],
    }
    report = run_probe(bundle(lambda c: c["process"].update(capabilities=caps)))
    # A consistent set (ambient within permitted, inheritable and effective): what the
    # kernel leaves after execve must be exactly what was configured.
    assert int(report["cap_bnd"], 16) == lh.cap_mask(caps["bounding"])
    assert int(report["cap_inh"], 16) == lh.cap_mask(caps["inheritable"])
    assert int(report["cap_amb"], 16) == lh.cap_mask(caps["ambient"])
    assert int(report["cap_prm"], 16) == lh.cap_mask(caps["permitted"])
    assert int(report["cap_eff"], 16) == lh.cap_mask(caps["effective"])
    assert_clean()


def test_capabilities_non_root_with_ambient(run_probe, bundle, assert_clean):
    caps = {name: ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
            for name in ("bounding", "effective", "permitted", "inheritable", "ambient")}

    def mutate(config):
        config["process"]["capabilities"] = caps
        config["process"]["user"] = {"uid": 1000, "gid": 1000}
    report = run_probe(bundle(mutate))
    want = lh.cap_mask(["CAP_NET_BIND_SERVICE", "CAP_KILL"])
    for key in ("cap_bnd", "cap_inh", "cap_amb", "cap_prm", "cap_eff"):
        assert int(report[key], 16) == want, (key, report[key])
    assert report["uid"] == 1000
    assert_clean()


def test_no_capabilities_object_means_none(run_probe, bundle, assert_clean):
    def mutate(config):
        del config["process"]["capabilities"]
    report = run_probe(bundle(mutate))
    for key in ("cap_inh", "cap_amb", "cap_prm", "cap_eff"):
        assert int(report[key], 16) == 0, (key, report[key])
    assert_clean()


def test_unknown_capability_warns(run_probe, husk, bundle, unique_id, assert_clean):
    """config.md: an unmappable capability MUST be logged as a warning; the runtime SHOULD
    NOT fail. The rest of the set is applied as configured."""
    def mutate(config):
        config["process"]["capabilities"]["effective"].append("CAP_BOGUS")
    proc = husk("run", "--bundle", bundle(mutate), unique_id())
    assert proc.returncode == 0, helpers.describe(proc)
    assert "warning" in proc.stderr and "process.capabilities.effective" in proc.stderr
    assert "CAP_BOGUS" in proc.stderr
    assert_clean()


def test_oom_score_adj(run_probe, bundle, assert_clean):
    report = run_probe(bundle(lambda c: c["process"].update(oomScoreAdj=500)))
    assert report["oom_score_adj"] == 500
    assert_clean()


def test_scheduler_batch_and_nice(run_probe, bundle, assert_clean):
    def mutate(config):
        config["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
    report = run_probe(bundle(mutate))
    assert report["sched_policy"] == os.SCHED_BATCH
    assert report["nice"] == 7
    assert_clean()


def test_io_priority(run_probe, bundle, assert_clean):
    def mutate(config):
        config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    report = run_probe(bundle(mutate))
    assert report["ioprio_class"] == 2 and report["ioprio_level"] == 6, report["ioprio"]
    assert_clean()


def test_personality_linux32(run_probe, bundle, assert_clean):
    def mutate(config):
        config["linux"]["personality"] = {"domain": "LINUX32"}
    report = run_probe(bundle(mutate))
    assert report["personality"] & 0xff == 0x0008, hex(report["personality"])
    assert_clean()


def test_executable_not_found(husk, bundle, unique_id, assert_clean):
    b = bundle(args=["no-such-program", "arg"])
    refuse(husk, b, unique_id(), "no-such-program", "executable file not found in $PATH")
    assert_clean()


def test_executable_absolute_missing(husk, bundle, unique_id, assert_clean):
    refuse(husk, bundle(args=["/bin/no-such-program"]), unique_id(), "/bin/no-such-program")
    assert_clean()


def test_executable_not_executable(husk, bundle, unique_id, assert_clean):
    refuse(husk, bundle(args=["/etc/passwd"]), unique_id(), "/etc/passwd")
    assert_clean()


def test_run_executable_not_found(husk, bundle, unique_id, assert_clean):
    proc = husk("run", "--bundle", bundle(args=["no-such-program"]), unique_id())
    assert_one_error_line(proc, "no-such-program")
    assert_clean()


def test_only_stdio_is_inherited(run_probe, bundle, assert_clean):
    report = run_probe(bundle())
    assert sorted(report["fds"]) == ["0", "1", "2"], report["fds"]
    assert_clean()
