#!/usr/bin/python3
"""report.py RAW_DIR OUT_MD OUT_DAT

Turns the raw results of bench/measure.sh into the markdown table (OUT_MD) and the
data blocks the gnuplot chart reads (OUT_DAT). Hyperfine rounds of one benchmark are
merged run by run, so medians and ranges are over every timed run of every round.
"""
import glob
import json
import os
import statistics
import sys

RUNTIMES = ["husk", "crun", "runc"]
COLUMNS = RUNTIMES + ["floor"]

# name, title, unit scale from seconds, unit
BENCHES = [
    ("run", "`run` /bin/true", 1e3, "ms"),
    ("cycle", "`create` + `start` + `delete -f`", 1e3, "ms"),
    ("state", "`state` of a running container", 1e3, "ms"),
    ("exec", "`exec` /bin/true into a running container", 1e3, "ms"),
    ("loop", f"{os.environ.get('LOOP_N', '100')} sequential `run` /bin/true", 1.0, "s"),
]


def load_hyperfine(raw, name):
    """{label: {"times": [...], "cpu": [(user+system mean, runs), ...]}} over all rounds."""
    merged = {}
    for path in sorted(glob.glob(os.path.join(raw, f"{name}-*.json"))):
        with open(path) as f:
            for res in json.load(f)["results"]:
                entry = merged.setdefault(res["command"], {"times": [], "cpu": []})
                entry["times"].extend(res["times"])
                entry["cpu"].append((res["user"] + res["system"], len(res["times"])))
    return merged


def summary(values):
    return statistics.median(values), min(values), max(values)


def fmt(v):
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(stats):
    if stats is None:
        return "–"
    med, lo, hi = stats
    return f"**{fmt(med)}** ({fmt(lo)}–{fmt(hi)})"


def ratio(a, b):
    if a is None or b is None:
        return "–"
    return f"{a[0] / b[0]:.2f}"


def timing_section(raw, md, dat):
    md.append("### Wall-clock time: median (min–max)\n")
    md.append("| benchmark | unit | runs | husk | crun | runc | floor | husk/crun | husk/runc |")
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    cpu_rows = []
    for name, title, scale, unit in BENCHES:
        data = load_hyperfine(raw, name)
        if not data:
            continue
        stats = {}
        for col in COLUMNS:
            if col in data:
                stats[col] = summary([t * scale for t in data[col]["times"]])
        runs = len(data["husk"]["times"])
        md.append(
            f"| {title} | {unit} | {runs} | "
            + " | ".join(cell(stats.get(c)) for c in COLUMNS)
            + f" | {ratio(stats.get('husk'), stats.get('crun'))}"
            + f" | {ratio(stats.get('husk'), stats.get('runc'))} |"
        )
        # The chart's whiskers are the 10th-90th percentiles: on a loaded machine the
        # maxima are scheduling accidents that would flatten every bar.
        dat.append(f"# {name} ({unit}): median p10 p90")
        for col in COLUMNS:
            if col in stats:
                values = [t * scale for t in data[col]["times"]]
                deciles = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
                dat.append(f"{col} {stats[col][0]:.6g} {deciles[0]:.6g} {deciles[8]:.6g}")
        dat.append("\n")
        cpu = {}
        for col in COLUMNS:
            if col in data:
                pairs = data[col]["cpu"]
                total = sum(n for _, n in pairs)
                cpu[col] = sum(v * n for v, n in pairs) / total * scale
        cpu_rows.append((title, unit, cpu))
    md.append("")
    md.append("### CPU time (user + system of the process tree, mean)\n")
    md.append("| benchmark | unit | husk | crun | runc | floor |")
    md.append("| --- | --- | --- | --- | --- | --- |")
    for title, unit, cpu in cpu_rows:
        md.append(
            f"| {title} | {unit} | "
            + " | ".join(fmt(cpu[c]) if c in cpu else "–" for c in COLUMNS)
            + " |"
        )
    md.append("")


def rss_section(raw, md, dat):
    path = os.path.join(raw, "rss.txt")
    if not os.path.exists(path):
        return
    samples = {}
    with open(path) as f:
        for line in f:
            rt, op, kb = line.split()
            samples.setdefault(op, {}).setdefault(rt, []).append(int(kb))
    md.append("### Peak RSS (GNU time %M, KiB): median (min–max)\n")
    md.append(
        "The largest maxrss among the runtime process and the children it waited for; for husk "
        "`run` and `exec` that includes the image before and after its re-exec from a sealed "
        "memfd.\n"
    )
    md.append("| operation | samples | husk | crun | runc | husk/crun | husk/runc |")
    md.append("| --- | --- | --- | --- | --- | --- | --- |")
    for op in ("run", "state", "exec"):
        if op not in samples:
            continue
        stats = {rt: summary(v) for rt, v in samples[op].items()}
        n = len(samples[op]["husk"])
        md.append(
            f"| `{op}` | {n} | "
            + " | ".join(cell(stats.get(rt)) for rt in RUNTIMES)
            + f" | {ratio(stats.get('husk'), stats.get('crun'))}"
            + f" | {ratio(stats.get('husk'), stats.get('runc'))} |"
        )
    md.append("")
    dat.append("# rss of run (MiB)")
    for rt in RUNTIMES:
        med, lo, hi = summary(samples["run"][rt])
        dat.append(f"{rt} {med / 1024:.4g} {lo / 1024:.4g} {hi / 1024:.4g}")
    dat.append("\n")


def memlimit_section(raw, md, dat):
    path = os.path.join(raw, "memlimit.txt")
    if not os.path.exists(path):
        return
    limits = {}
    with open(path) as f:
        for line in f:
            rt, value = line.split()
            limits[rt] = value
    md.append("### Smallest `linux.resources.memory.limit` that runs /bin/true\n")
    md.append("Bisected from 16 MiB down to 16 KiB resolution; a limit passes when five runs in a row succeed.\n")
    md.append("| | husk | crun | runc |")
    md.append("| --- | --- | --- | --- |")
    md.append(
        "| limit | "
        + " | ".join(
            (f"{int(limits[rt]) / 1048576:.2f} MiB" if limits.get(rt, "").isdigit() else limits.get(rt, "–"))
            for rt in RUNTIMES
        )
        + " |"
    )
    md.append("")
    dat.append("# memory.limit (MiB)")
    for rt in RUNTIMES:
        if limits.get(rt, "").isdigit():
            v = int(limits[rt]) / 1048576
            dat.append(f"{rt} {v:.4g} {v:.4g} {v:.4g}")
    dat.append("\n")


def binaries_section(raw, md, dat):
    path = os.path.join(raw, "binaries.txt")
    if not os.path.exists(path):
        return
    md.append("### Binaries\n")
    md.append("| | file size | text | data | bss | shared libraries (ldd lines) |")
    md.append("| --- | --- | --- | --- | --- | --- |")
    dat.append("# binary size (MiB)")
    with open(path) as f:
        for line in f:
            rt, size, text, data, bss, libs = line.split()
            md.append(
                f"| {rt} | {int(size) / 1048576:.2f} MiB | {text} | {data} | {bss} | {libs} |"
            )
            v = int(size) / 1048576
            dat.append(f"{rt} {v:.4g} {v:.4g} {v:.4g}")
    dat.append("\n")
    md.append("")


def machine_section(raw, md):
    path = os.path.join(raw, "machine.txt")
    if not os.path.exists(path):
        return
    md.append("### Machine\n")
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            md.append(f"- {key}: {value}")
    md.append("")


def main():
    raw, out_md, out_dat = sys.argv[1:4]
    md = ["## husk vs crun vs runc (bench/run.sh)\n"]
    dat = []
    machine_section(raw, md)
    timing_section(raw, md, dat)
    rss_section(raw, md, dat)
    memlimit_section(raw, md, dat)
    binaries_section(raw, md, dat)
    md.append(
        "floor: `unshare --pid --fork --mount --uts --ipc --net --cgroup chroot ROOTFS /bin/true` "
        "(for exec: `nsenter` into the husk container's namespaces and root). "
        "Ratios are of medians; below 1 means husk is faster or smaller.\n"
    )
    with open(out_md, "w") as f:
        f.write("\n".join(md))
    with open(out_dat, "w") as f:
        f.write("\n".join(dat))


if __name__ == "__main__":
    main()
