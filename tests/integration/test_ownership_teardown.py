"""Issue 23: one ownership rule for re-run, prune and teardown; teardown never takes a stranger's device.

- netns state=absent refuses a namespace holding any device but lo and the kernel's fallback tunnels, unless
  force=true (four steps);
- a topology lab's pair is the lab's only when both of its ends carry the lab's marker: re-run, prune and
  teardown agree;
- the seed teardown playbooks delete their own devices first, and stop at a stranger's;
- a lab's teardown summary counts the objects its build counted.
"""

from sandbox import REPO

NETNS = "netvirt.linux.netns"
TOPOLOGY = "netvirt.linux.topology"
LAB = REPO / "playbooks" / "two_labs.yml"
LAB_DOWN = REPO / "playbooks" / "two_labs_down.yml"


# ------------------------------------------------------ netns state=absent ---


def test_netns_absent_refuses_a_namespace_holding_a_strangers_device(sandbox):
    sandbox.sh("ip netns add blue && ip link add foreign0 type veth peer name foreign1 netns blue")
    for check_mode in (True, False):
        result = sandbox.refused(NETNS, {"name": "blue", "state": "absent"},
                                 "namespace 'blue' holds a device, which deleting it would destroy: 'foreign1' (veth) "
                                 "(its peer 'foreign0' is in the host namespace) in namespace 'blue'",
                                 check_mode=check_mode)
        assert "set force=true" in result["msg"] and "nothing was changed" in result["msg"]
        assert result["devices"] == ["foreign1"]
    assert "blue" in sandbox.namespaces() and "foreign0" in sandbox.links()


def test_netns_absent_with_only_lo_needs_no_force(sandbox):
    sandbox.sh("ip netns add blue && ip netns add red && ip -n red link add va type veth peer name vb")
    assert sandbox.module(NETNS, {"name": "blue", "state": "absent"})["changed"] is True
    # Its devices deleted first, the namespace goes without force.
    sandbox.refused(NETNS, {"name": "red", "state": "absent"}, "'va' (veth) (its peer 'vb' is in namespace 'red')")
    sandbox.sh("ip -n red link del va")
    assert sandbox.module(NETNS, {"name": "red", "state": "absent"})["changed"] is True
    assert sandbox.namespaces() == set()


def test_netns_absent_force_four_steps(sandbox):
    sandbox.sh("ip netns add blue && ip link add foreign0 type veth peer name foreign1 netns blue"
               " && ip -n blue link add br9 type bridge")
    steps = sandbox.four_steps(NETNS, {"name": "blue", "state": "absent", "force": True})
    assert steps["apply"]["actions"] == ["delete namespace blue"]
    assert "blue" in steps["before"]["netns"] and "blue" not in steps["after"]["netns"]
    # The veth end in it took its peer in the host with it: that is what force means.
    assert "foreign0" in steps["before"]["host"] and "foreign0" not in steps["after"]["host"]


# ------------------------------------------------------ seed teardowns ---


def test_lab_down_leaves_a_strangers_veth_in_a_lab_namespace_and_fails_naming_it(sandbox):
    """make lab, a stranger's pair with one end in iris_network, make lab-down: it fails, their pair stays."""
    empty = sandbox.snapshot()
    sandbox.playbook(LAB)
    sandbox.sh("ip link add foreign0 type veth peer name foreign1 netns iris_network")
    proc, records = sandbox.playbook(LAB_DOWN, check=False)
    assert proc.returncode != 0, proc.stdout
    failed = [r for r in records if r["status"] == "failed"]
    assert [r["task"] for r in failed] == [
        "Seed 000 - remove namespace iris_network", "Fail when a lab could not be removed whole"]
    words = "'foreign1' (veth) (its peer 'foreign0' is in the host namespace) in namespace 'iris_network'"
    assert all(words in r["result"]["msg"] for r in failed), failed
    # Their pair and the namespace holding it stay; everything else of both labs is gone.
    assert sandbox.namespaces() == {"iris_network"}
    assert set(sandbox.links("iris_network")) == {"lo", "foreign1"}
    assert set(sandbox.links()) == {"lo", "foreign0"}
    # Once they take it out, lab-down finishes the job.
    sandbox.sh("ip link del foreign0")
    sandbox.playbook(LAB_DOWN)
    assert sandbox.snapshot() == empty


# ------------------------------------------- re-run, prune and teardown agree ---


def test_a_pair_whose_end_lost_the_marker_is_left_by_rerun_prune_and_teardown(sandbox):
    """Issue 23 item 7: the re-run refused h0 ("the lab did not create it"), yet state=absent deleted h0 and h1."""
    pair = {"name": "o1", "veths": [{"name": "h0", "peer": "h1"}]}
    assert sandbox.module(TOPOLOGY, pair)["changed"] is True
    sandbox.sh("ip link set h0 alias mine")
    sandbox.refused(TOPOLOGY, pair, "'h0' in the host namespace exists but this lab did not create it")
    words = ("'h0' in the host namespace, the other end of the lab's 'h1' in the host namespace, does not carry "
             "the lab's marker (its marker is 'mine')")
    for check_mode in (True, False):
        result = sandbox.refused(TOPOLOGY, {"name": "o1", "state": "absent"}, words, check_mode=check_mode)
        assert "nothing was changed" in result["msg"]
    # A prune that drops the pair from the description refuses the same way.
    sandbox.refused(TOPOLOGY, {"name": "o1", "bridges": [{"name": "br9"}]}, words)
    assert {"h0", "h1"} <= set(sandbox.links())
    # Given back its marker, the pair is the lab's again, and goes.
    sandbox.sh("ip link set h0 alias netvirt:lab=o1")
    gone = sandbox.module(TOPOLOGY, {"name": "o1", "state": "absent"})
    assert gone["actions"] == ["delete h0 in host"]
    assert set(sandbox.links()) == {"lo"}


# ------------------------------------------------ summaries count the same objects ---


def router_lab():
    """Seed 004's netfilter lab as one topology: pairs between namespaces, routes and chains in them."""
    clients = [("client1", "10.0.1"), ("client2", "10.0.2")]
    return {
        "name": "r1",
        "namespaces": [{"name": "router", "sysctls": {"net.ipv4.ip_forward": 1}}, {"name": "client1"},
                       {"name": "client2"}, {"name": "upstream"}],
        "veths": [{"name": "eth0", "netns": ns, "addresses": ["%s.1/24" % net], "peer": "lan%d" % i,
                   "peer_netns": "router", "peer_addresses": ["%s.254/24" % net]} for i, (ns, net) in enumerate(clients)]
        + [{"name": "wan0", "netns": "router", "addresses": ["192.0.2.254/24"], "peer": "eth0",
            "peer_netns": "upstream", "peer_addresses": ["192.0.2.1/24"]}],
        "routes": [{"netns": ns, "dst": "default", "gateway": "%s.254" % net} for ns, net in clients],
        "iptables_chains": [
            {"netns": "router", "table": "nat", "chain": "POSTROUTING", "rules": ["-o wan0 -j MASQUERADE"]},
            {"netns": "router", "table": "filter", "chain": "FORWARD", "rules": ["-s 10.0.2.0/24 -j DROP"]}],
    }


def test_a_seed_labs_teardown_counts_what_its_build_counted(sandbox):
    """Issue 23: `created: ... 3 veth ... 1 route`, then `removed: 3 netns, 2 veth, 1 tap, 1 bridge`."""
    empty = sandbox.snapshot()
    built = sandbox.module(TOPOLOGY, router_lab())
    # Built-in chains exist in every namespace: the build changes them, and they go with the router.
    assert built["summary_text"] == "created: 4 netns, 3 veth, 2 route; changed: 2 iptables_chain; removed: none"
    created = {kind: row["created"] + row["changed"] for kind, row in built["summary"]["kinds"].items()}
    assert created == {"netns": 4, "veth": 3, "route": 2, "iptables_chain": 2}, built["summary"]
    preview = sandbox.module(TOPOLOGY, {"name": "r1", "state": "absent"}, check_mode=True)
    gone = sandbox.module(TOPOLOGY, {"name": "r1", "state": "absent"})
    for result in (preview, gone):
        assert {kind: row["removed"] for kind, row in result["summary"]["kinds"].items()} == created
        assert result["summary_text"] == \
            "created: none; changed: none; removed: 4 netns, 3 veth, 2 route, 2 iptables_chain"
    # Only the namespaces are deleted: everything else goes with them.
    assert gone["actions"] == ["delete namespace %s" % ns for ns in ("client1", "client2", "router", "upstream")]
    assert sandbox.snapshot() == empty
