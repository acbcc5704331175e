"""One topology task with every kind the registry knows: build, re-run, check, teardown to nothing.

The lab is checked against the registry: a kind added without a place here
fails test_the_lab_uses_every_section, so the whole-lab path is proven for
every kind, not only for the ones that existed when this test was written.
"""

import copy
import json
import sys

from sandbox import ensure_collection_path

sys.path.insert(0, str(ensure_collection_path()))
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS

TOPOLOGY = "netvirt.linux.topology"
MARK = "netvirt:lab=every"


def lab():
    """n1 and n2 on bridge br0 in namespace nb (with a tap and a vxlan port), a macvlan on n1's veth end,
    a route in n1, a firewall chain in n2, forwarding on in n1, n2's veth end shaped to 100 mbit/s."""
    return {
        "name": "every",
        "namespaces": [{"name": "n1", "sysctls": {"net.ipv4.ip_forward": 1}}, {"name": "n2"}, {"name": "nb"}],
        "veths": [
            {"name": "a1", "netns": "n1", "addresses": ["10.0.0.1/24"], "peer": "b1", "peer_netns": "nb"},
            {"name": "a2", "netns": "n2", "addresses": ["10.0.0.2/24"], "peer": "b2", "peer_netns": "nb"},
        ],
        "taps": [{"name": "tp0", "netns": "nb"}],
        "vxlans": [{"name": "vx0", "netns": "nb", "vni": 7, "remotes": ["10.0.9.2", "10.0.9.3"]}],
        "macvlans": [{"name": "mv0", "netns": "n1", "link": "a1", "mode": "bridge", "addresses": ["10.1.0.1/24"]}],
        "bridges": [{"name": "br0", "netns": "nb", "ports": ["b1", "b2", "tp0", "vx0"]}],
        "routes": [{"netns": "n1", "dst": "10.9.0.0/24", "gateway": "10.0.0.2"}],
        "shaping": [{"netns": "n2", "interface": "a2", "rate": "100mbit"}],
        "iptables_chains": [{"netns": "n2", "chain": "LABIN", "rules": ["-p icmp -j ACCEPT"]}],
    }


def test_the_lab_uses_every_section():
    assert {kind.section for kind in KINDS} == set(lab()) - {"name"}


def test_every_kind_in_one_task(sandbox):
    empty = sandbox.snapshot()
    steps = sandbox.four_steps(TOPOLOGY, lab())
    after = steps["after"]
    assert set(after["netns"]) == {"n1", "n2", "nb"}
    nb = after["netns"]["nb"]
    assert {name for name, link in nb.items() if link["master"] == "br0"} == {"b1", "b2", "tp0", "vx0"}
    assert nb["br0"]["kind"] == "bridge" and nb["tp0"]["kind"] == "tun" and nb["vx0"]["vxlan"]["id"] == 7
    assert nb["vx0"]["fdb_all_zeros"] == ["10.0.9.2", "10.0.9.3"]
    n1 = after["netns"]["n1"]
    assert n1["mv0"]["kind"] == "macvlan" and n1["mv0"]["addresses"] == ["10.1.0.1/24"]
    assert after["sysctls"]["netns"]["n1"]["net/ipv4/ip_forward"] == "1"
    assert any('"gateway": "10.0.0.2"' in route for route in after["routes"]["netns"]["n1"])
    assert after["netns"]["n2"]["a2"]["qdisc"]["kind"] == "tbf" and after["netns"]["n2"]["a2"]["qdisc"]["handle"] == "4e56:"
    rules = json.dumps(after["netfilter"]["netns"]["n2"])
    assert ":LABIN" in rules and "-A LABIN -p icmp -j ACCEPT" in rules
    # Every interface the lab made carries its mark; the check run and the second run change nothing.
    for netns in ("n1", "n2", "nb"):
        assert all(link.get("ifalias") == MARK for link in sandbox.links(netns).values()), netns
    # (four_steps itself asserts check == apply, and no change from the check again and the second run.)
    assert steps["check"]["diff"] == steps["apply"]["diff"]
    assert steps["apply_again"]["summary"]["changed"] == 0
    assert sandbox.ping("n1", "10.0.0.2") and sandbox.ping("n2", "10.0.0.1")

    gone = sandbox.four_steps(TOPOLOGY, {"name": "every", "state": "absent"})
    assert gone["apply"]["changed"] and not gone["apply_again"]["changed"]
    assert sandbox.snapshot() == empty


def test_dropping_each_kind_prunes_it_and_keeps_the_rest(sandbox):
    sandbox.module(TOPOLOGY, lab())
    smaller = copy.deepcopy(lab())
    smaller["macvlans"] = []
    smaller["iptables_chains"] = []
    smaller["bridges"][0]["ports"] = ["b1", "b2"]
    smaller["taps"] = []
    smaller["vxlans"] = []
    steps = sandbox.four_steps(TOPOLOGY, smaller)
    after = steps["after"]
    assert "mv0" not in after["netns"]["n1"]
    assert not {"tp0", "vx0"} & set(after["netns"]["nb"])
    assert ":LABIN" not in json.dumps(after["netfilter"]["netns"]["n2"])
    assert sandbox.ping("n1", "10.0.0.2")
