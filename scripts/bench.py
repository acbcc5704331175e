#!/usr/bin/env python
"""Benchmark: lab S(N) three ways, each in a fresh network sandbox.

S(N) = N namespaces, each joined by a veth to one bridge in the host, an
address on every namespace end, everything up.

  (a) the netvirt.linux.topology module, one task
  (b) the same lab as a playbook of per-object module tasks (netns, veth, bridge)
  (c) the kernel's own speed: an `ip -batch` script (plus one `ip -n NS -batch`
      per namespace for what must be said inside it)

For first build, idempotent re-run and teardown it prints medians over the
repetitions, the ratios to (c), and for (a) the module's own time (from its
result) next to the whole ansible-playbook wall time, and its peak memory.

Usage: .venv/bin/python scripts/bench.py [--sizes 10,100,250] [--repeat 3]
       [--per-object-sizes 10,100] [--output docs/performance.md]
Run as root; nothing leaves the sandboxes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from sandbox import Sandbox


def address(i: int) -> str:
    return "10.%d.%d.%d/8" % (i // 62500, i // 250 % 250, i % 250 + 1)


def topology_args(n: int) -> dict:
    return {
        "name": "bench",
        "namespaces": [{"name": "n%d" % i} for i in range(n)],
        "veths": [{"name": "eth0", "netns": "n%d" % i, "addresses": [address(i)], "peer": "n%d-br" % i}
                  for i in range(n)],
        "bridges": [{"name": "br-bench", "ports": ["n%d-br" % i for i in range(n)]}],
    }


def per_object_plays(n: int, teardown: bool = False) -> list:
    hosts = [{"ns": "n%d" % i, "address": address(i), "port": "n%d-br" % i} for i in range(n)]
    if teardown:
        tasks = [
            {"name": "bridge", "netvirt.linux.bridge": {"name": "br-bench", "state": "absent"}},
            {"name": "namespaces", "netvirt.linux.netns": {"name": "{{ item.ns }}", "state": "absent"},
             "loop": hosts},
        ]
    else:
        tasks = [
            {"name": "namespaces", "netvirt.linux.netns": {"name": "{{ item.ns }}"}, "loop": hosts},
            {"name": "veths", "netvirt.linux.veth": {
                "name": "eth0", "netns": "{{ item.ns }}", "addresses": ["{{ item.address }}"], "peer": "{{ item.port }}"},
             "loop": hosts},
            {"name": "bridge", "netvirt.linux.bridge": {"name": "br-bench", "ports": [h["port"] for h in hosts]}},
        ]
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def ip_batch_build(box: Sandbox, n: int, workdir: Path) -> float:
    host = ["netns add n%d" % i for i in range(n)]
    host.append("link add br-bench type bridge")
    host += ["link add n%d-br master br-bench up type veth peer name eth0 netns n%d" % (i, i) for i in range(n)]
    host.append("link set br-bench up")
    (workdir / "host.batch").write_text("\n".join(host) + "\n")
    inside = []
    for i in range(n):
        path = workdir / ("n%d.batch" % i)
        path.write_text("link set lo up\naddr add %s dev eth0\nlink set eth0 up\n" % address(i))
        inside.append("ip -n n%d -batch %s" % (i, path))
    script = workdir / "build.sh"
    script.write_text("set -e\nip -batch %s\n%s\n" % (workdir / "host.batch", "\n".join(inside)))
    return timed(box, ["sh", str(script)])


def ip_batch_teardown(box: Sandbox, n: int, workdir: Path) -> float:
    path = workdir / "down.batch"
    path.write_text("\n".join(["netns del n%d" % i for i in range(n)] + ["link del br-bench"]) + "\n")
    return timed(box, ["ip", "-batch", str(path)])


def timed(box: Sandbox, argv) -> float:
    started = time.monotonic()
    box.run(argv)
    return time.monotonic() - started


def run_playbook(box: Sandbox, plays) -> tuple:
    started = time.monotonic()
    records = box.playbook(plays)[1]
    wall = time.monotonic() - started
    module = [r["result"] for r in records if "elapsed" in r["result"]]
    return wall, module[-1] if module else None


def topology_play(n: int, state: str = "present") -> list:
    args = topology_args(n) if state == "present" else {"name": "bench", "state": "absent"}
    return [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "lab", "netvirt.linux.topology": args}]}]


def fresh(workdir: Path) -> Sandbox:
    path = Path(tempfile.mkdtemp(dir=workdir))
    return Sandbox(path)


def bench_size(n: int, repeat: int, per_object: bool, workdir: Path) -> dict:
    rows = {}
    a = {"build": [], "rerun": [], "teardown": [], "build_module": [], "rerun_module": [], "teardown_module": [],
         "memory": [], "rerun_changed": []}
    for _repetition in range(repeat):
        box = fresh(workdir)
        try:
            wall, result = run_playbook(box, topology_play(n))
            a["build"].append(wall)
            a["build_module"].append(result["elapsed"])
            a["memory"].append(result["peak_memory_kb"])
            assert len(box.namespaces()) == n
            wall, result = run_playbook(box, topology_play(n))
            a["rerun"].append(wall)
            a["rerun_module"].append(result["elapsed"])
            a["rerun_changed"].append(result["changed"])
            wall, result = run_playbook(box, topology_play(n, "absent"))
            a["teardown"].append(wall)
            a["teardown_module"].append(result["elapsed"])
            assert box.namespaces() == set()
        finally:
            box.close()
    rows["a"] = a
    c = {"build": [], "teardown": []}
    for _repetition in range(repeat):
        box = fresh(workdir)
        try:
            scratch = Path(tempfile.mkdtemp(dir=workdir))
            c["build"].append(ip_batch_build(box, n, scratch))
            assert len(box.namespaces()) == n
            c["teardown"].append(ip_batch_teardown(box, n, scratch))
        finally:
            box.close()
    rows["c"] = c
    if per_object:
        b = {"build": [], "rerun": [], "teardown": []}
        for _repetition in range(repeat):
            box = fresh(workdir)
            try:
                b["build"].append(run_playbook(box, per_object_plays(n))[0])
                b["rerun"].append(run_playbook(box, per_object_plays(n))[0])
                b["teardown"].append(run_playbook(box, per_object_plays(n, teardown=True))[0])
                assert box.namespaces() == set()
            finally:
                box.close()
        rows["b"] = b
    return rows


def med(values):
    return statistics.median(values) if values else None


def fmt(value, unit="s"):
    return "—" if value is None else ("%.3f %s" % (value, unit) if unit == "s" else "%.0f%s" % (value, unit))


def table(results: dict, repeat: int) -> str:
    lines = [
        "| N | phase | (a) topology: module | (a) playbook wall | (b) per-object playbook wall | (c) ip -batch "
        "| (a) module / (c) | (b) / (a) wall | (a) peak memory |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, rows in results.items():
        a, b, c = rows["a"], rows.get("b"), rows["c"]
        for phase in ("build", "rerun", "teardown"):
            module = med(a[phase + "_module"])
            wall = med(a[phase])
            per_object = med(b[phase]) if b else None
            kernel = med(c.get(phase, []))
            ratio_c = "%.2f×" % (module / kernel) if kernel else "—"
            ratio_b = "%.0f×" % (per_object / wall) if per_object else "—"
            memory = "%.1f MiB" % (med(a["memory"]) / 1024) if phase == "build" else ""
            lines.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                n, phase, fmt(module), fmt(wall), fmt(per_object), fmt(kernel), ratio_c, ratio_b, memory))
        if not all(changed is False for changed in a["rerun_changed"]):
            lines.append("| %d | rerun | **changed=true on a re-run** | | | | | | |" % n)
    lines.append("")
    lines.append("Medians of %d repetitions, each in a fresh sandbox. (c) has no idempotent re-run." % repeat)
    return "\n".join(lines)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ansible = subprocess.run([str(Path(sys.executable).parent / "ansible"), "--version"], capture_output=True,
                             text=True, check=False).stdout.splitlines()[:1]
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    return "%s; %d cores; kernel %s; Debian %s; Python %s; %s" % (
        cpu or platform.processor(), os.cpu_count(), platform.release(), debian, platform.python_version(),
        ansible[0] if ansible else "ansible ?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,250")
    parser.add_argument("--per-object-sizes", default="10,100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", help="also write the table, with the machine, to this Markdown file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    per_object = {int(s) for s in args.per_object_sizes.split(",") if s}
    workdir = Path(tempfile.mkdtemp(prefix="netvirt-bench-"))
    results = {}
    for n in sizes:
        print("S(%d) ..." % n, file=sys.stderr, flush=True)
        results[n] = bench_size(n, args.repeat, n in per_object, workdir)
    text = table(results, args.repeat)
    print("Machine: %s\n" % machine())
    print(text)
    if args.output:
        Path(args.output).write_text(
            "# Performance\n\nProduced by `make bench` (`scripts/bench.py`) on %s.\n\nMachine: %s\n\n%s\n\n"
            "Raw samples (seconds):\n\n```json\n%s\n```\n" % (
                time.strftime("%Y-%m-%d"), machine(), text, json.dumps(results, indent=1, default=str)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
