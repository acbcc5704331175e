"""Unit tests of the topology description: objects built by the model, problems reported together."""


import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from unit_helpers import Bridge, BridgePort, Netns, Route, Tap, Veth

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._iptables_rules import IptablesChain
from ansible_collections.netvirt.linux.plugins.module_utils._kind_iptables_chain import record_keys, removals
from ansible_collections.netvirt.linux.plugins.module_utils._kinds import KINDS, by_section
from ansible_collections.netvirt.linux.plugins.module_utils._labstate import LabRecord, LabState
from ansible_collections.netvirt.linux.plugins.module_utils._options import argument_spec
from ansible_collections.netvirt.linux.plugins.module_utils._specs import SECTION_OPTIONS
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build, marker, validate_lab_name
from ansible_collections.netvirt.linux.plugins.modules.topology import ARGUMENT_SPEC as TOPOLOGY_SPEC


def star(n=2):
    """S(n): n namespaces, each joined by a veth to bridge br0 in the host."""
    return {
        "namespaces": [{"name": "ns%d" % i} for i in range(n)],
        "veths": [{"name": "eth0", "netns": "ns%d" % i, "addresses": ["10.0.0.%d/24" % (i + 1)],
                   "peer": "p%d" % i, "peer_netns": ""} for i in range(n)],
        "bridges": [{"name": "br0", "ports": ["p%d" % i for i in range(n)], "stp": False}],
    }


def test_star_builds_engine_objects_in_order():
    lab = build(star(2))
    assert [type(o) for o in lab.objects] == [Netns, Netns, Veth, Veth, Bridge]
    assert lab.objects[2] == Veth("eth0", netns="ns0", addresses=["10.0.0.1/24"], peer="p0")
    assert lab.namespaces == ["ns0", "ns1"]
    assert (None, "br0") in lab.endpoints and ("ns1", "eth0") in lab.endpoints


def test_taps_and_routes():
    desc = star(1)
    desc["bridges"][0]["ports"].append("tap0")
    desc["taps"] = [{"name": "tap0", "master": "br0", "owner": 1000}]
    desc["routes"] = [{"netns": "ns0", "dst": "default", "gateway": "10.0.0.254"},
                      {"netns": "ns0", "dst": "10.9.0.0/16", "dev": "eth0"}]
    lab = build(desc)
    assert [type(o) for o in lab.objects] == [Netns, Veth, Tap, Bridge, Route, Route]
    assert lab.objects[2].master is None, "the bridge's port list attaches the tap"


def test_every_problem_reported_at_once():
    desc = star(2)
    desc["namespaces"].append({"name": "ns0"})                                   # duplicate namespace
    desc["veths"].append({"name": "eth0", "netns": "ns1", "peer": "q", "peer_netns": ""})          # duplicate endpoint
    desc["veths"].append({"name": "x", "netns": "nowhere", "peer": "y", "peer_netns": ""})         # dangling namespace
    desc["veths"].append({"name": "a" * 16, "peer": "b"})                        # model error
    desc["veths"].append({"name": "o", "peer": "o2", "addresses": ["10.1.0.1/24", "10.1.0.2/24"]})  # a warning
    desc["veths"].append({"name": "d", "peer": "d2", "addresses": ["10.0.0.1/24"], "state": "absent"})  # key
    desc["bridges"][0]["ports"].append("ghost")                                  # dangling port
    desc["bridges"].append({"name": "br1", "ports": ["p0"]})                     # port twice
    desc["taps"] = [{"name": "t0", "master": "br9"}]                             # dangling master
    desc["routes"] = [{"netns": "ns0", "dst": "default", "dev": "nope"}]         # dangling dev
    with pytest.raises(ValidationError) as err:
        build(desc)
    problems = err.value.details["problems"]
    expected = [
        "namespaces[2]: namespace 'ns0' is already described by namespaces[0]",
        "veths[2]: interface 'eth0' in namespace 'ns1' is already described by veths[1]",
        "veths[3]: netns 'nowhere' is not one of the lab's namespaces",
        "veths[4]: name '%s' is 16 characters long" % ("a" * 16),
        "veths[6]: unknown key(s) state",
        "bridges[0]: port 'ghost' is not an interface the lab describes in the host",
        "bridges[1]: port 'p0' is already a port of bridge 'br0'",
        "taps[0]: master 'br9' is not a bridge the lab describes in the host",
        "routes[0]: dev 'nope' is not an interface the lab describes in namespace 'ns0'",
    ]
    for words in expected:
        assert any(words in p for p in problems), "%r not reported in %s" % (words, problems)
    assert len(problems) == len(expected)
    assert err.value.msg.startswith("the topology has 9 problem(s), nothing was changed")


def test_same_address_on_two_links_of_one_namespace():
    desc = star(1)
    desc["veths"].append({"name": "eth1", "netns": "ns0", "peer": "q", "peer_netns": "", "addresses": ["10.0.0.1/24"]})
    with pytest.raises(ValidationError, match="address 10.0.0.1 of 'eth1' is also on 'eth0'"):
        build(desc)


def test_tap_master_must_be_listed_by_a_managed_port_list():
    desc = star(1)
    desc["taps"] = [{"name": "tap0", "master": "br0"}]
    with pytest.raises(ValidationError, match="that bridge's ports do not list 'tap0'"):
        build(desc)


def test_lab_names_and_marker():
    assert marker("lab1") == "netvirt:lab=lab1"
    with pytest.raises(ValidationError):
        validate_lab_name("two words")
    with pytest.raises(ValidationError):
        validate_lab_name("")


# ------------------------------------------------------------ suboptions ---

SINGLE_MODULES = {"namespaces": "netns", "veths": "veth", "bridges": "bridge", "taps": "tap", "routes": "route"}
# Options a section does not take: the whole lab's state, a tap's recreate, and an iptables chain's backend
# and lock_timeout (one for the whole lab: topology's iptables_backend and lock_timeout).
NOT_IN_SECTIONS = {"state", "recreate", "backend", "lock_timeout", "force"}  # the lab decides these (a namespace goes when the lab says)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.section)
def test_section_options_agree_with_the_single_module(kind):
    """A section's entries take the options the kind's module takes, but the lab's own (state, recreate)."""
    single = argument_spec(kind.options)
    expected = {k: v for k, v in single.items() if k not in NOT_IN_SECTIONS}
    for option in kind.section_required:  # a veth's peer, a vxlan's vni: required with state=present
        expected[option] = dict(expected[option], required=True)
    assert SECTION_OPTIONS[kind.section] == expected
    assert set(expected) <= set(kind.desired.__dataclass_fields__)


def validate_topology(params):
    """The topology module's own argument spec, applied as AnsibleModule applies it."""
    return ArgumentSpecValidator(TOPOLOGY_SPEC).validate(dict({"name": "lab"}, **params))


def test_strings_from_extra_vars_are_converted_as_the_single_modules_do():
    result = validate_topology({
        "namespaces": [{"name": "n1", "loopback": "no", "sysctls": {"net.ipv4.ip_forward": "1"}}],
        "veths": [{"name": "eth0", "netns": "n1", "peer": "p1", "peer_netns": "", "mtu": "9000", "up": "yes"}],
        "bridges": [{"name": "br0", "mtu": "9000", "stp": "false", "forward_delay": "4", "priority": "100",
                     "ports": ["p1", {"name": "tap0", "cost": "10"}]}],
        "taps": [{"name": "tap0", "mtu": "9000", "owner": 1000}],
        "routes": [{"netns": "n1", "dst": "10.9.0.0/16", "dev": "eth0", "metric": "20", "table": 100}],
    })
    assert result.error_messages == []
    params = result.validated_parameters
    veth, bridge, tap, route = (params[s][0] for s in ("veths", "bridges", "taps", "routes"))
    assert (veth["mtu"], veth["up"], veth["addresses"]) == (9000, True, None)
    assert (bridge["mtu"], bridge["stp"], bridge["forward_delay"], bridge["priority"]) == (9000, False, 4.0, 100)
    assert (tap["mtu"], tap["owner"], tap["mode"], tap["up"]) == (9000, "1000", "tap", True)
    assert (route["metric"], route["table"]) == (20, "100")
    assert params["namespaces"][0]["loopback"] is False
    # The converted entries build the same objects the single modules build.
    lab = build({s: params[s] for s in SINGLE_MODULES})
    by_kind = {type(o): o for o in lab.objects}
    assert by_kind[Veth].mtu == 9000 and by_kind[Tap].mtu == 9000 and by_kind[Bridge].mtu == 9000
    assert by_kind[Tap].owner == 1000
    assert by_kind[Bridge].ports == (BridgePort("p1"), BridgePort("tap0", cost=10))
    assert by_kind[Route].metric == 20 and by_kind[Route].table == 100


@pytest.mark.parametrize("params, words", [
    ({"veths": [{"name": "e", "peer": "p", "mtu": "big"}]}, "argument 'mtu' is of type str found in 'veths'"),
    ({"veths": [{"name": "e"}]}, "missing required arguments: peer found in veths"),
    ({"veths": [{"name": "e", "peer": "p", "state": "absent"}]}, "veths.state. Supported parameters include"),
    ({"taps": [{"name": "t", "mode": "tin"}]}, "value of mode must be one of: tap, tun, got: tin found in taps"),
    ({"routes": [{"gateway": "10.0.0.1"}]}, "missing required arguments: dst found in routes"),
    ({"namespaces": [{"name": "n", "sysctls": "a b"}]}, "argument 'sysctls' is of type str found in 'namespaces'"),
    ({"namespaces": ["n1"]}, "Elements value for option 'namespaces' is of type str"),
])
def test_bad_entries_are_refused_by_the_argument_spec(params, words):
    messages = validate_topology(params).error_messages
    assert any(words in m for m in messages), messages


def test_port_dicts_are_converted_and_refused_by_their_place():
    desc = star(2)
    desc["bridges"][0]["ports"] = ["p0", {"name": "p1", "cost": "x", "hairpin": "yes"}]
    with pytest.raises(ValidationError) as err:
        build(desc)
    assert err.value.details["problems"] == [
        "bridges[0].ports[1]: argument 'cost' is of type str and we were unable to convert to int: "
        "\"'x'\" cannot be converted to an int"]
    desc["bridges"][0]["ports"][1] = {"name": "p1", "costs": 1}
    with pytest.raises(ValidationError, match=r"bridges\[0\]\.ports\[1\]: unsupported parameter costs"):
        build(desc)
    desc["bridges"][0]["ports"][1] = {"name": "p1", "cost": "10", "hairpin": "yes"}
    bridge = build(desc).objects[-1]
    assert bridge.ports == (BridgePort("p0"), BridgePort("p1", cost=10, hairpin=True))


# ------------------------------------------------ gateways, subnets, segments ---

def problems_of(desc):
    with pytest.raises(ValidationError) as err:
        build(desc)
    return err.value.details["problems"]


def test_gateway_must_be_on_a_subnet_the_lab_gives_the_namespace():
    desc = star(2)
    desc["routes"] = [{"netns": "ns0", "dst": "default", "gateway": "10.0.0.254"},    # on eth0's 10.0.0.0/24
                      {"netns": "ns1", "dst": "10.9.0.0/16", "gateway": "10.5.0.1"},  # on nothing
                      {"netns": "ns1", "dst": "10.8.0.0/16", "gateway": "10.0.0.1", "dev": "eth0"}]
    assert problems_of(desc) == [
        "routes[1]: gateway 10.5.0.1 is on no subnet the lab gives namespace 'ns1' (it gives 10.0.0.0/24 on "
        "'eth0'); the gateway must be in the subnet of an address of that namespace's interfaces"]


def test_gateway_on_the_named_dev_only():
    desc = star(1)
    desc["veths"].append({"name": "eth1", "netns": "ns0", "peer": "q0", "peer_netns": "", "addresses": ["10.7.0.1/24"]})
    desc["routes"] = [{"netns": "ns0", "dst": "10.9.0.0/16", "gateway": "10.7.0.254", "dev": "eth0"}]
    assert problems_of(desc) == [
        "routes[0]: gateway 10.7.0.254 is on no subnet the lab gives interface 'eth0' in namespace 'ns0' (it "
        "gives 10.0.0.0/24 on 'eth0'); the gateway must be in the subnet of an address of that namespace's "
        "interfaces"]
    desc["routes"][0]["dev"] = "eth1"
    build(desc)


def test_gateway_without_any_address_in_the_namespace():
    desc = star(1)
    desc["veths"][0]["addresses"] = None
    desc["routes"] = [{"netns": "ns0", "dst": "default", "gateway": "10.0.0.254"}]
    assert problems_of(desc) == [
        "routes[0]: gateway 10.0.0.254 is on no subnet the lab gives namespace 'ns0' (it gives none); the gateway "
        "must be in the subnet of an address of that namespace's interfaces"]


def test_gateways_the_lab_cannot_judge_or_the_kernel_accepts():
    desc = star(1)
    desc["routes"] = [
        # A dev route makes its destination connected, as the kernel sees it.
        {"netns": "ns0", "dst": "192.168.5.0/24", "dev": "eth0"},
        {"netns": "ns0", "dst": "10.9.0.0/16", "gateway": "192.168.5.1"},
        # IPv6 link-local next hops are on every link.
        {"netns": "ns0", "dst": "fd00:9::/64", "gateway": "fe80::1", "dev": "eth0"},
        # The host has interfaces and routes the lab does not describe.
        {"dst": "10.10.0.0/16", "gateway": "172.16.0.1"},
    ]
    assert [type(o) for o in build(desc).objects][-4:] == [Route] * 4


def test_overlapping_subnets_on_two_interfaces_of_one_namespace_are_a_warning():
    desc = star(2)
    desc["veths"].append({"name": "eth1", "netns": "ns0", "peer": "q0", "peer_netns": "", "addresses": ["10.0.0.129/16"]})
    desc["veths"].append({"name": "eth2", "netns": "ns0", "peer": "q1", "peer_netns": "", "addresses": ["10.0.0.2/24"]})
    # The same subnet on ns1's eth0 is another namespace's business; disjoint subnets are fine.
    desc["veths"].append({"name": "eth3", "netns": "ns0", "peer": "q2", "peer_netns": "", "addresses": ["10.1.0.1/24"]})
    rule = "; the kernel sends the overlap's traffic out of one of them only"
    # The kernel accepts it (seed 004 does it): told, not refused.
    assert build(desc).warnings == [
        "veths[0]: subnet 10.0.0.0/24 of 'eth0' (10.0.0.1/24) overlaps subnet 10.0.0.0/16 of 'eth1' (veths[2]) "
        "in namespace 'ns0'" + rule,
        "veths[3]: subnet 10.0.0.0/24 of 'eth2' (10.0.0.2/24) overlaps subnet 10.0.0.0/16 of 'eth1' (veths[2]) "
        "in namespace 'ns0'" + rule,
        "veths[3]: subnet 10.0.0.0/24 of 'eth2' (10.0.0.2/24) overlaps subnet 10.0.0.0/24 of 'eth0' (veths[0]) "
        "in namespace 'ns0'" + rule,
    ]


def test_same_address_twice_in_a_namespace_is_told_once():
    desc = star(1)
    desc["veths"].append({"name": "eth1", "netns": "ns0", "peer": "q", "peer_netns": "", "addresses": ["10.0.0.1/16"]})
    assert problems_of(desc) == ["veths[1]: address 10.0.0.1 of 'eth1' is also on 'eth0' (veths[0]) in namespace 'ns0'"]


def test_link_local_subnets_are_on_every_interface():
    desc = star(1)
    desc["veths"][0]["addresses"].append("fe80::1/64")
    desc["veths"].append({"name": "eth1", "netns": "ns0", "peer": "q", "peer_netns": "", "addresses": ["fe80::2/64"]})
    build(desc)


def test_same_address_on_two_ports_of_one_bridge():
    desc = star(3)
    desc["veths"][2]["addresses"] = ["10.0.0.1/24"]  # ns2 takes ns0's address, both on br0
    assert problems_of(desc) == [
        "veths[2]: address 10.0.0.1 of 'eth0' in namespace 'ns2' is also on 'eth0' in namespace 'ns0' (veths[0]), "
        "on the same L2 segment (bridge 'br0' in the host)"]


def test_same_address_on_a_bridge_and_behind_its_port():
    desc = star(2)
    desc["bridges"][0]["addresses"] = ["10.0.0.2/24"]
    assert problems_of(desc) == [
        "bridges[0]: address 10.0.0.2 of 'br0' in the host is also on 'eth0' in namespace 'ns1' (veths[1]), "
        "on the same L2 segment (bridge 'br0' in the host)"]
    # Same subnet, another address: the bridge_lab role's bridge address beside its members'.
    desc["bridges"][0]["addresses"] = ["10.0.0.254/24"]
    build(desc)


def test_same_address_on_both_ends_of_a_veth_pair():
    desc = {"namespaces": [{"name": "a"}, {"name": "b"}],
            "veths": [{"name": "eth0", "netns": "a", "peer": "eth0", "peer_netns": "b",
                       "addresses": ["10.0.0.1/30"], "peer_addresses": ["10.0.0.1/30"]}]}
    assert problems_of(desc) == [
        "veths[0]: address 10.0.0.1 of 'eth0' in namespace 'b' is also on 'eth0' in namespace 'a' (veths[0]), "
        "on the same L2 segment (a veth pair)"]
    desc["veths"][0]["peer_addresses"] = ["10.0.0.2/30"]
    build(desc)


def test_segments_join_through_bridges_and_taps_but_not_across_separate_bridges():
    desc = star(2)
    # A second, separate bridge may reuse ns0's address on its own segment.
    desc["namespaces"].append({"name": "far"})
    desc["veths"].append({"name": "eth0", "netns": "far", "peer": "far-br", "peer_netns": "", "addresses": ["10.0.0.1/24"]})
    desc["bridges"].append({"name": "br1", "ports": ["far-br"]})
    build(desc)
    # Joined to br0 by a veth between the bridges, it is one segment.
    desc["veths"].append({"name": "br0-br1", "peer": "br1-br0"})
    desc["bridges"][0]["ports"].append("br0-br1")
    desc["bridges"][1]["ports"].append("br1-br0")
    assert problems_of(desc) == [
        "veths[2]: address 10.0.0.1 of 'eth0' in namespace 'far' is also on 'eth0' in namespace 'ns0' (veths[0]), "
        "on the same L2 segment (bridge 'br0' in the host, 'br1' in the host)"]
    # A tap port of the bridge is on its segment too.
    desc = star(1)
    desc["bridges"][0]["ports"].append("tap0")
    desc["taps"] = [{"name": "tap0", "netns": None, "addresses": ["10.0.0.1/24"]}]
    assert problems_of(desc) == [
        "taps[0]: address 10.0.0.1 of 'tap0' in the host is also on 'eth0' in namespace 'ns0' (veths[0]), "
        "on the same L2 segment (bridge 'br0' in the host)"]


def test_the_roles_labs_pass():
    """bridge_lab's defaults and its host_bridge scenario, as its present.yml describes them."""
    for bridge_netns, bridge_addresses, taps in ((None, ["10.0.1.254/24"], ["tap-vm0"]), ("bridge", [], [])):
        members = [("net0", "10.0.1.1/24"), ("net1", "10.0.1.2/24")]
        desc = {
            "namespaces": [{"name": ns} for ns, _a in members] + ([{"name": bridge_netns}] if bridge_netns else []),
            "veths": [{"name": "eth0", "netns": ns, "addresses": [a], "peer": "p-" + ns, "peer_netns": bridge_netns or "",
                       "mtu": 9000} for ns, a in members],
            "taps": [{"name": t, "netns": bridge_netns, "mode": "tap"} for t in taps],
            "bridges": [{"name": "br", "netns": bridge_netns, "stp": False, "addresses": bridge_addresses,
                         "ports": ["p-" + ns for ns, _a in members] + taps}],
        }
        build(desc)


def test_a_broken_bridge_is_told_once_not_again_by_its_taps():
    desc = star(1)
    desc["bridges"][0]["ports"].append("tap0")
    desc["bridges"][0]["priority"] = 70000
    desc["taps"] = [{"name": "tap0", "master": "br0"}]
    assert problems_of(desc) == ["bridges[0]: priority 70000 is out of range; use 0 to 65535"]


# ------------------------------------------------------------ iptables chains ---

def test_the_iptables_chain_module_takes_its_kinds_options():
    from ansible_collections.netvirt.linux.plugins.modules.iptables_chain import ARGUMENT_SPEC as CHAIN_SPEC

    assert CHAIN_SPEC == argument_spec(by_section("iptables_chains").options)
    assert set(CHAIN_SPEC) == {"table", "chain", "state", "policy", "rules", "ip_version", "backend", "netns",
                               "lock_timeout"}
    assert TOPOLOGY_SPEC["iptables_backend"] == dict(type="str", choices=["auto", "legacy", "nft"], default="auto")
    assert TOPOLOGY_SPEC["lock_timeout"] == CHAIN_SPEC["lock_timeout"] == dict(type="int", default=30)
    assert not {"state", "backend", "lock_timeout"} & set(SECTION_OPTIONS["iptables_chains"])


def chained(*chains):
    desc = star(2)
    desc["iptables_chains"] = list(chains)
    return desc


def test_chains_are_built_apart_from_the_netlink_objects():
    lab = build(chained(
        {"netns": "ns0", "chain": "INPUT", "policy": "DROP", "rules": ["-i lo -j ACCEPT", "-p icmp -j ACCEPT"]},
        {"netns": "ns1", "table": "nat", "chain": "POSTROUTING", "rules": ["-o eth0 -j MASQUERADE"],
         "ip_version": "ipv4"},
        {"netns": "ns1", "chain": "SSH_IN", "rules": [], "ip_version": "both"}))
    assert [type(o) for o in lab.objects] == [Netns, Netns, Veth, Veth, Bridge], "the netlink planner never gets them"
    assert lab.chains == [
        IptablesChain("filter", "INPUT", "ns0", policy="DROP", rules=("-i lo -j ACCEPT", "-p icmp -j ACCEPT")),
        IptablesChain("nat", "POSTROUTING", "ns1", rules=("-o eth0 -j MASQUERADE",)),
        IptablesChain("filter", "SSH_IN", "ns1", rules=(), ip_version="both")]
    assert lab.places == {chain.key: "iptables_chains[%d]" % i for i, chain in enumerate(lab.chains)}
    assert build(star(2)).chains == []


def test_chains_arrive_through_the_argument_spec_as_the_module_takes_them():
    result = validate_topology(dict(star(1), iptables_chains=[{"netns": "ns0", "chain": "INPUT", "rules": ["-j ACCEPT"]}],
                                    iptables_backend="nft"))
    assert result.error_messages == []
    entry = result.validated_parameters["iptables_chains"][0]
    assert entry == {"netns": "ns0", "chain": "INPUT", "rules": ["-j ACCEPT"], "table": "filter", "policy": None,
                     "ip_version": "ipv4"}
    lab = build({s: result.validated_parameters[s] for s in SECTION_OPTIONS})
    assert lab.chains == [IptablesChain("filter", "INPUT", "ns0", rules=("-j ACCEPT",))]


@pytest.mark.parametrize("params, words", [
    ({"iptables_chains": [{"netns": "a", "rules": []}]}, "missing required arguments: chain found in iptables_chains"),
    ({"iptables_chains": [{"netns": "a", "chain": "X", "table": "nats"}]}, "value of table must be one of"),
    ({"iptables_chains": [{"netns": "a", "chain": "X", "state": "absent"}]}, "iptables_chains.state"),
    ({"iptables_chains": [{"netns": "a", "chain": "X", "backend": "nft"}]}, "iptables_chains.backend"),
    ({"iptables_backend": "iptc"}, "value of iptables_backend must be one of: auto, legacy, nft"),
])
def test_bad_chain_entries_are_refused_by_the_argument_spec(params, words):
    messages = validate_topology(params).error_messages
    assert any(words in m for m in messages), messages


def test_a_chain_lives_in_one_of_the_labs_namespaces():
    problems = problems_of(chained(
        {"chain": "INPUT", "policy": "DROP"},
        {"netns": None, "chain": "OUTPUT", "policy": "DROP"},
        {"netns": "elsewhere", "chain": "INPUT", "rules": []}))
    assert problems == [
        "iptables_chains[0]: netns is required: a chain in the host would outlive the lab; the lab's chains live in "
        "its namespaces (ns0, ns1)",
        "iptables_chains[1]: netns is required: a chain in the host would outlive the lab; the lab's chains live in "
        "its namespaces (ns0, ns1)",
        "iptables_chains[2]: netns 'elsewhere' is not one of the lab's namespaces; the lab's chains live in its "
        "namespaces"]


def test_chain_problems_are_reported_by_place_with_the_others():
    desc = chained(
        {"netns": "ns0", "chain": "INPUT", "rules": ["-p tcp -A INPUT -j ACCEPT"]},    # placement in a rule
        {"netns": "ns0", "chain": "MINE", "policy": "DROP"},                           # policy of a user chain
        {"netns": "ns0", "table": "nat", "chain": "PREROUTING", "policy": "DROP"},     # DROP in nat
        {"netns": "ns0", "chain": "X\ny", "rules": []},                                # control character
        {"netns": "ns1", "chain": "FWD", "ip_version": "both", "rules": []},
        {"netns": "ns1", "chain": "FWD", "ip_version": "ipv6", "rules": ["-j DROP"]},  # described twice (ipv6)
        {"netns": "ns1", "chain": "FWD", "ip_version": "ipv4", "table": "mangle"},     # another table: fine
        {"netns": "ns0", "chain": "INPUT", "ip_version": "ipv6", "rules": []},         # ipv6 beside ipv4: fine
    )
    desc["veths"].append({"name": "x", "netns": "nowhere", "peer": "y", "peer_netns": ""})             # a netlink problem too
    problems = problems_of(desc)
    expected = [
        "iptables_chains[0]: rule 1 contains -A; write only the rule's matches and target",
        "iptables_chains[1]: policy applies only to built-in chains",
        "iptables_chains[2]: policy DROP on PREROUTING of table nat is refused",
        "iptables_chains[3]: chain name contains a control character (U+000A",
        "veths[2]: netns 'nowhere' is not one of the lab's namespaces",
        "iptables_chains[5]: chain FWD of table filter (ipv6) in namespace 'ns1' is already described by "
        "iptables_chains[4]",
    ]
    assert len(problems) == len(expected), problems
    for words, problem in zip(sorted(expected), sorted(problems)):
        assert problem.startswith(words), (words, problem)


def test_undoing_recorded_chains():
    """A recorded chain the lab no longer names: a user chain is deleted, a built-in one emptied and reset."""
    undo = removals([
        ("a", "ipv4", "filter", "MINE", "nft"), ("a", "ipv6", "filter", "MINE", "nft"),
        ("a", "ipv6", "filter", "INPUT", "nft"), ("b", "ipv4", "nat", "POSTROUTING", "legacy"),
    ])
    assert undo == {
        "nft": [IptablesChain("filter", "INPUT", "a", policy="ACCEPT", rules=(), ip_version="ipv6"),
                IptablesChain("filter", "MINE", "a", state="absent", ip_version="both")],
        "legacy": [IptablesChain("nat", "POSTROUTING", "b", policy="ACCEPT", rules=())],
    }
    assert removals([]) == {}
    assert removals([("a", "ipv4", "raw", "INPUT", "nft")]) == {}, "raw has no INPUT: no chain the lab wrote"
    assert record_keys(IptablesChain("raw", "OUTPUT", "a", ip_version="both"), "nft") == [
        ("a", "ipv4", "raw", "OUTPUT", "nft"), ("a", "ipv6", "raw", "OUTPUT", "nft")]


def test_the_netlink_planner_refuses_a_chain():
    with pytest.raises(TypeError, match="planned and applied by the netfilter engine"):
        by_section("iptables_chains").plan(None, IptablesChain("filter", "INPUT", "a"))


def test_lab_records_keep_chains_and_read_records_without_them(tmp_path):
    state = LabState("lab one", root=str(tmp_path))
    assert state.load().chains == set() and not state.load().known
    chains = {("a", "ipv4", "filter", "INPUT", "nft"), ("b", "ipv6", "nat", "POSTROUTING", "legacy")}
    state.save(LabRecord({"a", "b"}, [("a", "lo")], known=True, chains=chains))
    record = state.load()
    assert (record.namespaces, record.pending, record.chains, record.known) == (
        {"a", "b"}, {("a", "lo")}, chains, True)
    assert record.chains_in({"a"}) == {("a", "ipv4", "filter", "INPUT", "nft")}
    # A record written before chains were recorded reads as one without chains.
    (tmp_path / (b"lab one".hex() + ".json")).write_text('{"version": 1, "namespaces": ["a"], "pending": []}')
    record = state.load()
    assert (record.namespaces, record.chains, record.known) == ({"a"}, set(), True)
    # Without chains, the record is written as before.
    assert "chains" not in LabRecord({"a"}, known=True).to_json()
    # A chain entry that is not (netns, family, table, chain, backend) makes the record unreadable, as a bad
    # pending entry does: the lab then reads every namespace.
    for chain in ('["a"]', '["a", "ipv5", "filter", "INPUT", "nft"]', '["a", "ipv4", "filter", "INPUT", "auto"]'):
        (tmp_path / (b"lab one".hex() + ".json")).write_text(
            '{"version": 1, "namespaces": ["a"], "chains": [%s]}' % chain)
        assert not state.load().known, chain
