"""Action.undo: what puts back each change of a failed run, from the world read before it (issue 23)."""

import pytest
from unit_helpers import HOST, BridgeInfo, Link, P, PortInfo, Route, RouteEntry, world


def before():
    bridge = Link("br0", 3, "bridge", 1500, True, info=BridgeInfo(stp=False, forward_delay=1500))
    port = Link("p0", 4, "veth", 1400, True, addresses=("10.0.0.1/24", "fe80::1/64"), master=3, alias="mine",
                port=PortInfo(cost=5, priority=32, hairpin=False))
    result = world(namespaces=["a"], host=[Link("lo", 1, None, 65536, True), bridge, port],
                   a=[Link("lo", 1, None, 65536, False)])
    result.spaces[HOST].sysctls = {"net.ipv4.ip_forward": "0", "net.ipv4.conf.v9.forwarding": None}
    result.spaces[HOST].routes = (RouteEntry("10.9.0.0/16", 254, 0, gateway="10.0.0.254"),
                                  RouteEntry("10.8.0.0/16", 254, 0, oif=4))
    return result


@pytest.mark.parametrize("action, undo", [
    # What a run made is deleted.
    (P.CreateNetns("a"), (P.DeleteNetns("a"),)),
    (P.CreateVeth("v0", "a", "v1", HOST), (P.DeleteLink("a", "v0"),)),
    (P.CreateBridge(HOST, "br1"), (P.DeleteLink(HOST, "br1"),)),
    # What it changed on an existing object is set back to the value read before.
    (P.SetMtu(HOST, "p0", 1300), (P.SetMtu(HOST, "p0", 1400),)),
    (P.SetUp(HOST, "p0", False), (P.SetUp(HOST, "p0", True),)),
    (P.SetUp("a", "lo", True), (P.SetUp("a", "lo", False),)),
    (P.AddAddress(HOST, "p0", "10.0.0.2/24"), (P.DelAddress(HOST, "p0", "10.0.0.2/24"),)),
    (P.DelAddress(HOST, "p0", "10.0.0.1/24"), (P.AddAddress(HOST, "p0", "10.0.0.1/24"),)),
    (P.SetAlias(HOST, "p0", "netvirt:lab=x"), (P.SetAlias(HOST, "p0", "mine"),)),
    (P.SetAlias(HOST, "br0", "netvirt:lab=x"), (P.SetAlias(HOST, "br0", ""),)),
    (P.AttachPort(HOST, "p0", "br1", previous="br0"), (P.AttachPort(HOST, "p0", "br0"),)),
    (P.AttachPort(HOST, "p9", "br0"), (P.DetachPort(HOST, "p9", "br0"),)),
    (P.DetachPort(HOST, "p0", "br0"), (P.AttachPort(HOST, "p0", "br0"),)),
    (P.SetBridgeOptions(HOST, "br0", (("stp", True), ("forward_delay", 400))),
     (P.SetBridgeOptions(HOST, "br0", (("stp", False), ("forward_delay", 1500))),)),
    (P.SetPortOptions(HOST, "p0", (("cost", 10),)), (P.SetPortOptions(HOST, "p0", (("cost", 5),)),)),
    (P.SetSysctl(HOST, "net.ipv4.ip_forward", "1"), (P.SetSysctl(HOST, "net.ipv4.ip_forward", "0"),)),
    # A device's key of a device the run made: it goes with the device.
    (P.SetSysctl(HOST, "net.ipv4.conf.v9.forwarding", "1"), ()),
    (P.SetRoute(HOST, Route("10.7.0.0/16", gateway="10.0.0.254")),
     (P.DelRoute(HOST, Route("10.7.0.0/16", gateway="10.0.0.254")),)),
    (P.SetRoute(HOST, Route("10.9.0.0/16", gateway="10.0.0.253"), replace=True),
     (P.SetRoute(HOST, Route("10.9.0.0/16", gateway="10.0.0.254", metric=0, netns=HOST), replace=True),)),
    (P.SetRoute(HOST, Route("10.8.0.0/16", gateway="10.0.0.254"), replace=True),
     (P.SetRoute(HOST, Route("10.8.0.0/16", dev="p0", metric=0, netns=HOST), replace=True),)),
    (P.DelRoute(HOST, Route("10.9.0.0/16", state="absent")),
     (P.SetRoute(HOST, Route("10.9.0.0/16", gateway="10.0.0.254", metric=0, netns=HOST)),)),
    # A move goes back, with the addresses, bridge and up state the move took away (not fe80::).
    (P.MoveLink(HOST, "p0", "a"), (P.MoveLink("a", "p0", HOST), P.AddAddress(HOST, "p0", "10.0.0.1/24"),
                                   P.AttachPort(HOST, "p0", "br0"), P.SetUp(HOST, "p0", True))),
], ids=lambda value: value.describe() if hasattr(value, "describe") else "")
def test_undo_puts_back_what_was_read_before(action, undo):
    assert action.undo(before()) == undo


@pytest.mark.parametrize("action", [
    P.DeleteLink(HOST, "p0"),
    P.DeleteNetns("a"),
    # Values never read cannot be put back.
    P.SetSysctl("a", "net.ipv4.ip_forward", "1"),
    P.SetMtu(HOST, "nosuch", 1300),
], ids=lambda action: action.describe())
def test_what_cannot_be_put_back_says_so(action):
    assert action.undo(before()) is None


def tun_world(owner=0):
    tap = Link("t0", 5, "tun", 1500, True, info=P.TunInfo(mode="tap", owner=owner, group=0, pi=False, vnet_hdr=True))
    macvlan = Link("mv0", 6, "macvlan", 1500, True, info=P.MacvlanInfo(mode="bridge", parent=4))
    return world(host=[Link("p0", 4, "veth", 1500, True), tap, macvlan])


def test_a_tap_change_is_put_back_as_read():
    change = P.SetTunParams(HOST, "t0", mode="tap", owner=1000, pi=True, vnet_hdr=True,
                            changes=(("pi", True), ("owner", 1000)))
    assert change.undo(tun_world()) == (P.SetTunParams(HOST, "t0", mode="tap", owner=0, pi=False, vnet_hdr=True,
                                                       changes=(("pi", False), ("owner", 0))),)
    # The kernel takes no unset owner back (TUNSETOWNER refuses an invalid id): said so, not pretended.
    assert change.undo(tun_world(owner=None)) is None
    assert P.SetTunParams(HOST, "t0", mode="tap", pi=True, changes=(("pi", True),)).undo(tun_world(owner=None)) == (
        P.SetTunParams(HOST, "t0", mode="tap", pi=False, vnet_hdr=True, changes=(("pi", False),)),)


def test_a_macvlan_mode_change_is_put_back_as_read():
    assert P.SetMacvlanMode(HOST, "mv0", "private").undo(tun_world()) == (P.SetMacvlanMode(HOST, "mv0", "bridge"),)
    assert P.SetMacvlanMode(HOST, "nosuch", "private").undo(tun_world()) is None
