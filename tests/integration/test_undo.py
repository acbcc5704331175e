"""A failed run leaves the kernel as it found it; every change is read back (issue 23, items 2 and 3).

The kernel adapter's fault injector (NETVIRT_TEST_FAIL_AT / NETVIRT_TEST_DROP_AT,
read only when set) refuses, or silently skips, the N-th change of a run; the
real kernel does everything else. For each step of a small lab's plan, one
run with the fault: it must fail naming the step, say what it undid, and leave
the kernel snapshot and the lab's record as they were; the next normal run
then builds the lab whole. All steps of a scenario run in one Python process
in one sandbox (faults.py), not one ansible-playbook per step.
"""

from __future__ import annotations

import copy

import pytest
from undo_steps import IN_PROCESS, assert_every_step_undone, run_faults

TOPOLOGY = "netvirt.linux.topology"


def lab() -> dict:
    """Two namespaces joined by a veth, one on a host bridge with a tap, a route, addresses and a sysctl."""
    return {
        "name": "undo",
        "namespaces": [{"name": "ua", "sysctls": {"net.ipv4.ip_forward": 1}}, {"name": "ub"}],
        "veths": [
            {"name": "x0", "netns": "ua", "peer": "x1", "peer_netns": "ub", "addresses": ["10.61.0.1/24"],
             "peer_addresses": ["10.61.0.2/24"], "mtu": 1400},
            {"name": "eth0", "netns": "ua", "peer": "ua-br", "peer_netns": "", "addresses": ["10.62.0.1/24"]},
        ],
        "bridges": [{"name": "brundo", "addresses": ["10.62.0.254/24"], "ports": ["ua-br", "tapundo"]}],
        "taps": [{"name": "tapundo", "master": "brundo"}],
        "routes": [{"netns": "ub", "dst": "10.62.0.0/24", "gateway": "10.61.0.1"}],
    }


def changed_lab() -> dict:
    """The same lab with something changed on every kind of object that already exists."""
    changed = copy.deepcopy(lab())
    changed["namespaces"][0]["sysctls"] = {"net.ipv4.ip_forward": 0}
    changed["veths"][0].update(mtu=1300, addresses=["10.61.0.11/24"])
    changed["bridges"][0].update(stp=True, forward_delay=4, ports=["ua-br"], addresses=["10.62.0.253/24"])
    changed["taps"][0]["master"] = None
    changed["routes"][0]["gateway"] = "10.61.0.2"
    changed["veths"].append({"name": "eth1", "netns": "ub", "peer": "ub-br", "addresses": ["10.63.0.1/24"]})
    return changed


def test_refused_at_every_step_of_a_new_lab_leaves_nothing(sandbox):
    report = run_faults(sandbox, IN_PROCESS, lab(), "fail")
    assert_every_step_undone(report, "fault injector")
    steps = report["steps"]
    # The last step's failure undid every creation before it, the first (a namespace) last.
    last = steps[-1]["result"]
    created = [step["action"] for step in steps[:-1] if step["action"].startswith("create ")]
    assert set(created) <= set(last["undone"]) and last["undone"][-1] == created[0], last["undone"]
    assert created[0].startswith("create namespace"), created
    after = report["after"]
    assert set(after["netns"]) == {"ua", "ub"} and after["netns"]["ua"]["x0"]["mtu"] == 1400
    assert after["host"]["tapundo"]["master"] == "brundo"


def test_refused_at_every_step_of_a_change_puts_the_old_state_back(sandbox):
    sandbox.module(TOPOLOGY, lab())
    report = run_faults(sandbox, IN_PROCESS, changed_lab(), "fail")
    assert_every_step_undone(report, "fault injector")
    kinds = " ".join(report["preview"]["actions"])
    # The plan really changes existing objects of every kind it can.
    for words in ("set mtu 1300", "remove address 10.61.0.1/24", "detach tapundo", "replace route",
                  "set sysctl net.ipv4.ip_forward=0", "stp on", "create veth eth1"):
        assert words in kinds, (words, report["preview"]["actions"])


def test_a_change_the_kernel_did_not_make_is_an_error_at_every_step(sandbox):
    """Each step in turn reported done but not made: the read-back names it, or a later step fails for
    the lack of it; either way the run fails and leaves nothing."""
    report = run_faults(sandbox, IN_PROCESS, lab(), "drop")
    read_back = 0
    for step in report["steps"]:
        msg, where = step["result"].get("msg", ""), "step %d (%s)" % (step["step"], step["action"])
        assert step["result"].get("failed"), "%s passed unnoticed" % where
        assert "Traceback" not in msg and "NOT undone" not in msg, "%s: %s" % (where, msg)
        if "the kernel accepted but did not make" in msg:
            read_back += 1
            assert step["action"] in msg.split("; undone:")[0], "%s: %s" % (where, msg)
        assert step["kernel_unchanged"] and step["records_unchanged"], "%s: %s" % (where, msg)
    # Marks, ports, addresses, up, the sysctl and the route are read back; creations fail the next step.
    assert read_back >= len(report["steps"]) // 2, read_back
    assert not report["build"].get("failed") and report["again"]["changed"] is False


@pytest.mark.parametrize("module, args", [
    ("veth", {"name": "v0", "netns": "sa", "peer": "v1", "addresses": ["10.64.0.1/24"], "mtu": 1400}),
    ("bridge", {"name": "brs", "addresses": ["10.65.0.1/24"], "stp": True}),
    ("netns", {"name": "sb", "sysctls": {"net.ipv4.ip_forward": 1}}),
], ids=["veth", "bridge", "netns"])
def test_single_object_modules_undo_too(sandbox, module, args):
    sandbox.sh("ip netns add sa")
    report = run_faults(sandbox, module, args, "fail")
    assert_every_step_undone(report, "fault injector")


def test_an_address_the_kernel_ignores_is_an_error_not_a_change_every_run(sandbox):
    """0.0.0.0/8 is accepted by the kernel and never shown: refused or read back, never `changed` again."""
    sandbox.sh("ip link add v0 type veth peer name v1")
    for _run in range(2):
        result = sandbox.refused("netvirt.linux.veth", {"name": "v0", "peer": "v1", "addresses": ["0.0.0.0/8"]},
                                 "0.0.0.0/8")
        assert not result.get("changed"), result


def tun_macvlan_lab() -> dict:
    """A tap with owner and group set, and a macvlan on a veth end, in one namespace."""
    return {
        "name": "undo3",
        "namespaces": [{"name": "uc"}],
        "veths": [{"name": "p0", "netns": "uc", "peer": "p1", "addresses": ["10.67.0.1/24"]}],
        "macvlans": [{"name": "mv0", "netns": "uc", "link": "p0", "mode": "bridge", "addresses": ["10.67.0.2/24"]}],
        "taps": [{"name": "tapc", "netns": "uc", "owner": "0", "group": "0", "addresses": ["10.68.0.1/24"]}],
    }


def test_refused_at_every_step_of_a_tap_and_macvlan_change_puts_their_old_settings_back(sandbox):
    sandbox.module(TOPOLOGY, tun_macvlan_lab())
    changed = copy.deepcopy(tun_macvlan_lab())
    changed["macvlans"][0].update(mode="private", addresses=["10.67.0.3/24"])
    changed["taps"][0].update(owner="1", group="1", pi=True, vnet_hdr=True, addresses=["10.68.0.2/24"])
    report = run_faults(sandbox, IN_PROCESS, changed, "fail")
    assert_every_step_undone(report, "fault injector")
    actions = report["preview"]["actions"]
    assert "set macvlan mode private on mv0 in uc" in actions, actions
    assert any(action.startswith("set ") and "on tap tapc in uc" in action for action in actions), actions
    # Each change is followed by another step whose refusal had it undone.
    last = report["steps"][-1]["result"]["undone"]
    assert "set macvlan mode private on mv0 in uc" in last and any("on tap tapc" in text for text in last), last
