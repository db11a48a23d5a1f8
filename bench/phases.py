#!/usr/bin/python3
"""phases.py TRACE...

Splits `husk run` traces (strace --seccomp-bpf -f -ttt with the marker syscalls that
bench/profile.sh asks for) into phases and prints the median and range of each phase
over all traces, in ms. A phase starts at the first marker line matching its pattern.
"""
import re
import statistics
import sys

# (phase name ending at this marker, regex of the marker line)
MARKERS = [
    ("exec husk, ld.so, copy itself into a sealed memfd", r"execveat\("),
    ("re-exec from the memfd, ld.so again, parse config.json", r'mkdir\("[^"]*", 0700\)'),
    ("state dir, state.json, exec fifos, mountinfo", r"clone3\("),
    # From here the parent makes the v1 cgroups while the child makes its namespaces and
    # the mounts before the first cgroup mount; the phase ends when the parent hands the
    # child its cgroup (message 10).
    ("clone; parent: v1 cgroups (9 hierarchies) while the child: namespaces, first mounts",
     r"sendmsg\(\d+, .*iov_base=\"\\n"),
    ("child: joins its cgroups, cgroup ns, cgroup mounts, /dev", r"sendmsg\(\d+, .*iov_base=\"\\2"),
    ("parent/child sync round trip before pivot", r"pivot_root\("),
    ("child: pivot, caps, seccomp, ready", r"sendmsg\(\d+, .*iov_base=\"\\5"),
    ("create -> start: state.json, release the exec fifo", r'execve\("/bin/true"'),
    ("/bin/true runs, init exits, kernel tears the namespaces down", r"\+\+\+ exited with"),
    ("delete: state, freezer, rmdir 9 cgroups, remove state dir", None),
]


def stamp(line):
    return float(line.split()[1])


def phases(path):
    with open(path) as f:
        lines = [l for l in f if re.match(r"^\d+\s+\d+\.\d+ ", l)]
    t0 = stamp(lines[0])
    out = []
    prev = t0
    i = 0
    for name, pattern in MARKERS:
        if pattern is None:
            t = stamp(lines[-1])
        else:
            while i < len(lines) and not re.search(pattern, lines[i]):
                i += 1
            if i == len(lines):
                return None
            t = stamp(lines[i])
        out.append((name, (t - prev) * 1000))
        prev = t
    out.append(("total", (prev - t0) * 1000))
    return out


def main():
    runs = [p for p in (phases(path) for path in sys.argv[1:]) if p]
    if not runs:
        sys.exit("phases.py: no usable trace")
    print(f"`husk run` phases over {len(runs)} traced runs (ms): median (min–max)\n")
    print("| phase | median | min | max |")
    print("| --- | --- | --- | --- |")
    for k, (name, _) in enumerate(runs[0]):
        v = [r[k][1] for r in runs]
        print(f"| {name} | {statistics.median(v):.2f} | {min(v):.2f} | {max(v):.2f} |")


if __name__ == "__main__":
    main()
