"""Unit tests of the lab-file compiler: nodes and links to topology descriptions, addresses, routes, checks."""

import copy
import ipaddress
import json
import random
from pathlib import Path

import pytest
import yaml

from ansible_collections.netvirt.linux.plugins.module_utils._labadopt import to_lab
from ansible_collections.netvirt.linux.plugins.module_utils._labfile import LabFileError, compile_lab
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build

CAMPUS = yaml.safe_load("""
name: campus
routing: static
nodes:
  h1: {}
  r1: {forward: true}
  h2: {gateway: r1}
  h3: {}
  host: {}
links:
  - [h1, r1]
  - {nodes: [r1, h2], mtu: 1400, shaping: {rate: 10mbit, delay: 5ms}}
  - {name: lan, nodes: [h1, h2, h3], prefix: 10.9.0.0/24}
  - {nodes: [h1, r1], addresses: {h1: 192.0.2.1/24, r1: 192.0.2.2/24}}
  - [h2:uplink, host:veth-h2]
""")


def problems(lab, hosts=None):
    with pytest.raises(LabFileError) as err:
        compile_lab(lab, hosts)
    return err.value.problems


def test_campus_compiles_and_every_share_builds():
    compiled = compile_lab(CAMPUS)
    share = compiled.shares["localhost"]
    build({k: v for k, v in share.items() if k != "name"})
    assert compiled.addresses["h1"] == {"eth0": ["10.128.0.1/30"], "eth1": ["10.9.0.1/24"], "eth2": ["192.0.2.1/24"]}
    assert compiled.addresses["host"] == {"veth-h2": ["10.128.0.10/30"]}
    assert share["bridges"] == [{"name": "lan", "ports": ["lan-h1", "lan-h2", "lan-h3"]}]
    assert share["veths"][1] == {
        "name": "eth1", "netns": "r1", "peer": "eth0", "peer_netns": "h2", "addresses": ["10.128.0.5/30"],
        "peer_addresses": ["10.128.0.6/30"], "mtu": 1400, "shaping": {"rate": "10mbit", "delay": "5ms"},
        "peer_shaping": {"rate": "10mbit", "delay": "5ms"}}
    assert share["veths"][-1] == {"name": "uplink", "netns": "h2", "peer": "veth-h2", "peer_netns": "",
                                  "addresses": ["10.128.0.9/30"], "peer_addresses": ["10.128.0.10/30"]}
    assert all(check["expect"] == "reachable" for check in compiled.checks)
    assert compiled.summary() == "lab campus: 5 nodes, 5 links (1 LAN), 1 host, routing static"
    assert compiled.placement == {name: "localhost" for name in CAMPUS["nodes"]}
    assert compile_lab(CAMPUS) == compiled, "deterministic"


def test_seed002_as_a_lab_file():
    lab = {"name": "seed002", "nodes": {"net0": {}, "net1": {}, "bridge": {}},
           "links": [{"name": "br", "nodes": ["net0:net0-bridge", "net1:net1-bridge"], "bridge_in": "bridge",
                      "ports": {"net0": "bridge-net0", "net1": "bridge-net1"},
                      "addresses": {"net0": "10.0.1.1/24", "net1": "10.0.1.2/24"}}]}
    share = compile_lab(lab).shares["localhost"]
    assert share == {
        "name": "seed002",
        "namespaces": [{"name": "net0"}, {"name": "net1"}, {"name": "bridge"}],
        "veths": [{"name": "net0-bridge", "netns": "net0", "peer": "bridge-net0", "peer_netns": "bridge",
                   "addresses": ["10.0.1.1/24"]},
                  {"name": "net1-bridge", "netns": "net1", "peer": "bridge-net1", "peer_netns": "bridge",
                   "addresses": ["10.0.1.2/24"]}],
        "bridges": [{"name": "br", "netns": "bridge", "ports": ["bridge-net0", "bridge-net1"]}],
    }


def test_unknown_node_is_named():
    lab = {"name": "x", "nodes": {"h1": {}}, "links": [["h1", "h9"]]}
    assert problems(lab) == ["links[0].nodes[1]: unknown node 'h9' (declare it under nodes)"]


def lab_of(*links, nodes=None, **top):
    """A lab named 't' of the nodes the links name (or ``nodes``), with ``top`` keys beside."""
    if nodes is None:
        nodes = {}
        for link in links:
            for end in (link if isinstance(link, list) else link["nodes"]):
                nodes.setdefault(end.split(":")[0], {})
    return dict({"name": "t", "nodes": nodes, "links": list(links)}, **top)


def shares_build(compiled):
    """Every host's share passes the checks topology makes (and the vxlan remotes are left aside)."""
    for share in copy.deepcopy(compiled.shares).values():
        description = {k: v for k, v in share.items() if k != "name"}
        for vxlan in description.get("vxlans", []):
            vxlan.pop("remotes", None)
        build(description)


def verdicts(compiled):
    """{(source, address): expect} of the checks; the host is None."""
    return {(check.get("from"), address): check["expect"] for check in compiled.checks for address in check["to"]}


# ---- errors: each names the node or link and the key ----

@pytest.mark.parametrize("lab, expected", [
    (dict(lab_of(["a", "b"]), extra=1), "extra: unknown key(s)"),
    (lab_of(["a", "b"], nodes={"a": {"colour": "red"}, "b": {}}), "nodes.a: unknown key(s) colour"),
    (lab_of({"nodes": ["a", "b"], "speed": 1}), "links[0]: unknown key(s) speed"),
    (lab_of(["a", "b"], nodes={"a": {}}), "links[0].nodes[1]: unknown node 'b' (declare it under nodes)"),
    (lab_of(["a", "b"], nodes={"a": {"host": "lab2"}, "b": {}}),
     "nodes.a.host: 'lab2' is not a host of this play (hosts: localhost)"),
    (lab_of(["a:averyveryverylongname", "b"]),
     "links[0].nodes[0]: interface name 'averyveryverylongname' is longer than 15 characters"),
    (lab_of(["a", "b"], ["b", "c"], nodes={"a": {"gateway": "c"}, "b": {}, "c": {}}),
     "nodes.a.gateway: a shares no link with c"),
    (lab_of(["a", "b"], nodes={"a": {"gateway": "z"}, "b": {}}), "nodes.a.gateway: unknown node 'z'"),
    (lab_of(["a", "b"], nodes={"a": {"gateway": "a"}, "b": {}}), "nodes.a.gateway: a node cannot be its own"),
    (lab_of(["host", "b"], nodes={"host": {"forward": True}, "b": {}}),
     "nodes.host.forward: the host's own forwarding is not the lab's to set"),
    (lab_of(["host", "b"], nodes={"host": {"gateway": "b"}, "b": {}}),
     "nodes.host.gateway: the host's own default route is not the lab's to set"),
    (lab_of(["a", "b"], nodes={"a": {"forward": "yes"}, "b": {}}), "nodes.a.forward: 'yes' must be true or false"),
    (lab_of(["a", "b"], ["a", "b"], ["a", "b"], addressing={"ipv4": "10.0.0.0/29"}),
     "addressing.ipv4: pool 10.0.0.0/29 exhausted at links[2]"),
    (lab_of(["a", "b"], addressing={"ipv6": "fd00::/80"}), "addressing.ipv6: fd00::/80 is smaller than the /64"),
    (lab_of(["a", "b"], addressing={"p2p_prefix": 31}), "addressing.p2p_prefix: 31 must be a prefix length"),
    (lab_of(["a", "b"], addressing={"ipv4": "fd00::/64"}), "addressing.ipv4: fd00::/64 is not an IPv4 network"),
    (lab_of(["a", "b"], addressing={"pool": "10.0.0.0/8"}), "addressing: unknown key(s) pool"),
    (lab_of({"nodes": ["a", "b"], "prefix": "10.0.0.0/24", "addresses": {"a": "10.0.1.1/24"}}),
     "links[0].addresses.a: 10.0.1.1/24 is outside the link's subnet 10.0.0.0/24"),
    (lab_of(["a", "b"], {"nodes": ["a", "b"], "addresses": {"a": "10.128.0.1/30", "b": "10.128.0.9/30"}}),
     "links[1].addresses.a: 10.128.0.1/30 is already links[0]'s address of a"),
    (lab_of({"nodes": ["a", "b"], "prefix": "10.1.0.0/24", "addresses": {"a": "10.1.0.2/24"}}),
     "links[0].nodes[1]: 10.1.0.2/24 is already links[0]'s address of a"),
    (lab_of(["a", "b"], {"nodes": ["a", "b"], "prefix": "10.128.0.0/24"}),
     "links[1].prefix: 10.128.0.0/24 overlaps links[0]'s automatic subnet 10.128.0.0/30"),
    (lab_of(["a", "b"], {"nodes": ["a", "b"], "addresses": {"a": "10.128.0.5/16", "b": "10.128.0.6/16"}}),
     "links[1].addresses.a: 10.128.0.0/16 overlaps links[0]'s automatic subnet 10.128.0.0/30"),
    (lab_of(["a", "b"], name="two words"), "name: lab name 'two words' must be 1 to 64 characters"),
    (lab_of(["a", "b"], routing="ospf"), "routing: 'ospf' is not one of none, static"),
    (lab_of(["a:x", "b"], ["a:x", "c"]), "links[1].nodes[0]: interface name 'x' of a is already links[0]'s interface"),
    (lab_of(["a", "b"], ["a:eth0", "c"]), "links[1].nodes[0]: interface name 'eth0' of a is already links[0]'s"),
    (lab_of({"nodes": ["a", "b"], "bridge_in": "z"}), "links[0].bridge_in: unknown node 'z'"),
    (lab_of({"nodes": ["a", "b", "a"]}), "links[0].nodes[2]: node a is on this LAN twice"),
    (lab_of({"nodes": ["a"]}), "links[0].nodes: a link joins a list of at least two nodes"),
    (lab_of({"nodes": ["a", "b"], "addresses": {"c": "10.0.0.1/24"}}), "links[0].addresses.c: 'c' is not an end"),
    (lab_of({"nodes": ["a", "b"], "addresses": {"a": "10.0.0.1"}}),
     "links[0].addresses.a: '10.0.0.1' is not an address in CIDR form"),
    (lab_of({"nodes": ["a", "b"], "shaping": {"speed": "1mbit"}}), "links[0].shaping: unknown key(s) speed"),
    (lab_of({"nodes": ["a", "b"], "mtu": 20}), "links[0].mtu: 20 must be an MTU from 68 to 65535"),
    (lab_of({"nodes": ["a", "b"], "name": "a-name-far-too-long"}), "links[0].name: link name 'a-name-far-too-long'"),
    (lab_of({"nodes": ["a", "b", "c", "d"], "prefix": "10.0.0.0/30"}),
     "links[0].nodes: 4 nodes do not fit in 10.0.0.0/30 (prefix)"),
    (lab_of({"nodes": ["a", "b"], "ports": {"a": "pa"}}), "links[0].ports: only a LAN"),
    (lab_of({"nodes": ["a", "b", "c"], "ports": {"z": "pz"}}), "links[0].ports.z: 'z' is not a node of this link"),
    (lab_of(["a", "b"], namespaces=[{"name": "a"}]), "namespaces: the lab's namespaces are its nodes"),
    (lab_of(["a", "b"], iptables_chains=[{"netns": "zz", "chain": "C"}]),
     "iptables_chains[0].netns: 'zz' is not a node of the lab"),
    (lab_of(["a", "b"], routes=[{"netns": "a", "dst": "10.9.0.0/24", "gateway": "10.7.0.1"}]),
     "hosts.localhost: routes[0]: gateway 10.7.0.1 is on no subnet the lab gives namespace 'a'"),
    (lab_of(["a", "b"], vxlan={"vni_base": 0}), "vxlan.vni_base: 0 must be a VNI from 1 to 16777215"),
    (lab_of(["a", "b"], vxlan={"port": 70000}), "vxlan.port: 70000 must be a UDP port"),
    (lab_of({"nodes": ["a", "b"], "vni": -1}), "links[0].vni: -1 must be a VNI"),
    ("not a mapping", "the lab file must be a mapping"),
    ({"name": "t", "nodes": {}}, "nodes: a mapping of node names to their options, with at least one node"),
    ({"name": "t", "nodes": {"a/b": {}}}, "nodes.a/b: node name 'a/b' is not a valid namespace name"),
])
def test_error_names_node_or_link_and_key(lab, expected):
    found = problems(lab)
    assert any(problem.startswith(expected) for problem in found), found


def test_multi_host_errors_name_the_host_or_link():
    hosts = {"h1": "192.0.2.1", "h2": None}
    lab = lab_of(["a", "b"], nodes={"a": {}, "b": {"host": "h2"}})
    assert problems(lab, hosts) == [
        "hosts.h2: no underlay address (netvirt_underlay_address or ansible_host), which links[0] across hosts needs"]
    hosts = {"h1": "192.0.2.1", "h2": "192.0.2.2"}
    lab = lab_of({"nodes": ["a", "b"], "bridge_in": "a"}, nodes={"a": {}, "b": {"host": "h2"}})
    assert problems(lab, hosts)[0].startswith("links[0].bridge_in: the link spans hosts h1, h2")
    lab = lab_of({"nodes": ["a", "b"], "vni": 7}, {"nodes": ["a", "b"], "vni": 7}, nodes={"a": {}, "b": {"host": "h2"}})
    assert problems(lab, hosts) == ["links[1].vni: VNI 7 is already links[0]'s"]
    lab = lab_of(["a", "b"], nodes={"a": {}, "b": {"host": "h2"}}, vxlan={"vni_base": 16777215})
    lab["links"].append(["a", "b"])
    assert problems(lab, hosts) == [
        "links[1].vni: VNI 16777216 (vni_base 16777215 + link index) is over 16777215; set vxlan.vni_base"]
    lab = lab_of(["a", "b"], nodes={"a": {}, "b": {"host": "h2"}})
    assert problems(lab, {"h1": "192.0.2.1", "h2": "lab2.example"}) == [
        "hosts.h2: underlay address 'lab2.example' is not an IP address (set netvirt_underlay_address), which "
        "links[0] across hosts needs"]
    lab = lab_of(["a", "b"], nodes={"a": {}, "b": {}})
    assert compile_lab(lab, {"h1": "lab1.example", "h2": None}).shares["h2"] == {"name": "t"}, \
        "an underlay address is only read where a link crosses hosts"


def test_every_problem_reported_at_once():
    lab = lab_of(["a", "zz"], ["a:" + "x" * 16, "b"], nodes={"a": {"host": "elsewhere"}, "b": {"colour": 1}},
                 routing="ospf")
    found = problems(lab)
    assert len(found) == 5, found
    message = str(LabFileError(found))
    assert message.startswith("the lab file has 5 problem(s), nothing was changed:\n")
    assert message.count("\n") == 5


def test_a_prefix_larger_than_the_pool_is_named_where_a_link_takes_one():
    lab = lab_of(["a", "b"], addressing={"ipv4": "10.0.0.0/29"})
    assert compile_lab(lab).addresses["a"] == {"eth0": ["10.0.0.1/30"]}, "no LAN: lan_prefix 24 is never taken"
    lab["links"].append(["a", "b", "c"])
    lab["nodes"]["c"] = {}
    assert problems(lab) == ["addressing.lan_prefix: a /24 is larger than the pool 10.0.0.0/29 (links[1] takes one)"]


# ---- routing and the checks ----

def line(n):
    return [["n%d" % i, "n%d" % (i + 1)] for i in range(n - 1)]


def ring(n):
    return line(n) + [["n%d" % (n - 1), "n0"]]


def tree(depth):
    """A binary tree of nodes t1 (root), t2, t3, ...; t<k>'s children are t<2k>, t<2k+1>."""
    return [["t%d" % (k // 2), "t%d" % k] for k in range(2, 2 ** depth)]


@pytest.mark.parametrize("links", [line(6), ring(7), tree(4), line(3) + [["n0", "n1", "x"], ["x", "y"]]],
                         ids=["line", "ring", "tree", "lan"])
def test_routing_static_reaches_every_address(links):
    compiled = compile_lab(lab_of(*links, routing="static"))
    shares_build(compiled)
    found = verdicts(compiled)
    nodes = list(compiled.placement)
    count = {name: sum(len(cidrs) for cidrs in compiled.addresses[name].values()) for name in nodes}
    assert len(found) == sum(sum(count.values()) - count[name] for name in nodes), "every node to every other's"
    assert set(found.values()) == {"reachable"}


def test_routing_static_turns_forwarding_on_where_traffic_passes():
    share = compile_lab(lab_of(*line(5), routing="static")).shares["localhost"]
    sysctls = {entry["name"]: entry.get("sysctls") for entry in share["namespaces"]}
    assert sysctls == {"n0": None, "n1": {"net.ipv4.ip_forward": 1}, "n2": {"net.ipv4.ip_forward": 1},
                       "n3": {"net.ipv4.ip_forward": 1}, "n4": None}


def test_routing_static_routes_along_a_shortest_path_ties_to_the_first_link():
    # A square n0-n1-n2-n3-n0: n0 reaches n2's far subnet (n2-n3, links[2]) through n3 (1 hop), n1-n2's through n1;
    # the subnet of n1-n2 (links[1]) from n3 is a tie broken by the link that appears first: n2 over links[2]
    # comes before n0 over links[3].
    compiled = compile_lab(lab_of(*ring(4), routing="static"))
    routes = compiled.shares["localhost"]["routes"]
    n0 = {route["dst"]: route["gateway"] for route in routes if route["netns"] == "n0"}
    assert n0 == {"10.128.0.4/30": "10.128.0.2", "10.128.0.8/30": "10.128.0.13"}
    n3 = {route["dst"]: route["gateway"] for route in routes if route["netns"] == "n3"}
    assert n3["10.128.0.4/30"] == "10.128.0.9", "n2's address on links[2], the first link of the tie"
    assert len({(r["netns"], r["dst"]) for r in routes}) == len(routes), "one route per destination"


def test_routing_none_reaches_only_shared_links():
    compiled = compile_lab(lab_of(*line(4), ["n0", "n1", "n2"]))
    networks = {name: {ipaddress.ip_interface(cidr).network for cidrs in interfaces.values() for cidr in cidrs}
                for name, interfaces in compiled.addresses.items()}
    found = verdicts(compiled)
    assert len(found) == 7 + 6 + 6 + 8, "every node to every other node's addresses (n0 2, n1 3, n2 3, n3 1)"
    for (source, target), expect in found.items():
        shared = any(ipaddress.ip_address(target) in network for network in networks[source])
        assert expect == ("reachable" if shared else "unreachable"), (source, target)
    assert "routes" not in compiled.shares["localhost"]


def test_gateways_as_linux_behaves():
    # h1 - r - h2. r forwards; h1 has r as its gateway, h2 has none: h1's pings reach h2 but its reply has no
    # way back, so h1 -> h2 is unreachable; h1 and h2 both reach r's two addresses (r forwards, h1's reply to
    # r's far address is local to r).
    lab = lab_of(["h1", "r"], ["r", "h2"], nodes={"h1": {"gateway": "r"}, "r": {"forward": True}, "h2": {}})
    compiled = compile_lab(lab)
    found = verdicts(compiled)
    assert found[("h1", "10.128.0.6")] == "unreachable", "no route back from h2"
    assert found[("h1", "10.128.0.5")] == "reachable", "r's far address is r's own"
    assert found[("h2", "10.128.0.1")] == "unreachable", "h2 has no route to links[0]"
    lab["nodes"]["h2"] = {"gateway": "r"}
    found = verdicts(compile_lab(lab))
    assert found[("h1", "10.128.0.6")] == found[("h2", "10.128.0.1")] == "reachable"
    # Without forwarding on r, its far address is still its own, but h2 behind it is not reached; r is told to
    # forward nothing (ip_forward 0) so that a host that forwards by default behaves the same.
    lab["nodes"]["r"] = {}
    compiled = compile_lab(lab)
    found = verdicts(compiled)
    assert found[("h1", "10.128.0.6")] == "unreachable"
    assert found[("h1", "10.128.0.5")] == "reachable"
    assert {"name": "r", "sysctls": {"net.ipv4.ip_forward": 0}} in compiled.shares["localhost"]["namespaces"]
    defaults = [route for route in compiled.shares["localhost"]["routes"] if route["dst"] == "default"]
    assert defaults == [{"netns": "h1", "dst": "default", "gateway": "10.128.0.2"},
                        {"netns": "h2", "dst": "default", "gateway": "10.128.0.5"}]


def test_forward_false_is_no_transit_under_routing_static():
    # a - b - c and a - d - c: b says forward: false, so paths run through d.
    lab = lab_of(["a", "b"], ["b", "c"], ["a", "d"], ["d", "c"], routing="static",
                 nodes={"a": {}, "b": {"forward": False}, "c": {}, "d": {}})
    compiled = compile_lab(lab)
    assert set(verdicts(compiled).values()) == {"reachable"}
    namespaces = {entry["name"]: entry.get("sysctls") for entry in compiled.shares["localhost"]["namespaces"]}
    assert namespaces["b"] == {"net.ipv4.ip_forward": 0}
    assert namespaces["d"] == {"net.ipv4.ip_forward": 1}


def test_the_host_is_never_a_transit():
    # a - host - b only: no path between a and b, whatever the routing.
    compiled = compile_lab(lab_of(["a", "host"], ["host", "b"], routing="static"))
    found = verdicts(compiled)
    assert found[("a", "10.128.0.6")] == "unreachable"
    assert found[(None, "10.128.0.6")] == "reachable"
    assert "routes" not in compiled.shares["localhost"]
    assert compiled.checks_for("localhost") == compiled.checks


# ---- the seeds in this form ----

def test_seed000_the_host_and_a_namespace():
    lab = {"name": "seed000", "nodes": {"host": {}, "iris_network": {}},
           "links": [{"nodes": ["host:veth0", "iris_network:iris_veth"],
                      "addresses": {"host": "10.1.1.2/24", "iris_network": "10.1.1.1/24"}}]}
    compiled = compile_lab(lab)
    assert compiled.shares["localhost"] == {
        "name": "seed000", "namespaces": [{"name": "iris_network"}],
        "veths": [{"name": "veth0", "peer": "iris_veth", "peer_netns": "iris_network",
                   "addresses": ["10.1.1.2/24"], "peer_addresses": ["10.1.1.1/24"]}]}
    assert compiled.checks == [{"to": ["10.1.1.1"], "expect": "reachable"},
                               {"from": "iris_network", "to": ["10.1.1.2"], "expect": "reachable"}]


def test_seed004_a_bridge_with_an_address_and_a_veth_pair_in_the_host():
    lab = {"name": "seed004", "nodes": {"host": {}, "remote": {}},
           "links": [{"name": "br0", "nodes": ["host", "remote:veth1"], "bridge_in": "host",
                      "ports": {"remote": "veth0"},
                      "addresses": {"host": "192.0.2.101/24", "remote": "192.0.2.102/24"}},
                     {"nodes": ["host:veth2", "host:veth3"],
                      "addresses": {"host:veth2": "10.20.30.40/24", "host:veth3": "10.20.30.41/24"}}]}
    compiled = compile_lab(lab)
    share = compiled.shares["localhost"]
    assert share["bridges"] == [{"name": "br0", "addresses": ["192.0.2.101/24"], "ports": ["veth0"]}]
    assert share["veths"] == [
        {"name": "veth1", "netns": "remote", "peer": "veth0", "peer_netns": "", "addresses": ["192.0.2.102/24"]},
        {"name": "veth2", "peer": "veth3", "addresses": ["10.20.30.40/24"], "peer_addresses": ["10.20.30.41/24"]}]
    assert compiled.addresses["host"] == {"br0": ["192.0.2.101/24"], "veth2": ["10.20.30.40/24"],
                                          "veth3": ["10.20.30.41/24"]}
    shares_build(compiled)


def test_a_lan_names_its_ends_and_the_member_holding_the_bridge_is_on_it_through_the_bridge():
    lab = lab_of({"nodes": ["a", "b", "c"], "bridge_in": "c"}, ["host", "a", "b"])
    compiled = compile_lab(lab)
    share = compiled.shares["localhost"]
    assert share["bridges"] == [{"name": "br0", "netns": "c", "addresses": ["10.128.0.3/24"],
                                 "ports": ["br0-a", "br0-b"]},
                                {"name": "t-br1", "addresses": ["10.128.1.1/24"], "ports": ["t-br1-a", "t-br1-b"]}]
    assert compiled.addresses == {"a": {"eth0": ["10.128.0.1/24"], "eth1": ["10.128.1.2/24"]},
                                  "b": {"eth0": ["10.128.0.2/24"], "eth1": ["10.128.1.3/24"]},
                                  "c": {"br0": ["10.128.0.3/24"]}, "host": {"t-br1": ["10.128.1.1/24"]}}
    shares_build(compiled)


def test_the_hosts_automatic_names_are_the_labs_own():
    compiled = compile_lab(lab_of(["host", "a"], ["host", "b"], name="campus"))
    assert compiled.addresses["host"] == {"campus-eth0": ["10.128.0.1/30"], "campus-eth1": ["10.128.0.5/30"]}


# ---- sections beside nodes and links ----

def test_topology_sections_pass_through_to_the_host_of_their_node():
    chain = {"netns": "r", "table": "filter", "chain": "FORWARD", "rules": ["-s 10.128.0.0/30 -j DROP"]}
    lab = lab_of(["a", "r"], ["r", "b"], nodes={"a": {}, "r": {"forward": True}, "b": {"host": "h2"}},
                 iptables_chains=[chain, dict(chain, netns="b")],
                 taps=[{"name": "tap0"}])
    compiled = compile_lab(lab, {"h1": "192.0.2.1", "h2": "192.0.2.2"})
    assert compiled.shares["h1"]["iptables_chains"] == [chain]
    assert compiled.shares["h2"]["iptables_chains"] == [dict(chain, netns="b")]
    assert compiled.shares["h1"]["taps"] == [{"name": "tap0"}]
    assert compiled.notes == ["checks: the lab's iptables_chains (2) are not simulated: the checks say what its "
                              "addresses, routes and forwarding do without them (NAT and filters may change what "
                              "is reached)"]
    assert compile_lab(CAMPUS).notes == []
    assert "taps" not in compiled.shares["h2"]
    shares_build(compiled)


# ---- across hosts ----

HOSTS3 = {"h1": "192.168.50.1", "h2": "192.168.50.2", "h3": "192.168.50.3"}


def test_two_hosts_a_link_across_is_a_bridge_and_a_vxlan_on_each():
    lab = lab_of(["a", "b"], ["a", "c"], nodes={"a": {}, "b": {"host": "h2"}, "c": {}}, name="pair",
                 routing="static")
    hosts = {"h1": "192.168.50.1", "h2": "192.168.50.2"}
    compiled = compile_lab(lab, hosts)
    base = compiled.shares["h1"]["vxlans"][0]["vni"]
    for host, other in (("h1", "h2"), ("h2", "h1")):
        share = compiled.shares[host]
        assert share["vxlans"] == [{"name": "pair-br0-vx", "vni": base, "dstport": 4789, "local": hosts[host],
                                    "remote": hosts[other]}]
        member = "a" if host == "h1" else "b"
        assert share["bridges"] == [{"name": "pair-br0", "ports": ["pair-br0-" + member, "pair-br0-vx"]}]
        assert share["veths"][0] == {"name": "eth0", "netns": member, "peer": "pair-br0-" + member,
                                     "peer_netns": "", "addresses": compiled.addresses[member]["eth0"], "mtu": 1450}
    assert compiled.addresses["a"]["eth0"] == ["10.128.0.1/30"], "two nodes: p2p_prefix, across hosts too"
    assert len(compiled.shares["h1"]["veths"]) == 2 and "veths" in compiled.shares["h2"]
    assert compiled.placement == {"a": "h1", "b": "h2", "c": "h1"}
    assert set(verdicts(compiled).values()) == {"reachable"}
    assert [check["from"] for check in compiled.checks_for("h2")] == ["b"]
    assert compiled.summary() == "lab pair: 3 nodes, 2 links (1 LAN), 2 hosts, routing static"
    shares_build(compiled)


def test_three_hosts_head_end_replication_and_an_empty_share():
    lab = lab_of({"nodes": ["a", "b", "c"], "mtu": 1400}, ["b", "d"],
                 nodes={"a": {}, "b": {"host": "h2"}, "c": {"host": "h3"}, "d": {"host": "h2"}},
                 vxlan={"vni_base": 5000, "port": 8472})
    compiled = compile_lab(lab, dict(HOSTS3, h4="192.168.50.4"))
    assert compiled.shares["h4"] == {"name": "t"}, "a host with no node gets an empty share"
    for host in ("h1", "h2", "h3"):
        (vxlan,) = compiled.shares[host]["vxlans"]
        assert vxlan == {"name": "t-br0-vx", "vni": 5000, "dstport": 8472, "local": HOSTS3[host],
                         "remotes": [address for other, address in HOSTS3.items() if other != host]}
        assert {veth["mtu"] for veth in compiled.shares[host]["veths"] if veth["peer"].startswith("t-br0")} == {1400}
    assert compiled.shares["h2"]["veths"][-1] == {"name": "eth1", "netns": "b", "peer": "eth0", "peer_netns": "d",
                                                  "addresses": ["10.128.1.1/30"], "peer_addresses": ["10.128.1.2/30"]}
    shares_build(compiled)


def test_the_default_vni_base_comes_from_the_lab_name_and_a_link_may_set_its_own():
    hosts = {"h1": "192.168.50.1", "h2": "192.168.50.2"}
    nodes = {"a": {}, "b": {"host": "h2"}}
    one = compile_lab(lab_of(["a", "b"], ["a", "b"], nodes=nodes, name="one"), hosts).shares["h1"]["vxlans"]
    two = compile_lab(lab_of(["a", "b"], ["a", "b"], nodes=nodes, name="two"), hosts).shares["h1"]["vxlans"]
    assert one[1]["vni"] == one[0]["vni"] + 1
    assert one[0]["vni"] != two[0]["vni"]
    own = compile_lab(lab_of(["a", "b"], {"nodes": ["a", "b"], "vni": 42}, nodes=nodes), hosts).shares["h2"]
    assert [vxlan["vni"] for vxlan in own["vxlans"]][1] == 42


# ---- generated labs: deterministic, append-stable, names within 15 characters ----

WORDS = ["core", "edge", "db", "web", "app", "fw", "lb", "dns", "mail", "vpn", "cache", "log"]


def generated(seed, long_names=False, hosts=1):
    """A random lab: nodes on ``hosts`` hosts, point-to-point links and LANs, some ends and links named."""
    rng = random.Random(seed)
    count = rng.randint(3, 9)
    names = []
    while len(names) < count:
        name = rng.choice(WORDS) + str(len(names))
        if long_names:
            name += "-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _letter in range(rng.randint(15, 40)))
        names.append(name)
    host_names = ["h%d" % (i + 1) for i in range(hosts)]
    nodes = {name: ({"host": rng.choice(host_names)} if hosts > 1 else {}) for name in names}
    if rng.random() < 0.3:
        nodes["host"] = {"host": host_names[0]} if hosts > 1 else {}
    lab = {"name": "gen%d" % seed, "nodes": nodes, "links": [],
           "routing": rng.choice(["none", "static"])}
    if rng.random() < 0.3:
        lab["addressing"] = {"ipv6": "fd00:%x::/48" % (seed % 65536)}
    for index in range(rng.randint(1, 10)):
        lab["links"].append(random_link(rng, lab, index))
    return lab, {name: "192.168.60.%d" % (i + 1) for i, name in enumerate(host_names)}


def random_link(rng, lab, index):
    members = rng.sample(list(lab["nodes"]), rng.choice([2, 2, 2, 3, 4]) if len(lab["nodes"]) >= 4 else 2)
    ends = [member + (":x%d" % index if rng.random() < 0.2 and member != "host" else "") for member in members]
    if rng.random() < 0.3:
        return ends
    link = {"nodes": ends}
    if rng.random() < 0.3:
        link["name"] = "L%d" % index
    if rng.random() < 0.2:
        link["mtu"] = rng.choice([1400, 9000])
    if rng.random() < 0.2:
        link["shaping"] = {"rate": "10mbit"}
    return link


def entries_by_name(share):
    return {(section, entry.get("netns"), entry["name"]): entry for section in ("veths", "bridges", "vxlans")
            for entry in share.get(section, [])}


@pytest.mark.parametrize("seed", range(40))
def test_generated_labs_compile_build_and_stay_when_appended(seed):
    hosts = 1 + seed % 3
    lab, underlay = generated(seed, hosts=hosts)
    compiled = compile_lab(lab, underlay)
    assert compile_lab(copy.deepcopy(lab), dict(underlay)) == compiled, "deterministic"
    shares_build(compiled)
    if lab["routing"] == "static":
        # Every node reaches every address of its connected component (the host is never a transit).
        found = verdicts(compiled)
        unreachable = [pair for pair, expect in found.items() if expect == "unreachable"]
        assert all(not _connected(lab, source or "host", target, compiled) for source, target in unreachable)
    rng = random.Random(seed + 1000)
    grown = copy.deepcopy(lab)
    grown["nodes"]["new%d" % seed] = {"host": rng.choice(list(underlay))} if hosts > 1 else {}
    grown["links"].append([rng.choice(list(lab["nodes"])), "new%d" % seed])
    grown["links"].append(random_link(rng, grown, len(grown["links"])))
    appended = compile_lab(grown, underlay)
    for node, interfaces in compiled.addresses.items():
        for ifname, cidrs in interfaces.items():
            assert appended.addresses[node][ifname] == cidrs, (node, ifname)
    for host, share in compiled.shares.items():
        before, after = entries_by_name(share), entries_by_name(appended.shares[host])
        for key, entry in before.items():
            assert after[key] == entry, key


def _connected(lab, source, target, compiled):
    """Whether the node holding ``target`` is reached from ``source`` over nodes other than the host."""
    owner = next(name for name, interfaces in compiled.addresses.items()
                 for cidrs in interfaces.values() for cidr in cidrs if cidr.split("/")[0] == target)
    seen, todo = {source}, [source]
    while todo:
        node = todo.pop()
        if node == owner:
            return True
        if node == "host" and node != source:
            continue
        for link in lab["links"]:
            members = [end.split(":")[0] for end in (link if isinstance(link, list) else link["nodes"])]
            if node in members:
                for other in members:
                    if other not in seen:
                        seen.add(other)
                        todo.append(other)
    return False


@pytest.mark.parametrize("seed", range(20))
def test_generated_labs_with_long_node_names_keep_names_within_15_characters(seed):
    lab, underlay = generated(seed, long_names=True, hosts=1 + seed % 2)
    compiled = compile_lab(lab, underlay)
    names = [entry[key] for share in compiled.shares.values() for section in ("veths", "bridges", "vxlans")
             for entry in share.get(section, []) for key in ("name", "peer") if key in entry]
    names += [port for share in compiled.shares.values() for bridge in share.get("bridges", [])
              for port in bridge["ports"]]
    assert names and all(len(name.encode("utf-8")) <= 15 for name in names), names
    shares_build(compiled)


def test_ipv6_a_64_per_link_beside_ipv4_with_routes_forwarding_and_checks():
    explicit = {"nodes": ["b", "c"], "addresses": {"b": "192.0.2.1/24", "c": "192.0.2.2/24"}}
    lab = lab_of(["a", "r"], {"nodes": ["r", "b", "c"]}, explicit, routing="static", addressing={"ipv6": "fd00:128::/48"},
                 nodes={"a": {"gateway": "r"}, "r": {}, "b": {}, "c": {}})
    compiled = compile_lab(lab)
    assert compiled.addresses["a"] == {"eth0": ["10.128.0.1/30", "fd00:128::1/64"]}
    assert compiled.addresses["r"]["eth1"] == ["10.128.1.1/24", "fd00:128:0:1::1/64"]
    assert compiled.addresses["b"]["eth1"] == ["192.0.2.1/24"], "explicit addresses win, IPv6 too"
    share = compiled.shares["localhost"]
    assert {"name": "r", "sysctls": {"net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1}} in \
        share["namespaces"]
    a_routes = [route for route in share["routes"] if route["netns"] == "a"]
    assert a_routes == [
        {"netns": "a", "dst": "10.128.1.0/24", "gateway": "10.128.0.2"},
        {"netns": "a", "dst": "192.0.2.0/24", "gateway": "10.128.0.2"},
        {"netns": "a", "dst": "fd00:128:0:1::/64", "gateway": "fd00:128::2"},
        {"netns": "a", "dst": "default", "gateway": "10.128.0.2"},
        {"netns": "a", "dst": "default", "gateway": "fd00:128::2"}]
    assert set(verdicts(compiled).values()) == {"reachable"}
    assert ("a", "fd00:128:0:1::3") in verdicts(compiled)
    shares_build(compiled)


def test_an_ipv6_pool_runs_out_by_links():
    lab = lab_of(*[["a", "b"]] * 3, addressing={"ipv6": "fd00::/63"})
    assert problems(lab) == ["addressing.ipv6: pool fd00::/63 exhausted at links[2]"]


def test_three_hosts_of_ten_nodes_one_lan_across_all_reach_every_pair():
    nodes = {"n%d_%d" % (h, i): {"host": "h%d" % (h + 1)} for h in range(3) for i in range(10)}
    links = [["n%d_%d" % (h, i - 1), "n%d_%d" % (h, i)] for h in range(3) for i in range(1, 10)]
    links.append(["n0_0", "n1_0", "n2_0"])
    compiled = compile_lab({"name": "big", "routing": "static", "nodes": nodes, "links": links}, HOSTS3)
    found = verdicts(compiled)
    addresses = 3 * 9 * 2 + 3
    assert len(found) == 30 * addresses - addresses, "every node to every other node's addresses"
    assert set(found.values()) == {"reachable"}
    assert all(len(compiled.checks_for(host)) == 10 for host in HOSTS3)


def test_validation_of_one_hosts_share_or_none():
    lab = lab_of(["a", "b"], nodes={"a": {}, "b": {"host": "h2"}},
                 routes=[{"netns": "b", "dst": "10.9.0.0/24", "gateway": "10.7.0.1"}])
    hosts = {"h1": "192.0.2.1", "h2": "192.0.2.2"}
    assert problems(lab, hosts)[0].startswith("hosts.h2: routes[0]: gateway 10.7.0.1")
    assert compile_lab(lab, hosts, validate="h1").shares["h2"]["routes"][-1]["gateway"] == "10.7.0.1"
    assert compile_lab(lab, hosts, validate=False).placement == {"a": "h1", "b": "h2"}
    with pytest.raises(LabFileError):
        compile_lab(lab, hosts, validate="h2")


# ---- the other way: a topology description as a lab file ----

def normalized(share):
    """A share's entries as sorted JSON texts per section, empty address lists and sysctl value types aside."""
    result = {}
    for section, entries in share.items():
        if section == "name":
            continue
        texts = []
        for entry in entries:
            entry = {k: v for k, v in entry.items() if v not in ([], None) and not (k == "up" and v is True)}
            if "sysctls" in entry:
                entry["sysctls"] = {k: str(v) for k, v in entry["sysctls"].items()}
            if "ports" in entry:
                entry["ports"] = [port["name"] if isinstance(port, dict) else port for port in entry["ports"]]
            texts.append(json.dumps(entry, sort_keys=True))
        result[section] = sorted(texts)
    return result


@pytest.mark.parametrize("lab", [
    CAMPUS,
    lab_of({"nodes": ["a", "b", "c"], "bridge_in": "c"}, ["host", "a", "b"], ["a", "b"]),
    dict(lab_of(*ring(5), routing="static", addressing={"ipv6": "fd00:1::/48"})),
], ids=["campus", "lans", "ring-static"])
def test_to_lab_gives_back_what_compiles_to_the_same_description(lab):
    share = compile_lab(lab).shares["localhost"]
    adopted, notes = to_lab(share)
    again = compile_lab(adopted).shares["localhost"]
    assert normalized(again) == normalized(share)
    assert adopted["name"] == share["name"]
    assert ("routes" in share) == any(note.startswith("routes: kept as topology entries") for note in notes)
    assert all("namespaces" not in note for note in notes), notes


def test_to_lab_of_a_lab_info_reading_of_seed002():
    reading = {
        "namespaces": [{"name": "bridge"}, {"name": "net0"}, {"name": "net1"}],
        "veths": [{"name": "bridge-net0", "netns": "bridge", "peer": "net0-bridge", "peer_netns": "net0",
                   "addresses": [], "peer_addresses": ["10.0.1.1/24"], "up": True},
                  {"name": "bridge-net1", "netns": "bridge", "peer": "net1-bridge", "peer_netns": "net1",
                   "addresses": [], "peer_addresses": ["10.0.1.2/24"], "up": True}],
        "bridges": [{"name": "br", "netns": "bridge", "ports": [{"name": "bridge-net0"}, {"name": "bridge-net1"}],
                     "addresses": [], "up": True}],
    }
    lab, notes = to_lab(reading, name="seed002")
    assert lab == {"name": "seed002", "nodes": {"bridge": {}, "net0": {}, "net1": {}}, "links": [
        {"name": "br", "nodes": ["net0:net0-bridge", "net1:net1-bridge"], "bridge_in": "bridge",
         "ports": {"net0": "bridge-net0", "net1": "bridge-net1"},
         "addresses": {"net0": ["10.0.1.1/24"], "net1": ["10.0.1.2/24"]}}]}
    assert notes == []
    compiled = compile_lab(lab).shares["localhost"]
    assert compiled["bridges"] == [{"name": "br", "netns": "bridge", "ports": ["bridge-net0", "bridge-net1"]}]


def test_to_lab_keeps_what_has_no_lab_form_as_topology_entries():
    reading = {
        "namespaces": [{"name": "a", "sysctls": {"net.ipv4.conf.all.rp_filter": "0"}}, {"name": "b"}],
        "veths": [{"name": "x", "netns": "a", "peer": "y", "peer_netns": "b", "up": False},
                  {"name": "p", "netns": "a", "peer": "q", "peer_netns": ""}],
        "bridges": [{"name": "br9", "ports": ["q", "tap0"], "stp": True}],
        "taps": [{"name": "tap0", "master": "br9"}],
        "routes": [{"netns": "a", "dst": "default", "gateway": "10.0.0.1"}],
    }
    lab, notes = to_lab(reading)
    assert lab["nodes"] == {"a": {}, "b": {}}
    assert lab["veths"] == [reading["veths"][0], reading["veths"][1]]
    assert lab["bridges"] == reading["bridges"] and lab["taps"] == reading["taps"]
    assert lab["routes"] == reading["routes"] and "links" not in lab
    assert notes == [
        "namespaces[0]: net.ipv4.conf.all.rp_filter of node a have no lab form: left out",
        "bridges[0]: bridge br9 is kept as a topology entry (its ports or settings have no lab form)",
        "veths[0]: veth x is kept as a topology entry",
        "veths[1]: veth p is kept as a topology entry",
        "taps: kept as topology entries (1)",
        "routes: kept as topology entries (1)",
    ]


ISSUE_EXAMPLE = yaml.safe_load("""
name: campus                   # required: the lab's name, its ownership marker on every host
addressing:                    # optional; these are the defaults
  ipv4: 10.128.0.0/16          # pool; links take subnets from it in order of first appearance
  p2p_prefix: 30               # 2-node links
  lan_prefix: 24               # 3-or-more-node links
  ipv6: null                   # e.g. fd00:128::/48 → a /64 per link, beside IPv4
routing: none                  # or static: every node gets routes to every lab subnet along shortest paths
nodes:                         # node name → options; each node is a network namespace of that name
  h1: {}
  r1: {forward: true}          # IP forwarding (implied for transit nodes under routing: static)
  h2: {gateway: r1}            # default route via r1's address on the link they share
  h3: {host: lab2}             # placed on inventory host lab2 (default: the host running the play)
  host: {}                     # the reserved name `host` is the machine's own namespace (seed 000, 004)
links:                         # a list of node-name lists, or mappings
  - [h1, r1]                                          # 2 nodes: a veth pair
  - {nodes: [r1, h2], mtu: 1400, shaping: {rate: 10mbit, delay: 5ms}}
  - {name: lan, nodes: [h1, h2, h3], prefix: 10.9.0.0/24}   # 3+ nodes: a bridge named after the link
  - {nodes: [h1, r1], addresses: {h1: 192.0.2.1/24, r1: 192.0.2.2/24}}   # explicit addresses win
  - [h2:uplink, host:veth-h2]                         # `node:ifname` names an end (containerlab's form)
""")


def test_the_issues_example_as_written_on_two_hosts():
    hosts = {"localhost": "192.168.70.1", "lab2": "192.168.70.2"}
    compiled = compile_lab(ISSUE_EXAMPLE, hosts)
    assert compiled.placement == {"h1": "localhost", "r1": "localhost", "h2": "localhost", "h3": "lab2",
                                  "host": "localhost"}
    lab2 = compiled.shares["lab2"]
    assert lab2["namespaces"] == [{"name": "h3"}]
    assert lab2["bridges"] == [{"name": "lan", "ports": ["lan-h3", "lan-vx"]}]
    assert lab2["vxlans"] == [{"name": "lan-vx", "vni": compiled.shares["localhost"]["vxlans"][0]["vni"],
                               "dstport": 4789, "local": "192.168.70.2", "remote": "192.168.70.1"}]
    assert lab2["veths"] == [{"name": "eth0", "netns": "h3", "peer": "lan-h3", "peer_netns": "",
                              "addresses": ["10.9.0.3/24"], "mtu": 1450}]
    assert compiled.shares["localhost"]["bridges"] == [{"name": "lan", "ports": ["lan-h1", "lan-h2", "lan-vx"]}]
    found = verdicts(compiled)
    assert found[("h3", "10.9.0.1")] == "reachable", "across the stretched LAN"
    assert found[("h2", "10.128.0.1")] == "unreachable", "h1 has no route back to h2's links"
    assert found[("h2", "192.0.2.2")] == "reachable", "r1's own address, through h2's gateway"
    assert found[("h1", "10.128.0.6")] == "unreachable", "routing none: h1 has no route to links[1]"
    assert compiled.summary() == "lab campus: 5 nodes, 5 links (1 LAN), 2 hosts, routing none"
    shares_build(compiled)


def test_seed002_in_lab_form_is_the_seed_playbooks_lab():
    playbook = yaml.safe_load((Path(__file__).resolve().parents[2] / "playbooks" / "seed002_bridge_netns.yml")
                              .read_text())
    play = playbook[0]
    members = play["vars"]["seed002_members"]
    role = play["roles"][0]["vars"]
    lab = {"name": "seed002", "nodes": {"net0": {}, "net1": {}, "bridge": {}},
           "links": [{"name": "br", "nodes": ["%s:%s" % (m["netns"], m["name"]) for m in members],
                      "bridge_in": "bridge", "ports": {m["netns"]: m["port"] for m in members},
                      "addresses": {m["netns"]: m["addresses"] for m in members}}]}
    share = compile_lab(lab).shares["localhost"]
    # What the bridge_lab role gives topology for these members (roles/bridge_lab/tasks/present.yml).
    assert share["veths"] == [{"name": m["name"], "netns": m["netns"], "peer": m["port"],
                               "peer_netns": role["bridge_lab_bridge_netns"], "addresses": m["addresses"]}
                              for m in members]
    assert share["bridges"] == [{"name": role["bridge_lab_bridge"], "netns": role["bridge_lab_bridge_netns"],
                                 "ports": [m["port"] for m in members]}]
    assert {ns["name"] for ns in share["namespaces"]} == {"net0", "net1", "bridge"}


def test_a_gateway_is_reached_over_the_first_shared_link_with_addresses():
    lab = lab_of({"nodes": ["h", "r"], "addresses": {"h": [], "r": []}}, ["h", "r"],
                 nodes={"h": {"gateway": "r"}, "r": {"forward": True}})
    routes = compile_lab(lab).shares["localhost"]["routes"]
    assert routes == [{"netns": "h", "dst": "default", "gateway": "10.128.0.2"}]
    lab["links"].pop()
    assert problems(lab) == ["nodes.h.gateway: h and r have addresses on no link they share (links[0])"]


def test_to_lab_of_host_devices_only_is_node_hosts():
    # seed 004's tun: a tap in the host and nothing else; a lab file has at least one node.
    reading = {"namespaces": [], "taps": [{"name": "tun0", "mode": "tun", "addresses": ["10.0.0.1/24"]}]}
    lab, notes = to_lab(reading, name="tun")
    assert lab["nodes"] == {"host": {}} and lab["taps"] == reading["taps"]
    assert notes == ["taps: kept as topology entries (1)"]
    assert compile_lab(lab).shares["localhost"]["taps"] == reading["taps"]


def test_a_link_named_all_or_default_is_refused_before_anything():
    # The bridge takes the link's name; the kernel registers no device named all or default (EINVAL).
    for name in ("all", "default"):
        lab = {"name": "x", "nodes": {"a": {}, "b": {}, "c": {}}, "links": [{"name": name, "nodes": ["a", "b", "c"]}]}
        with pytest.raises(LabFileError, match="'%s' is refused by the kernel" % name):
            compile_lab(lab)
