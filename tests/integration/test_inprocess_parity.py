"""Every module through ansible-playbook and through the in-process runner: the same records.

Sandbox.module, four_steps and refused run modules in-process by default
(inprocess.py: main() with the arguments Ansible's action plugin adds, the
result converted as the controller records it). This file is what makes that
stand in for ansible-playbook: for every module, one sequence of steps (the
four steps where the module changes state, a refusal, an argument-spec
failure, a warning or a failed result where the module has one) runs through
a real ansible-playbook in one fresh sandbox and in-process in another; the
records (status and result of each call, the kernel state at each snapshot)
must be equal, key for key. It is also each module's end-to-end run through
Ansible in ``make test``.
"""

from __future__ import annotations

import json

import pytest
from sandbox import REPO, Sandbox, four_steps_contract, four_steps_plan

PREFIX = "netvirt.linux."

UNDERLAY = ("ip link add ul0 type veth peer name ul1 && ip addr add 10.99.0.1/24 dev ul0 && "
            "ip addr add 10.99.0.2/24 dev ul1 && ip link set ul0 up && ip link set ul1 up")
ROUTED = """
ip netns add client; ip netns add router
ip -n client link add c0 type veth peer name r0 netns router
ip -n client addr add 10.0.1.1/24 dev c0; ip -n client link set c0 up
ip -n router addr add 10.0.1.254/24 dev r0; ip -n router link set r0 up
"""
PAIR = """
ip netns add a; ip netns add b
ip -n a link add va type veth peer name vb netns b
ip -n a addr add 10.0.1.1/24 dev va; ip -n a link set va up; ip -n a link set lo up
ip -n b addr add 10.0.1.2/24 dev vb; ip -n b link set vb up
"""
LAB = {
    "name": "p1",
    "namespaces": [{"name": "h0"}, {"name": "gw", "sysctls": {"net.ipv4.ip_forward": 1}}],
    "veths": [{"name": "eth0", "netns": "h0", "addresses": ["10.0.0.1/24"], "peer": "h0-br", "peer_netns": ""},
              {"name": "eth0", "netns": "gw", "addresses": ["10.0.0.254/24"], "peer": "gw-br", "peer_netns": ""}],
    "bridges": [{"name": "br0", "addresses": ["10.0.0.100/24"], "ports": ["h0-br", "gw-br", "tap-vm"]}],
    "taps": [{"name": "tap-vm", "master": "br0", "owner": "nobody"}],
    "routes": [{"netns": "h0", "dst": "10.9.0.0/16", "gateway": "10.0.0.254"}],
}

# module: (setup script, four-step arguments or None, further calls: (name, arguments, task keywords)).
CASES = {
    "netns": ("touch /run/netns/ghost", {"name": "blue", "sysctls": {"net.ipv4.ip_forward": 1}}, [
        ("refused", {"name": "a/b"}, {}),
        ("stale entry replaced, with a warning", {"name": "ghost"}, {}),
    ]),
    "veth": ("ip netns add iris", {"name": "veth0", "addresses": ["10.1.1.2/24"], "peer": "iris_veth",
                                   "peer_netns": "iris", "peer_addresses": ["10.1.1.1/24"], "mtu": "1400"}, [
        ("type conversion refused", {"name": "va", "peer": "vb", "mtu": "abc"}, {}),
        ("required together", {"name": "va"}, {}),
        ("absent in check mode", {"name": "veth0", "peer": "iris_veth", "peer_netns": "iris", "state": "absent"},
         {"check_mode": True, "diff": True}),
    ]),
    "bridge": ("ip link add p0 type veth peer name p1", {"name": "br0", "ports": ["p0"], "stp": True}, [
        ("missing port refused", {"name": "br1", "ports": ["nothere"]}, {}),
    ]),
    "tap": ("", {"name": "tap0", "owner": "nobody", "addresses": ["192.168.7.1/24"]}, [
        ("bad mode", {"name": "tap1", "mode": "eth"}, {}),
    ]),
    "vxlan": (UNDERLAY, {"name": "vx0", "vni": 42, "local": "10.99.0.1", "remote": "10.99.0.2", "dev": "ul0",
                         "addresses": ["10.50.0.1/24"]}, [
        ("missing underlay device", {"name": "vx1", "vni": 43, "dev": "nothere"}, {}),
    ]),
    "macvlan": ("ip link add hp0 type veth peer name hp1 && ip link set hp0 up",
                {"name": "mv0", "link": "hp0", "mode": "bridge", "addresses": ["10.60.0.1/24"]},
                [("missing parent", {"name": "mv1", "link": "nothere"}, {})]),
    "route": (ROUTED, {"netns": "client", "dst": "default", "gateway": "10.0.1.254"}, [
        ("gateway off-link refused", {"netns": "client", "dst": "10.7.0.0/16", "gateway": "10.99.99.99"}, {}),
    ]),
    "iptables_chain": ("ip netns add c", {"netns": "c", "chain": "SSH_IN", "backend": "nft", "rules": [
        "-s 10.0.1.0/24 -p tcp --dport 22 -m comment --comment 'lab admins' -j ACCEPT", "-p tcp --dport 22 -j DROP"]}, [
        ("bad rule refused", {"netns": "c", "chain": "BAD", "backend": "nft", "rules": ["-j NOWHERE_AT_ALL"]}, {}),
        ("check mode in a namespace still to come, with a warning",
         {"netns": "later", "chain": "MINE", "backend": "nft", "rules": ["-s 192.0.2.1 -j DROP"]},
         {"check_mode": True, "diff": True}),
    ]),
    "shaping": ("ip link add s0 type veth peer name s1 && ip link set s0 up",
                {"interface": "s0", "rate": "2mbit", "burst": "16kb"},
                [("malformed rate refused", {"interface": "s0", "rate": "fast"}, {}),
                 ("netem refused where the kernel lacks it", {"interface": "s0", "delay": "20ms"}, {"check_mode": True})]),
    "topology": ("", LAB, [
        ("unknown key refused", dict(LAB, name="p2", bogus=1), {}),
        ("absent in check mode", {"name": "p1", "state": "absent"}, {"check_mode": True, "diff": True}),
    ]),
    "lab_info": (PAIR, None, [
        ("read", {}, {}),
        ("read in check mode", {}, {"check_mode": True}),
        ("unknown option", {"bogus": True}, {}),
    ]),
    "reachability": (PAIR, None, [
        ("unknown source refused", {"checks": [{"from": "ghost", "to": "10.0.0.1"}]}, {}),
        ("expectation not met", {"checks": [{"from": "a", "to": "10.0.1.2", "expect": "unreachable"}],
                                 "count": 1}, {}),
        ("unreachable as expected", {"checks": [{"from": "b", "to": "10.0.1.99", "expect": "unreachable"}],
                                     "count": 1, "interval": 0.01}, {"check_mode": True}),
    ]),
}

# Measurements, not results: round-trip times, a run's time and memory differ from one run to the next.
VOLATILE = ("rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "rtt_mdev_ms", "elapsed", "peak_memory_kb")


def steps_of(module: str) -> list:
    _setup, args, calls = CASES[module]
    steps = []
    if args is not None:
        steps += four_steps_plan(PREFIX + module, args)
    for name, call_args, keywords in calls:
        steps.append(dict(keywords, name=name, module=PREFIX + module, args=call_args, ignore_errors=True))
    steps.append({"name": "snapshot at the end", "snapshot": True})
    return steps


def comparable(record: dict):
    """A record as compared: a snapshot's state parsed; a call's status and result without measurements."""
    if record["task"].startswith("snapshot"):
        return record["task"], record["status"], json.loads(record["result"]["stdout"])
    return record["task"], record["status"], _without(record["result"], VOLATILE)


def _without(value, keys):
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


@pytest.mark.parametrize("module", sorted(CASES))
def test_inprocess_records_equal_ansible_playbook(tmp_path, module):
    setup = CASES[module][0]
    records = {}
    for via in ("ansible", "inprocess"):
        (tmp_path / via).mkdir()
        box = Sandbox(tmp_path / via)
        try:
            if setup:
                box.sh(setup)
            records[via] = box.steps(steps_of(module), via=via)
        finally:
            box.close()
    real, inprocess = records["ansible"], records["inprocess"]
    assert [r["task"] for r in real] == [s["name"] for s in steps_of(module)], real
    for want, got in zip(real, inprocess):
        assert comparable(got) == comparable(want), "%s: %s differs in-process" % (module, want["task"])
    assert len(inprocess) == len(real)
    # The cases prove something: the four steps keep their contract, every further call has
    # its expected status, and what ansible-playbook adds to a failure is there.
    if CASES[module][1] is not None:
        four_steps_contract(real)
    calls = [r for r in real if not r["task"].startswith("snapshot")]
    assert any(r["status"] == "failed" for r in calls), calls
    for record in calls:
        assert "changed" in record["result"] and "failed" not in record["result"], record
        if record["status"] == "failed":
            assert record["result"]["msg"] and record["result"]["exception"], record


def test_every_module_has_a_case():
    """A new module gets its case here, or this fails.

    A module whose work is an action plugin's (plugins/action/NAME.py: `lab`, which compiles on the
    controller and runs `topology`, whose case this is) has no module code to run in-process: its file is
    documentation only, and it is left out here, as long as it is that."""
    actions = {path.stem for path in (REPO / "plugins" / "action").glob("*.py") if not path.stem.startswith("_")}
    for name in actions:
        assert "def main(" not in (REPO / "plugins" / "modules" / ("%s.py" % name)).read_text(), name
    modules = {path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if not path.stem.startswith("_")}
    assert actions == {"lab"} and set(CASES) == modules - actions
