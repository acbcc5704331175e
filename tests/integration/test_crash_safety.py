"""kill -9 at random moments of a 100-namespace build or teardown, then run again.

A run of netvirt.linux.topology may die anywhere: before it has marked what it
made, while namespaces are half made, while a teardown is halfway. The next
run of the same task must converge to exactly the desired state (or remove
everything the lab made), with nothing leaked or duplicated.

The module is run the way Ansible runs it on the managed host (the module
file with its arguments in a JSON file, the collection on the path) so that
each kill lands inside the module's own process; the final convergence is
checked with real ansible-playbook runs. Kill points come from a seeded
generator and are printed, so a failure says how to reproduce it
(NETVIRT_KILL_SEED, NETVIRT_KILL_ROUNDS).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

from sandbox import COLLECTIONS, PYTHON, REPO

N = 100
LAB = "crash"
SEED = int(os.environ.get("NETVIRT_KILL_SEED", "20261202"))
ROUNDS = int(os.environ.get("NETVIRT_KILL_ROUNDS", "10"))  # two kill points a round
MODULE = REPO / "plugins" / "modules" / "topology.py"


def lab_args(state: str = "present") -> dict:
    if state == "absent":
        return {"name": LAB, "state": "absent"}
    return {
        "name": LAB,
        "namespaces": [{"name": "k%03d" % i} for i in range(N)],
        "veths": [{"name": "eth0", "netns": "k%03d" % i, "addresses": ["10.77.%d.%d/16" % (i // 200, i % 200 + 1)],
                   "peer": "k%03d-br" % i, "peer_netns": ""} for i in range(N)],
        "bridges": [{"name": "br-crash", "addresses": ["10.77.255.254/16"],
                     "ports": ["k%03d-br" % i for i in range(N)]}],
    }


class ModuleRunner:
    """Runs topology.py inside the sandbox as Ansible would on a managed host."""

    def __init__(self, sandbox, workdir):
        self.sandbox = sandbox
        self.workdir = workdir
        self.env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))

    def args_file(self, state: str) -> str:
        path = self.workdir / ("args-%s.json" % state)
        if not path.exists():
            path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": lab_args(state)}))
        return str(path)

    def start(self, state: str) -> subprocess.Popen:
        return subprocess.Popen(self.sandbox.prefix() + [PYTHON, str(MODULE), self.args_file(state)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)

    def run(self, state: str) -> dict:
        proc = self.start(state)
        out, err = proc.communicate(timeout=300)
        try:
            result = json.loads(out)
        except ValueError:
            raise AssertionError("module printed no result (exit %d):\n%s\n%s" % (proc.returncode, out, err)) from None
        assert not result.get("failed"), result.get("msg", result)
        return result

    def kill_after(self, state: str, delay: float) -> bool:
        """Start a run, SIGKILL it after ``delay`` seconds; True when it was still running."""
        proc = self.start(state)
        time.sleep(delay)
        alive = proc.poll() is None
        if alive:
            # nsenter execs the module in place: this pid is the module's own process.
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        return alive


def lab_state(sandbox) -> dict:
    """What the kernel holds: namespaces, and per namespace its links (kind, alias, addresses, master, peer)."""
    names = sorted(sandbox.sh("ls /run/netns").stdout.split())
    script = "ip -j -d addr show; " + "".join("ip -n %s -j -d addr show; echo; " % ns for ns in names)
    chunks = [c for c in sandbox.sh(script).stdout.split("\n") if c.strip()]
    state = {"namespaces": names, "links": {}}
    for where, chunk in zip(["host"] + names, chunks):
        for link in json.loads(chunk):
            state["links"]["%s/%s" % (where, link["ifname"])] = (
                link.get("linkinfo", {}).get("info_kind"), link.get("ifalias"),
                sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", [])
                       if a.get("scope") != "link" and a["family"] == "inet"),
                link.get("master"))
    return state


def assert_built(state: dict) -> None:
    assert state["namespaces"] == ["k%03d" % i for i in range(N)], state["namespaces"]
    marker = "netvirt:lab=" + LAB
    links = state["links"]
    host = {k: v for k, v in links.items() if k.startswith("host/")}
    assert set(host) == {"host/lo", "host/br-crash"} | {"host/k%03d-br" % i for i in range(N)}, sorted(host)
    assert host["host/br-crash"][:3] == ("bridge", marker, ["10.77.255.254/16"])
    for i in range(N):
        ns = "k%03d" % i
        assert host["host/%s-br" % ns][:2] == ("veth", marker)
        assert host["host/%s-br" % ns][3] == "br-crash", host["host/%s-br" % ns]
        assert links["%s/lo" % ns][1] == marker
        assert links["%s/eth0" % ns][:3] == ("veth", marker, ["10.77.%d.%d/16" % (i // 200, i % 200 + 1)])
        assert {k for k in links if k.startswith(ns + "/")} == {ns + "/lo", ns + "/eth0"}


def assert_empty(state: dict) -> None:
    assert state["namespaces"] == [], state["namespaces"]
    assert set(state["links"]) == {"host/lo"}, sorted(state["links"])


def test_kill_nine_at_random_moments_then_run_again(sandbox, tmp_path):
    runner = ModuleRunner(sandbox, tmp_path)
    rng = random.Random(SEED)
    # How long a whole build and teardown take here, to aim the kills inside them.
    started = time.monotonic()
    runner.run("present")
    build_time = time.monotonic() - started
    assert_built(lab_state(sandbox))
    started = time.monotonic()
    runner.run("absent")
    teardown_time = time.monotonic() - started
    assert_empty(lab_state(sandbox))

    landed = 0
    for round_ in range(ROUNDS):
        for state, span in (("present", build_time), ("absent", teardown_time)):
            delay = round(rng.uniform(0.05, span * 1.1), 3)
            where = "seed %d round %d: kill -9 of the %s run after %.3f s" % (SEED, round_, state, delay)
            print(where)
            landed += runner.kill_after(state, delay)
            try:
                result = runner.run(state)
                after = lab_state(sandbox)
                if state == "present":
                    assert_built(after)
                else:
                    assert_empty(after)
                    assert not result.get("failed")
            except AssertionError as exc:
                raise AssertionError("%s; reproduce with NETVIRT_KILL_SEED=%d: %s" % (where, SEED, exc)) from None
    # Most kills must land inside a run, or the test proves little.
    assert landed >= ROUNDS, "only %d of %d kills landed inside a run" % (landed, 2 * ROUNDS)

    # The user's own path afterwards: build, build again (no change), teardown.
    play = [{"hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "lab", "netvirt.linux.topology": lab_args()}]}]
    records = sandbox.playbook(play)[1]
    assert records[-1]["result"]["changed"] is True
    records = sandbox.playbook(play)[1]
    assert records[-1]["result"]["changed"] is False
    assert_built(lab_state(sandbox))
    play[0]["tasks"][0]["netvirt.linux.topology"] = lab_args("absent")
    sandbox.playbook(play)
    assert_empty(lab_state(sandbox))
