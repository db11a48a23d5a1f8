"""Invalid configurations (config.md "Valid values", runtime.md "Errors"): create MUST
generate an error and leave the environment "as if the operation were never attempted"
-- no state, no list entry, no cgroup; and unknown properties MUST be ignored."""

import json

import pytest


def create_must_fail(oci, rt, mutate=None, raw=None):
    b = oci.bundle(mutate=mutate)
    if raw is not None:
        (b.path / "config.json").write_text(raw)
    res = rt.create(b.path, b.cid)
    assert not res.ok, f"create succeeded with an invalid config\n{res}"
    oci.assert_gone(b.cid)
    return res


def test_error_leaves_nothing_behind(oci, rt):
    """runtime.md: "Unless otherwise stated, generating an error MUST leave the state of
    the environment as if the operation were never attempted" -- a process whose
    executable does not exist: whichever operation fails leaves no running process."""
    b = oci.bundle(["/ocitest-no-such-binary"])
    res = rt.create(b.path, b.cid)
    if not res.ok:
        oci.assert_gone(b.cid)
        return
    res = rt.start(b.cid)
    assert not res.ok, f"start of a missing executable succeeded\n{res}"
    assert rt.status(b.cid) in (None, "stopped")


def test_config_not_json(oci, rt):
    """runtime.md: "If the runtime is unable to create the environment specified in the
    `config.json`, it MUST generate an error." -- config.json is not JSON."""
    create_must_fail(oci, rt, raw="{ this is not json")


def test_config_missing(oci, rt):
    """runtime.md: "If the runtime is unable to create the environment specified in the
    `config.json`, it MUST generate an error." -- there is no config.json."""
    b = oci.bundle()
    (b.path / "config.json").unlink()
    res = rt.create(b.path, b.cid)
    assert not res.ok, res
    oci.assert_gone(b.cid)


def test_bundle_missing(oci, rt):
    """runtime.md: "This operation MUST generate an error if it is not provided a path to
    the bundle" -- a bundle path that does not exist."""
    res = rt.create(oci.workdir / "no-such-bundle", "ocit-nobundle")
    rt.ids.append("ocit-nobundle")
    assert not res.ok, res
    oci.assert_gone("ocit-nobundle")


def test_oci_version_not_semver(oci, rt):
    """config.md: "`ociVersion` (string, REQUIRED) MUST be in SemVer v2.0.0 format" --
    config.md: "Runtimes MUST generate an error when invalid or unsupported values are
    encountered.\""""
    create_must_fail(oci, rt, lambda c: c.update(ociVersion="not-a-version"))


def test_oci_version_missing(oci, rt):
    """config.md: "`ociVersion` (string, REQUIRED)" -- a config without it is invalid."""
    create_must_fail(oci, rt, lambda c: c.pop("ociVersion"))


def test_oci_version_unsupported_major(oci, rt):
    """config.md: "if a configuration is compliant with version 1.1 of this specification,
    it is compatible with all runtimes that support any 1.1 or later release of this
    specification, but is not compatible with a runtime that supports 1.0 and not 1.1." --
    a major version 2 config is not something a 1.x runtime supports."""
    create_must_fail(oci, rt, lambda c: c.update(ociVersion="2.0.0"))


def test_root_missing(oci, rt):
    """config.md: "On all other platforms, this field is REQUIRED." (root)"""
    create_must_fail(oci, rt, lambda c: c.pop("root"))


def test_wrong_type(oci, rt):
    """config.md: "Runtimes MUST generate an error when invalid or unsupported values are
    encountered." -- process.args is a string, not an array."""
    create_must_fail(oci, rt, lambda c: c["process"].update(args="/bin/true"))


def test_unknown_namespace_type(oci, rt):
    """config.md: "Runtimes MUST generate an error when invalid or unsupported values are
    encountered." -- namespace type "ocitest"."""
    create_must_fail(oci, rt, lambda c: c["linux"]["namespaces"].append({"type": "ocitest"}))


def test_hook_path_relative(oci, rt):
    """config.md: hook `path`: "This specification extends the IEEE standard in that
    **`path`** MUST be absolute." -- a relative one is an invalid value."""
    create_must_fail(oci, rt, lambda c: c.update(
        hooks={"createRuntime": [{"path": "bin/true"}]}))


def test_hook_timeout_zero(oci, rt):
    """config.md: hook `timeout`: "If set, `timeout` MUST be greater than zero.\""""
    create_must_fail(oci, rt, lambda c: c.update(
        hooks={"createRuntime": [{"path": "/bin/true", "timeout": 0}]}))


def test_mount_destination_missing(oci, rt):
    """config.md: "`destination` (string, REQUIRED) Destination of mount point\""""
    create_must_fail(oci, rt, lambda c: c["mounts"].append({"type": "tmpfs",
                                                            "source": "tmpfs"}))


def test_annotation_empty_key(oci, rt):
    """config.md: annotations: "Keys MUST NOT be an empty string.\""""
    create_must_fail(oci, rt, lambda c: c.update(annotations={"": "value"}))


def test_unknown_properties_ignored(oci, rt):
    """config.md: "Runtimes MAY log unknown properties but MUST otherwise ignore them.
    That includes not generating errors if they encounter an unknown property." -- at the
    top level, in process and in linux."""
    def mutate(c):
        c["ocitestUnknown"] = {"nested": [1, 2, {"x": None}]}
        c["process"]["ocitestUnknown"] = True
        c["linux"]["ocitestUnknown"] = "value"
    report = oci.run_probe(mutate)
    assert report["args"] == ["/bin/ocitest-probe", "report"]


def test_unknown_annotations_ignored(oci, rt):
    """config.md: "Runtimes MUST handle unknown annotation keys like any other unknown
    property.\""""
    oci.run_probe(lambda c: c.update(annotations={"org.ocitest.unknown": "x",
                                                  "com.example.empty-value": ""}))


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2"])
def test_compatible_oci_versions_accepted(oci, rt, version):
    """config.md: "The Open Container Initiative Runtime Specification follows semantic
    versioning and retains forward and backward compatibility within major versions." --
    configs of earlier 1.x versions run (with only fields those versions had)."""
    report = oci.run_probe(lambda c: c.update(ociVersion=version))
    assert report["args"][0] == "/bin/ocitest-probe"


def test_state_json_after_failed_create_is_absent(oci, rt):
    """runtime.md: "If the runtime is unable to create the environment specified in the
    `config.json`, it MUST generate an error." and "a new container MUST NOT be created"
    -- `list` stays empty after a failed create."""
    create_must_fail(oci, rt, lambda c: c["root"].update(path="no-such-rootfs"))
    res = rt("list", "--format", "json")
    if res.ok:
        assert json.loads(res.stdout or "null") in (None, []), res
