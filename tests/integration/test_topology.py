"""netvirt.linux.topology in the sandbox: a whole lab in one task, owned by its marker."""

import copy

TOPOLOGY = "netvirt.linux.topology"
MARK = "netvirt:lab=t1"


def lab(n=2):
    """n namespaces on bridge br0 in the host, a tap for a VM, a router namespace with a route."""
    return {
        "name": "t1",
        "namespaces": [{"name": "h%d" % i} for i in range(n)]
        + [{"name": "gw", "sysctls": {"net.ipv4.ip_forward": 1}}],
        "veths": [{"name": "eth0", "netns": "h%d" % i, "addresses": ["10.0.0.%d/24" % (i + 1)],
                   "peer": "h%d-br" % i, "peer_netns": ""} for i in range(n)]
        + [{"name": "eth0", "netns": "gw", "addresses": ["10.0.0.254/24"], "peer": "gw-br", "peer_netns": "", "mtu": 1400}],
        "bridges": [{"name": "br0", "stp": False, "addresses": ["10.0.0.100/24"],
                     "ports": ["h%d-br" % i for i in range(n)] + ["gw-br", "tap-vm"]}],
        "taps": [{"name": "tap-vm", "master": "br0", "owner": "nobody"}],
        "routes": [{"netns": "h%d" % i, "dst": "10.9.0.0/16", "gateway": "10.0.0.254"} for i in range(n)],
    }


def aliases(sandbox, netns=None):
    return {name: entry.get("ifalias") for name, entry in sandbox.links(netns).items()}


def test_whole_lab_four_steps(sandbox):
    steps = sandbox.four_steps(TOPOLOGY, lab())
    after = steps["after"]
    assert set(after["netns"]) == {"h0", "h1", "gw"}
    assert after["host"]["br0"]["kind"] == "bridge" and after["host"]["br0"]["addresses"] == ["10.0.0.100/24"]
    assert {n for n, link in after["host"].items() if link["master"] == "br0"} == {"h0-br", "h1-br", "gw-br", "tap-vm"}
    assert after["host"]["tap-vm"]["tun"]["user"] == "nobody"
    assert after["netns"]["gw"]["eth0"]["mtu"] == 1400
    assert after["sysctls"]["netns"]["gw"]["net/ipv4/ip_forward"] == "1"
    assert any('"gateway": "10.0.0.254"' in r for r in after["routes"]["netns"]["h0"])
    # Everything the lab made carries its marker.
    host = aliases(sandbox)
    assert all(host[name] == MARK for name in ("br0", "tap-vm", "h0-br", "h1-br", "gw-br"))
    assert aliases(sandbox, "h0") == {"lo": MARK, "eth0": MARK}
    summary = steps["apply"]["summary"]
    assert summary["objects"] == 10 and summary["changed"] == 10 and summary["removed"] == 0
    assert steps["apply_again"]["summary"]["changed"] == 0
    assert len(steps["check"]["diff"]) == 10
    assert sandbox.ping("h0", "10.0.0.2") and sandbox.ping("h1", "10.0.0.254") and sandbox.ping(None, "10.0.0.1")


def test_summary_counts_each_kind_on_build_rerun_and_teardown(sandbox):
    built = sandbox.module(TOPOLOGY, lab())
    assert built["summary"]["kinds"] == {
        "netns": {"created": 3, "changed": 0, "removed": 0}, "veth": {"created": 3, "changed": 0, "removed": 0},
        "tap": {"created": 1, "changed": 0, "removed": 0}, "bridge": {"created": 1, "changed": 0, "removed": 0},
        "route": {"created": 2, "changed": 0, "removed": 0}}
    assert built["summary_text"] == "created: 3 netns, 3 veth, 1 tap, 1 bridge, 2 route; changed: none; removed: none"
    again = sandbox.module(TOPOLOGY, lab())
    assert all(row == {"created": 0, "changed": 0, "removed": 0} for row in again["summary"]["kinds"].values())
    assert set(again["summary"]["kinds"]) == set(built["summary"]["kinds"])
    assert again["summary_text"] == "created: none; changed: none; removed: none"
    changed = copy.deepcopy(lab())
    changed["veths"][2]["mtu"] = 1300  # gw's eth0
    assert sandbox.module(TOPOLOGY, changed)["summary_text"] == "created: none; changed: 1 veth; removed: none"
    gone = sandbox.module(TOPOLOGY, {"name": "t1", "state": "absent"})
    # The host ends of the veths go with their namespaces' ends, the routes with their namespaces; the bridge
    # and the tap are deleted: the teardown counts what the build counted.
    assert gone["summary"]["kinds"] == {kind: {"created": 0, "changed": 0, "removed": row["created"]}
                                        for kind, row in built["summary"]["kinds"].items()}
    assert gone["summary_text"] == "created: none; changed: none; removed: 3 netns, 3 veth, 1 tap, 1 bridge, 2 route"


def test_every_diff_names_its_object(sandbox):
    """Two namespaces with an eth0 each: two hunks, told apart by their headers, in the diff Ansible prints."""
    two = {"name": "t1", "namespaces": [{"name": "h1"}, {"name": "h2"}],
           "veths": [{"name": "eth0", "netns": "h%d" % i, "peer": "h%d-br" % i, "peer_netns": "", "addresses": ["10.0.0.%d/24" % i]}
                     for i in (1, 2)],
           "bridges": [{"name": "br0", "ports": ["h1-br", "h2-br"]}]}
    steps = sandbox.four_steps(TOPOLOGY, two)
    headers = ["netns h1", "netns h2", "veth eth0 in h1", "veth eth0 in h2", "bridge br0 (host)"]
    for step in ("check", "apply"):
        assert [d["before_header"] for d in steps[step]["diff"]] == headers
        assert [d["after_header"] for d in steps[step]["diff"]] == headers
    # A lab dropped by ownership: each removed object is named too (a veth by its host end).
    proc, records = sandbox.playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "down", TOPOLOGY: {"name": "t1", "state": "absent"}}]}], extra_args=["--diff"])
    down = records[-1]["result"]
    assert sorted(d["before_header"] for d in down["diff"]) == [
        "bridge br0 (host)", "netns h1", "netns h2", "veth h1-br (host)", "veth h2-br (host)"]
    # The default callback prints each hunk under its header.
    for header in ("veth h1-br (host)", "netns h2"):
        assert "--- before: %s\n+++ after: %s\n" % (header, header) in proc.stdout, proc.stdout


def test_teardown_removes_exactly_the_lab(sandbox):
    empty = sandbox.snapshot()
    sandbox.module(TOPOLOGY, lab())
    # Foreign objects: a namespace and a host veth the lab never made, one with
    # a name the lab also uses in a namespace.
    sandbox.sh("ip netns add other; ip link add eth0 type veth peer name other0")
    foreign = sandbox.snapshot()
    steps = sandbox.four_steps(TOPOLOGY, {"name": "t1", "state": "absent"})
    assert steps["apply"]["summary"]["removed"] > 0
    after = steps["after"]
    assert set(after["netns"]) == {"other"}
    assert set(after["host"]) == {"lo", "eth0", "other0"}
    assert after["netns"]["other"] == foreign["netns"]["other"]
    sandbox.sh("ip netns del other; ip link del eth0")
    assert sandbox.snapshot() == empty


def test_prune_removes_what_the_description_dropped(sandbox):
    sandbox.module(TOPOLOGY, lab(3))
    smaller = lab(2)
    steps = sandbox.four_steps(TOPOLOGY, smaller)
    assert "h2" not in steps["after"]["netns"] and "h2-br" not in steps["after"]["host"]
    assert "delete namespace h2" in steps["apply"]["actions"]
    assert steps["apply"]["summary"]["removed"] == 3  # h2-br (with its peer), h2's route and namespace h2
    # Without prune, dropped objects stay; the bridge's exact port set still detaches the dropped port.
    sandbox.module(TOPOLOGY, lab(3))
    kept = sandbox.module(TOPOLOGY, dict(smaller, prune=False))
    assert kept["actions"] == ["detach h2-br from bridge br0 in host"]
    assert "h2" in sandbox.namespaces() and "h2-br" in sandbox.links()


def test_foreign_object_with_a_colliding_name_is_not_taken_over(sandbox):
    sandbox.sh("ip netns add h0")  # made by hand, no marker
    result = sandbox.refused(TOPOLOGY, lab(), "namespace 'h0' exists but this lab did not create it")
    assert "never takes over" in result["msg"]
    sandbox.sh("ip netns del h0; ip link add br0 type bridge")
    sandbox.refused(TOPOLOGY, lab(), "'br0' in the host namespace exists but this lab did not create it")
    # Another lab's objects are foreign too.
    sandbox.sh("ip link del br0")
    other = copy.deepcopy(lab())
    other["name"] = "t2"
    sandbox.module(TOPOLOGY, other)
    sandbox.refused(TOPOLOGY, lab(), "its marker is 'netvirt:lab=t2', not 'netvirt:lab=t1'")
    sandbox.module(TOPOLOGY, {"name": "t1", "state": "absent"})
    assert sandbox.namespaces() == {"h0", "h1", "gw"}, "tearing down t1 removed t2's namespaces"


def test_every_description_error_at_once(sandbox):
    bad = lab()
    bad["namespaces"].append({"name": "h0"})
    bad["veths"].append({"name": "x", "netns": "nowhere", "peer": "y", "peer_netns": ""})
    bad["bridges"][0]["ports"].append("ghost")
    bad["routes"].append({"netns": "h0", "dst": "10.9.0.0/16", "gateway": "10.0.0.253"})
    result = sandbox.refused(TOPOLOGY, bad, "the topology has 4 problem(s), nothing was changed")
    assert len(result["problems"]) == 4
    assert any("port 'ghost'" in p for p in result["problems"])
    assert any("is already taken by routes[0]" in p for p in result["problems"])


# ------------------------------------------- input as Ansible suboptions ---

def test_strings_from_extra_vars_are_converted(sandbox):
    """`-e` values arrive as strings; the topology converts them as the single modules do."""
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "netvirt.linux.bridge_lab"}]}]
    sandbox.playbook(play, extra_args=["-e", "bridge_lab_mtu=9000"])
    for netns, name in (("net0", "net0-bridge"), ("net1", "net1-bridge"), ("bridge", "bridge-net0"),
                        ("bridge", "bridge-net1"), ("bridge", "br")):
        assert sandbox.links(netns)[name]["mtu"] == 9000, (netns, name)
    # Again: nothing to change, the strings compare equal to what the kernel holds.
    proc, records = sandbox.playbook(play, extra_args=["-e", "bridge_lab_mtu=9000"])
    assert [r["task"] for r in records if r["result"].get("changed")] == [], proc.stdout

    # Every kind of converted option, straight from -e, with the four steps.
    args = lab()
    args["veths"][0]["mtu"] = "{{ mtu }}"
    args["veths"][0]["up"] = "{{ up }}"
    args["bridges"][0]["priority"] = "{{ priority }}"
    args["bridges"][0]["ports"][0] = {"name": "h0-br", "cost": "{{ cost }}", "hairpin": "{{ up }}"}
    args["routes"][0]["metric"] = "{{ metric }}"
    extra = ["-e", "mtu=1300 up=yes priority=4096 cost=42 metric=7"]
    snapshot = sandbox.snapshot()
    proc, records = sandbox.playbook(
        [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "t", TOPOLOGY: args}]}], extra_args=extra)
    assert records[-1]["result"]["changed"] is True
    after = sandbox.snapshot()
    assert after != snapshot
    assert sandbox.links("h0")["eth0"]["mtu"] == 1300
    assert sandbox.links()["br0"]["linkinfo"]["info_data"]["priority"] == 4096
    port = sandbox.links()["h0-br"]["linkinfo"]["info_slave_data"]
    assert port["cost"] == 42 and port["hairpin"] is True
    routes = sandbox.ip_json("route", "show", "10.9.0.0/16", netns="h0")
    assert [r.get("metric") for r in routes] == [7]
    proc, records = sandbox.playbook(
        [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "t", TOPOLOGY: args}]}], extra_args=extra)
    assert records[-1]["result"]["changed"] is False and sandbox.snapshot() == after


def test_bad_entry_types_are_refused_by_ansible(sandbox):
    sandbox.module(TOPOLOGY, lab())
    bad = lab(3)
    bad["veths"][1]["mtu"] = "big"
    sandbox.refused(TOPOLOGY, bad, "argument 'mtu' is of type str found in 'veths'")
    bad = lab(3)
    bad["veths"][2]["state"] = "absent"
    sandbox.refused(TOPOLOGY, bad, "Unsupported parameters for (netvirt.linux.topology) module: veths.state")
    bad = lab(3)
    bad["bridges"][0]["ports"][1] = {"name": "h1-br", "priority": "high"}
    result = sandbox.refused(TOPOLOGY, bad, "bridges[0].ports[1]: argument 'priority' is of type str")
    assert len(result["problems"]) == 1


# ------------------------------------------------ gateways, subnets, segments ---
# Each refused on top of a built lab, with new namespaces in the description:
# had anything been touched, the snapshot would show it.

def test_gateway_on_no_subnet_of_the_namespace_is_refused(sandbox):
    sandbox.module(TOPOLOGY, lab())
    bad = lab(3)
    bad["routes"][2]["gateway"] = "10.5.0.1"
    result = sandbox.refused(TOPOLOGY, bad, "the topology has 1 problem(s), nothing was changed")
    assert result["problems"] == [
        "routes[2]: gateway 10.5.0.1 is on no subnet the lab gives namespace 'h2' (it gives 10.0.0.0/24 on 'eth0'); "
        "the gateway must be in the subnet of an address of that namespace's interfaces"]
    assert "h2" not in sandbox.namespaces()


def test_overlapping_subnets_in_one_namespace_are_a_warning(sandbox):
    # The kernel accepts them (seed 004 puts two /24s of one subnet in one namespace): told, not refused.
    sandbox.module(TOPOLOGY, lab())
    wider = lab(3)
    wider["veths"].append({"name": "eth1", "netns": "gw", "peer": "gw-up", "peer_netns": "", "addresses": ["10.0.0.253/25"]})
    result = sandbox.module(TOPOLOGY, wider)
    assert result["changed"] and "h2" in sandbox.namespaces() and "gw-up" in sandbox.links()
    assert result["warnings"] == [
        "veths[4]: subnet 10.0.0.128/25 of 'eth1' (10.0.0.253/25) overlaps subnet 10.0.0.0/24 of 'eth0' (veths[3]) "
        "in namespace 'gw'; the kernel sends the overlap's traffic out of one of them only"]
    assert sandbox.ip_json("addr", "show", "eth1", netns="gw")[0]["addr_info"][0]["local"] == "10.0.0.253"
    assert sandbox.module(TOPOLOGY, wider)["changed"] is False


def test_same_address_on_one_segment_is_refused(sandbox):
    sandbox.module(TOPOLOGY, lab())
    bad = lab(3)
    bad["veths"][2]["addresses"] = ["10.0.0.1/24"]   # h2 takes h0's address on br0
    bad["bridges"][0]["addresses"] = ["10.0.0.254/24"]  # the bridge takes gw's
    bad["namespaces"].append({"name": "pair"})
    bad["veths"].append({"name": "a", "netns": "pair", "peer": "b", "peer_netns": "", "addresses": ["10.7.0.1/24"],
                         "peer_addresses": ["10.7.0.1/24"]})
    result = sandbox.refused(TOPOLOGY, bad, "the topology has 3 problem(s), nothing was changed")
    assert sorted(result["problems"]) == [
        "bridges[0]: address 10.0.0.254 of 'br0' in the host is also on 'eth0' in namespace 'gw' (veths[3]), "
        "on the same L2 segment (bridge 'br0' in the host)",
        "veths[2]: address 10.0.0.1 of 'eth0' in namespace 'h2' is also on 'eth0' in namespace 'h0' (veths[0]), "
        "on the same L2 segment (bridge 'br0' in the host)",
        "veths[4]: address 10.7.0.1 of 'b' in the host is also on 'a' in namespace 'pair' (veths[4]), "
        "on the same L2 segment (a veth pair)",
    ]
    assert sandbox.namespaces() == {"h0", "h1", "gw"}
