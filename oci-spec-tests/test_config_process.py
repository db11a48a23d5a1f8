"""config.md "Process", "POSIX process", "Linux Process" and "User": what the container
process sees, reported from inside by /bin/ocitest-probe."""

import os

import pytest

import ocitest
from ocitest import cap_mask, cap_names


def set_process(**fields):
    def mutate(config):
        config["process"].update(fields)
    return mutate


def set_user(**fields):
    def mutate(config):
        config["process"]["user"].update(fields)
    return mutate


def test_args(oci):
    """config.md: "`args` (array of strings, OPTIONAL) with similar semantics to IEEE Std
    1003.1-2008 `execvp`'s *argv*." -- argv arrives verbatim, spaces and empty strings
    included."""
    report = oci.run_probe(args=("report", "two words", "", "--x=y"))
    assert report["args"] == ["/bin/ocitest-probe", "report", "two words", "", "--x=y"]


def test_args_first_entry_searched_in_path(oci):
    """config.md: "that entry is used with the same semantics as `execvp`'s *file*." -- a
    bare name is looked up in the PATH of process.env."""
    res = oci.run_ok(oci.bundle(["ocitest-probe", "report"]))
    assert '"args":["ocitest-probe","report"]' in res.stdout


def test_env(oci):
    """config.md: "`env` (array of strings, OPTIONAL) with the same semantics as IEEE Std
    1003.1-2008's `environ`." -- every entry is in the process environment, unchanged."""
    env = [ocitest.PATH_ENV, "HOME=/root", "OCITEST_A=1", "OCITEST_SPACES=a b  c",
           "OCITEST_EMPTY=", "OCITEST_EQ=x=y"]
    report = oci.run_probe(set_process(env=env))
    for entry in env:
        assert entry in report["env"], (entry, report["env"])


def test_cwd(oci):
    """config.md: "`cwd` (string, REQUIRED) is the working directory that will be set for
    the executable.\""""
    report = oci.run_probe(set_process(cwd="/home/test"))
    assert report["cwd"] == "/home/test"


def test_user_uid_gid(oci):
    """config.md: "`uid` (int, REQUIRED) specifies the user ID in the container namespace."
    and "`gid` (int, REQUIRED) specifies the group ID in the container namespace.\""""
    report = oci.run_probe(set_user(uid=1000, gid=1001))
    assert (report["uid"], report["euid"]) == (1000, 1000)
    assert (report["gid"], report["egid"]) == (1001, 1001)


def test_user_additional_gids(oci):
    """config.md: "`additionalGids` (array of ints, OPTIONAL) specifies additional group
    IDs in the container namespace to be added to the process.\""""
    report = oci.run_probe(set_user(uid=1000, gid=1000, additionalGids=[10, 20, 2000]))
    assert {10, 20, 2000} <= set(report["groups"]) <= {10, 20, 2000, 1000}


def test_user_without_additional_gids_has_no_host_groups(oci):
    """config.md: "`additionalGids` ... specifies additional group IDs ... to be added to
    the process." -- without it, no supplementary group of the runtime leaks in."""
    def as_root_with_groups():
        os.setgroups([4, 27])
    b = oci.bundle(["/bin/ocitest-probe", "report"], set_user(uid=1000, gid=1000))
    res = oci.rt.run(b.path, b.cid, preexec_fn=as_root_with_groups)
    assert res.ok, res
    groups = set(ocitest.probe_json(res)["groups"])
    assert groups <= {1000}, f"supplementary groups leaked into the container: {groups}"


def test_umask(oci):
    """config.md: "`umask` (int, OPTIONAL) specifies the umask of the user.\""""
    report = oci.run_probe(set_user(umask=0o027))
    assert report["umask"] == 0o027


def test_umask_unset_is_inherited(oci):
    """config.md: "If unspecified, the umask should not be changed from the calling
    process' umask." -- the runtime is started with umask 0077."""
    def with_umask():
        os.umask(0o077)
    b = oci.bundle(["/bin/ocitest-probe", "report"])
    res = oci.rt.run(b.path, b.cid, preexec_fn=with_umask)
    assert res.ok, res
    assert ocitest.probe_json(res)["umask"] == 0o077


def test_rlimits(oci):
    """config.md: "`rlim.rlim_cur` MUST match the configured value." and "`rlim.rlim_max`
    MUST match the configured value.\""""
    limits = [{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
              {"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192},
              {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
              {"type": "RLIMIT_MSGQUEUE", "soft": 100000, "hard": 200000}]
    report = oci.run_probe(set_process(rlimits=limits))
    for lim in limits:
        assert report["rlimits"][lim["type"]] == {"soft": lim["soft"], "hard": lim["hard"]}


def test_rlimit_unknown_type_errors(oci, rt):
    """config.md: "The runtime MUST generate an error for any values which cannot be
    mapped to a relevant kernel interface.\""""
    b = oci.bundle(mutate=set_process(rlimits=[{"type": "RLIMIT_OCITEST", "soft": 1,
                                                "hard": 1}]))
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)


def test_rlimit_duplicate_type_errors(oci, rt):
    """config.md: "If `rlimits` contains duplicated entries with same `type`, the runtime
    MUST generate an error.\""""
    b = oci.bundle(mutate=set_process(rlimits=[
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
        {"type": "RLIMIT_NOFILE", "soft": 300, "hard": 400}]))
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)


def caps(**sets):
    return set_process(capabilities=sets)


def test_capabilities_bounding(oci):
    """config.md: "`bounding` (array of strings, OPTIONAL) the `bounding` field is an
    array of bounding capabilities that are kept for the process.\""""
    wanted = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    report = oci.run_probe(caps(bounding=wanted, effective=wanted, permitted=wanted))
    assert cap_names(report["status"]["CapBnd"]) == sorted(wanted)


def test_capabilities_root_gets_no_more_than_configured(oci):
    """config.md: "`effective` ... `permitted` (array of strings, OPTIONAL) ... capabilities
    that are kept for the process." -- root's effective and permitted sets after execve are
    exactly what was configured (the kernel grants root its bounding set)."""
    wanted = ["CAP_CHOWN", "CAP_KILL"]
    report = oci.run_probe(caps(bounding=wanted, effective=wanted, permitted=wanted))
    assert cap_names(report["status"]["CapEff"]) == sorted(wanted)
    assert cap_names(report["status"]["CapPrm"]) == sorted(wanted)


def test_capabilities_inheritable(oci):
    """config.md: "`inheritable` (array of strings, OPTIONAL) the `inheritable` field is an
    array of inheritable capabilities that are kept for the process.\""""
    wanted = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    report = oci.run_probe(lambda c: (
        set_user(uid=1000, gid=1000)(c),
        caps(bounding=wanted, permitted=wanted, inheritable=wanted)(c)))
    assert cap_names(report["status"]["CapInh"]) == sorted(wanted)


def test_capabilities_ambient(oci):
    """config.md: "`ambient` (array of strings, OPTIONAL) the `ambient` field is an array
    of ambient capabilities that are kept for the process." -- a non-root process keeps
    them across execve, in its ambient, permitted and effective sets."""
    wanted = ["CAP_NET_BIND_SERVICE"]
    both = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    report = oci.run_probe(lambda c: (
        set_user(uid=1000, gid=1000)(c),
        caps(bounding=both, permitted=both, effective=both, inheritable=both,
             ambient=wanted)(c)))
    status = report["status"]
    assert cap_names(status["CapAmb"]) == wanted
    assert cap_names(status["CapPrm"]) == wanted
    assert cap_names(status["CapEff"]) == wanted


def test_capabilities_non_root_without_ambient_has_none(oci):
    """config.md: "`effective` ... `permitted` ... capabilities that are kept for the
    process." -- with no ambient set, a non-root program has no capability after execve
    (nothing is leaked through ambient)."""
    both = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    report = oci.run_probe(lambda c: (
        set_user(uid=1000, gid=1000)(c),
        caps(bounding=both, permitted=both, effective=both)(c)))
    status = report["status"]
    assert int(status["CapEff"], 16) == 0 and int(status["CapAmb"], 16) == 0


def test_capabilities_unknown_name_is_a_warning(oci):
    """config.md: "Any value which cannot be mapped to a relevant kernel interface, or
    cannot be granted otherwise MUST be logged as a warning by the runtime." -- a warning,
    so the container still runs (runtime.md: "it MUST continue as if the warning had not
    been logged")."""
    wanted = ["CAP_CHOWN", "CAP_OCITEST_UNKNOWN"]
    report = oci.run_probe(caps(bounding=wanted, effective=wanted, permitted=wanted))
    assert cap_names(report["status"]["CapBnd"]) == ["CAP_CHOWN"]


def test_capabilities_not_grantable_do_not_fail(oci):
    """config.md: "Runtimes SHOULD NOT fail if the container configuration requests
    capabilities that cannot be granted" -- this host's root lacks CAP_SYS_RESOURCE."""
    host_bnd = int(open("/proc/self/status").read().split("CapBnd:")[1].split()[0], 16)
    if host_bnd & cap_mask(["CAP_SYS_RESOURCE"]):
        pytest.skip("the host grants CAP_SYS_RESOURCE, so no capability is ungrantable")
    wanted = ["CAP_CHOWN", "CAP_SYS_RESOURCE"]
    report = oci.run_probe(caps(bounding=wanted, effective=wanted, permitted=wanted))
    assert "CAP_CHOWN" in cap_names(report["status"]["CapBnd"])


@pytest.mark.parametrize("value,expected", [(True, 1), (False, 0)])
def test_no_new_privileges(oci, value, expected):
    """config.md: "`noNewPrivileges` (bool, OPTIONAL) setting `noNewPrivileges` to true
    prevents the process from gaining additional privileges.\""""
    report = oci.run_probe(set_process(noNewPrivileges=value))
    assert report["no_new_privs"] == expected
    assert report["status"]["NoNewPrivs"] == str(expected)


def test_terminal_false_no_tty(oci):
    """config.md: "`terminal` (bool, OPTIONAL) specifies whether a terminal is attached to
    the process, defaults to false." -- false: none of stdin/stdout/stderr is a tty."""
    report = oci.run_probe(set_process(terminal=False))
    assert report["isatty"] == [0, 0, 0]


def test_console_size_ignored_without_terminal(oci):
    """config.md: "Runtimes MUST ignore `consoleSize` if `terminal` is `false` or unset.\""""
    report = oci.run_probe(set_process(terminal=False, consoleSize={"height": 25,
                                                                     "width": 80}))
    assert report["isatty"] == [0, 0, 0]


def test_oom_score_adj(oci):
    """config.md: "If `oomScoreAdj` is set, the runtime MUST set `oom_score_adj` to the
    given value.\""""
    report = oci.run_probe(set_process(oomScoreAdj=123))
    assert report["oom_score_adj"] == "123"


def test_oom_score_adj_unset_unchanged(oci):
    """config.md: "If `oomScoreAdj` is not set, the runtime MUST NOT change the value of
    `oom_score_adj`." -- the runtime is started with oom_score_adj 17."""
    def with_oom_score():
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("17")
    b = oci.bundle(["/bin/ocitest-probe", "report"])
    res = oci.rt.run(b.path, b.cid, preexec_fn=with_oom_score)
    assert res.ok, res
    assert ocitest.probe_json(res)["oom_score_adj"] == "17"


def test_cwd_relative_errors(oci, rt):
    """config.md: "`cwd` ... This value MUST be an absolute path." -- config.md: "Runtimes
    MUST generate an error when invalid or unsupported values are encountered.\""""
    b = oci.bundle(mutate=set_process(cwd="tmp"))
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)


def test_args_empty_errors(oci, rt):
    """config.md: "This specification extends the IEEE standard in that at least one entry
    is REQUIRED (non-Windows)" -- an empty args array is an error at create or start."""
    b = oci.bundle(mutate=set_process(args=[]))
    res = rt.create(b.path, b.cid)
    if res.ok:
        res = rt.start(b.cid)
        assert not res.ok, f"start with empty process.args succeeded\n{res}"
    else:
        oci.assert_gone(b.cid)
