"""lab_info's pure part: a read World -> a `topology` description, a links table, Mermaid and DOT."""

import pytest
from unit_helpers import HOST, BridgeInfo, Link, Netns, P, PortInfo, RouteEntry, TunInfo, Veth, VxlanInfo, world

from ansible_collections.netvirt.linux.plugins.module_utils import _labinfo
from ansible_collections.netvirt.linux.plugins.module_utils._kind_iptables_chain import chain_entries
from ansible_collections.netvirt.linux.plugins.module_utils._kind_macvlan import MacvlanInfo
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS
from ansible_collections.netvirt.linux.plugins.module_utils._model import ARPHRD_ETHER, ARPHRD_LOOPBACK
from ansible_collections.netvirt.linux.plugins.module_utils._results import kernel_made
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build

# Every kind's section, in the registry's order (a kind added to the registry has its section described).
SECTIONS = [kind.section for kind in KINDS]


def lo(up=False, alias=None):
    return Link("lo", 1, None, 65536, up, link_type=ARPHRD_LOOPBACK, alias=alias)


def veth(name, index, peer_index, netnsid=None, addresses=(), up=True, mtu=1500, master=None, alias=None, port=None):
    return Link(name, index, "veth", mtu, up, addresses=tuple(addresses), link_index=peer_index,
                link_netnsid=netnsid, master=master, alias=alias, link_type=ARPHRD_ETHER, port=port)


def seed002():
    """Seed 002 as the kernel holds it: every namespace numbers its devices from 1 (index 2 everywhere)."""
    return world(
        ["net0", "net1", "bridge"], nsids={("net0", 0): "bridge", ("net1", 0): "bridge", ("bridge", 0): "net0",
                                           ("bridge", 1): "net1"},
        host=[lo(True), Link("eth0", 2, None, 1500, True, addresses=("192.168.5.5/24",), link_type=ARPHRD_ETHER)],
        net0=[lo(), veth("net0-bridge", 2, 2, 0, ["10.0.1.1/24", "fe80::1/64"])],
        net1=[lo(), veth("net1-bridge", 2, 3, 0, ["10.0.1.2/24"])],
        bridge=[lo(), veth("bridge-net0", 2, 2, 0, master=4, port=PortInfo(cost=2, priority=32)),
                veth("bridge-net1", 3, 2, 1, master=4, port=PortInfo(cost=2, priority=32)),
                Link("br", 4, "bridge", 1500, True, info=BridgeInfo())],
    )


def test_seed002_reads_as_the_seed_draws_it_and_builds_as_a_topology():
    info = _labinfo.describe(seed002())
    topology = info.topology
    assert list(topology) == SECTIONS
    assert topology["namespaces"] == [{"name": "bridge", "loopback": False}, {"name": "net0", "loopback": False},
                                      {"name": "net1", "loopback": False}]
    assert topology["veths"] == [
        {"name": "bridge-net0", "netns": "bridge", "peer": "net0-bridge", "peer_netns": "net0", "addresses": [],
         "peer_addresses": ["10.0.1.1/24"], "up": True},
        {"name": "bridge-net1", "netns": "bridge", "peer": "net1-bridge", "peer_netns": "net1", "addresses": [],
         "peer_addresses": ["10.0.1.2/24"], "up": True},
    ]
    ports = [{"name": "bridge-net0"}, {"name": "bridge-net1"}]
    assert topology["bridges"] == [{"name": "br", "netns": "bridge", "ports": ports, "addresses": [], "up": True}]
    assert [(s["namespace"], s["name"]) for s in info.left_out] == [(HOST, "eth0")]
    # `topology` takes it as it is (with a name).
    built = build(topology)
    assert sorted(built.namespaces) == ["bridge", "net0", "net1"]
    assert len(built.objects) == 6


def test_a_peer_is_found_by_namespace_and_index_never_by_index_alone():
    # Both namespaces hold a veth at index 2 pointing at index 2: only the netnsid says which pairs with which.
    lab = world(["a", "b", "c"], nsids={("a", 0): "b", ("b", 0): "a", ("c", 0): "ghost"},
                a=[lo(), veth("x", 2, 2, 0)], b=[lo(), veth("y", 2, 2, 0)], c=[lo(), veth("z", 2, 2, 0)])
    info = _labinfo.describe(lab)
    assert [(v["name"], v["peer"]) for v in info.topology["veths"]] == [("x", "y")]
    assert [(s["namespace"], s["name"]) for s in info.left_out] == [("c", "z")]
    rows = {(row["namespace"], row["name"]): row for row in info.links}
    assert rows[("a", "x")]["peer"] == "y" and rows[("a", "x")]["peer_namespace"] == "b"
    assert rows[("c", "z")]["peer"] is None and rows[("c", "z")]["described"] is False


def test_lab_keeps_only_the_marked_objects_of_two_labs_that_reuse_names():
    one, two = _labinfo.marker("one"), _labinfo.marker("two")
    lab = world(["one-a", "one-b", "two-a", "two-b", "other"],
                nsids={("one-a", 0): "one-b", ("one-b", 0): "one-a", ("two-a", 0): "two-b", ("two-b", 0): "two-a"},
                **{"one-a": [lo(True, one), veth("eth0", 2, 2, 0, ["10.1.0.1/24"], alias=one)],
                   "one-b": [lo(True, one), veth("eth0", 2, 2, 0, ["10.1.0.2/24"], alias=one)],
                   "two-a": [lo(True, two), veth("eth0", 2, 2, 0, ["10.2.0.1/24"], alias=two)],
                   "two-b": [lo(True, two), veth("eth0", 2, 2, 0, ["10.2.0.2/24"], alias=two)],
                   "other": [lo()]})
    info = _labinfo.describe(lab, lab="two")
    assert info.topology["name"] == "two"
    assert [ns["name"] for ns in info.topology["namespaces"]] == ["two-a", "two-b"]
    assert [(v["netns"], v["addresses"], v["peer_addresses"]) for v in info.topology["veths"]] == [
        ("two-a", ["10.2.0.1/24"], ["10.2.0.2/24"])]
    assert {row["lab"] for row in info.links} == {"two"}
    build(info.topology)
    assert not info.warnings
    warning = "nothing read carries the marker of lab 'three' (netvirt:lab=three)"
    assert _labinfo.describe(lab, lab="three").warnings == [warning]


def test_namespaces_and_host_narrow_what_is_described():
    info = _labinfo.describe(seed002(), only=["net0", "bridge"], host=False)
    assert [ns["name"] for ns in info.topology["namespaces"]] == ["bridge", "net0"]
    assert [v["peer"] for v in info.topology["veths"]] == ["net0-bridge"]
    # bridge-net1's other end is left out, so the pair is, and the bridge holds one port.
    assert [p["name"] for p in info.topology["bridges"][0]["ports"]] == ["bridge-net0"]
    assert any("bridge-net1" in w for w in info.warnings)
    assert HOST not in {row["namespace"] for row in info.links}


def test_bridge_options_and_port_settings_differing_from_the_kernels_defaults():
    lab = world(["r"], r=[lo(True), Link("tap0", 2, "tun", 1500, False, master=3, info=TunInfo(owner=1000),
                                         port=PortInfo(cost=100, priority=10, hairpin=True)),
                          Link("br", 3, "bridge", 1500, True, addresses=("10.5.0.1/24",),
                               info=BridgeInfo(stp=True, forward_delay=800, priority=4096))])
    topology = _labinfo.describe(lab).topology
    port = {"name": "tap0", "cost": 100, "priority": 10, "hairpin": True}
    assert topology["bridges"] == [{"name": "br", "netns": "r", "ports": [port],
                                    "stp": True, "forward_delay": 8.0, "priority": 4096,
                                    "addresses": ["10.5.0.1/24"], "up": True}]
    assert topology["taps"] == [{"name": "tap0", "netns": "r", "mode": "tap", "owner": "1000", "multi_queue": False,
                                 "pi": False, "vnet_hdr": False, "addresses": [], "up": False}]
    build(topology)


def test_a_tap_a_program_holds_is_left_out():
    lab = world(["r"], r=[lo(), Link("tap9", 2, "tun", 1500, True, info=TunInfo(persist=False))])
    info = _labinfo.describe(lab)
    assert info.topology["taps"] == []
    assert "program" in info.left_out[0]["reason"]


def test_vxlan_and_macvlan_name_their_lower_devices_and_keep_a_non_default_mtu():
    lab = world(["r"], r=[lo(), Link("under", 2, "dummy", 9000, True),
                          Link("vx0", 3, "vxlan", 8950, True, info=VxlanInfo(vni=42, remote="10.0.0.2", dstport=4789,
                                                                             dev=2)),
                          Link("mv0", 4, "macvlan", 1400, True, info=MacvlanInfo(mode="private", parent=2))])
    info = _labinfo.describe(lab)
    assert info.topology["vxlans"] == [{"name": "vx0", "netns": "r", "vni": 42, "remote": "10.0.0.2",
                                        "dstport": 4789, "dev": "under", "addresses": [], "up": True}]
    assert info.topology["macvlans"] == [{"name": "mv0", "netns": "r", "link": "under", "mode": "private",
                                          "addresses": [], "mtu": 1400, "up": True}]
    assert [s["name"] for s in info.left_out] == ["under"]


def test_a_vxlans_all_zeros_entry_is_described_as_remotes():
    from ansible_collections.netvirt.linux.plugins.module_utils._kind_vxlan import FdbEntry

    lab = world(["r"], r=[lo(), Link("u", 2, None, 1500, True, link_type=ARPHRD_ETHER),
                          Link("vx0", 3, "vxlan", 1450, True, info=VxlanInfo(vni=42, local="10.0.0.1", dstport=4789)),
                          Link("vx1", 4, "vxlan", 1450, True, info=VxlanInfo(vni=43, remote="10.0.0.2", dstport=4789,
                                                                             dev=2))])
    # vx0: head-end replication (and an entry with a port of its own, not a remote); vx1: its default destination
    # (pinned to its dev) and one appended beside it, which remotes cannot say next to remote.
    lab.spaces["r"].fdb = {3: (FdbEntry("10.0.0.9"), FdbEntry("10.0.0.3"), FdbEntry("10.0.0.7", port=99)),
                           4: (FdbEntry("10.0.0.2", via=2), FdbEntry("10.0.0.5"))}
    info = _labinfo.describe(lab)
    vxlans = {v["name"]: v for v in info.topology["vxlans"]}
    assert vxlans["vx0"]["remotes"] == ["10.0.0.3", "10.0.0.9"] and "remote" not in vxlans["vx0"]
    assert vxlans["vx1"]["remote"] == "10.0.0.2" and "remotes" not in vxlans["vx1"]
    assert any("vx1" in warning and "10.0.0.5" in warning for warning in info.warnings), info.warnings
    assert any("vx0" in warning and "10.0.0.7 port 99" in warning for warning in info.warnings), info.warnings
    # What it describes builds again as read, but for what it warned of.
    vxlans = [obj for obj in build(dict(info.topology, name="x")).objects if obj.kind == "vxlan"]
    assert [a.describe() for a in P.plan(vxlans, lab).actions] == ["remove remote 10.0.0.7 port 99 from vx0 in r"]


def test_routes_the_kernel_made_or_through_devices_left_out_are_not_described():
    lab = world(["c"], nsids={("c", 0): "host"},
                host=[lo(True), Link("eth0", 2, None, 1500, True, link_type=ARPHRD_ETHER), veth("h0", 3, 2, 0)],
                c=[lo(), veth("eth0", 2, 3, 0, ["10.9.0.1/24"])])
    lab.spaces["c"].routes = (
        RouteEntry("10.9.0.0/24", 254, 0, oif=2, proto=2),  # from the address
        RouteEntry("0.0.0.0/0", 254, 0, gateway="10.9.0.254", oif=2, proto=4),
        RouteEntry("10.77.0.0/16", 1000, 7, gateway="10.9.0.254", oif=2, proto=3),
        RouteEntry("fd00::/64", 254, 1024, oif=2, proto=3),
        RouteEntry("127.0.0.0/8", 255, 0, oif=1, proto=2),
    )
    lab.spaces[HOST].routes = (RouteEntry("0.0.0.0/0", 254, 100, gateway="192.168.5.1", oif=2, proto=16),)
    routes = _labinfo.describe(lab).topology["routes"]
    assert routes == [
        {"dst": "0.0.0.0/0", "gateway": "10.9.0.254", "dev": "eth0", "netns": "c"},
        {"dst": "fd00::/64", "dev": "eth0", "netns": "c"},
        {"dst": "10.77.0.0/16", "gateway": "10.9.0.254", "dev": "eth0", "metric": 7, "table": "1000", "netns": "c"},
    ]


def test_sysctls_are_those_that_differ_from_a_new_namespaces():
    defaults = {"net.ipv4.ip_forward": "0", "net.ipv4.conf.all.rp_filter": "2", "net.core.somaxconn": "4096",
                "net.ipv4.tcp_fastopen_key": "a-b-c-d"}
    lab = world(["r"], r=[lo(True)])
    lab.spaces["r"].sysctls = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "2",
                               "net.core.somaxconn": "4096", "net.ipv4.tcp_fastopen_key": "e-f-g-h",
                               "net.only.here": "1"}
    namespaces = _labinfo.describe(lab, sysctl_defaults=defaults).topology["namespaces"]
    assert namespaces == [{"name": "r", "loopback": True, "sysctls": {"net.ipv4.ip_forward": "1"}}]


SAVE4 = """# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o wan0 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:LAB - [0:0]
-A FORWARD -j LAB
-A LAB -s 10.0.2.0/24 -j DROP
COMMIT
"""
SAVE6 = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LAB - [0:0]
-A LAB -s 10.0.2.0/24 -j DROP
COMMIT
"""


def test_chains_user_defined_first_builtin_only_when_changed_alike_families_merged():
    entries = chain_entries({"r": {"ipv4": SAVE4, "ipv6": SAVE6.replace("10.0.2.0/24", "fd00::/64")}})
    assert entries == [
        {"table": "filter", "chain": "LAB", "rules": ["-s 10.0.2.0/24 -j DROP"], "netns": "r", "ip_version": "ipv4"},
        {"table": "filter", "chain": "LAB", "rules": ["-s fd00::/64 -j DROP"], "netns": "r", "ip_version": "ipv6"},
        {"table": "filter", "chain": "FORWARD", "policy": "DROP", "rules": ["-j LAB"], "netns": "r",
         "ip_version": "ipv4"},
        {"table": "nat", "chain": "POSTROUTING", "policy": "ACCEPT", "rules": ["-o wan0 -j MASQUERADE"], "netns": "r",
         "ip_version": "ipv4"},
    ]
    merged = chain_entries({"r": {"ipv4": SAVE6, "ipv6": SAVE6}})
    assert merged == [{"table": "filter", "chain": "LAB", "rules": ["-s 10.0.2.0/24 -j DROP"], "netns": "r",
                       "ip_version": "both"}]


def test_chains_of_the_host_are_never_described():
    lab = world(["r"], r=[lo()], host=[lo(True)])
    info = _labinfo.describe(lab, chains={HOST: {"ipv4": SAVE4}, "r": {"ipv4": SAVE6}})
    assert {c["netns"] for c in info.topology["iptables_chains"]} == {"r"}


@pytest.mark.parametrize("fmt", _labinfo.FORMATS)
def test_diagrams_name_every_namespace_and_label_veth_pairs_with_addresses(fmt):
    topology = _labinfo.describe(seed002()).topology
    text = _labinfo.diagram(topology, fmt)
    for name in ("net0", "net1", "bridge"):
        assert "netns %s" % name in text
    assert "10.0.1.1/24 on net0-bridge" in text
    assert "br (bridge)" in text
    if fmt == "mermaid":
        assert text.startswith("flowchart LR\n")
        assert text.count("subgraph ") == 3 and text.count("  end\n") == 3
    else:
        assert text.startswith("graph lab {") and text.rstrip().endswith("}")
        assert text.count("subgraph cluster_") == 3


def test_diagrams_escape_what_their_languages_give_a_meaning():
    topology = {"namespaces": [{"name": 'a"b\\c'}], "veths": [], "bridges": [
        {"name": "br", "netns": 'a"b\\c', "ports": [], "addresses": []}]}
    assert 'subgraph ns0["netns a#quot;b\\c"]' in _labinfo.mermaid(topology)
    assert 'label="netns a\\"b\\\\c";' in _labinfo.dot(topology)


def test_two_pairs_with_the_same_names_the_other_way_round_are_two_pairs():
    """A description lab_info writes may list (host:eth0 - lab2:eth1) before (lab0:eth1 - lab2:eth0): the second
    is made, never found in the first and moved (a generated lab's round trip)."""
    desired = [Netns("lab0"), Netns("lab2"),
               Veth("eth0", peer="eth1", peer_netns="lab2"),
               Veth("eth1", netns="lab0", peer="eth0", peer_netns="lab2")]
    plan = P.plan(desired, world())
    creates = [a for a in plan.actions if type(a).__name__ == "CreateVeth"]
    assert [(a.netns, a.name, a.peer_netns, a.peer) for a in creates] == [
        (HOST, "eth0", "lab2", "eth1"), ("lab0", "eth1", "lab2", "eth0")]
    assert [type(a).__name__ for a in plan.actions if "Move" in type(a).__name__] == []
    # Built, both are found in place.
    built = world(["lab0", "lab2"], nsids={("host", 0): "lab2", ("lab2", 0): "host", ("lab2", 1): "lab0",
                                           ("lab0", 0): "lab2"},
                  host=[lo(True), veth("eth0", 2, 2, 0)],
                  lab0=[lo(True), veth("eth1", 2, 3, 0)],
                  lab2=[lo(True), veth("eth1", 2, 2, 0), veth("eth0", 3, 2, 1)])
    assert not P.plan(desired, built).changed


def test_only_the_tunnel_modules_fallback_devices_count_as_kernel_made():
    assert kernel_made(Link("tunl0", 2, "ipip", 1480, False))
    assert kernel_made(Link("sit0", 3, "sit", 1480, False))
    # A physical NIC moved into a namespace has no kind: it is someone's, not the kernel's.
    assert not kernel_made(Link("eth0", 4, None, 1500, True))
    assert not kernel_made(Link("enp1s0", 5, None, 1500, True))
    # A fallback name with another kind is a device someone made.
    assert not kernel_made(Link("tunl0", 6, "veth", 1500, True))


def test_a_peer_in_the_host_is_written_as_the_empty_string_and_one_beside_its_end_is_left_out():
    """peer_netns omitted is the first end's namespace (as `ip -n NS link add ... peer ...`); '' is the host."""
    lab = world(["a", "b"], nsids={("a", 0): "host", ("host", 0): "a"},
                host=[lo(True), veth("a-br", 2, 2, 0, ["10.3.0.2/24"])],
                a=[lo(), veth("eth0", 2, 2, 0, ["10.3.0.1/24"])],
                b=[lo(), veth("x0", 2, 3, None), veth("x1", 3, 2, None)])
    veths = {(v.get("netns"), v["name"]): v for v in _labinfo.describe(lab).topology["veths"]}
    (host_pair,) = [v for v in veths.values() if "eth0" in (v["name"], v["peer"])]
    if host_pair["name"] == "eth0":
        assert host_pair["netns"] == "a" and host_pair["peer_netns"] == ""
    else:
        assert "netns" not in host_pair and host_pair["peer_netns"] == "a"
    (local_pair,) = [v for v in veths.values() if "x0" in (v["name"], v["peer"])]
    assert local_pair["netns"] == "b" and "peer_netns" not in local_pair
    # The description builds back into the same ends.
    built = {(o.netns, o.name): o for o in build(dict(_labinfo.describe(lab).topology, name="t")).objects
             if o.kind == "veth"}
    pairs = {frozenset([(o.netns, o.name), (o.peer_netns, o.peer)]) for o in built.values()}
    assert pairs == {frozenset([("a", "eth0"), (HOST, "a-br")]), frozenset([("b", "x0"), ("b", "x1")])}
