"""Shared by the rootfs, mounts, devices, hostile and security tests: running several probe
modes in one container, reading mountinfo (the probe's and the host's), and snapshots of
host files that a container must never touch.

Imported by putting this directory on sys.path (see the test modules)."""

import ctypes
import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import helpers

MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


# ---------------------------------------------------------------------------- probes


def probe_script(*commands):
    """process.args running several probe modes one after another in a busybox shell;
    each prints one JSON line.  Each command is a list of probe arguments."""
    lines = []
    for cmd in commands:
        quoted = " ".join("'" + str(a).replace("'", "'\\''") + "'" for a in cmd)
        lines.append(f"/bin/probe {quoted}")
    return ["/bin/sh", "-c", "; ".join(lines)]


def json_lines(text):
    """Every JSON object printed on its own line, in order."""
    out = []
    # "\n" only: splitlines() also splits at \x85, \u2028, \x1c..., which a probe's JSON may
    # hold raw (e.g. bytes read from /dev/urandom).
    for line in text.split("\n"):
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def run_script(husk, bundle_dir, cid, expected, timeout=30):
    """`husk run` a bundle made with probe_script() and return its JSON lines, checking that
    there are `expected` of them."""
    proc = husk("run", "--bundle", bundle_dir, cid, timeout=timeout)
    assert proc.returncode == 0, helpers.describe(proc)
    docs = json_lines(proc.stdout)
    assert len(docs) == expected, helpers.describe(proc)
    return docs


# ---------------------------------------------------------------------------- mountinfo


def mounts_at(report, point):
    """The probe's mounts whose mount point is `point`, bottom first."""
    return [m for m in report["mounts"] if m["mount_point"] == point]


def top_mount(report, point):
    found = mounts_at(report, point)
    assert found, f"nothing mounted at {point}: " + ", ".join(
        m["mount_point"] for m in report["mounts"])
    return found[-1]


def mount_flags(m):
    return set(m["options"].split(","))


def super_flags(m):
    return set(m["super_options"].split(","))


def host_mountinfo(pid="self"):
    """(mount point, fs root, fstype, source) of every mount the host sees."""
    entries = []
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        rfields = right.split()
        entries.append((helpers._unescape_mountinfo(fields[4]),
                        helpers._unescape_mountinfo(fields[3]),
                        rfields[0] if rfields else "", rfields[1] if len(rfields) > 1 else ""))
    return entries


def new_host_mounts(before, watched):
    """Mounts the host gained since `before` (a host_mountinfo()) whose mount point is one of
    `watched` or below it.  Other engineers' tests run at the same time: only watch places
    this test cares about."""
    old = set(before)
    found = []
    for entry in host_mountinfo():
        if entry in old:
            continue
        point = entry[0]
        for w in map(str, watched):
            if point == w or point.startswith(w.rstrip("/") + "/"):
                found.append(entry)
                break
    return found


def host_mount(source, target, flags=0, fstype=None, data=None):
    """mount(2) on the host (for fixtures: submounts under a bind source)."""
    r = _libc.mount(str(source).encode() if source else None, str(target).encode(),
                    fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                    data.encode() if data else None)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {source} on {target}: {os.strerror(e)}")


def host_umount(target):
    _libc.umount2(str(target).encode(), MNT_DETACH)


# ---------------------------------------------------------------------------- snapshots


def snapshot(path):
    """What a container must not change about a host path: type, mode, owner, mtime, and
    the contents (a hash for files, the sorted names for directories)."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    info = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime_ns,
            "ino": st.st_ino}
    if stat.S_ISLNK(st.st_mode):
        info["target"] = os.readlink(path)
    elif stat.S_ISDIR(st.st_mode):
        info["entries"] = sorted(os.listdir(path))
    elif stat.S_ISREG(st.st_mode):
        info["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return info


def snapshots(paths):
    return {str(p): snapshot(p) for p in paths}


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def replace_with_symlink(path, target):
    """Make `path` (inside a test rootfs) a symlink to `target`, whatever it was."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(str(target), path)


def errno_of(doc):
    return doc.get("errno_name")


def strip_mount(config, destination):
    """Remove the mounts at `destination` from a config (e.g. the /dev tmpfs, so that the
    image's own /dev is used)."""
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != destination]
    return config

