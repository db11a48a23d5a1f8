"""Helpers for the lifecycle, namespace, process, hook, exec, terminal, signal and
fallback tests: looking at a container from the host, capability bitmasks, the hook
logger, and output files that outlive `husk create`."""

import json
import os
import time
from pathlib import Path

import helpers

DATA = Path(__file__).resolve().parent / "data"
HOOK_SCRIPT = DATA / "hook.sh"

NAMESPACE_FILES = {
    # config type -> name under /proc/PID/ns
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "cgroup": "cgroup",
    "user": "user",
    "time": "time",
}

CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]


def cap_mask(names):
    """The /proc/PID/status hex bitmask (as an int) of a list of capability names."""
    mask = 0
    for name in names:
        mask |= 1 << CAPS.index(name)
    return mask


def host_ns(name, pid="self"):
    """'net:[4026531840]' for /proc/PID/ns/NAME."""
    return os.readlink(f"/proc/{pid}/ns/{name}")


def state(husk, cid):
    proc = husk("state", cid, timeout=10)
    assert proc.returncode == 0, helpers.describe(proc)
    return json.loads(proc.stdout)


def pid_alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def wait_until(predicate, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def container_cgroups(cid):
    """The cgroup dirs that exist for this id in any hierarchy (husk's default place)."""
    return [p for p in helpers.cgroup_candidates([cid]) if p.is_dir()]


def proc_cgroup(pid):
    return sorted(Path(f"/proc/{pid}/cgroup").read_text().splitlines())


def make_traversable(path):
    """o+x on path and every parent below /: a user namespace's root (host uid 100000)
    must be able to reach the bundle, and pytest's tmp dirs are 0700."""
    path = Path(path).resolve()
    for p in [path, *path.parents]:
        if p == Path("/"):
            break
        mode = p.stat().st_mode & 0o7777
        if mode & 0o001 == 0:
            p.chmod(mode | 0o001)


def add_bind(config, host_dir, dest=None, readonly=False):
    """Bind-mount host_dir into the container at dest (default: the same path), so that
    files the container writes there can be read from the host after husk exits."""
    opts = ["rbind", "rw" if not readonly else "ro"]
    config.setdefault("mounts", []).append(
        {"destination": str(dest or host_dir), "type": "bind", "source": str(host_dir),
         "options": opts})
    return config


def namespaces(config):
    return config.setdefault("linux", {}).setdefault("namespaces", [])


def set_namespaces(config, types):
    config.setdefault("linux", {})["namespaces"] = [{"type": t} for t in types]


def ensure_namespace(config, ns_type, path=None):
    entries = [n for n in namespaces(config) if n["type"] != ns_type]
    entry = {"type": ns_type}
    if path is not None:
        entry["path"] = str(path)
    entries.append(entry)
    config["linux"]["namespaces"] = entries


def drop_namespace(config, ns_type):
    config["linux"]["namespaces"] = [n for n in namespaces(config) if n["type"] != ns_type]


def hook(log, name, action=None, timeout=None, env=None, extra_args=(), in_container=False):
    """A hook entry running data/hook.sh, which appends one line to `log`:
    NAME <tab> state JSON <tab> its arguments <tab> $HOOK_TEST <tab> $PATH-or-unset.
    action: None, "fail" (exit 3), "sleep" (30 s, writing its pid to LOG.pid first) or
    "slow" (1 s before logging).
    in_container: the script is looked up inside the rootfs as /hook.sh (startContainer
    hooks resolve in the container namespace)."""
    script = "/hook.sh" if in_container else str(HOOK_SCRIPT)
    entry = {"path": "/bin/sh",
             "args": ["sh", script, str(log), name, action or "-", *extra_args]}
    if env is not None:
        entry["env"] = list(env)
    if timeout is not None:
        entry["timeout"] = timeout
    return entry


def read_hook_log(log):
    """[(name, state dict, args, HOOK_TEST, PATH)] in the order the hooks ran."""
    entries = []
    try:
        text = Path(log).read_text()
    except FileNotFoundError:
        return entries
    for line in text.splitlines():
        name, state_text, args, env, path = (line.split("\t") + [""] * 5)[:5]
        try:
            parsed = json.loads(state_text)
        except ValueError:
            parsed = {"_unparsable": state_text}
        entries.append((name, parsed, args, env, path))
    return entries


def install_hook_in_rootfs(bundle_dir):
    dest = Path(bundle_dir) / "rootfs" / "hook.sh"
    dest.write_text(HOOK_SCRIPT.read_text())
    dest.chmod(0o755)


def run_detached(husk, bundle_dir, cid, *extra):
    proc = husk("run", "--detach", "--bundle", bundle_dir, *extra, cid, timeout=30)
    assert proc.returncode == 0, helpers.describe(proc)
    return state(husk, cid)


def read_json_file(path, timeout=10):
    """Wait for a JSON document written by a container process into a bound host dir."""
    path = Path(path)

    def ready():
        try:
            return helpers.parse_json_output(path.read_text())
        except (OSError, ValueError):
            return None
    value = wait_until(ready, timeout)
    assert value is not None, f"no JSON in {path} after {timeout}s"
    return value
