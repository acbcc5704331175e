"""Generated labs (labgen.py) built two ways, each in a fresh sandbox.

Way ``topology``: the lab as one netvirt.linux.topology task, removed with
``state: absent``. Way ``per-object``: one netns/veth/tap/bridge/route task
per object, removed by a teardown of ``state: absent`` tasks.

Each way walks the user's path in one ansible-playbook run of five plays:
check mode with diff on the empty sandbox (nothing fails, the kernel is
unchanged), build, build again (changed=0), check mode again (changed=0),
teardown (back to the empty snapshot). Check mode is set as the play keywords
``check_mode: true`` and ``diff: true``, which is what ``--check --diff`` sets
for every task; one run instead of five keeps the set within its time budget.
After the build the kernel is read back (every link in its namespace with its
kind, addresses, master, up state, and each veth's peer in the right
namespace, resolved through link_netnsid) and every direct link pings across.

Lab tasks carry ``ignore_errors`` so that one failure does not hide the steps
after it; every task's status is asserted from the recorded results.

The seeds: NETVIRT_FUZZ_SEED (base, default 20261202) and NETVIRT_FUZZ_COUNT
(default 40); lab i has seed base+i. ``make fuzz SEED=... COUNT=...`` runs more.

Who runs the plays: every lab of both ways runs through inprocess.py, which
calls the same modules' main() with the same arguments and modes against the
same kernel, leaving out only the controller (a lab costs seconds instead of
half a minute). Real ansible-playbook runs of the same plays keep the
controller's path proven: in ``make test`` the first NETVIRT_FUZZ_ANSIBLE labs
of each way (default: 4 topology, 1 per-object, whose module run per object
and step costs about a CPU-second through Ansible; the first per-object lab
has a task of every per-object module: netns, veth, tap, bridge, route, which
test_first_per_object_lab_has_every_module checks); ``make soak`` runs the
other topology labs and three more per-object labs through ansible-playbook. NETVIRT_FUZZ_RUNNER=ansible
(what ``make fuzz`` sets) sends every lab of both ways through ansible-playbook,
none of them a soak.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import labgen
import pytest
import yaml
from sandbox import BIN, HERE, PYTHON

STEPS = ("check-empty", "build", "rerun", "check", "teardown")
CHECK_STEPS = ("check-empty", "check")
SNAPSHOT = [PYTHON, str(HERE / "snapshot.py")]
# One run holds every step; a loaded CI machine may need far more than the usual 300 s.
TIMEOUT = 1800


ALL_THROUGH_ANSIBLE = os.environ.get("NETVIRT_FUZZ_RUNNER") == "ansible"
# How many labs of each way go through ansible-playbook in make test, and in make soak (the
# per-object way's module run per object and step makes a lab a minute through Ansible).
THROUGH_ANSIBLE = ({way: int(os.environ["NETVIRT_FUZZ_ANSIBLE"]) for way in labgen.WAYS}
                   if os.environ.get("NETVIRT_FUZZ_ANSIBLE") else {"topology": 4, "per-object": 1})
SOAK_THROUGH_ANSIBLE = {"topology": labgen.DEFAULT_COUNT, "per-object": 4}


def _cases():
    cases = []
    for i, seed in enumerate(labgen.seeds()):
        for way in labgen.WAYS:
            if ALL_THROUGH_ANSIBLE or i < THROUGH_ANSIBLE[way]:
                cases.append(pytest.param(seed, way, "ansible", id="seed%d-%s" % (seed, way)))
            elif i < SOAK_THROUGH_ANSIBLE[way]:
                cases.append(pytest.param(seed, way, "ansible", id="seed%d-%s" % (seed, way), marks=pytest.mark.soak))
            if not ALL_THROUGH_ANSIBLE:
                cases.append(pytest.param(seed, way, "inprocess", id="seed%d-%s-inprocess" % (seed, way)))
    return cases


# -- the playbook -------------------------------------------------------------------


def lab_items(lab: labgen.Lab, way: str, step: str) -> list:
    """(module, description, args) of one step."""
    if way == "topology":
        if step == "teardown":
            return [("topology", "lab %s absent" % lab.name, {"name": lab.name, "state": "absent"})]
        return [("topology", "lab %s" % lab.name, lab.topology_args())]
    return lab.teardown_tasks() if step == "teardown" else lab.object_tasks()


def _command(name: str, argv: list) -> dict:
    return {"name": name, "ansible.builtin.command": {"argv": argv}, "changed_when": False, "check_mode": False}


def playbook(lab: labgen.Lab, way: str) -> list:
    inspect = {"pings": [list(p) for p in lab.pings], "forwarding": sorted(lab.forwarding())}
    plays = []
    for step in STEPS:
        tasks = [{"name": "%s: %s" % (step, desc), "netvirt.linux." + module: args, "ignore_errors": True}
                 for module, desc, args in lab_items(lab, way, step)]
        play = {"name": step, "hosts": "localhost", "gather_facts": False}
        if step in CHECK_STEPS:
            play.update(check_mode=True, diff=True)
        if step == "check-empty":
            tasks = [_command("snapshot before", SNAPSHOT)] + tasks + [_command("snapshot after check", SNAPSHOT)]
        elif step == "build":
            tasks.append(_command("inspect", [PYTHON, labgen.__file__, "inspect", json.dumps(inspect)]))
        elif step == "teardown":
            tasks.append(_command("snapshot after teardown", SNAPSHOT))
        play["tasks"] = tasks
        plays.append(play)
    return plays


def run_inprocess(sandbox, plays: list):
    """The plays' tasks in one Python process in the sandbox (inprocess.py's plays, forked from the
    sandbox's runner); returns (proc, records)."""
    tmp = Path(tempfile.mkdtemp(dir=sandbox.workdir, prefix="lab-"))
    path, record = tmp / "plays.json", tmp / "record.json"
    path.write_text(json.dumps(plays))
    sandbox.plays_inprocess(path, record, timeout=TIMEOUT)
    proc = subprocess.CompletedProcess(["inprocess.py", str(path), str(record)], 0, "", "")
    return proc, json.loads(record.read_text()) if record.exists() else []


def run_playbook(sandbox, plays: list):
    """Sandbox.playbook with a longer timeout; returns (proc, records)."""
    tmp = Path(tempfile.mkdtemp(dir=sandbox.workdir, prefix="lab-"))
    path, record = tmp / "playbook.yml", tmp / "record.json"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    argv = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % PYTHON, str(path)]
    proc = sandbox.run(argv, check=False, env=sandbox.ansible_env(record), timeout=TIMEOUT)
    return proc, json.loads(record.read_text()) if record.exists() else []


# -- what the run must show -----------------------------------------------------------


def step_problems(lab: labgen.Lab, way: str, records: list) -> list:
    """(step, problem) for every lab task that failed or reported the wrong change."""
    problems = []
    results = {}
    for step in STEPS:
        expected = lab_items(lab, way, step)
        got = [r for r in records if r["task"].startswith(step + ": ")]
        results[step] = got
        if len(got) != len(expected):
            problems.append((step, "%d of its %d tasks ran (the playbook stopped early)" % (len(got), len(expected))))
        for record in got:
            result = record["result"]
            if record["status"] != "ok":
                problems.append((step, "task '%s' %s: %s" % (
                    record["task"], record["status"], result.get("msg", result))))
                continue
            if step in ("check-empty", "build") and result.get("changed") is not True:
                problems.append((step, "task '%s' reported no change on an empty host" % record["task"]))
            if step in ("rerun", "check") and result.get("changed") is not False:
                problems.append((step, "task '%s' reported changed=%s with actions %s" % (
                    record["task"], result.get("changed"), result.get("actions"))))
            if step in CHECK_STEPS and "diff" not in result:
                problems.append((step, "task '%s' returned no diff in check mode" % record["task"]))
    if way == "topology" and all(len(results[s]) == 1 and results[s][0]["status"] == "ok"
                                 for s in ("check-empty", "build")):
        predicted, done = results["check-empty"][0]["result"], results["build"][0]["result"]
        if predicted.get("actions") != done.get("actions"):
            problems.append(("check-empty", "check mode predicted actions %s, the build did %s" % (
                predicted.get("actions"), done.get("actions"))))
    return problems


def _addresses(entry: dict) -> list:
    return sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in entry.get("addr_info", [])
                  if not (a.get("family") == "inet6" and a.get("scope") == "link"))


def kernel_problems(lab: labgen.Lab, state: dict) -> list:
    """What the kernel holds after the build, against the lab."""
    problems = []
    if sorted(state["namespaces"]) != sorted(lab.namespace_names()):
        problems.append("namespaces are %s, the lab has %s" % (state["namespaces"], sorted(lab.namespace_names())))
    links = {ns: {e["ifname"]: e for e in s["links"]} for ns, s in state["netns"].items()}
    ids = {ns: {i["nsid"]: i.get("name") for i in s["ids"]} for ns, s in state["netns"].items()}
    for ns in ["host"] + lab.namespace_names():
        wanted = {i.name for i in lab.ifaces.values() if labgen.label(i.netns) == ns} | {"lo"}
        have = set(links.get(ns, {}))
        if have != wanted:
            problems.append("%s holds links %s, the lab has %s" % (ns, sorted(have), sorted(wanted)))
    for iface in lab.ifaces.values():
        ns = labgen.label(iface.netns)
        entry = links.get(ns, {}).get(iface.name)
        if entry is None:
            continue
        where = "%s in %s" % (iface.name, ns)
        info = entry.get("linkinfo", {})
        if info.get("info_kind") != iface.kind:
            problems.append("%s is of kind %s, not %s" % (where, info.get("info_kind"), iface.kind))
        if _addresses(entry) != sorted(iface.addresses):
            problems.append("%s has addresses %s, not %s" % (where, _addresses(entry), sorted(iface.addresses)))
        if entry.get("master") != iface.master:
            problems.append("%s has master %s, not %s" % (where, entry.get("master"), iface.master))
        if ("UP" in entry.get("flags", [])) != iface.up:
            problems.append("%s has flags %s, wanted up=%s" % (where, entry.get("flags"), iface.up))
        if iface.mtu is not None and entry.get("mtu") != iface.mtu:
            problems.append("%s has mtu %s, not %s" % (where, entry.get("mtu"), iface.mtu))
        data = info.get("info_data") or {}
        if iface.tun_type is not None and data.get("type") != iface.tun_type:
            problems.append("%s is a tun device of type %s, not %s" % (where, data.get("type"), iface.tun_type))
        if iface.stp is not None and data.get("stp_state") != int(iface.stp):
            problems.append("%s has stp_state %s, wanted stp=%s" % (where, data.get("stp_state"), iface.stp))
        port = info.get("info_slave_data") or {}
        for key, value in iface.port.items():
            if port.get(key) != value:
                problems.append("%s has port %s=%s, not %s" % (where, key, port.get(key), value))
        if iface.peer is not None:
            problems += _peer_problems(iface, entry, links, ids)
    for route in lab.routes:
        problems += _route_problems(route, state["netns"].get(labgen.label(route.get("netns")), {}).get("routes", []))
    for ns, value in sorted(state["forwarding"].items()):
        if value != lab.forwarding()[ns]:
            problems.append("net.ipv4.ip_forward in %s is %r, not 1" % (ns, value))
    for ping in state["pings"]:
        if not ping["ok"]:
            problems.append("no ping from %s to %s across their direct link" % (ping["from"], ping["to"]))
    return problems


def _peer_problems(iface: labgen.Iface, entry: dict, links: dict, ids: dict) -> list:
    """The peer is (namespace, index): link_netnsid names the peer's namespace, link_index its index there."""
    ns = labgen.label(iface.netns)
    peer_ns, peer_name = labgen.label(iface.peer[0]), iface.peer[1]
    where = "veth %s in %s" % (iface.name, ns)
    peer = links.get(peer_ns, {}).get(peer_name)
    if peer is None:
        return ["%s: its peer %s in %s is missing" % (where, peer_name, peer_ns)]
    problems = []
    # ip names a peer in the link's own namespace ("link": name), elsewhere gives its index.
    if peer_ns == ns and entry.get("link") != peer_name:
        problems.append("%s has peer %s, not %s" % (where, entry.get("link"), peer_name))
    elif peer_ns != ns and entry.get("link_index") != peer["ifindex"]:
        problems.append("%s has peer index %s, but %s in %s has index %s" % (
            where, entry.get("link_index"), peer_name, peer_ns, peer["ifindex"]))
    nsid = entry.get("link_netnsid")
    if peer_ns == ns:
        if nsid is not None:
            problems.append("%s has its peer in netns id %s, not in its own namespace" % (where, nsid))
    elif nsid is None:
        problems.append("%s has its peer in its own namespace, not in %s" % (where, peer_ns))
    else:
        # `ip netns list-id` names the ids of named namespaces; the sandbox's own (the host) has no name.
        named = ids.get(ns, {}).get(nsid)
        if named != (None if peer_ns == "host" else peer_ns):
            problems.append("%s has its peer in netns id %s = %s, not in %s" % (where, nsid, named or "unnamed", peer_ns))
    return problems


def _route_problems(route: dict, table: list) -> list:
    ns = labgen.label(route.get("netns"))
    for entry in table:
        if (entry.get("dst") == route["dst"] and entry.get("gateway") == route["gateway"]
                and entry.get("dev") == route.get("dev", entry.get("dev"))
                and entry.get("metric", 0) == route.get("metric", 0)):
            return []
    return ["route %s in %s is missing; the main table holds %s" % (route, ns, table)]


# -- the test ------------------------------------------------------------------------


@pytest.mark.parametrize("seed,way,runner", _cases())
def test_generated_lab(sandbox, seed, way, runner):
    lab = labgen.generate(seed)
    run = run_playbook if runner == "ansible" else run_inprocess
    proc, records = run(sandbox, playbook(lab, way))
    by_name = {r["task"]: r for r in records}

    problems = step_problems(lab, way, records)

    def snapshot(name):
        record = by_name.get(name)
        if record is None or record["status"] != "ok":
            problems.append(("", "task '%s' did not run: %s" % (name, record and record["result"].get("msg"))))
            return None
        return json.loads(record["result"]["stdout"])

    before, after_check = snapshot("snapshot before"), snapshot("snapshot after check")
    if before is not None and after_check is not None and after_check != before:
        problems.append(("check-empty", "check mode changed the kernel: %s" % _changed(before, after_check)))
    inspected = snapshot("inspect")
    if inspected is not None:
        problems += [("build", p) for p in kernel_problems(lab, inspected)]
    after = snapshot("snapshot after teardown")
    if before is not None and after is not None and after != before:
        problems.append(("teardown", "the kernel is not back to empty: %s" % _changed(before, after)))
    if proc.returncode != 0:
        problems.append(("", "ansible-playbook exited %d: %s" % (proc.returncode, (proc.stdout + proc.stderr)[-2000:])))

    if problems:
        order = {s: i for i, s in enumerate(STEPS)}
        problems.sort(key=lambda p: order.get(p[0], -1))
        first_step = problems[0][0] or "playbook"
        lines = "\n".join("  [%s] %s" % (step or "playbook", text[:600]) for step, text in problems[:20])
        pytest.fail("generated lab seed=%d way=%s (%s) failed at step '%s' (%s)\n%s\n"
                    "reproduce: make fuzz SEED=%d COUNT=1   (print the lab: python tests/integration/labgen.py %d %s)"
                    % (seed, way, runner, first_step, lab.summary(), lines, seed, seed, way), pytrace=False)


def _changed(before: dict, after: dict) -> str:
    """Which parts of two snapshots differ, briefly."""
    out = []
    for part in sorted(set(before) | set(after)):
        b, a = before.get(part), after.get(part)
        if b != a:
            out.append("%s: %s -> %s" % (part, json.dumps(b, sort_keys=True)[:300], json.dumps(a, sort_keys=True)[:300]))
    return "; ".join(out)


def test_first_per_object_lab_has_every_module():
    """make test sends one per-object lab (the base seed's) through ansible-playbook, the rest being soaks:
    it has a task of every module the per-object way uses, so that each goes through the controller."""
    used = {module for seed in range(labgen.BASE_SEED, labgen.BASE_SEED + labgen.DEFAULT_COUNT)
            for module, _desc, _args in lab_items(labgen.generate(seed), "per-object", "build")}
    first = {module for module, _desc, _args in lab_items(labgen.generate(labgen.BASE_SEED), "per-object", "build")}
    assert used == {"netns", "veth", "tap", "bridge", "route"}
    assert first == used, "seed %d's lab through ansible-playbook leaves out %s" % (labgen.BASE_SEED, used - first)
