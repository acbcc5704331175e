#!/usr/bin/env python
"""Benchmark: lab S(N) built, re-run and torn down several ways, in one sandbox per size.

S(N) = N namespaces, each joined by a veth to one bridge in the host: the
veth's first end n<i>-br is in the host and a port of br-bench, its peer eth0
is in namespace n<i> with an address; everything up.

Per size, in one `unshare --net --mount --uts` sandbox, the methods run one
after another (the sandbox emptied between them), --repeat times each:

  ip -batch  the script a user would write: one `ip -batch` for the host side,
             one `ip -n NS -batch` per namespace; teardown = `ip -batch` of
             `netns del` + `link del`, timed until the kernel has reaped the
             host's veth ends
  pyroute2   one Python process building the lab with pyroute2 directly (what
             netlink costs; build only)
  topology   one netvirt.linux.topology task: the whole ansible-playbook wall
             for build, re-run (changed=false asserted) and teardown (state
             absent, timed to devices gone), and the module's own time

Every timed phase starts on a quiet kernel (settle(), untimed): for about
ten seconds after S(1000) is built, IPv6 neighbour discovery and MLD from a
thousand new interfaces flood through the 1000-port bridge and keep the cores
busy in softirq, which would be measured as part of whatever ran then.

Once per run, in a sandbox of its own: an empty playbook (one
ansible.builtin.meta: noop task), and single-object tasks (one
netvirt.linux.veth, one netvirt.linux.netns) against one
`ansible.builtin.command: true` task.

Writes Markdown (--output) with the tables, the targets of issue 14, raw
samples and a log-log plot next to it (images/performance.png; matplotlib from
requirements-bench.txt, which `make bench` installs).

Usage: .venv/bin/python scripts/bench.py [--sizes 10,100,1000] [--repeat 3]
       [--quick] [--output docs/performance.md]
Run as root; nothing leaves the sandboxes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
BRIDGE = "br-bench"
LAB = "bench"
# (method, phase) in the order of the tables and the plot's legend.
SERIES = [
    ("ip -batch", "build"),
    ("pyroute2", "build"),
    ("topology", "build"),
    ("topology", "rerun"),
    ("ip -batch", "teardown"),
    ("topology", "teardown"),
]
TARGETS_AT = 1000


# -- the lab, as text (pure) -----------------------------------------------------


def address(i: int) -> str:
    """A distinct /8 address for namespace i (N up to 62500 * 250)."""
    return "10.%d.%d.%d/8" % (i // 62500, i // 250 % 250, i % 250 + 1)


def host_batch(n: int) -> str:
    """The host side for `ip -batch`: the bridge, the namespaces, each veth created with its peer in its namespace."""
    lines = ["link add %s type bridge" % BRIDGE, "link set %s up" % BRIDGE]
    lines += ["netns add n%d" % i for i in range(n)]
    lines += ["link add n%d-br master %s up type veth peer name eth0 netns n%d" % (i, BRIDGE, i) for i in range(n)]
    return "\n".join(lines) + "\n"


def netns_batch(i: int) -> str:
    """What must be said inside namespace n<i> (`ip -n n<i> -batch`)."""
    return "link set lo up\naddr add %s dev eth0\nlink set eth0 up\n" % address(i)


def teardown_batch(n: int) -> str:
    return "\n".join(["netns del n%d" % i for i in range(n)] + ["link del %s" % BRIDGE]) + "\n"


# Polls until no veth is left in the host (the kernel reaps the host ends of
# the deleted namespaces' veths after `ip netns del` has returned).
WAIT_DEVICES_GONE = 'while [ -n "$(ip -o link show type veth)" ]; do sleep 0.005; done'


def build_script(n: int, workdir: Path) -> str:
    (workdir / "host.batch").write_text(host_batch(n))
    lines = ["set -e", "ip -batch %s" % (workdir / "host.batch")]
    for i in range(n):
        path = workdir / ("n%d.batch" % i)
        path.write_text(netns_batch(i))
        lines.append("ip -n n%d -batch %s" % (i, path))
    return "\n".join(lines) + "\n"


def teardown_script(n: int, workdir: Path) -> str:
    (workdir / "down.batch").write_text(teardown_batch(n))
    return "set -e\nip -batch %s\n%s\n" % (workdir / "down.batch", WAIT_DEVICES_GONE)


def topology_args(n: int) -> dict:
    return {
        "name": LAB,
        "namespaces": [{"name": "n%d" % i} for i in range(n)],
        "veths": [{"name": "n%d-br" % i, "peer": "eth0", "peer_netns": "n%d" % i, "peer_addresses": [address(i)]}
                  for i in range(n)],
        "bridges": [{"name": BRIDGE, "ports": ["n%d-br" % i for i in range(n)]}],
    }


def play(tasks: list) -> list:
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def topology_play(n: int, state: str = "present") -> list:
    args = topology_args(n) if state == "present" else {"name": LAB, "state": "absent"}
    return play([{"name": "lab", "netvirt.linux.topology": args}])


def carry_play(n: int) -> list:
    """The re-run's arguments given to a task that runs no module: what Ansible alone costs to read, template
    and hand back a task of this size (YAML parsing, argument templating, result processing)."""
    return play([{"name": "carry", "ansible.builtin.set_fact": {"lab": topology_args(n)}}])


# What the bench reads of a task's result (the recording callback keeps only these).
RECORD_KEYS = "changed,elapsed,peak_memory_kb,msg"

EMPTY_PLAY = play([{"name": "nothing", "ansible.builtin.meta": "noop"}])
SINGLE_TASKS = {
    "ansible.builtin.command: true": {"name": "one", "ansible.builtin.command": "true", "changed_when": False},
    "netvirt.linux.veth (create)": {"name": "one", "netvirt.linux.veth": {"name": "pv0", "peer": "pv1"}},
    "netvirt.linux.veth (no change)": {"name": "one", "netvirt.linux.veth": {"name": "pv0", "peer": "pv1"}},
    "netvirt.linux.netns (create)": {"name": "one", "netvirt.linux.netns": {"name": "single"}},
}
COMMAND = "ansible.builtin.command: true"


# -- statistics (pure) -----------------------------------------------------------


def median(values: Sequence[float]) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def own(wall: Optional[float], empty: Optional[float]) -> Optional[float]:
    """A playbook's own time: its wall time less an empty playbook's."""
    if wall is None or empty is None:
        return None
    return wall - empty


def growth_exponents(memory: Dict[int, float]) -> List[float]:
    """Slopes of log(memory) against log(N) between successive sizes (<= 1: no faster than linear)."""
    import math

    sizes = sorted(n for n, kb in memory.items() if kb)
    return [math.log(memory[b] / memory[a]) / math.log(b / a) for a, b in zip(sizes, sizes[1:])]


def summarise(results: dict) -> dict:
    """Medians per size: {n: {(method, phase): seconds, ...}, ...} plus module times and memory."""
    empty = median(results["empty"])
    floor = median(results["single"].get(COMMAND, []))
    out = {}
    for n_text, samples in results["sizes"].items():
        n = int(n_text)
        row = {"wall": {}, "module": {}, "own": {}, "above_floor": {}}
        for method, phase in SERIES:
            key = "%s %s" % (method, phase)
            row["wall"][key] = median(samples.get(key, []))
            row["module"][key] = median(samples.get(key + " module", []))
            if method == "topology":
                row["own"][key] = own(row["wall"][key], empty)
                row["above_floor"][key] = own(row["wall"][key], floor)
        row["memory_kb"] = max(samples.get("topology memory_kb", []) or [0]) or None
        row["pyroute2_memory_kb"] = max(samples.get("pyroute2 memory_kb", []) or [0]) or None
        row["rerun_changed"] = samples.get("topology rerun changed", [])
        row["single veth"] = median(samples.get("single veth", []))
        # The same arguments in a task that runs no module (carry_play), less the empty playbook.
        row["carry"] = own(median(samples.get("carry", [])), empty)
        out[n] = row
    return out


def targets(summary: dict) -> List[dict]:
    """Issue 14's targets against the measured medians: [{target, measured, met}], met None = not measured."""
    rows = []
    big = summary.get(TARGETS_AT)
    hundred = summary.get(100)

    def add(target: str, value: Optional[float], limit: float, text: str) -> None:
        rows.append({"target": target, "measured": text if value is not None else "not measured",
                     "met": None if value is None else value <= limit})

    if big:
        w = big["wall"]
        build = ratio(w["topology build"], w["ip -batch build"])
        add("S(1000) build (whole playbook) ≤ 0.75× ip -batch", build, 0.75,
            "%.2f s / %.2f s = %.2f×" % (w["topology build"] or 0, w["ip -batch build"] or 0, build or 0))
        rerun = ratio(big["own"]["topology rerun"], big["own"]["topology build"])
        add("S(1000) re-run own time ≤ 0.15× build own time (both wall − empty playbook)", rerun, 0.15,
            "%.2f s / %.2f s = %.2f×" % (big["own"]["topology rerun"] or 0, big["own"]["topology build"] or 0,
                                         rerun or 0))
        if big.get("carry") is not None:
            rows[-1]["measured"] += (" (of the re-run's own time, %s is Ansible's for a task carrying the same "
                                     "arguments and running no module; the module's own time is %s)" % (
                                         fmt(big["carry"]), fmt(big["module"]["topology rerun"])))
        teardown = ratio(w["topology teardown"], w["ip -batch teardown"])
        add("S(1000) teardown ≤ 2× ip -batch (both to devices gone)", teardown, 2.0,
            "%.2f s / %.2f s = %.2f×" % (w["topology teardown"] or 0, w["ip -batch teardown"] or 0, teardown or 0))
    else:
        for target in ("S(1000) build (whole playbook) ≤ 0.75× ip -batch",
                       "S(1000) re-run own time ≤ 0.15× build own time (both wall − empty playbook)",
                       "S(1000) teardown ≤ 2× ip -batch (both to devices gone)"):
            add(target, None, 0, "")
    value = hundred["own"]["topology rerun"] if hundred else None
    add("S(100) re-run own time ≤ 0.3 s (wall − empty playbook)", value, 0.3, "%.2f s" % (value or 0))
    if hundred:
        rows[-1]["measured"] += " (%s above a one-task `ansible.builtin.command: true` playbook; module's own time %s)" % (
            fmt(hundred["above_floor"]["topology rerun"]), fmt(hundred["module"]["topology rerun"]))
    memory = {n: row["memory_kb"] for n, row in summary.items() if row["memory_kb"]}
    slopes = growth_exponents(memory)
    add("peak memory of the module growing no faster than linearly", max(slopes) if slopes else None, 1.0,
        "log-log slope %s" % ", ".join("%.2f" % s for s in slopes))
    for n, row in sorted(summary.items()):
        changed = row["rerun_changed"]
        rows.append({"target": "S(%d) re-run reports changed=false" % n, "measured": "changed=%s" % changed,
                     "met": bool(changed) and not any(changed)})
    return rows


# -- Markdown (pure) -------------------------------------------------------------


def fmt(value: Optional[float], digits: int = 3) -> str:
    return "—" if value is None else "%.*f s" % (digits, value)


def fmt_ratio(value: Optional[float]) -> str:
    return "—" if value is None else "%.2f×" % value


def met_text(met: Optional[bool]) -> str:
    return {True: "yes", False: "**no**", None: "not measured"}[met]


def size_table(n: int, row: dict) -> str:
    lines = ["### S(%d)" % n, "",
             "| method | phase | wall (median) | in-process time | wall − empty playbook "
             "| wall − `command: true` playbook | ÷ ip -batch (wall) |",
             "|---|---|---|---|---|---|---|"]
    for method, phase in SERIES:
        key = "%s %s" % (method, phase)
        kernel = row["wall"].get("ip -batch %s" % phase) if phase != "rerun" else None
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            method, phase, fmt(row["wall"][key]), fmt(row["module"].get(key)), fmt(row["own"].get(key)),
            fmt(row["above_floor"].get(key)),
            fmt_ratio(ratio(row["wall"][key], kernel)) if method != "ip -batch" else ""))
    return "\n".join(lines)


def single_table(results: dict) -> str:
    empty = median(results["empty"])
    floor = median(results["single"].get(COMMAND, []))
    lines = ["| task (one, alone in a playbook) | wall (median) | − empty playbook | − `ansible.builtin.command: true` |",
             "|---|---|---|---|",
             "| empty playbook (`ansible.builtin.meta: noop`) | %s | | |" % fmt(empty)]
    for name in SINGLE_TASKS:
        wall = median(results["single"].get(name, []))
        above = own(wall, floor) if name != COMMAND else None
        lines.append("| `%s` | %s | %s | %s |" % (name, fmt(wall), fmt(own(wall, empty)), fmt(above)))
    return "\n".join(lines)


def single_by_size_table(results: dict, summary: dict) -> str:
    floor = median(results["single"].get(COMMAND, []))
    lines = ["| N | `netvirt.linux.veth` (create), S(N) standing | − `ansible.builtin.command: true` |", "|---|---|---|"]
    for n, row in sorted(summary.items()):
        lines.append("| %d | %s | %s |" % (n, fmt(row["single veth"]), fmt(own(row["single veth"], floor))))
    return "\n".join(lines)


def memory_table(summary: dict) -> str:
    lines = ["| N | topology module (max of build, re-run, teardown) | pyroute2 single process (build) |",
             "|---|---|---|"]
    for n, row in sorted(summary.items()):
        module = "%.1f MiB" % (row["memory_kb"] / 1024) if row["memory_kb"] else "—"
        single = "%.1f MiB" % (row["pyroute2_memory_kb"] / 1024) if row["pyroute2_memory_kb"] else "—"
        lines.append("| %d | %s | %s |" % (n, module, single))
    return "\n".join(lines)


def render(results: dict, meta: dict, image: Optional[str]) -> str:
    summary = summarise(results)
    parts = [
        "# Performance",
        "",
        "Written by `make bench` (`scripts/bench.py`) on %s. Timings on a shared machine are noisy; "
        "medians of %d repetition(s)." % (meta["date"], meta["repeat"]),
        "",
        "Machine: %s" % meta["machine"],
        "",
        "Versions: %s" % meta["versions"],
        "",
        "S(N) = N namespaces, each joined by a veth to one host bridge: the veth's first end `n<i>-br` in the "
        "host, a port of `br-bench`; its peer `eth0` in namespace `n<i>` with an address. Per size, every method "
        "runs in one `unshare --net --mount --uts` sandbox, one after another, the sandbox emptied between them.",
        "",
        "- **ip -batch**: one `ip -batch` for the host side (bridge, namespaces, veths created with their peer in "
        "the namespace) and one `ip -n NS -batch` per namespace; teardown: `ip -batch` of `netns del` and "
        "`link del`, timed until the kernel has reaped the host's veth ends.",
        "- **pyroute2**: one Python process building the same lab with pyroute2 directly (what netlink costs).",
        "- **topology**: one `netvirt.linux.topology` task; the whole `ansible-playbook` wall time for the build, "
        "the idempotent re-run and the teardown (`state: absent`, timed to devices gone), and the module's own "
        "time (its `elapsed`).",
        "",
        "Every timed phase starts on a quiet kernel (untimed wait until softirq is under 2 % of the machine's "
        "time; the waits are in the raw samples as `settled`): for about ten seconds after S(1000) is built, IPv6 "
        "neighbour discovery and MLD from a thousand new interfaces flood through the 1000-port bridge and keep "
        "both cores busy in softirq, which would otherwise be measured as part of whatever ran then. Playbooks "
        "run with the default callback and the test suite's recording one, which keeps only `changed`, `elapsed`, "
        "`peak_memory_kb` and `msg` of each result (a copy of a whole result would cost seconds at S(1000)).",
        "",
        "*In-process time*: the topology module's own `elapsed`, or the pyroute2 process's time after its "
        "imports. *Wall − empty playbook*: a playbook's own time as issue 14 defines it, Ansible's start-up "
        "taken out (the empty playbook runs no module). *Wall − `command: true` playbook*: the time above "
        "Ansible's floor for one module task (start-up plus shipping and running one module), measured below.",
        "",
    ]
    if image:
        parts += ["![time against N, log-log](%s)" % image, ""]
    parts += ["## Against the targets of issue 14", "", "| target | measured | met? |", "|---|---|---|"]
    for row in targets(summary):
        parts.append("| %s | %s | %s |" % (row["target"], row["measured"], met_text(row["met"])))
    parts += ["", "## Time per size and phase", ""]
    for n, row in sorted(summary.items()):
        parts += [size_table(n, row), ""]
        if row.get("carry") is not None:
            parts += ["The same arguments in a task that runs no module (`ansible.builtin.set_fact`), wall − empty "
                      "playbook: %s (Ansible parsing, templating and handing back a task of this size)." % fmt(
                          row["carry"]), ""]
    parts += ["Empty playbook (one `ansible.builtin.meta: noop` task): %s." % fmt(median(results["empty"])), "",
              "## Per-object task cost", "",
              "One task alone in a playbook, in an empty sandbox, against one `ansible.builtin.command: true` task "
              "(Ansible's floor for a module task).", "", single_table(results), "",
              "The same `netvirt.linux.veth` task (a veth pair in the host) while S(N) stands in the sandbox:", "",
              single_by_size_table(results, summary), "",
              "## Peak memory", "", "ru_maxrss of the process, largest over the repetitions.", "",
              memory_table(summary), "",
              "## Raw samples", "", "Seconds (memory in KiB).", "", "```json",
              json.dumps(results, indent=1, sort_keys=True), "```", ""]
    return "\n".join(parts)


# -- the plot ------------------------------------------------------------------


def plot(summary: dict, empty: Optional[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(summary)
    figure, axes = plt.subplots(figsize=(10.5, 5.5), dpi=100)
    colours = {"ip -batch": "tab:blue", "pyroute2": "tab:orange", "topology": "tab:green"}
    styles = {"build": "-", "rerun": ":", "teardown": "--"}
    for method, phase in SERIES:
        key = "%s %s" % (method, phase)
        points = [(n, summary[n]["wall"][key]) for n in sizes if summary[n]["wall"][key]]
        if points:
            axes.plot(*zip(*points), marker="o", color=colours[method], linestyle=styles[phase],
                      label="%s %s (wall)" % (method, phase))
    for phase in ("build", "rerun", "teardown"):
        key = "topology %s" % phase
        points = [(n, summary[n]["module"][key]) for n in sizes if summary[n]["module"].get(key)]
        if points:
            axes.plot(*zip(*points), marker="x", color="tab:red", linestyle=styles[phase], alpha=0.8,
                      label="topology %s (module's own time)" % phase)
    if empty and sizes:
        axes.plot([sizes[0], sizes[-1]], [empty, empty], color="grey", linestyle=":", label="empty playbook")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("N (namespaces)")
    axes.set_ylabel("seconds (median)")
    axes.set_title("S(N): time against N")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(str(path))
    plt.close(figure)


# -- measuring (root, in sandboxes) -----------------------------------------------


def pyroute2_build(n: int) -> None:
    """Build S(n) in this process with pyroute2; print {seconds, memory_kb} as JSON. Runs inside the sandbox."""
    from pyroute2 import IPRoute
    from pyroute2 import netns as pyroute2_netns

    started = time.monotonic()
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    fds, sockets = [], []
    # pyroute2 0.9's in-process create (its public create() forks a helper per namespace).
    create_here = getattr(pyroute2_netns, "_create", None) or pyroute2_netns.create
    for i in range(n):
        # As `ip netns add`, in this process: unshare, bind-mount, open a socket inside, go home.
        create_here("n%d" % i)
        sockets.append(IPRoute())
        pyroute2_netns.setns(home, flags=0)
        fds.append(os.open("/run/netns/n%d" % i, os.O_RDONLY))
    host = IPRoute()
    host.link("add", ifname=BRIDGE, kind="bridge", state="up")
    bridge = host.link_lookup(ifname=BRIDGE)[0]
    for i in range(n):
        host.link("add", ifname="n%d-br" % i, kind="veth", master=bridge, state="up",
                  peer={"ifname": "eth0", "net_ns_fd": fds[i]})
    for i, sock in enumerate(sockets):
        sock.link("set", index=sock.link_lookup(ifname="lo")[0], state="up")
        eth0 = sock.link_lookup(ifname="eth0")[0]
        ip, prefix = address(i).split("/")
        sock.addr("add", index=eth0, address=ip, prefixlen=int(prefix))
        sock.link("set", index=eth0, state="up")
        sock.close()
    host.close()
    for fd in fds:
        os.close(fd)
    print(json.dumps({"seconds": time.monotonic() - started,
                      "memory_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def cpu_times() -> List[int]:
    """The machine's CPU time counters (/proc/stat's first line: user, nice, system, idle, iowait, irq, softirq...)."""
    with open("/proc/stat") as handle:
        return [int(field) for field in handle.readline().split()[1:]]


def settle(limit: float = 60.0, quiet: float = 0.02) -> float:
    """Wait until the kernel is quiet: softirq under ``quiet`` of the machine's time over half a second
    (at most ``limit`` seconds). Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_times()
        time.sleep(0.5)
        after = cpu_times()
        total = sum(after) - sum(before)
        if total > 0 and (after[6] - before[6]) / total < quiet:
            break
    return time.monotonic() - started


class Bench:
    def __init__(self, workdir: Path, settle_limit: float = 60.0):
        self.workdir = workdir
        self.settle_limit = settle_limit
        # Seconds waited for a quiet kernel before each timed phase (reported with the raw samples).
        self.settled: List[float] = []

    def quiet(self) -> None:
        self.settled.append(round(settle(self.settle_limit), 2))

    def sandbox(self):
        from sandbox import Sandbox

        return Sandbox(Path(tempfile.mkdtemp(dir=self.workdir)), hostname="bench")

    @staticmethod
    def timed(box, argv: List[str]) -> float:
        started = time.monotonic()
        box.run(argv, timeout=3600)
        return time.monotonic() - started

    @staticmethod
    def playbook(box, plays) -> tuple:
        """(wall seconds, the last task's result)."""
        started = time.monotonic()
        records = box.playbook(plays)[1]
        wall = time.monotonic() - started
        return wall, (records[-1]["result"] if records else {})

    def wait_gone(self, box) -> None:
        box.run(["sh", "-c", WAIT_DEVICES_GONE], timeout=600)

    def empty_box(self, box, n: int) -> None:
        """Remove whatever of S(n) is left (untimed) and check the sandbox is empty."""
        scratch = Path(tempfile.mkdtemp(dir=self.workdir))
        (scratch / "down.sh").write_text(teardown_script(n, scratch).replace("set -e\nip -batch", "ip -force -batch"))
        box.run(["sh", str(scratch / "down.sh")], check=False, timeout=600)
        self.check_empty(box)

    @staticmethod
    def check_empty(box) -> None:
        assert box.namespaces() == set(), "namespaces left: %s" % sorted(box.namespaces())
        left = set(box.links()) - {"lo"}
        assert not left, "devices left in the sandbox: %s" % sorted(left)

    def size(self, n: int, repeat: int) -> dict:
        samples: Dict[str, list] = {}

        def add(key: str, value) -> None:
            samples.setdefault(key, []).append(value)

        box = self.sandbox()
        try:
            for repetition in range(repeat):
                log("S(%d) repetition %d/%d" % (n, repetition + 1, repeat))
                scratch = Path(tempfile.mkdtemp(dir=self.workdir))
                (scratch / "build.sh").write_text(build_script(n, scratch))
                (scratch / "down.sh").write_text(teardown_script(n, scratch))
                self.quiet()
                add("ip -batch build", self.timed(box, ["sh", str(scratch / "build.sh")]))
                assert len(box.namespaces()) == n
                self.quiet()
                add("ip -batch teardown", self.timed(box, ["sh", str(scratch / "down.sh")]))
                self.check_empty(box)

                self.quiet()
                started = time.monotonic()
                out = box.run([sys.executable, str(Path(__file__).resolve()), "--pyroute2-build", str(n)],
                              timeout=3600).stdout
                add("pyroute2 build", time.monotonic() - started)
                report = json.loads(out.strip().splitlines()[-1])
                add("pyroute2 build module", report["seconds"])
                add("pyroute2 memory_kb", report["memory_kb"])
                assert len(box.namespaces()) == n
                self.empty_box(box, n)

                self.quiet()
                wall, result = self.playbook(box, topology_play(n))
                add("topology build", wall)
                add("topology build module", result.get("elapsed"))
                add("topology memory_kb", result.get("peak_memory_kb"))
                assert result.get("changed") is True and len(box.namespaces()) == n, result.get("msg")
                self.quiet()
                wall, result = self.playbook(box, topology_play(n))
                add("topology rerun", wall)
                add("topology rerun module", result.get("elapsed"))
                add("topology memory_kb", result.get("peak_memory_kb"))
                add("topology rerun changed", result.get("changed"))
                self.quiet()
                add("carry", self.playbook(box, carry_play(n))[0])
                # One per-object task while S(n) stands: does its cost grow with the host's namespaces?
                self.quiet()
                wall, result = self.playbook(box, play([SINGLE_TASKS["netvirt.linux.veth (create)"]]))
                assert result.get("changed") is True, result
                add("single veth", wall)
                box.run(["ip", "link", "del", "pv0"])
                self.quiet()
                started = time.monotonic()
                result = self.playbook(box, topology_play(n, "absent"))[1]
                self.wait_gone(box)
                add("topology teardown", time.monotonic() - started)
                add("topology teardown module", result.get("elapsed"))
                add("topology memory_kb", result.get("peak_memory_kb"))
                self.check_empty(box)
        finally:
            box.close()
        return samples

    def fixed_costs(self, repeat: int) -> tuple:
        """Empty playbook and single-object task walls, in a sandbox of their own."""
        empty: List[float] = []
        single: Dict[str, list] = {}
        box = self.sandbox()
        try:
            for repetition in range(repeat):
                log("empty playbook and single tasks, repetition %d/%d" % (repetition + 1, repeat))
                self.quiet()
                empty.append(self.playbook(box, EMPTY_PLAY)[0])
                for name, task in SINGLE_TASKS.items():
                    wall, result = self.playbook(box, play([task]))
                    expect = "create" in name
                    assert result.get("changed") is expect, (name, result)
                    single.setdefault(name, []).append(wall)
                box.run(["ip", "link", "del", "pv0"])
                box.run(["ip", "netns", "del", "single"])
                self.check_empty(box)
        finally:
            box.close()
        return empty, single


def log(text: str) -> None:
    print("[%s] %s" % (time.strftime("%H:%M:%S"), text), file=sys.stderr, flush=True)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    return "%s; %d cores; kernel %s; Debian %s" % (
        cpu or platform.processor() or "?", os.cpu_count() or 0, platform.release(), debian)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("ansible-core", "pyroute2"):
        try:
            found.append("%s %s" % (name, version(name)))
        except PackageNotFoundError:
            found.append("%s ?" % name)
    iproute = subprocess.run(["ip", "-V"], capture_output=True, text=True, check=False).stdout.strip()
    return "Python %s; %s; %s" % (platform.python_version(), "; ".join(found), iproute)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated N (default 10,100,1000; with --quick 10,100)")
    parser.add_argument("--repeat", type=int, help="repetitions per method, medians reported (default 3; --quick 1)")
    parser.add_argument("--quick", action="store_true",
                        help="sizes 10,100, one repetition, settle at most 2 s (for tests)")
    parser.add_argument("--settle", type=float,
                        help="seconds at most to wait for a quiet kernel before each timed phase (default 60; --quick 2)")
    parser.add_argument("--output", help="write the Markdown here, the plot to images/performance.png beside it")
    parser.add_argument("--pyroute2-build", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in (args.sizes or ("10,100" if args.quick else "10,100,1000")).split(",") if s]
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.settle is None:
        args.settle = 2.0 if args.quick else 60.0
    if args.repeat < 1 or any(n < 1 for n in args.sizes):
        parser.error("--repeat and every size must be at least 1")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.pyroute2_build is not None:
        pyroute2_build(args.pyroute2_build)
        return 0
    if os.geteuid() != 0:
        print("bench.py needs root (it builds labs in unshare sandboxes)", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is missing: run `make bench`, or .venv/bin/python -m pip install -r requirements-bench.txt",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    # The sandbox's recording callback keeps only what is read here: a copy of a whole result (about
    # 0.4 MB at S(1000)) costs the playbook seconds that a user's run, without that callback, does not pay.
    os.environ["NETVIRT_RECORD_KEYS"] = RECORD_KEYS
    bench = Bench(Path(tempfile.mkdtemp(prefix="netvirt-bench-")), settle_limit=args.settle)
    results: dict = {"sizes": {}}
    results["empty"], results["single"] = bench.fixed_costs(args.repeat)
    for n in args.sizes:
        results["sizes"][str(n)] = bench.size(n, args.repeat)
    results["settled"] = bench.settled
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "repeat": args.repeat,
            "machine": machine(), "versions": versions()}
    image = None
    if args.output:
        output = Path(args.output)
        plot(summarise(results), median(results["empty"]), output.parent / "images" / "performance.png")
        image = "images/performance.png"
    text = render(results, meta, image)
    if args.output:
        Path(args.output).write_text(text)
        log("wrote %s and %s" % (args.output, Path(args.output).parent / image))
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
