"""Unit tests of issue 23's pure parts: the planner's dependency order, and what a description (or the kernel's
state) contradicts, refused before any change; what the kernel accepts, only told."""

import pytest
from unit_helpers import Bridge, BridgePort, Link, NamespaceState, Netns, P, Route, RouteEntry, Tap, Veth, Vxlan, VxlanInfo, World, world

from ansible_collections.netvirt.linux.plugins.module_utils._errors import ConflictError, ValidationError
from ansible_collections.netvirt.linux.plugins.module_utils._kind_macvlan import Macvlan
from ansible_collections.netvirt.linux.plugins.module_utils._plan import dependency_order
from ansible_collections.netvirt.linux.plugins.module_utils._topology import build


def names(desired, order):
    return [getattr(desired[i], "name", None) or desired[i].dst for i in order]


# -- the order objects are planned in -------------------------------------------------------------------------

def test_each_object_after_what_it_stands_on_whatever_the_listing_order():
    desired = [
        Route(dst="10.8.0.0/16", gateway="10.2.0.7", netns="n"),          # on br0's subnet
        Route(dst="10.7.0.0/16", gateway="10.5.0.7", netns="n"),          # on a dev route's destination
        Route(dst="10.5.0.0/24", dev="mb0", netns="n"),
        Macvlan("mb0", link="br0", netns="n"),
        Vxlan("vx0", vni=1, dev="br0", netns="n"),
        Tap("t0", master="br0", netns="n"),
        Bridge("br0", netns="n", addresses=("10.2.0.1/24",), ports=(BridgePort("p0"),)),
        Veth("p0", peer="p1", netns="n", peer_netns="n"),
        Netns("n"),
    ]
    order = names(desired, dependency_order(desired))
    assert order[0] == "n"
    for before, after in [("p0", "br0"), ("br0", "mb0"), ("br0", "vx0"), ("br0", "t0"), ("br0", "10.8.0.0/16"),
                          ("mb0", "10.5.0.0/24"), ("10.5.0.0/24", "10.7.0.0/16")]:
        assert order.index(before) < order.index(after), (before, after, order)


def test_ties_keep_the_registry_order_then_the_listing_order():
    desired = [Bridge("b1"), Tap("t1"), Veth("v2", peer="w2"), Tap("t0"), Veth("v1", peer="w1"), Netns("n")]
    assert names(desired, dependency_order(desired)) == ["n", "v2", "v1", "t1", "t0", "b1"]
    assert dependency_order(desired) == dependency_order(list(desired))  # deterministic


def test_removals_come_first_each_before_what_it_stands_on():
    desired = [Bridge("br0", state="absent"), Macvlan("m0", state="absent", link="br0"), Tap("t0")]
    assert names(desired, dependency_order(desired)) == ["m0", "br0", "t0"]


def test_objects_that_stand_on_each_other_are_refused_naming_them():
    desired = [Bridge("br0", ports=(BridgePort("m0"),)), Macvlan("m0", link="br0")]
    with pytest.raises(ConflictError) as err:
        dependency_order(desired)
    assert err.value.msg.startswith("bridge 'br0' (on macvlan 'm0'), macvlan 'm0' (on bridge 'br0') stand on each "
                                    "other")


def test_a_vxlan_on_a_bridge_is_created_after_it_within_one_phase():
    desired = [Vxlan("vx0", vni=1, dev="br0", netns="n"), Bridge("br0", netns="n"), Netns("n")]
    plan = P.plan(desired, world())
    creates = [type(a).__name__ for a in plan.actions if type(a).__name__.startswith("Create")]
    assert creates == ["CreateNetns", "CreateBridge", "CreateVxlan"]
    # Results stay in the listing order.
    assert [obj.key[0] for obj in plan.objects] == ["vxlan", "bridge", "netns"]


def test_a_macvlan_listed_before_its_bridge_is_planned():
    desc = {"namespaces": [{"name": "n"}], "macvlans": [{"name": "m0", "netns": "n", "link": "br0"}],
            "bridges": [{"name": "br0", "netns": "n"}]}
    plan = P.plan(build(desc).objects, world(), owner="netvirt:lab=x")
    assert [a.describe() for a in plan.actions if "create" in a.describe()] == [
        "create namespace n", "create bridge br0 in n", "create macvlan m0 in n on br0, mode bridge"]


# -- a description that contradicts itself ----------------------------------------------------------------

def problems_of(desc):
    with pytest.raises(ValidationError) as err:
        build(desc)
    return err.value.details["problems"]


@pytest.mark.parametrize("join", ["ports", "master"])
def test_a_macvlan_on_a_bridge_port_is_refused(join):
    desc = {"taps": [{"name": "t0"}], "bridges": [{"name": "br0"}], "macvlans": [{"name": "m0", "link": "t0"}]}
    if join == "ports":
        desc["bridges"][0]["ports"] = ["t0"]
    else:
        desc["taps"][0]["master"] = "br0"
    where = "bridges[0]" if join == "ports" else "taps[0]"
    assert problems_of(desc) == [
        "macvlans[0]: macvlan 'm0' is made on 't0', which bridge 'br0' (%s) takes as a port in the host; the "
        "kernel gives a device's frames to its bridge or to its macvlans, not both (EBUSY): choose another parent, "
        "or take 't0' off the bridge" % where]


def test_a_macvlan_on_a_bridge_itself_is_fine():
    build({"bridges": [{"name": "br0", "ports": ["t0"]}], "taps": [{"name": "t0"}],
           "macvlans": [{"name": "m0", "link": "br0"}, {"name": "m1", "link": "br0"}]})


def test_a_device_with_two_masters_is_refused():
    desc = {"bridges": [{"name": "br0"}, {"name": "br1", "ports": ["t0"]}], "taps": [{"name": "t0", "master": "br0"}]}
    assert problems_of(desc) == [
        "taps[0]: master is 'br0' but bridge 'br1' (bridges[1]) lists 't0' among its ports; a device has one master"]


def vxlans(*entries):
    return {"namespaces": [{"name": "n"}], "vxlans": [dict(entry, netns=entry.get("netns", "n")) for entry in entries]}


def test_one_vni_and_port_twice_in_a_namespace_is_refused():
    desc = vxlans({"name": "vx0", "vni": 5, "local": "10.0.0.1", "dev": "a"},
                  {"name": "vx1", "vni": 5, "local": "10.0.1.1", "remote": "10.0.2.2"})
    assert problems_of(desc) == [
        "vxlans[1]: vni 5 with dstport 4789 (IPv4) in namespace 'n' is already taken by vxlans[0] (vxlan 'vx0'); "
        "the kernel allows one vxlan device per vni, dstport and address family in a namespace, whatever their "
        "local, remote, group or dev"]


@pytest.mark.parametrize("other", [
    {"vni": 6}, {"vni": 5, "dstport": 8472}, {"vni": 5, "remote": "fd00::2"}, {"vni": 5, "netns": None},
], ids=["vni", "dstport", "family", "namespace"])
def test_vxlans_the_kernel_tells_apart(other):
    build(vxlans({"name": "vx0", "vni": 5}, dict(other, name="vx1")))


def test_one_route_twice_is_refused_another_metric_is_another_route():
    desc = {"namespaces": [{"name": "n"}],
            "veths": [{"name": "e0", "netns": "n", "peer": "e1", "addresses": ["10.0.0.1/24"]}],
            "routes": [{"netns": "n", "dst": "default", "gateway": "10.0.0.2"},
                       {"netns": "n", "dst": "0.0.0.0/0", "dev": "e0"},
                       {"netns": "n", "dst": "default", "gateway": "10.0.0.3", "metric": 5}]}
    assert problems_of(desc) == [
        "routes[1]: route to 0.0.0.0/0 (table main, metric 0) in namespace 'n' is already taken by routes[0]; the "
        "kernel keeps one route per table, destination and metric, so the two would replace each other on every "
        "run: give one, or another metric"]


def test_overlapping_addresses_of_one_interface_are_a_warning():
    lab = build({"veths": [{"name": "o", "peer": "o2", "addresses": ["10.1.0.1/24", "10.1.0.2/24"]}]})
    assert lab.warnings == ["veths[0]: addresses 10.1.0.1/24 and 10.1.0.2/24 of 'o' overlap"]


# -- what the kernel already holds ----------------------------------------------------------------------------

def test_a_vni_an_existing_device_holds_is_refused():
    other = Link("other0", 5, "vxlan", 1450, True, info=VxlanInfo(vni=7, dstport=4789, remote="10.1.1.1"))
    with pytest.raises(ConflictError) as err:
        P.plan([Vxlan("vx1", vni=7, remote="10.2.2.2")], world(host=[other]))
    assert "vni 7 with dstport 4789 is already taken there by vxlan 'other0'" in err.value.msg
    P.plan([Vxlan("vx1", vni=7, dstport=8472)], world(host=[other]))
    # Made again (recreate) by itself: not a collision with its own old self.
    own = Link("vx1", 6, "vxlan", 1450, True, info=VxlanInfo(vni=7, dstport=4789, local="10.0.0.1"))
    P.plan([Vxlan("vx1", vni=7, local="10.0.0.2", recreate=True)], world(host=[own]))


def host(links, routes=()):
    return World(spaces={None: NamespaceState(None, {link.name: link for link in links}, routes=tuple(routes))})


LO = Link("lo", 1, None, 65536, True, ("127.0.0.1/8",))


def test_a_host_gateway_on_no_connected_subnet_is_refused():
    eth = Link("eth0", 2, None, 1500, True, ("192.168.5.10/24",))
    with pytest.raises(ConflictError) as err:
        P.plan([Route(dst="10.9.0.0/16", gateway="10.5.0.1")], host([LO, eth]))
    assert err.value.msg == (
        "route 10.9.0.0/16 via 10.5.0.1 in the host namespace: gateway 10.5.0.1 is not on a network connected to "
        "that namespace (connected, of interfaces that are up: 192.168.5.0/24 on 'eth0', 127.0.0.0/8 on 'lo'); the "
        "kernel refuses such a route: give an interface there an address in the gateway's subnet (and bring it up) "
        "first (nothing was changed)")
    P.plan([Route(dst="10.9.0.0/16", gateway="192.168.5.1")], host([LO, eth]))


@pytest.mark.parametrize("links, routes, reached", [
    ([Link("eth0", 2, None, 1500, False, ("10.5.0.2/24",))], (), False),                   # down
    ([Link("eth0", 2, None, 1500, True, ("10.5.0.2/24",))], (), True),
    ([Link("eth0", 2, None, 1500, True)], (RouteEntry("10.5.0.0/16", 254, 0, oif=2, proto=3),), True),
    ([Link("eth0", 2, None, 1500, True)], (RouteEntry("10.5.0.0/16", 254, 0, "10.1.1.1", oif=2, proto=3),), False),
    ([Link("eth0", 2, None, 1500, True)], (RouteEntry("10.5.0.0/24", 254, 0, oif=2, proto=2),), False),  # stale
], ids=["address-on-a-down-device", "address", "dev-route", "gateway-route", "kernel-route-of-no-address"])
def test_what_connects_a_gateway(links, routes, reached):
    desired = [Route(dst="10.9.0.0/16", gateway="10.5.0.1")]
    if reached:
        P.plan(desired, host([LO] + links, routes))
    else:
        with pytest.raises(ConflictError):
            P.plan(desired, host([LO] + links, routes))


def test_an_existing_route_is_not_checked_again_and_check_mode_only_warns():
    entry = RouteEntry("10.9.0.0/16", 254, 0, "10.5.0.1", oif=None, proto=3)
    assert not P.plan([Route(dst="10.9.0.0/16", gateway="10.5.0.1")], host([LO], [entry])).changed
    plan = P.plan([Route(dst="10.9.0.0/16", gateway="10.5.0.1")], host([LO]), assume_missing=True)
    assert plan.changed and "check mode assumes an earlier task does" in plan.warnings[0]


def test_a_link_local_ipv6_gateway_is_left_to_the_kernel():
    eth = Link("eth0", 2, None, 1500, True)
    P.plan([Route(dst="fd00:9::/64", gateway="fe80::1", dev="eth0")], host([LO, eth]))
