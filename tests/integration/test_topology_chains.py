"""netvirt.linux.topology's iptables_chains in the sandbox: chains in the lab's namespaces, owned and pruned.

State is asserted from the `iptables-save` of the variant that wrote it (inside the namespace, with
`ip netns exec`), the other variant is checked untouched, and the lab's record is read from /run/netvirt.
"""

import copy
import json

import pytest
from sandbox import PYTHON
from test_iptables_chain import chain_rules, host_variant, saved

TOPOLOGY = "netvirt.linux.topology"
LAB = "fw"
# The record of lab LAB (_labstate: named after the lab's marker).
RECORD = "/run/netvirt/labs/*/%s.json" % ("netvirt:lab=" + LAB).encode().hex()
OTHER = {"nft": "legacy", "legacy": "nft"}


def lab(**extra):
    """Namespaces a and b joined by a veth; b's INPUT drops by policy, lets a's ping in through a user chain."""
    description = {
        "name": LAB,
        "namespaces": [{"name": "a"}, {"name": "b"}],
        "veths": [{"name": "eth0", "netns": "a", "addresses": ["10.1.1.1/24"],
                   "peer": "eth0", "peer_netns": "b", "peer_addresses": ["10.1.1.2/24"]}],
        "iptables_chains": [
            {"netns": "b", "chain": "INPUT", "policy": "DROP", "rules": ["-i lo -j ACCEPT", "-j FROM_A"]},
            {"netns": "b", "chain": "FROM_A",
             "rules": ["-s 10.1.1.1 -p icmp -m comment --comment 'ping from a' -j ACCEPT", "-j RETURN"]},
        ],
    }
    description.update(extra)
    return description


def record(sandbox):
    """The lab's record, or None when there is none."""
    proc = sandbox.sh("cat %s" % RECORD, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def tcp(sandbox, netns, address, port):
    """'dropped' when a TCP connection attempt times out, 'refused' when the far end answers with a reset."""
    probe = ("import socket\ntry:\n    socket.create_connection((%r, %d), timeout=1)\n    print('open')\n"
             "except socket.timeout:\n    print('dropped')\nexcept OSError:\n    print('refused')\n" % (address, port))
    return sandbox.run(["ip", "netns", "exec", netns, PYTHON, "-c", probe]).stdout.strip()


def test_chains_four_steps_in_a_new_lab(sandbox):
    variant = host_variant(sandbox)
    steps = sandbox.four_steps(TOPOLOGY, lab())
    check, apply = steps["check"], steps["apply"]
    # In check mode the namespaces do not exist yet: the lab makes them, so that is no warning.
    assert not any("does not exist" in warning for warning in check.get("warnings", [])), check
    where = "table filter (ipv4) in namespace 'b'"
    assert apply["actions"][-4:] == [
        "create chain FROM_A in %s" % where,
        "set policy DROP on chain INPUT in %s" % where,
        "replace the rules of chain INPUT in %s (0 -> 2)" % where,
        "replace the rules of chain FROM_A in %s (0 -> 2)" % where,
    ]
    assert apply["summary"] == {"objects": 5, "changed": 5, "removed": 0, "actions": len(apply["actions"]), "kinds": {
        "netns": {"created": 2, "changed": 0, "removed": 0}, "veth": {"created": 1, "changed": 0, "removed": 0},
        "iptables_chain": {"created": 0, "changed": 2, "removed": 0}}}
    assert apply["summary_text"] == "created: 2 netns, 1 veth; changed: 2 iptables_chain; removed: none"
    chain = apply["objects"][3]
    assert chain["key"] == ["iptables_chain", "b", "filter", "INPUT", "ipv4"] and chain["changed"] is True
    assert chain["after"] == {"table": "filter", "chain": "INPUT", "netns": "b", "ipv4": {
        "state": "present", "policy": "DROP", "rules": ["-i lo -j ACCEPT", "-j FROM_A"]}}
    assert apply["diff"][3]["before"] == "# iptables -t filter\n-P INPUT ACCEPT\n"
    assert apply["diff"][3]["after"] == "# iptables -t filter\n-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j FROM_A\n"
    assert apply["diff"][3]["after_header"] == "filter chain INPUT in namespace b (after)"
    assert steps["apply_again"]["summary"]["changed"] == 0

    # The kernel, from inside the namespace.
    lines = saved(sandbox, variant, "b")
    assert ":INPUT DROP" in lines and ":FROM_A -" in lines
    assert chain_rules(lines, "INPUT") == ["-A INPUT -i lo -j ACCEPT", "-A INPUT -j FROM_A"]
    assert chain_rules(lines, "FROM_A") == [
        '-A FROM_A -s 10.1.1.1/32 -p icmp -m comment --comment "ping from a" -j ACCEPT', "-A FROM_A -j RETURN"]
    assert saved(sandbox, OTHER[variant], "b") == [], "the other variant's tables were touched"
    assert chain_rules(saved(sandbox, variant, "a"), "INPUT") == [] and ":FROM_A -" not in saved(sandbox, variant, "a")
    assert ":FROM_A -" not in saved(sandbox, variant), "the host's tables were touched"
    # The rules do what they say: a's ping gets in, and nothing else from a does.
    assert sandbox.ping("a", "10.1.1.2")
    assert tcp(sandbox, "a", "10.1.1.2", 22) == "dropped"
    # The record lists the chains with the backend that wrote them.
    assert sorted(record(sandbox)["chains"]) == [["b", "ipv4", "filter", "FROM_A", variant],
                                                 ["b", "ipv4", "filter", "INPUT", variant]]


def test_prune_removes_dropped_chains_and_keeps_the_namespace(sandbox):
    variant = host_variant(sandbox)
    sandbox.module(TOPOLOGY, lab())
    # FROM_A is no longer named (and INPUT no longer jumps to it): deleted, in the namespace that stays.
    smaller = lab(iptables_chains=[{"netns": "b", "chain": "INPUT", "policy": "DROP", "rules": ["-i lo -j ACCEPT"]}])
    steps = sandbox.four_steps(TOPOLOGY, smaller)
    apply = steps["apply"]
    assert apply["actions"] == [
        "replace the rules of chain INPUT in table filter (ipv4) in namespace 'b' (2 -> 1)",
        "delete chain FROM_A in table filter (ipv4) in namespace 'b'"]
    assert apply["summary"] == {"objects": 4, "changed": 1, "removed": 1, "actions": 2, "kinds": {
        "netns": {"created": 0, "changed": 0, "removed": 0}, "veth": {"created": 0, "changed": 0, "removed": 0},
        "iptables_chain": {"created": 0, "changed": 1, "removed": 1}}}
    assert apply["summary_text"] == "created: none; changed: 1 iptables_chain; removed: 1 iptables_chain"
    assert apply["objects"][-1]["key"] == ["iptables_chain", "b", "filter", "FROM_A", "ipv4"]
    assert apply["objects"][-1]["after"]["ipv4"] == {"state": "absent"}
    lines = saved(sandbox, variant, "b")
    assert ":FROM_A -" not in lines and chain_rules(lines, "FROM_A") == []
    assert chain_rules(lines, "INPUT") == ["-A INPUT -i lo -j ACCEPT"] and ":INPUT DROP" in lines
    assert sandbox.namespaces() == {"a", "b"}
    assert [chain[3] for chain in record(sandbox)["chains"]] == ["INPUT"]

    # No chain at all: the built-in chain goes back to what a new namespace has.
    steps = sandbox.four_steps(TOPOLOGY, lab(iptables_chains=[]))
    assert steps["apply"]["actions"] == [
        "set policy ACCEPT on chain INPUT in table filter (ipv4) in namespace 'b'",
        "replace the rules of chain INPUT in table filter (ipv4) in namespace 'b' (1 -> 0)"]
    assert steps["apply"]["summary"]["removed"] == 1
    lines = saved(sandbox, variant, "b")
    assert ":INPUT ACCEPT" in lines and chain_rules(lines, "INPUT") == []
    assert "chains" not in record(sandbox)
    assert tcp(sandbox, "a", "10.1.1.2", 22) == "refused", "b's INPUT should let everything in again"

    # Without prune, a dropped chain stays, and stays recorded for a later prune.
    sandbox.module(TOPOLOGY, lab())
    kept = sandbox.module(TOPOLOGY, dict(lab(iptables_chains=[]), prune=False))
    assert kept["changed"] is False and ":FROM_A -" in saved(sandbox, variant, "b")
    assert len(record(sandbox)["chains"]) == 2
    pruned = sandbox.module(TOPOLOGY, lab(iptables_chains=[]))
    assert pruned["summary"]["removed"] == 2 and ":FROM_A -" not in saved(sandbox, variant, "b")


def test_a_chain_goes_with_its_namespace(sandbox):
    variant = host_variant(sandbox)
    sandbox.module(TOPOLOGY, lab())
    # b leaves the lab: its chains go with it, nothing to remove one by one.
    alone = {"name": LAB, "namespaces": [{"name": "a"}]}
    result = sandbox.module(TOPOLOGY, alone)
    assert "delete namespace b" in result["actions"]
    assert not any("chain" in action for action in result["actions"]), result["actions"]
    assert record(sandbox)["namespaces"] == ["a"] and "chains" not in record(sandbox)
    # A new b is a new namespace: the old chains are not the lab's business any more.
    sandbox.module(TOPOLOGY, lab(iptables_chains=[]))
    assert saved(sandbox, variant, "b") == []


def test_state_absent_leaves_nothing(sandbox):
    empty = sandbox.snapshot()
    sandbox.module(TOPOLOGY, dict(lab(), iptables_chains=lab()["iptables_chains"] + [
        {"netns": "a", "table": "nat", "chain": "POSTROUTING", "rules": ["-o eth0 -j MASQUERADE"],
         "ip_version": "ipv4"},
        {"netns": "a", "chain": "OUTPUT", "ip_version": "ipv6", "policy": "DROP"}]))
    assert record(sandbox)["chains"]
    steps = sandbox.four_steps(TOPOLOGY, {"name": LAB, "state": "absent"})
    assert steps["after"] == empty
    assert record(sandbox) is None


def test_backend_switch_moves_the_chains(sandbox):
    sandbox.module(TOPOLOGY, dict(lab(), iptables_backend="nft"))
    assert ":FROM_A -" in saved(sandbox, "nft", "b")
    steps = sandbox.four_steps(TOPOLOGY, dict(lab(), iptables_backend="legacy"))
    apply = steps["apply"]
    assert "delete chain FROM_A in table filter (ipv4) in namespace 'b'" in apply["actions"]
    assert apply["summary"]["changed"] == 2 and apply["summary"]["removed"] == 2
    lines = saved(sandbox, "nft", "b")
    assert ":FROM_A -" not in lines and ":INPUT ACCEPT" in lines and [line for line in lines if line[:3] == "-A "] == []
    lines = saved(sandbox, "legacy", "b")
    assert ":INPUT DROP" in lines and chain_rules(lines, "INPUT") == ["-A INPUT -i lo -j ACCEPT", "-A INPUT -j FROM_A"]
    assert {chain[4] for chain in record(sandbox)["chains"]} == {"legacy"}


# ------------------------------------------------------------- refusals ---

def test_a_chain_in_the_host_is_refused(sandbox):
    sandbox.module(TOPOLOGY, lab())
    bad = lab(namespaces=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    bad["iptables_chains"].append({"chain": "OUTPUT", "policy": "DROP"})
    for check_mode in (False, True):
        result = sandbox.refused(TOPOLOGY, bad, "the topology has 1 problem(s), nothing was changed",
                                 check_mode=check_mode)
        assert result["problems"] == [
            "iptables_chains[2]: netns is required: a chain in the host would outlive the lab; the lab's chains "
            "live in its namespaces (a, b, c)"]
    assert "c" not in sandbox.namespaces()
    bad["iptables_chains"][2]["netns"] = "elsewhere"
    sandbox.refused(TOPOLOGY, bad, "iptables_chains[2]: netns 'elsewhere' is not one of the lab's namespaces")


@pytest.mark.parametrize("backend", ["nft", "legacy"])
def test_a_bad_rule_is_refused_by_its_place_before_anything_changes(sandbox, backend):
    sandbox.module(TOPOLOGY, dict(lab(), iptables_backend=backend))
    # A new namespace, a new chain and a rule iptables itself refuses: nothing of it may be made.
    bad = lab(namespaces=[{"name": "a"}, {"name": "b"}, {"name": "c"}], iptables_backend=backend)
    web = ["-p tcp --dport 80 -j ACCEPT", "-p tcp --dprot 443 -j ACCEPT"]
    bad["iptables_chains"].append({"netns": "c", "chain": "WEB", "rules": web})
    for check_mode in (False, True):
        result = sandbox.refused(TOPOLOGY, bad, "the topology has 1 problem(s), nothing was changed",
                                 check_mode=check_mode)
        assert len(result["problems"]) == 1
        assert result["problems"][0].startswith(
            "iptables_chains[2]: rule 2 of chain WEB in table filter (ipv4) in namespace 'c' is not a valid iptables "
            "rule"), result["problems"]
        assert "--dprot" in result["problems"][0]
    assert "c" not in sandbox.namespaces()
    # A jump to a chain that exists nowhere, likewise.
    bad = copy.deepcopy(lab(iptables_backend=backend))
    bad["iptables_chains"][1]["rules"].append("-j NO_SUCH")
    sandbox.refused(TOPOLOGY, bad, "iptables_chains[1]: rule 3 of chain FROM_A in table filter (ipv4) in namespace 'b' "
                                   "jumps to 'NO_SUCH'")
    # A rule refused before iptables sees it is named by its place too.
    bad = lab(iptables_backend=backend)
    bad["iptables_chains"][0]["rules"].append("-A INPUT -j ACCEPT")
    result = sandbox.refused(TOPOLOGY, bad, "the topology has 1 problem(s), nothing was changed")
    assert result["problems"][0].startswith("iptables_chains[0]: rule 3 contains -A")


def test_pruning_a_chain_still_jumped_to_is_refused(sandbox):
    variant = host_variant(sandbox)
    sandbox.module(TOPOLOGY, lab())
    # FROM_A is dropped, but INPUT still jumps to it: deleting it would fail in the kernel, so nothing is done.
    bad = lab(iptables_chains=lab()["iptables_chains"][:1], namespaces=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    sandbox.refused(TOPOLOGY, bad, "cannot delete chain FROM_A in table filter (ipv4) in namespace 'b': other rules "
                                   "jump to it (-A INPUT -j FROM_A)")
    assert "c" not in sandbox.namespaces() and ":FROM_A -" in saved(sandbox, variant, "b")
