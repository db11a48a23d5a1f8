"""linux.memoryPolicy (config-linux.md): set_mempolicy(2) for the container process, seen
from inside in /proc/self/numa_maps; and config fields husk does not implement are refused
with an error naming them, never silently ignored (runtime.md: a runtime unable to create
the environment MUST generate an error)."""

import pytest

import helpers
from helpers import assert_one_error_line


def numa_policy(husk, bundle, cid, policy):
    def mutate(config):
        config["linux"]["memoryPolicy"] = policy
    proc = husk("run", "--bundle", bundle(mutate, args=["/bin/sh", "-c",
                                                        "head -1 /proc/self/numa_maps"]), cid)
    assert proc.returncode == 0, helpers.describe(proc)
    return proc.stdout.split()[1]


@pytest.mark.parametrize("policy,expected", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0"}, "interleave:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]},
     "interleave=static:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
    ({"mode": "MPOL_DEFAULT"}, "default"),
])
def test_memory_policy_applied(husk, bundle, unique_id, assert_clean, policy, expected):
    assert numa_policy(husk, bundle, unique_id(), policy) == expected
    assert_clean()


@pytest.mark.parametrize("policy,words", [
    ({"mode": "MPOL_BIND"}, ["linux.memoryPolicy.nodes", "required"]),
    ({"mode": "MPOL_LOCAL", "nodes": "0"}, ["linux.memoryPolicy.nodes", "empty"]),
    ({"mode": "MPOL_BIND", "nodes": "0-"}, ["linux.memoryPolicy.nodes", "0-"]),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     ["linux.memoryPolicy"]),
])
def test_bad_memory_policy(husk, bundle, unique_id, assert_clean, policy, words):
    def mutate(config):
        config["linux"]["memoryPolicy"] = policy
    cid = unique_id()
    assert_one_error_line(husk("run", "--bundle", bundle(mutate), cid), *words)
    assert helpers.container_status(husk, cid) is None
    assert_clean()


@pytest.mark.parametrize("field,value", [
    ("intelRdt", {"closID": "husk-test"}),
    ("netDevices", {"eth-none": {"name": "eth0"}}),
])
def test_unsupported_fields_refused(husk, bundle, unique_id, assert_clean, field, value):
    def mutate(config):
        config["linux"][field] = value
    cid = unique_id()
    assert_one_error_line(husk("run", "--bundle", bundle(mutate), cid),
                          f"linux.{field}", "not supported")
    assert helpers.container_status(husk, cid) is None
    assert_clean()
