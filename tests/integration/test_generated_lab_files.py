"""Generated lab FILES (labfilegen.py: nodes, links, LANs, placements, routing) walked through their life.

One host, in-process (compile_lab here, the topology and reachability modules' main() through the
sandbox's runner, inprocess.py), one sandbox per lab, one runner request per lab:

preview (check mode with diff on the empty sandbox: changed, a diff, the kernel unchanged), build
(changed), every generated check holds (netvirt.linux.reachability over ``compiled.checks``), build
again (changed=0), the lab with a node and a link APPENDED (the compiled addresses of every existing
interface the same, and in the kernel every existing interface still there with the same kind,
addresses, master and MTU), its checks hold too, removed (the kernel back to the empty snapshot).

Three hosts over SSH (multihost.py), through the real ``netvirt.linux.lab`` action plugin with the
generated file: the same walk in one ansible-playbook run, one LAN spanning the three hosts (head-end
replication, ``remotes``). make test runs one such lab; make soak and make fuzz more.

Seeds: NETVIRT_FUZZ_SEED (base) and NETVIRT_LABFILE_COUNT (one host, default 4); the three-host labs
are NETVIRT_LABFILE_MULTIHOST_COUNT of them (default 3: the first in make test, the others soaks).
"""

from __future__ import annotations

import json
import os
import sys

import labfilegen
import pytest
import yaml
from multihost import LabHosts, ssh_key
from sandbox import COLLECTIONS, HERE, PYTHON

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.netvirt.linux.plugins.module_utils._labfile import compile_lab

# The probes: one echo each, a short wait for the ones expected to fail.
PROBE = {"count": 1, "interval": 0.2, "timeout": 1.0}
# A checks list whose pings all go out at once (reachability runs 32 at a time) stays short.
MULTIHOST_COUNT = int(os.environ.get("NETVIRT_LABFILE_MULTIHOST_COUNT") or 3)
ALL_NOW = os.environ.get("NETVIRT_FUZZ_RUNNER") == "ansible"  # make fuzz: none of them a soak
HOSTS = ("labhost1", "labhost2", "labhost3")


def reproduce(seed: int, hosts=()) -> str:
    return "reproduce: NETVIRT_FUZZ_SEED=%d NETVIRT_LABFILE_COUNT=1 (print the lab: python %s %d %s)" % (
        seed, "tests/integration/labfilegen.py", seed, " ".join(hosts))


def kept_interfaces(before: dict, after: dict) -> list:
    """Problems: an interface of ``before`` (a snapshot) missing or different in ``after``."""
    problems = []
    spaces = [("host", before["host"], after["host"])] + [
        (ns, links, after["netns"].get(ns)) for ns, links in sorted(before["netns"].items())]
    for ns, links, now in spaces:
        if now is None:
            problems.append("namespace %s is gone" % ns)
            continue
        for name, link in sorted(links.items()):
            if name not in now:
                problems.append("%s in %s is gone" % (name, ns))
                continue
            for key in ("kind", "addresses", "master", "mtu"):
                if now[name].get(key) != link.get(key):
                    problems.append("%s in %s: %s %s became %s" % (name, ns, key, link.get(key), now[name].get(key)))
    return problems


def kept_addresses(before, after) -> list:
    """Problems: a compiled address of an existing node's interface that the appended lab changed."""
    return ["%s %s: %s became %s" % (node, ifname, cidrs, after.addresses.get(node, {}).get(ifname))
            for node, interfaces in sorted(before.addresses.items())
            for ifname, cidrs in sorted(interfaces.items())
            if after.addresses.get(node, {}).get(ifname) != cidrs]


# An IPv6 address is tentative for a second or two after it is added (duplicate address detection):
# until then no ping leaves from it or reaches it. topology returns before that; a probe waits.
SETTLE = ("for i in $(seq 50); do busy=''; for ns in '' $(ls /run/netns 2>/dev/null); do "
          "if [ -n \"$(ip ${ns:+-n $ns} -6 addr show tentative)\" ]; then busy=1; fi; done; "
          "[ -z \"$busy\" ] && exit 0; sleep 0.1; done; exit 1")


def settle(box) -> None:
    """Wait (up to 5 s) until no address in the sandbox or its namespaces is tentative."""
    box.sh(SETTLE, check=False)


# -- one host, in-process ----------------------------------------------------------------------


def walk_steps(compiled, grown) -> list:
    share, grown_share = compiled.shares["localhost"], grown.shares["localhost"]

    def topology(name, definition, **kwargs):
        return dict(name=name, module="netvirt.linux.topology", ignore_errors=True,
                    args={"definition": definition, "state": "present"}, **kwargs)

    def probe(name, checks):
        return {"name": name, "module": "netvirt.linux.reachability", "ignore_errors": True,
                "args": dict(PROBE, checks=checks)}

    return [
        {"name": "empty", "snapshot": True},
        topology("preview", share, check_mode=True, diff=True),
        {"name": "after preview", "snapshot": True},
        topology("build", share),
        {"name": "built", "snapshot": True},
        probe("checks", compiled.checks),
        topology("rerun", share),
        topology("append", grown_share),
        {"name": "appended", "snapshot": True},
        probe("appended checks", grown.checks),
        {"name": "remove", "module": "netvirt.linux.topology", "ignore_errors": True,
         "args": {"name": compiled.name, "state": "absent"}},
        {"name": "removed", "snapshot": True},
    ]


@pytest.mark.parametrize("seed", labfilegen.seeds())
def test_generated_lab_file(sandbox, seed):
    lab = labfilegen.generate(seed)
    grown_lab = labfilegen.append(lab, seed)
    compiled, grown = compile_lab(lab), compile_lab(grown_lab)
    problems = ["compiled: " + p for p in kept_addresses(compiled, grown)]

    records = {}
    steps = walk_steps(compiled, grown)
    while steps:
        # Each probe waits for IPv6 duplicate address detection to end first (see settle()).
        cut = next((i for i, step in enumerate(steps) if i and "checks" in step["name"]), len(steps))
        records.update((r["task"], r) for r in sandbox.steps(steps[:cut], via="inprocess"))
        if cut < len(steps):
            settle(sandbox)
        steps = steps[cut:]

    def result(name, changed=None, failed=False):
        record = records.get(name)
        if record is None:
            problems.append("%s: did not run" % name)
            return {}
        if (record["status"] == "failed") != failed:
            problems.append("%s: %s: %s" % (name, record["status"], record["result"].get("msg", "")[:1500]))
        if changed is not None and record["result"].get("changed") is not changed:
            problems.append("%s: changed=%s, not %s (actions %s)" % (
                name, record["result"].get("changed"), changed, record["result"].get("actions")))
        return record["result"]

    def snapshot(name):
        return json.loads(result(name).get("stdout") or "null")

    if not result("preview", changed=True).get("diff"):
        problems.append("preview: check mode with diff returned no diff")
    empty = snapshot("empty")
    if snapshot("after preview") != empty:
        problems.append("preview: check mode changed the kernel")
    result("build", changed=True)
    built = snapshot("built")
    if built is not None and sorted(built["netns"]) != sorted(n for n in compiled.placement if n != "host"):
        problems.append("build: namespaces %s, the lab's nodes %s" % (sorted(built["netns"]), sorted(compiled.placement)))
    for name, checks in (("checks", compiled.checks), ("appended checks", grown.checks)):
        summary = result(name).get("summary", {})
        pairs = sum(len(check["to"]) for check in checks)
        if summary.get("pairs") != pairs or summary.get("failed") != 0:
            problems.append("%s: %s of %d pairs" % (name, summary, pairs))
    result("rerun", changed=False)
    result("append", changed=True)
    appended = snapshot("appended")
    if built is not None and appended is not None:
        problems += ["append: " + p for p in kept_interfaces(built, appended)]
    result("remove", changed=True)
    if snapshot("removed") != empty:
        problems.append("remove: the kernel is not back to the empty snapshot")

    assert not problems, "generated lab file seed=%d (%s) failed:\n  %s\n%s\n%s" % (
        seed, compiled.summary(), "\n  ".join(problems), reproduce(seed), yaml.safe_dump(lab, sort_keys=False))


# -- three hosts over SSH, through the action plugin ---------------------------------------------


def _multihost_cases():
    cases = []
    base = int(os.environ.get("NETVIRT_FUZZ_SEED") or labfilegen.BASE_SEED) + 1000
    for i, seed in enumerate(range(base, base + MULTIHOST_COUNT)):
        marks = [] if (i == 0 or ALL_NOW) else [pytest.mark.soak]
        cases.append(pytest.param(seed, id="seed%d" % seed, marks=marks))
    return cases


@pytest.fixture(scope="module")
def labfile_key(tmp_path_factory):
    return ssh_key(tmp_path_factory.mktemp("ssh") / "key")


def three_hosts(sandbox, tmp_path, key) -> LabHosts:
    """Three lab hosts; they share this machine's file system, so the test's own interpreter (which has
    the collection's libraries) is theirs: no lab_host preparation."""
    hosts = LabHosts(sandbox, tmp_path / "hosts", HOSTS, key)
    inventory = yaml.safe_load(hosts.inventory.read_text())
    inventory["all"]["vars"]["ansible_python_interpreter"] = PYTHON
    hosts.inventory.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return hosts


def multihost_plays(path, grown_path, ipv6: bool) -> list:
    snapshot = {"name": "snapshot", "ansible.builtin.command": {"argv": [PYTHON, str(HERE / "snapshot.py")]},
                "changed_when": False, "check_mode": False}

    def play(step, src, check=False, probe=False, state="present", before=False, after=True):
        tasks = [dict(snapshot, name="%s: snapshot before" % step)] if before else []
        tasks.append({"name": "%s: lab" % step, "netvirt.linux.lab": {"src": str(src), "state": state},
                      "register": "lab_result", "ignore_errors": True})
        if after:
            tasks.append(dict(snapshot, name="%s: snapshot after" % step))
        if probe and ipv6:
            tasks.append({"name": "%s: settle" % step, "ansible.builtin.shell": SETTLE, "changed_when": False,
                          "failed_when": False, "check_mode": False})
        if probe:
            tasks.append({"name": "%s: checks" % step, "ignore_errors": True,
                          "netvirt.linux.reachability": dict(PROBE, checks="{{ lab_result.checks }}"),
                          "when": "lab_result.checks | default([]) | length > 0"})
        entry = {"name": step, "hosts": "all", "gather_facts": False, "tasks": tasks}
        if check:
            entry.update(check_mode=True, diff=True)
        return entry

    return [play("preview", path, check=True, before=True), play("build", path, probe=True, after=False),
            play("rerun", path), play("append", grown_path, probe=True), play("remove", grown_path, state="absent")]


@pytest.mark.parametrize("seed", _multihost_cases())
def test_generated_lab_file_on_three_hosts(sandbox, tmp_path, labfile_key, seed):
    lab = labfilegen.generate(seed, HOSTS)
    grown_lab = labfilegen.append(lab, seed)
    underlay = {name: "10.99.0.%d" % number for number, name in enumerate(HOSTS, start=1)}
    compiled, grown = compile_lab(lab, underlay), compile_lab(grown_lab, underlay)
    problems = ["compiled: " + p for p in kept_addresses(compiled, grown)]
    path, grown_path = tmp_path / "lab.yml", tmp_path / "grown.yml"
    path.write_text(yaml.safe_dump(lab, sort_keys=False))
    grown_path.write_text(yaml.safe_dump(grown_lab, sort_keys=False))

    hosts = three_hosts(sandbox, tmp_path, labfile_key)
    try:
        proc, records = hosts.playbook(
            multihost_plays(path, grown_path, bool(lab.get("addressing", {}).get("ipv6"))), check=False)
    finally:
        hosts.close()
    if proc.returncode != 0:
        problems.append("ansible-playbook exited %d: %s" % (proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
    got = {(r["host"], r["task"]): r for r in records}

    def result(host, task, changed=None):
        record = got.get((host, task))
        if record is None:
            problems.append("%s on %s: did not run" % (task, host))
            return {}
        if record["status"] != "ok":
            problems.append("%s on %s: %s: %s" % (task, host, record["status"], str(record["result"].get("msg"))[:1500]))
        if changed is not None and record["result"].get("changed") is not changed:
            problems.append("%s on %s: changed=%s, not %s (actions %s)" % (
                task, host, record["result"].get("changed"), changed, record["result"].get("actions")))
        return record["result"]

    def snapshot(host, task):
        return json.loads(result(host, task).get("stdout") or "null")

    for host in HOSTS:
        holds = any(place == host for place in compiled.placement.values())
        result(host, "preview: lab", changed=holds)
        empty = snapshot(host, "preview: snapshot before")
        if snapshot(host, "preview: snapshot after") != empty:
            problems.append("preview on %s: check mode changed the kernel" % host)
        result(host, "build: lab", changed=holds)
        for step, source in (("build", compiled), ("append", grown)):
            checks = source.checks_for(host)
            if checks:
                summary = result(host, "%s: checks" % step).get("summary", {})
                pairs = sum(len(check["to"]) for check in checks)
                if summary.get("pairs") != pairs or summary.get("failed") != 0:
                    problems.append("%s checks on %s: %s of %d pairs" % (step, host, summary, pairs))
        result(host, "rerun: lab", changed=False)
        built = snapshot(host, "rerun: snapshot after")
        result(host, "append: lab")
        appended = snapshot(host, "append: snapshot after")
        if built is not None and appended is not None:
            problems += ["append on %s: %s" % (host, p) for p in kept_interfaces(built, appended)]
        result(host, "remove: lab")
        if snapshot(host, "remove: snapshot after") != empty:
            problems.append("remove on %s: the kernel is not back to the empty snapshot" % host)

    assert not problems, "generated lab file seed=%d on %s (%s) failed:\n  %s\n%s\n%s" % (
        seed, ", ".join(HOSTS), compiled.summary(), "\n  ".join(problems[:30]), reproduce(seed, HOSTS),
        yaml.safe_dump(lab, sort_keys=False))


# -- the soak: 3 hosts x 30 nodes, one LAN spanning all three --------------------------------------


def big_lab(per_host: int = 30) -> dict:
    """Issue 26's size: ``per_host`` nodes on each of the three hosts, all on one LAN."""
    nodes = {"n%d-%02d" % (h, k): {"host": host} for h, host in enumerate(HOSTS, start=1) for k in range(per_host)}
    return {"name": "big", "nodes": nodes, "links": [{"name": "lan", "nodes": list(nodes)}]}


def anchored(checks: list, anchors: set, addresses: dict) -> list:
    """The checks an anchor node keeps whole; every other node's, to the anchors' addresses only."""
    wanted = {cidr.split("/")[0] for node in anchors for cidrs in addresses[node].values() for cidr in cidrs}
    return [dict(check, to=[to for to in check["to"] if to in wanted]) if check["from"] not in anchors else check
            for check in checks]


@pytest.mark.soak
def test_three_hosts_by_thirty_nodes_in_one_run(sandbox, tmp_path, labfile_key):
    """One lab run (the lab action plugin on the three hosts, as lab_up runs it) builds 90 nodes on one LAN
    across three hosts; then, as lab_check does, each host is compared (unchanged) and the plugin's checks
    are every pair (8010). Probed: every node to the first node of each host, and those three to every
    node, one host after the other. Not all 8010 pairs: the three simulated hosts share ONE kernel, whose
    ARP table (gc_thresh3: 1024 entries in all namespaces together, settable only in the machine's own
    namespace) all pairs overflow ("neighbour: arp_cache: neighbor table overflow!", pings lost). Removed
    after. The runs' times are printed (pytest -s)."""
    import time

    lab = big_lab()
    compiled = compile_lab(lab, {name: "10.99.0.%d" % number for number, name in enumerate(HOSTS, start=1)})
    anchors = {"n%d-00" % number for number in range(1, len(HOSTS) + 1)}
    probes = {host: anchored(compiled.checks_for(host), anchors, compiled.addresses) for host in HOSTS}
    path = tmp_path / "big.yml"
    path.write_text(yaml.safe_dump(lab, sort_keys=False))
    hosts = three_hosts(sandbox, tmp_path, labfile_key)
    try:
        up = [{"name": "up", "hosts": "all", "gather_facts": False, "tasks": [
            {"name": "lab", "netvirt.linux.lab": {"src": str(path)}}]}]
        check = [{"name": "check", "hosts": "all", "gather_facts": False, "serial": 1,
                  "vars": {"probes": probes}, "tasks": [
                      {"name": "lab", "netvirt.linux.lab": {"src": str(path)}, "check_mode": True},
                      {"name": "checks", "netvirt.linux.reachability": {
                          "checks": "{{ probes[inventory_hostname] }}"}}]}]
        started = time.monotonic()
        up_proc, up_records = hosts.playbook(up, check=False)
        took = time.monotonic() - started
        proc, records = hosts.playbook(check, check=False)
        took_checks = time.monotonic() - started - took
        down = [{"name": "down", "hosts": "all", "gather_facts": False, "tasks": [
            {"name": "lab", "netvirt.linux.lab": {"src": str(path), "state": "absent"}}]}]
        hosts.playbook(down)
        namespaces = {name: host.namespaces() for name, host in hosts.hosts.items()}
    finally:
        hosts.close()
    print("3 hosts x 30 nodes, one LAN: lab_up's run %.1f s, probes %.1f s" % (took, took_checks))
    failures = ["%s on %s: %s" % (r["task"], r["host"], str(r["result"].get("msg"))[:2000])
                for r in up_records + records if r["status"] != "ok"]
    assert up_proc.returncode == 0 and proc.returncode == 0 and not failures, failures or (
        up_proc.stdout + proc.stdout + proc.stderr)[-3000:]
    assert sorted(r["host"] for r in up_records if r["task"] == "lab" and r["result"].get("changed")) == sorted(HOSTS)
    checked = {r["host"]: r["result"] for r in records if r["task"] == "lab"}
    assert not [host for host, result in checked.items() if result.get("changed")], "the lab was not as built"
    assert sum(len(check["to"]) for result in checked.values() for check in result["checks"]) == 90 * 89
    summaries = {r["host"]: r["result"]["summary"] for r in records if r["task"] == "checks"}
    assert sorted(summaries) == sorted(HOSTS)
    assert sum(s["pairs"] for s in summaries.values()) == 87 * 3 + 3 * 89  # 87 nodes to the 3 anchors, the anchors to the 89 others
    assert all(s["failed"] == 0 for s in summaries.values()), summaries
    assert namespaces == {name: set() for name in HOSTS}
